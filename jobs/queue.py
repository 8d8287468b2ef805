"""Enqueue, claim, complete and fail jobs, on SQLite or PostgreSQL.

Ordering: jobs of one ticket run one at a time, oldest first. A job is claimable only when no
older unfinished job (queued or leased) of the same (connection, ticket) exists, so a ticket's
events are processed in the order they were stored, even with many workers.

Atomicity: a handler's database effects (outbox rows, ticket state) are applied in the same
transaction that marks its job done, and only if the job's attempt number still matches: a worker
whose lease expired and was taken over cannot commit anything.
"""
from __future__ import annotations

import functools
import os
import random
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable

from sqlalchemy import and_, bindparam, exists, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.clock import as_utc, utcnow
from storage.db import reading, transaction
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
    # time.monotonic() taken before the lease's end was computed: the lease lasts at least until
    # claimed_at + lease_s by this process's clock.
    claimed_at: float = 0.0


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
    statement = _insert_job_statement(session.get_bind().dialect.name)
    return session.execute(statement, values).scalar_one_or_none() is not None


@functools.cache
def _insert_job_statement(dialect: str):
    """INSERT ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, built once per dialect."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    jobs = Job.__table__
    return insert(jobs).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(jobs.c.id)


def claim_next_job(sessions: sessionmaker[Session], worker_id: str, lease_s: float,
                   kinds: Iterable[str] | None = None, *, peek: bool = True) -> ClaimedJob | None:
    """Lease the most urgent runnable job whose ticket has no older unfinished job; None when idle.

    Urgency: priority (writes and surveys before new events), then due time, then age.

    The claim is one statement (an UPDATE of the row its subquery picks, returning the row), in a
    write transaction. With `peek` (what an idle loop passes), a read-only look comes first and
    the write transaction is opened only when there is something to claim: on SQLite an idle
    worker then never takes the write lock away from the webhook inbox.
    """
    kinds = tuple(kinds) if kinds else ()
    dialect = sessions.kw["bind"].dialect.name
    statements = _claim_statements(dialect, kinds)
    claimed_at = time.monotonic()
    now = utcnow()
    if peek:
        with reading(sessions) as session:
            if session.execute(statements.peek, {"now": now}).first() is None:
                return None
    with transaction(sessions) as session:
        row = session.execute(statements.claim, {"now": now, "lease_until": now + timedelta(seconds=lease_s),
                                                 "worker": worker_id}).first()
        return None if row is None else _claimed(row, claimed_at)


def _claimed(row, claimed_at: float) -> ClaimedJob:
    return ClaimedJob(id=row.id, kind=row.kind, payload=dict(row.payload), connection_id=row.connection_id,
                      ticket_key=row.ticket_key, attempt=row.attempts, max_attempts=row.max_attempts,
                      created_at=as_utc(row.created_at), claimed_at=claimed_at)


@dataclass(frozen=True)
class _ClaimStatements:
    peek: Any    # the id of a claimable job, if any (read only)
    claim: Any   # leases that job and returns its row


def _lease_where(*conditions):
    """UPDATE leasing the queued job `conditions` pick (for :worker until :lease_until, its
    attempt number raised), returning what a ClaimedJob holds."""
    jobs = Job.__table__
    return (update(jobs)
            .where(*conditions, jobs.c.state == "queued")
            .values(state="leased", attempts=jobs.c.attempts + 1, lease_until=bindparam("lease_until"),
                    leased_by=bindparam("worker"))
            .returning(jobs.c.id, jobs.c.kind, jobs.c.payload, jobs.c.connection_id, jobs.c.ticket_key,
                       jobs.c.attempts, jobs.c.max_attempts, jobs.c.created_at))


@functools.cache
def _claim_statements(dialect: str, kinds: tuple[str, ...]) -> _ClaimStatements:
    """Built once per dialect and kind filter: under load, building them cost more than running them."""
    jobs = Job.__table__
    older = jobs.alias("older")
    blocked = exists().where(and_(
        older.c.connection_id == jobs.c.connection_id,
        older.c.ticket_key == jobs.c.ticket_key,
        older.c.state.in_(("queued", "leased")),
        older.c.id < jobs.c.id,
    ))
    pick = (select(jobs.c.id)
            .where(jobs.c.state == "queued", jobs.c.next_run_at <= bindparam("now"),
                   jobs.c.ticket_key.is_(None) | ~blocked)
            .order_by(jobs.c.priority, jobs.c.next_run_at, jobs.c.id).limit(1))
    if kinds:
        pick = pick.where(jobs.c.kind.in_(kinds))
    peek = pick
    if dialect == "postgresql":
        # Replicas skip rows another claim holds instead of queueing behind it.
        pick = pick.with_for_update(skip_locked=True)
    return _ClaimStatements(peek=peek, claim=_lease_where(jobs.c.id == pick.scalar_subquery()))


@functools.cache
def _follow_up_statement(dialect: str):
    """Lease the oldest unfinished job of one ticket, when it is queued, urgent and due."""
    jobs = Job.__table__
    older = jobs.alias("older")
    ticket_next = (select(func.min(older.c.id))
                   .where(older.c.connection_id == bindparam("connection"), older.c.ticket_key == bindparam("ticket"),
                          older.c.state.in_(("queued", "leased")))
                   .scalar_subquery())
    return _lease_where(jobs.c.id == ticket_next, jobs.c.priority == 0, jobs.c.next_run_at <= bindparam("now"))


def complete_job(sessions: sessionmaker[Session], job: ClaimedJob, outcome: str,
                 apply: Callable[[Session], None] | None = None, *,
                 follow_up: tuple[str, float] | None = None) -> ClaimedJob | None:
    """Mark `job` done with `outcome`, applying `apply(session)` in the same transaction.

    With `follow_up=(worker_id, lease_s)`, the same transaction also leases the ticket's next job
    when it is urgent (priority 0: the write this decision just queued, a survey) and due, and
    returns it: the worker goes on with it at once instead of paying a claim of its own. The
    ticket's order is unchanged (its next job is the one leased). Returns None otherwise.

    Raises LeaseLost (and commits nothing) when the job was taken over by another worker.
    """
    with transaction(sessions) as session:
        _fence(session, job, state="done", outcome=outcome, finished_at=utcnow(), lease_until=None,
               last_error=None)
        if apply is not None:
            apply(session)
        if follow_up is None or job.ticket_key is None:
            return None
        worker_id, lease_s = follow_up
        claimed_at = time.monotonic()
        now = utcnow()
        statement = _follow_up_statement(session.get_bind().dialect.name)
        row = session.execute(statement, {"now": now, "lease_until": now + timedelta(seconds=lease_s),
                                          "worker": worker_id, "connection": job.connection_id,
                                          "ticket": job.ticket_key}).first()
        return None if row is None else _claimed(row, claimed_at)


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


def release_job(sessions: sessionmaker[Session], job: ClaimedJob) -> None:
    """Give a leased job back unrun (a worker stopping): queued again at once, its attempt returned."""
    with transaction(sessions) as session:
        try:
            _fence(session, job, state="queued", attempts=job.attempt - 1, lease_until=None, leased_by=None)
        except LeaseLost:
            pass  # already taken over: nothing to give back


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
    jobs = Job.__table__
    changed = session.execute(
        update(jobs).where(jobs.c.id == job.id, jobs.c.attempts == job.attempt, jobs.c.state == "leased")
        .values(**values)).rowcount
    if changed != 1:
        raise LeaseLost(f"job {job.id} attempt {job.attempt} no longer holds its lease")
