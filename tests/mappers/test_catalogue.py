"""Resolving field names to ids, the `check-config --live` report, and which fields a read needs."""
from __future__ import annotations

import pytest

from connectors.base import FieldInfo
from mappers import check_mapping, default_mapping, fields_to_read, load_mapping_section, resolve_field_names

from tests.mappers.conftest import TASK_COLUMNS, servicenow_columns


def jira(raw: dict):
    mapping, problems = load_mapping_section(raw, tool="jira")
    assert problems == []
    return mapping


def replaced(catalogue: list[FieldInfo], name: str, **changes) -> list[FieldInfo]:
    return [FieldInfo(**{**f.__dict__, **changes}) if f.name == name else f for f in catalogue]


class TestResolve:
    def test_names_become_ids_and_outputs_learn_their_shape(self, jira_catalogue):
        resolved, problems = resolve_field_names(default_mapping("jira"), jira_catalogue)
        assert problems == []
        assert resolved.resolved
        assert resolved.outbound["score"].field == "customfield_10200"
        assert resolved.outbound["band"].allowed_values == ("Good", "Average", "Poor")
        assert resolved.outbound["band"].configured_as == "Experience Band"
        assert resolved.inbound["sla_breached"] == ("customfield_10030", "customfield_10031")
        assert resolved.inbound["service"] == ("customfield_10050",)
        assert resolved.inbound["caller"] == ("reporter",)

    def test_ids_and_differently_cased_names_are_accepted(self, jira_catalogue):
        resolved, problems = resolve_field_names(
            jira({"outbound": {"score": "customfield_10200", "band": "experience band"}}), jira_catalogue)
        assert problems == []
        assert (resolved.outbound["score"].field, resolved.outbound["band"].field) == (
            "customfield_10200", "customfield_10201")

    def test_a_name_two_fields_share_must_be_written_as_an_id(self, jira_catalogue):
        twin = FieldInfo("customfield_10999", "Experience Score", "number")
        _, problems = resolve_field_names(default_mapping("jira"), jira_catalogue + [twin])
        assert problems == ["outbound.score: Jira has several fields named 'Experience Score' "
                            "(customfield_10200, customfield_10999); write the id of the one you mean instead of "
                            "the name"]

    def test_optional_default_fields_the_instance_lacks_are_dropped_quietly(self, jira_catalogue):
        catalogue = [f for f in jira_catalogue if f.name not in ("Affected services", "Time to first response")]
        resolved, problems = resolve_field_names(default_mapping("jira"), catalogue)
        assert problems == []
        assert resolved.inbound["service"] == ()
        assert resolved.inbound["sla_breached"] == ("customfield_10030",)

    def test_servicenow_labels_resolve_to_column_names(self, servicenow_catalogue):
        mapping, _ = load_mapping_section({"outbound": {"score": "XLA score"}}, tool="servicenow")
        resolved, problems = resolve_field_names(mapping, servicenow_catalogue)
        assert problems == [] and resolved.outbound["score"].field == "u_xla_score"
        assert resolved.outbound["band"].shape == "choice"


