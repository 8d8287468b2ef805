"""ServiceNow ticket events (the project's signed Business Rule payload) to `TicketEvent`s.

The body is defined in docs/architecture.md ("The ServiceNow event") and docs/servicenow.md:
`event_version` 1, `table`, `sys_id`, `operation`, `sys_mod_count`, `sys_updated_by`,
`changed_fields` and `record` (raw values of the configured fields), plus two optional members
the shipped Business Rule adds: `previous` (old raw values of the changed fields) and `comment`
(`text`, `author`, `public` of a journal entry added in this update).

Lifecycle meaning comes from `changed_fields` and the record's values, per table (the state
tables below). Where the meaning depends on the old value (reopened, assigned versus
reassigned) `previous` decides; without it the counters ServiceNow keeps
(`reopen_count`, `reassignment_count`) do.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from domain.events import Lifecycle, TicketEvent
from webhooks.outcomes import ParseOutcome, Unrecognised, Unsupported
from webhooks.payload import text_or_none

ID_HEADER = "webhook-id"
SUPPORTED_EVENT_VERSION = 1

_TABLE = re.compile(r"[a-z][a-z0-9_]{0,79}")
_SYS_ID = re.compile(r"[0-9a-f]{32}")
_CLEAN_ID = re.compile(r"[A-Za-z0-9._:\-]{1,200}")


def _incident_state(state: str, previous: str | None, record: Mapping[str, Any]) -> list[Lifecycle]:
    # Incident states: 1 New, 2 In Progress, 3 On Hold, 6 Resolved, 7 Closed, 8 Canceled.
    if state == "6":
        return [Lifecycle.RESOLVED]
    if state == "7":
        # Closed straight from an open state: the ticket was resolved and closed in one step.
        return [Lifecycle.RESOLVED, Lifecycle.CLOSED] if previous in ("1", "2", "3") else [Lifecycle.CLOSED]
    if state == "8":
        return [Lifecycle.CANCELED]
    if state in ("1", "2", "3") and previous in ("6", "7"):
        return [Lifecycle.REOPENED]
    return []


def _change_state(state: str, previous: str | None, record: Mapping[str, Any]) -> list[Lifecycle]:
    # Change states: -5 New, -4 Assess, -3 Authorize, -2 Scheduled, -1 Implement, 0 Review,
    # 3 Closed, 4 Canceled. Review follows a finished implementation.
    if state == "-2":
        return [Lifecycle.SCHEDULED]
    if state == "0":
        return [Lifecycle.IMPLEMENTED]
    if state == "3":
        steps = [Lifecycle.IMPLEMENTED] if previous == "-1" else []
        close_code = str(record.get("close_code") or "").strip().lower()
        if close_code.startswith("successful"):      # "successful", "successful_issues"
            return steps + [Lifecycle.CLOSED_SUCCESSFUL]
        if close_code == "unsuccessful":
            return steps + [Lifecycle.CLOSED_FAILED]
        return steps + [Lifecycle.CLOSED]
    if state == "4":
        return [Lifecycle.CANCELED]
    return []


def _request_item_state(state: str, previous: str | None, record: Mapping[str, Any]) -> list[Lifecycle]:
    # Requested item states: -5 Pending, 1 Open, 2 Work in Progress, 3 Closed Complete,
    # 4 Closed Incomplete, 7 Closed Skipped. Fulfilment is the request's resolution.
    if state == "3":
        return [Lifecycle.RESOLVED, Lifecycle.CLOSED]
    if state in ("4", "7"):
        return [Lifecycle.CANCELED]
    if state in ("-5", "1", "2") and previous in ("3", "4", "7"):
        return [Lifecycle.REOPENED]
    return []


STATE_RULES: dict[str, Callable[[str, str | None, Mapping[str, Any]], list[Lifecycle]]] = {
    "incident": _incident_state,
    "change_request": _change_state,
    "sc_req_item": _request_item_state,
}

OPERATIONS = ("insert", "update", "delete")
JOURNAL_FIELDS = ("comments", "work_notes")


def parse_servicenow_event(connection_id: str, headers: Mapping[str, str], payload: Any) -> ParseOutcome:
    """Turn one verified ServiceNow event into a TicketEvent, or say why not.

    Tables without a state table above are Unsupported (200); bodies missing a member of the
    contract, or of an event version this service does not know, are Unrecognised (400, kept
    in the quarantine so they can be replayed after an upgrade). Never raises for any JSON value.
    """
    if not isinstance(payload, dict):
        return Unrecognised("servicenow.payload_not_an_object")
    version = payload.get("event_version")
    if version != SUPPORTED_EVENT_VERSION or isinstance(version, bool):
        return Unrecognised("servicenow.event_version_unknown")
    table = payload.get("table")
    if not isinstance(table, str) or not _TABLE.fullmatch(table):
        return Unrecognised("servicenow.table_missing")
    sys_id = payload.get("sys_id")
    if not isinstance(sys_id, str) or not _SYS_ID.fullmatch(sys_id):
        return Unrecognised("servicenow.sys_id_missing")
    operation = payload.get("operation")
    if operation not in OPERATIONS:
        return Unrecognised("servicenow.operation_unknown")
    mod_count = _whole(payload.get("sys_mod_count"))
    if mod_count is None:
        return Unrecognised("servicenow.sys_mod_count_missing")
    record = payload.get("record")
    changed = payload.get("changed_fields", [])
    if not isinstance(record, dict):
        return Unrecognised("servicenow.record_missing")
    if not isinstance(changed, list) or not all(isinstance(name, str) for name in changed):
        return Unrecognised("servicenow.changed_fields_malformed")
    rules = STATE_RULES.get(table)
    if rules is None:
        return Unsupported(f"servicenow.table_unsupported.{table[:40]}")

    previous = payload.get("previous") if isinstance(payload.get("previous"), dict) else {}
    comment = payload.get("comment") if isinstance(payload.get("comment"), dict) else None
    steps = _lifecycle(operation, rules, record, previous, changed, comment)
    delivery_id = _delivery_id(headers, table, sys_id, mod_count)
    occurred = _occurred_at_ms(payload.get("sys_updated_on") or record.get("sys_updated_on"))
    return TicketEvent(
        connection_id=connection_id,
        delivery_id=delivery_id,
        ticket_key=f"{table}:{sys_id}",
        lifecycle=tuple(dict.fromkeys(steps)),
        actor=text_or_none(payload.get("sys_updated_by")),
        number=text_or_none(payload.get("number")) or text_or_none(record.get("number")),
        version=mod_count,
        occurred_at_ms=occurred,
        changed_fields=tuple(dict.fromkeys(changed)),
        comment_text=text_or_none(comment.get("text")) if comment else None,
        comment_author=text_or_none(comment.get("author")) if comment else None,
        comment_public=comment.get("public") if comment and isinstance(comment.get("public"), bool) else None,
        raw_event_name=f"{table}.{operation}",
        extra={"table": table, "operation": operation, "record": record},
    )


def servicenow_actor_ids(payload: Any, deployment: str) -> tuple[str, ...]:
    """How a verified payload names who made the change: the record's `sys_updated_by` (a
    user_name), the same value as the event's `actor`. Empty when absent. Never raises."""
    actor = text_or_none(payload.get("sys_updated_by")) if isinstance(payload, dict) else None
    return (actor,) if actor else ()


