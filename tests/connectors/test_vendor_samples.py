"""The connectors read what the vendors document, not only what our simulators send.

ServiceNow: the official Table API samples in `../shared/fixtures/servicenow` (reference fields as
`{"link", "value"}`, numbers as strings). Jira Service Management: an SLA field in the shape
Atlassian documents for `com.atlassian.servicedesk:sd-sla-field` values.
"""
from __future__ import annotations

import json

import pytest

from connectors.errors import FieldNotEditable
from connectors.jira import _sla_state
from connectors.servicenow import ServiceNowConnector
from settings.model import AuthSettings, ConnectionSettings

SAMPLE = "ServiceNow__ServiceNowDocs__c_TableAPI__sample_{}.json"


@pytest.fixture
def servicenow_connector(monkeypatch):
    monkeypatch.setenv("XLA_TEST_SAMPLES_TOKEN", "unused-password")
    return ServiceNowConnector(ConnectionSettings(
        id="docs", tool="servicenow", base_url="https://instance.servicenow.com",
        auth=AuthSettings(kind="basic", token_env="XLA_TEST_SAMPLES_TOKEN", user="xla.integration")))


def load(shared_dir, name):
    path = shared_dir / "fixtures" / "servicenow" / SAMPLE.format(name)
    if not path.exists():
        pytest.skip(f"{path.name} is not in ../shared/fixtures/servicenow")
    return json.loads(path.read_text())["result"]


@pytest.mark.parametrize("sample", ["GET_single_0", "PATCH_single_0", "PUT_single_0", "POST_0"])
def test_documented_single_record_answers_become_raw_tickets(shared_dir, servicenow_connector, sample):
    record = load(shared_dir, sample)
    ticket = servicenow_connector._raw_ticket("incident", record, resolve_people=False)
    assert ticket.ticket_key == f"incident:{record['sys_id']}" and ticket.number == record["number"]
    assert ticket.version == int(record["sys_mod_count"])
    for name, value in record.items():  # references flatten to their sys_id, scalars stay as sent
        assert ticket.fields[name] == (value["value"] if isinstance(value, dict) else value)
    if record.get("assigned_to"):
        assert ticket.people["assigned_to"].key == record["assigned_to"]["value"]


def test_documented_list_answer_becomes_raw_tickets(shared_dir, servicenow_connector):
    rows = load(shared_dir, "GET_list_0")
    tickets = [servicenow_connector._raw_ticket("problem", row, resolve_people=False) for row in rows]
    assert [t.number for t in tickets] == [row["number"] for row in rows]


def test_a_documented_patch_answer_confirms_or_refutes_the_values_written(shared_dir, servicenow_connector):
    record = load(shared_dir, "PATCH_single_0")
    servicenow_connector._check_kept("incident", "incident:x", {"state": int(record["state"])}, record)
    with pytest.raises(FieldNotEditable, match="field state of incident:x did not keep the value written"):
        servicenow_connector._check_kept("incident", "incident:x", {"state": int(record["state"]) + 1}, record)


def test_jira_service_management_sla_fields_become_sla_states():
    ongoing = {"id": "2", "name": "Time to resolution",
               "ongoingCycle": {"breached": True, "paused": False, "withinCalendarHours": True,
                                "goalDuration": {"millis": 14_400_000}, "elapsedTime": {"millis": 18_000_000},
                                "remainingTime": {"millis": -3_600_000}}}
    done = {"id": "1", "name": "Time to first response",
            "completedCycles": [{"breached": False, "goalDuration": {"millis": 3_600_000},
                                 "elapsedTime": {"millis": 900_000}, "remainingTime": {"millis": 2_700_000}}]}
    breached_now, met = _sla_state(ongoing), _sla_state(done)
    assert (breached_now.name, breached_now.stage, breached_now.has_breached) == ("Time to resolution", "in_progress", True)
    assert breached_now.percentage == pytest.approx(125.0) and breached_now.business_time_left_s == -3600
    assert (met.stage, met.has_breached, met.percentage) == ("completed", False, pytest.approx(25.0))
    assert _sla_state({"id": "3", "name": "Never started"}) is None
