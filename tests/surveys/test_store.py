"""What scoring and enrichment read back: the newest answer of a ticket, and a caller's history."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from storage.db import transaction
from surveys.identity import normalise_email, person_key, person_key_for
from surveys.responses import Answer, record_answer
from surveys.sentiment import Sentiment
from surveys.store import caller_history, comment_excerpt, latest_result

from tests.surveys.helpers import make_ticket, plan

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def _answer(world, survey_id, answer, sentiment=None, now=NOW):
    with transaction(world.sessions) as session:
        return record_answer(session, survey_id, answer, sentiment, now=now)


def test_no_answer_no_result(world):
    ticket = make_ticket()
    plan(world, ticket, now=NOW)
    with world.sessions() as session:
        assert latest_result(session, ticket.connection_id, ticket.ticket_key) is None


def test_the_newest_answer_of_the_ticket_with_everything_scoring_needs(world):
    from dataclasses import replace

    from domain.events import Lifecycle
    from domain.ticket import Stage

    ticket = make_ticket()
    first = plan(world, ticket, now=NOW)
    _answer(world, first.survey_id, Answer(rating=4, reasons=("too_slow",), lost_minutes=90,
                                           comment="Slow."), Sentiment(-0.3, "negative", "vader"))
    plan(world, replace(ticket, stage=Stage.IN_PROGRESS, reopen_count=1), Lifecycle.REOPENED, now=NOW)
    world.reconfigure(connection_surveys={"jira-main": {"resurvey_after_reopen": True}})
    second = plan(world, replace(ticket, reopen_count=1), now=NOW + timedelta(days=2))
    assert second.outcome == "created"
    _answer(world, second.survey_id, Answer(rating=9, reasons=("kept_informed", "friendly_agent"), lost_minutes=20,
                                            comment="Sorted in the end,\nthanks   a lot."),
            Sentiment(0.6, "positive", "vader"), now=NOW + timedelta(days=3))
    with world.sessions() as session:
        result = latest_result(session, ticket.connection_id, ticket.ticket_key)
    assert result.survey_id == second.survey_id and result.rating == 9 and result.band == "positive"
    assert result.reasons == ("kept_informed", "friendly_agent")
    assert result.lost_minutes == 20 and result.lost_hours == 0.33
    assert (result.sentiment_score, result.sentiment_label) == (0.6, "positive")
    assert result.comment_excerpt == "Sorted in the end, thanks a lot."
    assert result.answered_at == NOW + timedelta(days=3) and result.language == "en"


def test_results_of_other_tickets_are_not_mixed_in(world):
    mine, other = make_ticket(), make_ticket()
    plan(world, mine, now=NOW)
    decided = plan(world, other, now=NOW)
    _answer(world, decided.survey_id, Answer(rating=10))
    with world.sessions() as session:
        assert latest_result(session, mine.connection_id, mine.ticket_key) is None
        assert latest_result(session, other.connection_id, other.ticket_key).rating == 10


def test_comment_excerpts_fit_the_itsm_field():
    long = "The engineer came twice. " * 40
    excerpt = comment_excerpt(long)
    assert len(excerpt) <= 500 and excerpt.endswith("…") and not excerpt[:-1].endswith(" ")
    assert comment_excerpt("  \n ") is None and comment_excerpt("short") == "short"


def test_caller_history_across_connections(world):
    ticket = make_ticket("snow-main")
    decided = plan(world, ticket, now=NOW)
    _answer(world, decided.survey_id, Answer(rating=2), Sentiment(-0.7, "negative", "vader"))
    same_person_in_jira = make_ticket("jira-main", caller=ticket.caller.__class__(
        key="557058:abc", email=ticket.caller.email.upper()))
    key = person_key_for(world.settings, same_person_in_jira.caller, "jira-main")
    with world.sessions() as session:
        history = caller_history(session, key)
        assert caller_history(session, "unknown") is None and caller_history(session, None) is None
    assert (history.last_rating, history.last_sentiment, history.opted_out) == (2, -0.7, False)
    assert history.last_surveyed_at == NOW


def test_person_keys():
    from domain.ticket import Person

    secret = b"s" * 32
    assert normalise_email("  Ada.Lovelace@Example.COM ") == "ada.lovelace@example.com"
    assert normalise_email("not-an-address") is None
    by_mail = person_key(secret, Person(key="1", email="A@b.example"), "jira-main")
    assert by_mail == person_key(secret, Person(key="2", email="a@B.example"), "snow-main")
    assert person_key(secret, Person(key="1"), "jira-main") != person_key(secret, Person(key="1"), "snow-main")
    assert person_key(b"t" * 32, Person(key="1", email="a@b.example"), "x") != by_mail
    assert person_key(secret, None, "jira-main") is None
