"""ServiceNow incident, change_request and sc_req_item records -> canonical tickets."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from domain.ticket import Person, Stage, TicketKind
from mappers import default_mapping, load_mapping_section, map_ticket

from tests.mappers.conftest import load_fixture, servicenow_raw


@pytest.fixture
def mapping():
    return default_mapping("servicenow")


def incident(**changes):
    record = load_fixture("servicenow", "incident__resolved_after_reassignment")["result"]
    for name, value in changes.items():
        record[name] = {"value": value, "display_value": value}
    return servicenow_raw(record, "incident")


class TestIncident:
    def test_every_attribute_is_read(self, mapping):
        ticket = map_ticket(incident(), mapping)
        assert ticket.number == "INC0010044"
        assert ticket.ticket_key == "incident:1c741bd70b2322007518478d83673af3"
        assert (ticket.kind, ticket.stage, ticket.priority) == (TicketKind.INCIDENT, Stage.RESOLVED, 2)
        assert ticket.caller.key == "5137153cc611227c000bbd1bd8cd2005"
        assert ticket.caller.name == "Fred Luddy"
        assert ticket.vip is True and ticket.caller.vip is True
        assert ticket.language == "de"
        assert ticket.assignee == "46d44a23a9fe19810012d100cca80666"
        assert ticket.assignment_group == "287ebd7da9fe198100f92cc8d1d2154e"
        assert ticket.service == "27d32778c0a8000b00db970eeaa60f16"
        assert ticket.ci == "281190e3c0a8000b003f593aa3f20ca6"
        assert (ticket.category, ticket.channel, ticket.location) == ("network", "portal", "Frankfurt")
        assert ticket.opened_at == datetime(2026, 11, 19, 7, 15, tzinfo=timezone.utc)
        assert ticket.resolved_at == datetime(2026, 11, 20, 16, 42, 10, tzinfo=timezone.utc)
        assert ticket.closed_at is None
        assert (ticket.reassignment_count, ticket.reopen_count) == (3, 1)
        assert ticket.sla_breached is True
        assert ticket.version == 11
        assert ticket.unknown_values == ()

    def test_display_names_travel_beside_the_stable_ids(self, mapping):
        ticket = map_ticket(incident(), mapping)
        assert ticket.extra["display"] == {"assignee": "Beth Anglin", "group": "Network", "service": "Email",
                                           "ci": "EXCH-SD-05", "category": "Network", "caller": "Fred Luddy"}
        assert ticket.extra["table"] == "incident"
        assert ticket.extra["state"] == "6"

    @pytest.mark.parametrize("code,stage", [("1", Stage.NEW), ("2", Stage.IN_PROGRESS), ("3", Stage.ON_HOLD),
                                            ("6", Stage.RESOLVED), ("7", Stage.CLOSED), ("8", Stage.CANCELED)])
    def test_incident_states(self, mapping, code, stage):
        assert map_ticket(incident(state=code), mapping).stage is stage

    def test_made_sla_true_means_not_breached(self, mapping):
        assert map_ticket(incident(made_sla="true"), mapping).sla_breached is False
        assert map_ticket(incident(made_sla=""), mapping).sla_breached is None

    def test_connector_resolved_caller_is_used_and_vip_kept(self, mapping):
        caller = Person(key="5137153cc611227c000bbd1bd8cd2005", name="Fred Luddy", email="fred@example.com",
                        vip=False, language="fr", country="FR")
        record = load_fixture("servicenow", "incident__resolved_after_reassignment")["result"]
        ticket = map_ticket(servicenow_raw(record, "incident", people={"caller_id": caller}), mapping)
        assert ticket.caller.email == "fred@example.com"
        assert ticket.vip is True and ticket.caller.vip is True  # caller_id.vip says so
        assert ticket.language == "de"  # the dot-walked preferred language of the record


class TestOtherTables:
    def test_change_request(self, mapping):
        raw = servicenow_raw(load_fixture("servicenow", "change_request__implementing"), "change_request")
        ticket = map_ticket(raw, mapping)
        assert (ticket.kind, ticket.stage, ticket.priority) == (TicketKind.CHANGE, Stage.IMPLEMENTING, 3)
        assert ticket.caller.key == "6816f79cc0a8016401c5a33be04be441"
        assert ticket.resolved_at is None and ticket.reopen_count == 0
        assert ticket.sla_breached is False
        assert ticket.unknown_values == ()

    @pytest.mark.parametrize("code,stage", [("-5", Stage.NEW), ("-4", Stage.IN_PROGRESS), ("-3", Stage.IN_PROGRESS),
                                            ("-2", Stage.SCHEDULED), ("-1", Stage.IMPLEMENTING), ("0", Stage.REVIEW),
                                            ("3", Stage.CLOSED), ("4", Stage.CANCELED)])
    def test_change_states(self, mapping, code, stage):
        record = load_fixture("servicenow", "change_request__implementing")["result"]
        record["state"] = {"value": code, "display_value": code}
        assert map_ticket(servicenow_raw(record, "change_request"), mapping).stage is stage

    def test_requested_item(self, mapping):
        raw = servicenow_raw(load_fixture("servicenow", "sc_req_item__closed_complete"), "sc_req_item")
        ticket = map_ticket(raw, mapping)
        assert (ticket.kind, ticket.stage, ticket.priority) == (TicketKind.REQUEST, Stage.CLOSED, 4)
        assert ticket.caller.name == "Abel Tuter"
        assert ticket.channel == "email"
        assert ticket.closed_at == datetime(2026, 11, 12, 10, 5, tzinfo=timezone.utc)

    def test_table_comes_from_the_key_when_not_given(self, mapping):
        raw = servicenow_raw(load_fixture("servicenow", "sc_req_item__closed_complete"), "sc_req_item")
        raw = type(raw)(**{**raw.__dict__, "table": None})
        assert map_ticket(raw, mapping).kind is TicketKind.REQUEST


class TestUnknownValues:
    def test_unknown_state_is_reported_and_the_timestamps_decide(self, mapping):
        ticket = map_ticket(incident(state="9"), mapping)
        assert ticket.stage is Stage.RESOLVED  # resolved_at is set
        assert ticket.unknown_values == ("stage (state): '9' has no entry in tables.incident.stages",)

    def test_unknown_priority_and_bad_date_do_not_stop_the_mapping(self, mapping):
        ticket = map_ticket(incident(priority="P0", opened_at="yesterday"), mapping)
        assert ticket.priority is None and ticket.opened_at is None
        assert set(ticket.unknown_values) == {"priority (priority): 'P0' has no entry in priorities",
                                              "opened_at (opened_at): 'yesterday' is not a date and time"}

    def test_a_table_without_mapping_is_other(self, mapping):
        record = load_fixture("servicenow", "incident__resolved_after_reassignment")["result"]
        ticket = map_ticket(servicenow_raw(record, "problem"), mapping)
        assert ticket.kind is TicketKind.OTHER
        assert "kind: 'problem' is a table the mapping has no entry for in tables" in ticket.unknown_values

    def test_labelled_values_from_an_export_keep_their_code(self, mapping):
        ticket = map_ticket(incident(priority="3 - Moderate", state="7 - Closed"), mapping)
        assert (ticket.priority, ticket.stage) == (3, Stage.CLOSED)

    def test_a_tool_of_the_wrong_kind_is_a_wiring_mistake(self):
        with pytest.raises(ValueError, match="cannot be read with a jira mapping"):
            map_ticket(incident(), default_mapping("jira"))


def test_admin_state_map_of_a_customised_instance(mapping):
    custom, problems = load_mapping_section(
        {"tables": {"incident": {"stages": {"9": "on_hold"}}}, "channels": {"teams": "chat"}}, tool="servicenow")
    assert problems == []
    ticket = map_ticket(incident(state="9", contact_type="Teams"), custom)
    assert (ticket.stage, ticket.channel, ticket.unknown_values) == (Stage.ON_HOLD, "chat", ())


def test_the_official_table_api_sample_maps(shared_dir, mapping):
    path = shared_dir / "fixtures" / "servicenow" / "ServiceNow__ServiceNowDocs__c_TableAPI__sample_GET_single_0.json"
    if not path.exists():
        pytest.skip(f"{path.name} is not in ../shared/fixtures/servicenow")
    record = json.loads(path.read_text())["result"]  # plain values, references as {"link", "value"}
    ticket = map_ticket(servicenow_raw(record, record["sys_class_name"]), mapping)
    assert (ticket.number, ticket.kind, ticket.stage, ticket.priority) == ("INC0000046", TicketKind.INCIDENT,
                                                                            Stage.NEW, 3)
    assert ticket.caller.key == "46c6f9efa9fe198101ddf5eed9adf6e7"
    assert ticket.assignment_group == "8a4dde73c6112278017a6a4baf547aa7"
    assert (ticket.reassignment_count, ticket.reopen_count, ticket.sla_breached) == (1, 0, True)
    assert ticket.channel == "phone" and ticket.version == 4
    assert ticket.unknown_values == ()
