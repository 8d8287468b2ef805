"""Survey settings: the service-wide `[surveys]` table and each connection's `[connections.surveys]`.

`settings.loader` calls the two loaders below; each returns `(settings object, problems)`, where
every problem is one line `key.path: found X; expected Y; how to fix it` and the object holds the
defaults wherever the file was wrong, so all problems of a file are reported in one pass. The
objects are frozen dataclasses (mappings inside them are read-only views).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from settings.errors import ConfigError

SUPPORTED_LANGUAGES = ("en", "de", "fr")
CHANNELS = ("comment", "email", "chat")
CHAT_FORMATS = ("slack", "teams")
TICKET_KINDS = ("incident", "request", "change")
# Which lifecycle words each ticket kind may be surveyed on, and the defaults: incidents and
# requests when resolved, changes when implemented.
TRIGGER_CHOICES = {
    "incident": ("resolved", "closed"),
    "request": ("resolved", "closed"),
    "change": ("implemented", "closed", "closed_successful", "closed_failed"),
}
DEFAULT_TRIGGERS = {"incident": ("resolved",), "request": ("resolved",), "change": ("implemented",)}
# Callers that are accounts of machines, not people: monitoring, integrations, mail robots.
DEFAULT_CALLER_PATTERNS = ("system", "admin", "svc-*", "svc_*", "*automation*", "*integration*",
                           "*monitoring*", "*noreply*", "*no-reply*", "*bot")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ANALYSER_NAME = re.compile(r"^(vader|[A-Za-z_][\w.]*:[A-Za-z_]\w*)$")


@dataclass(frozen=True)
class ReminderPolicy:
    count: int = 1            # reminders after the first message; past the second they add little
    after_days: float = 2.0   # days after the previous message


@dataclass(frozen=True)
class PageRateLimit:
    """Fixed windows shared by every server process (the `rate_buckets` table)."""

    per_ip: int = 60
    per_token: int = 20
    window_s: int = 60


@dataclass(frozen=True)
class SentimentChoice:
    """Which analyser reads comments: `vader` or `package.module:ClassName`, per language."""

    default: str = "vader"
    by_language: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def name_for(self, language: str | None) -> str:
        return self.by_language.get((language or "").lower(), self.default)


@dataclass(frozen=True)
class SurveySettings:
    """The service-wide `[surveys]` table."""

    throttle_days: float = 30.0
    expiry_days: float = 14.0
    reminders: ReminderPolicy = field(default_factory=ReminderPolicy)
    token_bytes: int = 32
    languages: tuple[str, ...] = SUPPORTED_LANGUAGES
    page_rate_limit: PageRateLimit = field(default_factory=PageRateLimit)
    sampling: float = 1.0
    chat_webhook_url_env: str | None = None
    chat_format: str = "slack"
    email_enabled: bool = True
    sentiment: SentimentChoice = field(default_factory=SentimentChoice)
    comment_max_chars: int = 2000

    @property
    def default_language(self) -> str:
        return self.languages[0]


@dataclass(frozen=True)
class Conditions:
    """Which tickets of a connection are surveyed; an empty list means "any"."""

    categories: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    exclude_categories: tuple[str, ...] = ()
    exclude_groups: tuple[str, ...] = ()
    exclude_services: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlwaysAsk:
    """Moments that earn a survey even when the person was asked recently or the ticket was not sampled."""

    after_reopen: bool = True
    after_sla_breach: bool = True


@dataclass(frozen=True)
class Exclusions:
    """Callers never surveyed (opted-out people are never surveyed whatever this says)."""

    caller_patterns: tuple[str, ...] = DEFAULT_CALLER_PATTERNS
    unreachable: bool = True


@dataclass(frozen=True)
class ConnectionSurveys:
    """One connection's `[connections.surveys]` table."""

    tool: str = ""
    enabled: bool = True
    channel: str = "comment"
    triggers: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType(dict(DEFAULT_TRIGGERS)))
    conditions: Conditions = field(default_factory=Conditions)
    sampling: float | None = None      # None: the service-wide rate
    always_ask: AlwaysAsk = field(default_factory=AlwaysAsk)
    exclude: Exclusions = field(default_factory=Exclusions)
    resurvey_after_reopen: bool = False
    followup_task: bool = False         # a detractor's answer also opens a follow-up task
    followup_task_group: str = ""       # assignment group (name or id) of that task; "" leaves it unassigned


