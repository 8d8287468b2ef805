"""Recording what a person answers: once, atomically, with the rescore job in the same transaction.

Single use is one conditional UPDATE (`state IN ('pending','sent') AND expires_at > now`): of two
submits racing, in one process or many, on SQLite or PostgreSQL, exactly one changes the row and
goes on to insert the response; the other sees no row changed and is told the survey is answered.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jobs.queue import NewJob, enqueue
from storage.models import Survey, SurveyPerson, SurveyResponse
from surveys.sentiment import Sentiment

OPEN_STATES = ("pending", "sent")


@dataclass(frozen=True)
class Answer:
    """A validated answer from the page."""

    rating: int                    # 0-10
    reasons: tuple[str, ...] = ()  # keys of the rating's band
    lost_minutes: int | None = None
    comment: str | None = None


def record_answer(session: Session, survey_id: int, answer: Answer, sentiment: Sentiment | None, *,
                  now: datetime) -> str:
    """Store `answer` if the survey is still open. Returns "recorded", "already_answered" or "closed".

    On "recorded" the same transaction holds the response, the person's last rating and sentiment,
    and the `rescore` job. Nothing is written otherwise.
    """
    survey = session.execute(select(Survey.connection_id, Survey.ticket_key, Survey.person_key)
                             .where(Survey.id == survey_id)).first()
    if survey is None:
        return "closed"
    claimed = session.execute(
        update(Survey).where(Survey.id == survey_id, Survey.state.in_(OPEN_STATES), Survey.expires_at > now)
        .values(state="answered", answered_at=now, recipient=None, next_reminder_at=None)).rowcount
    if claimed != 1:
        state = session.execute(select(Survey.state).where(Survey.id == survey_id)).scalar_one()
        return "already_answered" if state == "answered" else "closed"
    session.add(SurveyResponse(
        survey_id=survey_id, rating=answer.rating, reasons=list(answer.reasons), lost_minutes=answer.lost_minutes,
        comment=answer.comment, sentiment_score=sentiment.score if sentiment else None,
        sentiment_label=sentiment.label if sentiment else None, created_at=now))
    _upsert_person(session, survey.person_key, last_rating=answer.rating,
                   last_sentiment=sentiment.score if sentiment else None)
    enqueue(session, NewJob(kind="rescore", dedupe_key=f"rescore:survey:{survey_id}", payload={"survey_id": survey_id},
                            connection_id=survey.connection_id, ticket_key=survey.ticket_key))
    return "recorded"


def record_opt_out(session: Session, survey_id: int, *, now: datetime) -> None:
    """Never survey this survey's person again, and stop reminders of their open surveys.

    Idempotent: opting out twice keeps the first date.
    """
    person_key = session.execute(select(Survey.person_key).where(Survey.id == survey_id)).scalar_one()
    _upsert_person(session, person_key)
    session.execute(update(SurveyPerson).where(SurveyPerson.person_key == person_key,
                                               SurveyPerson.opted_out_at.is_(None)).values(opted_out_at=now))
    session.execute(update(Survey).where(Survey.person_key == person_key, Survey.state.in_(OPEN_STATES))
                    .values(next_reminder_at=None))


def _upsert_person(session: Session, person_key: str, **values) -> None:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(SurveyPerson).values(person_key=person_key, **values)
    statement = statement.on_conflict_do_update(index_elements=["person_key"], set_=values) if values else \
        statement.on_conflict_do_nothing(index_elements=["person_key"])
    session.execute(statement)
