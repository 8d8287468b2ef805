"""The validated, immutable form of one connection's `[connections.mapping]` table.

`mappers.config.load_mapping_section` builds a `ConnectionMapping`; every other module of the
package only reads it. Field references are tool field ids (ServiceNow column names, Jira
`customfield_NNNNN` or system ids) once `mappers.catalogue.resolve_field_names` has run; before
that a Jira mapping may still hold display names such as "Experience Score".
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Mapping

from domain.ticket import Stage, TicketKind

TOOLS = ("servicenow", "jira")

# Canonical ticket attributes an admin can point at a tool field.
INBOUND_ATTRIBUTES = (
    "number", "kind", "stage", "priority", "caller", "assignee", "group", "service", "ci", "category",
    "channel", "opened_at", "resolved_at", "closed_at", "reassignment_count", "reopen_count",
    "sla_breached", "sla_met", "vip", "location", "language", "caller_email", "caller_login",
)

# Service outputs the mapping can write, and which family of value each one is.
OUTPUT_FAMILIES = MappingProxyType({
    "score": "number",
    "band": "choice",
    "reasons": "text",
    "risk": "choice",
    "model_version": "text",
    "survey_rating": "number",
    "survey_sentiment": "number",
    "survey_comment": "text",
    "lost_hours": "number",
    "followup": "flag",
})
OUTPUTS = tuple(OUTPUT_FAMILIES)

# Value shapes a tool field can take when written.
#   integer / decimal: a JSON number; text: a string; select: Jira option {"value": ...};
#   choice: a plain string choice value (ServiceNow); boolean: ServiceNow "true" / "false".
SHAPES = ("integer", "decimal", "text", "select", "choice", "boolean")

# Which shapes each family of output may be written into (anything else is a type mismatch).
SHAPES_FOR_FAMILY = MappingProxyType({
    "number": ("integer", "decimal"),
    "choice": ("select", "choice", "text"),
    "text": ("text",),
    "flag": ("boolean", "select", "choice", "text"),
})

# The service's own words for choice outputs; `choices` maps each to the tool's value.
CHOICE_WORDS = MappingProxyType({
    "band": ("good", "average", "poor"),
    "risk": ("low", "medium", "high"),
    "followup": ("true", "false"),
})

# Jira system field ids: they exist in every instance and are never display names.
JIRA_SYSTEM_FIELDS = frozenset({
    "summary", "description", "status", "priority", "issuetype", "assignee", "reporter", "creator",
    "created", "updated", "resolutiondate", "resolution", "labels", "components", "project", "duedate",
    "environment", "fixVersions", "versions", "comment", "attachment", "issuelinks", "subtasks",
    "timetracking", "watches", "votes", "worklog", "security", "statuscategorychangedate", "lastViewed",
    "parent", "timeoriginalestimate", "timeestimate", "timespent",
})
JIRA_CUSTOM_FIELD_ID = re.compile(r"^customfield_\d+$")


def is_jira_field_id(reference: str) -> bool:
    """True when `reference` is a Jira field id rather than a display name."""
    return reference in JIRA_SYSTEM_FIELDS or bool(JIRA_CUSTOM_FIELD_ID.match(reference))


@dataclass(frozen=True)
class OutboundField:
    """Where one service output is written, and in which value shape.

    `field` is empty when the admin switched the output off. `max_length` caps text values;
    `allowed_values` (from the tool's catalogue) lists the options a choice field accepts.
    """

    field: str
    shape: str
    max_length: int | None = None
    allowed_values: tuple[str, ...] = ()
    configured_as: str | None = None  # the name the admin wrote, when it was resolved to an id

    @property
    def enabled(self) -> bool:
        return bool(self.field)


@dataclass(frozen=True)
class TableMapping:
    """ServiceNow: what one table's records are, and how its state codes read as stages."""

    table: str
    kind: TicketKind
    stages: Mapping[str, Stage]
    inbound: Mapping[str, tuple[str, ...]]  # per-table overrides of ConnectionMapping.inbound


@dataclass(frozen=True)
class ConnectionMapping:
    """Everything the mappers need to read and write one connection's tickets.

    `inbound` maps each canonical attribute to the tool fields it is read from (usually one; an
    empty tuple means "not mapped"). Value maps are keyed by the tool's raw value, casefolded
    where the tool's values are names (Jira issue types, statuses, priorities; channels).
    `explicit` holds the key paths the admin wrote (the rest came from the defaults), so checks
    can tell "your setting is wrong" from "this instance lacks an optional default field".
    """

    tool: str
    inbound: Mapping[str, tuple[str, ...]]
    outbound: Mapping[str, OutboundField]
    choices: Mapping[str, Mapping[str, str]]
    priorities: Mapping[str, int]
    channels: Mapping[str, str]
    vip_values: frozenset[str]
    tables: Mapping[str, TableMapping] = field(default_factory=lambda: MappingProxyType({}))
    issue_types: Mapping[str, TicketKind] = field(default_factory=lambda: MappingProxyType({}))
    statuses: Mapping[str, Stage] = field(default_factory=lambda: MappingProxyType({}))
    status_categories: Mapping[str, Stage] = field(default_factory=lambda: MappingProxyType({}))
    explicit: frozenset[str] = frozenset()
    resolved: bool = False
    field_names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # id -> display name

    def inbound_for(self, table: str | None) -> Mapping[str, tuple[str, ...]]:
        """The inbound field map for `table` (ServiceNow per-table overrides applied)."""
        overrides = self.tables[table].inbound if table in self.tables else {}
        if not overrides:
            return self.inbound
        merged = dict(self.inbound)
        merged.update(overrides)
        return MappingProxyType(merged)

    def names_of(self, references: tuple[str, ...]) -> frozenset[str]:
        """Every spelling of `references` (ids and display names, casefolded), for changelog matching."""
        spellings = set()
        for reference in references:
            spellings.add(reference.casefold())
            if reference in self.field_names:
                spellings.add(self.field_names[reference].casefold())
        return frozenset(spellings)

    def resolved_to(self, *, inbound: Mapping[str, tuple[str, ...]], tables: Mapping[str, TableMapping],
                    outbound: Mapping[str, OutboundField], field_names: Mapping[str, str]) -> "ConnectionMapping":
        """A copy whose field references are the tool's ids (built by mappers.catalogue)."""
        return replace(self, inbound=MappingProxyType(dict(inbound)), tables=MappingProxyType(dict(tables)),
                       outbound=MappingProxyType(dict(outbound)), field_names=MappingProxyType(dict(field_names)),
                       resolved=True)


def owned_fields(mapping: ConnectionMapping) -> frozenset[str]:
    """Tool field ids the service writes: a change touching only these is the echo of our own write."""
    return frozenset(out.field for out in mapping.outbound.values() if out.enabled)
