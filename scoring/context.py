"""The inputs scoring reads besides the ticket: its experience context and a survey answer.

`enrichment/` builds an `ExperienceContext` (caller history, SLA, major incidents, changes);
`surveys/` turns an answer into a `SurveyResult`. Both are plain values: scoring never looks
anything up. A field left at None means "not known", which lowers the score's confidence but
never its value.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Mapping


IN_PROGRESS_CHANGE, RECENT_CHANGE = "in_progress", "recently_implemented"
CHANGE_STATES = (None, IN_PROGRESS_CHANGE, RECENT_CHANGE, "none")


@dataclass(frozen=True)
class ExperienceContext:
    """What is known around one ticket when it is scored.

    - caller_recent_tickets / caller_recent_poor: the caller's other tickets in the look-back
      window, and how many of those ended with a poor experience.
    - repeat_contact / repeat_of: the caller came back about the same issue (a reopen by other
      means), and the number of the earlier ticket when known.
    - reassignments / reopens: counts from the audit trail when better than the ticket's own.
    - time_in_state_hours: hours spent per canonical stage ("on_hold": 26.5, ...).
    - sla_breached / sla_at_risk: from the tool's SLA records.
    - open_major_incident / major_incident_number: a major incident is open on the same CI.
    - change_on_ci / change_number: a change touches the same CI: "in_progress", "recently_implemented"
      ("recent" is read the same), "none" (checked, there is none) or None (not checked).
    - last_survey_rating (0-10) / last_sentiment (-1..1): the caller's previous survey answer.
    - caller_comment_sentiment (-1..1): the tone of the caller's comments on this ticket.
    - as_of: when the context was built; open tickets are timed up to this moment.
    """

    caller_recent_tickets: int | None = None
    caller_recent_poor: int | None = None
    repeat_contact: bool | None = None
    repeat_of: str | None = None
    reassignments: int | None = None
    reopens: int | None = None
    time_in_state_hours: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    sla_breached: bool | None = None
    sla_at_risk: bool | None = None
    open_major_incident: bool | None = None
    major_incident_number: str | None = None
    change_on_ci: str | None = None
    change_number: str | None = None
    last_survey_rating: int | None = None
    last_sentiment: float | None = None
    caller_comment_sentiment: float | None = None
    as_of: datetime | None = None

    def __post_init__(self):
        object.__setattr__(self, "time_in_state_hours", MappingProxyType(dict(self.time_in_state_hours or {})))
        if self.change_on_ci == "recent":
            object.__setattr__(self, "change_on_ci", RECENT_CHANGE)
        if self.change_on_ci not in CHANGE_STATES:
            raise ValueError(f"change_on_ci: found {self.change_on_ci!r}; expected 'in_progress', "
                             f"'{RECENT_CHANGE}', 'none' or None")

    @classmethod
    def from_mapping(cls, context: "Mapping[str, Any] | None") -> "ExperienceContext":
        """The context a dict of its fields describes (what enrichment returns). Raises like `coerce`."""
        return cls.coerce(context)

    @classmethod
    def coerce(cls, context: "ExperienceContext | Mapping[str, Any] | None") -> "ExperienceContext":
        """An ExperienceContext from itself, a dict of its fields, or None (nothing known).
        Raises ValueError naming any key that is not a field (a misspelt key must not pass silently)."""
        if context is None:
            return cls()
        if isinstance(context, cls):
            return context
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(context) - known)
        if unknown:
            raise ValueError(f"unknown experience context keys: {', '.join(unknown)}; expected {', '.join(sorted(known))}")
        return cls(**dict(context))

    def to_json(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["time_in_state_hours"] = dict(self.time_in_state_hours)
        data["as_of"] = self.as_of.isoformat() if self.as_of else None
        return data


@dataclass(frozen=True)
class SurveyResult:
    """One survey answer as scoring needs it: rating 0-10, optional lost time and comment tone."""

    rating: int
    lost_minutes: int | None = None
    sentiment: float | None = None   # -1..1 from the comment, None without a comment
    comment: str | None = None

    def __post_init__(self):
        if isinstance(self.rating, bool) or not isinstance(self.rating, int) or not 0 <= self.rating <= 10:
            raise ValueError(f"rating: found {self.rating!r}; expected a whole number from 0 to 10")
        if self.lost_minutes is not None and self.lost_minutes < 0:
            raise ValueError(f"lost_minutes: found {self.lost_minutes!r}; expected 0 or more")
        if self.sentiment is not None and not -1.0 <= self.sentiment <= 1.0:
            raise ValueError(f"sentiment: found {self.sentiment!r}; expected a number from -1 to 1")

    @property
    def lost_hours(self) -> float | None:
        return None if self.lost_minutes is None else self.lost_minutes / 60

    @classmethod
    def coerce(cls, survey: Any) -> "SurveyResult | None":
        """A SurveyResult from itself, a mapping, or any object with `rating`, `lost_minutes` and
        `sentiment` / `sentiment_score` (such as a stored survey response). Raises ValueError."""
        if survey is None or isinstance(survey, cls):
            return survey
        get = survey.get if isinstance(survey, Mapping) else (lambda key, default=None: getattr(survey, key, default))
        sentiment = get("sentiment", None)
        if sentiment is None:
            sentiment = get("sentiment_score", None)
        return cls(rating=get("rating"), lost_minutes=get("lost_minutes", None), sentiment=sentiment,
                   comment=get("comment", None))
