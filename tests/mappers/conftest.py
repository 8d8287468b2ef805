"""Raw records and field catalogues shaped the way the connectors hand them to the mappers.

ServiceNow fixtures are Table API records read with `sysparm_display_value=all` (every field
`{"value", "display_value"}`); Jira fixtures are REST v2 issues read with `expand=changelog`.
The helpers split them into a `RawTicket` the same way a connector does.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.base import FieldInfo
from domain.ticket import RawTicket

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def load_fixture(tool: str, name: str) -> dict:
    return json.loads((FIXTURES / tool / f"{name}.json").read_text(encoding="utf-8"))


def servicenow_raw(record: dict, table: str, people: dict | None = None) -> RawTicket:
    """A Table API record (display_value=all or plain) as the ServiceNow connector hands it over."""
    record = record.get("result", record)
    values = {k: (v.get("value") if isinstance(v, dict) and "display_value" in v else v) for k, v in record.items()}
    display = {k: v["display_value"] for k, v in record.items() if isinstance(v, dict) and "display_value" in v}
    sys_id = values.get("sys_id")
    sys_id = sys_id.get("value") if isinstance(sys_id, dict) else sys_id
    return RawTicket(connection_id="sn-test", tool="servicenow", ticket_key=f"{table}:{sys_id}",
                     number=str(values.get("number") or ""), table=table, fields=values, display=display,
                     people=people or {})


def jira_raw(issue: dict, people: dict | None = None) -> RawTicket:
    """A REST v2 issue with its changelog as the Jira connector hands it over."""
    histories = (issue.get("changelog") or {}).get("histories") or []
    changelog = [{"at": h.get("created"), "author": (h.get("author") or {}).get("accountId"),
                  "items": h.get("items") or []} for h in histories]
    return RawTicket(connection_id="jira-test", tool="jira", ticket_key=str(issue["id"]),
                     number=issue.get("key", ""), table=None, fields=dict(issue["fields"]),
                     changelog=changelog, people=people or {})


JIRA_OUTPUT_FIELDS = [
    FieldInfo("customfield_10200", "Experience Score", "number", on_edit_screen=True),
    FieldInfo("customfield_10201", "Experience Band", "select", on_edit_screen=True,
              allowed_values=("Good", "Average", "Poor")),
    FieldInfo("customfield_10202", "Experience Reasons", "text", on_edit_screen=True),
    FieldInfo("customfield_10203", "Experience Risk", "select", on_edit_screen=True,
              allowed_values=("Low", "Medium", "High")),
    FieldInfo("customfield_10204", "Experience Model", "string", on_edit_screen=True),
    FieldInfo("customfield_10205", "Survey Rating", "number", on_edit_screen=True),
    FieldInfo("customfield_10206", "Survey Sentiment", "number", on_edit_screen=True),
    FieldInfo("customfield_10207", "Survey Comment", "text", on_edit_screen=True),
    FieldInfo("customfield_10208", "Lost Time Hours", "number", on_edit_screen=True),
    FieldInfo("customfield_10209", "Experience Follow-up", "select", on_edit_screen=True,
              allowed_values=("Yes", "No")),
    FieldInfo("customfield_10210", "Experience Legacy Score", "number", writable=False, on_edit_screen=False),
]

JIRA_OTHER_FIELDS = [
    FieldInfo("summary", "Summary", "string"),
    FieldInfo("status", "Status", "select"),
    FieldInfo("priority", "Priority", "select"),
    FieldInfo("reporter", "Reporter", "reference"),
    FieldInfo("assignee", "Assignee", "reference"),
    FieldInfo("labels", "Labels", "array"),
    FieldInfo("customfield_10030", "Time to resolution", "sla", writable=False),
    FieldInfo("customfield_10031", "Time to first response", "sla", writable=False),
    FieldInfo("customfield_10040", "Assignment group", "select"),
    FieldInfo("customfield_10050", "Affected services", "array"),
]


@pytest.fixture
def jira_catalogue() -> list[FieldInfo]:
    """The fields of a Jira Service Management project with the service's custom fields."""
    return JIRA_OUTPUT_FIELDS + JIRA_OTHER_FIELDS


def servicenow_columns(table: str) -> list[FieldInfo]:
    """The service's columns on one task table, as read from sys_dictionary and sys_choice."""
    return [
        FieldInfo("u_xla_score", "XLA score", "number", table=table),
        FieldInfo("u_xla_band", "XLA band", "select", table=table, allowed_values=("good", "average", "poor")),
        FieldInfo("u_xla_reasons", "XLA reasons", "string", table=table, max_length=1000),
        FieldInfo("u_xla_risk", "XLA risk", "select", table=table, allowed_values=("low", "medium", "high")),
        FieldInfo("u_xla_model_version", "XLA model version", "string", table=table, max_length=40),
        FieldInfo("u_xla_survey_rating", "XLA survey rating", "number", table=table),
        FieldInfo("u_xla_survey_sentiment", "XLA survey sentiment", "number", table=table),
        FieldInfo("u_xla_survey_comment", "XLA survey comment", "string", table=table, max_length=500),
        FieldInfo("u_xla_lost_hours", "XLA lost hours", "number", table=table),
        FieldInfo("u_xla_followup", "XLA follow-up", "boolean", table=table),
    ]


TASK_COLUMNS = [
    FieldInfo("number", "Number", "string", table="task", writable=False),
    FieldInfo("state", "State", "select", table="task"),
    FieldInfo("priority", "Priority", "select", table="task"),
    FieldInfo("assigned_to", "Assigned to", "reference", table="task"),
    FieldInfo("assignment_group", "Assignment group", "reference", table="task"),
    FieldInfo("business_service", "Service", "reference", table="task"),
    FieldInfo("cmdb_ci", "Configuration item", "reference", table="task"),
    FieldInfo("contact_type", "Contact type", "select", table="task"),
    FieldInfo("opened_at", "Opened", "datetime", table="task"),
    FieldInfo("closed_at", "Closed", "datetime", table="task"),
    FieldInfo("reassignment_count", "Reassignment count", "number", table="task"),
    FieldInfo("made_sla", "Made SLA", "boolean", table="task"),
    FieldInfo("location", "Location", "reference", table="task"),
]


@pytest.fixture
def servicenow_catalogue() -> list[FieldInfo]:
    """incident with its task columns, as `field_catalogue("incident")` returns it."""
    incident_only = [
        FieldInfo("caller_id", "Caller", "reference", table="incident"),
        FieldInfo("category", "Category", "select", table="incident"),
        FieldInfo("resolved_at", "Resolved", "datetime", table="incident"),
        FieldInfo("reopen_count", "Reopen count", "number", table="incident"),
    ]
    return servicenow_columns("incident") + incident_only + TASK_COLUMNS
