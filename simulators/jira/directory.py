"""The simulated instance's users, and how each deployment names and shows them.

Jira Cloud identifies a user by an opaque `accountId` (email and user name are privacy-restricted);
Data Center identifies users by user `name` and `key`. Every place that renders a user (issue
fields, comment authors, webhook `user`) goes through `user_json` so both shapes stay consistent.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

CLOUD = "cloud"
DATACENTER = "datacenter"


@dataclass(frozen=True)
class JiraUser:
    """A person the instance knows. `handle` is the simulator's own stable key for the person."""

    handle: str
    name: str            # Data Center user name (also shown as `name`/`key` on older Cloud payloads)
    display_name: str
    email: str | None
    time_zone: str = "Etc/UTC"
    active: bool = True
    agent: bool = False  # licensed agent (may be assigned, may work issues)

    @property
    def account_id(self) -> str:
        # Stable across restarts and resets: derived from the handle only.
        return hashlib.sha256(f"jira-account:{self.handle}".encode()).hexdigest()[:24]


class UserDirectory:
    """Users by handle, with look-ups by every spelling a client may send."""

    def __init__(self) -> None:
        self._users: dict[str, JiraUser] = {}
        self._lock = threading.Lock()

    def add(self, user: JiraUser) -> JiraUser:
        with self._lock:
            existing = self._users.get(user.handle)
            if existing is not None:
                return existing
            self._users[user.handle] = user
            return user

    def all(self) -> list[JiraUser]:
        with self._lock:
            return list(self._users.values())

    def get(self, handle: str | None) -> JiraUser | None:
        if handle is None:
            return None
        with self._lock:
            return self._users.get(handle)

    def find(self, ref: str | None) -> JiraUser | None:
        """The user an accountId, user name, key or email refers to."""
        if not ref:
            return None
        lowered = str(ref).lower()
        with self._lock:
            for user in self._users.values():
                if lowered in (user.account_id, user.name.lower(), (user.email or "").lower(),
                               user.handle.lower()):
                    return user
        return None

    def from_rest(self, value: object, deployment: str) -> tuple[bool, JiraUser | None]:
        """Resolve a REST user value (`{"accountId"}` on Cloud, `{"name"}` on DC, or null).

        Returns (recognised, user): recognised is False when a user was named but not found.
        """
        if value is None:
            return True, None
        if isinstance(value, str):
            user = self.find(value)
            return user is not None, user
        if not isinstance(value, dict):
            return False, None
        keys = ("accountId", "name", "key", "emailAddress") if deployment == CLOUD else (
            "name", "key", "accountId", "emailAddress")
        for key in keys:
            if value.get(key):
                user = self.find(value[key])
                return user is not None, user
        # {"accountId": null} / {"name": null} unassigns
        return True, None


def user_ref(user: JiraUser, deployment: str) -> str:
    """How JQL, changelog `from`/`to` and URLs refer to the user on this deployment."""
    return user.account_id if deployment == CLOUD else user.name


def user_json(user: JiraUser | None, deployment: str, base_url: str) -> dict | None:
    """The REST/webhook representation of a user (null stays null).

    A user without an email address has no `emailAddress` key, as when Jira hides it.
    """
    if user is None:
        return None
    avatar = hashlib.sha256(user.handle.encode()).hexdigest()[:32]
    avatars = {size: f"https://avatars.example.invalid/{avatar}?s={size.split('x')[0]}"
               for size in ("48x48", "24x24", "16x16", "32x32")}
    if deployment == CLOUD:
        shown = {
            "self": f"{base_url}/rest/api/2/user?accountId={user.account_id}",
            "name": user.name,
            "key": user.name,
            "accountId": user.account_id,
            "emailAddress": user.email,
            "avatarUrls": avatars,
            "displayName": user.display_name,
            "active": user.active,
            "timeZone": user.time_zone,
            "accountType": "atlassian",
        }
    else:
        shown = {
            "self": f"{base_url}/rest/api/2/user?username={user.name}",
            "name": user.name,
            "key": user.name,
            "emailAddress": user.email,
            "avatarUrls": avatars,
            "displayName": user.display_name,
            "active": user.active,
            "timeZone": user.time_zone,
        }
    if user.email is None:
        del shown["emailAddress"]
    return shown
