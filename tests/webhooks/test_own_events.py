"""Events fired by the service's own writes are answered at the door, never stored.

The integration user's writes make the ITSM send a webhook for each. The endpoint recognises
the ones whose actor it can name without asking the ITSM (the configured login, or an identity
this process already fetched) and answers them 200 `ignored`/`own_write`, with no inbox row and
no job; everything else is stored as before, and the worker's loop guard decides.
Deliveries here are signed and sent over real HTTP.
"""
from __future__ import annotations

import json
import time
import uuid

import pytest
import requests
from prometheus_client import REGISTRY

from tests.webhooks.helpers import (JIRA_SECRET, JIRA_SECRET_ENV, SNOW_SECRET, SNOW_SECRET_ENV, WebhookSender,
                                    counted, fixture_body)
from webhooks.jira.verify import sign_jira_body
from webhooks.servicenow.verify import sign_servicenow_delivery

SNOW_USER = "xla.integration"
CLOUD_LOGIN = "xla-bridge@example.com"
DC_USER = "svc-xla"


def connections(jira_dc_base_url: str = "https://jira.example.internal") -> list[dict]:
    token = {"token_env": "XLA_TEST_ITSM_TOKEN"}
    return [
        {"id": "jira", "tool": "jira", "base_url": "https://example-sd.atlassian.net",
         "auth": {"kind": "basic", "user": CLOUD_LOGIN, **token}, "webhook_secret_env": JIRA_SECRET_ENV},
        # Data Center with a personal access token: the login is optional, and names the user when given.
        {"id": "jira-dc", "tool": "jira", "base_url": "https://jira.example.internal", "deployment": "datacenter",
         "auth": {"kind": "bearer", "user": DC_USER, **token}, "webhook_secret_env": JIRA_SECRET_ENV},
        {"id": "jira-dc-token", "tool": "jira", "base_url": jira_dc_base_url, "deployment": "datacenter",
         "allow_loopback_http": True, "auth": {"kind": "bearer", **token}, "webhook_secret_env": JIRA_SECRET_ENV},
        {"id": "snow", "tool": "servicenow", "base_url": "https://example.service-now.com",
         "auth": {"kind": "basic", "user": SNOW_USER, **token}, "webhook_secret_env": SNOW_SECRET_ENV},
    ]


def loop_guard_counted(connection: str) -> float:
    return REGISTRY.get_sample_value("xla_loop_guard_total", {"connection": connection, "reason": "own_actor"}) or 0.0


def snow_update_by(user: str) -> bytes:
    payload = json.loads(fixture_body("servicenow", "incident_update__resolved"))
    payload["sys_updated_by"] = user
    payload["sys_mod_count"] = int(payload["sys_mod_count"]) + 1  # a delivery of its own
    return json.dumps(payload).encode()


def jira_update_by(user: dict, fixture: str = "issue_updated__resolved") -> bytes:
    payload = json.loads(fixture_body("jira", fixture))
    payload["user"] = user
    return json.dumps(payload).encode()


def jira_comment_by(author: dict) -> bytes:
    payload = json.loads(fixture_body("jira", "comment_created__public"))
    payload["comment"]["author"] = payload["comment"]["updateAuthor"] = author
    return json.dumps(payload).encode()


def post_signed(base_url: str, connection: str, body: bytes) -> requests.Response:
    """One delivery as the tool sends it: Jira's X-Hub-Signature, or the Business Rule's headers."""
    headers = {"Content-Type": "application/json"}
    if connection == "snow":
        data = json.loads(body)
        delivery_id = f"{data['table']}.{data['sys_id']}.{data['sys_mod_count']}"
        stamp = int(time.time())
        headers.update({"webhook-id": delivery_id, "webhook-timestamp": str(stamp),
                        "webhook-signature": sign_servicenow_delivery(body, delivery_id, stamp, SNOW_SECRET)})
    else:
        headers.update({"X-Atlassian-Webhook-Identifier": str(uuid.uuid4()),
                        "X-Hub-Signature": sign_jira_body(body, JIRA_SECRET)})
    return requests.post(f"{base_url}/webhooks/{connection}", data=body, headers=headers, timeout=30)


CLOUD_ACCOUNT = "712020:0f1e2d3c-4b5a-4697-8877-665544332211"

# (connection, body by the integration user, the same change by a person)
OWN_AND_OTHER = {
    "servicenow": ("snow", snow_update_by(SNOW_USER), snow_update_by("beth.anglin")),
    "servicenow_other_case": ("snow", snow_update_by(" XLA.Integration "), snow_update_by("xla.integration2")),
    "jira_cloud_email": ("jira", jira_update_by({"accountId": CLOUD_ACCOUNT, "emailAddress": "XLA-Bridge@example.com"}),
                         jira_update_by({"accountId": "712020:aa", "emailAddress": "agent@example.com"})),
    "jira_cloud_comment_author": ("jira", jira_comment_by({"accountId": CLOUD_ACCOUNT, "emailAddress": CLOUD_LOGIN}),
                                  jira_comment_by({"accountId": "712020:aa", "emailAddress": "agent@example.com"})),
    "jira_datacenter_name": ("jira-dc", jira_update_by({"name": DC_USER, "key": "JIRAUSER10001"},
                                                       "issue_updated__datacenter_resolved"),
                             jira_update_by({"name": "jdoe", "key": "JIRAUSER38628"},
                                            "issue_updated__datacenter_resolved")),
}


