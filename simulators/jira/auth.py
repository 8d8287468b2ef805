"""Who is calling: Cloud basic auth (email + API token), Data Center bearer tokens, and Jira's 401.

Cloud accepts `Authorization: Basic base64(email:api-token)`; Data Center accepts a personal
access token as `Authorization: Bearer <token>` and, as Data Center also does, basic auth with
user name and password. Credentials come only from the environment (`XLA_SIM_USERS`,
`XLA_SIM_TOKENS`); nothing here logs them.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import re
from dataclasses import dataclass

from flask import Response, jsonify

from simulators.jira.directory import CLOUD, JiraUser, UserDirectory

CLOUD_UNAUTHORIZED = "Client must be authenticated to access this resource."
DC_UNAUTHORIZED = "You are not authenticated. Authentication required to perform this operation."


def api_user_for_login(login: str) -> JiraUser:
    """The account behind a login of XLA_SIM_USERS / XLA_SIM_TOKENS (an email or a user name)."""
    if "@" in login:
        name = login.split("@", 1)[0]
        email = login
    else:
        name = login
        email = f"{login}@example.com"
    display = " ".join(part.capitalize() for part in re.split(r"[._-]+", name) if part)
    return JiraUser(handle=f"api:{login}", name=name, display_name=display or name, email=email,
                    agent=True)


@dataclass
class Authenticator:
    """Checks one request's credentials against the configured users and tokens."""

    deployment: str
    passwords: dict[str, str]      # login -> password or API token
    tokens: dict[str, str]         # login -> personal access token (Data Center)

    def api_users(self) -> list[JiraUser]:
        """An account for every configured login (seeding skips those naming a world person)."""
        logins = list(self.passwords) + [t for t in self.tokens if t not in self.passwords]
        return [api_user_for_login(login) for login in logins]

    def authenticate(self, header: str | None, directory: UserDirectory) -> JiraUser | None:
        """The user the Authorization header proves, or None (missing, malformed or wrong)."""
        if not header:
            return None
        scheme, _, credentials = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            login, sep, secret = decoded.partition(":")
            if not sep:
                return None
            return self._match(self.passwords, login, secret, directory)
        if scheme == "bearer" and self.deployment != CLOUD:
            presented = credentials.strip()
            for login, token in self.tokens.items():
                if hmac.compare_digest(token.encode(), presented.encode()):
                    return self._user(login, directory)
        return None

    def _match(self, table: dict[str, str], login: str, secret: str,
               directory: UserDirectory) -> JiraUser | None:
        for known, expected in table.items():
            if self._same_login(known, login) and hmac.compare_digest(expected.encode(), secret.encode()):
                return self._user(known, directory)
        return None

    @staticmethod
    def _same_login(known: str, presented: str) -> bool:
        # Cloud logs in by email; a login configured as a bare name also answers to name@example.com.
        presented = presented.lower()
        known = known.lower()
        return presented == known or ("@" not in known and presented == f"{known}@example.com")

    @staticmethod
    def _user(login: str, directory: UserDirectory) -> JiraUser | None:
        return directory.get(f"api:{login}") or directory.find(login)


def unauthorized_response(deployment: str, credentials_presented: bool) -> Response:
    """Jira's 401: plain text on Cloud, the JSON error envelope on Data Center.

    `X-Seraph-LoginReason: AUTHENTICATED_FAILED` says credentials were sent and refused.
    """
    if deployment == CLOUD:
        response = Response(CLOUD_UNAUTHORIZED, status=401, mimetype="text/plain")
        response.headers["WWW-Authenticate"] = 'Basic realm="protected-area"'
    else:
        response = jsonify({"errorMessages": [DC_UNAUTHORIZED], "errors": {}})
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'OAuth realm="jira"'
    if credentials_presented:
        response.headers["X-Seraph-LoginReason"] = "AUTHENTICATED_FAILED"
    return response
