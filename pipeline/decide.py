"""From a ticket's current record to what should be written on it, with no side effects.

`decide(...)` is shared by event processing, rescoring after a survey answer, and `preview`, so
what `preview` prints is exactly what the worker would write.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from domain.events import Lifecycle
from domain.ticket import RawTicket, Ticket
from enrichment.context import gather_context, stage_history
from pipeline.transitions import derive_lifecycle, stage_of_note


@dataclass
class Decision:
    ticket: Ticket
    steps: tuple[Lifecycle, ...]
    context: dict
    score: object                 # scoring Score
    outputs: dict                 # service outputs before mapping (score, band, reasons, ...)
    fields: dict                  # tool field -> value, only those that differ from the ticket
    note: str | None = None
    note_stage: str | None = None
    snapshot: dict = field(default_factory=dict)

    @property
    def note_marker(self) -> str | None:
        if not self.note_stage:
            return None
        return f"xla-bridge:{self.ticket.number or self.ticket.ticket_key}:{self.note_stage}"

    def write_digest(self) -> str:
        body = json.dumps({"fields": self.fields, "note": self.note_marker}, sort_keys=True, default=str)
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    @property
    def has_writes(self) -> bool:
        return bool(self.fields) or bool(self.note)


def decide(mapping, scoring_model, raw: RawTicket, previous: dict | None, notes_written: dict,
           session, now: datetime, hinted: tuple[Lifecycle, ...] = (), survey=None,
           extra_outputs: dict | None = None, settings=None,
           caller_tone: tuple[float, int | None] | None = None) -> Decision:
    """Map, enrich, score and plan the writes for one ticket.

    `previous` is the snapshot the service stored last time (None for a first sight);
    `notes_written` maps note stages already written to their markers; `survey` is the newest
    survey result of the ticket, if any; `settings` (the service settings) lets enrichment find the
    caller's survey history; `caller_tone` is the tone of a caller's comment the event carries and
    when it was written (epoch ms), which replaces the tone held when it is not older than it.
    Raises only for programming errors.
    """
    from mappers import map_ticket, plan_field_writes
    from scoring import ExperienceContext, SurveyResult, experience_risk, render_context_note, score_ticket

    ticket = map_ticket(raw, mapping)
    steps = derive_lifecycle(previous, ticket, hinted)
    person_key = person_key_of(settings, ticket) if settings is not None else None
    tone, tone_at = latest_caller_tone(previous, caller_tone)
    context = {**gather_context(session, ticket, previous, now, person_key=person_key),
               "caller_comment_sentiment": tone}
    experience = ExperienceContext.from_mapping({**context, "as_of": now})
    score = score_ticket(ticket, experience, SurveyResult.coerce(survey), scoring_model)
    risk = experience_risk(experience, score, vip=ticket.vip, model=scoring_model)
    outputs = {
        "score": round(score.score),
        "band": score.band,
        "reasons": "; ".join(score.reasons),
        "risk": risk,
        "model_version": score.model_version,
        **(extra_outputs or {}),
    }
    fields = plan_field_writes(outputs, mapping, current_values=_current_values(raw))
    note_stage = stage_of_note(steps, ticket)
    note = None
    if note_stage and note_stage not in notes_written:
        note = render_context_note(ticket, experience, score, model=scoring_model, risk=risk)
    snapshot = {
        "stage": ticket.stage.value,
        "assignee": ticket.assignee,
        "reassignment_count": ticket.reassignment_count,
        "reopen_count": ticket.reopen_count,
        "stage_history": stage_history(previous, ticket, now),
        "caller_sentiment": tone,
        "caller_sentiment_at": tone_at,
        "version": raw.version,
    }
    return Decision(ticket=ticket, steps=steps, context=context, score=score, outputs=outputs, fields=fields,
                    note=note, note_stage=note_stage if note else None, snapshot=snapshot)


def latest_caller_tone(previous: dict | None, carried: tuple[float, int | None] | None
                       ) -> tuple[float | None, int | None]:
    """The tone of the caller's latest comment and when it was written: the one held in `previous`,
    or the one the event `carried` unless it is older. Deliveries arrive out of order, so a late
    delivery of an old comment must not replace the tone of a newer one."""
    held, held_at = (previous or {}).get("caller_sentiment"), (previous or {}).get("caller_sentiment_at")
    if carried is None:
        return held, held_at
    tone, written_at = carried
    if written_at is not None and held is not None and held_at is not None and written_at < held_at:
        return held, held_at
    return tone, written_at


def person_key_of(settings, ticket: Ticket) -> str | None:
    """The survey identity of the ticket's caller (shared with surveys/, across connections)."""
    from surveys.identity import person_key_for

    return person_key_for(settings, ticket.caller, ticket.connection_id)


def _current_values(raw: RawTicket) -> dict:
    """The values the ticket holds now, by tool field id (ServiceNow raw values, Jira REST values)."""
    return dict(raw.fields)
