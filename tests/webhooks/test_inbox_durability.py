"""Stored before acknowledged: a failed commit is a 503 and nothing, its retry is stored exactly once."""
from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.exc import OperationalError

from storage.models import InboxEvent, Job
from tests.webhooks.helpers import JIRA_SECRET, WebhookSender, counted, fixture_body, post_jira_all_at_once
from webhooks.jira.parse import EVENT_HANDLERS
from webhooks.jira.verify import sign_jira_body
from webhooks.quarantine import replay_quarantined

JIRA_BODY = fixture_body("jira", "issue_updated__resolved")


def fail_next_commits(engine, count: int = 1) -> dict:
    """Make the next `count` commits on `engine` fail as a full disk would; returns the counter."""
    state = {"left": count}

    def refuse(_connection):
        if state["left"] > 0:
            state["left"] -= 1
            raise OperationalError("COMMIT", {}, Exception("database or disk is full (injected)"))

    event.listen(engine, "commit", refuse)
    return state


def test_failed_commit_is_503_and_the_retry_is_stored_once(app, sender):
    fail_next_commits(app.extensions["xla"].engine)
    before = counted("jira", "unavailable")
    failed = sender.jira(JIRA_BODY, identifier="delivery-77")
    assert failed.status_code == 503
    assert failed.get_json()["error"] == "unavailable"
    assert counted("jira", "unavailable") == before + 1
    assert sender.stored_anything() == 0          # nothing half-written

    retried = sender.jira(JIRA_BODY, identifier="delivery-77")
    assert retried.status_code == 202 and retried.get_json()["status"] == "stored"
    rows = sender.inbox()
    assert len(rows) == 1 and rows[0].duplicates == 0
    assert len(sender.jobs()) == 1


def test_acknowledged_event_is_visible_to_another_process_connection(app, sender, webhook_db_url):
    assert sender.jira(JIRA_BODY, identifier="durable-1").status_code == 202
    # A separate engine stands in for a worker process reading the file.
    other = create_engine(webhook_db_url)
    try:
        with other.connect() as connection:
            assert connection.execute(select(func.count()).select_from(InboxEvent)).scalar_one() == 1
            assert connection.execute(select(Job.kind)).scalar_one() == "process_event"
    finally:
        other.dispose()


def test_concurrent_deliveries_over_http_are_each_stored_once(app, serve):
    """Group commit under load: 40 distinct deliveries, each also redelivered, from 8 threads."""
    url = serve(app)
    template = json.loads(JIRA_BODY)
    deliveries = []
    for number in range(40):
        payload = dict(template, timestamp=template["timestamp"] + number)
        payload["issue"] = dict(template["issue"], id=str(50000 + number))
        body = json.dumps(payload).encode()
        deliveries.append((f"load-{number}", body))
    work = deliveries + deliveries  # every delivery arrives twice

    def post(item):
        identifier, body = item
        with requests.Session() as session:
            return session.post(f"{url}/webhooks/jira", data=body, timeout=30, headers={
                "Content-Type": "application/json", "X-Atlassian-Webhook-Identifier": identifier,
                "X-Hub-Signature": sign_jira_body(body, JIRA_SECRET)}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(post, work))
    assert statuses == [202] * len(work)
    sender = WebhookSender(app, app.test_client())
    rows = sender.inbox()
    assert sorted(row.delivery_id for row in rows) == sorted(identifier for identifier, _ in deliveries)
    assert all(row.duplicates == 1 for row in rows)
    assert len(sender.jobs()) == 40


def post_together(url: str, deliveries: list[tuple[str, bytes]]) -> list[int]:
    """Post signed Jira deliveries from one thread each, released at the same moment; the statuses."""
    return [answer.status_code for answer in post_jira_all_at_once(
        [(url, identifier, body) for identifier, body in deliveries])]


