"""Jira webhook payloads (Cloud and Data Center) to `TicketEvent`s.

The tables at the top are the documentation: which `webhookEvent`s become events, which are
ignored on purpose, which are known but not acted on. Anything else is unrecognised.

Lifecycle meaning is read from the changelog items and the status category, never from
`issue_event_type_name` (Cloud sends `issue_generic` for most transitions, old Server versions
send no type at all):
- entering the `done` category: resolved (canceled when the resolution is a cancel-like one);
  moving between two `done` statuses: closed; leaving `done`: reopened;
- assignee from nobody to someone: assigned; from one person to another: reassigned;
  a change of an assignment-group-like field: reassigned (assigned when it was empty).
"""
from __future__ import annotations

import hashlib
import re
from typing import Any, Callable, Mapping

from domain.events import Lifecycle, TicketEvent
from webhooks.outcomes import Ignored, ParseOutcome, Unrecognised, Unsupported
from webhooks.payload import text_or_none

IDENTIFIER_HEADER = "X-Atlassian-Webhook-Identifier"
RETRY_HEADER = "X-Atlassian-Webhook-Retry"
FLOW_HEADER = "X-Atlassian-Webhook-Flow"

# Deliberately ignored: nothing here changes how a ticket is experienced.
IGNORED_EVENTS = frozenset({
    "issue_property_set", "issue_property_deleted",
    "jira:worklog_updated",
    "issuelink_created", "issuelink_deleted",
    "attachment_created", "attachment_deleted",
})
IGNORED_EVENT_PREFIXES = ("worklog_", "sprint_", "board_", "user_", "project_", "jira:version_", "version_",
                          "option_", "filter_", "issuetype_", "comment_reaction_")

# Known and meaningful, but the service does not act on them (logged to webhooks.jira.unsupported).
UNSUPPORTED_EVENTS = frozenset({"comment_updated", "comment_deleted"})

# Field display names (lowercase) that route a ticket to a team: a change is a reassignment.
ASSIGNMENT_GROUP_FIELDS = frozenset({"assignment group", "assigned group", "support group", "team",
                                     "service desk team"})

# Resolutions that end a ticket without having served the person (no survey, no "resolved").
CANCEL_RESOLUTIONS = frozenset({"won't do", "won't fix", "declined", "cancelled", "canceled", "duplicate"})

# Used only when neither the resolution nor the status category says whether the old status was done.
DONE_STATUS_NAMES = frozenset({"done", "resolved", "closed", "canceled", "cancelled", "declined", "completed"})

_ISSUE_ID_IN_URL = re.compile(r"/issue/(\d{1,18})(?:/|$)")
_CLEAN_IDENTIFIER = re.compile(r"[A-Za-z0-9._:\-]{1,200}")
_ISSUE_ID = re.compile(r"\d{1,18}")


class _NotRecognised(Exception):
    """Raised inside the parser when the payload lacks something the tool always sends."""


def parse_jira_event(connection_id: str, headers: Mapping[str, str], payload: Any) -> ParseOutcome:
    """Turn one verified Jira delivery into a TicketEvent, or say why not.

    `headers` must look up names case-insensitively (Flask's request headers do). Never raises
    for any JSON value: malformed payloads come back as Unrecognised with the reason.
    """
    if not isinstance(payload, dict):
        return Unrecognised("jira.payload_not_an_object")
    event_name = payload.get("webhookEvent")
    if not isinstance(event_name, str) or not event_name:
        return Unrecognised("jira.webhook_event_missing")
    if event_name in IGNORED_EVENTS or event_name.startswith(IGNORED_EVENT_PREFIXES):
        return Ignored(f"jira.event_ignored.{_slug(event_name)}")
    if event_name in UNSUPPORTED_EVENTS:
        return Unsupported(f"jira.event_unsupported.{_slug(event_name)}")
    handler = EVENT_HANDLERS.get(event_name)
    if handler is None:
        return Unrecognised(f"jira.event_unknown.{_slug(event_name)}")
    try:
        return handler(connection_id, headers, payload)
    except _NotRecognised as exc:
        return Unrecognised(str(exc))