# ---------------------------------------------------------------------------------------------
# loaders


def load_survey_section(raw: Mapping[str, Any] | None) -> tuple[SurveySettings, list[str]]:
    """Validate the service-wide `[surveys]` table. Never raises; problems come back as lines."""
    problems: list[str] = []
    table = _Table(raw or {}, "", problems)
    reminders = table.table("reminders")
    rate = table.table("page_rate_limit")
    sentiment = table.table("sentiment")
    languages = table.words("languages", SUPPORTED_LANGUAGES,
                            "list language codes the survey is offered in, the default first, e.g. [\"en\", \"de\"]")
    unknown = [code for code in languages if code not in SUPPORTED_LANGUAGES]
    if unknown or not languages:
        problems.append(f"languages: found {list(languages)!r}; expected a non-empty list drawn from "
                        f"{list(SUPPORTED_LANGUAGES)}; remove the others or add their translations first")
        languages = SUPPORTED_LANGUAGES
    result = SurveySettings(
        throttle_days=table.number("throttle_days", 30.0, minimum=0,
                                   fix="set the days between two surveys of one person (0 asks every time)"),
        expiry_days=table.number("expiry_days", 14.0, minimum=0.001, fix="set the days a survey link stays valid"),
        reminders=ReminderPolicy(
            count=reminders.whole("count", 1, minimum=0, maximum=5,
                                  fix="set how many reminders follow the first message (more than 2 adds little)"),
            after_days=reminders.number("after_days", 2.0, minimum=0.001,
                                        fix="set the days between the previous message and a reminder")),
        token_bytes=table.whole("token_bytes", 32, minimum=16, maximum=32,
                                fix="set the random bytes in each link's token: 16 (128 bits) at least, 32 at most"),
        languages=tuple(languages),
        page_rate_limit=PageRateLimit(
            per_ip=rate.whole("per_ip", 60, minimum=1,
                              fix="set the page requests one client address may make per window"),
            per_token=rate.whole("per_token", 20, minimum=1,
                                 fix="set the requests one survey link may receive per window"),
            window_s=rate.whole("window_s", 60, minimum=1, fix="set the length of a rate window in seconds")),
        sampling=table.fraction("sampling", 1.0, fix="set the share of eligible tickets surveyed (1.0 surveys all)"),
        chat_webhook_url_env=table.env_name("chat_webhook_url_env", None,
                                            fix="name the environment variable holding the chat incoming-webhook URL"),
        chat_format=table.choice("chat_format", "slack", CHAT_FORMATS,
                                 fix="choose the chat tool the webhook belongs to"),
        email_enabled=table.flag("email_enabled", True, fix="write false to never send survey e-mails"),
        sentiment=SentimentChoice(
            default=sentiment.analyser("default", "vader"),
            by_language=MappingProxyType(sentiment.analyser_map("by_language"))),
        comment_max_chars=table.whole("comment_max_chars", 2000, minimum=100, maximum=20000,
                                      fix="set the longest comment accepted on the survey page"),
    )
    for section in (table, reminders, rate, sentiment):
        section.finish()
    return result, problems


