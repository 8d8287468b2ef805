"""Survey answers summed up: happiness, lost time and hotspots per service, group, channel, kind and period.

    happiness  = 100 * (answers rated 9-10 - answers rated 0-6) / answers      (-100..100)
    lost time  = mean of the lost-time answers given, in hours (answers without one are left out)
    impact     = answers * (happiness - baseline)     (most negative first: the biggest hotspots)

Rows keep their counts (not only the ratios), so rows of a finer grouping can be merged into a
coarser one exactly (`merge_rows`), which is how XLA targets are evaluated on any grouping.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence

PERIODS = ("day", "week", "month", "quarter", "year")
DIMENSIONS = ("service", "group", "channel", "kind", "connection_id")
PROMOTER_FROM = 9
DETRACTOR_UP_TO = 6


@dataclass(frozen=True)
class ResponseRecord:
    """One survey answer with what it is grouped by. `answered_at` decides its period (UTC)."""

    rating: int
    answered_at: datetime
    lost_hours: float | None = None
    service: str | None = None
    group: str | None = None
    channel: str | None = None
    kind: str | None = None
    connection_id: str | None = None

    @classmethod
    def coerce(cls, response: Any) -> "ResponseRecord":
        """A ResponseRecord from itself, a mapping or an object with the same attribute names
        (`lost_minutes` is accepted in place of `lost_hours`). Raises ValueError when rating or
        answered_at is missing or out of range."""
        if isinstance(response, cls):
            return response
        get = response.get if isinstance(response, Mapping) else (lambda k, d=None: getattr(response, k, d))
        rating, answered_at = get("rating"), get("answered_at")
        if isinstance(rating, bool) or not isinstance(rating, int) or not 0 <= rating <= 10:
            raise ValueError(f"rating: found {rating!r}; expected a whole number from 0 to 10")
        if not isinstance(answered_at, datetime):
            raise ValueError(f"answered_at: found {answered_at!r}; expected a datetime")
        lost = get("lost_hours")
        if lost is None and get("lost_minutes") is not None:
            lost = get("lost_minutes") / 60
        kind = get("kind")
        return cls(rating=rating, answered_at=answered_at, lost_hours=lost, service=get("service"),
                   group=get("group"), channel=get("channel"), kind=getattr(kind, "value", kind),
                   connection_id=get("connection_id"))


@dataclass(frozen=True)
class AggregateRow:
    """The answers of one group. `key` is ((dimension, value), ...) in the order asked for."""

    key: tuple[tuple[str, str | None], ...]
    responses: int
    promoters: int
    passives: int
    detractors: int
    lost_hours_total: float
    lost_hours_answers: int

    @property
    def keys(self) -> dict[str, str | None]:
        return dict(self.key)

    @property
    def happiness(self) -> float:
        return round(100.0 * (self.promoters - self.detractors) / self.responses, 1) if self.responses else 0.0

    @property
    def mean_lost_hours(self) -> float | None:
        if not self.lost_hours_answers:
            return None
        return round(self.lost_hours_total / self.lost_hours_answers, 2)

    def impact(self, baseline: float) -> float:
        """Hotspot impact: answers x (happiness - baseline); negative means below the baseline."""
        return round(self.responses * (self.happiness - baseline), 1)

    def to_json(self) -> dict:
        return {**self.keys, "responses": self.responses, "happiness": self.happiness,
                "mean_lost_hours": self.mean_lost_hours, "promoters": self.promoters,
                "passives": self.passives, "detractors": self.detractors}


def period_of(moment: datetime, period: str) -> str:
    """The label of the period `moment` falls in (UTC): 2026-11-23, 2026-W48, 2026-11, 2026-Q4, 2026."""
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    if period == "day":
        return moment.strftime("%Y-%m-%d")
    if period == "week":
        year, week, _ = moment.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return moment.strftime("%Y-%m")
    if period == "quarter":
        return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"
    if period == "year":
        return str(moment.year)
    raise ValueError(f"unknown period {period!r}; expected one of {', '.join(PERIODS)}")


def _value(record: ResponseRecord, dimension: str) -> str | None:
    if dimension in PERIODS:
        return period_of(record.answered_at, dimension)
    return getattr(record, dimension)


def check_dimensions(by: Sequence[str]) -> None:
    """Raise ValueError unless every name in `by` is a dimension or a period (at most one period)."""
    unknown = [name for name in by if name not in DIMENSIONS and name not in PERIODS]
    if unknown:
        raise ValueError(f"cannot group by {', '.join(unknown)}; expected any of "
                         f"{', '.join(DIMENSIONS + PERIODS)}")
    if sum(name in PERIODS for name in by) > 1:
        raise ValueError("group by one period at most")


def aggregate(responses: Iterable[Any], by: Sequence[str] = ("service", "month")) -> list[AggregateRow]:
    """One row per distinct combination of `by` values, sorted by key (None first).

    Raises ValueError for an unknown dimension or a response without a valid rating / answered_at.
    """
    by = tuple(by)
    check_dimensions(by)
    counts: dict[tuple, list] = {}
    for response in responses:
        record = ResponseRecord.coerce(response)
        key = tuple((name, _value(record, name)) for name in by)
        row = counts.setdefault(key, [0, 0, 0, 0, 0.0, 0])
        row[0] += 1
        if record.rating >= PROMOTER_FROM:
            row[1] += 1
        elif record.rating <= DETRACTOR_UP_TO:
            row[3] += 1
        else:
            row[2] += 1
        if record.lost_hours is not None:
            row[4] += float(record.lost_hours)
            row[5] += 1
    rows = [AggregateRow(key, *values) for key, values in counts.items()]
    return sorted(rows, key=lambda row: tuple((value is not None, value or "") for _, value in row.key))


def merge_rows(rows: Iterable[AggregateRow], key: tuple[tuple[str, str | None], ...]) -> AggregateRow:
    """Rows summed into one row carrying `key` (counts add up, so happiness stays exact)."""
    total = [0, 0, 0, 0, 0.0, 0]
    for row in rows:
        for position, amount in enumerate((row.responses, row.promoters, row.passives, row.detractors,
                                           row.lost_hours_total, row.lost_hours_answers)):
            total[position] += amount
    return AggregateRow(key, *total)


def rank_hotspots(rows: Iterable[AggregateRow], baseline: float) -> list[tuple[AggregateRow, float]]:
    """Rows with their impact against `baseline`, the most harmful (most negative) first."""
    scored = [(row, row.impact(baseline)) for row in rows]
    return sorted(scored, key=lambda pair: (pair[1], tuple(str(v) for _, v in pair[0].key)))