# ------------------------------------------------------------------------------------------------
# one small handler per event


def _issue_created(connection_id: str, headers: Mapping[str, str], payload: dict) -> TicketEvent:
    issue = _issue(payload)
    items = _changelog_items(payload)
    steps = [Lifecycle.CREATED, *_assignment_steps(items)]
    return _event(connection_id, headers, payload, issue, steps, items)


def _issue_updated(connection_id: str, headers: Mapping[str, str], payload: dict) -> TicketEvent:
    issue = _issue(payload)
    items = _changelog_items(payload)
    steps = [*_resolution_steps(issue, items), *_assignment_steps(items)]
    # Old Server versions (and Cloud's issue_commented) report a comment as an issue update.
    if isinstance(payload.get("comment"), dict):
        steps.append(Lifecycle.COMMENTED)
    if not steps:
        steps.append(Lifecycle.UPDATED)
    return _event(connection_id, headers, payload, issue, steps, items)


def _issue_deleted(connection_id: str, headers: Mapping[str, str], payload: dict) -> TicketEvent:
    issue = _issue(payload)
    return _event(connection_id, headers, payload, issue, [Lifecycle.DELETED], [])


def _comment_created(connection_id: str, headers: Mapping[str, str], payload: dict) -> TicketEvent:
    issue = payload.get("issue") if isinstance(payload.get("issue"), dict) else None
    if issue is None:
        # Data Center sends no issue object with comment events: the id is only in comment.self.
        comment = payload.get("comment")
        match = _ISSUE_ID_IN_URL.search(text_or_none(comment.get("self")) or "") if isinstance(comment, dict) else None
        if match is None:
            raise _NotRecognised("jira.comment_issue_missing")
        issue = {"id": match.group(1)}
    return _event(connection_id, headers, payload, issue, [Lifecycle.COMMENTED], [])


EVENT_HANDLERS: dict[str, Callable[[str, Mapping[str, str], dict], TicketEvent]] = {
    "jira:issue_created": _issue_created,
    "jira:issue_updated": _issue_updated,
    "jira:issue_deleted": _issue_deleted,
    "comment_created": _comment_created,
}


# ------------------------------------------------------------------------------------------------
# lifecycle decisions


def _resolution_steps(issue: dict, items: list[dict]) -> list[Lifecycle]:
    status_item = _item(items, "status")
    resolution_item = _item(items, "resolution")
    if status_item is None and resolution_item is None:
        return []
    fields = _dict(issue.get("fields"))
    current_resolution = _dict(fields.get("resolution"))
    category = text_or_none(_dict(_dict(fields.get("status")).get("statusCategory")).get("key"))

    if category is not None:
        now_done = category == "done"
    elif resolution_item is not None:
        now_done = _has_value(resolution_item, "to")
    else:
        now_done = bool(current_resolution)

    if resolution_item is not None:
        was_done = _has_value(resolution_item, "from")
    elif current_resolution:
        was_done = True  # the resolution did not change in this event, so it was already set
    else:
        was_done = (text_or_none(status_item.get("fromString")) or "").strip().lower() in DONE_STATUS_NAMES

    if now_done and not was_done:
        resolution_name = (text_or_none(current_resolution.get("name"))
                           or (text_or_none(resolution_item.get("toString")) if resolution_item else None) or "")
        return [Lifecycle.CANCELED if resolution_name.strip().lower() in CANCEL_RESOLUTIONS else Lifecycle.RESOLVED]
    if was_done and not now_done:
        return [Lifecycle.REOPENED]
    if was_done and now_done and status_item is not None:
        return [Lifecycle.CLOSED]
    return []


