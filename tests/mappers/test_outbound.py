"""Service outputs -> field writes in each tool's shapes, skipping what the ticket already holds."""
from __future__ import annotations

import pytest

from mappers import MappingNotResolved, default_mapping, load_mapping_section, owned_fields, plan_field_writes
from mappers import resolve_field_names

OUTPUTS = {
    "score": 41.6, "band": "poor", "reasons": ["survey: rated 3/10", "reassigned 3 times"], "risk": "high",
    "model_version": "xi-1.0+0b35a5", "survey_rating": 3, "survey_sentiment": -0.5371,
    "survey_comment": "Took three calls to get anyone to look at it.", "lost_hours": 2.25, "followup": True,
}


@pytest.fixture
def jira_mapping(jira_catalogue):
    resolved, problems = resolve_field_names(default_mapping("jira"), jira_catalogue)
    assert problems == []
    return resolved


class TestServiceNowShapes:
    def test_every_output_in_its_column_shape(self):
        writes = plan_field_writes(OUTPUTS, default_mapping("servicenow"), current_values={})
        assert writes == {
            "u_xla_score": 42, "u_xla_band": "poor",
            "u_xla_reasons": "survey: rated 3/10; reassigned 3 times", "u_xla_risk": "high",
            "u_xla_model_version": "xi-1.0+0b35a5", "u_xla_survey_rating": 3, "u_xla_survey_sentiment": -0.54,
            "u_xla_survey_comment": "Took three calls to get anyone to look at it.", "u_xla_lost_hours": 2.25,
            "u_xla_followup": "true",
        }

    def test_renamed_column_and_admin_choice_values(self):
        mapping, _ = load_mapping_section({"outbound": {"band": "u_experience_band"},
                                           "choices": {"band": {"poor": "3"}}}, tool="servicenow")
        assert plan_field_writes({"band": "poor"}, mapping, {}) == {"u_experience_band": "3"}


class TestJiraShapes:
    def test_selects_are_options_and_numbers_are_numbers(self, jira_mapping):
        writes = plan_field_writes(OUTPUTS, jira_mapping, current_values={})
        assert writes["customfield_10200"] == 42
        assert writes["customfield_10201"] == {"value": "Poor"}
        assert writes["customfield_10203"] == {"value": "High"}
        assert writes["customfield_10209"] == {"value": "Yes"}
        assert writes["customfield_10205"] == 3
        assert writes["customfield_10208"] == 2.25
        assert writes["customfield_10202"] == "survey: rated 3/10; reassigned 3 times"

    def test_display_names_must_be_resolved_before_writing(self):
        with pytest.raises(MappingNotResolved, match="Experience Score"):
            plan_field_writes({"score": 80}, default_mapping("jira"), {})


HELD = [
    ("score", 80, "80"), ("score", 80.2, 80), ("score", 79.6, "80.0"),
    ("lost_hours", 1.5, "1.50"), ("survey_sentiment", -0.541, -0.54),
    ("followup", False, "false"), ("followup", True, True),
    ("band", "good", "good"), ("reasons", ["reopened once"], " reopened once\r\n"),
]


@pytest.mark.parametrize("output,value,current", HELD)
def test_servicenow_value_already_held_is_not_written(output, value, current):
    mapping = default_mapping("servicenow")
    field = mapping.outbound[output].field
    assert plan_field_writes({output: value}, mapping, {field: current}) == {}


@pytest.mark.parametrize("output,value,current", [
    ("band", "good", {"id": "10300", "value": "Good"}), ("band", "good", "Good"),
    ("followup", False, {"value": "No"}), ("score", 55, 55.0), ("risk", "low", [{"value": "Low"}]),
])
def test_jira_value_already_held_is_not_written(jira_mapping, output, value, current):
    field = jira_mapping.outbound[output].field
    assert plan_field_writes({output: value}, jira_mapping, {field: current}) == {}


@pytest.mark.parametrize("output,value,current", [
    ("score", 81, "80"), ("band", "average", {"value": "Good"}), ("followup", True, {"value": "No"}),
    ("score", 0, None), ("score", 0, ""),
])
def test_changed_or_empty_value_is_written(jira_mapping, output, value, current):
    field = jira_mapping.outbound[output].field
    assert field in plan_field_writes({output: value}, jira_mapping, {field: current})


def test_missing_outputs_and_switched_off_fields_are_not_written():
    mapping, _ = load_mapping_section({"outbound": {"survey_comment": ""}}, tool="servicenow")
    writes = plan_field_writes({"score": 70, "survey_comment": "hello", "survey_rating": None}, mapping, {})
    assert writes == {"u_xla_score": 70}


def test_reasons_are_cut_after_the_last_whole_reason_that_fits():
    mapping, _ = load_mapping_section({"outbound": {"reasons": {"max_length": 40}}}, tool="servicenow")
    reasons = ["reassigned 3 times", "reopened once", "2.4x the target resolution time"]
    assert plan_field_writes({"reasons": reasons}, mapping, {}) == {"u_xla_reasons": "reassigned 3 times; reopened once..."}


def test_a_long_comment_is_cut_to_the_column_length():
    written = plan_field_writes({"survey_comment": "slow " * 200}, default_mapping("servicenow"), {})
    assert len(written["u_xla_survey_comment"]) == 500 and written["u_xla_survey_comment"].endswith("...")


def test_catalogue_length_wins_over_the_default(jira_catalogue):
    catalogue = [f if f.name != "Experience Model" else type(f)(f.id, f.name, f.type, max_length=10)
                 for f in jira_catalogue]
    resolved, _ = resolve_field_names(default_mapping("jira"), catalogue)
    assert plan_field_writes({"model_version": "xi-1.0+0b35a5"}, resolved, {}) == {"customfield_10204": "xi-1.0+..."}


@pytest.mark.parametrize("outputs,message", [
    ({"happiness": 3}, "unknown output 'happiness'"),
    ({"band": "excellent"}, "band value 'excellent' has no tool value"),
])
def test_programming_mistakes_raise(outputs, message):
    with pytest.raises(ValueError, match=message):
        plan_field_writes(outputs, default_mapping("servicenow"), {})


def test_owned_fields_are_the_written_ones(jira_mapping):
    assert owned_fields(default_mapping("servicenow")) == frozenset({
        "u_xla_score", "u_xla_band", "u_xla_reasons", "u_xla_risk", "u_xla_model_version", "u_xla_survey_rating",
        "u_xla_survey_sentiment", "u_xla_survey_comment", "u_xla_lost_hours", "u_xla_followup"})
    assert owned_fields(jira_mapping) == frozenset(f"customfield_{n}" for n in range(10200, 10210))
