"""The mapping a standard instance needs, written in the same shape as `[connections.mapping]`.

An admin's table is deep-merged over these (`mappers.config`), so a configuration names only
what differs from a standard ServiceNow instance (incident, change_request, sc_req_item) or a
standard Jira Service Management project. Set a field to "" to stop reading or writing it.
"""
from __future__ import annotations

import copy

# Outputs go to the columns / custom fields listed in docs/architecture.md.
_SERVICENOW_OUTBOUND = {
    "score": {"field": "u_xla_score", "type": "integer"},
    "band": {"field": "u_xla_band", "type": "choice"},
    "reasons": {"field": "u_xla_reasons", "type": "text", "max_length": 1000},
    "risk": {"field": "u_xla_risk", "type": "choice"},
    "model_version": {"field": "u_xla_model_version", "type": "text", "max_length": 40},
    "survey_rating": {"field": "u_xla_survey_rating", "type": "integer"},
    "survey_sentiment": {"field": "u_xla_survey_sentiment", "type": "decimal"},
    "survey_comment": {"field": "u_xla_survey_comment", "type": "text", "max_length": 500},
    "lost_hours": {"field": "u_xla_lost_hours", "type": "decimal"},
    "followup": {"field": "u_xla_followup", "type": "boolean"},
}

_JIRA_OUTBOUND = {
    "score": {"field": "Experience Score", "type": "decimal"},
    "band": {"field": "Experience Band", "type": "select"},
    "reasons": {"field": "Experience Reasons", "type": "text"},
    "risk": {"field": "Experience Risk", "type": "select"},
    "model_version": {"field": "Experience Model", "type": "text", "max_length": 255},
    "survey_rating": {"field": "Survey Rating", "type": "decimal"},
    "survey_sentiment": {"field": "Survey Sentiment", "type": "decimal"},
    "survey_comment": {"field": "Survey Comment", "type": "text"},
    "lost_hours": {"field": "Lost Time Hours", "type": "decimal"},
    "followup": {"field": "Experience Follow-up", "type": "select"},
}

# Fields every ServiceNow task table shares; per-table overrides follow.
_SERVICENOW_INBOUND = {
    "number": "number",
    "stage": "state",
    "priority": "priority",
    "caller": "caller_id",
    "assignee": "assigned_to",
    "group": "assignment_group",
    "service": "business_service",
    "ci": "cmdb_ci",
    "category": "category",
    "channel": "contact_type",
    "opened_at": "opened_at",
    "resolved_at": "resolved_at",
    "closed_at": "closed_at",
    "reassignment_count": "reassignment_count",
    "reopen_count": "reopen_count",
    "sla_breached": "",
    "sla_met": "made_sla",
    # Dot-walked reads: the Table API returns the caller's own columns with the record.
    "vip": "caller_id.vip",
    "location": "location",
    "language": "caller_id.preferred_language",
    # Who the caller is to the rest of the service: the address surveys and the throttle use, and
    # the login journal entries name (to recognise the caller's own comments).
    "caller_email": "caller_id.email",
    "caller_login": "caller_id.user_name",
}

_SERVICENOW_TABLES = {
    "incident": {
        "kind": "incident",
        # Incident states as ServiceNow ships them.
        "stages": {"1": "new", "2": "in_progress", "3": "on_hold", "6": "resolved", "7": "closed",
                   "8": "canceled"},
    },
    "change_request": {
        "kind": "change",
        # Change states (-5 New .. 4 Canceled). Assess and Authorize are work before the plan is
        # approved, so they read as in progress; Review follows implementation.
        "stages": {"-5": "new", "-4": "in_progress", "-3": "in_progress", "-2": "scheduled",
                   "-1": "implementing", "0": "review", "3": "closed", "4": "canceled"},
        "inbound": {"caller": "requested_by", "vip": "requested_by.vip",
                    "language": "requested_by.preferred_language", "caller_email": "requested_by.email",
                    "caller_login": "requested_by.user_name", "resolved_at": "work_end",
                    "reopen_count": ""},
    },
    "sc_req_item": {
        "kind": "request",
        # Task states: -5 Pending, 1 Open, 2 Work in Progress, 3 Closed Complete,
        # 4 Closed Incomplete, 7 Closed Skipped. A requested item has no separate resolution.
        "stages": {"-5": "on_hold", "1": "new", "2": "in_progress", "3": "closed", "4": "closed",
                   "7": "canceled"},
        "inbound": {"caller": "requested_for", "vip": "requested_for.vip",
                    "language": "requested_for.preferred_language", "caller_email": "requested_for.email",
                    "caller_login": "requested_for.user_name", "resolved_at": "", "reopen_count": ""},
    },
}

