"""Each status code the endpoint answers, and what the sender and the admin see with it."""
from __future__ import annotations

import json

import requests

from tests.webhooks.helpers import WebhookSender, counted, fixture_body

JIRA_BODY = fixture_body("jira", "issue_updated__resolved")


def test_unknown_connection_is_404(sender):
    response = sender.jira(JIRA_BODY, connection="no-such-connection")
    assert response.status_code == 404
    assert response.get_json()["error"] == "unknown_connection"
    assert sender.stored_anything() == 0


def test_get_is_not_a_delivery(client):
    response = client.get("/webhooks/jira")
    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"


def test_body_over_the_limit_is_413_before_anything_else(make_app):
    app = make_app(webhooks={"max_body_bytes": 8192})
    sender = WebhookSender(app, app.test_client())
    big = json.loads(JIRA_BODY)
    big["issue"]["fields"]["description"] = "x" * 8192
    before = counted("jira", "too_large")
    response = sender.jira(big)
    assert response.status_code == 413
    assert response.get_json()["error"] == "too_large"
    assert counted("jira", "too_large") == before + 1
    # A body that fits the same limit is fine.
    assert sender.jira(JIRA_BODY).status_code == 202


def test_chunked_body_over_the_limit_is_413(make_app, serve):
    """A sender streaming without Content-Length is cut off at the limit too (real HTTP)."""
    url = serve(make_app(webhooks={"max_body_bytes": 4096}))

    def chunks():
        yield b'{"webhookEvent": "jira:issue_updated", "pad": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}'

    response = requests.post(f"{url}/webhooks/jira-open", data=chunks(), headers={"Content-Type": "application/json"},
                             timeout=10)
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"


def test_body_not_declared_json_is_415(sender):
    before = counted("jira", "unsupported_media")
    response = sender.jira(JIRA_BODY, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.get_json()["error"] == "unsupported_media"
    assert counted("jira", "unsupported_media") == before + 1
    assert sender.stored_anything() == 0


def test_signed_body_that_is_not_json_is_415(sender):
    response = sender.jira(b"webhookEvent=jira:issue_updated&issue=10042")
    assert response.status_code == 415
    assert sender.stored_anything() == 0


def test_body_that_is_not_utf8_is_415(sender):
    response = sender.jira('{"webhookEvent": "jira:issue_updated"}'.encode("utf-16"))
    assert response.status_code == 415


def test_json_suffix_media_types_are_accepted(sender):
    assert sender.jira(JIRA_BODY, content_type="application/vnd.atlassian+json").status_code == 202


def test_quarantined_body_is_cut_to_the_configured_size(make_app):
    app = make_app(webhooks={"quarantine_max_body_bytes": 64})
    sender = WebhookSender(app, app.test_client())
    payload = {"webhookEvent": "jira:issue_teleported", "detail": "é" * 100}
    response = sender.jira(payload)
    assert response.status_code == 400
    [kept] = sender.quarantine()
    assert kept.truncated is True
    assert len(kept.body.encode("utf-8")) <= 64
    assert json.dumps(payload).startswith(kept.body[:20])
    assert response.get_json()["quarantine_id"] == kept.id


def test_quarantine_keeps_only_the_newest_rows(make_app):
    app = make_app(webhooks={"quarantine_max_rows": 3})
    sender = WebhookSender(app, app.test_client())
    for number in range(5):
        assert sender.jira({"webhookEvent": f"jira:unknown_{number}"}).status_code == 400
    kept = sender.quarantine()
    assert [json.loads(row.body)["webhookEvent"] for row in kept] == [f"jira:unknown_{n}" for n in (2, 3, 4)]


def test_quarantine_switched_off_still_answers_400(make_app):
    app = make_app(webhooks={"quarantine_max_rows": 0})
    sender = WebhookSender(app, app.test_client())
    response = sender.jira({"webhookEvent": "jira:unknown"})
    assert response.status_code == 400
    assert response.get_json()["quarantine_id"] is None
    assert sender.quarantine() == []


def test_outcomes_are_counted_apart(sender):
    outcomes = ("stored", "duplicate", "ignored", "unsupported", "unrecognised", "unauthorized")
    before = {outcome: counted("jira", outcome) for outcome in outcomes}
    sender.jira(JIRA_BODY, identifier="same-delivery")
    sender.jira(JIRA_BODY, identifier="same-delivery")
    sender.jira(fixture_body("jira", "sprint_started"))
    sender.jira(fixture_body("jira", "comment_updated"))
    sender.jira({"webhookEvent": "jira:issue_teleported"})
    sender.jira(JIRA_BODY, secret="wrong")
    assert {outcome: counted("jira", outcome) - before[outcome] for outcome in outcomes} == \
        {outcome: 1.0 for outcome in outcomes}


def test_metrics_endpoint_shows_the_webhook_counter(sender, client):
    sender.jira(JIRA_BODY)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'xla_webhooks_received_total{connection="jira",outcome="stored"}' in text
