"""Replay the real ServiceNow incident log through the service, as the signed events an instance sends.

    .venv/bin/python bench/replay_log.py [--incidents N] [--threads 8] [--workers 1] [--concurrency 2]
                                         [--settle-timeout 1800] [--json FILE]

The log (`../shared/data/servicenow-incident-event-log.csv` beside the repository: 5,998 updates
of 890 real, anonymised incidents) is never copied into the project; without it the script says
so and exits 0. Each incident is replayed in its own order, `--threads` incidents at a time,
through the ServiceNow simulator's Table API as the `admin` user: the first row creates the
incident, every later row is one PATCH, so the simulator fires one signed event per row, exactly
as the project's Business Rule would. How the log's values are put in the simulator's shapes is
described at `incident_values` and `ReplayClock` below, and in docs/benchmarks.md.

Two runs, each on a fresh simulator, measure speed as a ratio in the same invocation:

1. simulator only: the replay with no webhook consumer (events stay undelivered): the rate at
   which the instance itself takes the log's updates;
2. the service as an operator runs it (`app.py serve` under gunicorn and `app.py worker` on
   SQLite): the same replay, then wait until every event is processed. Events per second is the
   log's rows divided by the time from the first row sent to the last job finished.

Then it checks that nothing was lost or duplicated: every row produced one delivery and every
delivery one inbox row and one finished job; every replayed incident carries a score whose value
and band equal the service's `tickets` row; no work note was written twice. It reports how the
written scores distribute and how they relate to what the log shows (SLA, reassignments,
reopens, priority), and writes a JSON record to bench/results/. Method and figures:
docs/benchmarks.md ("Real incident log replay") and docs/scoring.md ("Replay through the service").
"""
from __future__ import annotations

import argparse
import csv
import os
import queue
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from bench.common import (AGENT_USER, CONNECTION_ID, INTEGRATION_USER, SHARED_DATA_DIR,  # noqa: E402
                          ServiceStack, ServiceTuning, machine, percentile, shown_path, tuning_record,
                          write_record)

LOG_FILE = SHARED_DATA_DIR / "servicenow-incident-event-log.csv"
MISSING = "?"
LOG_TIME_FORMAT = "%d-%m-%Y %H:%M"
SIMULATOR_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
INCIDENT_PATH = "/api/now/table/incident"
# Only the log's incidents: no seeded tickets, and no hourly limit on the replaying admin.
SIMULATOR_ARGS = ("--per-hour", "0", "--closed", "0", "--in-progress", "0", "--tickets", "0")

# The log's incident_state labels as the instance's codes; every "Awaiting ..." is On Hold with
# the hold reason ServiceNow ships for it ("Awaiting Evidence" has none).
STATE_CODES = {"New": "1", "Active": "2", "Awaiting User Info": "3", "Awaiting Problem": "3",
               "Awaiting Vendor": "3", "Awaiting Evidence": "3", "Resolved": "6", "Closed": "7"}
HOLD_REASONS = {"Awaiting User Info": "1", "Awaiting Problem": "3", "Awaiting Vendor": "4"}
DONE_STATES = ("6", "7")
CONTACT_TYPES = {"Phone": "phone", "Email": "email", "Self service": "self-service", "Walk in": "walk-in"}
NOTIFY = {"Do Not Notify": "1", "Send Email": "2"}


# -- the log ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LogIncident:
    number: str
    rows: tuple[dict, ...]

    @property
    def last(self) -> dict:
        return self.rows[-1]


