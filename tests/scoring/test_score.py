"""The score of realistic tickets: its value, band, plain-word reasons, confidence and model version."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace

import pytest

from domain.ticket import Stage, TicketKind
from scoring import DEFAULT_MODEL, ExperienceContext, SurveyResult, band_for, load_scoring_section, score_ticket

from tests.scoring.conftest import OPENED, incident


def model(raw: dict):
    loaded, problems = load_scoring_section(raw)
    assert problems == []
    return loaded


class TestPredicted:
    def test_a_smooth_ticket_is_good_and_says_why(self):
        score = score_ticket(incident(hours_to_resolve=10), None)
        assert (score.score, score.band, score.from_survey) == (100, "good", False)
        assert "resolved well within the target time" in score.reasons
        assert score.model_version == DEFAULT_MODEL.version

    def test_reasons_name_what_went_wrong_in_plain_words(self):
        ticket = incident(hours_to_resolve=2.4 * 72, reassignment_count=3, reopen_count=1)
        score = score_ticket(ticket, None)
        assert set(score.reasons) == {"reassigned 3 times", "reopened once", "2.4x the target resolution time"}
        assert score.band == "average"
        breached = score_ticket(replace(ticket, sla_breached=True), None, model=model({"max_reasons": 4}))
        assert breached.band == "poor" and "SLA breached" in breached.reasons

    @pytest.mark.parametrize("count,words", [(1, "reassigned once"), (2, "reassigned twice"), (5, "reassigned 5 times")])
    def test_reassignment_wording(self, count, words):
        assert score_ticket(incident(reassignment_count=count), None).reasons[0] == words

    def test_an_sla_breach_alone_drags_a_ticket_out_of_good(self):
        score = score_ticket(incident(sla_breached=True), None)
        assert score.band == "average" and score.reasons == ("SLA breached",)

    def test_a_vip_is_held_to_a_shorter_target(self):
        normal = score_ticket(incident(hours_to_resolve=54), None)
        vip = score_ticket(incident(hours_to_resolve=54, vip=True), None)
        assert vip.score < normal.score
        assert "1.5x the VIP target resolution time" in vip.reasons

    def test_an_open_ticket_is_timed_up_to_the_context_moment(self):
        ticket = incident(hours_to_resolve=None)
        late = score_ticket(ticket, {"as_of": OPENED + timedelta(hours=144)})
        assert "open for 2.0x the target resolution time" in late.reasons
        untimed = score_ticket(ticket, None)
        assert untimed.indicators["resolution_time"] is None
        assert untimed.confidence < late.confidence

    def test_a_change_has_no_resolution_target(self):
        change = incident(kind=TicketKind.CHANGE, stage=Stage.IMPLEMENTING, hours_to_resolve=500)
        assert score_ticket(change, None).indicators["resolution_time"] is None

    def test_context_signals_lower_the_score_and_appear_as_reasons(self):
        context = ExperienceContext(open_major_incident=True, major_incident_number="INC0012345",
                                    repeat_contact=True, repeat_of="INC0010040",
                                    time_in_state_hours={"on_hold": 30.0}, caller_recent_tickets=3,
                                    caller_recent_poor=2)
        score = score_ticket(incident(), context, model=model({"max_reasons": 5}))
        assert score.band != "good"
        assert set(score.reasons) == {
            "major incident INC0012345 is open on the same CI",
            "caller contacted us again about the same issue (INC0010040)", "on hold for 30 h",
            "caller had 2 poor experiences recently"}

    def test_more_known_signals_mean_more_confidence(self):
        sparse = score_ticket(incident(), None)
        rich = score_ticket(incident(), ExperienceContext(repeat_contact=False, open_major_incident=False,
                                                          caller_recent_tickets=0, caller_comment_sentiment=0.1,
                                                          time_in_state_hours={"on_hold": 0}, change_on_ci="none"))
        assert 0 < sparse.confidence < rich.confidence <= DEFAULT_MODEL.operational_confidence

    def test_nothing_known_gives_the_prior_with_no_confidence(self):
        blind = model({"indicators": {"reassignments": {"weight": 0}, "reopens": {"weight": 0}}, "prior_score": 62})
        ticket = incident(hours_to_resolve=None, priority=None, sla_breached=None)
        score = score_ticket(ticket, None, model=blind)
        assert (score.score, score.band, score.confidence) == (62, "average", 0.0)

    def test_bands_follow_the_configured_thresholds(self):
        strict = model({"bands": {"good_above": 95, "poor_below": 80}})
        score = score_ticket(incident(reassignment_count=1), None, model=strict)
        assert score.band == band_for(score.score, strict.bands) == "average"
        assert score.model_version != DEFAULT_MODEL.version

    def test_equal_inputs_give_equal_scores(self):
        context = {"caller_recent_tickets": 2, "caller_recent_poor": 1, "sla_at_risk": True}
        assert score_ticket(incident(), context) == score_ticket(incident(), dict(context))

    def test_a_misspelt_context_key_is_refused(self):
        with pytest.raises(ValueError, match="unknown experience context keys: repeat_contacts"):
            score_ticket(incident(), {"repeat_contacts": True})


class TestWithSurvey:
    def test_the_rating_leads_the_reasons_and_moves_the_score(self):
        score = score_ticket(incident(), None, SurveyResult(rating=3))
        assert score.from_survey and score.reasons[0] == "survey: rated 3/10"
        # every operational indicator is 100: 0.7 * 30 + 0.3 * 100
        assert (score.score, score.band, score.operational_score) == (51, "average", 100)

    def test_lost_time_and_a_negative_comment_are_reasons(self):
        score = score_ticket(incident(), None, SurveyResult(rating=6, lost_minutes=240, sentiment=-0.8))
        assert score.reasons == ("survey: rated 6/10", "survey: comment sounds negative", "survey: lost 4.0 h of work")

    def test_an_answer_raises_confidence(self):
        without = score_ticket(incident(), None)
        with_answer = score_ticket(incident(), None, SurveyResult(rating=9))
        assert without.confidence < with_answer.confidence <= 1.0

    def test_a_stored_answer_object_is_read_as_a_survey(self):
        stored = SimpleNamespace(rating=2, lost_minutes=90, sentiment_score=-0.4, comment="slow")
        score = score_ticket(incident(), None, stored)
        assert score.indicators["survey_lost_time"] < 100 and score.indicators["survey_sentiment"] < 100

    @pytest.mark.parametrize("answer,message", [
        ({"rating": 11}, "rating: found 11"), ({"rating": 5, "lost_minutes": -3}, "lost_minutes: found -3"),
        ({"rating": 5, "sentiment": 2.0}, "sentiment: found 2.0"),
    ])
    def test_an_impossible_answer_is_refused(self, answer, message):
        with pytest.raises(ValueError, match=message):
            score_ticket(incident(), None, answer)


def test_score_serialises_for_storage():
    data = score_ticket(incident(reassignment_count=2), None, SurveyResult(rating=8)).to_json()
    assert data["from_survey"] is True and data["reasons"][0] == "survey: rated 8/10"
    assert data["indicators"]["reassignments"] == 50.0


def test_context_serialises_for_storage():
    context = ExperienceContext(time_in_state_hours={"on_hold": 2.5}, as_of=OPENED, change_on_ci="recent")
    data = context.to_json()
    assert data["time_in_state_hours"] == {"on_hold": 2.5} and data["as_of"] == OPENED.isoformat()
    assert data["change_on_ci"] == "recently_implemented"
    assert ExperienceContext.from_mapping({**data, "as_of": OPENED}) == context
