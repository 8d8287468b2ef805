"""The [surveys] and [connections.surveys] tables: defaults, every problem on one line, immutability."""
from __future__ import annotations

import dataclasses

import pytest

from settings import ConfigError, load_settings_from_mapping
from surveys.config import (ConnectionSurveys, SurveySettings, load_connection_surveys, load_survey_section)


class TestServiceSection:
    def test_defaults_match_the_published_practice(self):
        loaded, problems = load_survey_section({})
        assert problems == []
        assert loaded.throttle_days == 30 and loaded.expiry_days == 14
        assert (loaded.reminders.count, loaded.reminders.after_days) == (1, 2)
        assert loaded.token_bytes >= 16 and loaded.sampling == 1.0 and loaded.email_enabled
        assert loaded.languages == ("en", "de", "fr") and loaded.default_language == "en"

    def test_every_setting_is_read(self):
        loaded, problems = load_survey_section({
            "throttle_days": 7, "expiry_days": 3, "reminders": {"count": 2, "after_days": 1},
            "token_bytes": 16, "languages": ["de", "en"], "sampling": 0.25,
            "page_rate_limit": {"per_ip": 5, "per_token": 3, "window_s": 30},
            "chat_webhook_url_env": "SURVEY_CHAT_URL", "chat_format": "teams", "email_enabled": False,
            "sentiment": {"default": "vader", "by_language": {"de": "mypackage.german:Analyser"}},
            "comment_max_chars": 500})
        assert problems == []
        assert loaded.reminders.count == 2 and loaded.token_bytes == 16 and loaded.default_language == "de"
        assert loaded.page_rate_limit.per_token == 3 and loaded.chat_format == "teams"
        assert loaded.sentiment.name_for("de") == "mypackage.german:Analyser"
        assert loaded.sentiment.name_for("fr") == "vader"

    @pytest.mark.parametrize("raw, line_start, found", [
        ({"throttle_days": -1}, "throttle_days: found -1; expected", "-1"),
        ({"token_bytes": 8}, "token_bytes: found 8; expected a whole number from 16 to 32", "8"),
        ({"reminders": {"count": "one"}}, "reminders.count: found 'one'", "one"),
        ({"sampling": 1.5}, "sampling: found 1.5; expected a number from 0.0 to 1.0", "1.5"),
        ({"languages": ["en", "xx"]}, "languages: found ['en', 'xx']", "xx"),
        ({"chat_format": "irc"}, "chat_format: found 'irc'; expected 'slack' or 'teams'", "irc"),
        ({"chat_webhook_url_env": "not a name"}, "chat_webhook_url_env: found 'not a name'", "not a name"),
        ({"email_enabled": "yes"}, "email_enabled: found 'yes'; expected true or false", "yes"),
        ({"sentiment": {"default": "some thing"}}, "sentiment.default: found 'some thing'", "some thing"),
        ({"page_rate_limit": {"per_ip": 0}}, "page_rate_limit.per_ip: found 0", "0"),
    ])
    def test_a_wrong_value_is_named_with_what_was_found_and_how_to_fix_it(self, raw, line_start, found):
        loaded, problems = load_survey_section(raw)
        assert len(problems) == 1, problems
        assert problems[0].startswith(line_start) and found in problems[0]
        assert problems[0].count(";") >= 2, "found; expected; fix"
        assert isinstance(loaded, SurveySettings)

    def test_unknown_keys_are_reported_not_ignored(self):
        _, problems = load_survey_section({"throtle_days": 3, "reminders": {"cuont": 1}})
        assert sorted(problems) == sorted([
            "throtle_days: unknown key; remove it or check its spelling against docs/surveys.md",
            "reminders.cuont: unknown key; remove it or check its spelling against docs/surveys.md"])

    def test_settings_are_immutable(self):
        loaded, _ = load_survey_section({"sentiment": {"by_language": {"de": "vader"}}})
        with pytest.raises(dataclasses.FrozenInstanceError):
            loaded.throttle_days = 1
        with pytest.raises(TypeError):
            loaded.sentiment.by_language["fr"] = "vader"


