"""Experience indicators (XIs): each turns one signal about a ticket into a value from 0 (bad) to 100 (fine).

An indicator is None when its signal is unknown; it then takes no part in the score and lowers
the confidence instead. Every indicator is non-increasing in the harm it measures (more
reassignments, reopens, delay or waiting never raise it). Each also says, in plain words, what
went wrong (`problem`) or, when nothing did, what went right (`praise`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from domain.ticket import Stage, Ticket
from scoring.context import IN_PROGRESS_CHANGE, RECENT_CHANGE, ExperienceContext, SurveyResult
from scoring.model import Indicators, ScoringModel, SurveySettings

NEGATIVE_TONE = -0.25
POSITIVE_TONE = 0.25


@dataclass(frozen=True)
class IndicatorResult:
    name: str
    value: float | None      # 0..100, None when unknown
    weight: float
    problem: str | None = None
    praise: str | None = None

    @property
    def known(self) -> bool:
        return self.value is not None


def times(count: int) -> str:
    """"once", "twice", "3 times"."""
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def hours_text(hours: float) -> str:
    return f"{hours:.1f} h" if hours < 10 else f"{hours:.0f} h"


def repeat_contact_words(repeat_of: str | None) -> str:
    earlier = f" ({repeat_of})" if repeat_of else ""
    return f"caller contacted us again about the same issue{earlier}"


def major_incident_words(number: str | None) -> str:
    return f"major incident {number} is open on the same CI" if number else "a major incident is open on the same CI"


def change_words(state: str, number: str | None) -> str:
    which = f"change {number}" if number else "a change"
    return f"{which} is in progress on the same CI" if state == IN_PROGRESS_CHANGE else \
        f"{which} was implemented on the same CI recently"


def last_rating_words(rating: int) -> str:
    return f"caller rated their last survey {rating}/10"


def _clamp(value: float) -> float:
    return max(0.0, min(100.0, value))


def tone_value(sentiment: float) -> float:
    """A comment's tone as an indicator: neutral or positive costs nothing; -1 scores 0."""
    return 100.0 if sentiment >= 0 else _clamp(100.0 * (1.0 + sentiment))


def reassignments(ticket: Ticket, context: ExperienceContext, settings: Indicators) -> IndicatorResult:
    own = settings.reassignments
    count = context.reassignments if context.reassignments is not None else ticket.reassignment_count
    count = max(int(count or 0), 0)
    return IndicatorResult("reassignments", _clamp(100.0 - own.points_each * count), own.weight,
                           problem=f"reassigned {times(count)}" if count else None,
                           praise=None if count else "no reassignments")


def reopens(ticket: Ticket, context: ExperienceContext, settings: Indicators) -> IndicatorResult:
    own = settings.reopens
    count = context.reopens if context.reopens is not None else ticket.reopen_count
    count = max(int(count or 0), 0)
    return IndicatorResult("reopens", _clamp(100.0 - own.points_each * count), own.weight,
                           problem=f"reopened {times(count)}" if count else None,
                           praise=None if count else "not reopened")


def resolution_time_value(ratio: float, full_marks: float, at_target: float, zero_at: float) -> float:
    """Piecewise linear in the ratio time taken / target: 100 up to `full_marks`, `at_target` at 1,
    0 from `zero_at` on."""
    if ratio <= full_marks:
        return 100.0
    if ratio <= 1.0:
        return 100.0 - (100.0 - at_target) * (ratio - full_marks) / (1.0 - full_marks)
    if ratio < zero_at:
        return at_target * (zero_at - ratio) / (zero_at - 1.0)
    return 0.0


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def resolution_time(ticket: Ticket, context: ExperienceContext, settings: Indicators) -> IndicatorResult:
    own = settings.resolution_time
    unknown = IndicatorResult("resolution_time", None, own.weight)
    targets = own.target_hours.get(ticket.kind.value)
    if not targets or ticket.priority not in targets or ticket.opened_at is None or ticket.stage == Stage.CANCELED:
        return unknown
    end = ticket.resolved_at or ticket.closed_at
    still_open = end is None
    end = end or context.as_of
    if end is None:
        return unknown
    target = targets[ticket.priority] * (own.vip_target_factor if ticket.vip else 1.0)
    elapsed = max((_aware(end) - _aware(ticket.opened_at)).total_seconds() / 3600.0, 0.0)
    ratio = elapsed / target
    value = resolution_time_value(ratio, own.full_marks_ratio, own.at_target, own.zero_at_ratio)
    which = "the VIP target" if ticket.vip else "the target"
    if value < 100.0:
        problem = f"{'open for ' if still_open else ''}{ratio:.1f}x {which} resolution time"
        return IndicatorResult("resolution_time", value, own.weight, problem=problem)
    praise = "open well within the target time" if still_open else "resolved well within the target time"
    return IndicatorResult("resolution_time", value, own.weight, praise=praise)


def sla(ticket: Ticket, context: ExperienceContext, settings: Indicators) -> IndicatorResult:
    own = settings.sla
    breached = context.sla_breached if context.sla_breached is not None else ticket.sla_breached
    if breached:
        return IndicatorResult("sla", own.breached, own.weight, problem="SLA breached")
    if context.sla_at_risk:
        return IndicatorResult("sla", own.at_risk, own.weight, problem="SLA at risk")
    if breached is None:
        # "not at risk" alone proves nothing: there may be no SLA record at all.
        return IndicatorResult("sla", None, own.weight)
    return IndicatorResult("sla", 100.0, own.weight, praise="SLA met")


