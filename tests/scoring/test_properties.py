"""Properties every score keeps, over generated tickets, contexts, answers and model settings.

- the score stays within 0..100, its band matches it, confidence stays within 0..1;
- more reassignments, more reopens, a later resolution or a longer wait never raise it;
- with an answer, a higher rating never lowers it.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.ticket import Stage, TicketKind
from scoring import ExperienceContext, SurveyResult, band_for, load_scoring_section, score_ticket

from tests.scoring.conftest import OPENED, incident

EXAMPLES = settings(max_examples=80, deadline=None)

tickets = st.builds(
    lambda kind, priority, hours, reassigned, reopened, breached, vip: incident(
        hours_to_resolve=hours, kind=kind, priority=priority, reassignment_count=reassigned,
        reopen_count=reopened, sla_breached=breached, vip=vip),
    kind=st.sampled_from([TicketKind.INCIDENT, TicketKind.REQUEST, TicketKind.CHANGE]),
    priority=st.one_of(st.none(), st.integers(1, 5)),
    hours=st.one_of(st.none(), st.floats(0, 2000)),
    reassigned=st.integers(0, 20), reopened=st.integers(0, 6),
    breached=st.one_of(st.none(), st.booleans()), vip=st.booleans())

maybe_count = st.one_of(st.none(), st.integers(0, 10))
maybe_tone = st.one_of(st.none(), st.floats(-1, 1))
contexts = st.builds(
    ExperienceContext,
    caller_recent_tickets=maybe_count, caller_recent_poor=maybe_count,
    repeat_contact=st.one_of(st.none(), st.booleans()),
    time_in_state_hours=st.one_of(st.just({}), st.fixed_dictionaries({"on_hold": st.floats(0, 500)})),
    sla_at_risk=st.one_of(st.none(), st.booleans()),
    open_major_incident=st.one_of(st.none(), st.booleans()),
    change_on_ci=st.sampled_from([None, "none", "in_progress", "recently_implemented"]),
    last_survey_rating=st.one_of(st.none(), st.integers(0, 10)),
    last_sentiment=maybe_tone, caller_comment_sentiment=maybe_tone,
    as_of=st.one_of(st.none(), st.just(OPENED + timedelta(hours=300))))

answers = st.one_of(st.none(), st.builds(SurveyResult, rating=st.integers(0, 10),
                                         lost_minutes=st.one_of(st.none(), st.integers(0, 2000)),
                                         sentiment=maybe_tone))

weight = st.floats(0, 5)
models = st.builds(
    lambda w1, w2, w3, w4, emphasis, blend: load_scoring_section({
        "emphasis": emphasis, "survey": {"weight": blend},
        "indicators": {"reassignments": {"weight": w1}, "reopens": {"weight": w2},
                       "resolution_time": {"weight": w3}, "waiting": {"weight": w4}}})[0],
    weight, weight, weight, weight, st.floats(0, 10), st.floats(0, 1))


@EXAMPLES
@given(tickets, contexts, answers, models)
def test_score_band_and_confidence_stay_in_range(ticket, context, answer, model):
    score = score_ticket(ticket, context, answer, model)
    assert 0 <= score.score <= 100
    assert score.band == band_for(score.score, model.bands)
    assert 0.0 <= score.confidence <= 1.0
    assert 1 <= len(score.reasons) <= model.max_reasons or score.reasons == ()


@EXAMPLES
@given(tickets, contexts, answers, models, st.integers(1, 10))
def test_more_reassignments_never_raise_the_score(ticket, context, answer, model, more):
    before = score_ticket(ticket, context, answer, model)
    after = score_ticket(replace(ticket, reassignment_count=ticket.reassignment_count + more), context, answer, model)
    assert after.score <= before.score


@EXAMPLES
@given(tickets, contexts, answers, models, st.integers(1, 5))
def test_more_reopens_never_raise_the_score(ticket, context, answer, model, more):
    before = score_ticket(ticket, context, answer, model)
    after = score_ticket(replace(ticket, reopen_count=ticket.reopen_count + more), context, answer, model)
    assert after.score <= before.score


@EXAMPLES
@given(tickets, contexts, answers, models, st.floats(0.1, 1000))
def test_a_later_resolution_never_raises_the_score(ticket, context, answer, model, delay):
    resolved = ticket if ticket.resolved_at else replace(ticket, stage=Stage.RESOLVED,
                                                        resolved_at=OPENED + timedelta(hours=1))
    before = score_ticket(resolved, context, answer, model)
    after = score_ticket(replace(resolved, resolved_at=resolved.resolved_at + timedelta(hours=delay)),
                         context, answer, model)
    assert after.score <= before.score


@EXAMPLES
@given(tickets, contexts, answers, models, st.floats(0, 300), st.floats(0.1, 300))
def test_a_longer_wait_on_hold_never_raises_the_score(ticket, context, answer, model, hours, longer):
    before = score_ticket(ticket, replace(context, time_in_state_hours={"on_hold": hours}), answer, model)
    after = score_ticket(ticket, replace(context, time_in_state_hours={"on_hold": hours + longer}), answer, model)
    assert after.score <= before.score


@EXAMPLES
@given(tickets, contexts, models, st.integers(0, 10), st.integers(0, 10),
       st.one_of(st.none(), st.integers(0, 2000)), maybe_tone)
def test_a_higher_rating_never_lowers_the_blended_score(ticket, context, model, low, high, lost, tone):
    low, high = min(low, high), max(low, high)
    lower = score_ticket(ticket, context, SurveyResult(low, lost, tone), model)
    higher = score_ticket(ticket, context, SurveyResult(high, lost, tone), model)
    assert higher.score >= lower.score
