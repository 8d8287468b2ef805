"""Every table of the service. Schema changes go through a new Alembic revision in storage/migrations.

Tables and why they exist:
- inbox_events: every verified webhook delivery, committed before the 202 leaves; unique on
  (connection_id, delivery_id) so a redelivery is recognised.
- quarantine: payloads that could not be recognised (400), kept size-capped for inspection/replay.
- jobs: the one durable work queue. Kinds: process_event, write_back, send_survey, ... .
  `dedupe_key` is unique: outbox writes use "(connection, ticket, action, version)" so a decision
  taken twice makes one write. Leases fence workers by `attempts`.
- tickets: what the service knows of each ticket (last version seen, snapshot, last score, and
  the values it last wrote, for the loop guard and "already holds this value").
- ticket_scores: every score computed, with the model version (for rollups and history).
- surveys / survey_responses / survey_people: the survey loop, throttle and opt-outs.
- watermarks: reconciliation progress per connection.
- rate_buckets: fixed-window counters shared by all processes (survey page rate limit).
- connection_pauses: until when an ITSM asked (429 with Retry-After) that no process call it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, SmallInteger, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.clock import utcnow


class Base(DeclarativeBase):
    pass


class InboxEvent(Base):
    __tablename__ = "inbox_events"
    __table_args__ = (UniqueConstraint("connection_id", "delivery_id", name="uq_inbox_delivery"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    connection_id: Mapped[str] = mapped_column(String(64))
    delivery_id: Mapped[str] = mapped_column(String(200))
    ticket_key: Mapped[str] = mapped_column(String(200))
    event: Mapped[dict] = mapped_column(JSON)          # TicketEvent.to_json()
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)


class QuarantinedPayload(Base):
    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    connection_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reason: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict] = mapped_column(JSON)
    body: Mapped[str] = mapped_column(Text)             # decoded text, truncated to the configured cap
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("dedupe_key", name="uq_jobs_dedupe"),
        Index("ix_jobs_claim", "state", "priority", "next_run_at"),
        Index("ix_jobs_ticket", "connection_id", "ticket_key", "state"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    dedupe_key: Mapped[str] = mapped_column(String(400))
    connection_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ticket_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # 0 runs before 1 when both are due: effects a person is waiting to see (writes, surveys)
    # go ahead of new events under backlog. Order within one ticket is kept regardless.
    priority: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    payload: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued, leased, done, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    next_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    leased_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(40), nullable=True)  # done: written/unchanged/ignored/...
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class TicketState(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_caller", "caller_key", "opened_at"),
        Index("ix_tickets_ci", "ci", "stage"),
    )

    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    number: Mapped[str | None] = mapped_column(String(80), nullable=True)
    kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    stage: Mapped[str | None] = mapped_column(String(20), nullable=True)
    caller_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    service: Mapped[str | None] = mapped_column(String(200), nullable=True)
    assignment_group: Mapped[str | None] = mapped_column(String(200), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(80), nullable=True)
    ci: Mapped[str | None] = mapped_column(String(200), nullable=True)
    category: Mapped[str | None] = mapped_column(String(200), nullable=True)
    priority: Mapped[int | None] = mapped_column(Integer, nullable=True)
    major_incident: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    caller_sentiment: Mapped[float | None] = mapped_column(Float, nullable=True)
    writes_hour_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    writes_in_hour: Mapped[int] = mapped_column(Integer, default=0)
    last_version: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)   # canonical ticket as last seen
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    band: Mapped[str | None] = mapped_column(String(16), nullable=True)
    model_version: Mapped[str | None] = mapped_column(String(32), nullable=True)
    written: Mapped[dict] = mapped_column(JSON, default=dict)     # tool field -> value last written
    notes_written: Mapped[dict] = mapped_column(JSON, default=dict)  # stage -> marker of the note
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class TicketScore(Base):
    __tablename__ = "ticket_scores"
    __table_args__ = (Index("ix_scores_ticket", "connection_id", "ticket_key"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    connection_id: Mapped[str] = mapped_column(String(64))
    ticket_key: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(20))
    score: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    model_version: Mapped[str] = mapped_column(String(32))
    from_survey: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Survey(Base):
    __tablename__ = "surveys"
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_survey_token"),
        Index("ix_surveys_ticket", "connection_id", "ticket_key"),
        Index("ix_surveys_state", "state", "expires_at"),
        Index("ix_surveys_person", "person_key", "state"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(128))
    connection_id: Mapped[str] = mapped_column(String(64))
    ticket_key: Mapped[str] = mapped_column(String(200))
    ticket_number: Mapped[str | None] = mapped_column(String(80), nullable=True)
    person_key: Mapped[str] = mapped_column(String(128))      # hash of the person's stable identity
    channel: Mapped[str] = mapped_column(String(20))          # comment, email, chat
    language: Mapped[str] = mapped_column(String(8), default="en")
    reason: Mapped[str | None] = mapped_column(String(40), nullable=True)  # resolved, reopened_override, ...
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending, sent, answered, expired, cancelled
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    next_reminder_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolution_version: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The link token is derived from the service secret and this salt; only its hash is stored.
    token_salt: Mapped[str | None] = mapped_column(String(64), nullable=True)
    token_bytes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    recipient: Mapped[str | None] = mapped_column(String(320), nullable=True)  # e-mail while open, then cleared
    resolution_cycle: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # reopen count at creation


class SurveyResponse(Base):
    __tablename__ = "survey_responses"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"), unique=True)
    rating: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    lost_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    sentiment_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    sentiment_label: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SurveyPerson(Base):
    """One row per person (hashed identity) across all connections: throttle and opt-out."""

    __tablename__ = "survey_people"

    person_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    last_surveyed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    opted_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_sentiment: Mapped[float | None] = mapped_column(Float, nullable=True)


class Watermark(Base):
    __tablename__ = "watermarks"

    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    polled_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RateBucket(Base):
    __tablename__ = "rate_buckets"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)


class ConnectionPause(Base):
    __tablename__ = "connection_pauses"

    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    paused_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
