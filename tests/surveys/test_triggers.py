"""When a ticket earns a survey: triggers, throttle across connections, reopen, overrides, exclusions."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from domain.events import Lifecycle
from domain.ticket import Person, Stage, TicketKind
from settings.model import MailSettings
from storage.clock import as_utc
from storage.models import Job, Survey, SurveyPerson
from surveys.identity import person_key_for
from surveys.store import caller_history
from surveys.triggers import in_sample, is_system_caller

from tests.surveys.helpers import make_ticket, make_world, plan, run_survey_jobs

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def configured(sqlite_url):
    """A world whose survey settings the test chooses."""
    worlds = []

    def build(**settings_kwargs):
        built = make_world(sqlite_url, **settings_kwargs)
        worlds.append(built)
        return built

    yield build
    for built in worlds:
        built.runtime.engine.dispose()


def _surveys(world):
    with world.sessions() as session:
        return session.execute(select(Survey).order_by(Survey.id)).scalars().all()


def _reopened(ticket, count=1, stage=Stage.IN_PROGRESS):
    return replace(ticket, stage=stage, reopen_count=count)


class TestCreation:
    def test_a_resolved_incident_gets_a_pending_survey_and_a_send_job(self, world):
        ticket = make_ticket(language="en")
        decided = plan(world, ticket, now=NOW)
        assert decided.outcome == "created" and decided.reason == "resolved"
        [job] = decided.jobs
        assert job.kind == "send_survey" and job.dedupe_key == f"survey:send:{decided.survey_id}"
        assert job.payload == {"survey_id": decided.survey_id}
        assert (job.connection_id, job.ticket_key) == (ticket.connection_id, ticket.ticket_key)
        [survey] = _surveys(world)
        assert survey.state == "pending" and survey.channel == "comment" and survey.ticket_number == ticket.number
        assert as_utc(survey.expires_at) == NOW + timedelta(days=14)
        assert len(survey.person_key) == 64 and ticket.caller.email not in survey.person_key
        with world.sessions() as session:
            assert session.execute(select(Job.dedupe_key)).scalars().all() == [job.dedupe_key]

    @pytest.mark.parametrize("kind, stage, step, expected", [
        (TicketKind.REQUEST, Stage.RESOLVED, Lifecycle.RESOLVED, "created"),
        (TicketKind.CHANGE, Stage.REVIEW, Lifecycle.IMPLEMENTED, "created"),
        (TicketKind.CHANGE, Stage.CLOSED, Lifecycle.CLOSED_SUCCESSFUL, "skipped"),   # default: on implementation
        (TicketKind.INCIDENT, Stage.CLOSED, Lifecycle.CLOSED, "skipped"),            # default: on resolution
        (TicketKind.INCIDENT, Stage.IN_PROGRESS, Lifecycle.ASSIGNED, "skipped"),
        (TicketKind.OTHER, Stage.RESOLVED, Lifecycle.RESOLVED, "skipped"),
    ])
    def test_default_triggers_per_ticket_kind(self, world, kind, stage, step, expected):
        decided = plan(world, make_ticket(kind=kind, stage=stage), step, now=NOW)
        assert decided.outcome == expected, decided

    def test_configured_triggers(self, configured):
        world = configured(connection_surveys={"jira-main": {
            "triggers": {"incident": ["closed"], "request": [], "change": ["closed"]}}})
        assert plan(world, make_ticket(), Lifecycle.RESOLVED, now=NOW).reason == "no_trigger"
        assert plan(world, make_ticket(stage=Stage.CLOSED), Lifecycle.CLOSED, now=NOW).outcome == "created"
        assert plan(world, make_ticket(kind=TicketKind.REQUEST), now=NOW).reason == "no_trigger"
        assert plan(world, make_ticket(kind=TicketKind.CHANGE, stage=Stage.CLOSED), Lifecycle.CLOSED_FAILED,
                    now=NOW).outcome == "created"

    def test_a_disabled_connection_never_surveys(self, configured):
        world = configured(connection_surveys={"jira-main": {"enabled": False}})
        assert plan(world, make_ticket(), now=NOW).reason == "no_trigger"
        assert plan(world, make_ticket("snow-main"), now=NOW).outcome == "created"

    def test_a_stale_resolved_event_for_a_ticket_open_again_does_nothing(self, world):
        decided = plan(world, make_ticket(stage=Stage.IN_PROGRESS), Lifecycle.RESOLVED, now=NOW)
        assert decided.outcome == "skipped" and _surveys(world) == []

    @pytest.mark.parametrize("wanted, expected", [("de-DE", "de"), ("fr", "fr"), ("es", "en"), (None, "en")])
    def test_language_follows_the_ticket_or_caller(self, world, wanted, expected):
        base = make_ticket()
        ticket = replace(base, caller=replace(base.caller, language=wanted))
        plan(world, ticket, now=NOW)
        assert _surveys(world)[-1].language == expected


class TestRepeatedEvents:
    def test_the_same_resolution_twice_makes_one_survey(self, world):
        ticket = make_ticket()
        assert plan(world, ticket, now=NOW).outcome == "created"
        assert plan(world, ticket, now=NOW).reason == "already_open"
        assert len(_surveys(world)) == 1

    def test_closing_after_resolution_does_not_ask_again(self, configured):
        world = configured(connection_surveys={"jira-main": {"triggers": {"incident": ["resolved", "closed"]}}})
        ticket = make_ticket()
        plan(world, ticket, now=NOW)
        run_survey_jobs(world)
        with world.sessions.begin() as session:
            session.get(Survey, _surveys(world)[0].id).state = "expired"
        decided = plan(world, replace(ticket, stage=Stage.CLOSED), Lifecycle.CLOSED, now=NOW + timedelta(days=20))
        assert decided.reason == "already_surveyed"


class TestThrottle:
    def test_one_person_is_asked_once_per_period_across_connections(self, world):
        person = Person(key="abel", name="Abel Tasman", email="Abel.Tasman@Example.com ")
        first = plan(world, make_ticket("jira-main", caller=person), now=NOW)
        # The same person in ServiceNow: another user id, the same address in another spelling.
        same_in_snow = Person(key="6816f79cc0a8016401c5a33be04be441", email="abel.tasman@example.com")
        second = plan(world, make_ticket("snow-main", caller=same_in_snow), now=NOW + timedelta(days=29))
        third = plan(world, make_ticket("snow-main", caller=same_in_snow), now=NOW + timedelta(days=30, hours=1))
        assert (first.outcome, second.reason, third.outcome) == ("created", "throttled", "created")

    def test_different_people_are_not_throttled_by_each_other(self, world):
        assert [plan(world, make_ticket(), now=NOW).outcome for _ in range(3)] == ["created"] * 3

    def test_throttle_days_zero_asks_every_time(self, configured):
        world = configured(surveys={"throttle_days": 0})
        person = Person(key="u", email="often@example.com")
        assert [plan(world, make_ticket(caller=person), now=NOW).outcome for _ in range(2)] == ["created"] * 2

    def test_callers_without_email_are_known_per_connection_only(self, world):
        person = Person(key="same-id")
        assert plan(world, make_ticket("jira-main", caller=person), now=NOW).outcome == "created"
        assert plan(world, make_ticket("jira-main", caller=person), now=NOW).reason == "throttled"
        assert plan(world, make_ticket("snow-main", caller=person), now=NOW).outcome == "created"


class TestReopen:
    def test_a_reopen_cancels_the_open_survey_and_frees_the_throttle(self, world):
        ticket = make_ticket()
        plan(world, ticket, now=NOW)
        run_survey_jobs(world)
        decided = plan(world, _reopened(ticket), Lifecycle.REOPENED, now=NOW + timedelta(hours=2))
        assert decided.outcome == "withdrawn" and decided.withdrawn == 1
        [survey] = _surveys(world)
        assert survey.state == "cancelled"
        key = person_key_for(world.settings, ticket.caller, ticket.connection_id)
        with world.sessions() as session:
            assert caller_history(session, key).last_surveyed_at is None
        again = plan(world, replace(ticket, reopen_count=1), Lifecycle.RESOLVED, now=NOW + timedelta(days=1))
        assert again.outcome == "created" and again.reason == "reopened_override"

    def test_a_ticket_found_open_again_cancels_even_without_a_reopen_event(self, world):
        ticket = make_ticket()
        plan(world, ticket, now=NOW)
        decided = plan(world, _reopened(ticket, count=0), Lifecycle.UPDATED, now=NOW)
        assert decided.outcome == "withdrawn" and _surveys(world)[0].state == "cancelled"

    def test_an_answered_survey_blocks_another_after_a_reopen_unless_configured(self, configured):
        for resurvey, expected in ((False, "answered_before_reopen"), (True, "reopened_override")):
            world = configured(connection_surveys={"jira-main": {"resurvey_after_reopen": resurvey}})
            ticket = make_ticket()
            plan(world, ticket, now=NOW)
            with world.sessions.begin() as session:
                session.execute(Survey.__table__.update().values(state="answered"))
            plan(world, _reopened(ticket), Lifecycle.REOPENED, now=NOW)
            decided = plan(world, replace(ticket, reopen_count=1), now=NOW + timedelta(days=1))
            assert decided.reason == expected
            with world.sessions.begin() as session:
                session.execute(Survey.__table__.delete())


class TestOverrides:
    def _throttle(self, world, person):
        assert plan(world, make_ticket(caller=person), now=NOW).outcome == "created"

    def test_an_sla_breach_asks_even_when_throttled(self, world):
        person = Person(key="p", email="breached@example.com")
        self._throttle(world, person)
        decided = plan(world, make_ticket(caller=person, sla_breached=True), now=NOW + timedelta(days=1))
        assert decided.outcome == "created" and decided.reason == "sla_breach_override"

    def test_a_reopened_ticket_asks_even_when_throttled_or_not_sampled(self, configured):
        world = configured(connection_surveys={"jira-main": {"sampling": 0.0}})
        person = Person(key="p", email="reopened@example.com")
        assert plan(world, make_ticket(caller=person), now=NOW).reason == "not_sampled"
        assert plan(world, make_ticket(caller=person, reopen_count=2), now=NOW).reason == "reopened_override"

    def test_overrides_can_be_switched_off(self, configured):
        world = configured(connection_surveys={"jira-main": {"always_ask": {"after_reopen": False,
                                                                            "after_sla_breach": False}}})
        person = Person(key="p", email="plain@example.com")
        self._throttle(world, person)
        assert plan(world, make_ticket(caller=person, sla_breached=True), now=NOW).reason == "throttled"
        assert plan(world, make_ticket(caller=person, reopen_count=1), now=NOW).reason == "throttled"

    def test_opt_out_wins_over_every_override(self, world):
        person = Person(key="p", email="no-more@example.com")
        key = person_key_for(world.settings, person, "jira-main")
        with world.sessions.begin() as session:
            session.add(SurveyPerson(person_key=key, opted_out_at=NOW - timedelta(days=100)))
        decided = plan(world, make_ticket(caller=person, sla_breached=True, reopen_count=1), now=NOW)
        assert decided.reason == "opted_out"


class TestExclusions:
    @pytest.mark.parametrize("caller", [
        Person(key="svc-monitoring", name="Monitoring", email="monitoring@example.com"),
        Person(key="a1", name="Zabbix Automation", email="zabbix@example.com"),
        Person(key="a2", name="Mail Robot", email="noreply@example.com"),
        Person(key="system", name=None),
    ])
    def test_system_and_automation_callers_are_never_asked(self, world, caller):
        assert plan(world, make_ticket(caller=caller), now=NOW).reason == "system_caller"

    def test_people_are_not_mistaken_for_robots(self):
        patterns = ("system", "svc-*", "*automation*", "*noreply*", "*bot")
        assert not is_system_caller(Person(key="abbott", name="Bud Abbott", email="bud.abbott@example.com"),
                                    patterns)

    def test_callers_nobody_can_reach_are_skipped(self, world):
        assert plan(world, make_ticket(caller=None), now=NOW).reason == "unreachable"
        gone = Person(key="left", name="Former Staff", email="former@example.com", active=False)
        assert plan(world, make_ticket(caller=gone), now=NOW).reason == "unreachable"

    def test_unreachable_callers_can_be_included(self, configured):
        world = configured(connection_surveys={"jira-main": {"exclude": {"unreachable": False}}})
        decided = plan(world, make_ticket(caller=None), now=NOW)
        assert decided.outcome == "created" and _surveys(world)[0].channel == "comment"

    def test_custom_name_patterns(self, configured):
        world = configured(connection_surveys={"jira-main": {"exclude": {"caller_patterns": ["kiosk-*"]}}})
        assert plan(world, make_ticket(caller=Person(key="kiosk-12", email="k@example.com")),
                    now=NOW).reason == "system_caller"
        assert plan(world, make_ticket(caller=Person(key="svc-x", email="s@example.com")), now=NOW).outcome == "created"


class TestConditionsAndSampling:
    def test_included_and_excluded_categories_groups_services(self, configured):
        world = configured(connection_surveys={"jira-main": {"conditions": {
            "categories": ["Hardware", "Network"], "exclude_groups": ["Major Incident Team"],
            "services": [], "exclude_services": ["Payroll"]}}})
        assert plan(world, make_ticket(category="hardware"), now=NOW).outcome == "created"
        assert plan(world, make_ticket(category="Software"), now=NOW).reason == "category_not_included"
        assert plan(world, make_ticket(category="Network", assignment_group="Major Incident Team"),
                    now=NOW).reason == "group_excluded"
        assert plan(world, make_ticket(category="Network", service="Payroll"), now=NOW).reason == "service_excluded"

    def test_sampling_is_deterministic_per_ticket_and_near_the_rate(self):
        keys = [str(n) for n in range(2000)]
        chosen = [key for key in keys if in_sample("jira-main", key, 0.3)]
        assert 0.25 < len(chosen) / len(keys) < 0.35
        assert chosen == [key for key in keys if in_sample("jira-main", key, 0.3)]
        assert set(chosen) <= {key for key in keys if in_sample("jira-main", key, 0.6)}

    def test_the_connection_rate_overrides_the_service_rate(self, configured):
        world = configured(surveys={"sampling": 0.0}, connection_surveys={"snow-main": {"sampling": 1.0}})
        assert plan(world, make_ticket("jira-main"), now=NOW).reason == "not_sampled"
        assert plan(world, make_ticket("snow-main"), now=NOW).outcome == "created"


class TestChannels:
    def test_email_when_configured_and_the_caller_has_an_address(self, configured):
        world = configured(mail=MailSettings(host="127.0.0.1", port=2525),
                           connection_surveys={"jira-main": {"channel": "email"}})
        ticket = make_ticket()
        plan(world, ticket, now=NOW)
        survey = _surveys(world)[-1]
        assert survey.channel == "email" and survey.recipient == ticket.caller.email

    @pytest.mark.parametrize("mail_host, email_enabled, email", [
        ("", True, "someone@example.com"),          # no SMTP server configured
        ("127.0.0.1", False, "someone@example.com"),  # e-mail switched off service-wide
        ("127.0.0.1", True, None),                  # caller has no address
    ])
    def test_falls_back_to_the_ticket_comment(self, configured, mail_host, email_enabled, email):
        world = configured(mail=MailSettings(host=mail_host), surveys={"email_enabled": email_enabled},
                           connection_surveys={"jira-main": {"channel": "email"}})
        plan(world, make_ticket(caller=Person(key="u", name="Lee Chen", email=email)), now=NOW)
        survey = _surveys(world)[-1]
        assert survey.channel == "comment" and survey.recipient is None

    def test_chat_needs_a_configured_webhook(self, configured):
        world = configured(surveys={"chat_webhook_url_env": "SURVEY_CHAT_URL"},
                           connection_surveys={"jira-main": {"channel": "chat"}, "snow-main": {"channel": "chat"}})
        plan(world, make_ticket(), now=NOW)
        assert _surveys(world)[-1].channel == "chat"
        other = configured(connection_surveys={"jira-main": {"channel": "chat"}})
        plan(other, make_ticket(), now=NOW)
        assert _surveys(other)[-1].channel == "comment"
