"""Canonical tickets as the mappers produce them, for scoring tests."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from domain.ticket import Person, Stage, Ticket, TicketKind

OPENED = datetime(2026, 11, 16, 8, 30, tzinfo=timezone.utc)


def incident(hours_to_resolve: float | None = 20.0, **changes) -> Ticket:
    """A priority 3 incident (target 72 h by default) resolved after `hours_to_resolve` hours."""
    ticket = Ticket(
        connection_id="snow", ticket_key="incident:9d385017c611228701d22104cc95c371", number="INC0010001",
        kind=TicketKind.INCIDENT, stage=Stage.RESOLVED if hours_to_resolve is not None else Stage.IN_PROGRESS,
        priority=3, caller=Person(key="5137153cc611227c000bbd1bd8cd2005", name="Fred Luddy"),
        assignee="46d44a23a9fe19810012d100cca80666", assignment_group="Service Desk", service="Email",
        ci="EXCH-SD-05", category="network", channel="portal", opened_at=OPENED,
        resolved_at=OPENED + timedelta(hours=hours_to_resolve) if hours_to_resolve is not None else None,
        reassignment_count=0, reopen_count=0, sla_breached=False)
    return replace(ticket, **changes)
