"""`store_event` / `store_events`, the inbox's unit of work, called directly, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from domain.events import Lifecycle, TicketEvent
from jobs.queue import NewJob, enqueue
from storage.db import make_engine, make_session_factory, transaction
from storage.models import InboxEvent, Job
from webhooks.inbox import store_event, store_events

# Every column but these must be equal for the same NewJob (new columns are compared too).
DIFFERENT_BY_NATURE = {"id", "dedupe_key", "next_run_at", "created_at"}


def event(delivery: str, ticket: str = "10042") -> TicketEvent:
    return TicketEvent(connection_id="jira", delivery_id=delivery, ticket_key=ticket,
                       lifecycle=(Lifecycle.RESOLVED,), actor="agent", version=1)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, webhook_db_url):
    return webhook_db_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def test_batch_with_repeats_stores_each_delivery_once_in_order(database_url):
    sessions = make_session_factory(make_engine(database_url))
    with transaction(sessions) as session:
        assert store_event(session, event("a")) is True
    with transaction(sessions) as session:
        results = store_events(session, [event("b"), event("a"), event("c", "7"), event("b")])
    assert results == [True, False, True, False]
    with sessions() as session:
        rows = {row.delivery_id: row for row in session.execute(select(InboxEvent)).scalars()}
        jobs = list(session.execute(select(Job).order_by(Job.id)).scalars())
    assert {key: row.duplicates for key, row in rows.items()} == {"a": 1, "b": 1, "c": 0}
    assert [job.dedupe_key for job in jobs] == ["event:jira:a", "event:jira:b", "event:jira:c"]
    assert [job.payload["inbox_id"] for job in jobs] == [rows["a"].id, rows["b"].id, rows["c"].id]
    assert jobs[2].ticket_key == "7"


@pytest.mark.parametrize("max_attempts", [5, None])
def test_batched_jobs_are_the_rows_enqueue_makes(database_url, max_attempts):
    """The group commit inserts job rows in bulk; they must be what jobs.queue.enqueue makes."""
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        store_events(session, [event("x")], max_attempts=max_attempts)
    with sessions() as session:
        stored = session.execute(select(Job)).scalar_one()
    with transaction(sessions) as session:
        enqueue(session, NewJob(kind=stored.kind, dedupe_key="event:jira:by-hand", payload=stored.payload,
                                connection_id="jira", ticket_key="10042", max_attempts=max_attempts))
    with sessions() as session:
        by_batch, by_enqueue = session.execute(select(Job).order_by(Job.id)).scalars().all()
    for column in Job.__table__.columns:
        if column.name not in DIFFERENT_BY_NATURE:
            assert getattr(by_enqueue, column.key) == getattr(by_batch, column.key), column.name
    assert by_enqueue.next_run_at is not None and by_batch.next_run_at is not None


def test_stored_event_and_job_payload_read_back_as_the_event(database_url):
    """The event is serialised once and embedded in the job's payload: both read back as the event."""
    sessions = make_session_factory(make_engine(database_url))
    unusual = TicketEvent(connection_id="jira", delivery_id="u-1", ticket_key="10042", lifecycle=(Lifecycle.COMMENTED,),
                          actor="agent", comment_text='quotes " and \\ backslash, ünïcödé, 💬, "}{"',
                          extra={"nested": {"list": [1, 2.5, None, True]}})
    many = [event(f"bulk-{number}", str(number)) for number in range(250)]  # more rows than one statement holds
    with transaction(sessions) as session:
        assert store_events(session, [unusual, *many]) == [True] * 251
    with sessions() as session:
        row = session.execute(select(InboxEvent).where(InboxEvent.delivery_id == "u-1")).scalar_one()
        job = session.execute(select(Job).where(Job.dedupe_key == "event:jira:u-1")).scalar_one()
        assert session.execute(select(func.count()).select_from(Job)).scalar_one() == 251
        by_inbox_id = {job.payload["inbox_id"]: job.payload["event"]["delivery_id"]
                       for job in session.execute(select(Job)).scalars()}
        inbox_ids = dict(session.execute(select(InboxEvent.id, InboxEvent.delivery_id)).all())
    assert TicketEvent.from_json(row.event) == unusual and row.event["extra"] == unusual.extra
    assert job.payload == {"inbox_id": row.id, "event": unusual.to_json()}
    assert by_inbox_id == inbox_ids, "each job names its own inbox row"
    assert row.received_at is not None and job.next_run_at is not None and job.created_at is not None
