"""Two people (or one person clicking twice) submitting at the same moment record exactly one answer.

Racing submits go through threads against one server, through two server processes on one
SQLite file, and through threads on PostgreSQL; racing resolutions of one person's tickets on
PostgreSQL create one survey, not two.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import func, select

from domain.ticket import Person
from storage.db import transaction
from storage.models import Job, Survey, SurveyResponse
from surveys.responses import Answer, record_answer

from tests.surveys.helpers import make_ticket, make_world, open_form, plan, sent_survey, submit_answer


def _race(submitters) -> list:
    """Run the callables at the same instant (a barrier releases them together); their results."""
    barrier = threading.Barrier(len(submitters))

    def go(submit):
        barrier.wait(timeout=30)
        return submit()

    with ThreadPoolExecutor(len(submitters)) as pool:
        return list(pool.map(go, submitters))


def _counts(world):
    with world.sessions() as session:
        return (session.execute(select(func.count()).select_from(SurveyResponse)).scalar_one(),
                session.execute(select(func.count()).select_from(Job).where(Job.kind == "rescore")).scalar_one())


def _prepared_submits(links_and_servers, rating_of):
    """One browser session per submit, each with its own page load and CSRF token, ready to POST."""
    submits = []
    for index, (link, _) in enumerate(links_and_servers):
        client = requests.Session()
        _, csrf = open_form(client, link)
        submits.append(lambda client=client, link=link, csrf=csrf, rating=rating_of(index):
                       submit_answer(client, link, csrf, rating=str(rating)).status_code)
    return submits


def test_eight_simultaneous_submits_to_one_server_record_one_answer(start_server):
    server = start_server(surveys={"page_rate_limit": {"per_ip": 1000, "per_token": 1000}})
    _, link = sent_survey(server.world)
    statuses = _race(_prepared_submits([(link, server)] * 8, rating_of=lambda index: index))
    assert sorted(statuses) == [303] + [409] * 7
    assert _counts(server.world) == (1, 1)


def test_simultaneous_submits_to_two_server_processes_on_one_sqlite_file_record_one_answer(process_pair):
    database_url, (first, second), _ = process_pair
    world = make_world(database_url, public_url=first.url)
    try:
        survey_ids = []
        for _ in range(3):
            _, link = sent_survey(world)
            other = link.replace(first.url, second.url)
            statuses = _race(_prepared_submits([(link, first), (other, second)] * 2, rating_of=lambda i: 10 - i))
            assert sorted(statuses) == [303, 409, 409, 409]
            with world.sessions() as session:
                survey_ids.append(session.execute(select(func.max(Survey.id))).scalar_one())
        with world.sessions() as session:
            answered = session.execute(select(SurveyResponse.survey_id).where(
                SurveyResponse.survey_id.in_(survey_ids))).scalars().all()
            rescores = session.execute(select(Job.dedupe_key).where(Job.kind == "rescore")).scalars().all()
        assert sorted(answered) == sorted(survey_ids)
        assert {f"rescore:survey:{survey_id}" for survey_id in survey_ids} <= set(rescores)
    finally:
        world.runtime.engine.dispose()


@pytest.mark.postgres
def test_simultaneous_submits_on_postgresql_record_one_answer(postgres_url):
    world = make_world(postgres_url)
    try:
        sent_survey(world)
        with world.sessions() as session:
            survey_id = session.execute(select(Survey.id)).scalar_one()

        def submit(rating):
            def run():
                with transaction(world.sessions) as session:
                    return record_answer(session, survey_id, Answer(rating=rating), None,
                                         now=datetime.now(timezone.utc))
            return run

        outcomes = _race([submit(rating) for rating in range(6)])
        assert sorted(outcomes) == ["already_answered"] * 5 + ["recorded"]
        assert _counts(world) == (1, 1)
    finally:
        world.runtime.engine.dispose()


@pytest.mark.postgres
def test_simultaneous_submits_over_http_on_postgresql(start_server, postgres_url):
    server = start_server(database_url=postgres_url, surveys={"page_rate_limit": {"per_ip": 1000, "per_token": 1000}})
    _, link = sent_survey(server.world)
    statuses = _race(_prepared_submits([(link, server)] * 6, rating_of=lambda index: index + 2))
    assert sorted(statuses) == [303] + [409] * 5
    assert _counts(server.world) == (1, 1)


@pytest.mark.postgres
def test_one_persons_tickets_resolved_at_once_on_postgresql_make_one_survey(postgres_url):
    world = make_world(postgres_url)
    try:
        person = Person(key="p-1", name="Rosalind Franklin", email="rosalind.franklin@example.com")
        # Surveyed long ago: the person's row exists, so nothing but its lock orders the racers.
        assert plan(world, make_ticket(caller=person), now=datetime.now(timezone.utc) - timedelta(days=40)).jobs
        tickets = [make_ticket(connection_id, caller=person) for connection_id in ("jira-main", "snow-main") * 3]
        decisions = _race([lambda ticket=ticket: plan(world, ticket) for ticket in tickets])
        assert sorted(decision.outcome for decision in decisions) == ["created"] + ["skipped"] * 5
        assert {decision.reason for decision in decisions if decision.outcome == "skipped"} == {"throttled"}
    finally:
        world.runtime.engine.dispose()
