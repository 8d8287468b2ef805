"""How the Jira simulator delivers webhooks: signature, identifiers, retries, flows, scenario events."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from tests.simulators.conftest import WebhookReceiver
from tests.simulators.jira_support import WEBHOOK_SECRET, JiraApi, start_jira


@pytest.fixture(scope="module")
def receiver():
    made = WebhookReceiver()
    yield made
    made.stop()


@pytest.fixture(scope="module")
def sim_process(receiver):
    process = start_jira("cloud", webhook_url=receiver.url, extra_args=("--tickets", "4", "--in-progress", "3",
                                                                          "--closed", "2"))
    yield process
    process.stop()


@pytest.fixture
def sim(sim_process, receiver):
    sim_process.admin("PUT", "/webhook", {"url": receiver.url, "secret": WEBHOOK_SECRET})
    sim_process.admin("POST", "/reset")
    receiver.clear()
    return sim_process


def body_of(delivery: dict) -> dict:
    return json.loads(delivery["body"])


def for_issue(issue_id: str, event: str):
    return lambda d: body_of(d).get("webhookEvent") == event and body_of(d).get("issue", {}).get("id") == issue_id


def test_signature_is_hmac_sha256_of_the_exact_body(sim, receiver):
    api = JiraApi(sim)
    created = api.new_issue()
    (delivery,) = receiver.wait_for(for_issue(created["id"], "jira:issue_created"))
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), delivery["body"], hashlib.sha256).hexdigest()
    assert delivery["headers"]["X-Hub-Signature"] == expected
    other = "sha256=" + hmac.new(b"another secret", delivery["body"], hashlib.sha256).hexdigest()
    assert delivery["headers"]["X-Hub-Signature"] != other


def test_no_signature_header_without_a_secret(sim, receiver):
    sim.admin("PUT", "/webhook", {"url": receiver.url, "secret": None})
    created = JiraApi(sim).new_issue()
    (delivery,) = receiver.wait_for(for_issue(created["id"], "jira:issue_created"))
    assert "X-Hub-Signature" not in delivery["headers"]
    assert delivery["headers"]["X-Atlassian-Webhook-Flow"] == "Primary"


def test_redelivery_keeps_identifier_and_body(sim, receiver):
    created = JiraApi(sim).new_issue()
    (first,) = receiver.wait_for(for_issue(created["id"], "jira:issue_created"))
    identifier = first["headers"]["X-Atlassian-Webhook-Identifier"]
    record = next(d for d in sim.deliveries() if d["delivery_id"] == identifier)
    sim.admin("POST", f"/deliveries/{record['id']}/redeliver")
    again = receiver.wait_for(for_issue(created["id"], "jira:issue_created"), count=2)[1]
    assert again["headers"]["X-Atlassian-Webhook-Identifier"] == identifier
    assert again["body"] == first["body"]


def test_failed_delivery_is_retried_with_the_same_identifier_and_a_retry_count(sim, receiver):
    receiver.answer_next(503)
    created = JiraApi(sim).new_issue()
    first, retry = receiver.wait_for(for_issue(created["id"], "jira:issue_created"), count=2)
    assert first["answered"] == 503 and "X-Atlassian-Webhook-Retry" not in first["headers"]
    assert retry["headers"]["X-Atlassian-Webhook-Identifier"] == first["headers"]["X-Atlassian-Webhook-Identifier"]
    assert retry["headers"]["X-Atlassian-Webhook-Retry"] == "1"


def test_each_event_has_its_own_identifier(sim, receiver):
    api = JiraApi(sim)
    created = api.new_issue()
    api.put(f"/issue/{created['id']}", json={"fields": {"customfield_10200": 40}})
    api.put(f"/issue/{created['id']}", json={"fields": {"customfield_10200": 55}})
    deliveries = receiver.wait_for(lambda d: body_of(d).get("issue", {}).get("id") == created["id"], count=3)
    assert len({d["headers"]["X-Atlassian-Webhook-Identifier"] for d in deliveries}) == 3


def test_the_service_own_write_fires_a_webhook_naming_it_as_the_actor(sim, receiver):
    api = JiraApi(sim)
    created = api.new_issue()
    api.put(f"/issue/{created['id']}", json={"fields": {"customfield_10200": 81}})
    (delivery,) = receiver.wait_for(lambda d: for_issue(created["id"], "jira:issue_updated")(d)
                                    and body_of(d).get("changelog") is not None)
    body = body_of(delivery)
    assert body["user"]["accountId"] == api.myself()["accountId"]
    assert [i["fieldId"] for i in body["changelog"]["items"]] == ["customfield_10200"]
    assert body["issue"]["fields"]["customfield_10200"] == 81


def test_deleting_an_issue_sends_its_comments_deleted_on_the_secondary_flow(sim, receiver):
    api = JiraApi(sim)
    created = api.new_issue()
    comment = api.post(f"/issue/{created['id']}/comment", json={"body": "Paper tray empty?"}).json()
    assert api.delete(f"/issue/{created['id']}").status_code == 204
    (deleted,) = receiver.wait_for(for_issue(created["id"], "jira:issue_deleted"))
    (cascade,) = receiver.wait_for(lambda d: body_of(d).get("webhookEvent") == "comment_deleted"
                                   and body_of(d)["comment"]["id"] == comment["id"])
    assert deleted["headers"]["X-Atlassian-Webhook-Flow"] == "Primary"
    assert cascade["headers"]["X-Atlassian-Webhook-Flow"] == "Secondary"
    assert "issue_event_type_name" not in body_of(deleted) and "changelog" not in body_of(deleted)


def test_scenario_advance_plays_the_plan_through_the_api_path_and_fires_webhooks(sim, receiver):
    outcomes = []
    while True:
        outcome = sim.admin("POST", "/scenario/advance")
        if outcome.get("done"):
            break
        outcomes.append(outcome)
    played = [o for o in outcomes if "skipped" not in o]
    assert played and len(played) == len(outcomes), [o for o in outcomes if "skipped" in o]
    created = [o for o in played if o["action"] == "create"]
    assert created, "the plan opens new tickets after the anchor"
    api = JiraApi(sim)
    for outcome in created:
        issue = api.issue(outcome["issue_id"])
        assert issue["key"] == outcome["issue_key"]
    kinds = {(body_of(d)["webhookEvent"], body_of(d).get("issue_event_type_name")) for d in
             receiver.wait_for(lambda d: True, count=sum(len(o["events"]) for o in played))}
    assert ("jira:issue_created", "issue_created") in kinds
    assert ("jira:issue_updated", "issue_assigned") in kinds
    assert any(kind == "comment_created" for kind, _ in kinds)
    assert ("jira:issue_updated", "issue_generic") in kinds  # Cloud names every transition so


def test_reset_returns_to_the_seeded_issues(sim):
    api = JiraApi(sim)
    before = api.search("project = SD", maxResults=0)["total"]
    seeded = api.search("project = SD ORDER BY key ASC", maxResults=1)["issues"][0]
    api.new_issue()
    api.put(f"/issue/{seeded['id']}", json={"fields": {"summary": "Changed by a test"}})
    sim.admin("POST", "/reset")
    assert api.search("project = SD", maxResults=0)["total"] == before
    assert api.issue(seeded["id"])["fields"]["summary"] == seeded["fields"]["summary"]


def test_comment_edit_and_delete_send_their_own_events(sim, receiver):
    api = JiraApi(sim)
    created = api.new_issue()
    comment = api.post(f"/issue/{created['id']}/comment", json={"body": "Tried a restart."}).json()
    edited = api.put(f"/issue/{created['id']}/comment/{comment['id']}", json={"body": "Tried two restarts."})
    assert edited.status_code == 200 and edited.json()["body"] == "Tried two restarts."
    assert api.delete(f"/issue/{created['id']}/comment/{comment['id']}").status_code == 204

    def about_comment(event):
        return lambda d: body_of(d).get("webhookEvent") == event and body_of(d).get("comment", {}).get("id") == comment["id"]

    (updated,) = receiver.wait_for(about_comment("comment_updated"))
    (deleted,) = receiver.wait_for(about_comment("comment_deleted"))
    assert body_of(updated)["comment"]["body"] == "Tried two restarts."
    assert body_of(deleted)["issue"]["id"] == created["id"]
    type_names = {body_of(d).get("issue_event_type_name")
                  for d in receiver.wait_for(about_comment("jira:issue_updated"), count=3)}
    assert type_names == {"issue_commented", "issue_comment_edited", "issue_comment_deleted"}
