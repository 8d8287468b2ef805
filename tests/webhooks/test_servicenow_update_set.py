"""The ServiceNow side the project ships: the update set is importable, current, and its
Script Include (run under Node with stand-ins for the Glide APIs) sends events the endpoint
accepts with the meaning intended."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.webhooks.helpers import SNOW_SECRET, SNOW_SECRET_ENV, WebhookSender

ROOT = Path(__file__).resolve().parents[2]
UPDATE_SET = ROOT / "integrations" / "servicenow" / "xla_bridge_update_set.xml"
SCRIPT_INCLUDE = ROOT / "integrations" / "servicenow" / "src" / "XLABridgeEvents.js"
HARNESS = Path(__file__).resolve().parent / "servicenow_business_rule_harness.js"
SYS_ID = "5f1c2b7e9a3d4c60b8e7f2a1d4c3b6a9"


def update_records() -> dict[str, ET.Element]:
    """Each sys_update_xml payload's record element, by target name."""
    root = ET.parse(UPDATE_SET).getroot()
    assert root.tag == "unload"
    [remote] = root.findall("sys_remote_update_set")
    records = {}
    for update in root.findall("sys_update_xml"):
        assert update.findtext("remote_update_set") == remote.findtext("sys_id")
        payload = ET.fromstring(update.findtext("payload").split("?>", 1)[1])
        assert payload.tag == "record_update"
        [element] = list(payload)
        assert element.tag == payload.get("table")
        assert update.findtext("name") == f"{element.tag}_{element.findtext('sys_id')}"
        records[update.findtext("target_name")] = element
    return records


