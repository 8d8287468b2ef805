"""Scenario 2: a failure between the inbox insert and its commit, followed through to the effect.

The sender must see a 5xx whenever the event is not known to be on disk, and its retry must be
processed exactly once: one inbox row, one processing job, one write on the ticket (and no
context note twice).

On PostgreSQL the failure sits exactly between insert and commit: a deferred constraint
trigger on `inbox_events` runs at COMMIT, and either raises (the commit fails: nothing stored)
or waits for an advisory lock the test holds (the commit lands only after the service has
answered 503, so the retry is a duplicate). On SQLite (one node) the test holds the database's
write lock until the service has answered 503, then lets the delayed insert commit.
"""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import create_engine, select, text

from storage.models import InboxEvent, Job
from tests.reliability.deployment import SN_INTEGRATION_USER, SimulatorSpec
from tests.reliability.effects import ServiceNowView
from tests.reliability.events import BurstSender, Delivery, servicenow_event_body
from tests.reliability.waiting import wait_for

SN = "snow"
SLOW_COMMIT_LOCK = 7_240_001

FAULT_TRIGGER = f"""
CREATE SEQUENCE reliability_commit_failures;
CREATE FUNCTION reliability_commit_fault() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF starts_with(NEW.delivery_id, 'fails-at-commit-') AND nextval('reliability_commit_failures') = 1 THEN
        RAISE EXCEPTION 'injected: the commit of this inbox row fails';
    END IF;
    IF starts_with(NEW.delivery_id, 'slow-commit-') THEN
        PERFORM pg_advisory_xact_lock({SLOW_COMMIT_LOCK});
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER reliability_commit_fault AFTER INSERT ON inbox_events
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION reliability_commit_fault();
"""


def start(deployment_factory, database_url: str | None):
    deployment = deployment_factory(
        [SimulatorSpec(SN, "servicenow", args=("--per-hour", "0"))], database_url=database_url,
        config={"server": {"timeout_s": 3}})  # the inbox answers 503 after 80% of it: 2.4 s
    view = ServiceNowView(deployment.sims[SN], deployment.agent(SN), SN_INTEGRATION_USER)
    return deployment, view, view.open_tickets()


def delivery_for(ticket: tuple[str, dict], delivery_id: str) -> Delivery:
    table, record = ticket
    return Delivery(delivery_id, SN, servicenow_event_body(record, table=table, changed_fields=["priority"],
                                                           actor="beth.anglin"))


def stored(deployment, delivery: Delivery) -> bool:
    with deployment.sessions() as session:
        return session.scalars(select(InboxEvent.id).where(InboxEvent.delivery_id == delivery.delivery_id)).first() \
            is not None


def assert_processed_once(deployment, view, deliveries: list[Delivery], tickets: list[tuple[str, dict]]) -> None:
    deployment.wait_settled(timeout_s=60)
    with deployment.sessions() as session:
        inbox = list(session.scalars(select(InboxEvent)))
        jobs = list(session.scalars(select(Job).where(Job.kind == "process_event")))
    ours = {d.delivery_id for d in deliveries}
    assert sorted(row.delivery_id for row in inbox if row.delivery_id in ours) == sorted(ours), "one inbox row each"
    processed = [job for job in jobs if job.payload["event"]["delivery_id"] in ours]
    assert len(processed) == len(ours), "one processing job each"
    assert all(job.state == "done" and job.attempts == 1 for job in processed), [(j.state, j.attempts) for j in processed]
    notes = view.notes_per_step()
    journal = view.journal()
    for table, record in tickets:
        repeated = {marker: count for (ticket, marker), count in notes.items() if ticket == record["sys_id"] and count > 1}
        assert repeated == {}, f"{record['number']}: a context note written twice"
        patches = [e for e in journal if e["method"] == "PATCH" and record["sys_id"] in e["path"]
                   and e.get("user") == SN_INTEGRATION_USER]
        assert len(patches) == 1, f"{record['number']}: one write"
        assert view.record(table, record["sys_id"], "u_xla_score")["u_xla_score"] != ""


@pytest.mark.postgres
def test_commit_failing_or_landing_late_is_a_5xx_and_the_retry_is_processed_once(deployment_factory, postgres_url):
    deployment, view, tickets = start(deployment_factory, postgres_url)
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(FAULT_TRIGGER)
    deployment.serve()
    deployment.worker("worker-1")
    sender = BurstSender({SN: deployment.webhook_secret(SN)}, [deployment.url], tries=1)

    failing = delivery_for(tickets[0], "fails-at-commit-1")
    assert sender.post(failing, deployment.url) == 503, "a failed commit is answered 5xx"
    assert sender.post(failing, deployment.url) == 202, "the sender's retry is stored"

    late = delivery_for(tickets[1], "slow-commit-1")
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SLOW_COMMIT_LOCK})
        assert sender.post(late, deployment.url) == 503, "no answer but 5xx while the commit has not landed"
        holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SLOW_COMMIT_LOCK})
    wait_for(lambda: stored(deployment, late), timeout_s=30, what="the delayed commit landing after the 503")
    assert sender.post(late, deployment.url) == 202, "the retry of an event stored late is acknowledged"
    engine.dispose()

    assert sender.answers == {"fails-at-commit-1": [503, 202], "slow-commit-1": [503, 202]}
    assert_processed_once(deployment, view, [failing, late], tickets[:2])
    with deployment.sessions() as session:
        late_row = session.scalars(select(InboxEvent).where(InboxEvent.delivery_id == "slow-commit-1")).one()
    assert late_row.duplicates == 1, "the retry was recognised as the same delivery"


def test_sqlite_write_lock_held_past_the_answer_is_a_5xx_and_the_retry_is_processed_once(deployment_factory):
    deployment, view, tickets = start(deployment_factory, None)
    deployment.serve()
    deployment.worker("worker-1")
    sender = BurstSender({SN: deployment.webhook_secret(SN)}, [deployment.url], tries=1)
    late = delivery_for(tickets[0], "locked-out-1")

    holder = sqlite3.connect(deployment.database_url.removeprefix("sqlite:///"), isolation_level=None, timeout=30)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the file: the insert waits
    try:
        assert sender.post(late, deployment.url) == 503, "no answer but 5xx while the event is not on disk"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    wait_for(lambda: stored(deployment, late), timeout_s=30,
             what="the waiting insert committing once the lock is free")
    assert sender.post(late, deployment.url) == 202
    assert sender.answers == {"locked-out-1": [503, 202]}
    assert_processed_once(deployment, view, [late], tickets[:1])
