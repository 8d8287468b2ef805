"""The durable queue: dedupe, per-ticket order, fenced leases, backoff, reaper, dead letters."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from jobs.queue import (LeaseLost, NewJob, backoff_delay, claim_next_job, complete_job, enqueue, fail_job,
                        reap_expired_leases, requeue_dead)
from storage.clock import utcnow
from storage.db import make_engine, make_session_factory, transaction
from storage.models import Job


@pytest.fixture(params=["sqlite", "postgres"])
def sessions(request):
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


def add(sessions, key, ticket="T1", kind="process_event", **kw):
    with transaction(sessions) as session:
        return enqueue(session, NewJob(kind=kind, dedupe_key=key, payload={"key": key}, connection_id="c",
                                       ticket_key=ticket, **kw))


def states(sessions):
    with sessions() as session:
        return {job.dedupe_key: (job.state, job.attempts) for job in session.scalars(select(Job))}


def test_same_dedupe_key_makes_one_job(sessions):
    assert add(sessions, "event:c:1") is True
    assert add(sessions, "event:c:1") is False
    assert len(states(sessions)) == 1


def test_jobs_of_one_ticket_run_in_order_while_other_tickets_proceed(sessions):
    add(sessions, "a1", ticket="A")
    add(sessions, "a2", ticket="A")
    add(sessions, "b1", ticket="B")
    first = claim_next_job(sessions, "w1", 30)
    second = claim_next_job(sessions, "w2", 30)
    assert (first.payload["key"], second.payload["key"]) == ("a1", "b1")
    assert claim_next_job(sessions, "w3", 30) is None  # a2 waits for a1
    complete_job(sessions, first, "done")
    assert claim_next_job(sessions, "w3", 30).payload["key"] == "a2"


def test_a_retrying_job_keeps_later_jobs_of_its_ticket_waiting(sessions):
    add(sessions, "a1", ticket="A")
    add(sessions, "a2", ticket="A")
    job = claim_next_job(sessions, "w", 30)
    assert fail_job(sessions, job, "boom", retryable=True, retry_after_s=60) == "queued"
    assert claim_next_job(sessions, "w", 30) is None


def test_completion_after_takeover_is_refused_and_commits_nothing(sessions):
    add(sessions, "a1")
    stale = claim_next_job(sessions, "slow", 30)
    with transaction(sessions) as session:
        session.execute(update(Job).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert reap_expired_leases(sessions) == (1, 0)
    fresh = claim_next_job(sessions, "fast", 30)
    assert fresh.attempt == stale.attempt + 1

    side_effect = lambda session: enqueue(session, NewJob("write_back", "write:stale", {}))  # noqa: E731
    with pytest.raises(LeaseLost):
        complete_job(sessions, stale, "written", side_effect)
    assert "write:stale" not in states(sessions)
    complete_job(sessions, fresh, "written")
    assert states(sessions)["a1"] == ("done", 2)


def test_retry_honours_the_wait_the_itsm_asked_for(sessions):
    add(sessions, "a1")
    job = claim_next_job(sessions, "w", 30)
    before = utcnow()
    fail_job(sessions, job, "429", retryable=True, retry_after_s=120, backoff_base_s=0.01, backoff_cap_s=0.02)
    with sessions() as session:
        next_run = session.scalar(select(Job.next_run_at))
    from storage.clock import as_utc
    assert as_utc(next_run) >= before + timedelta(seconds=120)


def test_job_is_dead_after_max_attempts_and_replay_requeues_it(sessions):
    add(sessions, "a1", max_attempts=2)
    for expected in ("queued", "dead"):
        with transaction(sessions) as session:
            session.execute(update(Job).values(next_run_at=utcnow()))
        job = claim_next_job(sessions, "w", 30)
        assert fail_job(sessions, job, "boom", retryable=True, backoff_base_s=0.001) == expected
    assert states(sessions)["a1"] == ("dead", 2)
    assert requeue_dead(sessions) == 1
    assert claim_next_job(sessions, "w", 30).payload["key"] == "a1"


def test_open_breaker_gives_the_attempt_back(sessions):
    add(sessions, "a1", max_attempts=1)
    job = claim_next_job(sessions, "w", 30)
    assert fail_job(sessions, job, "breaker open", retryable=True, retry_after_s=0, backoff_base_s=0.001,
                    count_attempt=False) == "queued"
    assert states(sessions)["a1"] == ("queued", 1)
    retry = claim_next_job(sessions, "w", 30)
    assert retry.attempt == 2, "attempt numbers are never reused: they fence leases"
    assert fail_job(sessions, retry, "boom", retryable=True, backoff_base_s=0.001) == "dead", \
        "one counted attempt, as max_attempts says"


def test_non_retryable_failure_is_dead_at_once(sessions):
    add(sessions, "a1")
    job = claim_next_job(sessions, "w", 30)
    assert fail_job(sessions, job, "401", retryable=False) == "dead"


def test_concurrent_claimers_never_share_a_job(sessions):
    for i in range(60):
        add(sessions, f"j{i}", ticket=f"T{i}")
    claimed: list[int] = []
    lock = threading.Lock()

    def claimer(name):
        while (job := claim_next_job(sessions, name, 30)) is not None:
            with lock:
                claimed.append(job.id)
            complete_job(sessions, job, "done")

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 60


def test_backoff_is_capped_full_jitter():
    delays = [backoff_delay(attempt, 2.0, 30.0) for attempt in range(1, 12) for _ in range(50)]
    assert all(0 <= delay <= 30.0 for delay in delays)
    assert max(backoff_delay(10, 2.0, 30.0) for _ in range(200)) > 15  # reaches the cap region
    assert max(backoff_delay(1, 2.0, 30.0) for _ in range(200)) <= 2.0


def test_writes_and_surveys_go_ahead_of_new_events_but_never_ahead_of_their_ticket(sessions):
    add(sessions, "event-a", ticket="A")
    add(sessions, "event-b", ticket="B")
    add(sessions, "write-a", ticket="A", kind="write_back")
    add(sessions, "survey-c", ticket="C", kind="send_survey")
    order = []
    while (job := claim_next_job(sessions, "w", 30)) is not None:
        order.append(job.payload["key"])
        complete_job(sessions, job, "done")
    assert order == ["survey-c", "event-a", "write-a", "event-b"]


def test_completion_leases_the_write_it_queued_and_nothing_out_of_order(sessions):
    add(sessions, "event-a1", ticket="A")
    add(sessions, "event-b1", ticket="B")
    job = claim_next_job(sessions, "w", 30)
    assert job.payload["key"] == "event-a1"
    queue_write = lambda session: enqueue(session, NewJob("write_back", "write-a1", {"key": "write-a1"},  # noqa: E731
                                                          connection_id="c", ticket_key="A"))
    follow = complete_job(sessions, job, "decided", queue_write, follow_up=("w", 30))
    assert follow is not None and follow.payload["key"] == "write-a1" and follow.attempt == 1
    assert states(sessions)["write-a1"] == ("leased", 1)
    # The write done, the ticket has nothing urgent left; ticket B's event is not taken this way.
    assert complete_job(sessions, follow, "written", follow_up=("w", 30)) is None
    assert states(sessions)["event-b1"] == ("queued", 0)


def test_a_next_event_of_the_ticket_is_not_taken_as_a_follow_up(sessions):
    add(sessions, "event-a1", ticket="A")
    add(sessions, "event-a2", ticket="A")
    job = claim_next_job(sessions, "w", 30)
    assert complete_job(sessions, job, "decided", follow_up=("w", 30)) is None
    assert states(sessions)["event-a2"] == ("queued", 0)


def test_a_released_job_is_queued_again_with_its_attempt_given_back(sessions):
    from jobs.queue import release_job

    add(sessions, "write-a1", kind="write_back")
    job = claim_next_job(sessions, "w", 30)
    release_job(sessions, job)
    assert states(sessions)["write-a1"] == ("queued", 0)
    again = claim_next_job(sessions, "w2", 30)
    assert again.attempt == 1