def waiting(ticket: Ticket, context: ExperienceContext, settings: Indicators) -> IndicatorResult:
    own = settings.waiting
    if not context.time_in_state_hours:
        return IndicatorResult("waiting", None, own.weight)
    hours = sum(max(float(context.time_in_state_hours.get(stage, 0.0)), 0.0) for stage in own.stages)
    if hours <= own.free_hours:
        value = 100.0
    elif hours >= own.zero_at_hours:
        value = 0.0
    else:
        value = 100.0 * (own.zero_at_hours - hours) / (own.zero_at_hours - own.free_hours)
    if value < 100.0:
        return IndicatorResult("waiting", value, own.weight, problem=f"on hold for {hours_text(hours)}")
    return IndicatorResult("waiting", value, own.weight, praise="little time on hold")


def repeat_contact(ticket: Ticket, context: ExperienceContext, settings: Indicators) -> IndicatorResult:
    own = settings.repeat_contact
    if context.repeat_contact is None:
        return IndicatorResult("repeat_contact", None, own.weight)
    if context.repeat_contact:
        return IndicatorResult("repeat_contact", own.value, own.weight,
                               problem=repeat_contact_words(context.repeat_of))
    return IndicatorResult("repeat_contact", 100.0, own.weight, praise="first contact about this issue")


def caller_history(ticket: Ticket, context: ExperienceContext, settings: Indicators) -> IndicatorResult:
    own = settings.caller_history
    candidates: list[tuple[float, str | None]] = []
    if context.caller_recent_poor is not None or context.caller_recent_tickets is not None:
        poor = max(int(context.caller_recent_poor or 0), 0)
        candidates.append((_clamp(100.0 - own.points_per_poor * poor),
                           f"caller had {poor} poor experience{'s' if poor != 1 else ''} recently" if poor else None))
    if context.last_survey_rating is not None:
        rating = context.last_survey_rating
        candidates.append((_clamp(100.0 * rating / own.good_rating) if rating < own.good_rating else 100.0,
                           last_rating_words(rating) if rating < own.good_rating else None))
    if context.last_sentiment is not None:
        tone = tone_value(context.last_sentiment)
        candidates.append((tone, "caller's last survey comment sounded negative"
                           if context.last_sentiment <= NEGATIVE_TONE else None))
    if not candidates:
        return IndicatorResult("caller_history", None, own.weight)
    value, problem = min(candidates, key=lambda candidate: candidate[0])
    return IndicatorResult("caller_history", value, own.weight, problem=problem if value < 100.0 else None,
                           praise="no recent poor experiences" if value >= 100.0 else None)


def major_incident(ticket: Ticket, context: ExperienceContext, settings: Indicators) -> IndicatorResult:
    own = settings.major_incident
    if context.open_major_incident is None:
        return IndicatorResult("major_incident", None, own.weight)
    if context.open_major_incident:
        return IndicatorResult("major_incident", own.value, own.weight,
                               problem=major_incident_words(context.major_incident_number))
    return IndicatorResult("major_incident", 100.0, own.weight)


def change_on_ci(ticket: Ticket, context: ExperienceContext, settings: Indicators) -> IndicatorResult:
    own = settings.change_on_ci
    if context.change_on_ci == IN_PROGRESS_CHANGE:
        return IndicatorResult("change_on_ci", own.in_progress, own.weight,
                               problem=change_words(context.change_on_ci, context.change_number))
    if context.change_on_ci == RECENT_CHANGE:
        return IndicatorResult("change_on_ci", own.recent, own.weight,
                               problem=change_words(context.change_on_ci, context.change_number))
    if context.change_on_ci == "none":
        return IndicatorResult("change_on_ci", 100.0, own.weight)
    return IndicatorResult("change_on_ci", None, own.weight)


def caller_sentiment(ticket: Ticket, context: ExperienceContext, settings: Indicators) -> IndicatorResult:
    own = settings.caller_sentiment
    tone = context.caller_comment_sentiment
    if tone is None:
        return IndicatorResult("caller_sentiment", None, own.weight)
    return IndicatorResult("caller_sentiment", tone_value(tone), own.weight,
                           problem="caller's comments sound negative" if tone <= NEGATIVE_TONE else None,
                           praise="caller's comments sound positive" if tone >= POSITIVE_TONE else None)


OPERATIONAL = (reassignments, reopens, resolution_time, sla, waiting, repeat_contact, caller_history,
               major_incident, change_on_ci, caller_sentiment)


def operational_indicators(ticket: Ticket, context: ExperienceContext, model: ScoringModel) -> list[IndicatorResult]:
    """Every operational indicator of `ticket`, known or not, in a fixed order."""
    return [indicator(ticket, context, model.indicators) for indicator in OPERATIONAL]


def survey_indicators(survey: SurveyResult, settings: SurveySettings) -> list[IndicatorResult]:
    """The parts of a survey answer: rating (0-10 -> 0-100), lost time, comment tone."""
    # The rating's own reason ("survey: rated 3/10") always leads, so it carries no problem here.
    parts = [IndicatorResult("survey_rating", survey.rating * 10.0, settings.rating_weight)]
    if survey.lost_hours is not None:
        lost = survey.lost_hours
        value = _clamp(100.0 * (1.0 - lost / settings.lost_hours_zero_at))
        parts.append(IndicatorResult("survey_lost_time", value, settings.lost_time_weight,
                                     problem=f"survey: lost {hours_text(lost)} of work" if lost > 0 else None,
                                     praise="survey: no work time lost" if lost == 0 else None))
    if survey.sentiment is not None:
        parts.append(IndicatorResult(
            "survey_sentiment", tone_value(survey.sentiment), settings.sentiment_weight,
            problem="survey: comment sounds negative" if survey.sentiment <= NEGATIVE_TONE else None,
            praise="survey: comment sounds positive" if survey.sentiment >= POSITIVE_TONE else None))
    return parts