def read_log(path: Path, limit: int | None = None) -> list[LogIncident]:
    """The log's incidents in the order they first appear (the log keeps each incident's rows
    together), each with its rows in log order; only the first `limit` incidents when given."""
    rows_by_number: dict[str, list[dict]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["number"] not in rows_by_number:
                if limit is not None and len(rows_by_number) >= limit:
                    break
                rows_by_number[row["number"]] = []
            rows_by_number[row["number"]].append(row)
    return [LogIncident(number, tuple(rows)) for number, rows in rows_by_number.items()]


def log_time(text: str) -> datetime | None:
    if not text or text == MISSING:
        return None
    return datetime.strptime(text, LOG_TIME_FORMAT).replace(tzinfo=timezone.utc)


def known(text: str) -> str:
    """The log's value, or "" for its missing-value mark."""
    return "" if text == MISSING else text


def leading_code(label: str) -> int | None:
    """2 for "2 - Medium"; None when the label has no leading number."""
    head = label.split(" - ", 1)[0].strip()
    return int(head) if head.isdigit() else None


# -- putting the log's values in the simulator's shapes -------------------------------------------

def impact_and_urgency(row: dict) -> tuple[str, str, bool]:
    """Impact and urgency that give the log's priority under the simulator's (stock) matrix.

    The simulator derives priority from impact + urgency as a stock instance does (read-only
    column). The logged instance used another matrix for some pairs (impact 3 and urgency 3 gave
    4 - Low, not 5 - Planning), so when the log's own pair would give another priority, urgency
    (else impact) is moved until the stock matrix gives the logged priority. Returns the codes and
    whether they differ from the log's.
    """
    impact, urgency, priority = (leading_code(row[name]) for name in ("impact", "urgency", "priority"))
    if None in (impact, urgency, priority):
        return str(impact or 3), str(urgency or 3), False
    if impact + urgency - 1 == priority:
        return str(impact), str(urgency), False
    wanted_sum = priority + 1
    for candidate_impact in [impact] + [i for i in (1, 2, 3) if i != impact]:
        candidate_urgency = wanted_sum - candidate_impact
        if 1 <= candidate_urgency <= 3:
            return str(candidate_impact), str(candidate_urgency), True
    return str(impact), str(urgency), False


@dataclass
class References:
    """sys_ids of the people, groups, locations and configuration items the log names."""

    users: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    locations: dict[str, str] = field(default_factory=dict)
    items: dict[str, str] = field(default_factory=dict)


def user_name_of(label: str) -> str:
    """"Caller 2403" -> "caller.2403", the login of the sys_user standing for that person."""
    return ".".join(label.lower().split())


def create_references(stack: ServiceStack, incidents: list[LogIncident], threads: int) -> References:
    """Create one record per person, group, location and CI the rows name (as the admin)."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for incident in incidents:
        for row in incident.rows:
            for column, kind in (("caller_id", "users"), ("assigned_to", "users"), ("assignment_group", "groups"),
                                 ("location", "locations"), ("cmdb_ci", "items")):
                if known(row[column]):
                    wanted[kind].add(row[column])
    tables = {"users": "sys_user", "groups": "sys_user_group", "locations": "cmn_location", "items": "cmdb_ci"}
    jobs = [(kind, label) for kind in tables for label in sorted(wanted[kind])]
    references = References()

    def body(kind: str, label: str) -> dict:
        if kind == "users":
            first, _, last = label.partition(" ")
            return {"user_name": user_name_of(label), "name": label, "first_name": first, "last_name": last,
                    "active": "true", "preferred_language": "en"}
        return {"name": label}

    def create(session, kind: str, label: str) -> None:
        result = stack.table("POST", f"/api/now/table/{tables[kind]}", body(kind, label), session=session)
        getattr(references, kind)[label] = result["sys_id"]

    run_in_threads(stack, jobs, lambda session, job: create(session, *job), threads)
    return references


def incident_values(row: dict, references: References) -> dict:
    """The incident's columns as one log row has them, in the simulator's raw values.

    Mapped: state (with hold reason), impact and urgency (see `impact_and_urgency`), made_sla,
    caller, assignment group, assignee, CI, location, category, subcategory, contact type,
    knowledge and notify. Not mapped: columns the simulator's incident has no place for
    (u_symptom, u_priority_confirmation, vendor), references to problems and changes the log
    names without their records (problem_id, rfc, caused_by), and closed_code (anonymised
    "code N" values that match no resolution code). reassignment_count, reopen_count and
    priority are the instance's own (read-only): they follow from the changes of group and state.
    """
    impact, urgency, _ = impact_and_urgency(row)
    label = row["incident_state"]
    values = {
        "state": STATE_CODES[label],
        "hold_reason": HOLD_REASONS.get(label, ""),
        "impact": impact, "urgency": urgency,
        "made_sla": "true" if row["made_sla"].upper() == "TRUE" else "false",
        "caller_id": references.users.get(row["caller_id"], ""),
        "assignment_group": references.groups.get(row["assignment_group"], ""),
        "assigned_to": references.users.get(row["assigned_to"], ""),
        "cmdb_ci": references.items.get(row["cmdb_ci"], ""),
        "location": references.locations.get(row["location"], ""),
        "category": known(row["category"]),
        "subcategory": known(row["subcategory"]),
        "contact_type": CONTACT_TYPES.get(row["contact_type"], known(row["contact_type"]).lower()),
        "knowledge": "true" if row["knowledge"].upper() == "TRUE" else "false",
        "notify": NOTIFY.get(row["notify"], "1"),
    }
    return values


class ReplayClock:
    """Log times on the simulator: every log time moved by one offset, so that the latest opening
    among the replayed incidents is the moment the replay starts.

    The log's incidents were all opened within three days, so after the shift they are all
    "recent" for the service's caller-history and repeat-contact windows, as they were on the
    logged desk. Resolution times keep their real length: opened_at is the shifted opening, and
    resolved_at the shifted resolution (the instance stamps its own clock on the move to
    Resolved, so the replay sets the logged moment with the incident's next row; a row that
    resolves or closes in one step carries it at once). The replay itself takes minutes, so time
    the service measures with its own clock (time on hold) is compressed.
    """

    def __init__(self, incidents: list[LogIncident], starts_at: datetime):
        latest_opening = max(log_time(incident.rows[0]["opened_at"]) for incident in incidents)
        self.offset = starts_at - latest_opening

    def shifted(self, moment: datetime | None) -> str:
        return "" if moment is None else (moment + self.offset).strftime(SIMULATOR_TIME_FORMAT)


def resolution_moment(incident: LogIncident, row_index: int) -> datetime | None:
    """When the log says the incident was resolved: its resolved_at, else the row that resolved it."""
    logged = log_time(incident.rows[row_index]["resolved_at"])
    if logged is not None:
        return logged
    for row in reversed(incident.rows[:row_index + 1]):
        if row["incident_state"] in ("Resolved", "Closed"):
            moment = log_time(row["sys_updated_at"])
            if moment is not None:
                return moment
    return None


# -- replaying ----------------------------------------------------------------------------------

@dataclass
class ReplayedIncident:
    number: str
    sys_id: str = ""
    rows: int = 0
    updates_applied: int = 0
    stand_in_notes: int = 0
    adjusted_priority_rows: int = 0
    error: str | None = None


def replay_incident(stack: ServiceStack, session: requests.Session, incident: LogIncident,
                    references: References, clock: ReplayClock) -> ReplayedIncident:
    """Create the incident from its first row, remove the simulator's own SLA rows, and apply
    every later row as one PATCH; each row must move sys_mod_count by exactly one."""
    outcome = ReplayedIncident(incident.number, rows=len(incident.rows))
    first = incident.rows[0]
    values = incident_values(first, references)
    body = {**values, "correlation_id": incident.number, "short_description": f"Replayed {incident.number}",
            "opened_at": clock.shifted(log_time(first["opened_at"]))}
    if values["state"] in DONE_STATES:
        body["resolved_at"] = clock.shifted(resolution_moment(incident, 0))
    if values["state"] == "7":
        body["closed_at"] = clock.shifted(log_time(first["sys_updated_at"]))
    outcome.adjusted_priority_rows += impact_and_urgency(first)[2]
    created = stack.table("POST", INCIDENT_PATH, body, session=session)
    outcome.sys_id = created["sys_id"]
    outcome.updates_applied = 1
    # The log carries the logged instance's SLA verdict (made_sla); the simulator's SLA engine
    # would judge the shifted times against its own targets and overwrite it.
    for sla in stack.table("GET", "/api/now/table/task_sla", params={
            "sysparm_query": f"task={outcome.sys_id}", "sysparm_fields": "sys_id"}, session=session):
        stack.table("DELETE", f"/api/now/table/task_sla/{sla['sys_id']}", session=session)

    held, mod_count = values, int(created["sys_mod_count"])
    resolved_logged = values["state"] in DONE_STATES
    for index, row in enumerate(incident.rows[1:], start=1):
        values = incident_values(row, references)
        outcome.adjusted_priority_rows += impact_and_urgency(row)[2]
        patch = {name: value for name, value in values.items() if held.get(name) != value}
        becomes_done = values["state"] in DONE_STATES and held["state"] not in DONE_STATES
        if values["state"] not in DONE_STATES:
            resolved_logged = False
        elif becomes_done and values["state"] == "7":
            patch["resolved_at"] = clock.shifted(resolution_moment(incident, index))  # closed in one step
            resolved_logged = True
        elif not becomes_done and not resolved_logged:
            patch["resolved_at"] = clock.shifted(resolution_moment(incident, index))  # after the instance's stamp
            resolved_logged = True
        if not patch:
            # The row is a real update of a column the log does not carry: a work note stands in.
            patch["work_notes"] = (f"Replayed update {row['sys_mod_count']} of {incident.number} "
                                   f"by {row['sys_updated_by']}: the log does not say what changed.")
            outcome.stand_in_notes += 1
        result = stack.table("PATCH", f"{INCIDENT_PATH}/{outcome.sys_id}", patch,
                             params={"sysparm_fields": "sys_mod_count"}, session=session)
        new_count = int(result["sys_mod_count"])
        if new_count != mod_count + 1:
            raise RuntimeError(f"{incident.number} row {index}: sys_mod_count went from {mod_count} to {new_count}")
        mod_count = new_count
        held = values
        outcome.updates_applied += 1
    return outcome


def run_in_threads(stack: ServiceStack, items: list, work, threads: int) -> list:
    """`work(session, item)` for every item on `threads` threads, each with its own agent session.

    Returns the results in the order of `items`; raises the first exception after all threads end.
    """
    pending: queue.Queue = queue.Queue()
    for position, item in enumerate(items):
        pending.put((position, item))
    results: list = [None] * len(items)
    failures: list[BaseException] = []

    def worker() -> None:
        session = stack.agent_session()
        try:
            while not failures:
                try:
                    position, item = pending.get_nowait()
                except queue.Empty:
                    return
                try:
                    results[position] = work(session, item)
                except BaseException as exc:  # stop everyone; reported below
                    failures.append(exc)
        finally:
            session.close()

    pool = [threading.Thread(target=worker, name=f"replay-{n}", daemon=True) for n in range(max(1, threads))]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if failures:
        raise failures[0]
    return results


def replay(stack: ServiceStack, incidents: list[LogIncident], threads: int) -> dict:
    """Create the referenced records (not timed), then replay every incident (timed)."""
    references = create_references(stack, incidents, threads)
    clock = ReplayClock(incidents, datetime.now(timezone.utc).replace(microsecond=0))
    started_wall, started = time.time(), time.monotonic()
    outcomes = run_in_threads(stack, incidents, lambda session, incident: replay_incident(
        stack, session, incident, references, clock), threads)
    seconds = time.monotonic() - started
    rows = sum(outcome.updates_applied for outcome in outcomes)
    return {"outcomes": outcomes, "rows": rows, "seconds": round(seconds, 2), "started_at": started_wall,
            "rows_per_s": round(rows / seconds, 1) if seconds else None,
            "stand_in_notes": sum(o.stand_in_notes for o in outcomes),
            "adjusted_priority_rows": sum(o.adjusted_priority_rows for o in outcomes)}


# -- checking -----------------------------------------------------------------------------------

def check_no_loss_no_duplicates(stack: ServiceStack, replayed: dict) -> dict:
    """Rows -> deliveries -> inbox rows -> finished jobs, counted and matched by delivery id.

    Deliveries of the service's own writes answered 200 were dropped at the endpoint (the loop
    guard's first filter) and must not be in the inbox; every other delivery must be, once.
    """
    deliveries = stack.deliveries()
    by_agent = [d for d in deliveries if d["event"].get("sys_updated_by") == AGENT_USER]
    by_service = [d for d in deliveries if d["event"].get("sys_updated_by") == INTEGRATION_USER]
    dropped = {d["delivery_id"] for d in by_service if d.get("http_status") == 200}
    statuses = Counter(d["status"] for d in deliveries)
    delivery_ids = [d["delivery_id"] for d in deliveries]
    inbox = {row[0]: row[1] for row in stack.query("SELECT delivery_id, duplicates FROM inbox_events")}
    job_states = Counter(f"{state}:{outcome}" for state, outcome in stack.query(
        "SELECT state, coalesce(outcome, '') FROM jobs WHERE kind = 'process_event'"))
    finished_events = sum(n for key, n in job_states.items() if key.startswith("done:"))
    return {
        "rows_replayed": replayed["rows"],
        "agent_deliveries": len(by_agent),
        "service_write_deliveries": len(by_service),
        "deliveries": len(deliveries),
        "delivery_ids_repeated": len(delivery_ids) - len(set(delivery_ids)),
        "delivery_statuses": dict(statuses),
        "inbox_rows": len(inbox),
        "service_writes_dropped_at_endpoint": len(dropped),
        "deliveries_missing_from_inbox": len(set(delivery_ids) - dropped - set(inbox)),
        "inbox_rows_without_delivery": len(set(inbox) - set(delivery_ids)),
        "redeliveries_counted_in_inbox": sum(inbox.values()),
        "process_event_jobs": dict(job_states),
        "events_finished": finished_events,
        "every_row_one_event": len(by_agent) == replayed["rows"],
        "every_delivery_stored_once": (set(delivery_ids) - dropped == set(inbox)
                                       and len(delivery_ids) == len(set(delivery_ids))),
        "every_event_processed": finished_events == len(inbox) and not any(
            key.startswith(("queued", "leased", "dead")) for key in job_states),
    }


def read_incidents(stack: ServiceStack, sys_ids: list[str]) -> dict[str, dict]:
    """The replayed incidents as the simulator holds them now, by sys_id."""
    fields = ("sys_id,number,correlation_id,u_xla_score,u_xla_band,u_xla_reasons,u_xla_risk,u_xla_model_version,"
              "reassignment_count,reopen_count,priority,made_sla,state")
    records = {}
    for start in range(0, len(sys_ids), 100):
        chunk = sys_ids[start:start + 100]
        for record in stack.table("GET", INCIDENT_PATH, params={
                "sysparm_query": "sys_idIN" + ",".join(chunk), "sysparm_fields": fields}):
            records[record["sys_id"]] = record
    return records


def check_scores_and_notes(stack: ServiceStack, records: dict[str, dict]) -> dict:
    """Each incident: one score on the ticket, equal (value and band) to the service's tickets row;
    and no work note of the service written twice on a ticket."""
    rows = {key.split(":", 1)[1]: (score, band) for key, score, band in stack.query(
        "SELECT ticket_key, score, band FROM tickets WHERE ticket_key LIKE 'incident:%'")}
    unscored, mismatched = [], []
    for sys_id, record in records.items():
        if record["u_xla_score"] in ("", None):
            unscored.append(record["correlation_id"])
            continue
        stored = rows.get(sys_id)
        if stored is None or round(stored[0]) != int(record["u_xla_score"]) or stored[1] != record["u_xla_band"]:
            mismatched.append(record["correlation_id"])
    notes = stack.table("GET", "/api/now/table/sys_journal_field", params={
        "sysparm_query": f"element=work_notes^sys_created_by={INTEGRATION_USER}",
        "sysparm_fields": "element_id,value", "sysparm_limit": 100000})
    markers = Counter((note["element_id"], note["value"].strip().splitlines()[-1]) for note in notes)
    comments = stack.table("GET", "/api/now/table/sys_journal_field", params={
        "sysparm_query": f"element=comments^sys_created_by={INTEGRATION_USER}", "sysparm_fields": "element_id",
        "sysparm_limit": 100000})
    return {"incidents": len(records), "scored": len(records) - len(unscored), "unscored": unscored[:20],
            "score_differs_from_tickets_row": mismatched[:20], "score_mismatches": len(mismatched),
            "service_work_notes": len(notes), "notes_written_twice": sum(n - 1 for n in markers.values() if n > 1),
            "service_comments": len(comments)}


# -- what the scores say --------------------------------------------------------------------------

def hold_hours(incident: LogIncident) -> float:
    """Hours the log shows the incident in an "Awaiting ..." state (row to next row)."""
    hours = 0.0
    for row, following in zip(incident.rows, incident.rows[1:]):
        start, end = log_time(row["sys_updated_at"]), log_time(following["sys_updated_at"])
        if row["incident_state"].startswith("Awaiting") and start and end and end > start:
            hours += (end - start).total_seconds() / 3600
    return hours


def service_view(stack: ServiceStack, incidents: list[LogIncident], outcomes: list[ReplayedIncident]) -> list[dict]:
    """Each replayed incident as the service sees it now (what `app.py preview` computes: one read,
    map, enrich, score), and the same model on the ticket's own fields alone, without and with the
    log's time on hold: the inputs of docs/scoring.md "Measured on a real incident log"."""
    from pipeline.decide import decide
    from pipeline.state import load_known
    from scoring import ExperienceContext, score_ticket
    from storage.clock import utcnow

    runtime = stack.service_runtime()
    views = []
    try:
        connector, model = runtime.connector(CONNECTION_ID), runtime.scoring_model()
        mapping = runtime.mapping(CONNECTION_ID)
        for incident, outcome in zip(incidents, outcomes):
            key = f"incident:{outcome.sys_id}"
            raw = connector.get_ticket(key, runtime.fields_to_read(CONNECTION_ID, key))
            now = utcnow()
            with runtime.sessions() as session:
                known_ticket = load_known(session, CONNECTION_ID, key)
                decision = decide(mapping, model, raw, known_ticket.snapshot, known_ticket.notes_written, session,
                                  now, settings=runtime.settings)
            own = score_ticket(decision.ticket, ExperienceContext(as_of=now), None, model)
            waited = score_ticket(decision.ticket, ExperienceContext(
                as_of=now, time_in_state_hours={"on_hold": round(hold_hours(incident), 2)}), None, model)
            views.append({"service": decision.score, "ticket_only": own, "ticket_and_log_hold": waited,
                          "context": decision.context})
    finally:
        runtime.close()
    return views


def score_analysis(incidents: list[LogIncident], outcomes: list[ReplayedIncident], records: dict[str, dict],
                   views: list[dict]) -> dict:
    """Distribution of the written scores and how they line up with the log's own signals, and the
    same model on the ticket's own fields for comparison."""
    joined = []
    for incident, outcome, view in zip(incidents, outcomes, views):
        record = records.get(outcome.sys_id)
        if record is None or record["u_xla_score"] in ("", None):
            continue
        last = incident.last
        joined.append({
            "score": int(record["u_xla_score"]), "band": record["u_xla_band"],
            "service_view": view["service"].score, "confidence": view["service"].confidence,
            "ticket_only": view["ticket_only"], "ticket_and_log_hold": view["ticket_and_log_hold"],
            "reasons": [r for r in record["u_xla_reasons"].split("; ") if r],
            "sla_missed": last["made_sla"].upper() != "TRUE",
            "reassignments": int(last["reassignment_count"]), "reopens": int(last["reopen_count"]),
            "priority": leading_code(last["priority"]),
            "replayed_reassignments": int(record["reassignment_count"] or 0),
            "replayed_reopens": int(record["reopen_count"] or 0),
            "replayed_priority": int(record["priority"] or 0),
        })
    if not joined:
        return {"incidents": 0}
    scores = sorted(item["score"] for item in joined)

    def group(items: list[dict]) -> dict:
        values = [item["score"] for item in items]
        if not values:
            return {"count": 0}
        bands = Counter(item["band"] for item in items)
        return {"count": len(values), "mean": round(statistics.fmean(values), 1),
                "median": statistics.median(values),
                "poor_share": round(bands["poor"] / len(values), 3)}

    def split(name: str, test) -> dict:
        return {"yes": group([i for i in joined if test(i)]), "no": group([i for i in joined if not test(i)]),
                "name": name}

    by_reassignments = {label: group([i for i in joined if pick(i["reassignments"])]) for label, pick in (
        ("0", lambda n: n == 0), ("1", lambda n: n == 1), ("2", lambda n: n == 2), ("3", lambda n: n == 3),
        ("4+", lambda n: n >= 4))}
    reasons = Counter(_reason_kind(reason) for item in joined for reason in item["reasons"])
    bands = Counter(item["band"] for item in joined)
    present = [value["mean"] for value in by_reassignments.values() if value.get("mean") is not None]
    sla, reassigned, reopened = (split("sla_missed", lambda i: i["sla_missed"]),
                                 split("reassigned", lambda i: i["reassignments"] > 0),
                                 split("reopened", lambda i: i["reopens"] > 0))
    ordered = {
        "sla_missed_below_met": _below(sla),
        "reassigned_below_not": _below(reassigned),
        "reopened_below_not": _below(reopened),
        "mean_falls_with_each_reassignment": all(
            later <= earlier for earlier, later in zip(present, present[1:])) if len(present) > 1 else None,
    }
    return {
        "incidents": len(joined),
        "context": context_summary(incidents, outcomes, records, views),
        "written_equals_service_view_now": sum(1 for item in joined if item["score"] == item["service_view"]),
        "mean": round(statistics.fmean(scores), 1),
        "percentiles": {f"p{p}": percentile(scores, p / 100) for p in (10, 25, 50, 75, 90)},
        "bands": {band: {"count": bands[band], "share": round(bands[band] / len(joined), 3)}
                  for band in ("good", "average", "poor")},
        "histogram_by_10": {f"{low}-{low + 9 if low < 90 else 100}": sum(
            1 for score in scores if low <= score < low + 10 or (low == 90 and score == 100))
            for low in range(0, 100, 10)},
        "sla": sla, "reassigned": reassigned, "reopened": reopened,
        "by_reassignments": by_reassignments,
        "by_priority": {str(p): group([i for i in joined if i["priority"] == p]) for p in (1, 2, 3, 4)},
        "indicators_order_as_expected": ordered,
        "reasons_on_tickets": dict(reasons.most_common()),
        "mean_confidence": round(statistics.fmean(item["confidence"] for item in joined), 2),
        "same_model_on_the_ticket_alone": {
            name: _variant_summary([{**item, "score": item[name].score, "band": item[name].band,
                                     "confidence": item[name].confidence} for item in joined])
            for name in ("ticket_only", "ticket_and_log_hold")},
        "fidelity": {
            "reassignment_count_differs_from_log": sum(
                1 for i in joined if i["replayed_reassignments"] != i["reassignments"]),
            "reopen_count_differs_from_log": sum(1 for i in joined if i["replayed_reopens"] != i["reopens"]),
            "priority_differs_from_log": sum(1 for i in joined if i["replayed_priority"] != i["priority"]),
        },
    }


def context_summary(incidents: list[LogIncident], outcomes: list[ReplayedIncident], records: dict[str, dict],
                    views: list[dict]) -> dict:
    """How often the service's enrichment found each kind of context, and whether the ticket a
    repeat contact names was opened before the incident (as "came back" implies) or after it."""
    opened_by_number = {}
    for incident, outcome in zip(incidents, outcomes):
        record = records.get(outcome.sys_id)
        if record is not None:
            opened_by_number[record["number"]] = log_time(incident.rows[0]["opened_at"])
    repeat_earlier = repeat_later = 0
    for incident, view in zip(incidents, views):
        named = opened_by_number.get(view["context"].get("repeat_of") or "")
        if view["context"].get("repeat_contact") and named is not None:
            if named <= log_time(incident.rows[0]["opened_at"]):
                repeat_earlier += 1
            else:
                repeat_later += 1
    contexts = [view["context"] for view in views]
    return {"repeat_contact": sum(1 for c in contexts if c.get("repeat_contact")),
            "repeat_of_opened_earlier": repeat_earlier, "repeat_of_opened_later": repeat_later,
            "caller_has_other_recent_tickets": sum(1 for c in contexts if (c.get("caller_recent_tickets") or 0) > 0),
            "caller_had_recent_poor": sum(1 for c in contexts if (c.get("caller_recent_poor") or 0) > 0),
            "open_major_incident": sum(1 for c in contexts if c.get("open_major_incident")),
            "time_on_hold_over_free_hours": sum(
                1 for c in contexts if (c.get("time_in_state_hours") or {}).get("on_hold", 0) > 4)}


def _variant_summary(items: list[dict]) -> dict:
    """Mean, median, bands, confidence and the three splits of one way of scoring the incidents."""
    scores = [item["score"] for item in items]
    bands = Counter(item["band"] for item in items)

    def mean_of(selected: list[dict]) -> float | None:
        return round(statistics.fmean(i["score"] for i in selected), 1) if selected else None

    return {"mean": round(statistics.fmean(scores), 1), "median": statistics.median(scores),
            "bands": {band: bands[band] for band in ("good", "average", "poor")},
            "mean_confidence": round(statistics.fmean(item["confidence"] for item in items), 2),
            "sla_missed_vs_met": [mean_of([i for i in items if i["sla_missed"]]),
                                  mean_of([i for i in items if not i["sla_missed"]])],
            "reassigned_vs_not": [mean_of([i for i in items if i["reassignments"] > 0]),
                                  mean_of([i for i in items if i["reassignments"] == 0])],
            "reopened_vs_not": [mean_of([i for i in items if i["reopens"] > 0]),
                                mean_of([i for i in items if i["reopens"] == 0])]}


def _below(split_result: dict) -> bool | None:
    yes, no = split_result["yes"].get("mean"), split_result["no"].get("mean")
    return None if yes is None or no is None else yes < no


def _reason_kind(reason: str) -> str:
    """A reason without its numbers and ticket numbers, so equal kinds count together."""
    words = []
    for word in reason.replace("(", " ").replace(")", " ").split():
        if any(ch.isdigit() for ch in word):
            word = "N"
        words.append(word)
    return " ".join(words)


# -- the run --------------------------------------------------------------------------------------

def run(args, incidents: list[LogIncident]) -> dict:
    load_at_start = [round(value, 2) for value in os.getloadavg()]
    tuning = ServiceTuning(worker_processes=args.workers, worker_concurrency=args.concurrency,
                           poll_interval_s=args.poll_interval)
    with ServiceStack(tuning, with_service=False, simulator_args=SIMULATOR_ARGS) as stack:
        alone = replay(stack, incidents, args.threads)
    with ServiceStack(tuning, simulator_args=SIMULATOR_ARGS) as stack:
        served = replay(stack, incidents, args.threads)
        settled = stack.wait_until_settled(args.settle_timeout, poll_s=1.0)
        last_finished = stack.query("SELECT max(finished_at) FROM jobs")[0][0]
        integrity = check_no_loss_no_duplicates(stack, served)
        records = read_incidents(stack, [outcome.sys_id for outcome in served["outcomes"]])
        written = check_scores_and_notes(stack, records)
        views = service_view(stack, incidents, served["outcomes"])
        analysis = score_analysis(incidents, served["outcomes"], records, views)
        model_versions = Counter(record["u_xla_model_version"] for record in records.values())
    finished_at = _stored_moment(last_finished).timestamp() if last_finished else None
    service_seconds = finished_at - served["started_at"] if finished_at else None
    events_per_s = round(served["rows"] / service_seconds, 1) if service_seconds else None
    return {
        "benchmark": "replay_log", "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {**machine(), "load_average_at_start": load_at_start},
        "settings": {"incidents": len(incidents), "log_rows": sum(len(i.rows) for i in incidents),
                     "threads": args.threads, "tuning": tuning_record(tuning)},
        "simulator_only": {"rows": alone["rows"], "seconds": alone["seconds"], "rows_per_s": alone["rows_per_s"]},
        "with_service": {"rows": served["rows"], "replay_seconds": served["seconds"],
                         "replay_rows_per_s": served["rows_per_s"], "settled": settled,
                         "seconds_to_last_job": round(service_seconds, 2) if service_seconds else None,
                         "events_per_s": events_per_s},
        "ratio_service_to_simulator_only": round(events_per_s / alone["rows_per_s"], 3)
        if events_per_s and alone["rows_per_s"] else None,
        "mapping": {"stand_in_work_notes": served["stand_in_notes"],
                    "rows_with_adjusted_impact_or_urgency": served["adjusted_priority_rows"]},
        "integrity": integrity, "written": written,
        "model_versions": dict(model_versions), "scores": analysis,
    }


def _stored_moment(stored: str) -> datetime:
    moment = datetime.fromisoformat(stored)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def print_report(record: dict) -> None:
    alone, served = record["simulator_only"], record["with_service"]
    print(f"log: {record['settings']['incidents']} incidents, {record['settings']['log_rows']} rows")
    print(f"simulator only: {alone['rows']} rows in {alone['seconds']} s = {alone['rows_per_s']} rows/s")
    print(f"with the service: replay {served['replay_seconds']} s ({served['replay_rows_per_s']} rows/s), "
          f"last event processed after {served['seconds_to_last_job']} s = {served['events_per_s']} events/s "
          f"(ratio {record['ratio_service_to_simulator_only']}); settled: {served['settled']}")
    integrity, written = record["integrity"], record["written"]
    print(f"rows {integrity['rows_replayed']} -> agent deliveries {integrity['agent_deliveries']} "
          f"(+{integrity['service_write_deliveries']} from the service's writes, "
          f"{integrity['service_writes_dropped_at_endpoint']} of them dropped at the endpoint) "
          f"-> inbox {integrity['inbox_rows']} "
          f"-> events finished {integrity['events_finished']}; repeated ids {integrity['delivery_ids_repeated']}, "
          f"missing {integrity['deliveries_missing_from_inbox']}, statuses {integrity['delivery_statuses']}")
    print(f"scored {written['scored']}/{written['incidents']}, score or band differing from the tickets row "
          f"{written['score_mismatches']}, work notes {written['service_work_notes']} "
          f"(written twice: {written['notes_written_twice']}), survey comments {written['service_comments']}")
    scores = record["scores"]
    if scores.get("incidents"):
        bands = ", ".join(f"{band} {value['count']} ({value['share']:.1%})" for band, value in scores["bands"].items())
        print(f"scores: mean {scores['mean']}, percentiles {scores['percentiles']}, bands {bands}")
        for name in ("sla", "reassigned", "reopened"):
            split = scores[name]
            print(f"  {split['name']}: yes {split['yes']} / no {split['no']}")
        print(f"  by reassignments: { {k: v.get('mean') for k, v in scores['by_reassignments'].items()} }")
        print(f"  by priority: { {k: (v.get('count'), v.get('mean')) for k, v in scores['by_priority'].items()} }")
        print(f"  ordered as expected: {scores['indicators_order_as_expected']}; fidelity {scores['fidelity']}")
        print(f"  context found by the service: {scores['context']}")
        print(f"  written = service view now: {scores['written_equals_service_view_now']}/{scores['incidents']}, "
              f"mean confidence {scores['mean_confidence']}")
        for name, summary in scores["same_model_on_the_ticket_alone"].items():
            print(f"  same model, {name}: {summary}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/replay_log.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, help="replay only the first N incidents of the log")
    parser.add_argument("--threads", type=int, default=8, help="incidents replayed at once (each in its order)")
    parser.add_argument("--workers", type=int, default=1, help="`app.py worker` processes")
    parser.add_argument("--concurrency", type=int, default=2, help="job loops per worker process")
    parser.add_argument("--poll-interval", type=float, default=0.05, help="[worker] poll_interval_s")
    parser.add_argument("--settle-timeout", type=float, default=1800.0,
                        help="longest wait for the service to process every event after the replay")
    parser.add_argument("--log", type=Path, default=LOG_FILE,
                        help="the incident log CSV (default: ../shared/data/ beside the repository)")
    parser.add_argument("--json", metavar="FILE", help="write the record here (default: bench/results/)")
    args = parser.parse_args(argv)
    if args.incidents is not None and args.incidents < 1:
        parser.error("--incidents must be at least 1")
    if not args.log.is_file():
        print(f"skipped: the incident log is not at {args.log} (../shared/data/ beside the repository); "
              "nothing was replayed", file=sys.stderr)
        return 0

    incidents = read_log(args.log, args.incidents)
    record = run(args, incidents)
    print_report(record)
    path = write_record(record, "replay_log", args.json)
    print(f"record written to {shown_path(path)}")
    integrity, written = record["integrity"], record["written"]
    clean = (integrity["every_row_one_event"] and integrity["every_delivery_stored_once"]
             and integrity["every_event_processed"] and written["score_mismatches"] == 0
             and not written["unscored"] and written["notes_written_twice"] == 0)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
