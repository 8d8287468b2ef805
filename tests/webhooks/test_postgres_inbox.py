"""The inbox on PostgreSQL: its unique key holds when duplicates arrive at the same moment."""
from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from domain.events import Lifecycle, TicketEvent
from storage.db import make_engine, make_session_factory, transaction
from tests.webhooks.helpers import WebhookSender, post_jira_all_at_once, fixture_body
from webhooks.inbox import store_event

pytestmark = pytest.mark.postgres


def test_concurrent_store_of_one_delivery_inserts_once(postgres_url):
    engine = make_engine(postgres_url, pool_size=8)
    sessions = make_session_factory(engine)
    event = TicketEvent(connection_id="jira", delivery_id="same-delivery", ticket_key="10042",
                        lifecycle=(Lifecycle.RESOLVED,))
    start = threading.Barrier(8)

    def store_once(_):
        start.wait(10)
        with transaction(sessions) as session:
            return store_event(session, event)

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(store_once, range(8)))
        assert results.count(True) == 1 and results.count(False) == 7
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT duplicates FROM inbox_events").all()
            jobs = connection.exec_driver_sql("SELECT kind FROM jobs").all()
        assert rows == [(7,)]
        assert jobs == [("process_event",)]
    finally:
        engine.dispose()


def test_two_replicas_receiving_the_same_deliveries_store_each_once(make_app, serve, postgres_url):
    """Two app instances (two replicas) on one database, every delivery posted to both at once."""
    urls = [serve(make_app(database_url=postgres_url)), serve(make_app(database_url=postgres_url))]
    template = json.loads(fixture_body("jira", "issue_updated__resolved"))
    work = []
    for number in range(10):
        payload = dict(template, timestamp=template["timestamp"] + number)
        body = json.dumps(payload).encode()
        for url in urls:
            for _ in range(2):
                work.append((url, f"replica-{number}", body))
    statuses = [answer.json()["status"] for answer in post_jira_all_at_once(work)]
    assert statuses.count("stored") == 10 and statuses.count("duplicate") == 30
    app = make_app(database_url=postgres_url)
    sender = WebhookSender(app, app.test_client())
    rows = sender.inbox()
    assert len(rows) == 10 and all(row.duplicates == 3 for row in rows)
    assert len(sender.jobs()) == 10
