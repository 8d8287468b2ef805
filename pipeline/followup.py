"""The `create_followup_task` job: open the task that makes somebody call a detractor back.

`rescore` queues it (when the connection's `surveys.followup_task` is on) in the transaction that
records the answer's decision. The connector creates the task at once on the job's first attempt
and, on a retry, looks for the task carrying the job's marker first (decision 0004), so a job that
runs twice still leaves exactly one task.
"""
from __future__ import annotations

import logging

from jobs.registry import JobOutcome

log = logging.getLogger("xla.followup")


def create_followup_task_job(runtime, job) -> JobOutcome:
    payload = job.payload
    connector = runtime.connector(job.connection_id)
    first_attempt = job.attempt == 1
    task = connector.create_followup_task(job.ticket_key, payload["summary"], payload["description"],
                                          payload["marker"], payload.get("group") or None,
                                          number=payload.get("number") or None, first_attempt=first_attempt)
    outcome = "already_there" if getattr(task, "existed", False) else "created"
    log.info("followup.task", extra={"connection": job.connection_id, "ticket": job.ticket_key,
                                     "task": task, "outcome": outcome})
    return JobOutcome(outcome)


def followup_task_job(connection_id: str, ticket_key: str, number: str | None, survey_id, result, decision,
                      marker: str, group: str):
    """The NewJob that opens the follow-up task of one detractor's answer."""
    from jobs.queue import NewJob

    shown = number or ticket_key
    lines = [f"The caller rated {shown} {result.rating}/10 in the follow-up survey: please call them back "
             "and close the loop.",
             f"Experience score now {round(decision.score.score)} ({decision.score.band})."]
    if result.reasons:
        lines.append("Reasons given: " + ", ".join(result.reasons) + ".")
    if result.comment_excerpt:
        lines.append(f"Their words: “{result.comment_excerpt[:300]}”")
    lines.append(f"[{marker}]")
    return NewJob(kind="create_followup_task", dedupe_key=f"followup:{connection_id}:{ticket_key}:{survey_id}",
                  payload={"summary": f"Follow up with the caller of {shown} (rated {result.rating}/10)",
                           "description": "\n".join(lines), "marker": marker, "group": group or None,
                           "number": number},
                  connection_id=connection_id, ticket_key=ticket_key)
