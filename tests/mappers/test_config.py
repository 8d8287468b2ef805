"""`[connections.mapping]`: defaults, deep merge, and one precise line per configuration mistake."""
from __future__ import annotations

import pytest

from domain.ticket import Stage, TicketKind
from mappers import default_mapping, load_mapping_section
from settings import ConfigError, load_settings_from_mapping


class TestDefaults:
    def test_empty_table_is_a_standard_servicenow_instance(self):
        mapping, problems = load_mapping_section({}, tool="servicenow")
        assert problems == []
        assert mapping.tables["incident"].stages["6"] is Stage.RESOLVED
        assert mapping.tables["change_request"].stages["-1"] is Stage.IMPLEMENTING
        assert mapping.tables["sc_req_item"].kind is TicketKind.REQUEST
        assert mapping.inbound_for("change_request")["caller"] == ("requested_by",)
        assert mapping.inbound_for("incident")["caller"] == ("caller_id",)
        assert mapping.outbound["score"].field == "u_xla_score"
        assert mapping.outbound["followup"].shape == "boolean"

    def test_empty_table_is_a_standard_jira_service_management_project(self):
        mapping, problems = load_mapping_section({}, tool="jira")
        assert problems == []
        assert mapping.issue_types["[system] incident"] is TicketKind.INCIDENT
        assert mapping.statuses["waiting for customer"] is Stage.ON_HOLD
        assert mapping.status_categories["done"] is Stage.RESOLVED
        assert mapping.outbound["band"].field == "Experience Band"
        assert mapping.choices["band"]["good"] == "Good"
        assert mapping.inbound["sla_breached"] == ("Time to resolution", "Time to first response")

    def test_mapping_cannot_be_changed_after_loading(self):
        mapping = default_mapping("servicenow")
        with pytest.raises(TypeError):
            mapping.inbound["caller"] = ("opened_by",)
        with pytest.raises(AttributeError):
            mapping.tool = "jira"


class TestDeepMerge:
    def test_renaming_an_output_keeps_its_type_and_the_other_outputs(self):
        mapping, problems = load_mapping_section({"outbound": {"score": "u_experience"}}, tool="servicenow")
        assert problems == []
        assert mapping.outbound["score"].field == "u_experience"
        assert mapping.outbound["score"].shape == "integer"
        assert mapping.outbound["band"].field == "u_xla_band"

    def test_a_new_status_joins_the_default_ones(self):
        mapping, _ = load_mapping_section({"statuses": {"Waiting for vendor": "on_hold"}}, tool="jira")
        assert mapping.statuses["waiting for vendor"] is Stage.ON_HOLD
        assert mapping.statuses["resolved"] is Stage.RESOLVED

    def test_admin_spelling_of_a_default_key_wins(self):
        mapping, _ = load_mapping_section({"statuses": {"DONE": "closed"}}, tool="jira")
        assert mapping.statuses["done"] is Stage.CLOSED

    def test_empty_string_switches_a_field_off(self):
        mapping, _ = load_mapping_section({"outbound": {"survey_comment": ""}, "inbound": {"service": ""}},
                                          tool="servicenow")
        assert not mapping.outbound["survey_comment"].enabled
        assert mapping.inbound["service"] == ()

    def test_a_table_override_reaches_only_that_table(self):
        raw = {"tables": {"incident": {"inbound": {"caller": "opened_by"}}}}
        mapping, _ = load_mapping_section(raw, tool="servicenow")
        assert mapping.inbound_for("incident")["caller"] == ("opened_by",)
        assert mapping.inbound_for("sc_req_item")["caller"] == ("requested_for",)
        assert mapping.tables["incident"].stages["1"] is Stage.NEW

    def test_admin_written_keys_are_remembered(self):
        mapping, _ = load_mapping_section({"outbound": {"score": "Experience Points"}}, tool="jira")
        assert mapping.explicit == frozenset({"outbound.score"})


