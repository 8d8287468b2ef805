"""Reading single tool values: references, booleans, counts, timestamps, SLA objects.

Tools hand the same meaning over in many shapes (ServiceNow `"true"` and `{"value": ..., "link": ...}`,
Jira `{"value": "Good"}`, `{"name": ...}`, lists of options). These helpers reduce a value to
a plain Python one or say it cannot be read (`UnreadableValue`), never guess.
"""
from __future__ import annotations

import math

import re
from datetime import datetime, timezone
from typing import Any

TRUE_WORDS = frozenset({"true", "1", "yes", "y", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "off"})
LEADING_NUMBER = re.compile(r"^\s*(-?\d+)\s*(?:-|$)")


class UnreadableValue(ValueError):
    """A value is present but has a shape or text the mapper cannot read."""


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value in ([], {})


def plain(value: Any) -> Any:
    """A reference or option reduced to its stable value: ServiceNow `{"value": id, "link": ...}` -> id,
    Jira `{"value": "Good"}` -> "Good", users and groups -> accountId / name / key / id; lists -> first item."""
    if isinstance(value, list):
        return plain(value[0]) if value else None
    if isinstance(value, dict):
        for key in ("value", "accountId", "name", "key", "id"):
            if key in value and not isinstance(value[key], (dict, list)):
                return value[key]
        return None
    return value


def label(value: Any) -> str | None:
    """The human-readable form of a value (ServiceNow display_value, Jira name / displayName)."""
    if isinstance(value, list):
        return label(value[0]) if value else None
    if isinstance(value, dict):
        # A ServiceNow reference ({"value": sys_id, "link": ...}) has no readable form of its own.
        keys = ("display_value", "displayName", "name") if "link" in value else (
            "display_value", "displayName", "name", "value")
        for key in keys:
            if isinstance(value.get(key), str):
                return value[key]
        return None
    return None if is_blank(value) else str(value)


def as_text(value: Any) -> str | None:
    """A non-blank string, or None."""
    value = plain(value)
    return None if is_blank(value) else str(value).strip()


def as_bool(value: Any) -> bool | None:
    """True / False from booleans and the words tools use; None when blank. Raises UnreadableValue."""
    value = plain(value)
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    word = str(value).strip().casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise UnreadableValue(f"{value!r} is not true or false")


def as_count(value: Any) -> int | None:
    """A whole, non-negative count ("3", 3, 3.0); None when blank. Raises UnreadableValue."""
    value = plain(value)
    if is_blank(value):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UnreadableValue(f"{value!r} is not a count") from None
    if not math.isfinite(number) or number < 0 or number != int(number):
        raise UnreadableValue(f"{value!r} is not a count")
    return int(number)


def leading_code(value: str) -> str | None:
    """The code in front of a labelled choice ("3 - Moderate" -> "3"), or None."""
    match = LEADING_NUMBER.match(value)
    return match.group(1) if match else None


def as_datetime(value: Any) -> datetime | None:
    """A timezone-aware datetime; None when blank. Raises UnreadableValue.

    ServiceNow raw values ("2015-11-02 22:04:15") are UTC; Jira's carry their offset
    ("2019-02-15T19:01:52.971-0800"). Epoch milliseconds (numbers) are read as UTC.
    """
    value = plain(value)
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
        except (ValueError, OverflowError, OSError):  # NaN, or beyond what the platform can represent
            raise UnreadableValue(f"{value!r} is not a date and time") from None
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise UnreadableValue(f"{value!r} is not a date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def sla_breached(value: Any) -> bool | None:
    """Whether an SLA value says "breached": a boolean, or a Jira Service Management SLA object
    (`completedCycles[].breached`, `ongoingCycle.breached`). None when nothing is known."""
    if isinstance(value, dict) and ("completedCycles" in value or "ongoingCycle" in value):
        cycles = list(value.get("completedCycles") or [])
        if isinstance(value.get("ongoingCycle"), dict):
            cycles.append(value["ongoingCycle"])
        verdicts = [cycle.get("breached") for cycle in cycles if isinstance(cycle, dict)]
        known = [verdict for verdict in verdicts if isinstance(verdict, bool)]
        return any(known) if known else None
    return as_bool(value)
