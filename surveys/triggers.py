"""When a ticket earns a follow-up survey, and when an open survey must be withdrawn.

The pipeline calls `plan_surveys` inside its transaction for every resolved, implemented, closed,
reopened or cancelled ticket, with the ticket as just fetched (never trusting event order). The
decision, in order:

1. a reopen (or a ticket that is open again) withdraws the ticket's open survey;
2. the connection surveys this kind of ticket on this lifecycle step, and its conditions admit it;
3. the ticket has no open survey, and none from this resolution already (a repeated event);
   after a reopen, an answered survey blocks another unless `resurvey_after_reopen`;
4. the caller is a person who can be reached and has not opted out;
5. unless an always-ask override applies (reopened, SLA breached): the ticket is in the sample and
   the person was not surveyed within `throttle_days` on any connection.

A survey that passes is created as a `pending` row and a `send_survey` job is returned for the
pipeline to enqueue in the same transaction.
"""
from __future__ import annotations

import fnmatch
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from domain.events import Lifecycle, TicketEvent
from domain.ticket import Person, Stage, Ticket, TicketKind
from jobs.queue import NewJob
from ops.metrics import SURVEYS
from storage.clock import as_utc
from storage.models import Survey, SurveyPerson
from surveys.config import ConnectionSurveys, SurveySettings, connection_surveys, survey_settings
from surveys.i18n import pick_language
from surveys.identity import person_key
from surveys.tokens import derive_token, hash_token, new_salt, service_secret

log = logging.getLogger("xla.surveys")

OPEN_STATES = ("pending", "sent")
# What each configured trigger word answers to among the lifecycle steps of an event.
TRIGGER_STEPS = {
    "resolved": {Lifecycle.RESOLVED},
    "closed": {Lifecycle.CLOSED, Lifecycle.CLOSED_SUCCESSFUL, Lifecycle.CLOSED_FAILED},
    "implemented": {Lifecycle.IMPLEMENTED},
    "closed_successful": {Lifecycle.CLOSED_SUCCESSFUL},
    "closed_failed": {Lifecycle.CLOSED_FAILED},
}
WITHDRAWING_STEPS = {Lifecycle.REOPENED, Lifecycle.CANCELED, Lifecycle.DELETED}
# Incidents and requests are surveyed about their outcome, so they must be resolved or closed now.
DONE_STAGES = {Stage.RESOLVED, Stage.CLOSED}
OPEN_STAGES = {Stage.NEW, Stage.IN_PROGRESS, Stage.ON_HOLD}


@dataclass(frozen=True)
class SurveyPlan:
    """What `plan_survey` decided: `outcome` is "created", "withdrawn" or "skipped", with a reason."""

    outcome: str
    reason: str
    jobs: list[NewJob] = field(default_factory=list)
    survey_id: int | None = None
    withdrawn: int = 0


def plan_surveys(session: Session, settings, connection, ticket: Ticket, event: TicketEvent, *,
                 now: datetime) -> list[NewJob]:
    """Decide about a survey for `ticket` after `event`; the jobs to enqueue in the caller's transaction.

    `connection` is the connection's settings (or its id). Creates the `pending` Survey row when a
    survey is due and returns its `send_survey` job; cancels the ticket's open survey on a reopen.
    Raises surveys.tokens.SurveySecretMissing when the service secret is not configured, and
    settings.ConfigError when survey settings built in code are invalid.
    """
    return plan_survey(session, settings, connection, ticket, event, now=now).jobs


def plan_survey(session: Session, settings, connection, ticket: Ticket, event: TicketEvent, *,
                now: datetime) -> SurveyPlan:
    """`plan_surveys` with the reason of the decision (for logs, preview and tests)."""
    if isinstance(connection, str):
        connection = settings.connection(connection)
        if connection is None:
            raise KeyError(f"no connection with id {ticket.connection_id!r} in the configuration")
    service = survey_settings(settings)
    rules = connection_surveys(connection)
    steps = set(event.lifecycle)

    withdrawn = 0
    reopened_now = ticket.kind in (TicketKind.INCIDENT, TicketKind.REQUEST) and ticket.stage in OPEN_STAGES
    if steps & WITHDRAWING_STEPS or reopened_now or ticket.stage == Stage.CANCELED:
        withdrawn = withdraw_open_surveys(session, ticket.connection_id, ticket.ticket_key, now=now)
        if withdrawn:
            SURVEYS.labels(ticket.connection_id, "cancelled").inc(withdrawn)
            log.info("survey.cancelled", extra={"connection": ticket.connection_id, "ticket": ticket.ticket_key,
                                                "surveys": withdrawn})
    plan = _decide(session, settings, service, rules, ticket, steps, now=now)
    if withdrawn and plan.outcome == "skipped":
        plan = SurveyPlan("withdrawn", "reopened" if Lifecycle.REOPENED in steps or reopened_now else "cancelled",
                          withdrawn=withdrawn)
    if plan.outcome == "skipped":
        SURVEYS.labels(ticket.connection_id, f"skipped_{plan.reason}").inc()
        log.info("survey.skipped", extra={"connection": ticket.connection_id, "ticket": ticket.ticket_key,
                                          "reason": plan.reason})
    return plan


