"""Build the experience context of one ticket from local knowledge.

Contract: `gather_context(session, ticket, previous, now)` reads only the database and returns a
plain dict of the fields of `scoring.context.ExperienceContext`; it never raises for missing data
(unknown parts are None).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select

from domain.ticket import Stage, Ticket, TicketKind
from storage.clock import as_utc
from storage.models import SurveyPerson, TicketState

CALLER_WINDOW = timedelta(days=30)
REPEAT_WINDOW = timedelta(days=7)
CHANGE_WINDOW = timedelta(days=3)
OPEN_STAGES = [s.value for s in (Stage.NEW, Stage.IN_PROGRESS, Stage.ON_HOLD, Stage.SCHEDULED,
                                 Stage.IMPLEMENTING, Stage.REVIEW)]


def gather_context(session, ticket: Ticket, previous: dict | None, now: datetime,
                   person_key: str | None = None) -> dict:
    caller = ticket.caller.key if ticket.caller else None
    others = and_(TicketState.connection_id == ticket.connection_id, TicketState.ticket_key != ticket.ticket_key)
    recent: list[TicketState] = []
    if caller:
        recent = list(session.scalars(select(TicketState).where(
            others, TicketState.caller_key == caller, TicketState.opened_at >= now - CALLER_WINDOW)))
    # A repeat contact is the caller coming back: only a ticket opened before this one, within
    # REPEAT_WINDOW of it, counts (the newest such is named), never one the caller opened later.
    opened = as_utc(ticket.opened_at) if ticket.opened_at else now
    repeat = sorted((t for t in recent
                     if t.opened_at and opened - REPEAT_WINDOW <= as_utc(t.opened_at) < opened
                     and ((ticket.ci and t.ci == ticket.ci) or (ticket.category and t.category == ticket.category))),
                    key=lambda t: as_utc(t.opened_at), reverse=True)

    major = None
    if ticket.ci or ticket.service:
        major = session.scalars(select(TicketState).where(
            others, TicketState.major_incident.is_(True), TicketState.stage.in_(OPEN_STAGES),
            or_(and_(TicketState.ci.is_not(None), TicketState.ci == ticket.ci),
                and_(TicketState.service.is_not(None), TicketState.service == ticket.service)))).first()

    change = None
    if ticket.ci and ticket.kind is not TicketKind.CHANGE:
        for candidate in session.scalars(select(TicketState).where(
                others, TicketState.kind == TicketKind.CHANGE.value, TicketState.ci == ticket.ci)):
            if candidate.stage in (Stage.IMPLEMENTING.value, Stage.SCHEDULED.value):
                change = ("in_progress", candidate.number)
                break
            resolved = as_utc(candidate.resolved_at)
            if candidate.stage in (Stage.REVIEW.value, Stage.CLOSED.value) and resolved and now - resolved <= CHANGE_WINDOW:
                change = ("recently_implemented", candidate.number)

    person = session.get(SurveyPerson, person_key) if person_key else None
    return {
        "caller_recent_tickets": len(recent),
        "caller_recent_poor": sum(1 for t in recent if t.band == "poor"),
        "repeat_contact": bool(repeat),
        "repeat_of": repeat[0].number if repeat else None,
        "reassignments": ticket.reassignment_count,
        "reopens": ticket.reopen_count,
        "time_in_state_hours": time_in_state_hours(previous, ticket, now),
        "sla_breached": ticket.sla_breached,
        "sla_at_risk": bool(ticket.extra.get("sla_at_risk")),
        "open_major_incident": major is not None,
        "major_incident_number": major.number if major else None,
        "change_on_ci": change[0] if change else None,
        "change_number": change[1] if change else None,
        "last_survey_rating": person.last_rating if person else None,
        "last_sentiment": person.last_sentiment if person else None,
        "caller_comment_sentiment": previous.get("caller_sentiment") if previous else None,
    }


def stage_history(previous: dict | None, ticket: Ticket, now: datetime) -> list[list]:
    """The ticket's [stage, entered_at_iso] list, extended when its stage changed."""
    history = list(previous.get("stage_history", [])) if previous else []
    if not history or history[-1][0] != ticket.stage.value:
        entered = ticket.opened_at if not history and ticket.opened_at else now
        history.append([ticket.stage.value, as_utc(entered).isoformat()])
    return history[-50:]


def time_in_state_hours(previous: dict | None, ticket: Ticket, now: datetime) -> dict[str, float]:
    """Hours spent in each stage so far, from the stage history the service recorded."""
    history = stage_history(previous, ticket, now)
    totals: dict[str, float] = {}
    for (stage, entered), following in zip(history, history[1:] + [[None, now.isoformat()]]):
        start, end = datetime.fromisoformat(entered), datetime.fromisoformat(following[1])
        totals[stage] = round(totals.get(stage, 0.0) + max(0.0, (end - start).total_seconds() / 3600), 2)
    return totals
