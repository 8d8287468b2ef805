"""The `write_back` job: apply one planned write to a ticket through its connector.

The connector writes absolute field values and appends a note only when its marker is not on the
ticket yet, so a retry after an ambiguous failure repeats nothing visible.
"""
from __future__ import annotations

import logging
from datetime import datetime

from connectors.base import TicketWrite
from jobs.registry import JobOutcome
from ops.metrics import EVENT_TO_WRITE_SECONDS
from storage.clock import as_utc, utcnow
from storage.models import TicketState

log = logging.getLogger("xla.write_back")


def write_back_job(runtime, job) -> JobOutcome:
    payload = job.payload
    change = TicketWrite(fields=payload.get("fields") or {}, internal_note=payload.get("internal_note"),
                         public_comment=payload.get("public_comment"), marker=payload.get("marker"),
                         first_attempt=job.attempt == 1)
    wrote = runtime.connector(job.connection_id).write(job.ticket_key, change)
    started = payload.get("event_created_at")
    if wrote and started:
        EVENT_TO_WRITE_SECONDS.observe((utcnow() - as_utc(datetime.fromisoformat(started))).total_seconds())
    log.info("write_back.written" if wrote else "write_back.unchanged",
             extra={"connection": job.connection_id, "ticket": job.ticket_key, "number": payload.get("number"),
                    "fields": sorted(change.fields)})

    def apply(session):
        row = session.get(TicketState, (job.connection_id, job.ticket_key))
        if row is None:
            return
        row.written = {**(row.written or {}), **change.fields}
        if payload.get("note_stage") and change.marker:
            row.notes_written = {**(row.notes_written or {}), payload["note_stage"]: change.marker}

    return JobOutcome("written" if wrote else "unchanged", apply)
