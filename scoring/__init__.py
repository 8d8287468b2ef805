"""Experience scoring: pure functions from a ticket, its context and a survey answer to a score.

No I/O happens here: callers hand in everything (`ExperienceContext`, `SurveyResult`, the
`ScoringModel` loaded from `[scoring]`), so equal inputs always give equal outputs and every
score records the model version that produced it. The model is described in docs/scoring.md.

Entry points:
- `load_scoring_section(raw)` (called by the settings loader) -> (ScoringModel, problems);
  `build_model(section)` -> ScoringModel (the validated model, or a raw table validated now)
- `score_ticket(ticket, context, survey, model)` -> Score
- `experience_risk(context, score, vip=..., model=...)` -> "low" | "medium" | "high"
- `render_context_note(ticket, context, score, model=...)` -> the internal note text
- `aggregate(responses, by=(...))`, `rank_hotspots(rows, baseline)`, `evaluate_targets(rows, targets)`
"""
from scoring.aggregates import AggregateRow, ResponseRecord, aggregate, rank_hotspots
from scoring.config import build_model, load_scoring_section
from scoring.context import ExperienceContext, SurveyResult
from scoring.model import DEFAULT_MODEL, MODEL_VERSION, ScoringModel
from scoring.note import render_context_note
from scoring.risk import experience_risk
from scoring.score import Score, band_for, score_ticket
from scoring.targets import TargetResult, XlaTarget, attainment, evaluate_targets, evaluate_targets_from_responses

__all__ = [
    "DEFAULT_MODEL", "MODEL_VERSION", "AggregateRow", "ExperienceContext", "ResponseRecord", "Score", "ScoringModel",
    "SurveyResult", "TargetResult", "XlaTarget", "aggregate", "attainment", "band_for", "build_model",
    "evaluate_targets",
    "evaluate_targets_from_responses", "experience_risk", "load_scoring_section", "rank_hotspots",
    "render_context_note", "score_ticket",
]
