"""Read canonical attributes out of one raw record through the mapping, noting what cannot be read.

A `RecordReader` never raises for a bad value: it records one line in `unknown` (which becomes
`Ticket.unknown_values`) and answers None, so one odd field never stops a ticket being scored.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping

from domain.ticket import Person, RawTicket, Stage, TicketKind
from mappers import values


@dataclass(frozen=True)
class LifecycleFacts:
    """What a tool-specific reader found about where the ticket is and how it got there.

    `stage` is None when the tool's value is not in the mapping (the caller falls back and the
    reader has noted the value). Counts are None when the tool gave nothing to count from.
    """

    kind: TicketKind
    stage: Stage | None
    reassignments: int | None = None
    reopens: int | None = None
    closed_at: datetime | None = None
    resolved_at: datetime | None = None
    details: dict = field(default_factory=dict)


class RecordReader:
    """Attribute reads over `raw.fields` using the inbound field map of the record's table."""

    def __init__(self, raw: RawTicket, inbound: Mapping[str, tuple[str, ...]]):
        self.raw = raw
        self.inbound = inbound
        self.unknown: list[str] = []

    def fields_of(self, attribute: str) -> tuple[str, ...]:
        return self.inbound.get(attribute, ())

    def lookup(self, attribute: str) -> tuple[str | None, Any]:
        """The first mapped field holding a value, and that value; (None, None) when none does."""
        for name in self.fields_of(attribute):
            value = self.raw.fields.get(name)
            if not values.is_blank(value):
                return name, value
        return None, None

    def every(self, attribute: str) -> list[tuple[str, Any]]:
        """Every mapped field that holds a value (for attributes read from several fields)."""
        found = []
        for name in self.fields_of(attribute):
            value = self.raw.fields.get(name)
            if not values.is_blank(value):
                found.append((name, value))
        return found

    def note(self, attribute: str, field_name: str | None, value: Any, why: str) -> None:
        where = f" ({field_name})" if field_name else ""
        self.unknown.append(f"{attribute}{where}: {_short(value)} {why}")

    def _read(self, attribute: str, convert: Callable[[Any], Any], why: str) -> Any:
        name, value = self.lookup(attribute)
        if name is None:
            return None
        try:
            return convert(value)
        except values.UnreadableValue:
            self.note(attribute, name, value, why)
            return None

    def text(self, attribute: str) -> str | None:
        return self._read(attribute, values.as_text, "cannot be read as text")

    def count(self, attribute: str) -> int | None:
        return self._read(attribute, values.as_count, "is not a whole count")

    def moment(self, attribute: str) -> datetime | None:
        return self._read(attribute, values.as_datetime, "is not a date and time")

    def display(self, attribute: str) -> str | None:
        """The display value of the attribute's field: `raw.display` first, then the value's own label."""
        name, value = self.lookup(attribute)
        if name is None:
            return None
        shown = self.raw.display.get(name)
        if isinstance(shown, str) and shown.strip():
            return shown.strip()
        # A bare value (an id, a code) is not a display name; objects may carry one.
        return values.label(value) if isinstance(value, (dict, list)) else None

    def person(self, attribute: str) -> Person | None:
        """The person a user field refers to: the connector's resolved `raw.people` entry when present,
        else what the field value itself says (ServiceNow reference, Jira user object)."""
        name, value = self.lookup(attribute)
        if name is None:
            return None
        resolved = self.raw.people.get(name)
        if isinstance(resolved, Person):
            return resolved
        key = values.as_text(value)
        if key is None:
            return None
        shown = self.raw.display.get(name)
        details = value if isinstance(value, dict) else {}
        return Person(key=key,
                      name=(shown if isinstance(shown, str) and shown else None) or details.get("displayName")
                      or details.get("display_value"),
                      email=details.get("emailAddress") or details.get("email"),
                      language=language_code(details.get("locale")),
                      active=details.get("active", True) is not False)


def language_code(value: Any) -> str | None:
    """"en_US", "de-DE", "fr" -> "en", "de", "fr"; None when blank."""
    text = values.as_text(value)
    if not text:
        return None
    primary = text.replace("_", "-").split("-")[0].strip().casefold()
    return primary or None


def _short(value: Any) -> str:
    text = repr(values.plain(value) if isinstance(value, (dict, list)) else value)
    return text if len(text) <= 60 else text[:57] + "..."
