"""Validate the `[scoring]` table into an immutable `ScoringModel`.

Every key is optional; an empty table is the default model. Problems come back as one line
each, `key.path: found X; expected Y; fix`, relative to `[scoring]` (the settings loader puts
`scoring.` in front). Targets per priority are merged over the defaults, so setting
`target_hours.incident."1" = 2` leaves the other priorities as they were.
"""
from __future__ import annotations



from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from domain.ticket import Stage, TicketKind
from scoring.aggregates import DIMENSIONS, PERIODS
from scoring.model import (DEFAULT_MODEL, DEFAULT_TARGET_HOURS, Bands, CallerHistorySettings,
                           CallerSentimentSettings, ChangeOnCiSettings, Indicators, MajorIncidentSettings,
                           ReassignmentSettings, ReopenSettings, RepeatContactSettings, ResolutionTimeSettings,
                           RiskSettings, ScoringModel, SlaSettings, SurveySettings, WaitingSettings)
from scoring.targets import XlaTarget
from settings.problems import problem_lines
from settings.schema import number, text, whole

KINDS = tuple(kind.value for kind in TicketKind)
STAGES = tuple(stage.value for stage in Stage)


def _range(low: float | None, high: float | None, *, low_open: bool = False):
    if high is None:
        error = f"expected a number {'above' if low_open else 'of'} {low:g}{'' if low_open else ' or more'}"
    else:
        error = f"expected a number from {low:g} to {high:g}"
    return validate.Range(min=low, max=high, min_inclusive=not low_open, error=error)


def weight() -> fields.Float:
    return number("how much this indicator counts in the mean; 0 switches it off", validate=_range(0, None))


def indicator_value(hint: str) -> fields.Float:
    return number(hint, validate=_range(0, 100))


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE

    built: type | None = None

    @post_load
    def build(self, data, **_):
        return self.built(**data) if self.built else data


class BandsSchema(StrictSchema):
    built = Bands
    good_above = number("scores above this are good", validate=_range(0, 100))
    poor_below = number("scores below this are poor", validate=_range(0, 100))

    @validates_schema
    def ordered(self, data, **_):
        good = data.get("good_above", Bands.good_above)
        poor = data.get("poor_below", Bands.poor_below)
        if poor > good:
            raise ValidationError(f"found {poor:g}, above good_above {good:g}; expected poor_below <= good_above",
                                  "poor_below")


class ReassignmentsSchema(StrictSchema):
    built = ReassignmentSettings
    weight = weight()
    points_each = number("points each reassignment takes off the indicator", validate=_range(0, 100))


class ReopensSchema(StrictSchema):
    built = ReopenSettings
    weight = weight()
    points_each = number("points each reopen takes off the indicator", validate=_range(0, 100))


class TargetHoursSchema(StrictSchema):
    """Hours per priority; TOML keys "1" (highest) to "5" (lowest)."""


for _priority in range(1, 6):
    TargetHoursSchema._declared_fields[str(_priority)] = number(
        f"target resolution hours for priority {_priority}", validate=_range(0, None, low_open=True))


class ResolutionTimeSchema(StrictSchema):
    weight = weight()
    full_marks_ratio = number("share of the target up to which the indicator stays 100",
                              validate=validate.Range(min=0, max=1, max_inclusive=False,
                                                      error="expected a number from 0 up to (not including) 1"))
    at_target = indicator_value("the indicator's value when the time taken equals the target")
    zero_at_ratio = number("multiple of the target at which the indicator reaches 0",
                           validate=_range(1, None, low_open=True))
    vip_target_factor = number("VIP targets are the normal ones times this (0.5 halves them)",
                               validate=validate.Range(min=0, max=1, min_inclusive=False,
                                                       error="expected a number above 0, up to 1"))
    target_hours = fields.Dict(
        keys=fields.String(validate=validate.OneOf(KINDS, error=f"expected one of {', '.join(KINDS)}")),
        values=fields.Nested(TargetHoursSchema))

    @post_load
    def build(self, data, **_):
        hours = {kind: dict(table) for kind, table in DEFAULT_TARGET_HOURS.items()}
        for kind, table in (data.pop("target_hours", None) or {}).items():
            hours.setdefault(kind, {}).update({int(priority): value for priority, value in table.items()})
        return ResolutionTimeSettings(target_hours=hours, **data)


