"""What both connectors need to make writes exactly-once in effect: markers, digests, comparisons.

An append (work note, comment) carries a marker line so a later attempt can find it and not
post again; an absolute field value is compared with what the ticket holds so an unchanged
value is not written (which would also fire another webhook at us).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Mapping

from connectors.base import TicketWrite

MARKER_PREFIX = "xla-bridge ref:"


@dataclass(frozen=True)
class Append:
    """One text to append: `internal` (work note / internal comment) or caller-visible."""

    internal: bool
    text: str
    marker: str

    @property
    def body(self) -> str:
        return text_with_marker(self.text, self.marker)


def appends_of(change: TicketWrite) -> list[Append]:
    """The appends `change` carries, each with its marker: the caller's marker, else one derived
    from the text. When a change carries both a note and a comment, the comment's marker gets a
    `/public` suffix so finding one never hides the other."""
    found: list[Append] = []
    for internal, text in ((True, change.internal_note), (False, change.public_comment)):
        if not text:
            continue
        marker = change.marker or "xla:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
        if not internal and change.internal_note:
            marker += "/public"
        found.append(Append(internal, text, marker))
    return found


def text_with_marker(text: str, marker: str) -> str:
    """`text` followed by the marker line agents see at the end of the note."""
    return f"{text.rstrip()}\n\n[{MARKER_PREFIX} {marker}]"


def marker_line(marker: str) -> str:
    """The exact string searched for in existing notes."""
    return f"[{MARKER_PREFIX} {marker}]"


def fields_digest(fields: Mapping[str, object]) -> str:
    """A stable digest of absolute field values (key order does not matter)."""
    canonical = json.dumps(dict(fields), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def same_value(current: object, desired: object) -> bool:
    """Whether a ticket already holds `desired` in the tool's representation `current`.

    Numbers compare by value whatever their spelling ("72", 72, 72.0); a desired mapping such as
    Jira's `{"value": "Good"}` matches a richer current mapping that contains it; booleans match
    ServiceNow's "true"/"false"; None matches an empty value.
    """
    if desired is None or desired == "":
        return current in (None, "", [], {})
    if isinstance(desired, bool):
        if isinstance(current, str):
            return current.strip().lower() == ("true" if desired else "false")
        return current is desired or current == desired
    if isinstance(desired, (int, float)):
        try:
            return current is not None and not isinstance(current, bool) and float(current) == float(desired)
        except (TypeError, ValueError):
            return False
    if isinstance(desired, Mapping):
        if not isinstance(current, Mapping):
            return False
        return all(same_value(current.get(key), value) for key, value in desired.items())
    if isinstance(desired, (list, tuple)):
        if not isinstance(current, (list, tuple)) or len(current) != len(desired):
            return False
        return all(same_value(c, d) for c, d in zip(current, desired))
    if isinstance(desired, str) and isinstance(current, (int, float)) and not isinstance(current, bool):
        try:
            return float(desired) == float(current)
        except ValueError:
            return False
    if isinstance(desired, str) and isinstance(current, str):
        if _is_number(desired) and _is_number(current):
            return float(desired) == float(current)
        # tools trim trailing whitespace and normalise line endings of text fields
        return current.replace("\r\n", "\n").rstrip() == desired.replace("\r\n", "\n").rstrip()
    return current == desired


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip().lower() not in ("nan", "inf", "-inf", "infinity", "-infinity")
