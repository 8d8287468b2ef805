"""The seeded world as ServiceNow records, and the scenario that plays its planned steps.

`ServiceNowScenario.seed()` fills an empty `RecordStore` from a `World`: users, groups and
memberships, locations, services, configuration items, the dictionary and choice lists, then
every ticket step that lies before the anchor, in time order, with its historical timestamps
(so numbers, journals, counts and SLA rows look like a running desk's). `advance()` plays the
next planned step through `RecordStore.insert/update` exactly as an API write, so business
rules run and the signed event goes out.

Identifiers are stable for a seed: a world item's sys_id is `World.hex_id(item id)`.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

from simulators.servicenow import rules
from simulators.servicenow.records import RecordError, RecordStore, format_time
from simulators.servicenow.schema import TABLES, column_owner
from simulators.world import Step, TicketPlan, World

TABLE_OF_KIND = {"incident": "incident", "request": "sc_req_item", "change": "change_request"}
HOLD_REASONS = {"awaiting_caller": "1", "awaiting_vendor": "4", "awaiting_change": "5"}
CHANGE_RISK = {"low": "4", "moderate": "3", "high": "2"}
CHANGE_CLOSE_CODES = {"successful": "successful", "failed": "unsuccessful"}
TIME_ZONES = {"GB": "Europe/London", "DE": "Europe/Berlin", "FR": "Europe/Paris",
              "ES": "Europe/Madrid", "NL": "Europe/Amsterdam"}
COMPANY_NAME = "Example Corporation"


class ServiceNowScenario:
    """Seeds a store from a world and replays the world's pending steps one at a time."""

    def __init__(self, store: RecordStore, world: World, anchor: datetime,
                 api_users: tuple[str, ...] = ()) -> None:
        self.store = store
        self.world = world
        self.anchor = anchor
        self.api_users = api_users
        self._pending = world.pending_steps()
        self._cursor = 0
        self._lock = threading.Lock()

    # identifiers -----------------------------------------------------------------------------
    def sys_id(self, item_id: str | None) -> str:
        return self.world.hex_id(item_id) if item_id else ""

    def location_id(self, name: str) -> str:
        return self.world.hex_id(f"location:{name}")

    def ticket_key(self, plan: TicketPlan) -> str:
        return f"{TABLE_OF_KIND[plan.kind]}:{self.sys_id(plan.id)}"

    def at(self, minutes: int) -> datetime:
        return self.anchor + timedelta(minutes=minutes)

    # seeding ---------------------------------------------------------------------------------
    def seed(self) -> None:
        """Fill the (empty) store with the world as it stands at the anchor. No events fire."""
        with self.store.lock:
            self._cursor = 0
            self._seed_reference_data()
            history = sorted(((step.at_min, plan.id, index, plan) for plan in self.world.tickets
                              for index, step in enumerate(plan.steps) if step.at_min <= 0),
                             key=lambda item: item[:3])
            for _, _, index, plan in history:
                self.apply_step(plan, index, emit=False, at=self.at(plan.steps[index].at_min))

    def _row(self, table: str, sys_id: str, created: datetime, **values) -> None:
        stamp = format_time(created)
        self.store.put_raw(table, {"sys_id": sys_id, "sys_created_on": stamp, "sys_updated_on": stamp,
                                   "sys_created_by": "admin", "sys_updated_by": "admin",
                                   "sys_mod_count": "0", **values})

    def _seed_reference_data(self) -> None:
        world, created = self.world, self.anchor - timedelta(days=400)
        company_id = self.world.hex_id("company")
        self._row("core_company", company_id, created, name=COMPANY_NAME)
        places = {p.city: p.country for p in world.people}
        places.update({ci.location: "" for ci in world.cis if ci.location not in places})
        for name, country in places.items():
            self._row("cmn_location", self.location_id(name), created, name=name, city=name,
                      country=country)
        for person in world.people:
            self._row("sys_user", self.sys_id(person.id), created, user_name=person.user_name,
                      first_name=person.first_name, last_name=person.last_name, name=person.name,
                      email=person.email or "", title=person.title, department=person.department,
                      city=person.city, country=person.country,
                      location=self.location_id(person.city), preferred_language=person.language,
                      time_zone=TIME_ZONES.get(person.country, "UTC"),
                      vip="true" if person.vip else "false",
                      active="true" if person.active else "false", company=company_id)
        known = {p.user_name for p in world.people}
        for user_name in self.api_users:
            if user_name in known:
                continue
            display = " ".join(part.capitalize() for part in user_name.replace("_", ".").split("."))
            self._row("sys_user", rules.derived_id("api-user", user_name), created,
                      user_name=user_name, first_name=display, name=display,
                      email=f"{user_name}@example.com", web_service_access_only="true",
                      title="Integration account", department="IT", company=company_id)
        for group in world.groups:
            self._row("sys_user_group", self.sys_id(group.id), created, name=group.name,
                      description=group.description, manager=self.sys_id(group.manager),
                      email=group.email, type="itil")
            for member in group.members:
                self._row("sys_user_grmember", rules.derived_id("member", group.id, member), created,
                          group=self.sys_id(group.id), user=self.sys_id(member))
        criticality = {1: "1 - most critical", 2: "2 - somewhat critical", 3: "3 - less critical",
                       4: "4 - not critical"}
        for service in world.services:
            self._row("cmdb_ci_service", self.sys_id(service.id), created, name=service.name,
                      support_group=self.sys_id(service.support_group),
                      busines_criticality=criticality[service.criticality],
                      sys_class_name="cmdb_ci_service")
        for ci in world.cis:
            self._row("cmdb_ci", self.sys_id(ci.id), created, name=ci.name, sys_class_name=ci.ci_class,
                      support_group=self.sys_id(ci.support_group), location=self.location_id(ci.location))
        self._seed_dictionary(created)

    def _seed_dictionary(self, created: datetime) -> None:
        for table in TABLES:
            for column in table.columns:
                owner = column_owner(table, column.name)
                if owner != table.name:
                    continue
                self._row("sys_dictionary", rules.derived_id("dictionary", table.name, column.name),
                          created, name=table.name, element=column.name,
                          column_label=column.display_label(), internal_type=column.type,
                          max_length=str(column.max_length), reference=column.reference or "",
                          read_only="true" if column.read_only else "false",
                          default_value=column.default, choice="1" if column.choices else "0")
                for sequence, (value, label) in enumerate(column.choices):
                    self._row("sys_choice", rules.derived_id("choice", table.name, column.name, value),
                              created, name=table.name, element=column.name, value=value,
                              label=label, sequence=str(sequence), language="en")

    # playing ---------------------------------------------------------------------------------
    def remaining(self) -> int:
        return len(self._pending) - self._cursor

    def advance(self) -> dict:
        """Play the next planned step now, as its actor; returns what happened.

        `{"ticket", "number", "action", "table", "sys_id", "plan", "changed_fields", "remaining"}`,
        or `{"done": true}` when the plan is played out. A step of a ticket deleted through the
        API is reported with `"skipped": "record deleted"`.
        """
        with self._lock:
            if self._cursor >= len(self._pending):
                return {"done": True, "remaining": 0}
            plan, index = self._pending[self._cursor]
            self._cursor += 1
        step = plan.steps[index]
        report = {"ticket": self.ticket_key(plan), "table": TABLE_OF_KIND[plan.kind],
                  "sys_id": self.sys_id(plan.id), "plan": plan.id, "action": step.action,
                  "actor": self.world.person(step.actor).user_name}
        try:
            record, changed = self.apply_step(plan, index, emit=True, at=None)
        except RecordError:
            record, changed = None, ()
            report["skipped"] = "record deleted"
        report["number"] = record.get("number", "") if record else ""
        report["changed_fields"] = list(changed)
        report["remaining"] = self.remaining()
        return report

    def apply_step(self, plan: TicketPlan, index: int, *, emit: bool,
                   at: datetime | None) -> tuple[dict, tuple[str, ...]]:
        """Write one step through the store (insert for `create`, else update); returns the
        record and the fields that changed. Raises RecordError when the record is gone."""
        step = plan.steps[index]
        table = TABLE_OF_KIND[plan.kind]
        user = self.world.person(step.actor).user_name
        ticket_id = self.sys_id(plan.id)
        stamp = at or self.store.now()
        if step.action == "create":
            record = self.store.insert(table, self.create_values(plan, step, stamp), user=user,
                                       at=at, emit=emit, sys_id=ticket_id)
            self._apply_plan_slas(plan, ticket_id, index, stamp)
            columns = self.store.table(table).all_columns
            return record, tuple(sorted(name for name, column in columns.items()
                                        if not name.startswith("sys_")
                                        and record.get(name, "") != column.default))
        values = self.step_values(plan, step, stamp)
        if self._plan_breached(plan, index):
            values["made_sla"] = "false"
        record, changed = self.store.update(table, ticket_id, values, user=user, at=at, emit=emit)
        self._apply_plan_slas(plan, ticket_id, index, stamp)
        return record, changed

    def _plan_breached(self, plan: TicketPlan, index: int) -> bool:
        return any(plan.sla_status(sla, index + 1).has_breached for sla in plan.slas)

    def _apply_plan_slas(self, plan: TicketPlan, ticket_id: str, index: int, when: datetime) -> None:
        stamp = format_time(when)
        with self.store.lock:
            for sla in plan.slas:
                status = plan.sla_status(sla, index + 1)
                rules.set_sla_status(self.store, ticket_id, sla.kind, stage=status.stage,
                                     has_breached=status.has_breached, percentage=status.percentage,
                                     time_left_min=status.time_left_min, stamp=stamp)

    # step translation ------------------------------------------------------------------------
    def create_values(self, plan: TicketPlan, step: Step, when: datetime) -> dict:
        caller = self.world.person(plan.caller)
        common = {
            "short_description": plan.title, "description": plan.description,
            "opened_by": self.sys_id(plan.opened_by), "opened_at": format_time(when),
            "impact": str(plan.impact), "urgency": str(plan.urgency),
            "cmdb_ci": self.sys_id(plan.ci), "business_service": self.sys_id(plan.service),
            "assignment_group": self.sys_id(step.group), "contact_type": plan.channel,
            "location": self.location_id(caller.city), "company": self.world.hex_id("company"),
        }
        if plan.kind == "incident":
            return {**common, "caller_id": self.sys_id(plan.caller), "category": plan.category,
                    "state": "1", "severity": str(plan.impact),
                    "major_incident_state": "accepted" if plan.major_incident else "",
                    "parent_incident": self.sys_id(plan.parent)}
        if plan.kind == "request":
            return {**common, "requested_for": self.sys_id(plan.caller), "state": "1",
                    "cat_item": self.world.hex_id(f"catalog:{plan.item}"),
                    "request": self.world.hex_id(f"request:{plan.id}"), "stage": "request_approved"}
        return {**common, "requested_by": self.sys_id(plan.caller), "state": "-5",
                "type": plan.change_type or "normal", "risk": CHANGE_RISK.get(plan.risk or "", "3"),
                "category": "Other", "contact_type": "self-service",
                "implementation_plan": "Follow the standard runbook for this CI.",
                "backout_plan": "Restore the snapshot taken before the change."}

    def step_values(self, plan: TicketPlan, step: Step, when: datetime) -> dict:
        """The field changes one step makes on its ticket's table."""
        values: dict = {}
        if step.group:
            values["assignment_group"] = self.sys_id(step.group)
        if step.assignee:
            values["assigned_to"] = self.sys_id(step.assignee)
        if step.text:
            values["comments" if step.public else "work_notes"] = step.text
        if plan.kind == "change":
            return {**values, **self._change_values(plan, step, when)}
        request = plan.kind == "request"
        action = step.action
        if action in ("assign", "resume"):
            values["state"] = "2"
            if request:
                values["stage"] = "fulfillment"
        elif action == "reassign":
            values.pop("comments", None)
            values["work_notes"] = step.text or "Reassigned."
        elif action == "hold":
            values["state"] = "-5" if request else "3"
            if not request:
                values["hold_reason"] = HOLD_REASONS.get(step.code or "", "1")
        elif action == "resolve":
            values.pop("comments", None)
            values["close_notes"] = step.text or "Resolved."
            if request:
                values.update(state="3", stage="complete")
            else:
                values.update(state="6", close_code=step.code or "Solved (Permanently)")
        elif action == "reopen":
            values["state"] = "2"
            if request:
                values["stage"] = "fulfillment"
        elif action == "close" and not request:
            values["state"] = "7"
        return values

    def _change_values(self, plan: TicketPlan, step: Step, when: datetime) -> dict:
        action = step.action
        if action == "assess":
            return {"state": "-4"}
        if action == "authorize":
            return {"state": "-3", "approval": "approved", "approval_set": format_time(when)}
        if action == "schedule":
            return {"state": "-2", "start_date": format_time(self.at(plan.planned_start_min or 0)),
                    "end_date": format_time(self.at(plan.planned_end_min or 0))}
        if action == "implement":
            return {"state": "-1", "work_start": format_time(when)}
        if action == "review":
            return {"state": "0", "work_end": format_time(when)}
        if action == "close":
            outcome = CHANGE_CLOSE_CODES.get(step.code or "", "successful")
            return {"state": "3", "close_code": outcome,
                    "close_notes": "Change completed as planned." if outcome == "successful"
                    else "Change failed and was rolled back."}
        return {}
