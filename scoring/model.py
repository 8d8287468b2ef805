"""The scoring model's settings: immutable values, with a version that changes when any of them does.

Every `Score` records `ScoringModel.version`, `"<MODEL_VERSION>+<6 hex>"`: the formula's version
and a digest of the settings that shape scores (weights, thresholds, targets per priority, bands).
Two scores with the same version were computed the same way; XLA targets do not change scores
and are left out of the digest.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

# Bump when a formula in scoring/ changes meaning (not for new settings with neutral defaults).
MODEL_VERSION = "xi-1.0"


def _frozen(table: Mapping) -> Mapping:
    return MappingProxyType({key: _frozen(value) if isinstance(value, Mapping) else value
                             for key, value in table.items()})


@dataclass(frozen=True)
class Bands:
    good_above: float = 75.0   # score > good_above is "good"
    poor_below: float = 45.0   # score < poor_below is "poor"; in between "average"


@dataclass(frozen=True)
class ReassignmentSettings:
    weight: float = 2.0
    points_each: float = 25.0


@dataclass(frozen=True)
class ReopenSettings:
    weight: float = 2.0
    points_each: float = 40.0


DEFAULT_TARGET_HOURS = {
    "incident": {1: 4.0, 2: 8.0, 3: 72.0, 4: 120.0, 5: 240.0},
    "request": {1: 8.0, 2: 24.0, 3: 72.0, 4: 120.0, 5: 240.0},
}


@dataclass(frozen=True)
class ResolutionTimeSettings:
    weight: float = 2.0
    full_marks_ratio: float = 0.5   # up to this share of the target the indicator is 100
    at_target: float = 75.0         # indicator value when the time taken equals the target
    zero_at_ratio: float = 8.0      # the indicator reaches 0 at this multiple of the target
    vip_target_factor: float = 0.5  # VIP callers are held to a shorter target
    # kind -> priority (1..5) -> hours; kinds without targets (changes) leave the indicator unknown
    target_hours: Mapping[str, Mapping[int, float]] = field(
        default_factory=lambda: _frozen(DEFAULT_TARGET_HOURS))

    def __post_init__(self):
        object.__setattr__(self, "target_hours", _frozen(self.target_hours))


@dataclass(frozen=True)
class SlaSettings:
    weight: float = 1.5
    at_risk: float = 50.0
    breached: float = 0.0


@dataclass(frozen=True)
class WaitingSettings:
    weight: float = 1.5
    free_hours: float = 4.0
    zero_at_hours: float = 72.0
    stages: tuple[str, ...] = ("on_hold",)


@dataclass(frozen=True)
class RepeatContactSettings:
    weight: float = 1.5
    value: float = 20.0


@dataclass(frozen=True)
class CallerHistorySettings:
    weight: float = 1.0
    points_per_poor: float = 35.0
    good_rating: int = 7  # a previous rating at or above this costs nothing


@dataclass(frozen=True)
class MajorIncidentSettings:
    weight: float = 1.5
    value: float = 30.0


@dataclass(frozen=True)
class ChangeOnCiSettings:
    weight: float = 0.5
    in_progress: float = 50.0
    recent: float = 75.0


@dataclass(frozen=True)
class CallerSentimentSettings:
    weight: float = 1.0


@dataclass(frozen=True)
class Indicators:
    reassignments: ReassignmentSettings = field(default_factory=ReassignmentSettings)
    reopens: ReopenSettings = field(default_factory=ReopenSettings)
    resolution_time: ResolutionTimeSettings = field(default_factory=ResolutionTimeSettings)
    sla: SlaSettings = field(default_factory=SlaSettings)
    waiting: WaitingSettings = field(default_factory=WaitingSettings)
    repeat_contact: RepeatContactSettings = field(default_factory=RepeatContactSettings)
    caller_history: CallerHistorySettings = field(default_factory=CallerHistorySettings)
    major_incident: MajorIncidentSettings = field(default_factory=MajorIncidentSettings)
    change_on_ci: ChangeOnCiSettings = field(default_factory=ChangeOnCiSettings)
    caller_sentiment: CallerSentimentSettings = field(default_factory=CallerSentimentSettings)


INDICATOR_NAMES = tuple(f.name for f in dataclasses.fields(Indicators))


@dataclass(frozen=True)
class SurveySettings:
    weight: float = 0.7             # share of the survey in a blended score
    rating_weight: float = 3.0
    lost_time_weight: float = 1.0
    sentiment_weight: float = 1.0
    lost_hours_zero_at: float = 8.0  # a working day lost scores 0
    confidence: float = 0.9          # how much of the remaining doubt an answer removes


@dataclass(frozen=True)
class RiskSettings:
    medium_at: int = 1
    high_at: int = 3


@dataclass(frozen=True)
class ScoringModel:
    """Everything `score_ticket`, `experience_risk` and `evaluate_targets` read from `[scoring]`."""

    bands: Bands = field(default_factory=Bands)
    indicators: Indicators = field(default_factory=Indicators)
    survey: SurveySettings = field(default_factory=SurveySettings)
    risk: RiskSettings = field(default_factory=RiskSettings)
    prior_score: float = 70.0            # the score when no indicator is known
    emphasis: float = 1.0                # pulls the mean towards the lowest indicators (p = 1 / (1 + emphasis))
    operational_confidence: float = 0.7  # confidence when every indicator is known and no survey
    max_reasons: int = 3
    targets: tuple = ()                  # scoring.targets.XlaTarget, evaluated by evaluate_targets
    version: str = field(default="", compare=False)

    def __post_init__(self):
        object.__setattr__(self, "version", f"{MODEL_VERSION}+{self.digest()}")

    def to_json(self) -> dict:
        """Every setting as plain JSON values (targets included)."""
        return _plain({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})

    def digest(self) -> str:
        """Six hex digits of SHA-256 over the settings that shape scores."""
        shaping = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                   if f.name not in ("targets", "version")}
        text = json.dumps(_plain(shaping), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:6]


def _plain(value):
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 2 and 2.0 in the TOML mean the same model
    return value


DEFAULT_MODEL = ScoringModel()
