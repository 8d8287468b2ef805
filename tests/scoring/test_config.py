"""`[scoring]`: defaults, the versioned model, and one precise line per configuration mistake."""
from __future__ import annotations

import re

import pytest

from scoring import DEFAULT_MODEL, MODEL_VERSION, ScoringModel, build_model, load_scoring_section
from settings import ConfigError, load_settings_from_mapping


def test_an_empty_table_is_the_default_model():
    model, problems = load_scoring_section({})
    assert problems == [] and model == DEFAULT_MODEL
    assert (model.bands.good_above, model.bands.poor_below) == (75, 45)


def test_the_version_names_the_formula_and_a_digest_of_the_settings():
    assert re.fullmatch(re.escape(MODEL_VERSION) + r"\+[0-9a-f]{6}", DEFAULT_MODEL.version)
    assert len(DEFAULT_MODEL.version) <= 32  # fits ticket_scores.model_version


def test_the_version_changes_with_what_shapes_scores_only():
    reweighted, _ = load_scoring_section({"indicators": {"reopens": {"weight": 3}}})
    same_numbers, _ = load_scoring_section({"indicators": {"reopens": {"weight": 2.0}}})
    with_targets, _ = load_scoring_section({"targets": [{"name": "Email", "service": "Email", "min_happiness": 70}]})
    assert reweighted.version != DEFAULT_MODEL.version
    assert same_numbers.version == DEFAULT_MODEL.version  # 2 and 2.0 are the same setting
    assert with_targets.version == DEFAULT_MODEL.version


def test_target_hours_merge_over_the_defaults():
    model, problems = load_scoring_section(
        {"indicators": {"resolution_time": {"target_hours": {"incident": {"1": 2}, "change": {"3": 48}}}}})
    assert problems == []
    hours = model.indicators.resolution_time.target_hours
    assert (hours["incident"][1], hours["incident"][3], hours["change"][3]) == (2.0, 72.0, 48.0)


def test_targets_are_built():
    model, problems = load_scoring_section({"targets": [
        {"name": "Email incidents", "kind": "incident", "service": "Email", "period": "month",
         "min_happiness": 70, "max_lost_time_hours": 2, "min_responses": 5}]})
    assert problems == []
    (target,) = model.targets
    assert (target.name, target.period, dict(target.filters)) == ("Email incidents", "month",
                                                                  {"kind": "incident", "service": "Email"})
    assert (target.min_happiness, target.max_lost_time_hours, target.min_responses) == (70, 2, 5)


BAD = [
    ({"prior_score": "high"}, "prior_score: found 'high'; expected a number; the score when nothing about a ticket "
                              "is known"),
    ({"bands": {"good_above": 60, "poor_below": 70}},
     "bands.poor_below: found 70, above good_above 60; expected poor_below <= good_above"),
    ({"indicators": {"reassignments": {"weight": -1}}}, "indicators.reassignments.weight: found -1; expected a "
                                                        "number of 0 or more"),
    ({"indicators": {"reasignments": {"weight": 1}}},
     "indicators.reasignments: found {'weight': 1}; unknown key; remove it or check its spelling against "
     "docs/scoring.md"),
    ({"indicators": {"resolution_time": {"target_hours": {"problem": {"1": 4}}}}},
     "indicators.resolution_time.target_hours.problem: found 'problem'; expected one of incident, request, change, "
     "other"),
    ({"indicators": {"resolution_time": {"target_hours": {"incident": {"1": 0}}}}},
     "indicators.resolution_time.target_hours.incident.1: found 0; expected a number above 0"),
    ({"indicators": {"resolution_time": {"zero_at_ratio": 1}}},
     "indicators.resolution_time.zero_at_ratio: found 1; expected a number above 1"),
    ({"indicators": {"waiting": {"free_hours": 10, "zero_at_hours": 8}}},
     "indicators.waiting.zero_at_hours: found 8, not above free_hours 10; expected zero_at_hours > free_hours"),
    ({"indicators": {"waiting": {"stages": ["waiting"]}}},
     "indicators.waiting.stages[0]: found 'waiting'; expected one of new, in_progress, on_hold, scheduled, "
     "implementing, review, resolved, closed, canceled"),
    ({"survey": {"weight": 1.5}}, "survey.weight: found 1.5; expected a number from 0 to 1"),
    ({"survey": 0.7}, "survey: found 0.7; expected a table; see docs/scoring.md"),
    ({"risk": {"medium_at": 2, "high_at": 2}}, "risk.high_at: found 2, not above medium_at 2; expected high_at > "
                                               "medium_at"),
    ({"targets": [{"name": "Email", "period": "fortnight", "min_happiness": 70}]},
     "targets[0].period: found 'fortnight'; expected one of day, week, month, quarter, year"),
    ({"targets": [{"name": "Email", "service": "Email"}]},
     "targets[0].min_happiness: missing; expected min_happiness or max_lost_time_hours (or both)"),
    ({"targets": [{"service": "Email", "min_happiness": 70}]},
     "targets[0].name: missing; a short name for reports, e.g. \"Email incidents\""),
]


@pytest.mark.parametrize("raw,line", BAD, ids=[line.split(":")[0] for _, line in BAD])
def test_each_mistake_is_one_precise_line(raw, line):
    model, problems = load_scoring_section(raw)
    assert problems == [line]
    assert model == DEFAULT_MODEL


def test_every_weight_at_zero_is_refused():
    raw = {"indicators": {name: {"weight": 0} for name in vars(DEFAULT_MODEL.indicators)}}
    _, problems = load_scoring_section(raw)
    assert problems == ["indicators: found every weight at 0; expected at least one indicator with a positive "
                        "weight, or every score would be prior_score"]


def test_build_model_takes_the_validated_model_or_a_raw_table():
    model, _ = load_scoring_section({"max_reasons": 4})
    assert build_model(model) is model
    assert build_model({"max_reasons": 4}) == model
    assert build_model(None) == DEFAULT_MODEL
    with pytest.raises(ConfigError, match="scoring.max_reasons: found 0"):
        build_model({"max_reasons": 0})


def test_the_settings_loader_validates_the_scoring_table():
    settings = load_settings_from_mapping({"scoring": {"bands": {"good_above": 80}}})
    assert isinstance(settings.scoring, ScoringModel) and settings.scoring.bands.good_above == 80
    with pytest.raises(ConfigError) as caught:
        load_settings_from_mapping({"scoring": {"bands": {"good_above": 180}}})
    assert caught.value.problems == ["scoring.bands.good_above: found 180; expected a number from 0 to 100"]
