"""The `process_event` job: one stored webhook event, turned into writes on its ticket.

Order of work: loop guard on the event; one read of the ticket's current record; decide (map,
enrich, score, plan writes); then, in the transaction that completes the job, record the ticket
state, queue the write-back (keyed by ticket, version and content), and plan surveys.
"""
from __future__ import annotations

import logging
from dataclasses import replace

from sqlalchemy import bindparam, select

from connectors.errors import NotFound
from domain.events import Lifecycle, TicketEvent
from jobs.queue import NewJob, enqueue
from jobs.registry import JobOutcome
from mappers import map_ticket
from pipeline.decide import decide
from pipeline.loop_guard import count_drop, is_own_event, touches_only_owned_fields, within_write_budget
from pipeline.state import load_known, record_decision
from storage.clock import utcnow
from storage.db import reading
from storage.models import Job, TicketState

log = logging.getLogger("xla.pipeline")


def process_event_job(runtime, job) -> JobOutcome:
    event = TicketEvent.from_json(job.payload["event"])
    connection = runtime.settings.connection(event.connection_id)
    if connection is None:
        log.warning("pipeline.unknown_connection", extra={"connection": event.connection_id})
        return JobOutcome("ignored_unknown_connection")
    connector = runtime.connector(connection.id)
    context = {"connection": connection.id, "ticket": event.ticket_key, "delivery": event.delivery_id}

    if is_own_event(event, runtime.identity(connection.id), connection.auth.user):
        count_drop(connection.id, "own_actor", **context)
        return JobOutcome("ignored_own_actor")
    if touches_only_owned_fields(event, runtime.owned_fields(connection.id)):
        count_drop(connection.id, "owned_fields_only", **context)
        return JobOutcome("ignored_owned_fields")
    if Lifecycle.DELETED in event.lifecycle:
        return JobOutcome("ticket_deleted", lambda session: _forget(session, connection.id, event.ticket_key))

    try:
        raw = connector.get_ticket(event.ticket_key, runtime.fields_to_read(connection.id, event.ticket_key))
    except NotFound:
        log.info("pipeline.ticket_gone", extra=context)
        return JobOutcome("ticket_gone")

    now = utcnow()
    mapping = runtime.mapping(connection.id)
    # The comment this event carries counts in its own decision (not only in the next one).
    sentiment = caller_comment_sentiment(event, map_ticket(raw, mapping))
    tone = (sentiment, event.occurred_at_ms) if sentiment is not None else None
    with reading(runtime.sessions) as session:
        known = load_known(session, connection.id, event.ticket_key)
        decision = decide(mapping, runtime.scoring_model(), raw, known.snapshot, known.notes_written, session, now,
                          hinted=event.lifecycle, settings=runtime.settings, caller_tone=tone)

    def apply(session):
        row = record_decision(session, decision, now)
        row.caller_sentiment = decision.snapshot.get("caller_sentiment")
        # An earlier write of this ticket that has not run yet was planned on the same kind of
        # read and runs first: values it will set need no second write.
        planned = replace(decision, fields=fields_not_pending(session, connection.id, event.ticket_key,
                                                              decision.fields))
        if planned.has_writes:
            allowed, row.writes_hour_start, row.writes_in_hour = within_write_budget(
                known.writes_hour_start, known.writes_in_hour, now, runtime.settings.worker.writes_per_ticket_per_hour)
            if allowed:
                enqueue(session, write_back_job_for(planned, job, raw.version),
                        default_max_attempts=runtime.settings.worker.max_attempts)
                if decision.note_stage:
                    # Claimed now, so a second event of the same step (before the write lands)
                    # does not plan the note again; the write job holds it until it is written.
                    row.notes_written = {**(row.notes_written or {}), decision.note_stage: decision.note_marker}
            else:
                count_drop(connection.id, "write_cap", **context)
        for survey_job in plan_surveys(runtime, session, connection, decision, event, now):
            enqueue(session, survey_job, default_max_attempts=runtime.settings.worker.max_attempts)

    return JobOutcome("decided" if decision.has_writes else "unchanged", apply)


# Built once: it runs for every decision, and building it cost more than running it.
_PENDING_WRITES = (select(Job.__table__.c.payload)
                   .where(Job.__table__.c.connection_id == bindparam("connection"),
                          Job.__table__.c.ticket_key == bindparam("ticket"), Job.__table__.c.kind == "write_back",
                          Job.__table__.c.state.in_(("queued", "leased")))
                   .order_by(Job.__table__.c.id))


def fields_not_pending(session, connection_id: str, ticket_key: str, fields: dict) -> dict:
    """`fields` minus the values an unfinished `write_back` job of the ticket is already to write.

    Jobs of one ticket run in order, so a queued write runs before any write planned now. A field
    it sets to the same value would be written twice, the second time changing nothing.
    """
    pending: dict = {}
    for payload in session.scalars(_PENDING_WRITES, {"connection": connection_id, "ticket": ticket_key}):
        pending.update(payload.get("fields") or {})
    return {name: value for name, value in fields.items() if name not in pending or pending[name] != value}


def write_back_job_for(decision, job, version) -> NewJob:
    ticket = decision.ticket
    return NewJob(
        kind="write_back",
        dedupe_key=f"write:{ticket.connection_id}:{ticket.ticket_key}:{version}:{decision.write_digest()}",
        payload={"fields": decision.fields, "internal_note": decision.note, "marker": decision.note_marker,
                 "note_stage": decision.note_stage, "number": ticket.number,
                 "event_created_at": job.created_at.isoformat()},
        connection_id=ticket.connection_id, ticket_key=ticket.ticket_key)


def caller_comment_sentiment(event: TicketEvent, ticket) -> float | None:
    """Sentiment of a public comment the caller wrote, or None when the event is not one."""
    if Lifecycle.COMMENTED not in event.lifecycle or not event.comment_text or event.comment_public is False:
        return None
    caller = ticket.caller
    if caller is None or not event.comment_author:
        return None
    author = event.comment_author.lower()
    if author not in {str(v).lower() for v in (caller.key, caller.email, caller.name, *caller.aliases) if v}:
        return None
    from surveys.sentiment import analyse_caller_comment

    sentiment = analyse_caller_comment(event.comment_text, ticket.language)
    return None if sentiment is None else sentiment.score


def plan_surveys(runtime, session, connection, decision, event, now) -> list[NewJob]:
    from surveys.triggers import plan_surveys as plan

    return plan(session, runtime.settings, connection, decision.ticket,
                TicketEvent(**{**event.__dict__, "lifecycle": decision.steps}), now=now)


def _forget(session, connection_id: str, ticket_key: str) -> None:
    row = session.get(TicketState, (connection_id, ticket_key))
    if row is not None:
        row.stage = "deleted"
