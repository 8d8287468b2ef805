"""The `rescore` job: a survey was answered; blend it into the score and close the loop.

The answer, its sentiment and the blended score go into the mapped fields; a detractor (0-6)
also gets an internal note and the follow-up flag, so somebody calls the person back, and, with
the connection's `surveys.followup_task` on, a `create_followup_task` job (pipeline/followup.py).
The note carries a marker per survey, so it is written once whatever happens to the job.
"""
from __future__ import annotations

from jobs.queue import NewJob, enqueue
from jobs.registry import JobOutcome
from pipeline.decide import decide
from pipeline.followup import followup_task_job
from pipeline.state import load_known, record_decision
from storage.clock import utcnow
from storage.db import reading

DETRACTOR_MAX = 6


def rescore_job(runtime, job) -> JobOutcome:
    from surveys.config import connection_surveys
    from surveys.store import latest_result

    connection = runtime.settings.connection(job.connection_id)
    if connection is None:
        return JobOutcome("ignored_unknown_connection")
    raw = runtime.connector(connection.id).get_ticket(job.ticket_key,
                                                      runtime.fields_to_read(connection.id, job.ticket_key))
    now = utcnow()
    with reading(runtime.sessions) as session:
        known = load_known(session, connection.id, job.ticket_key)
        result = latest_result(session, connection.id, job.ticket_key)
        if result is None:
            return JobOutcome("no_answer")
        decision = decide(runtime.mapping(connection.id), runtime.scoring_model(), raw, known.snapshot,
                          known.notes_written, session, now, survey=result, extra_outputs=survey_outputs(result),
                          settings=runtime.settings)
    detractor = result.rating <= DETRACTOR_MAX
    marker = f"xla-bridge:{decision.ticket.number or job.ticket_key}:survey:{job.payload['survey_id']}"
    note = detractor_note(result, decision) if detractor else None
    surveys = connection_surveys(connection)
    followup = None
    if detractor and surveys.followup_task:
        number = decision.ticket.number or None
        followup = followup_task_job(
            connection.id, job.ticket_key, number, job.payload["survey_id"], result, decision,
            marker=f"xla-bridge:{number or job.ticket_key}:followup:{job.payload['survey_id']}",
            group=surveys.followup_task_group)

    def apply(session):
        record_decision(session, decision, now)
        if decision.fields or note:
            enqueue(session, NewJob(
                kind="write_back",
                dedupe_key=f"write:{connection.id}:{job.ticket_key}:survey:{job.payload['survey_id']}",
                payload={"fields": decision.fields, "internal_note": note, "marker": marker if note else None,
                         "note_stage": f"survey:{job.payload['survey_id']}" if note else None,
                         "number": decision.ticket.number, "event_created_at": job.created_at.isoformat()},
                connection_id=connection.id, ticket_key=job.ticket_key),
                default_max_attempts=runtime.settings.worker.max_attempts)
        if followup is not None:
            enqueue(session, followup, default_max_attempts=runtime.settings.worker.max_attempts)

    return JobOutcome("rescored_detractor" if detractor else "rescored", apply)


def survey_outputs(result) -> dict:
    return {
        "survey_rating": result.rating,
        "survey_sentiment": None if result.sentiment_score is None else round(result.sentiment_score, 2),
        "survey_comment": result.comment_excerpt,
        "lost_hours": None if result.lost_hours is None else round(result.lost_hours, 2),
        "followup": result.rating <= DETRACTOR_MAX,
    }


def detractor_note(result, decision) -> str:
    lines = [f"XLA Bridge: the caller rated this ticket {result.rating}/10 — please follow up with them.",
             f"Experience score now {round(decision.score.score)} ({decision.score.band})."]
    if result.reasons:
        lines.append("Reasons given: " + ", ".join(result.reasons) + ".")
    if result.comment_excerpt:
        lines.append(f"Their words: “{result.comment_excerpt[:300]}”")
    if result.lost_hours:
        lines.append(f"Work time lost: {result.lost_hours:g} h.")
    return "\n".join(lines)