BAD_TABLES = [
    ("servicenow", {"inbound": {"callr": "caller_id"}},
     "inbound.callr: found 'caller_id'; unknown key; remove it or check its spelling against docs/mappings.md"),
    ("servicenow", {"inbound": {"caller": 3}},
     'inbound.caller: found 3; expected a field name such as "caller_id" (or a list of names); '
     'write "" to stop reading it'),
    ("servicenow", {"tables": {"incident": {"stages": {"9": "gone"}}}},
     "tables.incident.stages.9: found 'gone'; expected new, in_progress, on_hold, scheduled, implementing, "
     "review, resolved, closed or canceled"),
    ("servicenow", {"tables": {"problem": {"stages": {"101": "new"}}}},
     "tables.problem.kind: missing; expected incident, request, change or other; "
     "say what the records of this table are"),
    ("servicenow", {"tables": {"incident": "incident"}},
     "tables.incident: found 'incident'; expected a table; see docs/mappings.md"),
    ("jira", {"statuses": {"Waiting for vendor": "waiting"}},
     "statuses.\"Waiting for vendor\": found 'waiting'; expected new, in_progress, on_hold, scheduled, "
     "implementing, review, resolved, closed or canceled"),
    ("jira", {"priorities": {"Highest": 0}},
     "priorities.Highest: found 0; expected a priority from 1 (highest) to 5 (lowest)"),
    ("jira", {"issue_types": {"Bug": "defect"}},
     "issue_types.Bug: found 'defect'; expected incident, request, change or other"),
    ("jira", {"outbound": {"band": {"field": "Experience Band", "type": "number"}}},
     "outbound.band.type: found 'number'; expected integer, decimal, text, select, choice or boolean"),
    ("jira", {"outbound": {"band": "Experience Score"}},
     "outbound.band: found 'Experience Score', which outbound.score already writes; expected a different "
     "field for each output; map one of them elsewhere or to \"\""),
    ("jira", {"choices": {"band": {"great": "Great"}}},
     "choices.band.great: unknown value; expected good, average or poor (the service's words, mapped to "
     "the tool's values)"),
    ("jira", {"tables": {"incident": {"kind": "incident"}}},
     "tables: found a tables table on a jira connection; expected it only on servicenow connections; "
     "remove it (see docs/mappings.md for the jira keys)"),
    ("servicenow", {"statuses": {"Open": "new"}},
     "statuses: found a statuses table on a servicenow connection; expected it only on jira connections; "
     "remove it (see docs/mappings.md for the servicenow keys)"),
    ("servicenow", {"vip_values": "true"}, "vip_values: found 'true'; expected a list of values"),
]


@pytest.mark.parametrize("tool,raw,line", BAD_TABLES, ids=[line.split(":")[0] for _, _, line in BAD_TABLES])
def test_each_mistake_is_one_precise_line(tool, raw, line):
    _, problems = load_mapping_section(raw, tool=tool)
    assert problems == [line]


def test_every_mistake_of_a_table_is_reported_at_once():
    raw = {"inbound": {"callr": "x"}, "priorities": {"Highest": 9}, "statuses": {"Triage": "sorting"}}
    _, problems = load_mapping_section(raw, tool="jira")
    assert [line.split(":")[0] for line in problems] == ["inbound.callr", "priorities.Highest", "statuses.Triage"]


def test_the_settings_loader_names_the_connection_of_a_bad_mapping():
    raw = {"connections": [
        {"id": "desk", "tool": "jira", "base_url": "https://example.atlassian.net",
         "auth": {"kind": "basic", "user": "bot@example.com", "token_env": "JIRA_TOKEN"},
         "mapping": {"statuses": {"Waiting for vendor": "waiting"}}}]}
    with pytest.raises(ConfigError) as caught:
        load_settings_from_mapping(raw)
    assert caught.value.problems == [
        "connections[0].mapping.statuses.\"Waiting for vendor\": found 'waiting'; expected new, in_progress, "
        "on_hold, scheduled, implementing, review, resolved, closed or canceled"]


def test_the_settings_loader_stores_the_validated_mapping():
    raw = {"connections": [
        {"id": "snow", "tool": "servicenow", "base_url": "https://example.service-now.com",
         "auth": {"kind": "basic", "user": "xla.bridge", "token_env": "SNOW_PASSWORD"},
         "mapping": {"outbound": {"score": "u_experience_score"}}}]}
    settings = load_settings_from_mapping(raw)
    assert settings.connections[0].mapping.outbound["score"].field == "u_experience_score"