_SERVICENOW_CHOICES = {
    "band": {"good": "good", "average": "average", "poor": "poor"},
    "risk": {"low": "low", "medium": "medium", "high": "high"},
    "followup": {"true": "true", "false": "false"},
}

_COMMON_CHANNELS = {
    "phone": "phone", "email": "email", "chat": "chat", "walk-in": "walk-in", "portal": "portal",
    "self-service": "portal", "self service": "portal", "web": "portal", "virtual_agent": "chat",
    "virtual agent": "chat",
}

SERVICENOW = {
    "inbound": _SERVICENOW_INBOUND,
    "tables": _SERVICENOW_TABLES,
    "priorities": {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5},
    "channels": _COMMON_CHANNELS,
    "vip_values": ["true"],
    "outbound": _SERVICENOW_OUTBOUND,
    "choices": _SERVICENOW_CHOICES,
}

_JIRA_INBOUND = {
    "number": "",          # the issue key comes with every issue
    "kind": "issuetype",
    "stage": "status",
    "priority": "priority",
    "caller": "reporter",  # in Jira Service Management the customer raising the request
    "assignee": "assignee",
    "group": "",           # no standard field; map "Team" or an "Assignment group" field if used
    "service": "Affected services",
    "ci": "",
    "category": "components",
    "channel": "",
    "opened_at": "created",
    "resolved_at": "resolutiondate",
    "closed_at": "",       # read from the changelog: the last move into a closed status
    "reassignment_count": "",  # counted from the changelog
    "reopen_count": "",        # counted from the changelog
    "sla_breached": ["Time to resolution", "Time to first response"],
    "sla_met": "",
    "vip": "labels",
    "location": "",
    "language": "",
}

# Issue types of the Jira Service Management IT templates (names compared case-insensitively).
_JIRA_ISSUE_TYPES = {
    "incident": "incident", "[system] incident": "incident",
    "service request": "request", "[system] service request": "request",
    "service request with approvals": "request", "[system] service request with approvals": "request",
    "change": "change", "[system] change": "change", "emergency change": "change",
    "problem": "other", "[system] problem": "other", "post-incident review": "other",
    "[system] post-incident review": "other",
}

# Status names of the standard workflows; anything else falls back to its status category.
_JIRA_STATUSES = {
    "open": "new", "to do": "new", "new": "new",
    "waiting for support": "in_progress", "in progress": "in_progress", "work in progress": "in_progress",
    "escalated": "in_progress", "under investigation": "in_progress", "investigating": "in_progress",
    "planning": "in_progress", "awaiting cab approval": "in_progress",
    "waiting for customer": "on_hold", "pending": "on_hold", "waiting for approval": "on_hold",
    "awaiting approval": "on_hold", "on hold": "on_hold",
    "awaiting implementation": "scheduled", "scheduled": "scheduled",
    "implementing": "implementing",
    "peer review": "review", "review": "review",
    "resolved": "resolved", "done": "resolved", "completed": "closed", "closed": "closed", "failed": "closed",
    "canceled": "canceled", "cancelled": "canceled", "declined": "canceled", "rejected": "canceled",
    "won't do": "canceled",
}

JIRA = {
    "inbound": _JIRA_INBOUND,
    "issue_types": _JIRA_ISSUE_TYPES,
    "statuses": _JIRA_STATUSES,
    "status_categories": {"new": "new", "indeterminate": "in_progress", "done": "resolved"},
    "priorities": {"highest": 1, "high": 2, "medium": 3, "low": 4, "lowest": 5,
                   "blocker": 1, "critical": 1, "major": 2, "minor": 4, "trivial": 5,
                   "p1": 1, "p2": 2, "p3": 3, "p4": 4, "p5": 5},
    "channels": {**_COMMON_CHANNELS, "jira": "agent", "api": "api", "anonymousportal": "portal"},
    "vip_values": ["vip"],
    "outbound": _JIRA_OUTBOUND,
    "choices": {
        "band": {"good": "Good", "average": "Average", "poor": "Poor"},
        "risk": {"low": "Low", "medium": "Medium", "high": "High"},
        "followup": {"true": "Yes", "false": "No"},
    },
}

_BY_TOOL = {"servicenow": SERVICENOW, "jira": JIRA}


def defaults_for(tool: str) -> dict:
    """A fresh, mutable copy of the default mapping table of `tool`. Raises KeyError for an unknown tool."""
    return copy.deepcopy(_BY_TOOL[tool])
