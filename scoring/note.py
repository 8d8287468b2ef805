"""The internal note an agent reads in five seconds: one headline, then two to four bullets.

    Experience 34/100 (poor, predicted) | risk high | confidence 46% | xi-1.0+888bad
    - reassigned 3 times
    - SLA breached
    - 2.4x the target resolution time
    - major incident INC0012345 is open on the same CI

Bullets are the score's reasons first, then context an agent should know before replying (a
VIP caller, an open major incident, a change on the CI, the caller's recent tickets), never
repeating a reason. Plain text with "- " bullets reads the same in ServiceNow work notes and
Jira comments. Equal inputs give the same text.
"""
from __future__ import annotations

from typing import Any, Mapping

from domain.ticket import Ticket
from scoring.context import IN_PROGRESS_CHANGE, RECENT_CHANGE, ExperienceContext
from scoring.indicators import change_words, last_rating_words, major_incident_words, repeat_contact_words
from scoring.model import ScoringModel
from scoring.risk import experience_risk
from scoring.score import Score

MIN_BULLETS, MAX_BULLETS = 2, 4


def _context_facts(ticket: Ticket, context: ExperienceContext) -> list[str]:
    """What an agent should know about the situation, in the order it matters to a reply."""
    facts = []
    if ticket.vip:
        facts.append("VIP caller")
    if context.open_major_incident:
        facts.append(major_incident_words(context.major_incident_number))
    if context.change_on_ci in (IN_PROGRESS_CHANGE, RECENT_CHANGE):
        facts.append(change_words(context.change_on_ci, context.change_number))
    if context.repeat_contact:
        facts.append(repeat_contact_words(context.repeat_of))
    if context.caller_recent_tickets:
        poor = context.caller_recent_poor or 0
        facts.append(f"caller's recent tickets: {context.caller_recent_tickets}"
                     + (f", {poor} with a poor experience" if poor else ", none poor"))
    if context.last_survey_rating is not None:
        facts.append(last_rating_words(context.last_survey_rating))
    if context.sla_at_risk and not context.sla_breached:
        facts.append("SLA at risk")
    return facts


def _counted(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _fallbacks(ticket: Ticket) -> list[str]:
    """Lines that keep a quiet note at two bullets: the counts, then an all-clear."""
    return [f"{_counted(ticket.reassignment_count, 'reassignment')} and "
            f"{_counted(ticket.reopen_count, 'reopen')} so far",
            "no other warning signs"]


def render_context_note(ticket: Ticket, context: ExperienceContext | Mapping[str, Any] | None, score: Score, *,
                        model: ScoringModel | None = None, risk: str | None = None) -> str:
    """The note text for `ticket`. Pure and deterministic; raises ValueError for an unknown context key.

    Pass the `risk` written to the ticket's risk field so note and field agree; without it the
    risk is computed here (with the ticket's VIP flag).
    """
    context = ExperienceContext.coerce(context)
    risk = risk or experience_risk(context, score, vip=ticket.vip, model=model)
    source = "survey" if score.from_survey else "predicted"
    headline = (f"Experience {score.score}/100 ({score.band}, {source}) | risk {risk} | "
                f"confidence {score.confidence:.0%} | {score.model_version}")
    bullets: list[str] = []
    for line in [*score.reasons, *_context_facts(ticket, context)]:
        if line not in bullets and len(bullets) < MAX_BULLETS:
            bullets.append(line)
    for line in _fallbacks(ticket):
        if len(bullets) < MIN_BULLETS and line not in bullets:
            bullets.append(line)
    return "\n".join([headline, *(f"- {bullet}" for bullet in bullets)])
