"""A seeded, tool-neutral world both simulators translate into their own records.

`build_world(seed)` returns the same `World` for the same seed and options, with no global
random state: people (employees in five languages and countries, VIPs, a few without email,
automation accounts), service-desk agents in assignment groups, business services, configuration
items, and one `TicketPlan` per ticket. A plan is the ticket's whole scripted lifecycle as
`Step`s with times in minutes relative to the world's anchor (the moment the simulator starts):
steps at or before 0 are history, already applied when the simulator seeds its records; steps
after 0 are what `POST /_sim/scenario/advance` plays, one at a time, in `pending_steps()` order.

Vocabulary of `Step.action` (a tool maps each to its own states):
`create`, `assign`, `reassign`, `comment` (customer-visible), `work_note` (internal), `hold`,
`resume`, `resolve`, `reopen`, `close`; for changes also `assess`, `authorize`, `schedule`,
`implement`, `review`, and `close` with `code` `successful` or `failed`.
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

LANGUAGES = ("en", "de", "fr", "es", "nl")
TICKET_KINDS = ("incident", "request", "change")

INCIDENT_ACTIONS = ("create", "assign", "reassign", "comment", "work_note", "hold", "resume",
                    "resolve", "reopen", "close")
CHANGE_ACTIONS = ("create", "assess", "authorize", "schedule", "implement", "review",
                  "work_note", "close")


# --------------------------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Person:
    """Someone who raises, works or automates tickets. `kind`: employee, agent or system."""

    id: str
    user_name: str
    first_name: str
    last_name: str
    email: str | None
    language: str
    country: str
    city: str
    department: str
    title: str
    kind: str = "employee"
    vip: bool = False
    active: bool = True

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class Group:
    """An assignment group; `members` and `manager` are person ids."""

    id: str
    name: str
    description: str
    manager: str
    members: tuple[str, ...]
    email: str


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    support_group: str
    criticality: int  # 1 most critical .. 4 least


@dataclass(frozen=True)
class ConfigurationItem:
    id: str
    name: str
    ci_class: str  # cmdb class name, also meaningful outside ServiceNow ("server", "application")
    service: str
    support_group: str
    location: str


@dataclass(frozen=True)
class SlaPlan:
    """One SLA a ticket runs against. `kind`: response (stops at first assignment) or resolution."""

    name: str
    kind: str
    target_min: int


@dataclass(frozen=True)
class SlaStatus:
    """Where an SLA stands after some of a ticket's steps (computed from planned minutes)."""

    stage: str  # in_progress, paused, completed, breached (still running past target)
    has_breached: bool
    percentage: float
    elapsed_min: int
    time_left_min: int


@dataclass(frozen=True)
class Step:
    """One lifecycle step. `at_min` is minutes relative to the anchor (<= 0: already happened).

    `actor` is the person id who acts; `group`/`assignee` are set by create/assign/reassign;
    `text` and `public` by comment/work_note (and the note that comes with hold, resolve,
    reopen); `code` is the hold reason, resolution code or change outcome.
    """

    at_min: int
    action: str
    actor: str
    group: str | None = None
    assignee: str | None = None
    text: str | None = None
    public: bool | None = None
    code: str | None = None


@dataclass(frozen=True)
class TicketPlan:
    """A ticket and its scripted lifecycle.

    `caller` is the person served (for a change: who requested it). `major_incident` marks the
    parent of a major incident; `parent` links a child incident to it. Changes carry
    `change_type`, `risk` and planned start/end (minutes, like steps).
    """

    id: str
    kind: str
    title: str
    description: str
    caller: str
    opened_by: str
    service: str
    ci: str | None
    category: str
    channel: str
    impact: int
    urgency: int
    priority: int
    steps: tuple[Step, ...]
    slas: tuple[SlaPlan, ...] = ()
    major_incident: bool = False
    parent: str | None = None
    item: str | None = None
    change_type: str | None = None
    risk: str | None = None
    planned_start_min: int | None = None
    planned_end_min: int | None = None

    @property
    def opened_at_min(self) -> int:
        return self.steps[0].at_min

    def history(self) -> tuple[Step, ...]:
        """Steps that already happened at the anchor."""
        return tuple(step for step in self.steps if step.at_min <= 0)

    def is_seeded(self) -> bool:
        """True when the ticket exists when the simulator starts."""
        return self.opened_at_min <= 0

    def sla_status(self, sla: SlaPlan, steps_done: int) -> SlaStatus:
        """State of `sla` after the first `steps_done` steps, measured in planned minutes.

        Time on hold does not count; a response SLA completes at the first assignment, a
        resolution SLA at resolution and runs again after a reopen.
        """
        done = self.steps[:max(0, steps_done)]
        if not done:
            return SlaStatus("in_progress", False, 0.0, 0, sla.target_min)
        elapsed = 0
        running_since: int | None = done[0].at_min
        completed = False
        for step in done[1:]:
            if sla.kind == "response":
                if step.action in ("assign", "reassign"):
                    elapsed += step.at_min - running_since
                    running_since, completed = None, True
                    break
            elif running_since is not None and step.action in ("resolve", "close", "hold"):
                elapsed += step.at_min - running_since
                running_since, completed = None, step.action != "hold"
            elif running_since is None and step.action in ("resume", "reopen"):
                running_since, completed = step.at_min, False
        if running_since is not None:
            # still running: count up to the last step taken (planned time, not wall time)
            elapsed += done[-1].at_min - running_since
        breached = elapsed > sla.target_min
        if running_since is None and completed:
            stage = "completed"
        elif running_since is None:
            stage = "paused"
        else:
            stage = "breached" if breached else "in_progress"
        return SlaStatus(stage=stage, has_breached=breached,
                         percentage=round(100.0 * elapsed / sla.target_min, 2),
                         elapsed_min=elapsed, time_left_min=max(0, sla.target_min - elapsed))


