"""The loop guard: the service's own writes make the ITSM fire more webhooks.

Three filters and a backstop: drop events whose actor is the integration user; drop events whose
changes touch only fields the service owns; skip writes whose value the ticket already holds
(done by the mapper's diff and the connectors); and cap writes per ticket per hour, counted and
logged when hit.

The first filter runs twice: at the webhook endpoint, when who the integration user is is known
without asking the ITSM (webhooks/endpoint.py), so such an event costs no inbox row and no job;
and here in the worker for every event stored, which catches the rest.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from connectors.base import Identity
from domain.events import TicketEvent
from ops.metrics import LOOP_GUARD

log = logging.getLogger("xla.loop_guard")

# Fields every update touches; they never make an event "ours" or "theirs".
HOUSEKEEPING = {"sys_updated_on", "sys_updated_by", "sys_mod_count", "updated", "sys_tags", "lastViewed"}


def is_own_event(event: TicketEvent, identity: Identity | None, configured_user: str | None) -> bool:
    """True when the event's actor is the integration user under any of its spellings."""
    return bool(event.actor) and names_integration_user((event.actor,), integration_names(identity, configured_user))


def integration_names(identity: Identity | None, configured_user: str | None) -> frozenset[str]:
    """Every spelling of the integration user known from `identity` and the configured login,
    normalised for comparison (stripped, lower case); empty when neither is known."""
    names = {configured_user} if configured_user else set()
    if identity is not None:
        names |= {identity.key, identity.name, *identity.aliases}
    return frozenset(str(name).strip().lower() for name in names if name)


def names_integration_user(spellings, names: frozenset[str]) -> bool:
    """True when any of `spellings` (ways a payload names its actor) is one of `names`."""
    return any(spelling and spelling.strip().lower() in names for spelling in spellings)


def touches_only_owned_fields(event: TicketEvent, owned_fields: set[str]) -> bool:
    """True when the event names its changed fields and all of them are the service's own."""
    changed = {field for field in event.changed_fields if field not in HOUSEKEEPING}
    return bool(changed) and changed <= owned_fields


def within_write_budget(hour_start: datetime | None, writes_in_hour: int, now: datetime, cap: int
                        ) -> tuple[bool, datetime, int]:
    """Whether one more write to a ticket fits the hourly cap; returns (allowed, hour_start, count)."""
    if hour_start is None or now - hour_start >= timedelta(hours=1):
        hour_start, writes_in_hour = now, 0
    if writes_in_hour >= cap:
        return False, hour_start, writes_in_hour
    return True, hour_start, writes_in_hour + 1


def count_drop(connection_id: str, reason: str, **context) -> None:
    """Count a drop in `xla_loop_guard_total` and log it as `loop_guard.<reason>` (info)."""
    LOOP_GUARD.labels(connection_id, reason).inc()
    if log.isEnabledFor(logging.INFO):
        log.info(f"loop_guard.{reason}", extra={"connection": connection_id, **context})
