"""The scheduler's periodic survey work: queue due reminders, expire old surveys, drop old rate windows.

Safe to run from several processes at once and as often as wanted: reminders are queued with
a dedupe key per survey and reminder number, and expiry is one conditional UPDATE.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update

from jobs.queue import NewJob, enqueue
from ops.metrics import SURVEYS
from storage.clock import utcnow
from storage.db import transaction
from storage.models import Survey
from surveys.config import survey_settings
from surveys.ratelimit import remove_old_windows

log = logging.getLogger("xla.surveys")


def run_survey_housekeeping(runtime, now: datetime | None = None) -> dict:
    """One pass; returns counts `{"expired", "reminders_enqueued", "rate_windows_removed"}`.

    Call every `settings.scheduler.surveys_interval_s`. Expired surveys lose their e-mail address.
    """
    now = now or utcnow()
    service = survey_settings(runtime.settings)
    with transaction(runtime.sessions) as session:
        expired = session.execute(
            update(Survey).where(Survey.state.in_(("pending", "sent")), Survey.expires_at <= now)
            .values(state="expired", recipient=None, next_reminder_at=None)).rowcount
        due = session.execute(
            select(Survey.id, Survey.connection_id, Survey.ticket_key, Survey.reminders_sent)
            .where(Survey.state == "sent", Survey.next_reminder_at.is_not(None), Survey.next_reminder_at <= now,
                   Survey.reminders_sent < service.reminders.count, Survey.expires_at > now)
            .order_by(Survey.next_reminder_at).limit(1000)).all()
        queued = 0
        for survey_id, connection_id, ticket_key, sent in due:
            number = sent + 1
            queued += enqueue(session, NewJob(
                kind="survey_reminder", dedupe_key=f"survey:reminder:{survey_id}:{number}",
                payload={"survey_id": survey_id, "reminder": number},
                connection_id=connection_id, ticket_key=ticket_key))
        # Keep the current and the previous window of the page limit; anything older is history.
        removed = remove_old_windows(session, now.timestamp() - 2 * service.page_rate_limit.window_s)
    if expired:
        log.info("survey.expired", extra={"surveys": expired})
        SURVEYS.labels("all", "expired").inc(expired)
    return {"expired": expired, "reminders_enqueued": queued, "rate_windows_removed": removed}