class TestCheckMapping:
    def test_a_fitting_mapping_has_no_problems(self, jira_catalogue, servicenow_catalogue):
        assert check_mapping(default_mapping("jira"), jira_catalogue, "jira") == []
        assert check_mapping(default_mapping("servicenow"), servicenow_catalogue, "servicenow") == []

    def test_a_misspelt_field_gets_the_closest_name(self, jira_catalogue):
        lines = check_mapping(jira({"outbound": {"score": "Experiance Score"}}), jira_catalogue, "jira",
                              where="connections[0].mapping")
        assert lines == ["connections[0].mapping.outbound.score: Jira has no field named 'Experiance Score'; "
                         "did you mean 'Experience Score'?"]

    def test_a_field_not_on_the_edit_screen(self, jira_catalogue):
        lines = check_mapping(jira({"outbound": {"score": "Experience Legacy Score"}}), jira_catalogue, "jira")
        # One line with the real cause: "read-only, grant write access" would send the admin to the wrong fix.
        assert lines == [
            "outbound.score: Jira field 'Experience Legacy Score' (customfield_10210) is not on the edit screen, "
            "so Jira rejects writes to it; add it to the edit screen of the project's issue types"]

    def test_a_field_on_the_screen_the_integration_user_may_not_edit(self, jira_catalogue):
        catalogue = replaced(jira_catalogue, "Experience Score", writable=False)
        assert check_mapping(default_mapping("jira"), catalogue, "jira") == [
            "outbound.score: Jira field 'Experience Score' (customfield_10200) is read-only for the integration "
            "user; grant write access to it or map this output to another field"]

    @pytest.mark.parametrize("output,field,line", [
        ("score", "Experience Reasons",
         "outbound.score: score needs a number field, but 'Experience Reasons' (customfield_10202) is a text "
         "field; map score to a number field"),
        ("band", "Survey Rating",
         "outbound.band: band needs a choice (select) or text field, but 'Survey Rating' (customfield_10205) is "
         "a number field; map band to a choice (select) or text field"),
        ("reasons", "Experience Band",
         "outbound.reasons: reasons needs a text field, but 'Experience Band' (customfield_10201) is a select "
         "field; map reasons to a text field"),
    ])
    def test_type_mismatches(self, jira_catalogue, output, field, line):
        # move the output's default field out of the way so each field is written once
        raw = {"outbound": {output: field}}
        for other, target in default_mapping("jira").outbound.items():
            if target.field == field and other != output:
                raw["outbound"][other] = ""
        assert check_mapping(jira(raw), jira_catalogue, "jira") == [line]

    def test_a_choice_value_the_field_does_not_allow(self, jira_catalogue):
        lines = check_mapping(jira({"choices": {"band": {"good": "Great"}}}), jira_catalogue, "jira")
        assert lines == ["choices.band.good: found 'Great', which 'Experience Band' (customfield_10201) does not "
                         "allow; expected one of Good, Average, Poor"]

    def test_a_near_miss_choice_value_gets_a_hint(self, servicenow_catalogue):
        mapping, _ = load_mapping_section({"choices": {"risk": {"high": "hihg"}}}, tool="servicenow")
        assert check_mapping(mapping, servicenow_catalogue, "servicenow") == [
            "choices.risk.high: found 'hihg', which 'XLA risk' (u_xla_risk) does not allow; did you mean 'high'? "
            "expected one of low, medium, high"]

    def test_an_admin_inbound_field_that_does_not_exist(self, jira_catalogue):
        lines = check_mapping(jira({"inbound": {"group": "Asignment group"}}), jira_catalogue, "jira")
        assert lines == ["inbound.group: Jira has no field named 'Asignment group'; did you mean 'Assignment group'?"]

    def test_each_servicenow_table_is_checked_when_the_catalogue_holds_several(self, servicenow_catalogue):
        change = [f for f in servicenow_columns("change_request") if f.id != "u_xla_lost_hours"]
        change.append(FieldInfo("requested_by", "Requested by", "reference", table="change_request"))
        lines = check_mapping(default_mapping("servicenow"), servicenow_catalogue + change, "servicenow")
        assert lines == ["outbound.lost_hours: ServiceNow table change_request has no column 'u_xla_lost_hours'; "
                         "create the field (see docs/mappings.md) or map this to an existing one"]

    def test_a_read_only_servicenow_column(self, servicenow_catalogue):
        catalogue = replaced(servicenow_catalogue, "XLA score", writable=False)
        assert check_mapping(default_mapping("servicenow"), catalogue, "servicenow") == [
            "outbound.score: ServiceNow field 'XLA score' (u_xla_score) is read-only for the integration user; "
            "grant write access to it or map this output to another field"]

    def test_a_catalogue_of_the_other_tool(self, jira_catalogue):
        assert check_mapping(default_mapping("servicenow"), jira_catalogue, "jira") == [
            "mapping: a servicenow mapping cannot be checked against a jira catalogue"]


class TestFieldsToRead:
    def test_servicenow_reads_the_table_fields_and_the_written_columns(self):
        fields = fields_to_read(default_mapping("servicenow"), "servicenow", "change_request")
        assert {"requested_by", "requested_by.vip", "work_end", "state", "sys_mod_count", "u_xla_score"} <= set(fields)
        assert "caller_id" not in fields and "reopen_count" not in fields
        assert fields == sorted(set(fields))

    def test_jira_reads_resolved_ids_only(self, jira_catalogue):
        unresolved = fields_to_read(default_mapping("jira"), "jira")
        assert not any(" " in name for name in unresolved)
        resolved, _ = resolve_field_names(default_mapping("jira"), jira_catalogue)
        fields = fields_to_read(resolved, "jira")
        assert {"customfield_10030", "customfield_10050", "customfield_10200", "reporter", "status", "created",
                "resolutiondate", "labels"} <= set(fields)
        assert "customfield_10210" not in fields  # the legacy field is not mapped


def test_inherited_task_columns_count_for_the_table(servicenow_catalogue):
    only_task = [f for f in servicenow_catalogue if f.table in ("task", "incident")]
    assert any(f.table == "task" for f in only_task) and TASK_COLUMNS[0] in only_task
    assert check_mapping(default_mapping("servicenow"), only_task, "servicenow") == []
