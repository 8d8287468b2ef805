"""The signed ServiceNow event: delivery, signature, retries, redelivery and the scenario."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import requests

from tests.simulators.conftest import SERVICENOW_USERS, WEBHOOK_SECRET, wait_until

INTEGRATION = ("xla.integration", SERVICENOW_USERS["xla.integration"])


def expected_signature(secret_key: bytes, delivery: dict) -> str:
    """What docs/architecture.md says the signature is, computed independently of the simulator."""
    headers = delivery["headers"]
    message = f"{headers['Webhook-Id']}.{headers['Webhook-Timestamp']}.".encode() + delivery["body"]
    return "v1," + base64.b64encode(hmac.new(secret_key, message, hashlib.sha256).digest()).decode()


def first_incident(sim):
    return requests.get(f"{sim.url}/api/now/table/incident",
                        params={"sysparm_limit": 1, "sysparm_query": "active=true"},
                        auth=INTEGRATION, timeout=10).json()["result"][0]


def patch(sim, sys_id, values):
    response = requests.patch(f"{sim.url}/api/now/table/incident/{sys_id}", json=values,
                              auth=INTEGRATION, timeout=10)
    assert response.status_code == 200
    return response.json()["result"]


def event_of(delivery):
    return json.loads(delivery["body"])


class TestDelivery:
    def test_update_sends_one_signed_event(self, servicenow, webhook_receiver):
        incident = first_incident(servicenow)
        updated = patch(servicenow, incident["sys_id"], {"urgency": "1", "work_notes": "checking"})
        delivery_id = f"incident.{incident['sys_id']}.{updated['sys_mod_count']}"
        [delivery] = webhook_receiver.wait_for(lambda d: d["headers"].get("Webhook-Id") == delivery_id)
        headers = delivery["headers"]
        assert headers["Content-Type"] == "application/json"
        assert abs(int(headers["Webhook-Timestamp"]) - time.time()) < 300
        assert headers["Webhook-Signature"] == expected_signature(WEBHOOK_SECRET.encode(), delivery)
        event = event_of(delivery)
        assert event["event_version"] == 1 and event["operation"] == "update"
        assert event["table"] == "incident" and event["sys_id"] == incident["sys_id"]
        assert event["number"] == incident["number"]
        assert event["sys_mod_count"] == int(updated["sys_mod_count"])
        assert event["sys_updated_by"] == "xla.integration"
        assert set(event["changed_fields"]) == {"urgency", "priority", "work_notes"}
        assert event["record"]["priority"] == updated["priority"]
        assert {"number", "state", "caller_id", "assigned_to", "assignment_group", "cmdb_ci",
                "reassignment_count", "reopen_count", "sys_updated_on"} <= set(event["record"])
        assert event["journal"][0]["element"] == "work_notes" and event["journal"][0]["value"] == "checking"

    def test_insert_and_delete_send_events_with_distinct_ids(self, servicenow, webhook_receiver):
        created = requests.post(f"{servicenow.url}/api/now/table/incident", json={"short_description": "x"},
                                auth=INTEGRATION, timeout=10).json()["result"]
        requests.delete(f"{servicenow.url}/api/now/table/incident/{created['sys_id']}",
                        auth=INTEGRATION, timeout=10)
        deliveries = webhook_receiver.wait_for(lambda d: event_of(d)["sys_id"] == created["sys_id"], count=2)
        operations = {event_of(d)["operation"]: d["headers"]["Webhook-Id"] for d in deliveries}
        assert set(operations) == {"insert", "delete"}
        assert operations["insert"] == f"incident.{created['sys_id']}.0"
        assert operations["delete"] == f"incident.{created['sys_id']}.1"

    def test_no_event_when_nothing_changed(self, servicenow, webhook_receiver):
        incident = first_incident(servicenow)
        patch(servicenow, incident["sys_id"], {"urgency": incident["urgency"]})
        patch(servicenow, incident["sys_id"], {"u_xla_score": 50})  # a real change, as a fence
        [fence] = webhook_receiver.wait_for(lambda d: event_of(d)["changed_fields"] == ["u_xla_score"])
        assert [d["headers"]["Webhook-Id"] for d in webhook_receiver.deliveries()] == [fence["headers"]["Webhook-Id"]]

    def test_deliveries_log_lists_what_was_sent(self, servicenow, webhook_receiver):
        incident = first_incident(servicenow)
        updated = patch(servicenow, incident["sys_id"], {"u_xla_band": "good"})
        log = wait_until(lambda: [d for d in servicenow.deliveries() if d["status"] == "delivered"],
                         message="a delivered delivery")
        assert log[0]["delivery_id"] == f"incident.{incident['sys_id']}.{updated['sys_mod_count']}"
        assert log[0]["ticket"] == f"incident:{incident['sys_id']}"
        assert log[0]["attempts"] == 1 and log[0]["http_status"] == 204
        assert log[0]["event"]["changed_fields"] == ["u_xla_band"]


class TestRetriesAndRedelivery:
    def test_failed_delivery_is_retried_with_the_same_id(self, servicenow, webhook_receiver):
        webhook_receiver.answer_next(500, 503)
        incident = first_incident(servicenow)
        patch(servicenow, incident["sys_id"], {"u_xla_score": 12})
        attempts = webhook_receiver.wait_for(lambda d: True, count=3)
        assert [a["answered"] for a in attempts] == [500, 503, 204]
        assert len({a["headers"]["Webhook-Id"] for a in attempts}) == 1
        assert len({a["body"] for a in attempts}) == 1
        log = wait_until(lambda: [d for d in servicenow.deliveries() if d["status"] == "delivered"],
                         message="delivery marked delivered")
        assert log[0]["attempts"] == 3

    def test_delivery_fails_after_its_attempts(self, servicenow, webhook_receiver):
        webhook_receiver.answer_next(500, 500, 500, 500)
        patch(servicenow, first_incident(servicenow)["sys_id"], {"u_xla_score": 13})
        failed = wait_until(lambda: [d for d in servicenow.deliveries() if d["status"] == "failed"],
                            message="delivery marked failed")
        assert failed[0]["attempts"] == 4 and failed[0]["http_status"] == 500

    def test_redeliver_sends_the_same_identifier_and_body(self, servicenow, webhook_receiver):
        patch(servicenow, first_incident(servicenow)["sys_id"], {"u_xla_score": 14})
        [original] = webhook_receiver.wait_for(lambda d: True)
        number = servicenow.deliveries()[0]["id"]
        again = servicenow.admin("POST", f"/deliveries/{number}/redeliver")
        assert again["redelivery_of"] == number and again["id"] != number
        both = webhook_receiver.wait_for(lambda d: True, count=2)
        assert both[1]["headers"]["Webhook-Id"] == original["headers"]["Webhook-Id"]
        assert both[1]["body"] == original["body"]
        assert both[1]["headers"]["Webhook-Signature"] == expected_signature(WEBHOOK_SECRET.encode(), both[1])

    def test_undeliverable_without_url_then_redelivered_once_configured(self, servicenow, webhook_receiver):
        servicenow.admin("PUT", "/webhook", {"url": None, "secret": WEBHOOK_SECRET})
        patch(servicenow, first_incident(servicenow)["sys_id"], {"u_xla_score": 15})
        [held] = servicenow.deliveries()
        assert held["status"] == "no_url"
        servicenow.admin("PUT", "/webhook", {"url": webhook_receiver.url, "secret": WEBHOOK_SECRET})
        servicenow.admin("POST", f"/deliveries/{held['id']}/redeliver")
        [delivery] = webhook_receiver.wait_for(lambda d: True)
        assert delivery["headers"]["Webhook-Id"] == held["delivery_id"]


class TestSecrets:
    def test_standard_webhooks_secret_is_base64_decoded(self, servicenow, webhook_receiver):
        key = b"0123456789abcdef0123456789abcdef"
        servicenow.admin("PUT", "/webhook", {"url": webhook_receiver.url,
                                             "secret": "whsec_" + base64.b64encode(key).decode()})
        patch(servicenow, first_incident(servicenow)["sys_id"], {"u_xla_score": 16})
        [delivery] = webhook_receiver.wait_for(lambda d: True)
        assert delivery["headers"]["Webhook-Signature"] == expected_signature(key, delivery)

    def test_rotation_sends_one_signature_per_secret(self, servicenow, webhook_receiver):
        servicenow.admin("PUT", "/webhook", {"url": webhook_receiver.url, "secret": "old-secret new-secret"})
        patch(servicenow, first_incident(servicenow)["sys_id"], {"u_xla_score": 17})
        [delivery] = webhook_receiver.wait_for(lambda d: True)
        signatures = delivery["headers"]["Webhook-Signature"].split(" ")
        assert signatures == [expected_signature(b"old-secret", delivery),
                              expected_signature(b"new-secret", delivery)]

    def test_no_secret_no_signature(self, servicenow, webhook_receiver):
        servicenow.admin("PUT", "/webhook", {"url": webhook_receiver.url, "secret": None})
        patch(servicenow, first_incident(servicenow)["sys_id"], {"u_xla_score": 18})
        [delivery] = webhook_receiver.wait_for(lambda d: True)
        assert "Webhook-Signature" not in delivery["headers"] and "Webhook-Id" in delivery["headers"]


class TestScenario:
    def test_advance_plays_a_step_as_its_actor_and_fires_the_event(self, servicenow, webhook_receiver):
        step = servicenow.admin("POST", "/scenario/advance")
        table, sys_id = step["ticket"].split(":")
        assert step["action"] and step["number"]
        [delivery] = webhook_receiver.wait_for(lambda d: event_of(d)["sys_id"] == sys_id)
        event = event_of(delivery)
        assert event["table"] == table and event["number"] == step["number"]
        assert event["sys_updated_by"] == step["actor"] != "xla.integration"
        record = requests.get(f"{servicenow.url}/api/now/table/{table}/{sys_id}", auth=INTEGRATION,
                              timeout=10).json()["result"]
        assert delivery["headers"]["Webhook-Id"] == f"{table}.{sys_id}.{record['sys_mod_count']}"

    def test_reset_replays_the_same_steps(self, servicenow):
        first = [servicenow.admin("POST", "/scenario/advance") for _ in range(5)]
        servicenow.admin("POST", "/reset")
        again = [servicenow.admin("POST", "/scenario/advance") for _ in range(5)]
        assert [(s["ticket"], s["action"], s["number"]) for s in first] == \
            [(s["ticket"], s["action"], s["number"]) for s in again]

    def test_small_world_plays_out_to_done(self, start_sim):
        sim = start_sim("servicenow", users=SERVICENOW_USERS,
                        extra_args=("--tickets", "3", "--in-progress", "2", "--closed", "1"))
        actions, step = [], {}
        for _ in range(200):
            step = sim.admin("POST", "/scenario/advance")
            if step.get("done"):
                break
            actions.append(step["action"])
        assert step == {"done": True, "remaining": 0}
        assert "create" in actions and "resolve" in actions
        states = requests.get(f"{sim.url}/api/now/table/incident", params={"sysparm_fields": "state"},
                              auth=INTEGRATION, timeout=10).json()["result"]
        assert states and all(s["state"] in ("6", "7") for s in states)