def test_one_failed_batch_fails_only_its_own_requests(app, serve):
    """While one commit fails, the deliveries in that batch get 503; every retry lands once."""
    url = serve(app)
    fail_next_commits(app.extensions["xla"].engine)
    deliveries = []
    for number in range(6):
        payload = json.loads(JIRA_BODY)
        payload["issue"]["id"] = str(60000 + number)
        deliveries.append((f"batch-{number}", json.dumps(payload).encode()))

    first = post_together(url, deliveries)
    assert 503 in first and set(first) <= {202, 503}
    sender = WebhookSender(app, app.test_client())
    assert len(sender.inbox()) == first.count(202)
    retry = [item for item, status in zip(deliveries, first) if status == 503]
    assert post_together(url, retry) == [202] * len(retry)
    assert len(sender.inbox()) == len(deliveries)
    assert len(sender.jobs()) == len(deliveries)


def test_replay_recovers_payloads_a_newer_parser_understands(app, sender, monkeypatch):
    # The service of yesterday did not know comment_created: the payload went to the quarantine.
    monkeypatch.delitem(EVENT_HANDLERS, "comment_created")
    assert sender.jira(fixture_body("jira", "comment_created__public")).status_code == 400
    assert sender.jira({"webhookEvent": "jira:still_unknown"}).status_code == 400
    monkeypatch.undo()

    stored, still_bad = replay_quarantined(app.extensions["xla"])
    assert (stored, still_bad) == (1, 1)
    [row] = sender.inbox()
    assert row.ticket_key == "10042" and row.event["lifecycle"] == ["commented"]
    assert [job.kind for job in sender.jobs()] == ["process_event"]
    replayed = [kept for kept in sender.quarantine() if kept.replayed_at is not None]
    assert len(replayed) == 1
    # A second run finds nothing new to replay.
    assert replay_quarantined(app.extensions["xla"]) == (0, 1)


def test_replay_of_named_rows_and_of_truncated_bodies(make_app):
    app = make_app(webhooks={"quarantine_max_body_bytes": 40})
    sender = WebhookSender(app, app.test_client())
    assert sender.jira({"webhookEvent": "jira:unknown", "padding": "z" * 100}).status_code == 400
    [kept] = sender.quarantine()
    assert replay_quarantined(app.extensions["xla"], ids=[kept.id]) == (0, 1)
    assert replay_quarantined(app.extensions["xla"], ids=[kept.id + 1000]) == (0, 0)
    assert sender.inbox() == []


def test_redelivery_counts_and_unique_delivery_ids_stay_apart_per_connection(sender):
    identifier = str(uuid.uuid4())
    assert sender.jira(JIRA_BODY, identifier=identifier).get_json()["status"] == "stored"
    assert sender.jira(JIRA_BODY, connection="jira-open", secret=None,
                       identifier=identifier).get_json()["status"] == "stored"
    assert sorted(row.connection_id for row in sender.inbox()) == ["jira", "jira-open"]


def test_two_workers_on_one_sqlite_file_store_every_delivery_once(make_app, serve, webhook_db_url):
    """Two app instances on one file stand in for two gunicorn workers taking turns to commit."""
    urls = [serve(make_app(database_url=webhook_db_url)), serve(make_app(database_url=webhook_db_url))]
    template = json.loads(JIRA_BODY)
    deliveries = []
    for number in range(12):
        payload = dict(template, timestamp=template["timestamp"] + number)
        deliveries.append((f"two-workers-{number}", json.dumps(payload).encode()))
    work = [(url, identifier, body) for identifier, body in deliveries for url in urls]  # each to both
    statuses = [answer.json()["status"] for answer in post_jira_all_at_once(work)]
    assert sorted(statuses) == ["duplicate"] * 12 + ["stored"] * 12
    app = make_app(database_url=webhook_db_url)
    sender = WebhookSender(app, app.test_client())
    assert sorted(row.delivery_id for row in sender.inbox()) == sorted(identifier for identifier, _ in deliveries)
    assert len(sender.jobs()) == 12
