"""Lifecycle steps from stage changes: what happened between what we knew and what is now.

Webhooks arrive late, twice and out of order, and reconciliation polls carry no event at all; the
difference between the stage the service last saw and the current stage is the reliable signal.
"""
from __future__ import annotations

from domain.events import Lifecycle
from domain.ticket import Stage, Ticket, TicketKind

DONE = {Stage.RESOLVED, Stage.CLOSED, Stage.CANCELED}
OPEN = {Stage.NEW, Stage.IN_PROGRESS, Stage.ON_HOLD, Stage.SCHEDULED, Stage.IMPLEMENTING, Stage.REVIEW}


def derive_lifecycle(previous: dict | None, ticket: Ticket, hinted: tuple[Lifecycle, ...] = ()) -> tuple[Lifecycle, ...]:
    """Steps between `previous` (the tickets row snapshot, or None if never seen) and `ticket`.

    `hinted` are the steps the webhook parser read from the payload; they are kept when the
    state diff cannot see them (an assignment, a comment).
    """
    steps: list[Lifecycle] = []
    before = Stage(previous["stage"]) if previous and previous.get("stage") else None
    now = ticket.stage
    if before is None:
        # First sight. A ticket met mid-life (installed late, or a lost webhook found by a poll)
        # still had its stage reached just now as far as anyone here knows.
        if not hinted or Lifecycle.CREATED in hinted or now is Stage.NEW:
            steps.append(Lifecycle.CREATED)
        if now in DONE or (ticket.kind is TicketKind.CHANGE and now is Stage.REVIEW):
            steps.extend(_first_sight_done(now, ticket))
    elif before in DONE and now in OPEN:
        steps.append(Lifecycle.REOPENED)
    elif before != now:
        if ticket.kind is TicketKind.CHANGE:
            steps.extend(_change_steps(before, now, ticket))
        elif now is Stage.RESOLVED:
            steps.append(Lifecycle.RESOLVED)
        elif now is Stage.CLOSED:
            steps.append(Lifecycle.RESOLVED if before not in DONE else Lifecycle.CLOSED)
            if before not in DONE:
                steps.append(Lifecycle.CLOSED)
        elif now is Stage.CANCELED:
            steps.append(Lifecycle.CANCELED)
    if previous is not None:
        if ticket.reassignment_count > int(previous.get("reassignment_count") or 0):
            steps.append(Lifecycle.REASSIGNED)
        elif ticket.assignee and not previous.get("assignee"):
            steps.append(Lifecycle.ASSIGNED)
        if ticket.reopen_count > int(previous.get("reopen_count") or 0) and Lifecycle.REOPENED not in steps:
            steps.append(Lifecycle.REOPENED)
    for hint in hinted:
        if hint in (Lifecycle.COMMENTED, Lifecycle.ASSIGNED, Lifecycle.REASSIGNED, Lifecycle.DELETED) \
                and hint not in steps:
            steps.append(hint)
    return tuple(steps) or (Lifecycle.UPDATED,)


def _first_sight_done(now: Stage, ticket: Ticket) -> list[Lifecycle]:
    if ticket.kind is TicketKind.CHANGE:
        return _change_steps(Stage.IMPLEMENTING, now, ticket)
    if now is Stage.CANCELED:
        return [Lifecycle.CANCELED]
    return [Lifecycle.RESOLVED] + ([Lifecycle.CLOSED] if now is Stage.CLOSED else [])


def _change_steps(before: Stage, now: Stage, ticket: Ticket) -> list[Lifecycle]:
    """Change requests: scheduled, implemented (entering review), closed successful or failed."""
    if now is Stage.SCHEDULED:
        return [Lifecycle.SCHEDULED]
    if now is Stage.REVIEW:
        return [Lifecycle.IMPLEMENTED]
    if now is Stage.CLOSED:
        failed = str(ticket.extra.get("close_code", "")).lower() in {"unsuccessful", "failed"}
        return [Lifecycle.CLOSED_FAILED if failed else Lifecycle.CLOSED_SUCCESSFUL]
    if now is Stage.CANCELED:
        return [Lifecycle.CANCELED]
    return []


def stage_of_note(steps: tuple[Lifecycle, ...], ticket: Ticket) -> str | None:
    """The lifecycle step that earns a context note (at most one per step), or None."""
    for step in (Lifecycle.REOPENED, Lifecycle.RESOLVED, Lifecycle.REASSIGNED, Lifecycle.ASSIGNED,
                 Lifecycle.CREATED, Lifecycle.IMPLEMENTED):
        if step in steps:
            return step.value
    return None
