"""Typed connector errors: what happened, and whether retrying can help.

No raw `requests`/`jira` exception leaves a connector; each is translated to one of these with
`raise ... from exc`. `retryable` tells the job layer whether to reschedule; `retry_after_s`
is the wait the vendor asked for (429 `Retry-After` / `X-RateLimit-Reset`) or the breaker's.
Messages never contain credentials.
"""
from __future__ import annotations


class ConnectorError(Exception):
    retryable: bool = False

    def __init__(self, message: str, *, connection_id: str | None = None,
                 status: int | None = None, retry_after_s: float | None = None,
                 body: str | None = None):
        super().__init__(message)
        self.connection_id = connection_id
        self.status = status
        self.retry_after_s = retry_after_s
        self.body = body[:500] if body else body


class AuthenticationError(ConnectorError):
    """401: the credentials are wrong or expired. Not retryable until an admin fixes them."""


class PermissionDenied(ConnectorError):
    """403: the integration user lacks a role, ACL or project permission."""


class FieldNotEditable(ConnectorError):
    """A field is unknown, read-only or (Jira) not on the edit screen."""


class NotFound(ConnectorError):
    """404: the ticket or table does not exist (or is invisible to the integration user)."""


class InvalidRequest(ConnectorError):
    """400 other than a field problem: the request itself is wrong."""


class RateLimited(ConnectorError):
    """429: the vendor asks us to slow down; `retry_after_s` says for how long.

    `reason` carries the vendor's `RateLimit-Reason` (Jira Cloud: `jira-burst-based`,
    `jira-per-issue-on-write`, `jira-quota-...`) or ServiceNow's `X-RateLimit-Rule`, when sent.
    """

    retryable = True

    def __init__(self, message: str, *, reason: str | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.reason = reason


class Timeout(ConnectorError):
    retryable = True


class HostUnreachable(ConnectorError):
    """No answer: the host refused or dropped the connection, or its name does not resolve."""

    retryable = True


class ConnectionLost(HostUnreachable):
    """The connection broke after the request was sent: a write may or may not have taken effect.

    Retrying is safe only for idempotent calls; an append is retried by the job layer, which
    looks for the append's marker first.
    """


class ServerError(ConnectorError):
    """5xx from the ITSM."""

    retryable = True


class CircuitOpen(ConnectorError):
    """The connection's breaker is open: work waits and is rescheduled, not failed."""

    retryable = True


class UnexpectedResponse(ConnectorError):
    """A status or body the connector does not understand (status and truncated body kept)."""


class UnsafeDestination(ConnectorError):
    """The request would leave the configured host, use plain http, or reach a private address."""
