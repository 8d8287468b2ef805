"""Enqueue, claim, complete and fail jobs, on SQLite or PostgreSQL.

Ordering: jobs of one ticket run one at a time, oldest first. A job is claimable only when no
older unfinished job (queued or leased) of the same (connection, ticket) exists, so a ticket's
events are processed in the order they were stored, even with many workers.

Atomicity: a handler's database effects (outbox rows, ticket state) are applied in the same
transaction that marks its job done, and only if the job's attempt number still matches: a worker
whose lease expired and was taken over cannot commit anything.
"""
from __future__ import annotations

import random
import socket
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterable

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from storage.clock import as_utc, utcnow
from storage.db import transaction
from storage.models import Job


class LeaseLost(Exception):
    """The job's lease expired and another worker took it: this worker's results are discarded."""


@dataclass(frozen=True)
class NewJob:
    kind: str
    dedupe_key: str
    payload: dict
    connection_id: str | None = None
    ticket_key: str | None = None
    run_at: datetime | None = None
    max_attempts: int | None = None
    priority: int | None = None  # default: 1 for new events, 0 for everything a person waits for


EVENT_KINDS = frozenset({"process_event"})


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    payload: dict
    connection_id: str | None
    ticket_key: str | None
    attempt: int
    max_attempts: int
    created_at: datetime


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def job_row(job: NewJob, now: datetime, *, default_max_attempts: int = 8) -> dict:
    """The `jobs` row for `job` as first queued (single inserts and batched ones share it)."""
    return dict(kind=job.kind, dedupe_key=job.dedupe_key, payload=job.payload,
                connection_id=job.connection_id, ticket_key=job.ticket_key, state="queued",
                attempts=0, max_attempts=job.max_attempts or default_max_attempts,
                next_run_at=job.run_at or now, created_at=now,
                priority=job.priority if job.priority is not None else int(job.kind in EVENT_KINDS))


def enqueue(session: Session, job: NewJob, *, default_max_attempts: int = 8) -> bool:
    """Add `job` unless a job with its dedupe key exists. Returns True when a row was inserted.

    Runs inside the caller's transaction, so a job is created exactly when the decision to make
    it commits.
    """
    values = job_row(job, utcnow(), default_max_attempts=default_max_attempts)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = (insert(Job).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
                 .returning(Job.id))
    return session.execute(statement).scalar_one_or_none() is not None


def claim_next_job(sessions: sessionmaker[Session], worker_id: str, lease_s: float,
                   kinds: Iterable[str] | None = None) -> ClaimedJob | None:
    """Lease the most urgent runnable job whose ticket has no older unfinished job; None when idle.

    Urgency: priority (writes and surveys before new events), then due time, then age.
    """
    now = utcnow()
    older = aliased(Job)
    blocked = exists().where(and_(
        older.connection_id == Job.connection_id,
        older.ticket_key == Job.ticket_key,
        older.state.in_(("queued", "leased")),
        older.id < Job.id,
    ))
    query = (select(Job).where(Job.state == "queued", Job.next_run_at <= now,
                               (Job.ticket_key.is_(None)) | ~blocked)
             .order_by(Job.priority, Job.next_run_at, Job.id).limit(1))
    if kinds:
        query = query.where(Job.kind.in_(tuple(kinds)))
    with transaction(sessions) as session:
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=Job)
        job = session.execute(query).scalar_one_or_none()
        if job is None:
            return None
        job.state = "leased"
        job.attempts += 1
        job.lease_until = now + timedelta(seconds=lease_s)
        job.leased_by = worker_id
        return ClaimedJob(id=job.id, kind=job.kind, payload=dict(job.payload), connection_id=job.connection_id,
                          ticket_key=job.ticket_key, attempt=job.attempts, max_attempts=job.max_attempts,
                          created_at=as_utc(job.created_at))