class SlaSchema(StrictSchema):
    built = SlaSettings
    weight = weight()
    at_risk = indicator_value("the indicator's value while an SLA is at risk")
    breached = indicator_value("the indicator's value once an SLA is breached")


class WaitingSchema(StrictSchema):
    weight = weight()
    free_hours = number("hours on hold that cost nothing", validate=_range(0, None))
    zero_at_hours = number("hours on hold at which the indicator reaches 0", validate=_range(0, None, low_open=True))
    stages = fields.List(text(f"one of {', '.join(STAGES)}",
                              validate=validate.OneOf(STAGES, error=f"expected one of {', '.join(STAGES)}")))

    @validates_schema
    def ordered(self, data, **_):
        free = data.get("free_hours", WaitingSettings.free_hours)
        zero = data.get("zero_at_hours", WaitingSettings.zero_at_hours)
        if zero <= free:
            raise ValidationError(f"found {zero:g}, not above free_hours {free:g}; expected zero_at_hours > "
                                  "free_hours", "zero_at_hours")

    @post_load
    def build(self, data, **_):
        if "stages" in data:
            data["stages"] = tuple(data["stages"])
        return WaitingSettings(**data)


class RepeatContactSchema(StrictSchema):
    built = RepeatContactSettings
    weight = weight()
    value = indicator_value("the indicator's value when the caller came back about the same issue")


class CallerHistorySchema(StrictSchema):
    built = CallerHistorySettings
    weight = weight()
    points_per_poor = number("points each recent poor experience takes off", validate=_range(0, 100))
    good_rating = whole("a previous rating at or above this costs nothing", validate=validate.Range(
        min=1, max=10, error="expected a whole number from 1 to 10"))


class MajorIncidentSchema(StrictSchema):
    built = MajorIncidentSettings
    weight = weight()
    value = indicator_value("the indicator's value while a major incident is open on the CI")


class ChangeOnCiSchema(StrictSchema):
    built = ChangeOnCiSettings
    weight = weight()
    in_progress = indicator_value("the indicator's value while a change is in progress on the CI")
    recent = indicator_value("the indicator's value after a recent change on the CI")


class CallerSentimentSchema(StrictSchema):
    built = CallerSentimentSettings
    weight = weight()


class IndicatorsSchema(StrictSchema):
    built = Indicators
    reassignments = fields.Nested(ReassignmentsSchema)
    reopens = fields.Nested(ReopensSchema)
    resolution_time = fields.Nested(ResolutionTimeSchema)
    sla = fields.Nested(SlaSchema)
    waiting = fields.Nested(WaitingSchema)
    repeat_contact = fields.Nested(RepeatContactSchema)
    caller_history = fields.Nested(CallerHistorySchema)
    major_incident = fields.Nested(MajorIncidentSchema)
    change_on_ci = fields.Nested(ChangeOnCiSchema)
    caller_sentiment = fields.Nested(CallerSentimentSchema)


class SurveySchema(StrictSchema):
    built = SurveySettings
    weight = number("share of the survey in a blended score (0..1)", validate=_range(0, 1))
    rating_weight = number("weight of the rating among the survey's parts", validate=_range(0, None, low_open=True))
    lost_time_weight = number("weight of the lost time among the survey's parts", validate=_range(0, None))
    sentiment_weight = number("weight of the comment's tone among the survey's parts", validate=_range(0, None))
    lost_hours_zero_at = number("lost hours at which that part reaches 0", validate=_range(0, None, low_open=True))
    confidence = number("share of the remaining doubt a survey answer removes (0..1)", validate=_range(0, 1))