def _lifecycle(operation: str, rules, record: dict, previous: dict, changed: list[str],
               comment: dict | None) -> list[Lifecycle]:
    if operation == "delete":
        return [Lifecycle.DELETED]
    if operation == "insert":
        steps = [Lifecycle.CREATED]
        if _filled(record.get("assigned_to")) or _filled(record.get("assignment_group")):
            steps.append(Lifecycle.ASSIGNED)
        return steps

    steps: list[Lifecycle] = []
    if "state" in changed and text_or_none(record.get("state")) is not None:
        steps += rules(text_or_none(record["state"]), text_or_none(previous.get("state")), record)
    if "reopen_count" in changed and Lifecycle.REOPENED not in steps:
        steps.append(Lifecycle.REOPENED)
    steps += _assignment_steps(record, previous, changed)
    if comment is not None or any(name in changed for name in JOURNAL_FIELDS):
        steps.append(Lifecycle.COMMENTED)
    return steps or [Lifecycle.UPDATED]


def _assignment_steps(record: dict, previous: dict, changed: list[str]) -> list[Lifecycle]:
    steps = []
    for name in ("assignment_group", "assigned_to"):
        if name not in changed or not _filled(record.get(name)):
            continue  # emptied: an update, not an assignment
        if name in previous:
            steps.append(Lifecycle.REASSIGNED if _filled(previous[name]) else Lifecycle.ASSIGNED)
        elif "reassignment_count" in changed:
            # ServiceNow counts every move after the first assignment.
            steps.append(Lifecycle.REASSIGNED)
        else:
            steps.append(Lifecycle.ASSIGNED)
    if Lifecycle.REASSIGNED in steps:
        return [Lifecycle.REASSIGNED]
    return steps[:1]


def servicenow_delivery_id(table: str, sys_id: str, mod_count: int) -> str:
    """The id the Business Rule sends in `webhook-id`: one update of one record."""
    return f"{table}.{sys_id}.{mod_count}"


def _delivery_id(headers: Mapping[str, str], table: str, sys_id: str, mod_count: int) -> str:
    # An unsigned connection may receive events without the header; the body names the update.
    header = (headers.get(ID_HEADER) or "").strip()
    if header and _CLEAN_ID.fullmatch(header):
        return header
    return servicenow_delivery_id(table, sys_id, mod_count)


def _occurred_at_ms(value: Any) -> int | None:
    # sys_updated_on travels as the raw value: UTC, "YYYY-MM-DD HH:MM:SS".
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return int(moment.timestamp() * 1000)


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value < 2 ** 62 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 18:
        return int(value)
    return None


def _filled(value: Any) -> bool:
    return value not in (None, "") and not isinstance(value, (dict, list))