def complete_job(sessions: sessionmaker[Session], job: ClaimedJob, outcome: str,
                 apply: Callable[[Session], None] | None = None) -> None:
    """Mark `job` done with `outcome`, applying `apply(session)` in the same transaction.

    Raises LeaseLost (and commits nothing) when the job was taken over by another worker.
    """
    with transaction(sessions) as session:
        _fence(session, job, state="done", outcome=outcome, finished_at=utcnow(), lease_until=None,
               last_error=None)
        if apply is not None:
            apply(session)


def fail_job(sessions: sessionmaker[Session], job: ClaimedJob, error: str, *, retryable: bool,
             retry_after_s: float | None = None, backoff_base_s: float = 2.0, backoff_cap_s: float = 600.0,
             count_attempt: bool = True) -> str:
    """Reschedule `job` with backoff, or make it dead. Returns the new state ("queued" or "dead").

    `retry_after_s` (from a 429 or an open breaker) is a floor on the delay. `count_attempt=False`
    gives the attempt back (an open circuit breaker is waiting, not failing) by granting one more:
    attempt numbers are never reused, since they fence leases and tell a write's first attempt.
    """
    attempts_left = job.attempt < job.max_attempts or not count_attempt
    if retryable and attempts_left:
        delay = backoff_delay(job.attempt, backoff_base_s, backoff_cap_s)
        if retry_after_s is not None:
            delay = max(delay, retry_after_s)
        values = dict(state="queued", next_run_at=utcnow() + timedelta(seconds=delay), lease_until=None,
                      leased_by=None, last_error=error[:2000])
        if not count_attempt:
            values["max_attempts"] = Job.max_attempts + 1
        new_state = "queued"
    else:
        values = dict(state="dead", lease_until=None, finished_at=utcnow(), last_error=error[:2000],
                      outcome="dead")
        new_state = "dead"
    with transaction(sessions) as session:
        _fence(session, job, **values)
    return new_state


def backoff_delay(attempt: int, base_s: float, cap_s: float) -> float:
    """Capped exponential backoff with full jitter: uniform(0, min(cap, base * 2**(attempt-1)))."""
    ceiling = min(cap_s, base_s * (2 ** max(0, attempt - 1)))
    return random.uniform(0, ceiling)


def reap_expired_leases(sessions: sessionmaker[Session]) -> tuple[int, int]:
    """Return expired leases to the queue (or to dead when out of attempts). Returns (requeued, dead)."""
    now = utcnow()
    with transaction(sessions) as session:
        dead = session.execute(
            update(Job).where(Job.state == "leased", Job.lease_until < now, Job.attempts >= Job.max_attempts)
            .values(state="dead", outcome="dead", finished_at=now, lease_until=None,
                    last_error="lease expired on the last attempt")).rowcount
        requeued = session.execute(
            update(Job).where(Job.state == "leased", Job.lease_until < now)
            .values(state="queued", next_run_at=now, lease_until=None, leased_by=None,
                    last_error="lease expired; returned to the queue")).rowcount
    return requeued, dead


def extend_lease(sessions: sessionmaker[Session], job: ClaimedJob, lease_s: float) -> None:
    """Keep a long job's lease alive; raises LeaseLost if it was already taken over."""
    with transaction(sessions) as session:
        _fence(session, job, lease_until=utcnow() + timedelta(seconds=lease_s))


def requeue_dead(sessions: sessionmaker[Session], job_ids: Iterable[int] = ()) -> int:
    """Give dead jobs (all, or those named) a fresh set of attempts. Returns how many."""
    ids = list(job_ids)
    with transaction(sessions) as session:
        statement = update(Job).where(Job.state == "dead")
        if ids:
            statement = statement.where(Job.id.in_(ids))
        return session.execute(statement.values(state="queued", attempts=0, next_run_at=utcnow(),
                                                finished_at=None, outcome=None)).rowcount


def _fence(session: Session, job: ClaimedJob, **values) -> None:
    changed = session.execute(
        update(Job).where(Job.id == job.id, Job.attempts == job.attempt, Job.state == "leased")
        .values(**values)).rowcount
    if changed != 1:
        raise LeaseLost(f"job {job.id} attempt {job.attempt} no longer holds its lease")
