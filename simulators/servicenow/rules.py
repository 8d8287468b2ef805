"""The business rules a stock instance runs when a ticket is written, and its SLA bookkeeping.

Called by `RecordStore` inside its lock, before a write is committed, with the record as it
will be stored (`after`), so derived columns count as changed fields of the same update:

- priority from impact and urgency (the default lookup matrix);
- `incident_state` mirrors `state`; `active`, `resolved_*`, `closed_*` follow the state;
- `reassignment_count` + 1 when the assignment group changes from one group to another;
- `reopen_count` + 1 when an incident goes from Resolved/Closed back to an open state;
- `task_sla` rows: a response and a resolution SLA per incident, a resolution SLA per requested
  item, paused on hold, completed on resolution (the scenario overwrites them from its plan).
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from simulators.world import priority_of

OPEN_INCIDENT_STATES = ("1", "2", "3")
RESOLVED_INCIDENT_STATES = ("6", "7")
INACTIVE_STATES = {"incident": ("7", "8"), "change_request": ("3", "4"), "sc_req_item": ("3", "4", "7"),
                   "incident_task": ("3", "4", "7"), "sc_task": ("3", "4", "7"), "change_task": ("3", "4", "7")}
RESOLUTION_TARGET_MIN = {1: 4 * 60, 2: 8 * 60, 3: 3 * 24 * 60, 4: 5 * 24 * 60, 5: 10 * 24 * 60}
RESPONSE_TARGET_MIN = {1: 15, 2: 30, 3: 4 * 60, 4: 8 * 60, 5: 24 * 60}


def derived_id(*parts: str) -> str:
    """A stable 32-hex sys_id for a row derived from other rows (SLA rows, definitions)."""
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:32]


def duration_value(minutes: float) -> str:
    """A glide_duration as the Table API returns its value: an offset from 1970-01-01."""
    seconds = max(0, int(minutes * 60))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    return f"1970-01-{days + 1:02d} {hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def duration_words(value: str) -> str:
    """Display form of a glide_duration value (`1970-01-03 04:00:00` -> `2 Days 4 Hours`)."""
    if not value:
        return ""
    try:
        moment = datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return value
    days = moment.day - 1 + (moment.month - 1) * 31
    parts = [(days, "Day"), (moment.hour, "Hour"), (moment.minute, "Minute")]
    words = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n]
    return " ".join(words) or "0 Seconds"


def _parse(stamp: str) -> datetime | None:
    try:
        return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None


def _priority(record: dict) -> str:
    try:
        return str(priority_of(int(record.get("impact") or 3), int(record.get("urgency") or 3)))
    except (KeyError, ValueError):
        return record.get("priority", "")


def on_insert(store, table, record: dict, user: str, stamp: str) -> None:
    user_id = store.user_sys_id(user)
    record["opened_at"] = record.get("opened_at") or stamp
    record["opened_by"] = record.get("opened_by") or user_id
    record["sys_domain"] = record.get("sys_domain") or "global"
    record["priority"] = _priority(record)
    if table.name == "incident":
        record["incident_state"] = record["state"]
    if table.name == "sc_req_item":
        record["requested_for"] = record.get("requested_for") or record["opened_by"]
    if table.name == "change_request":
        record["requested_by"] = record.get("requested_by") or record["opened_by"]
    record["active"] = "false" if record["state"] in INACTIVE_STATES[table.name] else "true"
    ensure_slas(store, table.name, record, stamp)


def on_update(store, table, before: dict, after: dict, user: str, stamp: str) -> None:
    user_id = store.user_sys_id(user)
    after["priority"] = _priority(after)
    if before.get("assignment_group") and after.get("assignment_group") != before.get("assignment_group"):
        after["reassignment_count"] = str(int(before.get("reassignment_count") or 0) + 1)
    old_state, new_state = before.get("state"), after.get("state")
    if table.name == "incident":
        after["incident_state"] = new_state
        if new_state != "3":
            after["hold_reason"] = ""
        if old_state != new_state:
            if new_state == "6":
                after["resolved_at"] = stamp
                after["resolved_by"] = after.get("resolved_by") or user_id
                opened = _parse(after.get("opened_at", ""))
                if opened:
                    seconds = int((_parse(stamp) - opened).total_seconds())
                    after["calendar_stc"] = str(seconds)
                    after["calendar_duration"] = duration_value(seconds / 60)
            elif new_state in ("7", "8"):
                after["closed_at"] = stamp
                after["closed_by"] = user_id
                if new_state == "7" and not after.get("resolved_at"):
                    after["resolved_at"], after["resolved_by"] = stamp, user_id
            elif old_state in RESOLVED_INCIDENT_STATES and new_state in OPEN_INCIDENT_STATES:
                after["reopen_count"] = str(int(before.get("reopen_count") or 0) + 1)
                after["reopened_time"], after["reopened_by"] = stamp, user_id
                for name in ("resolved_at", "resolved_by", "closed_at", "closed_by",
                             "calendar_stc", "calendar_duration"):
                    after[name] = ""
    elif old_state != new_state and new_state in INACTIVE_STATES[table.name]:
        after["closed_at"], after["closed_by"] = stamp, user_id
    elif old_state != new_state and old_state in INACTIVE_STATES[table.name]:
        after["closed_at"], after["closed_by"] = "", ""
    after["active"] = "false" if new_state in INACTIVE_STATES[table.name] else "true"
    track_slas(store, table.name, before, after, stamp)


# SLA rows ------------------------------------------------------------------------------------

def sla_definitions(table_name: str, priority: int) -> list[tuple[str, str, int]]:
    """`(name, kind, target minutes)` of the SLAs a new ticket of this table and priority gets."""
    if table_name not in ("incident", "sc_req_item"):
        return []
    resolution = RESOLUTION_TARGET_MIN.get(priority, RESOLUTION_TARGET_MIN[5])
    definitions = [(f"P{priority} resolution ({duration_words(duration_value(resolution)).lower()})",
                    "resolution", resolution)]
    if table_name == "incident":
        response = RESPONSE_TARGET_MIN.get(priority, RESPONSE_TARGET_MIN[5])
        definitions.insert(0, (f"P{priority} response ({duration_words(duration_value(response)).lower()})",
                               "response", response))
    return definitions


def sla_row_id(task_sys_id: str, kind: str) -> str:
    return derived_id("task_sla", task_sys_id, kind)


def ensure_definition(store, name: str, kind: str, target_min: int, table_name: str) -> str:
    definition_id = derived_id("contract_sla", name)
    if store.tables["contract_sla"].get(definition_id) is None:
        store.put_raw("contract_sla", {
            "sys_id": definition_id, "name": name, "target": kind,
            "duration": duration_value(target_min), "collection": table_name,
            "sys_created_by": "admin", "sys_updated_by": "admin", "sys_mod_count": "0"})
    return definition_id


def ensure_slas(store, table_name: str, record: dict, stamp: str) -> None:
    """Attach the SLA rows a new ticket starts with (stage in_progress, nothing elapsed)."""
    try:
        priority = int(record.get("priority") or 5)
    except ValueError:
        priority = 5
    for name, kind, target in sla_definitions(table_name, priority):
        definition_id = ensure_definition(store, name, kind, target, table_name)
        start = _parse(record.get("opened_at") or stamp) or _parse(stamp)
        planned_end = start.timestamp() + target * 60
        store.put_raw("task_sla", {
            "sys_id": sla_row_id(record["sys_id"], kind), "task": record["sys_id"],
            "sla": definition_id, "stage": "in_progress", "has_breached": "false",
            "percentage": "0.00", "business_percentage": "0.00",
            "time_left": duration_value(target), "business_time_left": duration_value(target),
            "start_time": record.get("opened_at") or stamp, "end_time": "",
            "planned_end_time": datetime.fromtimestamp(planned_end, timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
            "active": "true", "sys_created_on": stamp, "sys_updated_on": stamp,
            "sys_created_by": "system", "sys_updated_by": "system", "sys_mod_count": "0"})


def set_sla_status(store, task_sys_id: str, kind: str, *, stage: str, has_breached: bool,
                   percentage: float, time_left_min: float, stamp: str) -> None:
    """Write one SLA row's state (used by the generic tracking and by the scenario's plan)."""
    row_id = sla_row_id(task_sys_id, kind)
    if row_id not in store.tables["task_sla"]:
        return
    row = store.tables["task_sla"][row_id]
    finished = stage in ("completed", "cancelled")
    values = {
        "stage": stage, "has_breached": "true" if has_breached else "false",
        "percentage": f"{percentage:.2f}", "business_percentage": f"{percentage:.2f}",
        "time_left": duration_value(time_left_min), "business_time_left": duration_value(time_left_min),
        "active": "false" if finished else "true",
        # the stop time is when it first stopped, not every later touch of the ticket
        "end_time": (row.get("end_time") or stamp) if finished else "",
    }
    if all(row.get(name) == value for name, value in values.items()):
        return
    values.update(sys_updated_on=stamp, sys_mod_count=str(int(row.get("sys_mod_count") or 0) + 1))
    store.set_raw("task_sla", row_id, values)


def track_slas(store, table_name: str, before: dict, after: dict, stamp: str) -> None:
    """Move SLA stages on state and assignment changes, measuring wall-clock time."""
    task_id = after["sys_id"]
    now = None
    for kind in ("response", "resolution"):
        row = store.tables["task_sla"].get(sla_row_id(task_id, kind))
        if row is None or row["stage"] in ("cancelled",):
            continue
        stage = row["stage"]
        if kind == "response":
            if after.get("assigned_to") and not before.get("assigned_to") and stage != "completed":
                stage = "completed"
            else:
                continue
        else:
            state = after.get("state")
            if state == before.get("state"):
                continue
            if table_name == "incident":
                stage = {"3": "paused", "6": "completed", "7": "completed", "8": "cancelled"}.get(
                    state, "in_progress")
            else:
                stage = "completed" if state in INACTIVE_STATES[table_name] else "in_progress"
        # the clock is read only for a stage that moves: most writes move none, and parsing the
        # timestamps was most of this function's cost
        now = now or _parse(stamp)
        definition = store.tables["contract_sla"].get(row["sla"], {})
        target = _minutes(definition.get("duration", "")) or 1
        started = _parse(row.get("start_time", "")) or now
        elapsed = max(0.0, (now - started).total_seconds() / 60)
        breached = row["has_breached"] == "true" or elapsed > target
        set_sla_status(store, task_id, kind, stage=stage, has_breached=breached,
                       percentage=100.0 * elapsed / target, time_left_min=max(0.0, target - elapsed),
                       stamp=stamp)
        if breached:
            after["made_sla"] = "false"


def _minutes(duration: str) -> float:
    moment = _parse(duration)
    if moment is None:
        return 0.0
    return (moment - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds() / 60
