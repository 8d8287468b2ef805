"""Jira's outgoing webhooks: the payload of each event kind, and the delivery headers.

Shapes follow the real captures (Cloud and Data Center):

- issue events (`jira:issue_created`, `jira:issue_updated`, `jira:issue_deleted`) carry
  `timestamp` (epoch ms), `webhookEvent`, `user`, the whole `issue`, and `changelog` when fields
  changed; `issue_event_type_name` is present except on `jira:issue_deleted`. Cloud issues leave
  out `comment`/`worklog` (except in a deleted issue); Data Center issues include both.
- comment events (`comment_created`, `comment_updated`, `comment_deleted`) carry no `user` and
  no `issue_event_type_name`; on Cloud a minimal `issue` (summary, status, priority, assignee,
  type, project) and `comment.jsdPublic`; on Data Center no `issue` at all: the issue id is only
  in `comment.self`.
- Data Center changelog items have no `fieldId`; Cloud user items add `tmpFromAccountId` /
  `tmpToAccountId`.
- `issuelink_created` carries `issueLink` only: its id, `sourceIssueId`, `destinationIssueId`
  (numbers), `issueLinkType` (id, name, `outwardName`, `inwardName`), `sequence`, `systemLink`.

Headers: `X-Atlassian-Webhook-Identifier` (one per event, the same on every retry and
redelivery), `X-Atlassian-Webhook-Retry` (only on retries: how many came before),
`X-Atlassian-Webhook-Flow` (`Primary`, or `Secondary` for fallout such as the comments of a
deleted issue), and `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>` with a secret.
"""
from __future__ import annotations

import hashlib
import hmac
import threading
import uuid

from simulators.jira.directory import CLOUD
from simulators.jira.instance import IssueEvent, link_type_by
from simulators.jira.issues import epoch_ms
from simulators.jira.representation import NOT_NAVIGABLE, Renderer

CLOUD_COMMENT_ISSUE_FIELDS = ("summary", "issuetype", "project", "assignee", "priority", "status")


def build_payload(event: IssueEvent, renderer: Renderer) -> dict:
    """The JSON body Jira posts for `event` on the renderer's deployment."""
    issue = event.issue
    cloud = renderer.deployment == CLOUD
    payload: dict = {"timestamp": epoch_ms(event.at), "webhookEvent": event.webhook_event}
    if event.link is not None:
        payload["issueLink"] = _issue_link_body(event)
        return payload
    if event.webhook_event.startswith("comment_"):
        payload["comment"] = renderer.comment(issue.id, event.comment)
        if cloud:
            payload["issue"] = _issue_body(issue, renderer, set(CLOUD_COMMENT_ISSUE_FIELDS))
        return payload
    if event.event_type_name is not None and event.webhook_event != "jira:issue_deleted":
        payload["issue_event_type_name"] = event.event_type_name
    payload["user"] = renderer.user(event.actor)
    wanted = set(renderer.issue_fields_names())
    if cloud and event.webhook_event != "jira:issue_deleted":
        wanted -= NOT_NAVIGABLE
    payload["issue"] = _issue_body(issue, renderer, wanted)
    if event.history is not None:
        payload["changelog"] = {"id": event.history.id,
                                "items": [renderer.change_item(item, for_webhook=True)
                                          for item in event.history.items]}
    if event.comment is not None:
        payload["comment"] = renderer.comment(issue.id, event.comment)
    return payload


def _issue_link_body(event: IssueEvent) -> dict:
    """`issueLink` of `issuelink_created` / `issuelink_deleted`: numeric ids, no issue bodies."""
    link, link_type = event.link, link_type_by(type_id=event.link.type_id)
    return {"id": int(link.link_id), "sourceIssueId": int(event.issue.id),
            "destinationIssueId": int(link.other_issue_id),
            "issueLinkType": {"id": int(link_type.id), "name": link_type.name, "outwardName": link_type.outward,
                              "inwardName": link_type.inward, "isSubTaskLinkType": False, "isSystemLinkType": False},
            "sequence": 0, "systemLink": False}


def _issue_body(issue, renderer: Renderer, wanted: set[str]) -> dict:
    return {"id": issue.id, "self": f"{renderer.base}/rest/api/2/issue/{issue.id}", "key": issue.key,
            "fields": renderer.issue_fields(issue, wanted)}


def signature_header(secret: str, body: bytes) -> str:
    """`sha256=<hex>` HMAC-SHA256 of the exact body bytes, as Jira's `X-Hub-Signature`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class DeliveryHeaders:
    """Builds the headers of each delivery attempt (`simulators.common.HeaderBuilder`).

    The flow of a delivery is remembered by identifier when it is queued, because the
    dispatcher hands the builder only the body, identifier, attempt and secret.
    """

    def __init__(self) -> None:
        self._flows: dict[str, str] = {}
        self._lock = threading.Lock()

    def new_identifier(self, flow: str) -> str:
        identifier = str(uuid.uuid4())
        with self._lock:
            self._flows[identifier] = flow
        return identifier

    def clear(self) -> None:
        with self._lock:
            self._flows.clear()

    def __call__(self, body: bytes, delivery_id: str, attempt: int, secret: str | None) -> dict[str, str]:
        with self._lock:
            flow = self._flows.get(delivery_id, "Primary")
        headers = {"X-Atlassian-Webhook-Identifier": delivery_id, "X-Atlassian-Webhook-Flow": flow}
        if attempt > 1:
            headers["X-Atlassian-Webhook-Retry"] = str(attempt - 1)
        if secret:
            headers["X-Hub-Signature"] = signature_header(secret, body)
        return headers