def load_connection_surveys(raw: Mapping[str, Any] | None, *, tool: str) -> tuple[ConnectionSurveys, list[str]]:
    """Validate one connection's `[connections.surveys]` table. Never raises."""
    problems: list[str] = []
    table = _Table(raw or {}, "", problems)
    triggers_table = table.table("triggers")
    triggers: dict[str, tuple[str, ...]] = {}
    for kind in TICKET_KINDS:
        allowed = TRIGGER_CHOICES[kind]
        chosen = triggers_table.words(kind, DEFAULT_TRIGGERS[kind],
                                      f"list when a {kind} is surveyed, from {list(allowed)}; [] never surveys it")
        wrong = [word for word in chosen if word not in allowed]
        if wrong:
            problems.append(f"triggers.{kind}: found {list(chosen)!r}; expected words from {list(allowed)}; "
                            f"remove {wrong!r}")
            chosen = DEFAULT_TRIGGERS[kind]
        triggers[kind] = tuple(dict.fromkeys(chosen))
    conditions = table.table("conditions")
    always = table.table("always_ask")
    exclude = table.table("exclude")
    sampling = table.fraction("sampling", None, fix="set the share of this connection's eligible tickets surveyed, "
                                                    "or leave it out to use [surveys].sampling")

    def names(section: _Table, key: str, what: str) -> tuple[str, ...]:
        return section.words(key, (), f"list {what} exactly as the ticket shows them")

    result = ConnectionSurveys(
        tool=tool,
        enabled=table.flag("enabled", True, fix="write false to never survey this connection's tickets"),
        channel=table.choice("channel", "comment", CHANNELS,
                             fix="choose comment (a customer-visible comment the ITSM mails out), email or chat"),
        triggers=MappingProxyType(triggers),
        conditions=Conditions(
            categories=names(conditions, "categories", "the categories surveyed"),
            groups=names(conditions, "groups", "the assignment groups surveyed"),
            services=names(conditions, "services", "the services surveyed"),
            exclude_categories=names(conditions, "exclude_categories", "categories never surveyed"),
            exclude_groups=names(conditions, "exclude_groups", "assignment groups never surveyed"),
            exclude_services=names(conditions, "exclude_services", "services never surveyed")),
        sampling=sampling,
        always_ask=AlwaysAsk(
            after_reopen=always.flag("after_reopen", True, fix="write true to ask after a reopen even when throttled"),
            after_sla_breach=always.flag("after_sla_breach", True,
                                         fix="write true to ask after an SLA breach even when throttled")),
        exclude=Exclusions(
            caller_patterns=exclude.words("caller_patterns", DEFAULT_CALLER_PATTERNS,
                                          "list name patterns (* and ?) of system or automation callers"),
            unreachable=exclude.flag("unreachable", True,
                                     fix="write true to skip callers the chosen channel cannot reach")),
        resurvey_after_reopen=table.flag("resurvey_after_reopen", False,
                                         fix="write true to survey a reopened ticket again after its next resolution"),
        followup_task=table.flag("followup_task", False,
                                 fix="write true to open a follow-up task for every detractor (rating 0-6)"),
        followup_task_group=table.text("followup_task_group", "", maximum=100,
                                       fix="name the assignment group (its name or id) the follow-up task goes to, "
                                           "or write \"\" to leave it unassigned"),
    )
    for section in (table, triggers_table, conditions, always, exclude):
        section.finish()
    return result, problems


def survey_settings(settings) -> SurveySettings:
    """The service-wide survey settings of `settings`, validating a plain mapping if one is found.

    Raises ConfigError when a mapping (a `Settings` built in code) holds invalid values.
    """
    value = getattr(settings, "surveys", None)
    if isinstance(value, SurveySettings):
        return value
    loaded, problems = load_survey_section(dict(value or {}))
    if problems:
        raise ConfigError([f"surveys.{line}" for line in problems])
    return loaded


def connection_surveys(connection) -> ConnectionSurveys:
    """The survey settings of one connection (see `survey_settings`); raises ConfigError likewise."""
    value = getattr(connection, "surveys", None)
    if isinstance(value, ConnectionSurveys):
        return value
    loaded, problems = load_connection_surveys(dict(value or {}), tool=getattr(connection, "tool", ""))
    if problems:
        raise ConfigError([f"connections.{connection.id}.surveys.{line}" for line in problems])
    return loaded


