"""The survey jobs the worker runs: send a survey, send a reminder.

Each handler does its network work first and returns the database change as `apply`, which the
worker commits together with marking the job done (fenced by the attempt number). A survey that
was cancelled, answered or expired in the meantime is left alone (outcome "ignored").
"""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from jobs.queue import ClaimedJob
from jobs.registry import JobOutcome
from ops.metrics import SURVEYS
from storage.clock import utcnow
from storage.models import Survey, SurveyPerson
from surveys.config import survey_settings
from surveys.delivery import build_delivery, deliver, is_expired

log = logging.getLogger("xla.surveys")


def send_survey_job(runtime, job: ClaimedJob) -> JobOutcome:
    """Deliver a pending survey on its channel and mark it sent, with its first reminder due.

    Raises connector errors and surveys.channels.DeliveryFailed for the worker to retry or bury.
    """
    now = utcnow()
    with runtime.sessions() as session:
        survey = session.get(Survey, int(job.payload["survey_id"]))
        if survey is None or survey.state != "pending" or is_expired(survey, now):
            return JobOutcome("ignored")
        delivery = build_delivery(runtime.settings, survey)
    outcome = deliver(runtime, survey, delivery)
    policy = survey_settings(runtime.settings).reminders
    next_reminder = now + timedelta(days=policy.after_days) if policy.count > 0 else None

    def mark_sent(session: Session) -> None:
        session.execute(update(Survey).where(Survey.id == survey.id, Survey.state == "pending")
                        .values(state="sent", sent_at=now, next_reminder_at=next_reminder))

    SURVEYS.labels(survey.connection_id, "sent").inc()
    log.info("survey.sent", extra={"survey": survey.id, "connection": survey.connection_id,
                                   "ticket": survey.ticket_key, "channel": survey.channel, "outcome": outcome})
    return JobOutcome(outcome, mark_sent)


def survey_reminder_job(runtime, job: ClaimedJob) -> JobOutcome:
    """Send reminder number `payload["reminder"]` of a sent, unanswered survey, at most once.

    Raises connector errors and surveys.channels.DeliveryFailed for the worker to retry or bury.
    """
    now = utcnow()
    number = int(job.payload["reminder"])
    with runtime.sessions() as session:
        survey = session.get(Survey, int(job.payload["survey_id"]))
        if survey is None or survey.state != "sent" or survey.reminders_sent >= number or is_expired(survey, now):
            return JobOutcome("ignored")
        person = session.get(SurveyPerson, survey.person_key)
        if person is not None and person.opted_out_at is not None:
            return JobOutcome("ignored")
        delivery = build_delivery(runtime.settings, survey, reminder=number)
    outcome = deliver(runtime, survey, delivery)
    policy = survey_settings(runtime.settings).reminders
    next_reminder = now + timedelta(days=policy.after_days) if number < policy.count else None

    def mark_reminded(session: Session) -> None:
        session.execute(update(Survey).where(Survey.id == survey.id, Survey.state == "sent",
                                             Survey.reminders_sent == number - 1)
                        .values(reminders_sent=number, next_reminder_at=next_reminder))

    SURVEYS.labels(survey.connection_id, "reminded").inc()
    log.info("survey.reminded", extra={"survey": survey.id, "connection": survey.connection_id,
                                       "ticket": survey.ticket_key, "reminder": number, "outcome": outcome})
    return JobOutcome(outcome, mark_reminded)


SURVEY_HANDLERS = {
    "send_survey": send_survey_job,
    "survey_reminder": survey_reminder_job,
}
