"""The canonical ticket every tool's record is mapped to, and the raw record it comes from."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class TicketKind(str, enum.Enum):
    INCIDENT = "incident"
    REQUEST = "request"
    CHANGE = "change"
    OTHER = "other"


class Stage(str, enum.Enum):
    """Lifecycle stage of a ticket, the same words for every tool."""

    NEW = "new"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    SCHEDULED = "scheduled"
    IMPLEMENTING = "implementing"
    REVIEW = "review"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELED = "canceled"


@dataclass(frozen=True)
class Person:
    key: str
    name: str | None = None
    email: str | None = None
    vip: bool = False
    language: str | None = None
    country: str | None = None
    active: bool = True
    aliases: tuple[str, ...] = ()  # other names the tool uses for this person (ServiceNow user_name)


@dataclass(frozen=True)
class RawTicket:
    """A ticket as a connector read it: the tool's own field names and values.

    `fields` maps tool field name -> value (ServiceNow: the raw value; Jira: the REST v2 value).
    `display` holds display values where the tool gives them. `changelog` is a list of
    `{"at": iso, "author": str, "items": [{"field", "fieldId", "from", "fromString", "to", "toString"}]}`
    (Jira's changelog; ServiceNow audit-derived when available, else empty). `people` holds the
    references the connector resolved (caller, assignee), keyed by tool field name.
    """

    connection_id: str
    tool: str
    ticket_key: str
    number: str
    table: str | None
    fields: dict
    display: dict = field(default_factory=dict)
    changelog: list = field(default_factory=list)
    people: dict = field(default_factory=dict)
    version: int | None = None


@dataclass(frozen=True)
class Ticket:
    """The canonical ticket: what scoring, enrichment and surveys reason about."""

    connection_id: str
    ticket_key: str
    number: str
    kind: TicketKind
    stage: Stage
    priority: int | None = None  # 1 highest .. 5 lowest
    caller: Person | None = None
    assignee: str | None = None
    assignment_group: str | None = None
    service: str | None = None
    ci: str | None = None
    category: str | None = None
    channel: str | None = None
    opened_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    reassignment_count: int = 0
    reopen_count: int = 0
    sla_breached: bool | None = None
    vip: bool = False
    location: str | None = None
    language: str | None = None
    version: int | None = None
    unknown_values: tuple[str, ...] = ()  # values the mapping could not translate, reported
    extra: dict = field(default_factory=dict, compare=False, hash=False)