@dataclass(frozen=True)
class World:
    """Everything generated for one seed; ids are stable strings such as `person-007`."""

    seed: int
    people: tuple[Person, ...]
    groups: tuple[Group, ...]
    services: tuple[Service, ...]
    cis: tuple[ConfigurationItem, ...]
    tickets: tuple[TicketPlan, ...]
    _index: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for collection in (self.people, self.groups, self.services, self.cis, self.tickets):
            for item in collection:
                self._index[item.id] = item

    def get(self, item_id: str):
        """The person, group, service, CI or ticket plan with this id; raises KeyError."""
        return self._index[item_id]

    def person(self, person_id: str) -> Person:
        return self._index[person_id]

    def group(self, group_id: str) -> Group:
        return self._index[group_id]

    @property
    def employees(self) -> tuple[Person, ...]:
        return tuple(p for p in self.people if p.kind == "employee")

    @property
    def agents(self) -> tuple[Person, ...]:
        return tuple(p for p in self.people if p.kind == "agent")

    @property
    def system_accounts(self) -> tuple[Person, ...]:
        return tuple(p for p in self.people if p.kind == "system")

    def pending_steps(self) -> list[tuple[TicketPlan, int]]:
        """Steps after the anchor as `(ticket, step index)`, in the order the scenario plays them."""
        pending = [(ticket, index) for ticket in self.tickets
                   for index, step in enumerate(ticket.steps) if step.at_min > 0]
        pending.sort(key=lambda pair: (pair[0].steps[pair[1]].at_min, pair[0].id, pair[1]))
        return pending

    def hex_id(self, item_id: str, length: int = 32) -> str:
        """A stable hexadecimal identifier for an item of this world (ServiceNow sys_id style)."""
        return hashlib.sha256(f"{self.seed}:{item_id}".encode()).hexdigest()[:length]


def at_minutes(anchor: datetime, minutes: int) -> datetime:
    """The wall time of a plan offset, for a simulator anchored at `anchor`."""
    return anchor + timedelta(minutes=minutes)


# --------------------------------------------------------------------------------------------
# Word banks (written for this project)
# --------------------------------------------------------------------------------------------

