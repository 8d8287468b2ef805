"""The check before an ITSM write: a worker that lost its job's lease must not write for it.

A write early in the lease goes ahead without a database round trip (the lease cannot have
ended yet); past half the lease the check renews it in the database, which refuses a worker
whose job another worker has taken over meanwhile.
"""
from __future__ import annotations

import dataclasses
import time
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from jobs.queue import LeaseLost, NewJob, claim_next_job, enqueue, reap_expired_leases
from jobs.worker import LeaseCheck
from storage.clock import utcnow
from storage.db import make_engine, make_session_factory, transaction
from storage.models import Job

LEASE_S = 30.0


class _Runtime:
    """The two things LeaseCheck reads from the worker's runtime."""

    def __init__(self, sessions):
        self.sessions = sessions
        self.settings = type("S", (), {"worker": type("W", (), {"lease_s": LEASE_S})()})()


@pytest.fixture(params=["sqlite", "postgres"])
def sessions(request):
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    engine = make_engine(url)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    factory = make_session_factory(engine)
    factory.statements = statements
    yield factory
    engine.dispose()


def claim_one(sessions, worker="w1"):
    with transaction(sessions) as session:
        enqueue(session, NewJob(kind="write_back", dedupe_key="write:1", payload={}, connection_id="c",
                                ticket_key="T1"))
    return claim_next_job(sessions, worker, LEASE_S)


def lease_until(sessions, job_id):
    with sessions() as session:
        return session.scalar(select(Job.lease_until).where(Job.id == job_id))


def test_a_write_early_in_the_lease_needs_no_database_round_trip(sessions):
    job = claim_one(sessions)
    sessions.statements.clear()
    LeaseCheck(_Runtime(sessions), job)()
    assert sessions.statements == []


def test_past_half_the_lease_the_check_renews_it(sessions):
    job = claim_one(sessions)
    before = lease_until(sessions, job.id)
    # The claim as it would look after 20 of its 30 seconds (the monotonic clock is not settable).
    aged = dataclasses.replace(job, claimed_at=time.monotonic() - 20)
    LeaseCheck(_Runtime(sessions), aged)()
    assert lease_until(sessions, job.id) > before


def test_a_worker_whose_job_was_taken_over_is_stopped_before_writing(sessions):
    stale = claim_one(sessions, "stopped-worker")
    # The worker was stopped past its lease: the reaper returned the job and another took it.
    with transaction(sessions) as session:
        session.execute(update(Job).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert reap_expired_leases(sessions) == (1, 0)
    fresh = claim_next_job(sessions, "fresh-worker", LEASE_S)
    assert fresh.attempt == stale.attempt + 1
    woken = dataclasses.replace(stale, claimed_at=time.monotonic() - LEASE_S - 1)
    with pytest.raises(LeaseLost):
        LeaseCheck(_Runtime(sessions), woken)()
    LeaseCheck(_Runtime(sessions), fresh)()  # the new owner writes


def test_an_idle_claim_takes_no_write_lock_and_a_busy_one_claims_in_one_statement(sessions):
    sessions.statements.clear()
    assert claim_next_job(sessions, "w", LEASE_S) is None
    writes = [s for s in sessions.statements if s.lstrip().upper().startswith(("UPDATE", "INSERT", "BEGIN IMMEDIATE"))]
    assert writes == []
    job = claim_one(sessions)
    assert job is not None and job.attempt == 1
    sessions.statements.clear()
    with transaction(sessions) as session:
        enqueue(session, NewJob(kind="write_back", dedupe_key="write:2", payload={"n": 2}, connection_id="c",
                                ticket_key="T2"))
    sessions.statements.clear()
    second = claim_next_job(sessions, "w", LEASE_S, peek=False)
    assert second.payload == {"n": 2}
    assert [s for s in sessions.statements if s.lstrip().upper().startswith("UPDATE")] != []
    assert not [s for s in sessions.statements if s.lstrip().upper().startswith("SELECT")]
