"""Reading surveys back: by link token for the page, and as results for scoring and enrichment.

`latest_result` is what the rescore job and the write-back read (the newest answer of a ticket);
`caller_history` is what enrichment reads about the person behind a ticket.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.clock import as_utc
from storage.models import Survey, SurveyPerson, SurveyResponse
from surveys.reasons import band_of
from surveys.tokens import hash_token, looks_like_token

COMMENT_EXCERPT_CHARS = 500   # the ServiceNow column u_xla_survey_comment holds 500


@dataclass(frozen=True)
class SurveyAnswer:
    """The newest answered survey of a ticket, as scoring needs it."""

    survey_id: int
    connection_id: str
    ticket_key: str
    rating: int                      # 0-10
    band: str                        # positive (9-10), neutral (7-8), negative (0-6)
    reasons: tuple[str, ...]         # stable keys, see surveys.reasons.REASONS
    lost_minutes: int | None
    sentiment_score: float | None    # -1..1, None without a comment or an analyser for its language
    sentiment_label: str | None
    comment_excerpt: str | None
    language: str
    answered_at: datetime

    @property
    def lost_hours(self) -> float | None:
        return None if self.lost_minutes is None else round(self.lost_minutes / 60, 2)


@dataclass(frozen=True)
class CallerHistory:
    """What the surveys know of one person across every connection."""

    last_rating: int | None
    last_sentiment: float | None
    last_surveyed_at: datetime | None
    opted_out: bool


def find_survey_by_token(session: Session, token: str) -> Survey | None:
    """The survey whose link carries `token`, whatever its state; None for anything unknown.

    Malformed tokens are refused without a query; well-formed ones cost one indexed lookup of
    the token's hash (the raw token is never stored, so this is the only way in).
    """
    if not looks_like_token(token):
        return None
    return session.execute(select(Survey).where(Survey.token_hash == hash_token(token))).scalar_one_or_none()


def surveys_by_token_hash(session: Session, token_hashes: Iterable[str], chunk: int = 900) -> dict[str, int]:
    """Survey ids of those `token_hashes` that exist, in few queries (audits of many tokens at once)."""
    wanted = list(dict.fromkeys(token_hashes))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), chunk):
        rows = session.execute(select(Survey.token_hash, Survey.id)
                               .where(Survey.token_hash.in_(wanted[start:start + chunk]))).all()
        found.update({token_hash: survey_id for token_hash, survey_id in rows})
    return found


def latest_result(session: Session, connection_id: str, ticket_key: str) -> SurveyAnswer | None:
    """The newest answered survey of the ticket, or None when it has none."""
    row = session.execute(
        select(Survey, SurveyResponse).join(SurveyResponse, SurveyResponse.survey_id == Survey.id)
        .where(Survey.connection_id == connection_id, Survey.ticket_key == ticket_key, Survey.state == "answered")
        .order_by(Survey.answered_at.desc(), Survey.id.desc()).limit(1)).first()
    if row is None:
        return None
    survey, response = row
    return SurveyAnswer(
        survey_id=survey.id, connection_id=survey.connection_id, ticket_key=survey.ticket_key,
        rating=response.rating, band=band_of(response.rating), reasons=tuple(response.reasons or ()),
        lost_minutes=response.lost_minutes, sentiment_score=response.sentiment_score,
        sentiment_label=response.sentiment_label, comment_excerpt=comment_excerpt(response.comment),
        language=survey.language, answered_at=as_utc(survey.answered_at or response.created_at))


def caller_history(session: Session, person_key: str | None) -> CallerHistory | None:
    """The person's last rating and sentiment (see surveys.identity.person_key_for), or None if unknown."""
    if not person_key:
        return None
    person = session.get(SurveyPerson, person_key)
    if person is None:
        return None
    return CallerHistory(last_rating=person.last_rating, last_sentiment=person.last_sentiment,
                         last_surveyed_at=as_utc(person.last_surveyed_at), opted_out=person.opted_out_at is not None)


def comment_excerpt(comment: str | None, limit: int = COMMENT_EXCERPT_CHARS) -> str | None:
    """The comment on one line, cut at a word boundary to at most `limit` characters."""
    if not comment or not comment.strip():
        return None
    flat = " ".join(comment.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut[limit // 2:]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip() + "…"