_NAMES = {
    "en": (("GB", ("London", "Manchester", "Leeds")),
           ("Olivia", "James", "Amelia", "Harry", "Isla", "George", "Grace", "Oliver", "Emily", "Jack"),
           ("Turner", "Hughes", "Walsh", "Bennett", "Carter", "Price", "Fletcher", "Shaw", "Lloyd", "Reid")),
    "de": (("DE", ("Berlin", "Hamburg", "Munich")),
           ("Lena", "Jonas", "Mia", "Felix", "Hannah", "Lukas", "Sophie", "Paul", "Clara", "Moritz"),
           ("Schneider", "Fischer", "Becker", "Wagner", "Hoffmann", "Krause", "Richter", "Wolf", "Braun", "Vogel")),
    "fr": (("FR", ("Paris", "Lyon", "Lille")),
           ("Camille", "Louis", "Chloé", "Hugo", "Manon", "Lucas", "Inès", "Arthur", "Léa", "Jules"),
           ("Martin", "Bernard", "Dubois", "Moreau", "Laurent", "Girard", "Roux", "Fontaine", "Lefèvre", "Mercier")),
    "es": (("ES", ("Madrid", "Barcelona", "Valencia")),
           ("Lucía", "Mateo", "Sofía", "Hugo", "Martina", "Daniel", "Paula", "Álvaro", "Carmen", "Pablo"),
           ("García", "Fernández", "López", "Martínez", "Sánchez", "Romero", "Navarro", "Torres", "Ruiz", "Molina")),
    "nl": (("NL", ("Amsterdam", "Utrecht", "Rotterdam")),
           ("Sanne", "Daan", "Eva", "Bram", "Fleur", "Thijs", "Lotte", "Sem", "Noor", "Ruben"),
           ("de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "de Boer", "Bos", "Dekker")),
}
_DEPARTMENTS = ("Finance", "Sales", "Marketing", "Human Resources", "Operations", "Legal",
                "Engineering", "Customer Support", "Procurement", "Facilities")
_TITLES = ("Analyst", "Manager", "Specialist", "Coordinator", "Consultant", "Director",
           "Assistant", "Engineer")

_GROUPS = (
    ("group-service-desk", "Service Desk", "First line: every contact starts here"),
    ("group-network", "Network", "LAN, Wi-Fi, VPN and firewalls"),
    ("group-workplace", "End User Computing", "Laptops, phones, printers and desktop software"),
    ("group-apps", "Business Applications", "ERP, CRM, payroll and the HR portal"),
    ("group-messaging", "Messaging", "Email and collaboration"),
    ("group-identity", "Identity & Access", "Accounts, passwords, access rights"),
    ("group-database", "Database", "Database servers and backups"),
    ("group-change", "Change Management", "Change advisory board and scheduling"),
)

# service id, name, support group, criticality, [(ci id, name, class, location)]
_SERVICES = (
    ("service-email", "Email", "group-messaging", 1,
     (("ci-exch-01", "EXCH-MBX-01", "cmdb_ci_win_server", "Frankfurt DC"),
      ("ci-exch-02", "EXCH-MBX-02", "cmdb_ci_win_server", "Amsterdam DC"))),
    ("service-vpn", "Remote Access VPN", "group-network", 1,
     (("ci-vpn-gw-01", "vpn-gw-01", "cmdb_ci_ip_firewall", "Frankfurt DC"),)),
    ("service-wifi", "Office Wi-Fi", "group-network", 2,
     (("ci-wlc-ber", "wlc-berlin-01", "cmdb_ci_ip_switch", "Berlin office"),
      ("ci-wlc-par", "wlc-paris-01", "cmdb_ci_ip_switch", "Paris office"))),
    ("service-erp", "ERP", "group-apps", 1,
     (("ci-erp-app", "ERP Production", "cmdb_ci_appl", "Frankfurt DC"),
      ("ci-erp-db", "erp-db-01", "cmdb_ci_db_instance", "Frankfurt DC"))),
    ("service-crm", "CRM", "group-apps", 2,
     (("ci-crm-app", "CRM Cloud", "cmdb_ci_appl", "SaaS"),)),
    ("service-payroll", "Payroll", "group-apps", 2,
     (("ci-payroll", "Payroll Portal", "cmdb_ci_appl", "Amsterdam DC"),)),
    ("service-workplace", "Laptops and Desktops", "group-workplace", 3,
     (("ci-image-w11", "Windows 11 Standard Image", "cmdb_ci_appl", "Global"),)),
    ("service-printing", "Printing", "group-workplace", 4,
     (("ci-print-lon", "PRN-LON-3F", "cmdb_ci_printer", "London office"),
      ("ci-print-mad", "PRN-MAD-1F", "cmdb_ci_printer", "Madrid office"))),
    ("service-identity", "Accounts and Access", "group-identity", 2,
     (("ci-ad", "Active Directory", "cmdb_ci_appl", "Frankfurt DC"),)),
)

_INCIDENT_TOPICS = {
    "service-email": ("email", ("Outlook keeps asking for my password", "Emails to customers stuck in outbox",
                                "Shared mailbox not showing new messages", "Cannot open attachments")),
    "service-vpn": ("network", ("VPN disconnects every few minutes", "Cannot connect to VPN from home",
                                "VPN very slow since this morning")),
    "service-wifi": ("network", ("Wi-Fi drops in meeting rooms", "Cannot join the guest Wi-Fi",
                                 "No Wi-Fi on the third floor")),
    "service-erp": ("software", ("ERP times out when posting invoices", "Cannot approve purchase orders in ERP",
                                 "ERP report shows wrong totals")),
    "service-crm": ("software", ("CRM will not save opportunities", "CRM dashboard is blank")),
    "service-payroll": ("software", ("Payslip missing for this month", "Cannot log in to the payroll portal")),
    "service-workplace": ("hardware", ("Laptop will not start after update", "Screen flickers on docking station",
                                       "Laptop battery drains within an hour", "Teams crashes when sharing screen")),
    "service-printing": ("hardware", ("Printer jams on every job", "Cannot find the floor printer")),
    "service-identity": ("inquiry", ("Account locked out", "Need my password reset",
                                     "Missing access to the finance share")),
}
_REQUEST_ITEMS = (
    ("New laptop", "service-workplace"), ("Access to shared drive", "service-identity"),
    ("Software installation: Visio", "service-workplace"), ("New mobile phone", "service-workplace"),
    ("VPN access for contractor", "service-vpn"), ("Distribution list change", "service-email"),
    ("CRM licence", "service-crm"),
)
_CHANGE_TITLES = (
    "Apply security patches to {ci}", "Upgrade firmware on {ci}", "Increase storage on {ci}",
    "Rotate certificates on {ci}", "Deploy monthly release to {ci}", "Migrate {ci} to new cluster",
)

_CALLER_COMMENTS = {
    "en": ("Any update on this? I still cannot work properly.", "Thanks, that seems to work now.",
           "This is the third time this happens this month.", "I have a customer meeting in an hour, please hurry.",
           "Attached a screenshot of the error.", "Still broken after the restart you suggested."),
    "de": ("Gibt es etwas Neues? Ich kann immer noch nicht richtig arbeiten.", "Danke, jetzt funktioniert es.",
           "Das passiert diesen Monat schon zum dritten Mal.", "Ich habe gleich ein Kundengespräch, bitte beeilen.",
           "Der Fehler tritt nach dem Neustart weiterhin auf."),
    "fr": ("Du nouveau ? Je ne peux toujours pas travailler correctement.", "Merci, cela fonctionne maintenant.",
           "C'est la troisième fois ce mois-ci.", "J'ai une réunion client dans une heure, merci de faire vite.",
           "Toujours en panne après le redémarrage."),
    "es": ("¿Hay novedades? Sigo sin poder trabajar bien.", "Gracias, ahora funciona.",
           "Es la tercera vez que pasa este mes.", "Tengo una reunión con un cliente en una hora, por favor.",
           "Sigue fallando después de reiniciar."),
    "nl": ("Is er al nieuws? Ik kan nog steeds niet goed werken.", "Bedankt, het werkt nu weer.",
           "Dit is de derde keer deze maand.", "Ik heb over een uur een klantafspraak, graag snel.",
           "Na de herstart werkt het nog steeds niet."),
}
_AGENT_COMMENTS = (
    "Thanks for reporting this. We are looking into it now.",
    "Could you tell us when this started and whether colleagues see it too?",
    "We have applied a fix on our side; please try again and let us know.",
    "A specialist team has taken over this ticket.",
    "We are waiting for the vendor and will update you as soon as we hear back.",
)
_WORK_NOTES = (
    "Checked the logs: repeated authentication failures from the client.",
    "Reproduced on a test machine; escalating to second line.",
    "Related to the monitoring alert raised this morning.",
    "Vendor case opened, reference attached.",
    "Cleared the cache and restarted the service.",
)
_HOLD_REASONS = ("awaiting_caller", "awaiting_vendor", "awaiting_change")
_RESOLUTIONS = ("Solved (Permanently)", "Solved (Work Around)", "Solved Remotely (Permanently)",
                "Not Solved (Not Reproducible)")
_REOPEN_COMMENTS = {
    "en": "The problem is back, please reopen.", "de": "Das Problem ist wieder da.",
    "fr": "Le problème est revenu.", "es": "El problema ha vuelto.", "nl": "Het probleem is terug.",
}
_CHANNELS = (("self-service", 30), ("email", 25), ("phone", 30), ("chat", 10), ("walk-in", 5))
_REASSIGNMENTS = ((0, 56), (1, 25), (2, 12), (3, 7))  # shaped on the real incident log's spread
_RESOLUTION_TARGET_MIN = {1: 4 * 60, 2: 8 * 60, 3: 3 * 24 * 60, 4: 5 * 24 * 60, 5: 10 * 24 * 60}
_RESPONSE_TARGET_MIN = {1: 15, 2: 30, 3: 4 * 60, 4: 8 * 60, 5: 24 * 60}


def _ascii(text: str) -> str:
    import unicodedata
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return plain.lower().replace(" ", "")


def _weighted(rng: random.Random, pairs) -> object:
    values, weights = zip(*pairs)
    return rng.choices(values, weights=weights, k=1)[0]


def priority_of(impact: int, urgency: int) -> int:
    """ServiceNow's default priority matrix: impact and urgency 1-3 give priority 1-5."""
    return {2: 1, 3: 2, 4: 3, 5: 4, 6: 5}[impact + urgency]


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------

def build_world(seed: int = 42, *, employees: int = 40, closed: int = 15, in_progress: int = 20,
                planned: int = 20) -> World:
    """Generate the world for `seed`: the same arguments always give the same world.

    `closed` tickets lie wholly in the past (caller history), `in_progress` are open at the
    anchor with part of their lifecycle done, `planned` open after the anchor. About one ticket
    in seven is a change, one in five a request; two incidents are major, with child incidents
    on the same CI, and some changes touch CIs that also have incidents.
    """
    rng = random.Random(seed)
    people = _make_people(rng, employees)
    groups = _make_groups(rng, people)
    services = tuple(Service(sid, name, group, crit) for sid, name, group, crit, _ in _SERVICES)
    cis = tuple(ConfigurationItem(cid, cname, cclass, sid, group, loc)
                for sid, _, group, _, items in _SERVICES for cid, cname, cclass, loc in items)
    maker = _TicketMaker(rng, people, groups, services, cis)
    tickets = maker.make_all(closed=closed, in_progress=in_progress, planned=planned)
    return World(seed=seed, people=people, groups=groups, services=services, cis=cis, tickets=tickets)


def _make_people(rng: random.Random, employees: int) -> tuple[Person, ...]:
    people: list[Person] = []
    used: set[str] = set()

    def unique_user_name(first: str, last: str) -> str:
        base = f"{_ascii(first)}.{_ascii(last)}"
        name, suffix = base, 2
        while name in used:
            name, suffix = f"{base}{suffix}", suffix + 1
        used.add(name)
        return name

    no_email = set(rng.sample(range(employees), k=min(3, employees)))
    for index in range(employees):
        language = LANGUAGES[index % len(LANGUAGES)] if index < 10 else rng.choice(LANGUAGES)
        (country, cities), firsts, lasts = _NAMES[language]
        first, last = rng.choice(firsts), rng.choice(lasts)
        user_name = unique_user_name(first, last)
        people.append(Person(
            id=f"person-{index + 1:03d}", user_name=user_name, first_name=first, last_name=last,
            email=None if index in no_email else f"{user_name}@example.com",
            language=language, country=country, city=rng.choice(cities),
            department=rng.choice(_DEPARTMENTS), title=rng.choice(_TITLES),
            vip=rng.random() < 0.08 or index == 1,  # at least one VIP in every world
        ))
    for index in range(12):
        language = "en" if index < 6 else LANGUAGES[index % len(LANGUAGES)]
        (country, cities), firsts, lasts = _NAMES[language]
        first, last = rng.choice(firsts), rng.choice(lasts)
        user_name = unique_user_name(first, last)
        people.append(Person(
            id=f"agent-{index + 1:02d}", user_name=user_name, first_name=first, last_name=last,
            email=f"{user_name}@example.com", language=language, country=country,
            city=rng.choice(cities), department="IT", title="Service Desk Analyst" if index < 4 else
            "Support Engineer", kind="agent"))
    people.append(Person(id="system-automation", user_name="system", first_name="System",
                         last_name="", email=None, language="en", country="DE", city="Frankfurt",
                         department="IT", title="Automation", kind="system"))
    people.append(Person(id="system-monitoring", user_name="monitoring.bot", first_name="Monitoring",
                         last_name="Bot", email="monitoring@example.com", language="en", country="DE",
                         city="Frankfurt", department="IT", title="Event management", kind="system"))
    return tuple(people)


def _make_groups(rng: random.Random, people: tuple[Person, ...]) -> tuple[Group, ...]:
    agents = [p.id for p in people if p.kind == "agent"]
    groups = []
    for index, (gid, name, description) in enumerate(_GROUPS):
        if gid == "group-service-desk":
            members = tuple(agents[:4])
        else:
            members = tuple(sorted(rng.sample(agents[4:], k=3)))
        groups.append(Group(id=gid, name=name, description=description, manager=members[0],
                            members=members, email=f"{gid.removeprefix('group-')}@example.com"))
    return tuple(groups)


class _TicketMaker:
    """Builds ticket plans; one instance per world, drawing from the world's single rng."""

    def __init__(self, rng, people, groups, services, cis) -> None:
        self.rng = rng
        self.employees = [p for p in people if p.kind == "employee"]
        self.agents = [p for p in people if p.kind == "agent"]
        self.groups = {g.id: g for g in groups}
        self.services = {s.id: s for s in services}
        self.cis = list(cis)
        self.people = {p.id: p for p in people}
        self.counter = 0
        # a few frequent callers, so repeat contacts occur as in real desks
        weights = [6 if i < 5 else 1 for i in range(len(self.employees))]
        self.caller_weights = weights

    # helpers ---------------------------------------------------------------------------------
    def next_id(self) -> str:
        self.counter += 1
        return f"ticket-{self.counter:04d}"

    def pick_caller(self, exclude: set[str] = frozenset()) -> Person:
        while True:
            person = self.rng.choices(self.employees, weights=self.caller_weights, k=1)[0]
            if person.id not in exclude:
                return person

    def member_of(self, group_id: str, other_than: str | None = None) -> str:
        members = [m for m in self.groups[group_id].members if m != other_than]
        return self.rng.choice(members or list(self.groups[group_id].members))

    # timelines -------------------------------------------------------------------------------
    def make_all(self, *, closed: int, in_progress: int, planned: int) -> tuple[TicketPlan, ...]:
        plans: list[TicketPlan] = []
        total = closed + in_progress + planned
        kinds = self._kind_sequence(total)
        # opening offsets: closed ones weeks ago, open ones shifted so the anchor falls inside
        # their lifecycle, planned ones spread over the next few days
        for index in range(total):
            kind = kinds[index]
            if index < closed:
                phase = "closed"
            elif index < closed + in_progress:
                phase = "open"
            else:
                phase = "planned"
            plans.append(self.make_ticket(kind, phase, planned_rank=index - closed - in_progress))
        plans.extend(self.make_major_incidents(planned_count=planned))
        plans.extend(self.make_related_changes(plans))
        return tuple(plans)

    def _kind_sequence(self, total: int) -> list[str]:
        kinds = []
        for index in range(total):
            roll = self.rng.random()
            kinds.append("change" if roll < 0.12 else "request" if roll < 0.32 else "incident")
        return kinds

    def _shift(self, steps: list[Step], phase: str, planned_rank: int) -> list[Step]:
        """Place a timeline (offsets from opening) relative to the anchor for its phase."""
        span = steps[-1].at_min
        if phase == "closed":
            opened = -(span + self.rng.randint(2 * 1440, 40 * 1440))
        elif phase == "open":
            opened = -int(span * self.rng.uniform(0.2, 0.8)) - 1
            # every open ticket keeps at least its creation in history and one step ahead
            if steps[1].at_min + opened > 0:
                opened = -steps[1].at_min - 1
            if steps[-1].at_min + opened <= 0:
                opened = -steps[-1].at_min + 1
        else:
            opened = 5 + planned_rank * self.rng.randint(20, 90)
        return [Step(**{**step.__dict__, "at_min": step.at_min + opened}) for step in steps]

    def make_ticket(self, kind: str, phase: str, planned_rank: int = 0) -> TicketPlan:
        if kind == "change":
            return self.make_change(phase, planned_rank)
        return self.make_incident_or_request(kind, phase, planned_rank)

    def make_incident_or_request(self, kind: str, phase: str, planned_rank: int, *,
                                 service_id: str | None = None, ci_id: str | None = None,
                                 impact: int | None = None, urgency: int | None = None,
                                 caller: Person | None = None, parent: str | None = None,
                                 major: bool = False, start_offset: int | None = None) -> TicketPlan:
        rng = self.rng
        ticket_id = self.next_id()
        if kind == "request":
            item, service_id = rng.choice(_REQUEST_ITEMS) if service_id is None else (None, service_id)
            title = item
            category = "request"
        else:
            item = None
            service_id = service_id or rng.choice(list(_INCIDENT_TOPICS))
            category, titles = _INCIDENT_TOPICS[service_id]
            title = rng.choice(titles)
        service = self.services[service_id]
        service_cis = [ci for ci in self.cis if ci.service == service_id]
        ci_id = ci_id or (rng.choice(service_cis).id if service_cis and rng.random() < 0.8 else None)
        caller = caller or self.pick_caller()
        if rng.random() < 0.04 and not major and kind == "incident":
            caller = self.people["system-monitoring"]  # an automated event ticket: nobody to survey
        channel = "monitoring" if caller.kind == "system" else _weighted(rng, _CHANNELS)
        impact = impact or _weighted(rng, ((1, 10), (2, 35), (3, 55)))
        urgency = urgency or _weighted(rng, ((1, 10), (2, 40), (3, 50)))
        if caller.vip and urgency > 1:
            urgency -= 1  # VIPs get pushed up a notch, as desks do
        priority = priority_of(impact, urgency)
        desk = "group-service-desk"
        desk_agent = self.member_of(desk)
        opened_by = caller.id if channel in ("self-service", "email", "monitoring") else desk_agent
        target = _RESOLUTION_TARGET_MIN[priority]
        breach = rng.random() < 0.35
        duration = int(target * (rng.uniform(1.1, 2.2) if breach else rng.uniform(0.15, 0.85)))
        duration = max(duration, 90)
        steps: list[Step] = [Step(0, "create", opened_by, group=desk, text=None)]
        # decide the moments: assignment early, resolution at `duration`, the rest in between
        first_assign = max(2, int(min(duration * 0.08, _RESPONSE_TARGET_MIN[priority] *
                                      (rng.uniform(1.2, 3.0) if breach and rng.random() < 0.4 else rng.uniform(0.1, 0.9)))))
        work_group = service.support_group
        first_group = desk if rng.random() < 0.6 else work_group
        assignee = self.member_of(first_group)
        steps.append(Step(first_assign, "assign", desk_agent, group=first_group, assignee=assignee))
        middle: list[Step] = []
        reassignments = _weighted(rng, _REASSIGNMENTS)
        group_now = first_group
        candidates = [g for g in self.groups if g not in ("group-change",)]
        for _ in range(reassignments):
            options = [g for g in candidates if g != group_now]
            if group_now == desk and work_group != desk and rng.random() < 0.7:
                new_group = work_group
            else:
                new_group = rng.choice(options)
            actor = assignee
            assignee = self.member_of(new_group)
            middle.append(Step(0, "reassign", actor, group=new_group, assignee=assignee,
                               text="Reassigning to the team that owns this."))
            group_now = new_group
        for _ in range(rng.randint(0, 2)):
            middle.append(Step(0, "comment", caller.id, text=self.caller_comment(caller), public=True)
                          if caller.kind == "employee" else
                          Step(0, "work_note", "system-monitoring", text="Alert still active.", public=False))
        for _ in range(rng.randint(1, 2)):
            if rng.random() < 0.5:
                middle.append(Step(0, "comment", "", text=rng.choice(_AGENT_COMMENTS), public=True))
            else:
                middle.append(Step(0, "work_note", "", text=rng.choice(_WORK_NOTES), public=False))
        in_order = iter([step for step in middle if step.action == "reassign"])
        rng.shuffle(middle)
        # the shuffle mixes comments in; reassignments still happen in the order they were drawn
        middle = [next(in_order) if step.action == "reassign" else step for step in middle]
        if rng.random() < 0.25:
            hold_at = rng.randint(0, len(middle))
            middle[hold_at:hold_at] = [
                Step(0, "hold", "", code=rng.choice(_HOLD_REASONS),
                     text="Waiting for more information before we can continue.", public=True),
                Step(0, "resume", "", text=None)]
        # spread the middle steps between assignment and resolution, strictly increasing
        span_start, span_end = first_assign + 1, max(first_assign + 2 + len(middle), duration - 1)
        times = sorted(rng.sample(range(span_start, span_end), k=len(middle))) if middle else []
        assignee_now = steps[-1].assignee
        for when, step in zip(times, middle):
            actor = step.actor or assignee_now
            if step.action == "reassign":
                assignee_now = step.assignee
            steps.append(Step(when, step.action, actor, group=step.group, assignee=step.assignee,
                              text=step.text, public=step.public, code=step.code))
        resolve_at = max(duration, steps[-1].at_min + 1)
        steps.append(Step(resolve_at, "resolve", assignee_now, code=rng.choice(_RESOLUTIONS),
                          text="Resolved: " + rng.choice(("restarted the affected service",
                                                          "replaced the faulty component",
                                                          "corrected the configuration",
                                                          "granted the missing access")),
                          public=True))
        if rng.random() < 0.08 and caller.kind == "employee":
            reopen_at = resolve_at + rng.randint(60, 1440)
            steps.append(Step(reopen_at, "reopen", caller.id, text=_REOPEN_COMMENTS[caller.language],
                              public=True))
            resolve_again = reopen_at + rng.randint(60, 2880)
            steps.append(Step(resolve_again, "resolve", assignee_now, code=_RESOLUTIONS[0],
                              text="Resolved again after a deeper fix.", public=True))
            resolve_at = resolve_again
        steps.append(Step(resolve_at + 3 * 1440, "close", "system-automation"))
        if start_offset is not None:
            steps = [Step(**{**s.__dict__, "at_min": s.at_min + start_offset}) for s in steps]
        else:
            steps = self._shift(steps, phase, planned_rank)
        slas = [SlaPlan(f"P{priority} resolution ({_duration_words(target)})", "resolution", target)]
        if kind == "incident":
            response = _RESPONSE_TARGET_MIN[priority]
            slas.insert(0, SlaPlan(f"P{priority} response ({_duration_words(response)})", "response",
                                   response))
        description = (f"{title}. Reported by {caller.name} ({caller.city})."
                       if kind == "incident" else f"Request for: {title}.")
        return TicketPlan(
            id=ticket_id, kind=kind, title=title, description=description, caller=caller.id,
            opened_by=opened_by, service=service_id, ci=ci_id, category=category, channel=channel,
            impact=impact, urgency=urgency, priority=priority, steps=tuple(steps), slas=tuple(slas),
            major_incident=major, parent=parent, item=item)

    def caller_comment(self, caller: Person) -> str:
        return self.rng.choice(_CALLER_COMMENTS[caller.language])

    def make_change(self, phase: str, planned_rank: int, *, ci: ConfigurationItem | None = None,
                    outcome: str | None = None, start_offset: int | None = None) -> TicketPlan:
        rng = self.rng
        ci = ci or rng.choice(self.cis)
        service = self.services[ci.service]
        requester = rng.choice(self.agents)
        implementer = self.member_of(ci.support_group)
        manager = self.groups["group-change"].manager
        change_type = _weighted(rng, (("normal", 60), ("standard", 30), ("emergency", 10)))
        risk = _weighted(rng, (("low", 50), ("moderate", 35), ("high", 15)))
        outcome = outcome or ("failed" if rng.random() < 0.2 else "successful")
        lead = rng.randint(1, 4) * 1440
        window = rng.choice((60, 120, 240))
        steps = [
            Step(0, "create", requester.id, group=ci.support_group),
            Step(30, "assess", implementer, group=ci.support_group, assignee=implementer,
                 text="Impact assessed; rollback plan attached.", public=False),
            Step(240, "authorize", manager, text="Approved by the change advisory board.", public=False),
            Step(300, "schedule", manager),
            Step(lead, "implement", implementer, text="Implementation started.", public=False),
            Step(lead + window, "review", implementer,
                 text="Implementation finished; monitoring." if outcome == "successful"
                 else "Implementation failed; rolled back.", public=False),
            Step(lead + window + 1440, "close", manager, code=outcome),
        ]
        if start_offset is not None:
            steps = [Step(**{**s.__dict__, "at_min": s.at_min + start_offset}) for s in steps]
        else:
            steps = self._shift(steps, phase, planned_rank)
        start = steps[4].at_min
        title = rng.choice(_CHANGE_TITLES).format(ci=ci.name)
        impact = {"low": 3, "moderate": 2, "high": 1}[risk]
        return TicketPlan(
            id=self.next_id(), kind="change", title=title,
            description=f"{title} ({change_type} change, {risk} risk).", caller=requester.id,
            opened_by=requester.id, service=service.id, ci=ci.id, category="maintenance",
            channel="self-service", impact=impact, urgency=3, priority=priority_of(impact, 3),
            steps=tuple(steps), change_type=change_type, risk=risk,
            planned_start_min=start, planned_end_min=start + window)

    def make_major_incidents(self, planned_count: int) -> list[TicketPlan]:
        """Two major incidents (one open at the anchor, one later) each with child incidents."""
        extra: list[TicketPlan] = []
        majors = (("ci-exch-01", "service-email", -180), ("ci-vpn-gw-01", "service-vpn",
                                                            60 + 30 * max(0, planned_count // 2)))
        for ci_id, service_id, start in majors:
            caller = self.pick_caller()
            parent = self.make_incident_or_request("incident", "open", 0, service_id=service_id,
                                                   ci_id=ci_id, impact=1, urgency=1, caller=caller,
                                                   major=True, start_offset=start)
            extra.append(parent)
            callers = {caller.id}
            for child_index in range(self.rng.randint(2, 4)):
                child_caller = self.pick_caller(exclude=callers)
                callers.add(child_caller.id)
                extra.append(self.make_incident_or_request(
                    "incident", "open", 0, service_id=service_id, ci_id=ci_id, impact=2,
                    urgency=2, caller=child_caller, parent=parent.id,
                    start_offset=start + 5 + child_index * self.rng.randint(3, 15)))
        return extra

    def make_related_changes(self, plans: list[TicketPlan]) -> list[TicketPlan]:
        """Changes on CIs that also carry incidents: one just before an incident, one after."""
        extra: list[TicketPlan] = []
        incidents_on_ci = [p for p in plans if p.kind == "incident" and p.ci and not p.parent]
        for plan in incidents_on_ci[:2]:
            ci = next(ci for ci in self.cis if ci.id == plan.ci)
            # implementation ends shortly before the incident opens: the classic suspect change
            change = self.make_change("open", 0, ci=ci, outcome="failed" if not extra else "successful",
                                      start_offset=0)
            implement_at = change.steps[4].at_min
            offset = plan.opened_at_min - 30 - (change.steps[5].at_min)
            shifted = tuple(Step(**{**s.__dict__, "at_min": s.at_min + offset}) for s in change.steps)
            extra.append(TicketPlan(**{**change.__dict__, "steps": shifted,
                                       "planned_start_min": implement_at + offset,
                                       "planned_end_min": change.planned_end_min + offset}))
        return extra


def _duration_words(minutes: int) -> str:
    if minutes % 1440 == 0:
        days = minutes // 1440
        return f"{days} day" + ("s" if days > 1 else "")
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour" + ("s" if hours > 1 else "")
    return f"{minutes} minutes"

