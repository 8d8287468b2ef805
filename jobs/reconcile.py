"""Reconciliation: find tickets whose webhooks never arrived, and feed them into the pipeline.

Each run asks every connection for tickets updated since its watermark (minus an overlap, since
clocks and indexing lag), stores one synthetic event per ticket version in the inbox, and moves
the watermark. Dedupe on (connection, "poll:<ticket>:<version>") and the outbox keys make the
overlap with webhooks harmless.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from connectors.base import TicketSearch
from connectors.errors import ConnectorError
from domain.events import Lifecycle, TicketEvent
from storage.clock import as_utc, utcnow
from storage.db import transaction
from storage.models import Watermark

log = logging.getLogger("xla.reconcile")


def reconcile_connection(runtime, connection_id: str, *, first_look_back: timedelta = timedelta(hours=1)) -> int:
    """Poll one connection once; returns how many new events were stored. Connector errors are logged."""
    from webhooks.inbox import store_event

    settings = runtime.settings
    started = utcnow()
    with runtime.sessions() as session:
        mark = session.get(Watermark, connection_id)
        since = as_utc(mark.polled_until) if mark else started - first_look_back
    since -= timedelta(seconds=settings.scheduler.reconcile_overlap_s)
    stored = 0
    try:
        for raw in runtime.connector(connection_id).search_tickets(TicketSearch(updated_since=since, limit=100)):
            # ServiceNow says who made the last update: our own writes are then dropped by the loop guard
            # before any read. Jira search results do not, and such events end as "unchanged".
            actor = raw.fields.get("sys_updated_by") if isinstance(raw.fields.get("sys_updated_by"), str) else None
            event = TicketEvent(connection_id=connection_id, delivery_id=f"poll:{raw.ticket_key}:{raw.version}",
                                ticket_key=raw.ticket_key, lifecycle=(Lifecycle.UPDATED,), number=raw.number,
                                version=raw.version, actor=actor, raw_event_name="reconciliation")
            with transaction(runtime.sessions) as session:
                stored += bool(store_event(session, event))
    except ConnectorError as exc:
        log.warning("reconcile.failed", extra={"connection": connection_id, "error": type(exc).__name__,
                                               "detail": str(exc)})
        return stored
    with transaction(runtime.sessions) as session:
        mark = session.get(Watermark, connection_id)
        if mark is None:
            session.add(Watermark(connection_id=connection_id, polled_until=started))
        else:
            mark.polled_until = started
    log.info("reconcile.done", extra={"connection": connection_id, "stored": stored})
    return stored
