"""The simulated Jira instance: every change to an issue, from the REST API or the scenario, goes here.

`JiraInstance` validates a request the way Jira does (fields off the edit screen, unknown options,
transitions not available from the current status), applies it to a copy of the issue, records
the changelog by diffing before and after, and returns `IssueEvent`s describing what happened.
The caller turns those events into webhooks; nothing here does I/O. Seeding builds the initial
issues through these same methods with past timestamps, so their changelogs are real ones.
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Callable

from simulators.jira.directory import CLOUD, UserDirectory
from simulators.jira.fields import (FieldCatalogue, FieldDef, FieldValueError, custom_value_strings,
                                    parse_custom_value)
from simulators.jira.issues import (LINK_TYPES, ChangeItem, Comment, History, Issue, IssueStore, LinkEnd,
                                    LinkType, PROJECT_ID, PROJECT_KEY, Worklog, utc_now)
from simulators.jira.workflow import (INITIAL_STATUS, RESOLUTIONS, STATUSES, Transition,
                                      available_transitions, find_transition,
                                      resolution_by_name_or_id)

CANNOT_SET = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."
NOT_FOUND = "Issue does not exist or you do not have permission to see it."
INTERNAL_COMMENT_PROPERTY = "sd.public.comment"
MAX_PROPERTY_BYTES = 32768

PRIORITIES = {"1": "Highest", "2": "High", "3": "Medium", "4": "Low", "5": "Lowest"}
# Task: the agents' own work item, which has no request type (no customer portal view).
ISSUE_TYPES = {"10001": "Incident", "10002": "Service Request", "10003": "Change", "10004": "Task"}
ISSUE_TYPE_DESCRIPTIONS = {
    "Incident": "For system outages or incidents. Created by Jira Service Management.",
    "Service Request": "Requests for help or for something new. Created by Jira Service Management.",
    "Change": "For system upgrades and alterations. Created by Jira Service Management.",
    "Task": "A small, distinct piece of work.",
}


class JiraError(Exception):
    """A request Jira refuses: HTTP status plus its `{"errorMessages": [...], "errors": {...}}` body."""

    def __init__(self, status: int, messages: list[str] | tuple[str, ...] = (),
                 errors: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {list(messages) or errors}")
        self.status = status
        self.messages = list(messages)
        self.errors = dict(errors or {})

    def body(self) -> dict:
        return {"errorMessages": self.messages, "errors": self.errors}


@dataclass(frozen=True)
class Component:
    id: str
    name: str
    description: str


@dataclass
class IssueEvent:
    """One thing that happened to an issue, as the webhook layer needs it.

    `webhook_event` is Jira's `webhookEvent`; `event_type_name` its `issue_event_type_name`
    (None on the kinds that carry none). `issue` is a snapshot taken right after the change.
    `flow` is `Primary`, or `Secondary` for fallout of another event (a deleted issue's comments).
    """

    webhook_event: str
    issue: Issue
    actor: str | None
    at: datetime
    event_type_name: str | None = None
    history: History | None = None
    comment: Comment | None = None
    flow: str = "Primary"
    link: LinkEnd | None = None   # issuelink_* events: the link as its source (`issue`) sees it


class JiraInstance:
    """Rules and state of one simulated Jira site with one Service Desk project."""

    def __init__(self, deployment: str, catalogue: FieldCatalogue, directory: UserDirectory,
                 components: list[Component], clock: Callable[[], datetime] = utc_now) -> None:
        self.deployment = deployment
        self.catalogue = catalogue
        self.directory = directory
        self.components = {c.id: c for c in components}
        self.store = IssueStore()
        self._clock = clock
        self._last_moment: datetime | None = None
        self._clock_lock = threading.Lock()

    # time --------------------------------------------------------------------------------------
    def now(self) -> datetime:
        """The current time, strictly later than any earlier answer (whole milliseconds).

        Strictly increasing times keep `ORDER BY updated` and changelog order unambiguous even
        when two writes land in the same millisecond.
        """
        with self._clock_lock:
            moment = self._clock().astimezone(timezone.utc)
            moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
            if self._last_moment is not None and moment <= self._last_moment:
                moment = self._last_moment + timedelta(milliseconds=1)
            self._last_moment = moment
            return moment

    # look-ups ----------------------------------------------------------------------------------
    def require(self, id_or_key: str) -> Issue:
        """The issue, or JiraError 404 with Jira's wording."""
        issue = self.store.find(str(id_or_key))
        if issue is None:
            raise JiraError(404, [NOT_FOUND])
        return issue

    def component_by(self, value: object) -> Component | None:
        if isinstance(value, dict):
            wanted = value.get("id") or value.get("name")
        else:
            wanted = value
        for component in self.components.values():
            if str(wanted) in (component.id, component.name):
                return component
        return None

    # create ------------------------------------------------------------------------------------
    def create_issue(self, actor: str, body: object, *, at: datetime | None = None,
                     plan_id: str | None = None) -> tuple[Issue, list[IssueEvent]]:
        """`POST /rest/api/2/issue`. Raises JiraError 400 with per-field errors."""
        fields = _fields_of(body)
        errors: dict[str, str] = {}
        project = fields.get("project")
        if not isinstance(project, dict) or (project.get("key") != PROJECT_KEY
                                             and str(project.get("id")) != PROJECT_ID):
            errors["project"] = "Specify a valid project ID or key"
        issue_type = _issue_type_of(fields.get("issuetype"))
        if issue_type is None:
            errors["issuetype"] = ("Specify an issue type" if not fields.get("issuetype")
                                   else "The issue type selected is invalid.")
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        if errors:
            raise JiraError(400, [], errors)
        moment = at or self.now()
        with self.store.lock:
            draft = Issue(id="", key="", issue_type=issue_type, summary=summary.strip(),
                          status_id=INITIAL_STATUS[issue_type], reporter=actor, creator=actor,
                          created=moment, updated=moment, status_category_changed=moment,
                          plan_id=plan_id)
            edits = {k: v for k, v in fields.items() if k not in ("project", "issuetype", "summary")}
            self._apply_field_values(draft, edits, {}, errors, actor=actor, moment=moment)
            _apply_properties(draft, body.get("properties"), errors)
            if errors:
                raise JiraError(400, [], errors)
            # numbers are taken only by issues that exist, so keys have no gaps
            draft.id, draft.key = self.store.next_issue_identity()
            self.store.add(draft)
            # Jira's created webhook lists the initial values as a changelog (null -> value);
            # the issue itself starts with no history.
            blank = Issue(id=draft.id, key=draft.key, issue_type=issue_type, summary=None, status_id="",
                          reporter=None, creator=None, created=moment, updated=moment,
                          status_category_changed=moment, priority_id=None)
            items = self._diff(blank, draft, creating=True)
            history = History(self.store.next_id("history"), actor, moment, items)
            event = IssueEvent("jira:issue_created", draft.snapshot(), actor, moment,
                               "issue_created", history=history)
            return draft, [event]

    # edit --------------------------------------------------------------------------------------
    def edit_issue(self, actor: str, id_or_key: str, body: object, *,
                   at: datetime | None = None) -> list[IssueEvent]:
        """`PUT /rest/api/2/issue/{id}` with `fields` and `update`. Raises JiraError 400/404."""
        if not isinstance(body, dict):
            raise JiraError(400, ["Can not deserialize the request body as an issue update."])
        fields = body.get("fields") or {}
        update = body.get("update") or {}
        if not isinstance(fields, dict) or not isinstance(update, dict):
            raise JiraError(400, ["'fields' and 'update' must be JSON objects."])
        with self.store.lock:
            issue = self.require(id_or_key)
            errors: dict[str, str] = {}
            draft = issue.snapshot()
            new_comments = self._apply_field_values(draft, fields, update, errors, actor=actor,
                                                    moment=at)
            _apply_properties(draft, body.get("properties"), errors)
            if errors:
                raise JiraError(400, [], errors)
            return self._commit(actor, issue, draft, new_comments, at=at)

    def assign(self, actor: str, id_or_key: str, body: object) -> list[IssueEvent]:
        """`PUT /rest/api/2/issue/{id}/assignee` (body is the user, or null to unassign)."""
        return self.edit_issue(actor, id_or_key, {"fields": {"assignee": body}})

    # transitions -------------------------------------------------------------------------------
    def transitions_for(self, id_or_key: str) -> tuple[Issue, list[Transition]]:
        issue = self.require(id_or_key)
        return issue, available_transitions(issue.issue_type, issue.status_id)

    def transition(self, actor: str, id_or_key: str, body: object, *,
                   at: datetime | None = None) -> list[IssueEvent]:
        """`POST /rest/api/2/issue/{id}/transitions`. Raises JiraError 400/404."""
        if not isinstance(body, dict) or not isinstance(body.get("transition"), dict):
            raise JiraError(400, ["Missing 'transition' identifier"])
        wanted = body["transition"].get("id")
        if wanted is None:
            raise JiraError(400, ["Missing 'transition' identifier"])
        fields = body.get("fields") or {}
        update = body.get("update") or {}
        with self.store.lock:
            issue = self.require(id_or_key)
            transition = find_transition(issue.issue_type, issue.status_id, str(wanted))
            if transition is None:
                raise JiraError(400, [f"Transition id '{wanted}' is not valid for this issue."])
            target = STATUSES[transition.to_status]
            allowed = {"assignee", "comment"} | ({"resolution"} if target.category.key == "done" else set())
            errors = {f: CANNOT_SET.format(f) for f in list(fields) + list(update) if f not in allowed}
            if errors:
                raise JiraError(400, [], errors)
            draft = issue.snapshot()
            resolution = None
            if "resolution" in fields:
                resolution = resolution_by_name_or_id(fields["resolution"])
                if resolution is None:
                    raise JiraError(400, [], {"resolution": "Specify a valid 'id' or 'name' for Resolution"})
            rest = {k: v for k, v in fields.items() if k != "resolution"}
            new_comments = self._apply_field_values(draft, rest, update, errors, actor=actor, moment=at)
            if errors:
                raise JiraError(400, [], errors)
            moment = at or self.now()
            was_done = STATUSES[issue.status_id].category.key == "done"
            draft.status_id = target.id
            if target.category.key == "done":
                if not was_done or resolution is not None:
                    draft.resolution_id = (resolution.id if resolution
                                           else transition.default_resolution or "10000")
                if not was_done:
                    draft.resolutiondate = moment
            else:
                draft.resolution_id = None
                draft.resolutiondate = None
            if STATUSES[issue.status_id].category != target.category:
                draft.status_category_changed = moment
            event_type = "issue_generic" if self.deployment == CLOUD else transition.event_type
            return self._commit(actor, issue, draft, new_comments, at=moment, event_type=event_type)

    # comments ----------------------------------------------------------------------------------
    def add_comment(self, actor: str, id_or_key: str, body: object, *,
                    at: datetime | None = None) -> tuple[Comment, list[IssueEvent]]:
        """`POST /rest/api/2/issue/{id}/comment`; `sd.public.comment` internal=true makes it internal."""
        text, properties = _comment_input(body)
        with self.store.lock:
            issue = self.require(id_or_key)
            moment = at or self.now()
            comment = self._new_comment(actor, text, properties, moment)
            draft = issue.snapshot()
            draft.comments.append(comment)
            draft.updated = moment
            self.store.add(draft)
            return comment, self._comment_events("comment_created", "issue_commented", actor, draft,
                                                 comment, moment)

    def update_comment(self, actor: str, id_or_key: str, comment_id: str, body: object) -> tuple[Comment, list[IssueEvent]]:
        """`PUT /rest/api/2/issue/{id}/comment/{commentId}`. Raises JiraError 400/404."""
        text, properties = _comment_input(body)
        with self.store.lock:
            issue = self.require(id_or_key)
            draft = issue.snapshot()
            comment = _find_comment(draft, comment_id)
            moment = self.now()
            comment.body = text
            comment.updated = moment
            comment.update_author = actor
            if properties:
                comment.properties.update(properties)
                comment.internal = _is_internal(comment.properties)
            draft.updated = moment
            self.store.add(draft)
            return comment, self._comment_events("comment_updated", "issue_comment_edited", actor,
                                                 draft, comment, moment)

    def delete_comment(self, actor: str, id_or_key: str, comment_id: str) -> list[IssueEvent]:
        """`DELETE /rest/api/2/issue/{id}/comment/{commentId}`. Raises JiraError 404."""
        with self.store.lock:
            issue = self.require(id_or_key)
            draft = issue.snapshot()
            comment = _find_comment(draft, comment_id)
            draft.comments = [c for c in draft.comments if c.id != comment.id]
            moment = self.now()
            draft.updated = moment
            self.store.add(draft)
            return self._comment_events("comment_deleted", "issue_comment_deleted", actor, draft,
                                        comment, moment)

    def comment(self, id_or_key: str, comment_id: str) -> tuple[Issue, Comment]:
        issue = self.require(id_or_key)
        return issue, _find_comment(issue, comment_id)

    def find_comment_anywhere(self, comment_id: str) -> tuple[Issue, Comment]:
        """The issue and comment for a bare comment id (`/rest/api/2/comment/{id}/...`)."""
        for issue in self.store.all():
            for comment in issue.comments:
                if comment.id == str(comment_id):
                    return issue, comment
        raise JiraError(404, [f"Can not find a comment for key: {comment_id}."])

    # links -------------------------------------------------------------------------------------
    def link_issues(self, actor: str, body: object) -> list[IssueEvent]:
        """`POST /rest/api/2/issueLink`: link two issues with a type given by `name` or `id`.

        As in Jira, the request's `inwardIssue` becomes the link's source, the issue the type's
        outward description reads from ("A blocks B" for `{"inwardIssue": A, "outwardIssue": B}`).
        Raises JiraError 400 for a malformed body and 404 for an unknown type or issue.
        """
        if not isinstance(body, dict):
            raise JiraError(400, ["Invalid request payload. Refer to the REST API documentation and try again."])
        errors = {}
        source_ref, destination_ref = _issue_ref(body.get("inwardIssue")), _issue_ref(body.get("outwardIssue"))
        if source_ref is None:
            errors["inwardIssue"] = "The inward issue is required."
        if destination_ref is None:
            errors["outwardIssue"] = "The outward issue is required."
        wanted_type = body.get("type") if isinstance(body.get("type"), dict) else {}
        type_name, type_id = wanted_type.get("name"), wanted_type.get("id")
        if not type_name and not type_id:
            errors["type"] = "The issue link type is required."
        if errors:
            raise JiraError(400, errors=errors)
        link_type = link_type_by(name=type_name, type_id=type_id)
        if link_type is None:
            raise JiraError(404, [f"No issue link type with name '{type_name or type_id}' found."])
        with self.store.lock:
            # New versions of both issues replace the stored ones, as edits do: a reader holding the
            # old object never sees it change.
            source = self.require(source_ref).snapshot()
            found = self.require(destination_ref)
            destination = source if found.id == source.id else found.snapshot()
            link_id = self.store.next_id("link")
            source.links.append(LinkEnd(link_id, link_type.id, "outward", destination.id))
            destination.links.append(LinkEnd(link_id, link_type.id, "inward", source.id))
            self.store.add(source)
            self.store.add(destination)
            return [IssueEvent("issuelink_created", source.snapshot(), actor, self.now(),
                               link=source.links[-1])]

    # delete ------------------------------------------------------------------------------------
    def delete_issue(self, actor: str, id_or_key: str) -> list[IssueEvent]:
        """`DELETE /rest/api/2/issue/{id}`: the issue goes, its comments go with it (secondary
        events), and so do its links on the issues at their other ends."""
        with self.store.lock:
            issue = self.require(id_or_key)
            moment = self.now()
            self.store.remove(issue)
            for end in issue.links:
                other = self.store.find(end.other_issue_id)
                if other is not None:
                    unlinked = other.snapshot()
                    unlinked.links = [kept for kept in other.links if kept.link_id != end.link_id]
                    self.store.add(unlinked)
            snapshot = issue.snapshot()
            events = [IssueEvent("jira:issue_deleted", snapshot, actor, moment)]
            for comment in snapshot.comments:
                events.append(IssueEvent("comment_deleted", snapshot, actor, moment,
                                         comment=comment, flow="Secondary"))
            return events

    # properties --------------------------------------------------------------------------------
    def set_property(self, id_or_key: str, key: str, raw_value: bytes) -> bool:
        """Store an entity property; returns True when it is new. Raises JiraError 400/404."""
        if len(raw_value) > MAX_PROPERTY_BYTES:
            raise JiraError(400, [f"The property value exceeds the maximum size of {MAX_PROPERTY_BYTES} bytes."])
        try:
            value = json.loads(raw_value or b"null")
        except ValueError as exc:
            raise JiraError(400, ["The property value isn't a valid JSON."]) from exc
        if len(key) > 255 or not key:
            raise JiraError(400, ["The property key must be between 1 and 255 characters long."])
        with self.store.lock:
            # copy on write: readers render issues outside the lock
            draft = self.require(id_or_key).snapshot()
            created = key not in draft.properties
            draft.properties[key] = value
            self.store.add(draft)
            return created

    def get_property(self, id_or_key: str, key: str) -> object:
        issue = self.require(id_or_key)
        if key not in issue.properties:
            raise JiraError(404, [f"The property with key '{key}' does not exist."])
        return issue.properties[key]

    def delete_property(self, id_or_key: str, key: str) -> None:
        with self.store.lock:
            draft = self.require(id_or_key).snapshot()
            if key not in draft.properties:
                raise JiraError(404, [f"The property with key '{key}' does not exist."])
            del draft.properties[key]
            self.store.add(draft)

    # worklogs ----------------------------------------------------------------------------------
    def log_work(self, actor: str, id_or_key: str, body: object, *,
                 at: datetime | None = None) -> tuple[Worklog, list[IssueEvent]]:
        """`POST /rest/api/2/issue/{id}/worklog` (`timeSpentSeconds` or `timeSpent` like "1h 30m").

        Raises JiraError 400 for a missing or unreadable duration, 404 for an unknown issue.
        """
        if not isinstance(body, dict):
            raise JiraError(400, ["Can not deserialize the request body as a worklog."])
        seconds = _worklog_seconds(body)
        comment = body.get("comment") if isinstance(body.get("comment"), str) else ""
        with self.store.lock:
            issue = self.require(id_or_key)
            moment = at or self.now()
            worklog = Worklog(self.store.next_id("worklog"), actor, comment,
                              moment - timedelta(seconds=seconds), seconds, moment, moment)
            draft = issue.snapshot()
            draft.worklogs.append(worklog)
            items = self._diff(issue, draft)
            items.append(ChangeItem("WorklogId", "jira", "WorklogId", None, None, worklog.id, worklog.id))
            history = History(self.store.next_id("history"), actor, moment, items)
            draft.histories.append(history)
            draft.updated = moment
            self.store.add(draft)
            return worklog, [IssueEvent("jira:issue_updated", draft.snapshot(), actor, moment,
                                        "issue_work_logged", history=history)]

    # internals ---------------------------------------------------------------------------------
    def _new_comment(self, actor: str, text: str, properties: dict, moment: datetime) -> Comment:
        return Comment(id=self.store.next_id("comment"), author=actor, body=text, created=moment,
                       updated=moment, update_author=actor, internal=_is_internal(properties),
                       properties=properties)

    def _comment_events(self, webhook_event: str, type_name: str, actor: str, issue: Issue,
                        comment: Comment, moment: datetime) -> list[IssueEvent]:
        # Jira sends both the comment event and an issue-updated event naming the comment.
        snapshot = issue.snapshot()
        return [IssueEvent(webhook_event, snapshot, actor, moment, comment=comment),
                IssueEvent("jira:issue_updated", snapshot, actor, moment, type_name, comment=comment)]

    def _commit(self, actor: str, before: Issue, draft: Issue, new_comments: list[Comment], *,
                at: datetime | None, event_type: str | None = None) -> list[IssueEvent]:
        """Record the difference between `before` and `draft`; no change means no history, no event."""
        items = self._diff(before, draft)
        if not items and not new_comments:
            if draft.properties != before.properties:
                # properties set with an edit are stored, but are no field change: no event
                self.store.add(draft)
            return []
        moment = at or self.now()
        history = None
        if items:
            history = History(self.store.next_id("history"), actor, moment, items)
            draft.histories.append(history)
        draft.updated = moment
        self.store.add(draft)
        if event_type is None:
            assignee_only = bool(items) and all(item.field_id == "assignee" for item in items)
            event_type = "issue_assigned" if assignee_only else "issue_updated"
        snapshot = draft.snapshot()
        events = [IssueEvent("comment_created", snapshot, actor, moment, comment=added)
                  for added in new_comments]
        if items:
            events.append(IssueEvent("jira:issue_updated", snapshot, actor, moment, event_type,
                                     history=history,
                                     comment=new_comments[-1] if new_comments else None))
        else:
            events += [IssueEvent("jira:issue_updated", snapshot, actor, moment, "issue_commented",
                                  comment=added) for added in new_comments]
        return events

    def _apply_field_values(self, draft: Issue, fields: dict, update: dict, errors: dict[str, str], *,
                            actor: str, moment: datetime | None = None) -> list[Comment]:
        """Apply REST `fields` (set) and `update` (operations) to `draft`, collecting Jira's errors.

        Returns comments added through `update.comment`. Never raises for a bad value: the error
        goes into `errors[field]` so every problem is reported at once, as Jira does.
        """
        for field_id, value in fields.items():
            definition = self.catalogue.get(field_id)
            if definition is None or not definition.on_edit_screen:
                errors[field_id] = CANNOT_SET.format(field_id)
                continue
            self._set_value(draft, definition, value, errors)
        new_comments: list[Comment] = []
        for field_id, operations in update.items():
            definition = self.catalogue.get(field_id)
            if definition is None or not definition.on_edit_screen:
                errors[field_id] = CANNOT_SET.format(field_id)
                continue
            if not isinstance(operations, list):
                errors[field_id] = f"Field '{field_id}' update operations must be a list."
                continue
            for operation in operations:
                if not isinstance(operation, dict) or len(operation) != 1:
                    errors[field_id] = f"Each update operation of '{field_id}' names exactly one verb."
                    break
                (verb, value), = operation.items()
                self._operate(draft, definition, verb, value, errors, actor, new_comments, moment)
        return new_comments

    def _operate(self, draft: Issue, definition: FieldDef, verb: str, value: object,
                 errors: dict[str, str], actor: str, new_comments: list[Comment],
                 moment: datetime | None) -> None:
        field_id = definition.id
        if definition.kind == "comment":
            if verb != "add" or not isinstance(value, dict):
                errors[field_id] = f"Field '{field_id}' does not support operation '{verb}'"
                return
            try:
                text, properties = _comment_input(value)
            except JiraError as exc:
                errors.update(exc.errors)
                return
            comment = self._new_comment(actor, text, properties, moment or self.now())
            draft.comments.append(comment)
            new_comments.append(comment)
            return
        if verb == "set":
            self._set_value(draft, definition, value, errors)
            return
        if definition.kind == "labels" and verb in ("add", "remove"):
            if not isinstance(value, str) or not value or " " in value:
                errors[field_id] = f"The label '{value}' contains spaces which is invalid."
                return
            if verb == "add" and value not in draft.labels:
                draft.labels.append(value)
            if verb == "remove" and value in draft.labels:
                draft.labels.remove(value)
            return
        if definition.kind == "components" and verb in ("add", "remove"):
            component = self.component_by(value)
            if component is None:
                errors[field_id] = f"Component name '{_named(value)}' is not valid"
                return
            if verb == "add" and component.id not in draft.components:
                draft.components.append(component.id)
            if verb == "remove" and component.id in draft.components:
                draft.components.remove(component.id)
            return
        errors[field_id] = f"Field '{field_id}' does not support operation '{verb}'"

    def _set_value(self, draft: Issue, definition: FieldDef, value: object, errors: dict[str, str]) -> None:
        field_id = definition.id
        if definition.custom:
            try:
                stored = parse_custom_value(definition, value)
            except FieldValueError as exc:
                errors[field_id] = str(exc)
                return
            if stored is None:
                draft.custom.pop(field_id, None)
            else:
                draft.custom[field_id] = stored
            return
        if field_id == "summary":
            if not isinstance(value, str) or not value.strip():
                errors[field_id] = "You must specify a summary of the issue."
            else:
                draft.summary = value.strip()
        elif field_id in ("description", "environment"):
            if value is not None and not isinstance(value, str):
                errors[field_id] = f"Field '{field_id}' must be a string."
            else:
                setattr(draft, field_id, value or None)
        elif field_id == "priority":
            wanted = value.get("id") or value.get("name") if isinstance(value, dict) else value
            match = next((pid for pid, name in PRIORITIES.items() if str(wanted) in (pid, name)), None)
            if match is None:
                errors[field_id] = "Specify a valid 'id' or 'name' for Priority"
            else:
                draft.priority_id = match
        elif field_id in ("assignee", "reporter"):
            known, user = self.directory.from_rest(value, self.deployment)
            if not known:
                errors[field_id] = f"User '{_named(value)}' does not exist."
            elif field_id == "assignee" and user is not None and not user.agent:
                errors[field_id] = f"User '{_named(value)}' cannot be assigned issues."
            elif field_id == "reporter" and user is None:
                errors[field_id] = "Reporter is required."
            else:
                setattr(draft, field_id, user.handle if user else None)
        elif field_id == "labels":
            if not isinstance(value, list) or not all(isinstance(v, str) and v and " " not in v for v in value):
                errors[field_id] = "Labels must be a list of words without spaces."
            else:
                draft.labels = list(dict.fromkeys(value))
        elif field_id == "components":
            if not isinstance(value, list):
                errors[field_id] = "Components must be a list."
                return
            chosen = []
            for item in value:
                component = self.component_by(item)
                if component is None:
                    errors[field_id] = f"Component name '{_named(item)}' is not valid"
                    return
                chosen.append(component.id)
            draft.components = list(dict.fromkeys(chosen))
        elif field_id == "duedate":
            if value is None:
                draft.duedate = None
            else:
                try:
                    draft.duedate = date.fromisoformat(str(value)).isoformat()
                except ValueError:
                    errors[field_id] = f"Error parsing date string: {value}"
        else:
            errors[field_id] = CANNOT_SET.format(field_id)

    # changelog ---------------------------------------------------------------------------------
    def _diff(self, before: Issue, after: Issue, *, creating: bool = False) -> list[ChangeItem]:
        """The changelog items between two states of one issue, in Jira's usual order."""
        items: list[ChangeItem] = []

        def text_item(name: str, field_id: str, old: str | None, new: str | None) -> None:
            if old != new:
                items.append(ChangeItem(name, "jira", field_id, None, old, None, new))

        text_item("summary", "summary", before.summary, after.summary)
        text_item("description", "description", before.description, after.description)
        text_item("environment", "environment", before.environment, after.environment)
        if before.priority_id != after.priority_id:
            items.append(ChangeItem("priority", "jira", "priority", before.priority_id,
                                    PRIORITIES.get(before.priority_id or ""), after.priority_id,
                                    PRIORITIES.get(after.priority_id or "")))
        for field_id in ("reporter", "assignee"):
            old, new = getattr(before, field_id), getattr(after, field_id)
            if old != new:
                items.append(self._user_item(field_id, old, new))
        if before.duedate != after.duedate:
            items.append(ChangeItem("duedate", "jira", "duedate", before.duedate, before.duedate,
                                    after.duedate, after.duedate))
        if before.labels != after.labels:
            items.append(ChangeItem("labels", "jira", "labels", None, " ".join(before.labels) or None,
                                    None, " ".join(after.labels) or None))
        for removed in [c for c in before.components if c not in after.components]:
            items.append(ChangeItem("Component", "jira", "components", removed,
                                    self.components[removed].name, None, None))
        for added in [c for c in after.components if c not in before.components]:
            items.append(ChangeItem("Component", "jira", "components", None, None, added,
                                    self.components[added].name))
        if before.resolution_id != after.resolution_id:
            old_res = RESOLUTIONS.get(before.resolution_id or "")
            new_res = RESOLUTIONS.get(after.resolution_id or "")
            items.append(ChangeItem("resolution", "jira", "resolution",
                                    old_res.id if old_res else None, old_res.name if old_res else None,
                                    new_res.id if new_res else None, new_res.name if new_res else None))
        if before.status_id != after.status_id:
            old_status = STATUSES.get(before.status_id)
            new_status = STATUSES[after.status_id]
            items.append(ChangeItem("Status" if creating else "status", "jira", "status",
                                    old_status.id if old_status else None,
                                    old_status.name if old_status else None,
                                    new_status.id, new_status.name))
        spent_before = sum(w.time_spent_seconds for w in before.worklogs) or None
        spent_after = sum(w.time_spent_seconds for w in after.worklogs) or None
        if spent_before != spent_after:
            items.append(ChangeItem("timespent", "jira", "timespent",
                                    _text(spent_before), _text(spent_before),
                                    _text(spent_after), _text(spent_after)))
        for definition in self.catalogue.custom_fields():
            old, new = before.custom.get(definition.id), after.custom.get(definition.id)
            if old != new:
                old_id, old_text = custom_value_strings(definition, old)
                new_id, new_text = custom_value_strings(definition, new)
                items.append(ChangeItem(definition.name, "custom", definition.id, old_id, old_text,
                                        new_id, new_text))
        return items

    def _user_item(self, field_id: str, old: str | None, new: str | None) -> ChangeItem:
        old_user, new_user = self.directory.get(old), self.directory.get(new)
        # Changelogs name users by user name on both deployments; Cloud adds the account ids.
        return ChangeItem(
            field_id, "jira", field_id,
            old_user.name if old_user else None, old_user.display_name if old_user else None,
            new_user.name if new_user else None, new_user.display_name if new_user else None,
            from_account=old_user.account_id if old_user else None,
            to_account=new_user.account_id if new_user else None,
            user_field=True,
        )


def link_type_by(*, name: object = None, type_id: object = None) -> LinkType | None:
    """The link type with this name (case-insensitive, as Jira matches it) or id."""
    for link_type in LINK_TYPES:
        if (name and str(name).lower() == link_type.name.lower()) or (type_id and str(type_id) == link_type.id):
            return link_type
    return None


def _issue_ref(value: object) -> str | None:
    """The id or key of `{"key": ...}` / `{"id": ...}`, as link requests name issues."""
    if not isinstance(value, dict):
        return None
    ref = value.get("key") or value.get("id")
    return str(ref) if ref else None


def _fields_of(body: object) -> dict:
    if not isinstance(body, dict) or not isinstance(body.get("fields"), dict):
        raise JiraError(400, ["Can not deserialize the request body: 'fields' is required."])
    return body["fields"]


def _issue_type_of(value: object) -> str | None:
    if not isinstance(value, dict):
        return None
    if value.get("id") is not None:
        return ISSUE_TYPES.get(str(value["id"]))
    name = value.get("name")
    return name if name in ISSUE_TYPES.values() else None


def _comment_input(body: object) -> tuple[str, dict]:
    if not isinstance(body, dict):
        raise JiraError(400, ["Can not deserialize the request body as a comment."])
    text = body.get("body")
    if not isinstance(text, str) or not text.strip():
        raise JiraError(400, [], {"comment": "Comment body can not be empty!"})
    properties = {}
    for entry in body.get("properties") or []:
        if isinstance(entry, dict) and isinstance(entry.get("key"), str):
            properties[entry["key"]] = entry.get("value")
    return text, properties


def _apply_properties(draft: Issue, entries: object, errors: dict[str, str]) -> None:
    """Entity properties sent with an edit (`"properties": [{"key", "value"}]`)."""
    if entries is None:
        return
    if not isinstance(entries, list):
        errors["properties"] = "Properties must be a list of {key, value} objects."
        return
    for entry in entries:
        key = entry.get("key") if isinstance(entry, dict) else None
        if not isinstance(key, str) or not 0 < len(key) <= 255 or "value" not in entry:
            errors["properties"] = "Each property needs a key of 1 to 255 characters and a value."
            return
        if len(json.dumps(entry["value"]).encode()) > MAX_PROPERTY_BYTES:
            errors["properties"] = f"The property value exceeds the maximum size of {MAX_PROPERTY_BYTES} bytes."
            return
        draft.properties[key] = entry["value"]


def _is_internal(properties: dict) -> bool:
    value = properties.get(INTERNAL_COMMENT_PROPERTY)
    return isinstance(value, dict) and value.get("internal") is True


def _find_comment(issue: Issue, comment_id: str) -> Comment:
    for comment in issue.comments:
        if comment.id == str(comment_id):
            return comment
    raise JiraError(404, [f"Can not find a comment for key: {comment_id}."])


DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhm])", re.IGNORECASE)
# Jira's default time tracking: a working day is 8 hours, a week 5 days.
DURATION_UNITS = {"w": 5 * 8 * 3600, "d": 8 * 3600, "h": 3600, "m": 60}


def _worklog_seconds(body: dict) -> int:
    if body.get("timeSpentSeconds") is not None:
        try:
            seconds = int(body["timeSpentSeconds"])
        except (TypeError, ValueError):
            seconds = 0
    else:
        text = str(body.get("timeSpent") or "")
        parts = DURATION_PART.findall(text)
        seconds = int(sum(float(n) * DURATION_UNITS[u.lower()] for n, u in parts)) if parts else 0
    if seconds < 60:
        raise JiraError(400, [], {"timeLogged": "You must indicate the time spent working."})
    return seconds


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _named(value: object) -> str:
    if isinstance(value, dict):
        for key in ("name", "accountId", "key", "id", "value", "emailAddress"):
            if value.get(key) is not None:
                return str(value[key])
    return str(value)
