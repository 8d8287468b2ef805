"""Payloads that passed the signature check but could not be recognised, kept for inspection and replay.

Only verified payloads are kept (an unsigned stranger cannot fill the table), each body cut to
`webhooks.quarantine_max_body_bytes` and the table capped at `webhooks.quarantine_max_rows` by
deleting the oldest. `replay_quarantined` runs the kept payloads through today's parsers, which
is how events that arrived before a parser learned their shape are recovered.
"""
from __future__ import annotations

import json
import logging

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import Headers

from domain.events import TicketEvent
from storage.clock import utcnow
from storage.db import transaction
from storage.models import QuarantinedPayload
from webhooks.inbox import store_event
from webhooks.outcomes import Unrecognised
from webhooks.tools import TOOLS

log = logging.getLogger("xla.webhooks.quarantine")


def quarantine_payload(session: Session, *, connection_id: str, reason: str, headers: dict[str, str],
                       body: bytes, max_body_bytes: int, max_rows: int) -> int | None:
    """Keep one payload (in the caller's transaction); returns its id, or None when the cap is 0.

    The body is cut to `max_body_bytes` (flagged `truncated`); afterwards only the newest
    `max_rows` rows remain.
    """
    if max_rows <= 0:
        return None
    truncated = len(body) > max_body_bytes
    # Cutting may split a multi-byte character; drop the broken tail rather than store garbage.
    text = body[:max_body_bytes].decode("utf-8", "ignore").replace("\x00", "")
    row = QuarantinedPayload(connection_id=connection_id, reason=reason[:500], headers=headers, body=text,
                             truncated=truncated, received_at=utcnow())
    session.add(row)
    session.flush()
    oldest_kept = session.execute(select(QuarantinedPayload.id).order_by(QuarantinedPayload.id.desc())
                                  .offset(max_rows - 1).limit(1)).scalar_one_or_none()
    if oldest_kept is not None:
        session.execute(delete(QuarantinedPayload).where(QuarantinedPayload.id < oldest_kept))
    return row.id


def replay_quarantined(runtime, ids=None) -> tuple[int, int]:
    """Parse quarantined payloads again and store those that now parse. Returns (stored, still_bad).

    `ids` limits the run to those rows (replayed again even if replayed before); without it every
    row not yet replayed is tried. `stored` counts payloads now in the inbox (a payload already
    there counts too: it is not lost); `still_bad` those still unrecognised, cut short, or whose
    connection is gone from the configuration. Payloads that now parse as ignored or unsupported
    are marked replayed and counted in neither. Each row is its own transaction.
    """
    query = select(QuarantinedPayload.id).order_by(QuarantinedPayload.id)
    if ids is not None:
        query = query.where(QuarantinedPayload.id.in_(list(ids)))
    else:
        query = query.where(QuarantinedPayload.replayed_at.is_(None))
    with runtime.sessions() as session:
        row_ids = list(session.execute(query).scalars())

    stored = still_bad = 0
    for row_id in row_ids:
        with transaction(runtime.sessions) as session:
            row = session.get(QuarantinedPayload, row_id)
            if row is None:
                continue  # evicted by the cap meanwhile
            outcome = _parse_again(runtime, row)
            if isinstance(outcome, TicketEvent):
                store_event(session, outcome)
                stored += 1
            elif outcome is None:
                still_bad += 1
                continue
            row.replayed_at = utcnow()
        log.info("webhook.quarantine_replayed", extra={"quarantine_id": row_id, "connection": row.connection_id,
                                                       "outcome": type(outcome).__name__})
    return stored, still_bad


def _parse_again(runtime, row: QuarantinedPayload):
    """The parser's outcome for a kept row; None when it is still unusable."""
    connection = runtime.settings.connection(row.connection_id)
    if connection is None or connection.tool not in TOOLS or row.truncated:
        return None
    try:
        payload = json.loads(row.body)
    except ValueError:
        return None
    outcome = TOOLS[connection.tool].parse(row.connection_id, Headers(list((row.headers or {}).items())), payload)
    if isinstance(outcome, Unrecognised):
        row.reason = outcome.reason
        return None
    return outcome
