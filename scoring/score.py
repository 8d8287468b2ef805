"""The experience score of one ticket: indicators -> weighted power mean -> band, reasons, confidence.

    operational = (sum(w_i * x_i^p) / sum(w_i)) ^ (1/p),  p = 1 / (1 + emphasis)
                  over the known indicators x_i (0..100) with their configured weights w_i;
                  the model's prior_score when none is known
    survey      = the same mean over the answer's parts (rating*10, lost time, tone), p = 1
    score       = round(s * survey + (1 - s) * operational) with s = survey.weight, or
                  round(operational) without an answer
    band        = good if score > good_above, poor if score < poor_below, else average

With emphasis 0 the operational score is the plain weighted mean used by composite experience
scores; a positive emphasis (p < 1) pulls the mean towards its lowest indicators, so one bad
signal is not averaged away by many fine ones. A weighted power mean with p > 0 never falls
when one of its values rises, so more reassignments, reopens or delay never raise the score.

Reasons are ranked by the points each indicator costs: how much higher the final score would
be were that indicator perfect. With an answer, the rating leads ("survey: rated 3/10").
Confidence is the known share of the configured weights times operational_confidence, and an
answer removes survey.confidence of the remaining doubt.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Mapping

from domain.ticket import Ticket
from scoring.context import ExperienceContext, SurveyResult
from scoring.indicators import IndicatorResult, operational_indicators, survey_indicators
from scoring.model import DEFAULT_MODEL, Bands, ScoringModel

GOOD, AVERAGE, POOR = "good", "average", "poor"
# Reasons costing less than this many points are not worth an agent's attention.
NOTABLE_POINTS = 1.0


@dataclass(frozen=True)
class Score:
    score: int                      # 0..100
    band: str                       # good, average, poor
    reasons: tuple[str, ...]        # plain words, most important first
    confidence: float               # 0..1
    model_version: str
    from_survey: bool
    indicators: Mapping[str, float | None] = field(default_factory=lambda: MappingProxyType({}))
    operational_score: int | None = None  # the prediction before a survey answer was blended in

    def to_json(self) -> dict:
        return {"score": self.score, "band": self.band, "reasons": list(self.reasons),
                "confidence": self.confidence, "model_version": self.model_version,
                "from_survey": self.from_survey, "indicators": dict(self.indicators),
                "operational_score": self.operational_score}


def band_for(score: float, bands: Bands = DEFAULT_MODEL.bands) -> str:
    """good above `good_above`, poor below `poor_below`, average in between (both ends included)."""
    if score > bands.good_above:
        return GOOD
    if score < bands.poor_below:
        return POOR
    return AVERAGE


def power_mean(parts: list[IndicatorResult], exponent: float = 1.0) -> float | None:
    """The weighted power mean of the known parts with a positive weight (None when there are none).

    `exponent` must be above 0; 1 gives the weighted arithmetic mean.
    """
    known = [part for part in parts if part.known and part.weight > 0]
    total = sum(part.weight for part in known)
    if total <= 0:
        return None
    if exponent == 1.0:
        return sum(part.weight * part.value for part in known) / total
    mean = sum(part.weight * max(part.value, 0.0) ** exponent for part in known) / total
    return mean ** (1.0 / exponent)


def _round(value: float) -> int:
    # Half up, so 74.5 reads as 75 the way people round (round() would give 74).
    return int(math.floor(value + 0.5))


def score_ticket(ticket: Ticket, context: ExperienceContext | Mapping[str, Any] | None,
                 survey: SurveyResult | Any | None = None, model: ScoringModel | None = None) -> Score:
    """Score `ticket` in its `context`, blending in a survey answer when there is one.

    Pure: equal inputs give equal scores. `context` may be an ExperienceContext, a dict of its
    fields or None; `survey` a SurveyResult, a mapping or an object with rating / lost_minutes /
    sentiment. Raises ValueError for an unknown context key or an invalid survey answer.
    """
    model = model or DEFAULT_MODEL
    context = ExperienceContext.coerce(context)
    survey = SurveyResult.coerce(survey)
    operational = operational_indicators(ticket, context, model)
    answers = survey_indicators(survey, model.survey) if survey is not None else []

    def combine(operational_parts, answer_parts) -> tuple[float, float]:
        """(final, predicted) for these indicator values."""
        predicted = power_mean(operational_parts, 1.0 / (1.0 + model.emphasis))
        predicted = model.prior_score if predicted is None else predicted
        if not answer_parts:
            return predicted, predicted
        blend = model.survey.weight
        return blend * power_mean(answer_parts) + (1.0 - blend) * predicted, predicted

    final, predicted = combine(operational, answers)
    total_weight = sum(part.weight for part in operational if part.weight > 0)
    known_weight = sum(part.weight for part in operational if part.known and part.weight > 0)
    confidence = model.operational_confidence * (known_weight / total_weight if total_weight else 0.0)
    if survey is not None:
        confidence += (1.0 - confidence) * model.survey.confidence

    # The points a part costs: how much higher the final score would be were that part perfect.
    costs = {}
    for part in operational + answers:
        if part.known and part.problem and part.weight > 0 and part.value < 100.0:
            perfect = replace(part, value=100.0)
            better, _ = combine([perfect if p is part else p for p in operational],
                                [perfect if p is part else p for p in answers])
            costs[part.name] = better - final

    score = _round(max(0.0, min(100.0, final)))
    return Score(
        score=score,
        band=band_for(score, model.bands),
        reasons=_reasons(operational + answers, costs, survey, model.max_reasons),
        confidence=round(min(max(confidence, 0.0), 1.0), 2),
        model_version=model.version,
        from_survey=survey is not None,
        indicators=MappingProxyType({part.name: None if part.value is None else round(part.value, 1)
                                     for part in operational + answers}),
        operational_score=_round(max(0.0, min(100.0, predicted))),
    )


def _reasons(parts: list[IndicatorResult], costs: dict[str, float], survey: SurveyResult | None,
             limit: int) -> tuple[str, ...]:
    """The rating first (with an answer), then problems by the points they cost; praise when none."""
    lead = [f"survey: rated {survey.rating}/10"] if survey is not None else []
    ranked = sorted((-points, position, part.problem) for position, part in enumerate(parts)
                    if (points := costs.get(part.name, 0.0)) >= NOTABLE_POINTS)
    problems = [text for _, _, text in ranked]
    if problems:
        return tuple((lead + problems)[:limit])
    praise = [part.praise for part in sorted(parts, key=lambda p: -p.weight) if part.known and part.praise]
    return tuple((lead + praise)[:limit])
