"""Which function runs which kind of job.

A handler is `handler(runtime, job: ClaimedJob) -> JobOutcome`. It does its network work first,
then returns the database effects as `apply(session)`, which the worker runs in the transaction
that marks the job done (fenced by the attempt number). Handlers raise connector errors as they
are; the worker turns them into retries, waits or dead jobs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class JobOutcome:
    outcome: str                                   # "written", "unchanged", "ignored", "sent", ...
    apply: Callable[[Session], None] | None = None


class UnknownJobKind(Exception):
    pass


def handler_for(kind: str):
    """The handler of `kind`; raises UnknownJobKind (the job goes dead, visibly) for anything else."""
    from pipeline.followup import create_followup_task_job
    from pipeline.process import process_event_job
    from pipeline.rescore import rescore_job
    from pipeline.write_back import write_back_job
    from surveys.jobs import SURVEY_HANDLERS

    handlers = {
        "process_event": process_event_job,
        "write_back": write_back_job,
        "rescore": rescore_job,
        "create_followup_task": create_followup_task_job,
        **SURVEY_HANDLERS,
    }
    try:
        return handlers[kind]
    except KeyError:
        raise UnknownJobKind(f"no handler for job kind {kind!r}") from None
