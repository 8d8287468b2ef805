"""What is particular to Jira issues: kind from the issue type, stage from the status, history from the changelog.

Jira keeps no reassignment or reopen counters, so they are counted from the changelog
(REST v2 `expand=changelog`, handed over in `RawTicket.changelog`):
- a reassignment is a history entry that moves the group field from one group to another, or
  the assignee from one agent to another (a first assignment is not a reassignment);
- a reopen is a history entry that moves the status out of a resolved / closed / canceled
  status, or clears the resolution (what a reopen transition does in the standard workflows).
One history entry counts at most once for each, however many items it holds.
"""
from __future__ import annotations

from datetime import datetime

from domain.ticket import RawTicket, Stage, TicketKind
from mappers import values
from mappers.model import ConnectionMapping
from mappers.reader import LifecycleFacts, RecordReader

DONE_STAGES = frozenset({Stage.RESOLVED, Stage.CLOSED, Stage.CANCELED})


def read_lifecycle(raw: RawTicket, mapping: ConnectionMapping, reader: RecordReader) -> LifecycleFacts:
    """Kind, stage and changelog facts of one issue; unknown issue types and statuses are noted."""
    kind = TicketKind.OTHER
    type_field, issue_type = reader.lookup("kind")
    type_name = values.label(issue_type)
    if type_name is not None:
        kind = mapping.issue_types.get(type_name.strip().casefold(), TicketKind.OTHER)
        if type_name.strip().casefold() not in mapping.issue_types:
            reader.note("kind", type_field, type_name, "is an issue type with no entry in issue_types")

    stage = None
    status_field, status = reader.lookup("stage")
    status_name = values.label(status)
    category = None
    if status_field is not None:
        if status_name:
            stage = mapping.statuses.get(status_name.strip().casefold())
        if stage is None and isinstance(status, dict) and isinstance(status.get("statusCategory"), dict):
            category = status["statusCategory"].get("key")
            stage = mapping.status_categories.get(str(category).casefold()) if category else None
        if stage is None:
            reader.note("stage", status_field, status_name,
                        f"is a status (category {category!r}) with no entry in statuses or status_categories")

    history = _history(raw.changelog)
    reassignments = _count_reassignments(history, mapping)
    reopens = _count_reopens(history, mapping)
    closed_at = _last_move_into(history, mapping, Stage.CLOSED) if stage == Stage.CLOSED else None
    resolved_at = None
    if stage in DONE_STAGES:
        resolved_at = _last_move_into(history, mapping, Stage.RESOLVED) or closed_at
    return LifecycleFacts(kind=kind, stage=stage,
                          reassignments=reassignments if raw.changelog else None,
                          reopens=reopens if raw.changelog else None,
                          closed_at=closed_at, resolved_at=resolved_at,
                          details={"issue_type": type_name, "status": status_name, "status_category": category})


def _history(changelog: list) -> list[tuple[datetime | None, list[dict]]]:
    """History entries as (time, items), oldest first; entries without a readable time keep their place."""
    entries = []
    for position, entry in enumerate(changelog or []):
        if not isinstance(entry, dict):
            continue
        try:
            at = values.as_datetime(entry.get("at") or entry.get("created"))
        except values.UnreadableValue:
            at = None
        items = [item for item in entry.get("items") or [] if isinstance(item, dict)]
        entries.append((at, position, items))
    entries.sort(key=lambda e: (e[0] is None, e[0].timestamp() if e[0] else 0, e[1]))
    return [(at, items) for at, _, items in entries]


def _named(item: dict, spellings: frozenset[str]) -> bool:
    return any(str(item.get(key) or "").casefold() in spellings for key in ("fieldId", "field"))


def _moved_between_two(item: dict) -> bool:
    before = item.get("from") or item.get("fromString")
    after = item.get("to") or item.get("toString")
    return bool(before) and bool(after) and before != after


def _count_reassignments(history, mapping: ConnectionMapping) -> int:
    group_names = mapping.names_of(mapping.inbound.get("group", ()))
    assignee_names = mapping.names_of(mapping.inbound.get("assignee", ())) or frozenset({"assignee"})
    count = 0
    for _, items in history:
        if any(_moved_between_two(item) and (_named(item, group_names) or _named(item, assignee_names))
               for item in items):
            count += 1
    return count


def _stage_of_status_name(name, mapping: ConnectionMapping) -> Stage | None:
    return mapping.statuses.get(str(name).strip().casefold()) if name else None


def _count_reopens(history, mapping: ConnectionMapping) -> int:
    count = 0
    for _, items in history:
        reopened = False
        for item in items:
            field_name = str(item.get("fieldId") or item.get("field") or "").casefold()
            if field_name == "status":
                before = _stage_of_status_name(item.get("fromString"), mapping)
                after = _stage_of_status_name(item.get("toString"), mapping)
                reopened |= before in DONE_STAGES and after is not None and after not in DONE_STAGES
            elif field_name == "resolution":
                reopened |= bool(item.get("from") or item.get("fromString")) and not (
                    item.get("to") or item.get("toString"))
        count += reopened
    return count


def _last_move_into(history, mapping: ConnectionMapping, stage: Stage) -> datetime | None:
    moment = None
    for at, items in history:
        for item in items:
            if str(item.get("fieldId") or item.get("field") or "").casefold() == "status" and \
                    _stage_of_status_name(item.get("toString"), mapping) == stage and at is not None:
                moment = at
    return moment
