"""The stored state of the simulated issues: issues, comments, worklogs, changelog, properties.

Plain records and one store that hands out ids and keys the way Jira does (numeric ids that never
change, keys `SD-<n>`). The store holds no rules: `instance.JiraInstance` decides what a change
means and records it here under the store's lock.
"""
from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

PROJECT_ID = "10000"
PROJECT_KEY = "SD"
PROJECT_NAME = "Service Desk"



def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def jira_datetime(moment: datetime | None) -> str | None:
    """Jira's timestamp format: `2019-02-15T19:01:52.971+0000` (milliseconds, numeric offset)."""
    if moment is None:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" + moment.strftime("%z")


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class Comment:
    id: str
    author: str          # user handle
    body: str
    created: datetime
    updated: datetime
    update_author: str
    internal: bool = False
    properties: dict = field(default_factory=dict)


@dataclass
class Worklog:
    id: str
    author: str
    comment: str
    started: datetime
    time_spent_seconds: int
    created: datetime
    updated: datetime


@dataclass
class ChangeItem:
    """One changed field in a changelog history, with Jira's id and display strings."""

    field: str
    fieldtype: str       # "jira" or "custom"
    field_id: str
    from_value: str | None
    from_string: str | None
    to_value: str | None
    to_string: str | None
    # Cloud adds the account ids of user fields beside the legacy names.
    from_account: str | None = None
    to_account: str | None = None
    user_field: bool = False


@dataclass
class History:
    id: str
    author: str
    created: datetime
    items: list[ChangeItem]


@dataclass(frozen=True)
class LinkType:
    """An issue link type: `outward` reads from the link's source, `inward` from its destination."""

    id: str
    name: str
    inward: str
    outward: str


# The link types a new Jira site has.
LINK_TYPES = (
    LinkType("10000", "Blocks", "is blocked by", "blocks"),
    LinkType("10001", "Cloners", "is cloned by", "clones"),
    LinkType("10002", "Duplicate", "is duplicated by", "duplicates"),
    LinkType("10003", "Relates", "relates to", "relates to"),
)


@dataclass(frozen=True)
class LinkEnd:
    """One issue's side of an issue link: `outward` when this issue is the link's source (its
    `issuelinks` entry then names the other issue as `outwardIssue`), `inward` when it is the
    destination."""

    link_id: str
    type_id: str
    direction: str
    other_issue_id: str


@dataclass
class Issue:
    id: str
    key: str
    issue_type: str
    summary: str
    status_id: str
    reporter: str | None
    creator: str | None
    created: datetime
    updated: datetime
    status_category_changed: datetime
    priority_id: str = "3"
    description: str | None = None
    assignee: str | None = None
    resolution_id: str | None = None
    resolutiondate: datetime | None = None
    duedate: str | None = None
    environment: str | None = None
    labels: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)   # component ids
    custom: dict[str, object] = field(default_factory=dict)
    comments: list[Comment] = field(default_factory=list)
    worklogs: list[Worklog] = field(default_factory=list)
    histories: list[History] = field(default_factory=list)
    properties: dict[str, object] = field(default_factory=dict)
    links: list[LinkEnd] = field(default_factory=list)
    plan_id: str | None = None   # the world's ticket plan this issue was seeded from

    def snapshot(self) -> "Issue":
        """An independent copy, for a draft to change or a webhook that must show this moment.

        Histories and worklogs are never changed once written, so they are shared; everything
        a later change may touch (lists, dicts, comments) is copied.
        """
        twin = copy.copy(self)
        twin.labels = list(self.labels)
        twin.components = list(self.components)
        twin.custom = dict(self.custom)
        twin.comments = [replace(c, properties=dict(c.properties)) for c in self.comments]
        twin.worklogs = list(self.worklogs)
        twin.histories = list(self.histories)
        twin.properties = dict(self.properties)
        twin.links = list(self.links)
        return twin


class IssueStore:
    """Issues by id and key, plus the id counters Jira keeps per instance."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._issues: dict[str, Issue] = {}
        self._next_issue_id = 10001
        self._next_key_number = 1
        self._next_ids = {"comment": 10001, "history": 10001, "worklog": 10001, "link": 10001}

    def next_issue_identity(self) -> tuple[str, str]:
        """A fresh (id, key) pair."""
        with self.lock:
            issue_id, number = self._next_issue_id, self._next_key_number
            self._next_issue_id += 1
            self._next_key_number += 1
            return str(issue_id), f"{PROJECT_KEY}-{number}"

    def next_id(self, kind: str) -> str:
        with self.lock:
            value = self._next_ids[kind]
            self._next_ids[kind] += 1
            return str(value)

    def add(self, issue: Issue) -> None:
        with self.lock:
            self._issues[issue.id] = issue

    def remove(self, issue: Issue) -> None:
        with self.lock:
            self._issues.pop(issue.id, None)

    def find(self, id_or_key: str) -> Issue | None:
        """The issue with this numeric id or key (keys match case-insensitively, as in Jira)."""
        with self.lock:
            if id_or_key in self._issues:
                return self._issues[id_or_key]
            wanted = str(id_or_key).upper()
            for issue in self._issues.values():
                if issue.key == wanted:
                    return issue
            return None

    def all(self) -> list[Issue]:
        with self.lock:
            return list(self._issues.values())
