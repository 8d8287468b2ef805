"""Everything a running Jira simulator holds: options, the instance, the scenario, limits, webhooks.

`JiraSimulatorState` plugs the Jira parts into `simulators.common.SimulatorState` (faults,
journal, webhook dispatcher, admin API): it rebuilds the seeded instance on reset, plays one
world step per `POST /_sim/scenario/advance`, and turns every `IssueEvent` into a queued webhook
delivery, whether the change came from the REST API or from the scenario.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from flask import has_request_context, request

from simulators.common import SimulatorState
from simulators.jira.auth import Authenticator
from simulators.jira.directory import CLOUD, DATACENTER
from simulators.jira.instance import IssueEvent, JiraError, JiraInstance
from simulators.jira.lifecycle import LifecyclePlayer, build_instance
from simulators.jira.limits import (DEFAULT_BURST_PER_SECOND, DEFAULT_PER_ISSUE_WINDOW_S,
                                    DEFAULT_PER_ISSUE_WRITES, JiraRateLimits)
from simulators.jira.representation import Renderer
from simulators.jira.webhooks import DeliveryHeaders, build_payload
from simulators.world import World, build_world


@dataclass
class JiraOptions:
    """How one simulator runs. Secrets (passwords, tokens, webhook secret) are values read from
    the environment by the caller, never command-line text."""

    deployment: str = CLOUD
    seed: int = 42
    tickets: int = 20
    in_progress: int = 20
    closed: int = 15
    webhook_url: str | None = None
    webhook_secret: str | None = None
    users: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    read_only_users: tuple[str, ...] = ()
    retry_delays_s: tuple[float, ...] = (0.25, 1.0, 3.0)
    webhook_senders: int = 1  # deliveries in flight at once; 1 keeps them in order
    burst: int | None = DEFAULT_BURST_PER_SECOND
    per_hour: int | None = None
    per_issue_writes: int | None = DEFAULT_PER_ISSUE_WRITES
    per_issue_window_s: float = DEFAULT_PER_ISSUE_WINDOW_S
    # Jira Cloud has retired GET/POST /rest/api/2/search for /search/jql; True answers 410 there.
    classic_search_retired: bool = False

    def __post_init__(self) -> None:
        if self.deployment not in (CLOUD, DATACENTER):
            raise ValueError(f"deployment must be {CLOUD} or {DATACENTER}")


def _anchor_now() -> datetime:
    moment = datetime.now(timezone.utc)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class JiraSimulatorState(SimulatorState):
    tool = "jira"

    def __init__(self, options: JiraOptions) -> None:
        self.headers = DeliveryHeaders()
        super().__init__(self.headers, webhook_url=options.webhook_url,
                         webhook_secret=options.webhook_secret, retry_delays_s=options.retry_delays_s,
                         webhook_senders=options.webhook_senders)
        self.options = options
        self.deployment = options.deployment
        self.authenticator = Authenticator(options.deployment, dict(options.users), dict(options.tokens))
        self.rate_limits = JiraRateLimits(burst=options.burst, per_hour=options.per_hour,
                                          per_issue_writes=options.per_issue_writes,
                                          per_issue_window_s=options.per_issue_window_s)
        self.world: World = build_world(options.seed, closed=options.closed,
                                        in_progress=options.in_progress, planned=options.tickets)
        self._swap_lock = threading.Lock()
        self._scenario_lock = threading.Lock()
        self.instance: JiraInstance
        self.player: LifecyclePlayer
        self._cursor = 0
        self.reset_world()

    # seeded world ------------------------------------------------------------------------------
    def reset_world(self) -> None:
        """A fresh instance from the world, anchored now; the scenario starts over."""
        api_users = self.authenticator.api_users()
        instance, player = build_instance(self.world, self.deployment, _anchor_now(), api_users)
        with self._swap_lock:
            self.instance, self.player = instance, player
            self._cursor = 0
        self.rate_limits.reset()
        self.headers.clear()

    def is_read_only(self, user) -> bool:
        """True when the options list this user (by login, user name or email) as read-only."""
        names = {user.name.lower(), (user.email or "").lower(), user.handle.removeprefix("api:").lower()}
        return any(entry.lower() in names for entry in self.options.read_only_users)

    # webhooks ----------------------------------------------------------------------------------
    def publish(self, events: list[IssueEvent], base_url: str) -> list[str]:
        """Queue one delivery per event; returns the delivery identifiers, in order."""
        renderer = Renderer(self.instance, base_url)
        identifiers = []
        for event in events:
            payload = build_payload(event, renderer)
            identifier = self.headers.new_identifier(event.flow)
            self.dispatcher.enqueue(identifier, payload, ticket=event.issue.id)
            identifiers.append(identifier)
        return identifiers

    # scenario ----------------------------------------------------------------------------------
    def advance_scenario(self, base_url: str | None = None) -> dict:
        """Play the next pending world step as its agent, at the current time.

        Returns what happened: `{"ticket", "issue_id", "issue_key", "action", "actor",
        "events": [...]}`, `{"skipped": ...}` when the issue had moved on in a way the plan
        cannot follow, or `{"done": True}` when every planned step has been played.
        """
        with self._scenario_lock:
            pending = self.world.pending_steps()
            if self._cursor >= len(pending):
                return {"done": True, "remaining": 0}
            plan, index = pending[self._cursor]
            self._cursor += 1
            step = plan.steps[index]
            remaining = len(pending) - self._cursor
            actor = self.instance.directory.get(step.actor or plan.opened_by)
            outcome = {"ticket": plan.id, "step": index, "action": step.action,
                       "actor": actor.name if actor else None, "remaining": remaining}
            try:
                events = self.player.play(plan, step)
            except JiraError as exc:
                return {**outcome, "skipped": "; ".join(exc.messages) or str(exc.errors)}
            issue_id = self.player.issue_of_plan.get(plan.id)
            issue = self.instance.store.find(issue_id) if issue_id else None
            if base_url is None:
                base_url = request.host_url if has_request_context() else "http://127.0.0.1"
            self.publish(events, base_url)
            return {**outcome, "issue_id": issue_id, "issue_key": issue.key if issue else None,
                    "events": [{"webhookEvent": e.webhook_event,
                                "issue_event_type_name": e.event_type_name} for e in events]}

    # common hooks ------------------------------------------------------------------------------
    def error_body(self, status: int, message: str) -> dict:
        return {"errorMessages": [message], "errors": {}}

    def limits(self) -> dict:
        return self.rate_limits.settings()

    def apply_limits(self, changes: Mapping) -> dict:
        return self.rate_limits.apply(changes)

    def health(self) -> dict:
        return {**super().health(), "deployment": self.deployment,
                "issues": len(self.instance.store.all())}
