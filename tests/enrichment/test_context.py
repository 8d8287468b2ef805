"""The experience context of a ticket, from what the service already knows of its caller's tickets."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from domain.ticket import Person, Stage, Ticket, TicketKind
from enrichment.context import gather_context

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def session(sqlite_url):
    from storage.db import make_engine, make_session_factory

    engine = make_engine(sqlite_url)
    with make_session_factory(engine)() as session:
        yield session
    engine.dispose()


def known_ticket(session, key: str, opened_days_ago: float, category: str = "network") -> None:
    from storage.models import TicketState

    session.add(TicketState(connection_id="snow", ticket_key=key, number=key.upper(), kind="incident",
                            stage=Stage.CLOSED.value, caller_key="caller-1", category=category,
                            opened_at=NOW - timedelta(days=opened_days_ago), snapshot={}, written={},
                            notes_written={}, writes_in_hour=0))
    session.flush()


def ticket_opened(days_ago: float) -> Ticket:
    return Ticket(connection_id="snow", ticket_key="inc-now", number="INC-NOW", kind=TicketKind.INCIDENT,
                  stage=Stage.IN_PROGRESS, caller=Person(key="caller-1"), category="network",
                  opened_at=NOW - timedelta(days=days_ago))


def test_an_earlier_ticket_about_the_same_issue_makes_a_repeat_contact_and_is_named(session):
    known_ticket(session, "inc-older", opened_days_ago=6)
    known_ticket(session, "inc-earlier", opened_days_ago=3)
    context = gather_context(session, ticket_opened(days_ago=1), None, NOW)
    assert context["repeat_contact"] is True
    assert context["repeat_of"] == "INC-EARLIER", "the newest earlier ticket"


def test_a_ticket_the_caller_opened_later_does_not_make_this_one_a_repeat(session):
    known_ticket(session, "inc-later", opened_days_ago=1)
    context = gather_context(session, ticket_opened(days_ago=2), None, NOW)
    assert context["repeat_contact"] is False and context["repeat_of"] is None
    assert context["caller_recent_tickets"] == 1


def test_the_repeat_window_is_counted_back_from_the_tickets_own_opening(session):
    known_ticket(session, "inc-before", opened_days_ago=8)   # more than a week ago, as seen from now
    assert gather_context(session, ticket_opened(days_ago=2), None, NOW)["repeat_contact"] is True
    assert gather_context(session, ticket_opened(days_ago=0.5), None, NOW)["repeat_contact"] is False
