"""Delivering surveys: ticket comment, e-mail over real SMTP, chat webhook over real HTTP; reminders, expiry."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select, update

from jobs.queue import reap_expired_leases
from settings.model import MailSettings
from storage.clock import as_utc
from storage.models import Job, RateBucket, Survey, SurveyPerson, SurveyResponse
from surveys.housekeeping import run_survey_housekeeping
from surveys.tokens import hash_token

from tests.surveys.helpers import (SECRET_ENV, make_ticket, open_form, plan, run_survey_jobs, sent_survey,
                                    submit_answer)


def _survey(world, survey_id=None) -> Survey:
    with world.sessions() as session:
        query = select(Survey).order_by(Survey.id.desc())
        if survey_id is not None:
            query = query.where(Survey.id == survey_id)
        return session.execute(query.limit(1)).scalar_one()


def _jobs(world, kind):
    with world.sessions() as session:
        return session.execute(select(Job).where(Job.kind == kind).order_by(Job.id)).scalars().all()


def _later(days: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(days=days)


class TestCommentChannel:
    def test_the_link_is_written_as_a_customer_visible_comment_with_a_marker(self, world):
        ticket = make_ticket()
        decided = plan(world, ticket)
        assert run_survey_jobs(world) == ["sent"]
        [(key, text, marker)] = world.connectors["jira-main"].comments
        assert key == ticket.ticket_key and marker == f"xla-survey:{decided.survey_id}"
        assert ticket.number in text and "/s/" in text and ticket.caller.email not in text
        survey = _survey(world)
        assert survey.state == "sent" and survey.sent_at is not None
        assert as_utc(survey.next_reminder_at) - as_utc(survey.sent_at) == timedelta(days=2)

    def test_a_retried_send_after_a_crash_adds_no_second_comment(self, world):
        from jobs.queue import claim_next_job
        from surveys.jobs import send_survey_job

        plan(world, make_ticket())
        job = claim_next_job(world.sessions, "crashing-worker", lease_s=-1, kinds=["send_survey"])
        send_survey_job(world.runtime, job)          # wrote the comment, then "crashed" before committing
        assert reap_expired_leases(world.sessions) == (1, 0)
        assert run_survey_jobs(world) == ["already_sent"]
        assert len(world.connectors["jira-main"].comments) == 1
        assert _survey(world).state == "sent"

    def test_a_survey_cancelled_before_sending_is_not_sent(self, world):
        from dataclasses import replace

        from domain.events import Lifecycle
        from domain.ticket import Stage

        ticket = make_ticket()
        plan(world, ticket)
        plan(world, replace(ticket, stage=Stage.IN_PROGRESS, reopen_count=1), Lifecycle.REOPENED)
        assert run_survey_jobs(world) == ["ignored"]
        assert world.connectors["jira-main"].comments == []

    def test_a_changed_secret_makes_the_job_dead_instead_of_sending_a_dead_link(self, world, monkeypatch):
        plan(world, make_ticket())
        monkeypatch.setenv(SECRET_ENV, "a-completely-different-secret-value")
        assert run_survey_jobs(world) == ["dead"]
        assert world.connectors["jira-main"].comments == []
        assert "secret changed" in _jobs(world, "send_survey")[0].last_error

    @pytest.mark.parametrize("language, words", [("de", "Wie zufrieden waren Sie"), ("fr", "Comment s’est passé")])
    def test_the_comment_speaks_the_callers_language(self, world, language, words):
        from dataclasses import replace

        ticket = make_ticket()
        plan(world, replace(ticket, caller=replace(ticket.caller, language=language)))
        run_survey_jobs(world)
        assert words in world.connectors["jira-main"].comments[0][1]


@pytest.fixture
def mail_world(start_server, smtp_server):
    server = start_server(mail=MailSettings(host=smtp_server.host, port=smtp_server.port,
                                            sender="IT Service Desk <servicedesk@example.com>"),
                          connection_surveys={"jira-main": {"channel": "email"}})
    return server, smtp_server


class TestEmailChannel:
    def test_html_and_text_with_one_click_ratings_and_an_opt_out(self, mail_world):
        server, smtp = mail_world
        ticket = make_ticket()
        plan(server.world, ticket)
        assert run_survey_jobs(server.world) == ["sent"]
        [(recipients, message)] = smtp.messages
        assert recipients == [ticket.caller.email]
        assert message["Subject"] == f"How did we do with {ticket.number}?"
        assert message["Auto-Submitted"] == "auto-generated"
        survey = _survey(server.world)
        assert message["Message-ID"] == f"<xla-survey-{survey.id}-0@example.com>"
        plain = message.get_body(preferencelist=("plain",)).get_content()
        html = message.get_body(preferencelist=("html",)).get_content()
        rating_links = re.findall(r'href="([^"]+\?r=(\d+))"', html)
        assert [int(rating) for _, rating in rating_links] == list(range(11))
        tokens = {urlsplit(link).path.rsplit("/", 1)[1] for link, _ in rating_links}
        assert len(tokens) == 1 and hash_token(tokens.pop()) == survey.token_hash
        assert f"{server.url}/s/" in plain and "?r=10" in plain
        opt_out = re.search(r'href="([^"]+/opt-out)"', html).group(1)
        assert message["List-Unsubscribe"] == f"<{opt_out}>" and opt_out in plain
        assert 'lang="en"' in html and "<script" not in html

    def test_a_one_click_link_preselects_the_rating_and_records_nothing(self, mail_world):
        server, smtp = mail_world
        plan(server.world, make_ticket())
        run_survey_jobs(server.world)
        html = smtp.messages[0][1].get_body(preferencelist=("html",)).get_content()
        seven = next(link for link, rating in re.findall(r'href="([^"]+\?r=(\d+))"', html) if rating == "7")
        page = requests.get(seven, timeout=10)
        assert page.status_code == 200
        assert re.search(r'id="rating-7" value="7" data-band="neutral"\s+required checked', page.text)
        assert len(re.findall(r"\bchecked\b", page.text)) == 1
        assert _survey(server.world).state == "sent"
        with server.world.sessions() as session:
            assert session.execute(select(SurveyResponse)).first() is None
        assert parse_qs(urlsplit(seven).query) == {"r": ["7"]}

    def test_an_smtp_outage_is_retried_and_the_address_kept_until_then(self, start_server, smtp_server):
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed_port = probe.getsockname()[1]
        server = start_server(mail=MailSettings(host="127.0.0.1", port=closed_port),
                              connection_surveys={"jira-main": {"channel": "email"}})
        plan(server.world, make_ticket())
        assert run_survey_jobs(server.world) == ["queued"]
        [job] = _jobs(server.world, "send_survey")
        assert "SMTP delivery failed" in job.last_error and job.state == "queued"
        assert _survey(server.world).recipient is not None

    def test_german_subject_and_body(self, mail_world):
        from dataclasses import replace

        server, smtp = mail_world
        ticket = make_ticket()
        plan(server.world, replace(ticket, caller=replace(ticket.caller, language="de")))
        run_survey_jobs(server.world)
        message = smtp.messages[0][1]
        assert message["Subject"] == f"Wie zufrieden waren Sie mit {ticket.number}?"
        assert "Umfrage öffnen" in message.get_body(preferencelist=("html",)).get_content()
        assert message["Content-Language"] == "de"


class TestChatChannel:
    @pytest.fixture
    def chat_world(self, configured_chat):
        return configured_chat("slack")

    @pytest.fixture
    def configured_chat(self, sqlite_url, chat_receiver, monkeypatch):
        from tests.surveys.helpers import make_world

        monkeypatch.setenv("XLA_SURVEY_TEST_CHAT_URL", chat_receiver.url)
        worlds = []

        def build(chat_format):
            built = make_world(sqlite_url, surveys={"chat_webhook_url_env": "XLA_SURVEY_TEST_CHAT_URL",
                                                    "chat_format": chat_format},
                               connection_surveys={"jira-main": {"channel": "chat"}})
            worlds.append(built)
            return built, chat_receiver

        yield build
        for built in worlds:
            built.runtime.engine.dispose()

    def test_slack_block_kit_message_with_the_link_and_no_previews(self, configured_chat):
        world, receiver = configured_chat("slack")
        ticket = make_ticket()
        plan(world, ticket)
        assert run_survey_jobs(world) == ["sent"]
        [payload] = receiver.received
        assert ticket.number in payload["text"] and payload["unfurl_links"] is False
        button = payload["blocks"][1]["elements"][0]
        assert button["type"] == "button" and hash_token(button["url"].rsplit("/", 1)[1]) == _survey(world).token_hash

    def test_teams_adaptive_card(self, configured_chat):
        world, receiver = configured_chat("teams")
        plan(world, make_ticket())
        run_survey_jobs(world)
        [payload] = receiver.received
        assert payload["type"] == "message"
        [attachment] = payload["attachments"]
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        card = attachment["content"]
        assert card["type"] == "AdaptiveCard" and card["actions"][0]["type"] == "Action.OpenUrl"
        assert card["actions"][0]["url"].startswith("http://127.0.0.1:")

    def test_throttled_webhook_is_retried_after_its_wait_and_a_gone_one_is_dead(self, configured_chat):
        world, receiver = configured_chat("slack")
        receiver.status.extend([429])
        plan(world, make_ticket())
        before = datetime.now(timezone.utc)
        outcomes = run_survey_jobs(world)
        [job] = _jobs(world, "send_survey")
        assert outcomes == ["queued"], job.last_error
        assert as_utc(job.next_run_at) >= before + timedelta(seconds=7), (job.next_run_at, before)
        receiver.status.extend([404])
        plan(world, make_ticket())
        outcomes = run_survey_jobs(world)
        assert outcomes == ["dead"], [job.last_error for job in _jobs(world, "send_survey")]


class TestRemindersAndExpiry:
    def test_one_reminder_after_two_days_then_nothing(self, world):
        ticket, _ = sent_survey(world)
        assert run_survey_housekeeping(world.runtime, _later(1))["reminders_enqueued"] == 0
        assert run_survey_housekeeping(world.runtime, _later(2.01))["reminders_enqueued"] == 1
        assert run_survey_housekeeping(world.runtime, _later(2.02))["reminders_enqueued"] == 0  # deduplicated
        assert run_survey_jobs(world) == ["sent"]
        comments = world.connectors["jira-main"].comments
        assert [marker for _, _, marker in comments] == [f"xla-survey:{_survey(world).id}",
                                                          f"xla-survey:{_survey(world).id}:reminder:1"]
        assert comments[1][1].startswith("Reminder:")
        survey = _survey(world)
        assert survey.reminders_sent == 1 and survey.next_reminder_at is None
        assert run_survey_housekeeping(world.runtime, _later(6))["reminders_enqueued"] == 0

    def test_a_second_reminder_when_configured(self, sqlite_url):
        from tests.surveys.helpers import make_world

        world = make_world(sqlite_url, surveys={"reminders": {"count": 2, "after_days": 3}})
        sent_survey(world)
        run_survey_housekeeping(world.runtime, _later(3.01))
        run_survey_jobs(world)
        # The next reminder is due three days after the first reminder went out (just now).
        assert run_survey_housekeeping(world.runtime, _later(2.9))["reminders_enqueued"] == 0
        assert run_survey_housekeeping(world.runtime, _later(3.02))["reminders_enqueued"] == 1
        run_survey_jobs(world)
        assert _survey(world).reminders_sent == 2 and len(world.connectors["jira-main"].comments) == 3
        world.runtime.engine.dispose()

    def test_no_reminder_for_an_answered_or_opted_out_survey(self, live_server):
        world = live_server.world
        _, answered_link = sent_survey(world)
        client = requests.Session()
        _, csrf = open_form(client, answered_link)
        assert submit_answer(client, answered_link, csrf, rating="9").status_code == 303
        _, opted_link = sent_survey(world)
        page = client.get(opted_link + "/opt-out", timeout=10)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        assert client.post(opted_link + "/opt-out", data={"csrf_token": csrf}, timeout=10).status_code == 200
        assert run_survey_housekeeping(world.runtime, _later(2.5))["reminders_enqueued"] == 0
        assert len(world.connectors["jira-main"].comments) == 2

    def test_a_reminder_job_for_a_person_who_opted_out_meanwhile_sends_nothing(self, world):
        sent_survey(world)
        run_survey_housekeeping(world.runtime, _later(2.5))
        with world.sessions.begin() as session:
            session.execute(update(SurveyPerson).values(opted_out_at=datetime.now(timezone.utc)))
        assert run_survey_jobs(world) == ["ignored"]
        assert len(world.connectors["jira-main"].comments) == 1

    def test_surveys_expire_after_fourteen_days_and_forget_the_address(self, world):
        sent_survey(world)
        with world.sessions.begin() as session:
            session.execute(update(Survey).values(recipient="someone@example.com"))
        assert run_survey_housekeeping(world.runtime, _later(13.9))["expired"] == 0
        assert run_survey_housekeeping(world.runtime, _later(14.01))["expired"] == 1
        survey = _survey(world)
        assert survey.state == "expired" and survey.recipient is None and survey.next_reminder_at is None

    def test_old_rate_windows_are_removed(self, world):
        with world.sessions.begin() as session:
            session.add_all([RateBucket(key="survey-page:ip:old", window_start=1000, hits=3),
                             RateBucket(key="survey-page:ip:now", window_start=int(_later(0).timestamp()), hits=1)])
        assert run_survey_housekeeping(world.runtime, _later(0))["rate_windows_removed"] == 1
        with world.sessions() as session:
            assert session.execute(select(RateBucket.key)).scalars().all() == ["survey-page:ip:now"]
