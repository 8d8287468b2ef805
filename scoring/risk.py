"""Experience risk: how likely the person is to come away unhappy, from the score and the context.

Each warning sign adds points; the total against `[scoring.risk]` thresholds gives the level:

| sign | points |
| --- | --- |
| band poor / average | 3 / 1 |
| SLA breached or at risk | 1 |
| open major incident on the CI | 1 |
| repeat contact | 1 |
| caller's recent poor experience, or last rating below the good rating | 1 |
| caller's comments sound negative | 1 |
| VIP caller | 1 |

high at `high_at` points or more (3), medium at `medium_at` or more (1), low otherwise.
"""
from __future__ import annotations

from typing import Any, Mapping

from scoring.context import ExperienceContext
from scoring.indicators import NEGATIVE_TONE
from scoring.model import DEFAULT_MODEL, ScoringModel
from scoring.score import AVERAGE, POOR, Score

LOW, MEDIUM, HIGH = "low", "medium", "high"


def risk_points(context: ExperienceContext | Mapping[str, Any] | None, score: Score, *, vip: bool = False,
                model: ScoringModel | None = None) -> int:
    """The warning-sign points of the table above. Raises ValueError for an unknown context key."""
    model = model or DEFAULT_MODEL
    context = ExperienceContext.coerce(context)
    points = {POOR: 3, AVERAGE: 1}.get(score.band, 0)
    points += bool(context.sla_breached or context.sla_at_risk)
    points += bool(context.open_major_incident)
    points += bool(context.repeat_contact)
    points += bool((context.caller_recent_poor or 0) > 0 or (
        context.last_survey_rating is not None
        and context.last_survey_rating < model.indicators.caller_history.good_rating))
    points += bool(context.caller_comment_sentiment is not None and context.caller_comment_sentiment <= NEGATIVE_TONE)
    points += bool(vip)
    return points


def experience_risk(context: ExperienceContext | Mapping[str, Any] | None, score: Score, *, vip: bool = False,
                    model: ScoringModel | None = None) -> str:
    """"low", "medium" or "high". Pure; raises ValueError for an unknown context key."""
    model = model or DEFAULT_MODEL
    points = risk_points(context, score, vip=vip, model=model)
    if points >= model.risk.high_at:
        return HIGH
    if points >= model.risk.medium_at:
        return MEDIUM
    return LOW