@pytest.mark.parametrize("case", sorted(OWN_AND_OTHER))
def test_own_event_is_answered_ignored_and_leaves_nothing_behind(make_app, serve, case):
    connection, own, _ = OWN_AND_OTHER[case]
    app = make_app(connections=connections())
    sender = WebhookSender(app, app.test_client())
    before = counted(connection, "own_write"), loop_guard_counted(connection), counted(connection, "stored")

    response = post_signed(serve(app), connection, own)

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ignored", "reason": "own_write"}
    assert sender.stored_anything() == 0, "no inbox row, no job, no quarantine"
    after = counted(connection, "own_write"), loop_guard_counted(connection), counted(connection, "stored")
    assert after == (before[0] + 1, before[1] + 1, before[2])


@pytest.mark.parametrize("case", sorted(OWN_AND_OTHER))
def test_the_same_change_by_someone_else_is_stored_with_its_job(make_app, serve, case):
    connection, _, other = OWN_AND_OTHER[case]
    app = make_app(connections=connections())
    sender = WebhookSender(app, app.test_client())

    response = post_signed(serve(app), connection, other)

    assert response.status_code == 202, response.text
    assert response.json()["status"] == "stored"
    assert len(sender.inbox(connection)) == 1
    assert [job.kind for job in sender.jobs()] == ["process_event"]


@pytest.mark.parametrize("connection, body", [
    # Cloud hides the address of some accounts: the accountId alone is not the configured login.
    ("jira", jira_update_by({"accountId": CLOUD_ACCOUNT})),
    # On Data Center an address may belong to several accounts, so it does not identify the actor.
    ("jira-dc", jira_update_by({"name": "jdoe", "key": "JIRAUSER38628", "emailAddress": DC_USER},
                               "issue_updated__datacenter_resolved")),
    # A personal access token and no login: this process does not know who it is.
    ("jira-dc-token", jira_update_by({"name": "xla-bridge", "key": "JIRAUSER10002"},
                                     "issue_updated__datacenter_resolved")),
], ids=["cloud_account_id_only", "datacenter_email_only", "datacenter_token_without_login"])
def test_an_actor_not_known_here_is_stored_for_the_worker_to_judge(make_app, serve, connection, body):
    app = make_app(connections=connections())
    sender = WebhookSender(app, app.test_client())

    response = post_signed(serve(app), connection, body)

    assert response.status_code == 202, response.text
    assert len(sender.inbox(connection)) == 1 and len(sender.jobs()) == 1


def test_an_identity_the_process_already_fetched_is_used_without_asking_again(make_app, serve, monkeypatch):
    """Jira Data Center with a token and no login: once this process has asked who it is (as the
    worker does on its first job), the answer names the actor; the endpoint never asks itself."""
    from simulators.common import start_simulator

    token = "dc-token-for-own-events"
    monkeypatch.setenv("XLA_TEST_ITSM_TOKEN", token)
    simulator = start_simulator("jira", tokens={"xla-bridge": token}, extra_args=["--deployment", "datacenter"])
    try:
        app = make_app(connections=connections(jira_dc_base_url=simulator.url))
        sender = WebhookSender(app, app.test_client())
        url = serve(app)
        by_integration = {"name": "xla-bridge", "key": "JIRAUSER10002"}
        simulator.admin("DELETE", "/journal")

        before = post_signed(url, "jira-dc-token", jira_update_by(by_integration, "issue_updated__datacenter_resolved"))
        asked_before = simulator.journal()
        app.extensions["xla"].identity("jira-dc-token")
        after = post_signed(url, "jira-dc-token", jira_update_by(by_integration, "issue_updated__datacenter_resolved"))
    finally:
        simulator.stop()

    assert before.status_code == 202 and asked_before == [], "unknown: stored, and the ITSM was not asked"
    assert after.status_code == 200 and after.json()["reason"] == "own_write"
    assert len(sender.inbox("jira-dc-token")) == 1


def test_the_setting_off_stores_own_events_for_the_worker(make_app, serve):
    app = make_app(connections=connections(), webhooks={"drop_own_events": False})
    sender = WebhookSender(app, app.test_client())

    response = post_signed(serve(app), "snow", snow_update_by(SNOW_USER))

    assert response.status_code == 202
    stored = sender.inbox("snow")
    assert len(stored) == 1 and stored[0].event["actor"] == SNOW_USER
    assert len(sender.jobs()) == 1


def test_an_unsigned_own_event_is_refused_before_anyone_is_recognised(make_app, serve):
    app = make_app(connections=connections())
    body = snow_update_by(SNOW_USER)
    data = json.loads(body)
    response = requests.post(f"{serve(app)}/webhooks/snow", data=body, timeout=30, headers={
        "Content-Type": "application/json", "webhook-id": f"{data['table']}.{data['sys_id']}.{data['sys_mod_count']}",
        "webhook-timestamp": str(int(time.time())), "webhook-signature": "v1,AAAA"})
    assert response.status_code == 401


@pytest.mark.parametrize("value", ["yes", "true", "off"])
def test_drop_own_events_must_be_true_or_false(tmp_path, value):
    from settings import ConfigError, load_settings

    config = tmp_path / "config.toml"
    config.write_text(f"[webhooks]\ndrop_own_events = {json.dumps(value)}\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(config)
    assert f"webhooks.drop_own_events: found {value!r}; expected true or false" in str(raised.value)