def _assignment_steps(items: list[dict]) -> list[Lifecycle]:
    steps: list[Lifecycle] = []
    for item in items:
        name = _field_key(item)
        display = (text_or_none(item.get("field")) or "").strip().lower()
        if name == "assignee" or display in ASSIGNMENT_GROUP_FIELDS:
            if not _has_value(item, "to"):
                continue  # unassigning is an update, not a step of its own
            steps.append(Lifecycle.REASSIGNED if _has_value(item, "from") else Lifecycle.ASSIGNED)
    if Lifecycle.REASSIGNED in steps:
        return [Lifecycle.REASSIGNED]
    return steps[:1]


# ------------------------------------------------------------------------------------------------
# building the event


def _event(connection_id: str, headers: Mapping[str, str], payload: dict, issue: dict,
           steps: list[Lifecycle], items: list[dict]) -> TicketEvent:
    issue_id = text_or_none(issue.get("id"))
    if issue_id is None or not _ISSUE_ID.fullmatch(issue_id):
        match = _ISSUE_ID_IN_URL.search(text_or_none(issue.get("self")) or "")
        if match is None:
            raise _NotRecognised("jira.issue_id_missing")
        issue_id = match.group(1)
    comment = payload.get("comment") if isinstance(payload.get("comment"), dict) else None
    timestamp = payload.get("timestamp")
    timestamp = timestamp if isinstance(timestamp, int) and not isinstance(timestamp, bool) else None
    fields = _dict(issue.get("fields"))
    status = _dict(fields.get("status"))
    changed = [name for name in (_field_key(item) for item in items) if name]
    if comment is not None:
        changed.append("comment")
    extra = {
        "issue_key": text_or_none(issue.get("key")),
        "project": text_or_none(_dict(fields.get("project")).get("key")),
        "issue_type": text_or_none(_dict(fields.get("issuetype")).get("name")),
        "status": text_or_none(status.get("name")),
        "status_category": text_or_none(_dict(status.get("statusCategory")).get("key")),
        "event_type_name": text_or_none(payload.get("issue_event_type_name")),
        "retry": _retry_count(headers),
    }
    return TicketEvent(
        connection_id=connection_id,
        delivery_id=jira_delivery_id(headers, payload, issue_id),
        ticket_key=issue_id,
        lifecycle=tuple(dict.fromkeys(steps)),
        actor=_actor(payload, comment),
        number=text_or_none(issue.get("key")),
        version=timestamp,
        occurred_at_ms=timestamp,
        changed_fields=tuple(dict.fromkeys(changed)),
        comment_text=_comment_text(comment.get("body")) if comment else None,
        comment_author=_person(comment.get("author")) if comment else None,
        comment_public=_comment_public(comment) if comment else None,
        raw_event_name=text_or_none(payload.get("webhookEvent")),
        extra={key: value for key, value in extra.items() if value is not None},
    )


def jira_delivery_id(headers: Mapping[str, str], payload: dict, issue_id: str) -> str:
    """The dedupe key of a delivery: `X-Atlassian-Webhook-Identifier`, the same on every retry.

    Senders without that header (Jira Automation's "Send web request", old Server versions) get a
    derived key: `sha256:` + hex SHA-256 of webhookEvent, issue id, timestamp, changelog id and
    comment id joined by `|`, which is equally stable across their retries. An identifier with
    characters outside `[A-Za-z0-9._:-]` or longer than 200 is hashed the same way.
    """
    identifier = (headers.get(IDENTIFIER_HEADER) or "").strip()
    if identifier and _CLEAN_IDENTIFIER.fullmatch(identifier):
        return identifier
    if identifier:
        return "sha256:" + hashlib.sha256(identifier.encode("utf-8", "replace")).hexdigest()
    changelog = _dict(payload.get("changelog"))
    comment = _dict(payload.get("comment"))
    parts = [text_or_none(payload.get("webhookEvent")), issue_id, text_or_none(payload.get("timestamp")),
             text_or_none(changelog.get("id")), text_or_none(comment.get("id"))]
    joined = "|".join(part or "" for part in parts)
    return "sha256:" + hashlib.sha256(joined.encode("utf-8", "replace")).hexdigest()