class RiskSchema(StrictSchema):
    built = RiskSettings
    medium_at = whole("warning-sign points from which risk is medium",
                      validate=validate.Range(min=1, error="expected a whole number of 1 or more"))
    high_at = whole("warning-sign points from which risk is high",
                    validate=validate.Range(min=1, error="expected a whole number of 1 or more"))

    @validates_schema
    def ordered(self, data, **_):
        medium = data.get("medium_at", RiskSettings.medium_at)
        high = data.get("high_at", RiskSettings.high_at)
        if high <= medium:
            raise ValidationError(f"found {high}, not above medium_at {medium}; expected high_at > medium_at",
                                  "high_at")


class TargetSchema(StrictSchema):
    name = text("a short name for reports, e.g. \"Email incidents\"", required=True)
    period = text(f"one of {', '.join(PERIODS)}",
                  validate=validate.OneOf(PERIODS, error=f"expected one of {', '.join(PERIODS)}"))
    kind = text(f"one of {', '.join(KINDS)}", validate=validate.OneOf(KINDS, error=f"expected one of {', '.join(KINDS)}"))
    service = text("the service the target covers")
    group = text("the assignment group the target covers")
    channel = text("the channel the target covers, e.g. portal")
    connection_id = text("the connection the target covers")
    min_happiness = number("lowest acceptable happiness (-100..100)", validate=_range(-100, 100))
    max_lost_time_hours = number("highest acceptable mean lost time in hours", validate=_range(0, None))
    min_responses = whole("answers needed before a period is judged",
                          validate=validate.Range(min=1, error="expected a whole number of 1 or more"))

    @validates_schema
    def has_threshold(self, data, **_):
        if data.get("min_happiness") is None and data.get("max_lost_time_hours") is None:
            raise ValidationError("missing; expected min_happiness or max_lost_time_hours (or both)",
                                  "min_happiness")

    @post_load
    def build(self, data, **_):
        filters = {name: data.pop(name) for name in DIMENSIONS if name in data}
        return XlaTarget(filters=filters, **data)


class ScoringSchema(StrictSchema):
    prior_score = number("the score when nothing about a ticket is known", validate=_range(0, 100))
    emphasis = number("how much more a troubled indicator counts (0: a plain weighted mean)",
                      validate=_range(0, 10))
    operational_confidence = number("confidence when every indicator is known and there is no survey (0..1)",
                                    validate=_range(0, 1))
    max_reasons = whole("reasons kept per score", validate=validate.Range(
        min=1, max=10, error="expected a whole number from 1 to 10"))
    bands = fields.Nested(BandsSchema)
    indicators = fields.Nested(IndicatorsSchema)
    survey = fields.Nested(SurveySchema)
    risk = fields.Nested(RiskSchema)
    targets = fields.List(fields.Nested(TargetSchema))

    @post_load
    def build(self, data, **_):
        if "targets" in data:
            data["targets"] = tuple(data["targets"])
        return ScoringModel(**data)


def build_model(section: ScoringModel | dict | None) -> ScoringModel:
    """The scoring model of a `[scoring]` section: the validated model itself (what the settings
    loader stores), or a raw table validated now. Raises settings.ConfigError listing every problem."""
    if isinstance(section, ScoringModel):
        return section
    model, problems = load_scoring_section(dict(section or {}))
    if problems:
        from settings.errors import ConfigError

        raise ConfigError([f"scoring.{line}" for line in problems])
    return model


def load_scoring_section(raw: dict) -> tuple[ScoringModel, list[str]]:
    """Validate the `[scoring]` table. Returns (model, problems); with problems the model is the
    default one so every problem can be reported at once. Never raises for bad input."""
    raw = raw or {}
    if not isinstance(raw, dict):
        return DEFAULT_MODEL, [f"found {raw!r}; expected a [scoring] table (see docs/scoring.md)"]
    try:
        model = ScoringSchema().load(raw)
    except ValidationError as exc:
        return DEFAULT_MODEL, list(problem_lines(exc.messages, raw, doc="docs/scoring.md"))
    problems = []
    if all(getattr(model.indicators, name).weight == 0 for name in vars(model.indicators)):
        problems.append("indicators: found every weight at 0; expected at least one indicator with a positive "
                        "weight, or every score would be prior_score")
    return (DEFAULT_MODEL, problems) if problems else (model, [])


