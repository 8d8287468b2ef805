"""The canonical lifecycle event a webhook turns into.

A `TicketEvent` is what `webhooks/<tool>/` hands to the inbox: it says which ticket moved and what
kind of move it was, never the ticket's full state (the worker always fetches the current record,
because deliveries arrive late, twice and out of order).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Lifecycle(str, enum.Enum):
    """Lifecycle meaning of an event, decided from changelogs and states, never from event names."""

    CREATED = "created"
    ASSIGNED = "assigned"
    REASSIGNED = "reassigned"
    COMMENTED = "commented"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"
    CANCELED = "canceled"
    DELETED = "deleted"
    # changes
    SCHEDULED = "scheduled"
    IMPLEMENTED = "implemented"
    CLOSED_SUCCESSFUL = "closed_successful"
    CLOSED_FAILED = "closed_failed"
    # anything else that changed a field
    UPDATED = "updated"


@dataclass(frozen=True)
class TicketEvent:
    """One delivery, parsed.

    `ticket_key` is the tool-stable identifier the connector reads by: Jira issue id (keys change
    when an issue moves project), ServiceNow `"<table>:<sys_id>"`. `delivery_id` is the sender's
    idempotency key. `changed_fields` lists the tool's field names the sender says changed
    (used by the loop guard). `version` orders events of one ticket when the tool gives one
    (ServiceNow `sys_mod_count`, Jira webhook timestamp in ms).
    """

    connection_id: str
    delivery_id: str
    ticket_key: str
    lifecycle: tuple[Lifecycle, ...]
    actor: str | None = None
    number: str | None = None
    version: int | None = None
    occurred_at_ms: int | None = None
    changed_fields: tuple[str, ...] = ()
    comment_text: str | None = None
    comment_author: str | None = None
    comment_public: bool | None = None
    raw_event_name: str | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def to_json(self) -> dict:
        return {
            "connection_id": self.connection_id,
            "delivery_id": self.delivery_id,
            "ticket_key": self.ticket_key,
            "lifecycle": [step.value for step in self.lifecycle],
            "actor": self.actor,
            "number": self.number,
            "version": self.version,
            "occurred_at_ms": self.occurred_at_ms,
            "changed_fields": list(self.changed_fields),
            "comment_text": self.comment_text,
            "comment_author": self.comment_author,
            "comment_public": self.comment_public,
            "raw_event_name": self.raw_event_name,
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, data: dict) -> "TicketEvent":
        return cls(
            connection_id=data["connection_id"],
            delivery_id=data["delivery_id"],
            ticket_key=data["ticket_key"],
            lifecycle=tuple(Lifecycle(step) for step in data.get("lifecycle", ())),
            actor=data.get("actor"),
            number=data.get("number"),
            version=data.get("version"),
            occurred_at_ms=data.get("occurred_at_ms"),
            changed_fields=tuple(data.get("changed_fields", ())),
            comment_text=data.get("comment_text"),
            comment_author=data.get("comment_author"),
            comment_public=data.get("comment_public"),
            raw_event_name=data.get("raw_event_name"),
            extra=data.get("extra") or {},
        )
