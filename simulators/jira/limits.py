"""Jira's rate limits as the simulator applies them, and the 429 answer that reports them.

Three independent limits, as Jira Cloud documents them: a burst limit per user (requests per
second), an hourly quota per user (off unless configured), and the per-issue write limit (about
20 writes per 2 seconds on one issue). A refused request gets 429 with `Retry-After` (seconds),
`X-RateLimit-Limit`, `X-RateLimit-Remaining`, `RateLimit-Reason` (`jira-burst-based`,
`jira-quota-tenant-based`, `jira-per-issue-on-write`) and, on Cloud, `X-RateLimit-Reset` as an
ISO timestamp; Data Center reports its token bucket with `X-RateLimit-Interval-Seconds` and
`X-RateLimit-FillRate` instead.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

from flask import Response, jsonify

from simulators.common import HourlyUserLimiter, RateDecision, SlidingWindowLimiter
from simulators.jira.directory import CLOUD

BURST = "jira-burst-based"
QUOTA = "jira-quota-tenant-based"
PER_ISSUE = "jira-per-issue-on-write"

DEFAULT_BURST_PER_SECOND = 100
DEFAULT_PER_ISSUE_WRITES = 20
DEFAULT_PER_ISSUE_WINDOW_S = 2.0


class JiraRateLimits:
    """The three limiters and their settings (`PUT /_sim/limits` changes them)."""

    def __init__(self, *, burst: int | None = DEFAULT_BURST_PER_SECOND, burst_window_s: float = 1.0,
                 per_hour: int | None = None, per_issue_writes: int | None = DEFAULT_PER_ISSUE_WRITES,
                 per_issue_window_s: float = DEFAULT_PER_ISSUE_WINDOW_S) -> None:
        self.burst = SlidingWindowLimiter(burst, burst_window_s)
        self.hourly = HourlyUserLimiter(per_hour)
        self.per_issue = SlidingWindowLimiter(per_issue_writes, per_issue_window_s)

    def settings(self) -> dict:
        return {"burst": self.burst.limit, "burst_window_s": self.burst.window_s,
                "per_hour": self.hourly.per_hour,
                "per_issue_writes": self.per_issue.limit, "per_issue_window_s": self.per_issue.window_s}

    def apply(self, changes: Mapping) -> dict:
        """Change any of burst, burst_window_s, per_hour, per_issue_writes, per_issue_window_s.

        A limit of 0 or null turns it off. `burst_window_s` (a simulator extra, default 1 s) lets a
        test make the burst window long enough to be hit deterministically. Raises ValueError for
        unknown keys or negative numbers. Counters start afresh.
        """
        known = {"burst", "burst_window_s", "per_hour", "per_issue_writes", "per_issue_window_s"}
        windows = ("per_issue_window_s", "burst_window_s")
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown limits: {sorted(unknown)}")
        numbers = {}
        for key, value in changes.items():
            if value is None:
                numbers[key] = 0
                continue
            try:
                number = float(value) if key in windows else int(value)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{key} must be a number") from exc
            if number < 0 or (key in windows and number == 0):
                raise ValueError(f"{key} must be positive")
            numbers[key] = number
        if "burst" in numbers or "burst_window_s" in numbers:
            self.burst.configure(limit=numbers.get("burst"), window_s=numbers.get("burst_window_s"))
        if "per_hour" in numbers:
            self.hourly.set_limit(numbers["per_hour"] or None)
        if "per_issue_writes" in numbers or "per_issue_window_s" in numbers:
            self.per_issue.configure(limit=numbers.get("per_issue_writes"),
                                     window_s=numbers.get("per_issue_window_s"))
        return self.settings()

    def reset(self) -> None:
        self.burst.reset()
        self.hourly.reset()
        self.per_issue.reset()

    def check_request(self, user: str) -> tuple[RateDecision, str] | None:
        """The refusal for one more request of `user`, or None when it may proceed."""
        decision = self.burst.hit(user)
        if not decision.allowed:
            return decision, BURST
        decision = self.hourly.hit(user)
        if not decision.allowed:
            return decision, QUOTA
        return None

    def check_issue_write(self, issue_id: str) -> tuple[RateDecision, str] | None:
        decision = self.per_issue.hit(issue_id)
        return None if decision.allowed else (decision, PER_ISSUE)


def too_many_requests(decision: RateDecision, reason: str, deployment: str,
                      window_s: float) -> Response:
    """Jira's 429 with the headers a client needs to back off."""
    response = jsonify({"errorMessages": ["Rate limit exceeded."], "errors": {}})
    response.status_code = 429
    response.headers["Retry-After"] = str(decision.retry_after_s)
    response.headers["X-RateLimit-Limit"] = str(decision.limit)
    response.headers["X-RateLimit-Remaining"] = str(decision.remaining)
    response.headers["RateLimit-Reason"] = reason
    if deployment == CLOUD:
        # Jira writes the reset to the minute; rounding up keeps it never earlier than the truth.
        reset = datetime.fromtimestamp(decision.reset_at + 59, timezone.utc)
        response.headers["X-RateLimit-Reset"] = reset.strftime("%Y-%m-%dT%H:%MZ")
    else:
        response.headers["X-RateLimit-Interval-Seconds"] = str(int(window_s) or 1)
        response.headers["X-RateLimit-FillRate"] = str(decision.limit)
    return response
