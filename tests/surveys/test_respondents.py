"""Simulated end users (for the demo) answer survey links found in ticket comments, over real HTTP."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from storage.models import SurveyResponse
from surveys.reasons import REASONS, band_of
from surveys.respondents import SimulatedRespondents, find_survey_links

from tests.surveys.helpers import make_ticket, plan, run_survey_jobs


def _comments_for(world, count):
    tickets = [make_ticket() for _ in range(count)]
    for ticket in tickets:
        plan(world, ticket)
    run_survey_jobs(world)
    return [text for _, text, _ in world.connectors["jira-main"].comments]


def test_links_are_found_in_comment_text():
    text = ("How did we do with SD-1? Please tell us:\nhttps://xla.example.com/s/" + "a" * 43 +
            "\nThe link works once. (Also https://xla.example.com/s/" + "b" * 22 + ")")
    assert find_survey_links(text) == ["https://xla.example.com/s/" + "a" * 43, "https://xla.example.com/s/" + "b" * 22]
    assert find_survey_links("no link here https://xla.example.com/s/short") == []


def test_respondents_answer_from_comments_with_varied_consistent_answers(start_server):
    server = start_server(surveys={"page_rate_limit": {"per_ip": 1000, "per_token": 100}})
    comments = _comments_for(server.world, 12)
    crowd = SimulatedRespondents(seed=7)
    answers = [answer for text in comments for answer in crowd.answer_comment(text)]
    assert [answer.status for answer in answers] == ["answered"] * 12
    with server.world.sessions() as session:
        stored = session.execute(select(SurveyResponse).order_by(SurveyResponse.id)).scalars().all()
    assert [row.rating for row in stored] == [answer.rating for answer in answers]
    assert len(Counter(band_of(row.rating) for row in stored)) >= 2, "varied ratings"
    assert any(row.comment for row in stored) and any(row.lost_minutes for row in stored)
    for row in stored:
        assert set(row.reasons) <= set(REASONS[band_of(row.rating)])
    again = crowd.answer_comment(comments[0])
    assert again[0].status == "already_answered"


def test_the_same_seed_gives_the_same_answers(start_server):
    results = []
    for _ in range(2):
        server = start_server(surveys={"page_rate_limit": {"per_ip": 1000, "per_token": 100}})
        comments = _comments_for(server.world, 4)
        crowd = SimulatedRespondents(seed=42)
        results.append([(a.rating, a.reasons, a.lost_minutes, a.comment)
                        for text in comments for a in crowd.answer_comment(text)])
        server.world.connectors["jira-main"].comments.clear()
    assert results[0] == results[1]


def test_some_people_do_not_answer_and_moods_can_be_forced(start_server):
    server = start_server(surveys={"page_rate_limit": {"per_ip": 1000, "per_token": 100}})
    comments = _comments_for(server.world, 4)
    assert [a.status for a in SimulatedRespondents(seed=1, response_rate=0.0).answer_comment(comments[0])] == \
        ["ignored"]
    forced = [SimulatedRespondents(seed=seed).answer_comment(text, mood="bad")[0]
              for seed, text in enumerate(comments[1:])]
    assert all(answer.status == "answered" and answer.rating <= 6 for answer in forced)
