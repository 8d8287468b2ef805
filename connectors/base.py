"""The interface every ITSM connector offers to the rest of the service.

The pipeline, enrichment, `check-config --live` and `preview` use only this interface; HTTP
details, auth, retries of idempotent reads, rate limiting and the circuit breaker live behind it.
Every method raises only `connectors.errors.ConnectorError` subclasses.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterator, Mapping, Sequence

from connectors import errors
from domain.ticket import RawTicket


@dataclass(frozen=True)
class Identity:
    """Who the connector is logged in as (the loop guard drops this actor's events)."""

    key: str          # ServiceNow user_name / sys_id; Jira accountId (Cloud) or name (DC)
    name: str | None = None
    aliases: tuple[str, ...] = ()  # every other spelling the tool may use for the same user


@dataclass(frozen=True)
class FieldInfo:
    """One field of a tool's catalogue (`sys_dictionary`, Jira `/field` + `editmeta`)."""

    id: str
    name: str
    type: str                # "number", "string", "text", "select", "boolean", "datetime", "reference", ...
    writable: bool = True
    on_edit_screen: bool | None = None  # Jira only; None when not known
    table: str | None = None            # ServiceNow table
    allowed_values: tuple[str, ...] = ()
    max_length: int | None = None


@dataclass(frozen=True)
class SlaState:
    name: str
    stage: str               # "in_progress", "paused", "completed", "cancelled", "breached"
    has_breached: bool
    percentage: float | None = None
    business_time_left_s: int | None = None


@dataclass(frozen=True)
class TicketSearch:
    """Criteria for related-ticket searches (enrichment) and reconciliation."""

    updated_since: datetime | None = None
    caller: str | None = None
    ci: str | None = None
    service: str | None = None
    kinds: tuple[str, ...] = ()      # canonical kinds: "incident", "request", "change"
    open_only: bool = False
    major_incident_only: bool = False
    limit: int = 100
    number: str | None = None        # the human-facing number or key (INC0010001, SD-12)


@dataclass(frozen=True)
class TicketWrite:
    """Everything one lifecycle step writes to one ticket, applied in as few calls as the tool allows.

    `fields` are absolute values (tool field id -> value). `internal_note` / `public_comment`
    are appended texts; `marker` is a stable string (e.g. "xla:INC001:score:7") the connector
    embeds so a retry can see the append already happened.

    `first_attempt` is the caller's promise that no earlier attempt of this very write can have
    reached the ticket (the outbox job's first run): the connector may then skip the read that
    looks for an earlier attempt's marker, so one lifecycle step costs one read in all.
    """

    fields: Mapping[str, object] = field(default_factory=dict)
    internal_note: str | None = None
    public_comment: str | None = None
    marker: str | None = None
    first_attempt: bool = False


class TaskKey(str):
    """The number or key of a follow-up task; `existed` is True when a retry found an earlier
    attempt's task instead of creating one."""

    existed: bool = False

    @classmethod
    def found(cls, key: str) -> "TaskKey":
        task = cls(key)
        task.existed = True
        return task


class TicketConnector(abc.ABC):
    """Read and write tickets of one configured connection."""

    tool: str  # "jira" or "servicenow"

    @abc.abstractmethod
    def whoami(self) -> Identity: ...

    @abc.abstractmethod
    def get_ticket(self, ticket_key: str, fields: Sequence[str] = ()) -> RawTicket:
        """Current state of one ticket with the requested fields (empty: the mapping defaults)."""

    @abc.abstractmethod
    def search_tickets(self, criteria: TicketSearch) -> Iterator[RawTicket]:
        """Tickets matching `criteria`, paged transparently, oldest update first."""

    @abc.abstractmethod
    def write(self, ticket_key: str, change: TicketWrite) -> bool:
        """Apply `change`; return False when nothing needed writing (values already held,
        marker already present). ServiceNow: one PATCH; Jira: one PUT plus a comment if any."""

    def set_fields(self, ticket_key: str, values: Mapping[str, object]) -> bool:
        return self.write(ticket_key, TicketWrite(fields=values))

    def add_internal_note(self, ticket_key: str, text: str, marker: str | None = None) -> bool:
        return self.write(ticket_key, TicketWrite(internal_note=text, marker=marker))

    def add_public_comment(self, ticket_key: str, text: str, marker: str | None = None) -> bool:
        return self.write(ticket_key, TicketWrite(public_comment=text, marker=marker))

    def create_followup_task(self, ticket_key: str, summary: str, description: str, marker: str,
                             group: str | None = None, *, number: str | None = None,
                             first_attempt: bool = False) -> str:
        """Open a task related to the ticket for somebody to follow up; return the task's number/key
        (a `TaskKey`, whose `existed` says a retry found the task instead of creating it).

        `description` must contain `marker` (a stable string per follow-up). On a retry (not
        `first_attempt`) the connector first looks for a task carrying the marker and returns it
        instead of creating a second one; on a first attempt it creates at once (one write, no
        read). `group` is the assignment group where the tool has one; `number` is the ticket's
        human-facing number or key when the caller knows it (spares a read on some tools).
        Raises `connectors.errors.ConnectorError` subclasses; `InvalidRequest` when the tool or
        the ticket's table has no follow-up task.
        """
        raise errors.InvalidRequest(f"{self.tool} connectors cannot open follow-up tasks")

    @abc.abstractmethod
    def field_catalogue(self, table: str | None = None) -> list[FieldInfo]: ...

    @abc.abstractmethod
    def sla_state(self, ticket_key: str) -> list[SlaState]: ...

    def close(self) -> None:
        """Release pooled connections."""