def test_update_set_holds_every_record_and_is_current():
    records = update_records()
    rule = records["XLA Bridge: queue ticket event"]
    assert (rule.findtext("collection"), rule.findtext("when")) == ("task", "after")
    assert [rule.findtext(f"action_{op}") for op in ("insert", "update", "delete")] == ["true"] * 3
    assert "XLABridgeEvents().queue(current, previous)" in rule.findtext("script")
    action = records["XLA Bridge: send ticket event"]
    assert action.findtext("event_name") == records["x_xla_bridge.ticket_event"].findtext("event_name")
    include = records["XLABridgeEvents"]
    assert include.findtext("script") == SCRIPT_INCLUDE.read_text()
    assert "GlideCertificateEncryption().generateMac(key, 'HmacSHA256'" in include.findtext("script")
    secret = records["x_xla_bridge.secret"]
    assert (secret.findtext("type"), secret.findtext("is_private"), secret.findtext("value")) == \
        ("password2", "true", "")
    for name in ("x_xla_bridge.endpoint", "x_xla_bridge.fields", "x_xla_bridge.tables", "x_xla_bridge.enabled"):
        assert records[name].tag == "sys_properties"
    assert records["XLA Bridge"].tag == "sys_rest_message"
    built = subprocess.run([sys.executable, str(ROOT / "integrations" / "servicenow" / "build_update_set.py"),
                            "--check"], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr


def incident(operation: str, changed=(), journal=None, **values) -> dict:
    base = {"sys_id": SYS_ID, "number": "INC0010042", "state": "2", "priority": "3",
            "caller_id": "62826bf03710200044e0bfc8bcbe5df1", "assigned_to": "46d44a23a9fe19810012d100cca80666",
            "assignment_group": "d625dccec0a8016700a222a0f7900d06", "reassignment_count": "0", "reopen_count": "0",
            "close_code": "", "sys_mod_count": "4", "sys_updated_on": "2026-11-23 10:15:42",
            "sys_updated_by": "beth.anglin", "comments": "", "work_notes": ""}
    base.update(values)
    return {"table": "incident", "operation": operation, "values": base, "changed": list(changed),
            "journal": journal or {}}


def run_business_rule(url: str, steps: list, *, secret: str = SNOW_SECRET, user: str = "beth.anglin",
                      **properties) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the Business Rule's script cannot be run here")
    scenario = {"source": str(SCRIPT_INCLUDE), "user": user, "now_ms": int(time.time() * 1000), "steps": steps,
                "properties": {"x_xla_bridge.endpoint": f"{url}/webhooks/snow", "x_xla_bridge.secret": secret,
                               **properties}}
    done = subprocess.run([node, str(HARNESS)], input=json.dumps(scenario), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_business_rule_events_are_accepted_with_their_meaning(app, serve):
    url = serve(app)
    resolved = incident("update", changed=["state", "close_code", "sys_updated_on"], state="6",
                        close_code="Solved (Permanently)", sys_mod_count="5")
    previous = incident("update", state="2")
    commented = incident("update", changed=["sys_updated_on"], journal={"comments": "Merci, ça marche ✓"},
                         sys_mod_count="6", sys_updated_by="ana.customer")
    created = incident("insert", sys_id="6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b", number="INC0010043", sys_mod_count="0")
    deleted = incident("delete", sys_id="9a8b7c6d5e4f30211f2e3d4c5b6a7980", number="INC0010044")
    outcome = run_business_rule(url, [{"queue": {"record": resolved, "previous": previous}},
                                      {"queue": {"record": commented, "previous": previous}},
                                      {"queue": {"record": created}},
                                      {"queue": {"record": deleted}},
                                      {"deliver": True}])
    assert [request["status"] for request in outcome["requests"]] == [202] * 4, outcome["results"]
    assert outcome["scheduled"] == [] and outcome["logs"] == []
    assert all(body.isascii() for body in outcome["results"][:4])

    rows = {row.delivery_id: row.event for row in WebhookSender(app, app.test_client()).inbox("snow")}
    assert rows[f"incident.{SYS_ID}.5"]["lifecycle"] == ["resolved"]
    assert rows[f"incident.{SYS_ID}.5"]["changed_fields"] == ["state", "close_code", "sys_updated_on"]
    comment = rows[f"incident.{SYS_ID}.6"]
    assert comment["lifecycle"] == ["commented"] and comment["comment_public"] is True
    assert comment["comment_text"].strip() == "Merci, ça marche ✓"
    assert rows["incident.6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b.0"]["lifecycle"] == ["created", "assigned"]
    assert rows["incident.9a8b7c6d5e4f30211f2e3d4c5b6a7980.4"]["lifecycle"] == ["deleted"]


def test_business_rule_stays_quiet_about_changes_nobody_needs(app, serve):
    url = serve(app)
    housekeeping = incident("update", changed=["sys_updated_on"])        # e.g. XLA Bridge's own u_xla_* write
    other_table = dict(incident("update", changed=["state"]), table="problem")
    by_integration = incident("update", changed=["state"], state="6")
    outcome = run_business_rule(url, [{"queue": {"record": housekeeping}}, {"queue": {"record": other_table}}])
    assert outcome["queued"] == []
    quiet = run_business_rule(url, [{"queue": {"record": by_integration}}], user="xla.integration",
                              **{"x_xla_bridge.ignore_users": "xla.integration, svc.other"})
    assert quiet["queued"] == []
    switched_off = run_business_rule(url, [{"queue": {"record": by_integration}}],
                                     **{"x_xla_bridge.enabled": "false"})
    assert switched_off["queued"] == []


def test_business_rule_retries_a_refused_signature_later_and_gives_up_in_the_end(app, serve):
    url = serve(app)
    event = incident("update", changed=["state"], state="6", sys_mod_count="9")
    outcome = run_business_rule(url, [{"queue": {"record": event}}, {"deliver": True}],
                                secret="whsec_bm90LXRoZS1zaGFyZWQtc2VjcmV0")
    assert [request["status"] for request in outcome["requests"]] == [401]
    [retry] = outcome["scheduled"]
    assert json.loads(retry["parm2"]) == {"attempt": 2}
    assert 15 <= retry["delay_s"] <= 30
    last = run_business_rule(url, [{"deliver_body": retry["parm1"], "state": json.dumps({"attempt": 8})}],
                             secret="whsec_bm90LXRoZS1zaGFyZWQtc2VjcmV0")
    assert last["scheduled"] == []
    assert last["logs"][0][0] == "error" and "not delivered after 8 attempts" in last["logs"][0][1]
    assert WebhookSender(app, app.test_client()).stored_anything() == 0


def test_business_rule_with_a_plain_secret_signs_its_utf8_bytes(make_app, serve, monkeypatch):
    monkeypatch.setenv(SNOW_SECRET_ENV, "plain shared secret")
    app = make_app()
    url = serve(app)
    event = incident("update", changed=["state"], state="8", sys_mod_count="3")
    outcome = run_business_rule(url, [{"queue": {"record": event}}, {"deliver": True}],
                                secret="plain shared secret")
    assert [request["status"] for request in outcome["requests"]] == [202]
    [row] = WebhookSender(app, app.test_client()).inbox("snow")
    assert row.event["lifecycle"] == ["canceled"]
