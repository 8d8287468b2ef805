"""Experience risk levels, and the internal note an agent reads in five seconds."""
from __future__ import annotations

import pytest

from scoring import ExperienceContext, SurveyResult, experience_risk, load_scoring_section, render_context_note
from scoring import score_ticket

from tests.scoring.conftest import incident


class TestRisk:
    def test_a_smooth_ticket_with_a_quiet_context_is_low(self):
        context = ExperienceContext(repeat_contact=False, open_major_incident=False, caller_recent_poor=0)
        assert experience_risk(context, score_ticket(incident(), context)) == "low"

    def test_an_average_score_is_medium(self):
        score = score_ticket(incident(sla_breached=True), None)
        assert score.band == "average"
        assert experience_risk(None, score) == "medium"

    def test_a_poor_score_is_high(self):
        score = score_ticket(incident(), None, SurveyResult(rating=1))
        assert score.band == "poor" and experience_risk(None, score) == "high"

    def test_warning_signs_add_up_on_a_good_score(self):
        good = score_ticket(incident(), None)
        assert good.band == "good"
        signs = {"repeat_contact": True, "open_major_incident": True, "last_survey_rating": 4}
        assert experience_risk(signs, good) == "high"
        assert experience_risk({"repeat_contact": True}, good) == "medium"

    def test_a_vip_caller_counts_as_a_sign(self):
        good = score_ticket(incident(), None)
        assert experience_risk({}, good, vip=True) == "medium"

    def test_thresholds_come_from_the_model(self):
        lenient, _ = load_scoring_section({"risk": {"medium_at": 2, "high_at": 4}})
        good = score_ticket(incident(), None)
        assert experience_risk({"repeat_contact": True}, good, model=lenient) == "low"


def lines(note: str) -> list[str]:
    return note.splitlines()


class TestNote:
    def test_headline_then_the_reasons_as_bullets(self):
        ticket = incident(hours_to_resolve=2.4 * 72, reassignment_count=3, reopen_count=1, sla_breached=True)
        score = score_ticket(ticket, None)
        note = lines(render_context_note(ticket, None, score))
        assert note[0] == (f"Experience {score.score}/100 (poor, predicted) | risk high | "
                           f"confidence {score.confidence:.0%} | {score.model_version}")
        assert note[1:] == [f"- {reason}" for reason in score.reasons]

    def test_context_an_agent_should_know_fills_the_note_without_repeating_a_reason(self):
        ticket = incident(vip=True)
        context = ExperienceContext(open_major_incident=True, major_incident_number="INC0012345",
                                    caller_recent_tickets=4, caller_recent_poor=1)
        score = score_ticket(ticket, context)
        note = lines(render_context_note(ticket, context, score))
        assert note[1:] == ["- major incident INC0012345 is open on the same CI",
                            "- caller had 1 poor experience recently",
                            "- VIP caller",
                            "- caller's recent tickets: 4, 1 with a poor experience"]

    def test_a_survey_score_says_so(self):
        score = score_ticket(incident(), None, SurveyResult(rating=3, lost_minutes=120))
        headline, first, *_ = lines(render_context_note(incident(), None, score))
        assert "(average, survey)" in headline and first == "- survey: rated 3/10"

    @pytest.mark.parametrize("context", [None, {"repeat_contact": True, "repeat_of": "INC0010040"},
                                         {"change_on_ci": "in_progress", "change_number": "CHG0030001"}])
    def test_always_two_to_four_bullets_and_the_same_text_for_the_same_inputs(self, context):
        blind, _ = load_scoring_section({"indicators": {"reassignments": {"weight": 0}, "reopens": {"weight": 0}}})
        for model in (None, blind):
            ticket = incident(hours_to_resolve=None, sla_breached=None)
            score = score_ticket(ticket, context, model=model)
            note = render_context_note(ticket, context, score, model=model)
            bullets = [line for line in lines(note)[1:] if line.startswith("- ")]
            assert 2 <= len(bullets) == len(lines(note)) - 1 <= 4
            assert len(set(bullets)) == len(bullets)
            assert note == render_context_note(ticket, dict(context or {}), score, model=model)


def test_the_note_shows_the_risk_the_field_holds():
    ticket = incident(vip=True)
    score = score_ticket(ticket, None)
    assert "| risk medium |" in render_context_note(ticket, None, score)  # the VIP sign
    written = experience_risk(None, score)
    assert f"| risk {written} |" in render_context_note(ticket, None, score, risk=written)
