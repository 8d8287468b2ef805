"""XLA targets: commitments about experience, checked period by period against aggregated answers.

A target names what it covers (any of kind, service, group, channel, connection_id), the period
it is judged over, and its thresholds (`min_happiness`, `max_lost_time_hours`). A period with
fewer than `min_responses` answers is reported as such rather than judged on noise.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Sequence

from scoring.aggregates import DIMENSIONS, PERIODS, AggregateRow, aggregate, merge_rows

MET, MISSED, TOO_FEW, NOT_EVALUABLE = "met", "missed", "too_few_responses", "not_evaluable"


@dataclass(frozen=True)
class XlaTarget:
    name: str
    period: str = "month"
    filters: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    min_happiness: float | None = None
    max_lost_time_hours: float | None = None
    min_responses: int = 1

    def __post_init__(self):
        object.__setattr__(self, "filters", MappingProxyType(dict(self.filters)))
        if self.period not in PERIODS:
            raise ValueError(f"period: found {self.period!r}; expected one of {', '.join(PERIODS)}")
        unknown = sorted(set(self.filters) - set(DIMENSIONS))
        if unknown:
            raise ValueError(f"cannot filter by {', '.join(unknown)}; expected any of {', '.join(DIMENSIONS)}")

    @property
    def dimensions(self) -> tuple[str, ...]:
        """What rows must be grouped by for this target: its filters, then its period."""
        return tuple(sorted(self.filters)) + (self.period,)


@dataclass(frozen=True)
class TargetResult:
    target: str
    period: str | None
    status: str                      # met, missed, too_few_responses, not_evaluable
    responses: int = 0
    happiness: float | None = None
    mean_lost_hours: float | None = None
    happiness_met: bool | None = None
    lost_time_met: bool | None = None
    detail: str = ""

    @property
    def met(self) -> bool | None:
        return {MET: True, MISSED: False}.get(self.status)

    def to_json(self) -> dict:
        return {"target": self.target, "period": self.period, "status": self.status,
                "responses": self.responses, "happiness": self.happiness,
                "mean_lost_hours": self.mean_lost_hours, "happiness_met": self.happiness_met,
                "lost_time_met": self.lost_time_met, "detail": self.detail}


def evaluate_targets(rows: Sequence[AggregateRow], targets: Iterable[XlaTarget]) -> list[TargetResult]:
    """One result per target and period found in `rows`, in target order then period order.

    Rows may be grouped more finely than a target needs (they are merged), but must be grouped
    by every dimension the target filters on and by its period; otherwise the target gets one
    `not_evaluable` result saying which grouping it needs. Never raises for data.
    """
    results: list[TargetResult] = []
    for target in targets:
        missing = [name for name in target.dimensions if rows and any(name not in row.keys for row in rows)]
        if missing:
            results.append(TargetResult(
                target.name, None, NOT_EVALUABLE,
                detail=f"answers are not grouped by {', '.join(missing)}; aggregate by "
                       f"({', '.join(target.dimensions)}) or finer"))
            continue
        by_period: dict[str, list[AggregateRow]] = defaultdict(list)
        for row in rows:
            keys = row.keys
            if all(keys.get(name) == value for name, value in target.filters.items()):
                by_period[keys[target.period]].append(row)
        for period in sorted(by_period):
            merged = merge_rows(by_period[period], tuple(sorted(target.filters.items())) + ((target.period, period),))
            results.append(_judge(target, period, merged))
    return results


def evaluate_targets_from_responses(responses: Iterable[Any], targets: Iterable[XlaTarget]) -> list[TargetResult]:
    """Aggregate `responses` the way each target needs, then evaluate it. Raises like `aggregate`."""
    responses = list(responses)
    results = []
    for target in targets:
        results.extend(evaluate_targets(aggregate(responses, by=target.dimensions), [target]))
    return results


def attainment(results: Iterable[TargetResult]) -> dict[str, float | None]:
    """Per target, the share of judged periods that met it (None when no period could be judged)."""
    judged: dict[str, list[bool]] = defaultdict(list)
    for result in results:
        judged.setdefault(result.target, [])
        if result.met is not None:
            judged[result.target].append(result.met)
    return {name: (round(sum(verdicts) / len(verdicts), 3) if verdicts else None) for name, verdicts in judged.items()}


def _judge(target: XlaTarget, period: str, row: AggregateRow) -> TargetResult:
    happiness, lost = row.happiness, row.mean_lost_hours
    if row.responses < target.min_responses:
        return TargetResult(target.name, period, TOO_FEW, row.responses, happiness, lost,
                            detail=f"{row.responses} answers; at least {target.min_responses} are needed to judge")
    verdicts, words = [], []
    happiness_met = lost_met = None
    if target.min_happiness is not None:
        happiness_met = happiness >= target.min_happiness
        verdicts.append(happiness_met)
        words.append(f"happiness {happiness:+.0f} {'meets' if happiness_met else 'is below'} "
                     f"{target.min_happiness:+.0f}")
    if target.max_lost_time_hours is not None:
        if lost is None:
            words.append("no lost-time answers")
        else:
            lost_met = lost <= target.max_lost_time_hours
            verdicts.append(lost_met)
            words.append(f"lost time {lost:.1f} h {'within' if lost_met else 'above'} "
                         f"{target.max_lost_time_hours:g} h")
    if not verdicts:
        status = NOT_EVALUABLE
    else:
        status = MET if all(verdicts) else MISSED
    return TargetResult(target.name, period, status, row.responses, happiness, lost, happiness_met, lost_met,
                        detail="; ".join(words))