def withdraw_open_surveys(session: Session, connection_id: str, ticket_key: str, *, now: datetime) -> int:
    """Cancel the ticket's pending or sent surveys; their links stop working at once. Returns how many.

    A withdrawn survey no longer counts for the throttle, so the person can be asked about the
    ticket's next resolution.
    """
    people = session.execute(select(Survey.person_key).where(
        Survey.connection_id == connection_id, Survey.ticket_key == ticket_key,
        Survey.state.in_(OPEN_STATES))).scalars().all()
    if not people:
        return 0
    count = session.execute(update(Survey).where(
        Survey.connection_id == connection_id, Survey.ticket_key == ticket_key, Survey.state.in_(OPEN_STATES))
        .values(state="cancelled", recipient=None, next_reminder_at=None)).rowcount
    for key in set(people):
        last = session.execute(select(func.max(Survey.created_at)).where(
            Survey.person_key == key, Survey.state != "cancelled")).scalar_one_or_none()
        session.execute(update(SurveyPerson).where(SurveyPerson.person_key == key)
                        .values(last_surveyed_at=last))
    return count


def in_sample(connection_id: str, ticket_key: str, rate: float) -> bool:
    """Deterministic per ticket: the same ticket is always in or out of a given sampling rate."""
    if rate >= 1.0:
        return True
    digest = hashlib.sha256(f"sample:{connection_id}:{ticket_key}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64 < rate


def is_system_caller(person: Person, patterns: tuple[str, ...]) -> bool:
    """True when the caller's name, login or mailbox matches a system/automation pattern."""
    names = [person.name, person.key]
    if person.email:
        names.append(person.email.split("@", 1)[0])
    lowered = [name.casefold() for name in names if name]
    return any(fnmatch.fnmatchcase(name, pattern.casefold()) for name in lowered for pattern in patterns)


# ---------------------------------------------------------------------------------------------


def _decide(session: Session, settings, service: SurveySettings, rules: ConnectionSurveys, ticket: Ticket,
            steps: set[Lifecycle], *, now: datetime) -> SurveyPlan:
    trigger = _matching_trigger(rules, ticket, steps)
    if trigger is None:
        return SurveyPlan("skipped", "no_trigger")
    refusal = _condition_refusal(rules, ticket)
    if refusal:
        return SurveyPlan("skipped", refusal)

    cycle = ticket.reopen_count or 0
    earlier = session.execute(select(Survey.state, Survey.resolution_cycle).where(
        Survey.connection_id == ticket.connection_id, Survey.ticket_key == ticket.ticket_key)).all()
    if any(state in OPEN_STATES for state, _ in earlier):
        return SurveyPlan("skipped", "already_open")
    if any(state != "cancelled" and (seen or 0) >= cycle for state, seen in earlier):
        return SurveyPlan("skipped", "already_surveyed")
    if any(state == "answered" for state, _ in earlier) and not rules.resurvey_after_reopen:
        return SurveyPlan("skipped", "answered_before_reopen")

    caller = ticket.caller
    if caller is not None and is_system_caller(caller, rules.exclude.caller_patterns):
        return SurveyPlan("skipped", "system_caller")
    channel = _reachable_channel(settings, service, rules, caller)
    if channel is None and rules.exclude.unreachable:
        return SurveyPlan("skipped", "unreachable")
    channel = channel or "comment"

    secret = service_secret(settings)
    key = person_key(secret, caller, ticket.connection_id) or \
        hashlib.sha256(f"ticket:{ticket.connection_id}:{ticket.ticket_key}".encode("utf-8")).hexdigest()
    person = _lock_person(session, key)
    if person.opted_out_at is not None:
        return SurveyPlan("skipped", "opted_out")

    override = None
    if rules.always_ask.after_reopen and cycle > 0:
        override = "reopened_override"
    elif rules.always_ask.after_sla_breach and ticket.sla_breached:
        override = "sla_breach_override"
    if override is None:
        rate = rules.sampling if rules.sampling is not None else service.sampling
        if not in_sample(ticket.connection_id, ticket.ticket_key, rate):
            return SurveyPlan("skipped", "not_sampled")
        last = as_utc(person.last_surveyed_at)
        if last is not None and now - last < timedelta(days=service.throttle_days):
            return SurveyPlan("skipped", "throttled")

    survey = _create_survey(session, secret, service, ticket, key, channel, override or trigger, cycle, now=now)
    person.last_surveyed_at = now
    SURVEYS.labels(ticket.connection_id, "created").inc()
    log.info("survey.created", extra={"connection": ticket.connection_id, "ticket": ticket.ticket_key,
                                      "survey": survey.id, "channel": channel, "reason": survey.reason})
    job = NewJob(kind="send_survey", dedupe_key=f"survey:send:{survey.id}", payload={"survey_id": survey.id},
                 connection_id=ticket.connection_id, ticket_key=ticket.ticket_key)
    return SurveyPlan("created", survey.reason, jobs=[job], survey_id=survey.id)


def _matching_trigger(rules: ConnectionSurveys, ticket: Ticket, steps: set[Lifecycle]) -> str | None:
    if not rules.enabled:
        return None
    for word in rules.triggers.get(ticket.kind.value, ()):
        if steps & TRIGGER_STEPS[word]:
            if ticket.kind in (TicketKind.INCIDENT, TicketKind.REQUEST) and ticket.stage not in DONE_STAGES:
                return None  # the event is stale: the ticket is open again
            if ticket.stage == Stage.CANCELED:
                return None
            return word
    return None


def _condition_refusal(rules: ConnectionSurveys, ticket: Ticket) -> str | None:
    checks = (("category", ticket.category, rules.conditions.categories, rules.conditions.exclude_categories),
              ("group", ticket.assignment_group, rules.conditions.groups, rules.conditions.exclude_groups),
              ("service", ticket.service, rules.conditions.services, rules.conditions.exclude_services))
    for name, value, wanted, unwanted in checks:
        folded = (value or "").casefold()
        if wanted and folded not in {item.casefold() for item in wanted}:
            return f"{name}_not_included"
        if unwanted and folded in {item.casefold() for item in unwanted}:
            return f"{name}_excluded"
    return None


def _reachable_channel(settings, service: SurveySettings, rules: ConnectionSurveys,
                       caller: Person | None) -> str | None:
    """The configured channel, or the ticket comment when that channel cannot reach the caller.

    None when nobody can be reached: no caller, or a caller who has left (inactive).
    """
    if caller is None or not caller.active:
        return None
    if rules.channel == "email":
        if service.email_enabled and getattr(settings.mail, "host", "") and caller.email:
            return "email"
        return "comment"
    if rules.channel == "chat":
        return "chat" if service.chat_webhook_url_env else "comment"
    return "comment"


def _lock_person(session: Session, key: str) -> SurveyPerson:
    """The person's throttle row, created if new and locked until the transaction ends.

    On PostgreSQL two workers surveying the same person for different tickets would otherwise both
    read "not surveyed yet"; the row lock makes the second wait and see the first one's survey.
    SQLite transactions here already hold the database's write lock from BEGIN.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(SurveyPerson).values(person_key=key).on_conflict_do_nothing(
        index_elements=["person_key"]))
    query = select(SurveyPerson).where(SurveyPerson.person_key == key).execution_options(populate_existing=True)
    if dialect == "postgresql":
        query = query.with_for_update()
    return session.execute(query).scalar_one()


def _create_survey(session: Session, secret: bytes, service: SurveySettings, ticket: Ticket, key: str,
                   channel: str, reason: str, cycle: int, *, now: datetime) -> Survey:
    salt = new_salt()
    caller = ticket.caller
    language = pick_language(ticket.language or (caller.language if caller else None), service.languages)
    survey = Survey(
        # The token depends on the row id, which exists only after the insert: a unique placeholder
        # holds the column until the real hash replaces it a statement later.
        token_hash=f"unset:{salt}", token_salt=salt, token_bytes=service.token_bytes,
        connection_id=ticket.connection_id, ticket_key=ticket.ticket_key, ticket_number=ticket.number,
        person_key=key, channel=channel, language=language, reason=reason, state="pending", created_at=now,
        expires_at=now + timedelta(days=service.expiry_days), reminders_sent=0,
        recipient=caller.email.strip() if channel == "email" and caller and caller.email else None,
        resolution_cycle=cycle, resolution_version=ticket.version)
    session.add(survey)
    session.flush()
    survey.token_hash = hash_token(derive_token(secret, survey.id, salt, service.token_bytes))
    session.flush()
    return survey
