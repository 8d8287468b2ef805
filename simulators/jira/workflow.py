"""Statuses, resolutions and the transitions of the Service Desk project's workflows.

Jira changes an issue's status only through a workflow transition; each status belongs to one of
three categories (`new`, `indeterminate`, `done`) and that category, not the status name, is what
tells a client an issue is resolved. This module is pure data plus two look-ups: which transitions
an issue in a given status may take, and where each one leads.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StatusCategory:
    id: int
    key: str
    name: str
    color: str


CATEGORY_NEW = StatusCategory(2, "new", "To Do", "blue-gray")
CATEGORY_IN_PROGRESS = StatusCategory(4, "indeterminate", "In Progress", "yellow")
CATEGORY_DONE = StatusCategory(3, "done", "Done", "green")
STATUS_CATEGORIES = (CATEGORY_NEW, CATEGORY_IN_PROGRESS, CATEGORY_DONE)


@dataclass(frozen=True)
class Status:
    id: str
    name: str
    category: StatusCategory
    description: str = ""


@dataclass(frozen=True)
class Resolution:
    id: str
    name: str
    description: str


@dataclass(frozen=True)
class Transition:
    """One workflow transition. `sources` empty means it is available from every status except its target."""

    id: str
    name: str
    to_status: str
    sources: tuple[str, ...]
    # The resolution a done-category transition sets when the caller does not choose one.
    default_resolution: str | None = None
    # Which lifecycle event the transition fires on Data Center (Cloud sends "issue_generic").
    event_type: str = "issue_generic"


def _status(status_id: str, name: str, category: StatusCategory, description: str = "") -> Status:
    return Status(status_id, name, category, description)


STATUSES: dict[str, Status] = {s.id: s for s in (
    _status("1", "Open", CATEGORY_NEW, "The issue is open and ready for the assignee to start work on it."),
    _status("10010", "Work in progress", CATEGORY_IN_PROGRESS, "An agent is working on the issue."),
    _status("10011", "Pending", CATEGORY_IN_PROGRESS, "Work is paused, waiting on someone else."),
    _status("5", "Resolved", CATEGORY_DONE,
            "A resolution has been taken, and it is awaiting verification by reporter."),
    _status("6", "Closed", CATEGORY_DONE, "The issue is considered finished."),
    _status("10012", "Canceled", CATEGORY_DONE, "The issue was withdrawn."),
    _status("10013", "Waiting for support", CATEGORY_NEW, "The request waits for an agent."),
    _status("10014", "Waiting for customer", CATEGORY_IN_PROGRESS, "The agent waits for the customer."),
    _status("3", "In Progress", CATEGORY_IN_PROGRESS, "This issue is being actively worked on."),
    _status("10015", "Planning", CATEGORY_NEW, "The change is being planned."),
    _status("10016", "Awaiting approval", CATEGORY_IN_PROGRESS, "The change waits for the change board."),
    _status("10017", "Awaiting implementation", CATEGORY_IN_PROGRESS, "The change is approved and scheduled."),
    _status("10018", "Implementing", CATEGORY_IN_PROGRESS, "The change is being carried out."),
    _status("10019", "Completed", CATEGORY_DONE, "The change was implemented successfully."),
    _status("10020", "Failed", CATEGORY_DONE, "The change was implemented and failed."),
    _status("10021", "Review", CATEGORY_IN_PROGRESS, "The implemented change is being reviewed."),
    _status("10022", "To Do", CATEGORY_NEW, "The task waits to be started."),
    _status("10023", "Done", CATEGORY_DONE, "The task is finished."),
)}

RESOLUTIONS: dict[str, Resolution] = {r.id: r for r in (
    Resolution("10000", "Done", "Work has been completed on this issue."),
    Resolution("10001", "Won't Do", "This issue won't be actioned."),
    Resolution("10002", "Duplicate", "The problem is a duplicate of an existing issue."),
    Resolution("10003", "Cannot Reproduce", "This issue couldn't be reproduced."),
    Resolution("10004", "Known Error", "A root cause is known; a workaround is documented."),
)}


def resolution_by_name_or_id(value: dict | str | None) -> Resolution | None:
    """The resolution a REST value (`{"name": ...}`, `{"id": ...}` or a bare string) names, or None."""
    if value is None:
        return None
    if isinstance(value, dict):
        wanted = value.get("id") or value.get("name")
    else:
        wanted = value
    for resolution in RESOLUTIONS.values():
        if wanted in (resolution.id, resolution.name):
            return resolution
    return None


# Incident workflow (shaped after JSM's ITSM incident workflow).
_INCIDENT = (
    Transition("11", "Start work", "10010", ("1", "10011"), event_type="issue_work_started"),
    Transition("21", "Pending", "10011", ("1", "10010")),
    Transition("41", "Resolve", "5", ("1", "10010", "10011"), default_resolution="10000",
               event_type="issue_resolved"),
    Transition("51", "Reopen", "1", ("5", "6"), event_type="issue_reopened"),
    Transition("61", "Close", "6", ("5",), event_type="issue_closed"),
    Transition("71", "Cancel", "10012", ("1", "10010", "10011"), default_resolution="10001",
               event_type="issue_closed"),
)

# Service request workflow.
_SERVICE_REQUEST = (
    Transition("11", "Start work", "3", ("10013", "10014"), event_type="issue_work_started"),
    Transition("21", "Respond to customer", "10014", ("10013", "3")),
    Transition("41", "Resolve", "5", ("10013", "3", "10014"), default_resolution="10000",
               event_type="issue_resolved"),
    Transition("51", "Reopen", "10013", ("5", "6"), event_type="issue_reopened"),
    Transition("61", "Close", "6", ("5",), event_type="issue_closed"),
    Transition("71", "Cancel", "10012", ("10013", "3", "10014"), default_resolution="10001",
               event_type="issue_closed"),
)

# Change workflow: planned, approved (awaiting implementation = scheduled), implemented,
# reviewed, then completed or failed.
_CHANGE = (
    Transition("11", "Submit for approval", "10016", ("10015",)),
    Transition("21", "Approve", "10017", ("10016",)),
    Transition("31", "Implement", "10018", ("10017",), event_type="issue_work_started"),
    Transition("35", "Review", "10021", ("10018",)),
    Transition("41", "Complete", "10019", ("10018", "10021"), default_resolution="10000",
               event_type="issue_resolved"),
    Transition("45", "Mark as failed", "10020", ("10018", "10021"), default_resolution="10000",
               event_type="issue_resolved"),
    Transition("71", "Cancel", "10012", ("10015", "10016", "10017"), default_resolution="10001",
               event_type="issue_closed"),
)

# Task workflow (the simplified software workflow agents use for their own work items).
_TASK = (
    Transition("11", "Start work", "3", ("10022",), event_type="issue_work_started"),
    Transition("21", "Done", "10023", ("10022", "3"), default_resolution="10000", event_type="issue_resolved"),
    Transition("31", "Reopen", "10022", ("10023",), event_type="issue_reopened"),
)

WORKFLOWS: dict[str, tuple[Transition, ...]] = {
    "Incident": _INCIDENT,
    "Service Request": _SERVICE_REQUEST,
    "Change": _CHANGE,
    "Task": _TASK,
}

INITIAL_STATUS: dict[str, str] = {"Incident": "1", "Service Request": "10013", "Change": "10015", "Task": "10022"}


def available_transitions(issue_type: str, status_id: str) -> list[Transition]:
    """Transitions an issue of `issue_type` in `status_id` may take, in workflow order."""
    return [t for t in WORKFLOWS[issue_type]
            if t.to_status != status_id and (not t.sources or status_id in t.sources)]


def find_transition(issue_type: str, status_id: str, transition_id: str) -> Transition | None:
    """The transition `transition_id` if it is available from `status_id`, else None."""
    for transition in available_transitions(issue_type, status_id):
        if transition.id == str(transition_id):
            return transition
    return None


def transition_to(issue_type: str, status_id: str, target_status: str) -> Transition | None:
    """The first available transition that leads to `target_status`, or None."""
    for transition in available_transitions(issue_type, status_id):
        if transition.to_status == target_status:
            return transition
    return None
