"""Lifecycle steps come from what changed since the service last saw a ticket, whatever the order."""
from __future__ import annotations

import pytest

from domain.events import Lifecycle as L
from domain.ticket import Stage, Ticket, TicketKind
from pipeline.transitions import derive_lifecycle, stage_of_note


def ticket(stage: Stage, kind=TicketKind.INCIDENT, reassignments=0, reopens=0, assignee=None, **extra) -> Ticket:
    return Ticket(connection_id="c", ticket_key="incident:1", number="INC1", kind=kind, stage=stage,
                  reassignment_count=reassignments, reopen_count=reopens, assignee=assignee, extra=extra)


def seen(stage: Stage, reassignments=0, reopens=0, assignee=None) -> dict:
    return {"stage": stage.value, "reassignment_count": reassignments, "reopen_count": reopens, "assignee": assignee}


@pytest.mark.parametrize("previous, now, hinted, expected", [
    (None, ticket(Stage.NEW), (L.CREATED,), (L.CREATED,)),
    (None, ticket(Stage.RESOLVED), (L.RESOLVED,), (L.RESOLVED,)),
    (None, ticket(Stage.CLOSED), (), (L.CREATED, L.RESOLVED, L.CLOSED)),
    (seen(Stage.IN_PROGRESS, assignee="a"), ticket(Stage.RESOLVED, assignee="a"), (), (L.RESOLVED,)),
    (seen(Stage.RESOLVED), ticket(Stage.IN_PROGRESS, reopens=1), (L.UPDATED,), (L.REOPENED,)),
    (seen(Stage.IN_PROGRESS, assignee="a"), ticket(Stage.IN_PROGRESS, reassignments=1, assignee="b"), (),
     (L.REASSIGNED,)),
    (seen(Stage.NEW), ticket(Stage.NEW, assignee="a"), (), (L.ASSIGNED,)),
    (seen(Stage.IN_PROGRESS, assignee="a"), ticket(Stage.IN_PROGRESS, assignee="a"), (L.COMMENTED,), (L.COMMENTED,)),
    (seen(Stage.IN_PROGRESS, assignee="a"), ticket(Stage.IN_PROGRESS, assignee="a"), (), (L.UPDATED,)),
    (seen(Stage.IMPLEMENTING), ticket(Stage.REVIEW, kind=TicketKind.CHANGE), (), (L.IMPLEMENTED,)),
    (seen(Stage.REVIEW), ticket(Stage.CLOSED, kind=TicketKind.CHANGE, close_code="unsuccessful"), (),
     (L.CLOSED_FAILED,)),
    (seen(Stage.REVIEW), ticket(Stage.CLOSED, kind=TicketKind.CHANGE, close_code="successful"), (),
     (L.CLOSED_SUCCESSFUL,)),
])
def test_steps_between_what_was_seen_and_what_is(previous, now, hinted, expected):
    assert derive_lifecycle(previous, now, hinted) == expected


def test_an_old_event_processed_after_a_newer_one_finds_nothing_new():
    resolved = seen(Stage.RESOLVED, assignee="a")
    assert derive_lifecycle(resolved, ticket(Stage.RESOLVED, assignee="a"), (L.ASSIGNED,)) == (L.ASSIGNED,)
    assert stage_of_note((L.ASSIGNED,), ticket(Stage.RESOLVED)) == "assigned"
    assert derive_lifecycle(resolved, ticket(Stage.RESOLVED, assignee="a"), ()) == (L.UPDATED,)
    assert stage_of_note((L.UPDATED,), ticket(Stage.RESOLVED)) is None
