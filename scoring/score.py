"""The experience score of one ticket: indicators -> weighted mean -> band, reasons and confidence.

    v_i         = w_i * (1 + e * (100 - x_i) / 100)   effective weight of a known indicator x_i
                  (w_i its configured weight, e the model's emphasis: a troubled indicator
                  counts more, so one bad signal is not averaged away by many fine ones)
    operational = sum(v_i * x_i) / sum(v_i) over the known indicators (0..100)
                  (the model's prior_score when none is known)
    survey      = sum(u_p * y_p) / sum(u_p) over the answer's parts y_p (rating*10, lost time,
                  tone) with their configured weights u_p
    score       = round(s * survey + (1 - s) * operational) with s = survey.weight, or
                  round(operational) without an answer
    band        = good if score > good_above, poor if score < poor_below, else average

The operational score never rises when an indicator falls: its derivative in x_j has the sign
of w_j * (1 + e * operational / 100), which is never negative. Reasons are ranked by the points
each indicator costs the final score; with an answer, the rating leads ("survey: rated 3/10").
Confidence is the known share of the configured weights times operational_confidence, and an
answer removes survey.confidence of the remaining doubt.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
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


def effective_weights(parts: list[IndicatorResult], emphasis: float = 0.0) -> dict[str, float]:
    """The weight each known part with a positive weight counts with (see the module formula)."""
    return {part.name: part.weight * (1.0 + emphasis * (100.0 - part.value) / 100.0)
            for part in parts if part.known and part.weight > 0}


def weighted_mean(parts: list[IndicatorResult], emphasis: float = 0.0) -> float | None:
    """The weighted mean of the known parts with a positive weight, or None when there are none."""
    weights = effective_weights(parts, emphasis)
    total = sum(weights.values())
    if total <= 0:
        return None
    return sum(weights[part.name] * part.value for part in parts if part.name in weights) / total


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
    predicted = weighted_mean(operational, model.emphasis)
    predicted = model.prior_score if predicted is None else predicted
    total_weight = sum(part.weight for part in operational if part.weight > 0)
    known_weight = sum(part.weight for part in operational if part.known and part.weight > 0)
    confidence = model.operational_confidence * (known_weight / total_weight if total_weight else 0.0)

    parts = list(operational)
    # share[name]: the fraction of the final score each part's value stands for (ranks the reasons)
    share = _shares(effective_weights(operational, model.emphasis))
    if survey is None:
        final = predicted
    else:
        answers = survey_indicators(survey, model.survey)
        blend = model.survey.weight
        final = blend * weighted_mean(answers) + (1.0 - blend) * predicted
        share = {name: (1.0 - blend) * value for name, value in share.items()}
        share.update({name: blend * value for name, value in _shares(effective_weights(answers)).items()})
        parts.extend(answers)
        confidence += (1.0 - confidence) * model.survey.confidence

    final = max(0.0, min(100.0, final))
    score = _round(final)
    return Score(
        score=score,
        band=band_for(score, model.bands),
        reasons=_reasons(parts, share, survey, model.max_reasons),
        confidence=round(min(max(confidence, 0.0), 1.0), 2),
        model_version=model.version,
        from_survey=survey is not None,
        indicators=MappingProxyType({part.name: None if part.value is None else round(part.value, 1)
                                     for part in parts}),
        operational_score=_round(max(0.0, min(100.0, predicted))),
    )


def _shares(weights: dict[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {name: weight / total for name, weight in weights.items()} if total > 0 else {}


def _reasons(parts: list[IndicatorResult], share: dict[str, float], survey: SurveyResult | None,
             limit: int) -> tuple[str, ...]:
    """The rating first (with an answer), then problems by the points they cost; praise when none."""
    lead = [f"survey: rated {survey.rating}/10"] if survey is not None else []
    costs = []
    for position, part in enumerate(parts):
        if part.known and part.problem and part.weight > 0:
            points = share.get(part.name, 0.0) * (100.0 - part.value)
            if points >= NOTABLE_POINTS:
                costs.append((-points, position, part.problem))
    problems = [text for _, _, text in sorted(costs)]
    if problems:
        return tuple((lead + problems)[:limit])
    praise = [part.praise for part in sorted(parts, key=lambda p: -p.weight) if part.known and part.praise]
    return tuple((lead + praise)[:limit])
