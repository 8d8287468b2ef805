"""Service outputs -> the tool's field ids and value shapes, minus what the ticket already holds.

Skipping values the ticket already holds is one of the loop guards: a write that changes
nothing must not happen, or the tool fires another webhook about our own write. Values are
compared in a normalised form, so `"80"` equals `80`, `{"value": "Good"}` equals `"Good"` and
`"true"` equals `True`.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from mappers import values
from mappers.model import CHOICE_WORDS, OUTPUT_FAMILIES, ConnectionMapping, OutboundField, is_jira_field_id

REASON_SEPARATOR = "; "
ELLIPSIS = "..."
# Outputs that are counts or ratings are whole numbers; the rest keep two decimals.
WHOLE_NUMBER_OUTPUTS = frozenset({"score", "survey_rating"})


class MappingNotResolved(ValueError):
    """A Jira output is still named by display name: resolve the mapping against the catalogue first."""


def plan_field_writes(outputs: Mapping[str, Any], mapping: ConnectionMapping,
                      current_values: Mapping[str, Any]) -> dict[str, object]:
    """The field writes that bring the ticket to `outputs`: tool field id -> value in the tool's shape.

    `outputs` holds any of score, band, reasons, risk, model_version, survey_rating,
    survey_sentiment, survey_comment, lost_hours, followup; None values and outputs whose field
    is switched off are not written. `current_values` holds the ticket's current values by field
    id; a field whose current value already equals the planned one is left out.

    Raises ValueError for an output name the service does not know or a choice word with no tool
    value (band "excellent"), and MappingNotResolved for a Jira display name not yet resolved.
    """
    writes: dict[str, object] = {}
    for output, value in outputs.items():
        if output not in OUTPUT_FAMILIES:
            raise ValueError(f"unknown output {output!r}; expected one of {', '.join(OUTPUT_FAMILIES)}")
        target = mapping.outbound[output]
        if value is None or not target.enabled:
            continue
        if mapping.tool == "jira" and not is_jira_field_id(target.field):
            raise MappingNotResolved(f"outbound.{output} names Jira field {target.field!r} by display name; "
                                     "call mappers.resolve_field_names with the field catalogue first")
        planned = tool_value(output, value, target, mapping)
        if target.field in current_values and same_value(current_values[target.field], planned, target.shape):
            continue
        writes[target.field] = planned
    return writes


def tool_value(output: str, value: Any, target: OutboundField, mapping: ConnectionMapping) -> object:
    """One output value in the shape its field takes. Raises ValueError for an unmapped choice word."""
    family = OUTPUT_FAMILIES[output]
    shape = target.shape
    if family == "number":
        number = float(value)
        if shape == "integer" or output in WHOLE_NUMBER_OUTPUTS:
            return int(math.floor(number + 0.5))
        return round(number, 2)
    if family == "text":
        text = REASON_SEPARATOR.join(value) if isinstance(value, (list, tuple)) else str(value)
        return _fit(text, target.max_length, at_separator=output == "reasons")
    word = _choice_word(output, value)
    if shape == "boolean":
        return "true" if word == "true" else "false"
    choices = mapping.choices.get(output, {})
    if word not in choices:
        raise ValueError(f"{output} value {value!r} has no tool value; expected one of "
                         f"{', '.join(CHOICE_WORDS[output])}")
    chosen = choices[word]
    return {"value": chosen} if shape == "select" else chosen


def _choice_word(output: str, value: Any) -> str:
    if output == "followup":
        return "true" if value is True or str(value).casefold() in values.TRUE_WORDS else "false"
    return str(getattr(value, "value", value)).casefold()


def _fit(text: str, max_length: int | None, *, at_separator: bool) -> str:
    """`text` cut to `max_length`; reasons are cut after the last whole reason that fits."""
    text = text.strip()
    if not max_length or len(text) <= max_length:
        return text
    room = max(max_length - len(ELLIPSIS), 0)
    cut = text[:room]
    if at_separator and REASON_SEPARATOR in cut:
        cut = cut[:cut.rindex(REASON_SEPARATOR)]
    return cut.rstrip() + ELLIPSIS


def comparable(value: Any, shape: str) -> object:
    """The normalised form used to decide whether a field already holds a value."""
    value = values.plain(value)
    if values.is_blank(value):
        return None
    if shape in ("integer", "decimal"):
        try:
            return round(float(value), 6)
        except (TypeError, ValueError):
            return str(value).strip()
    if shape == "boolean":
        try:
            return values.as_bool(value)
        except values.UnreadableValue:
            return str(value).strip()
    return str(value).replace("\r\n", "\n").strip()


def same_value(current: Any, planned: Any, shape: str) -> bool:
    """True when writing `planned` would not change a field that holds `current`."""
    return comparable(current, shape) == comparable(planned, shape)