class _Table:
    """Reads one TOML table key by key, recording a problem line for every wrong value."""

    def __init__(self, raw: Any, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        if not isinstance(raw, Mapping):
            self._problem("", raw, "a table of keys", "write it as a [table] or { key = value }")
            raw = {}
        self.raw = dict(raw)
        self.seen: set[str] = set()

    def _where(self, key: str) -> str:
        return f"{self.path}.{key}".strip(".") if key else self.path

    def _problem(self, key: str, found: Any, expected: str, fix: str) -> None:
        self.problems.append(f"{self._where(key)}: found {found!r}; expected {expected}; {fix}")

    def _take(self, key: str) -> tuple[bool, Any]:
        self.seen.add(key)
        return (key in self.raw), self.raw.get(key)

    def table(self, key: str) -> "_Table":
        present, value = self._take(key)
        return _Table(value if present else {}, self._where(key), self.problems)

    def whole(self, key: str, default: int, *, minimum: int | None = None, maximum: int | None = None,
              fix: str) -> int:
        present, value = self._take(key)
        if not present:
            return default
        in_range = isinstance(value, int) and not isinstance(value, bool) and \
            (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
        if not in_range:
            self._problem(key, value, _range_words("a whole number", minimum, maximum), fix)
            return default
        return value

    def number(self, key: str, default: float, *, minimum: float, fix: str) -> float:
        present, value = self._take(key)
        if not present:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
            self._problem(key, value, f"a number of at least {minimum:g}", fix)
            return default
        return float(value)

    def fraction(self, key: str, default: float | None, *, fix: str) -> float | None:
        present, value = self._take(key)
        if not present:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            self._problem(key, value, "a number from 0.0 to 1.0", fix)
            return default
        return float(value)

    def flag(self, key: str, default: bool, *, fix: str) -> bool:
        present, value = self._take(key)
        if not present:
            return default
        if not isinstance(value, bool):
            self._problem(key, value, "true or false", fix)
            return default
        return value

    def choice(self, key: str, default: str, options: tuple[str, ...], *, fix: str) -> str:
        present, value = self._take(key)
        if not present:
            return default
        if value not in options:
            self._problem(key, value, " or ".join(repr(o) for o in options), fix)
            return default
        return value

    def words(self, key: str, default: tuple[str, ...], fix: str) -> tuple[str, ...]:
        present, value = self._take(key)
        if not present:
            return tuple(default)
        if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
            self._problem(key, value, "a list of non-empty strings", fix)
            return tuple(default)
        return tuple(item.strip() for item in value)

    def text(self, key: str, default: str, *, maximum: int, fix: str) -> str:
        present, value = self._take(key)
        if not present:
            return default
        if not isinstance(value, str) or len(value.strip()) > maximum:
            self._problem(key, value, f"a string of at most {maximum} characters", fix)
            return default
        return value.strip()

    def env_name(self, key: str, default: str | None, *, fix: str) -> str | None:
        present, value = self._take(key)
        if not present:
            return default
        if not isinstance(value, str) or not ENV_NAME.match(value):
            self._problem(key, value, "an environment variable name (letters, digits, _)", fix)
            return default
        return value

    def analyser(self, key: str, default: str) -> str:
        present, value = self._take(key)
        if not present:
            return default
        if not isinstance(value, str) or not ANALYSER_NAME.match(value):
            self._problem(key, value, "vader or package.module:ClassName",
                          "name the sentiment analyser to use (see docs/surveys.md)")
            return default
        return value

    def analyser_map(self, key: str) -> dict[str, str]:
        present, value = self._take(key)
        if not present:
            return {}
        if not isinstance(value, Mapping):
            self._problem(key, value, "a table of language = analyser",
                          "write e.g. by_language = { de = \"mypackage.german:Analyser\" }")
            return {}
        chosen: dict[str, str] = {}
        for language, name in value.items():
            if not isinstance(name, str) or not ANALYSER_NAME.match(name):
                self._problem(f"{key}.{language}", name, "vader or package.module:ClassName",
                              "name the sentiment analyser for this language")
                continue
            chosen[str(language).lower()] = name
        return chosen

    def finish(self) -> None:
        """Report keys nobody read: misspellings would otherwise be silently ignored."""
        for key in self.raw:
            if key not in self.seen:
                self.problems.append(f"{self._where(key)}: unknown key; remove it or check its spelling "
                                     "against docs/surveys.md")


def _range_words(kind: str, minimum, maximum) -> str:
    if minimum is not None and maximum is not None:
        return f"{kind} from {minimum} to {maximum}"
    if minimum is not None:
        return f"{kind} of at least {minimum}"
    return kind