class TestConnectionSection:
    def test_defaults(self):
        loaded, problems = load_connection_surveys({}, tool="servicenow")
        assert problems == []
        assert loaded.channel == "comment" and loaded.enabled and not loaded.resurvey_after_reopen
        assert dict(loaded.triggers) == {"incident": ("resolved",), "request": ("resolved",),
                                         "change": ("implemented",)}
        assert loaded.always_ask.after_reopen and loaded.always_ask.after_sla_breach
        assert loaded.exclude.unreachable and "*automation*" in loaded.exclude.caller_patterns

    def test_every_setting_is_read(self):
        loaded, problems = load_connection_surveys({
            "enabled": True, "channel": "email", "sampling": 0.5, "resurvey_after_reopen": True,
            "triggers": {"incident": ["closed"], "request": [], "change": ["implemented", "closed_failed"]},
            "conditions": {"categories": ["Network"], "exclude_groups": ["Service Desk Tier 0"],
                           "services": ["Email"], "groups": [], "exclude_categories": [], "exclude_services": []},
            "always_ask": {"after_reopen": False, "after_sla_breach": True},
            "exclude": {"caller_patterns": ["robot-*"], "unreachable": False}}, tool="jira")
        assert problems == []
        assert loaded.channel == "email" and loaded.sampling == 0.5 and loaded.resurvey_after_reopen
        assert loaded.triggers["request"] == () and loaded.triggers["change"] == ("implemented", "closed_failed")
        assert loaded.conditions.categories == ("Network",)
        assert loaded.exclude.caller_patterns == ("robot-*",) and not loaded.exclude.unreachable

    def test_trigger_words_are_checked_per_ticket_kind(self):
        _, problems = load_connection_surveys({"triggers": {"change": ["resolved"], "incident": ["implemented"]}},
                                              tool="jira")
        assert any(line.startswith("triggers.change: found ['resolved']") for line in problems)
        assert any(line.startswith("triggers.incident: found ['implemented']") for line in problems)

    def test_wrong_channel_and_lists(self):
        _, problems = load_connection_surveys({"channel": "fax", "conditions": {"groups": "Network"}}, tool="jira")
        assert problems == [
            "channel: found 'fax'; expected 'comment' or 'email' or 'chat'; "
            "choose comment (a customer-visible comment the ITSM mails out), email or chat",
            "conditions.groups: found 'Network'; expected a list of non-empty strings; "
            "list the assignment groups surveyed exactly as the ticket shows them"]

    def test_followup_task_is_off_by_default_and_read_when_set(self):
        loaded, problems = load_connection_surveys({}, tool="jira")
        assert problems == [] and not loaded.followup_task and loaded.followup_task_group == ""
        loaded, problems = load_connection_surveys({"followup_task": True, "followup_task_group": " Service Desk "},
                                                   tool="servicenow")
        assert problems == [] and loaded.followup_task and loaded.followup_task_group == "Service Desk"

    @pytest.mark.parametrize("raw, line_start", [
        ({"followup_task": "yes"}, "followup_task: found 'yes'; expected true or false; "),
        ({"followup_task_group": 7}, "followup_task_group: found 7; expected a string of at most 100 characters; "),
        ({"followup_task_group": "x" * 101}, "followup_task_group: found 'xxx"),
    ])
    def test_wrong_followup_settings_are_named(self, raw, line_start):
        loaded, problems = load_connection_surveys(raw, tool="jira")
        assert len(problems) == 1 and problems[0].startswith(line_start) and problems[0].count(";") >= 2
        assert not loaded.followup_task and loaded.followup_task_group == ""

    def test_immutable(self):
        loaded, _ = load_connection_surveys({}, tool="jira")
        assert isinstance(loaded, ConnectionSurveys)
        with pytest.raises(TypeError):
            loaded.triggers["incident"] = ("closed",)


def test_the_settings_loader_validates_both_tables_with_full_key_paths():
    raw = {
        "surveys": {"throttle_days": "thirty"},
        "connections": [{"id": "snow", "tool": "servicenow", "base_url": "https://example.service-now.com",
                         "auth": {"kind": "basic", "user": "xla", "token_env": "SNOW_TOKEN"},
                         "surveys": {"channel": "pigeon"}}],
    }
    with pytest.raises(ConfigError) as caught:
        load_settings_from_mapping(raw)
    problems = caught.value.problems
    assert any(line.startswith("surveys.throttle_days: found 'thirty'") for line in problems), problems
    assert any(line.startswith("connections[0].surveys.channel: found 'pigeon'") for line in problems), problems


def test_the_settings_loader_builds_survey_objects():
    raw = {"surveys": {"throttle_days": 10},
           "connections": [{"id": "snow", "tool": "servicenow", "base_url": "https://example.service-now.com",
                            "auth": {"kind": "basic", "user": "xla", "token_env": "SNOW_TOKEN"},
                            "surveys": {"channel": "email"}}]}
    settings = load_settings_from_mapping(raw)
    assert isinstance(settings.surveys, SurveySettings) and settings.surveys.throttle_days == 10
    assert isinstance(settings.connections[0].surveys, ConnectionSurveys)
    assert settings.connections[0].surveys.tool == "servicenow"
