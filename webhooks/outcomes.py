"""What parsing a verified delivery can come to, besides a `TicketEvent`.

Three outcomes are kept apart (and counted apart) because each asks for a different answer:
an event we deliberately ignore (200, quiet), a known event we do not support (200, logged to the
tool's own logger so admins can ask for it), and a payload we cannot recognise at all (400, kept
in the quarantine for inspection and replay).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from domain.events import TicketEvent


@dataclass(frozen=True)
class Ignored:
    """A delivery the service has no use for (sprint, worklog, user events...)."""

    reason: str     # stable key, e.g. "jira.event_ignored.sprint_started"


@dataclass(frozen=True)
class Unsupported:
    """A delivery the service recognises but does not act on (yet)."""

    reason: str


@dataclass(frozen=True)
class Unrecognised:
    """A payload that does not have the shape the tool documents; `reason` says what was missing."""

    reason: str


ParseOutcome = Union[TicketEvent, Ignored, Unsupported, Unrecognised]
