"""Read and record what the service knows of a ticket (the `tickets` row)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from storage.clock import as_utc
from storage.models import TicketScore, TicketState


@dataclass(frozen=True)
class KnownTicket:
    snapshot: dict | None
    notes_written: dict = field(default_factory=dict)
    written: dict = field(default_factory=dict)
    writes_hour_start: datetime | None = None
    writes_in_hour: int = 0


def load_known(session: Session, connection_id: str, ticket_key: str) -> KnownTicket:
    row = session.get(TicketState, (connection_id, ticket_key))
    if row is None:
        return KnownTicket(snapshot=None)
    return KnownTicket(snapshot=dict(row.snapshot or {}) or None, notes_written=dict(row.notes_written or {}),
                       written=dict(row.written or {}), writes_hour_start=as_utc(row.writes_hour_start),
                       writes_in_hour=row.writes_in_hour or 0)


def record_decision(session: Session, decision, now: datetime) -> TicketState:
    """Upsert the tickets row from a decision and append the score to the history."""
    ticket = decision.ticket
    row = session.get(TicketState, (ticket.connection_id, ticket.ticket_key))
    if row is None:
        row = TicketState(connection_id=ticket.connection_id, ticket_key=ticket.ticket_key, snapshot={},
                          written={}, notes_written={}, writes_in_hour=0)
        session.add(row)
    row.number = ticket.number
    row.kind = ticket.kind.value
    row.stage = ticket.stage.value
    row.caller_key = ticket.caller.key if ticket.caller else None
    row.service = ticket.service
    row.assignment_group = ticket.assignment_group
    row.channel = ticket.channel
    row.ci = ticket.ci
    row.category = ticket.category
    row.priority = ticket.priority
    row.major_incident = bool(ticket.extra.get("major_incident"))
    row.opened_at = ticket.opened_at
    row.resolved_at = ticket.resolved_at or ticket.closed_at
    row.last_version = ticket.version
    row.snapshot = {**decision.snapshot}
    row.score = float(decision.score.score)
    row.band = decision.score.band
    row.model_version = decision.score.model_version
    row.updated_at = now
    session.add(TicketScore(connection_id=ticket.connection_id, ticket_key=ticket.ticket_key,
                            stage=ticket.stage.value, score=float(decision.score.score), band=decision.score.band,
                            confidence=float(decision.score.confidence), reasons=list(decision.score.reasons),
                            model_version=decision.score.model_version,
                            from_survey=bool(decision.score.from_survey), created_at=now))
    return row