def _issue(payload: dict) -> dict:
    issue = payload.get("issue")
    if not isinstance(issue, dict):
        raise _NotRecognised("jira.issue_missing")
    return issue


def _changelog_items(payload: dict) -> list[dict]:
    items = _dict(payload.get("changelog")).get("items")
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _item(items: list[dict], key: str) -> dict | None:
    for item in items:
        if (_field_key(item) or "").lower() == key:
            return item
    return None


def _field_key(item: dict) -> str | None:
    # Data Center items often carry only `field` (the display name); Cloud adds `fieldId`.
    return text_or_none(item.get("fieldId")) or text_or_none(item.get("field"))


def _has_value(item: dict, side: str) -> bool:
    return any(item.get(key) not in (None, "") for key in (side, side + "String"))


def jira_actor_ids(payload: Any, deployment: str) -> tuple[str, ...]:
    """Every spelling by which a verified payload names the person who made the change: the
    same person the event's `actor` is, by accountId, user name and key, and on Cloud also by
    email address (there one address is one account; a Data Center address may be shared).
    Empty for a payload that names nobody. Never raises."""
    if not isinstance(payload, dict):
        return ()
    comment = payload.get("comment") if isinstance(payload.get("comment"), dict) else None
    user = _acting_user(payload, comment)
    keys = ("accountId", "name", "key", "emailAddress") if deployment == "cloud" else ("accountId", "name", "key")
    return tuple(spelling for spelling in (text_or_none(user.get(key)) for key in keys) if spelling)


def _actor(payload: dict, comment: dict | None) -> str | None:
    return _person(_acting_user(payload, comment))


def _acting_user(payload: dict, comment: dict | None) -> dict:
    """The `user` object of the change: the top-level one, else (comment events on Cloud) the
    comment's last editor, else its author; {} when none names a person."""
    for user in (payload.get("user"), *((comment.get("updateAuthor"), comment.get("author")) if comment else ())):
        if _person(user) is not None:
            return user
    return {}


def _person(user: Any) -> str | None:
    """Cloud identifies people by accountId; Data Center by name (its accountId is null)."""
    user = _dict(user)
    return text_or_none(user.get("accountId")) or text_or_none(user.get("name")) or text_or_none(user.get("key"))


def _comment_public(comment: dict) -> bool | None:
    if isinstance(comment.get("jsdPublic"), bool):
        return comment["jsdPublic"]
    properties = comment.get("properties")
    if isinstance(properties, list):
        for prop in properties:
            if isinstance(prop, dict) and prop.get("key") == "sd.public.comment":
                internal = _dict(prop.get("value")).get("internal")
                if isinstance(internal, bool):
                    return not internal
    return None


def _comment_text(body: Any) -> str | None:
    """Comment bodies are wiki text on REST v2; a v3-style document is flattened to its text."""
    if isinstance(body, str):
        return body
    if isinstance(body, dict):
        pieces: list[str] = []
        _collect_text(body, pieces, depth=0)
        return "".join(pieces) or None
    return None


def _collect_text(node: dict, pieces: list[str], depth: int) -> None:
    if depth > 50:
        return
    if isinstance(node.get("text"), str):
        pieces.append(node["text"])
    children = node.get("content")
    for child in children if isinstance(children, list) else ():
        if isinstance(child, dict):
            _collect_text(child, pieces, depth + 1)
    if node.get("type") == "paragraph":
        pieces.append("\n")


def _retry_count(headers: Mapping[str, str]) -> int | None:
    value = (headers.get(RETRY_HEADER) or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 6 else None


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", name.lower())[:60].strip("_") or "unnamed"
