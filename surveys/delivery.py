"""Turning a stored survey into a message and handing it to its channel.

The link is rebuilt from the service secret and the survey's salt, and checked against the
stored hash before anything is sent: if the secret was changed since the survey was created, the
rebuilt link would lead nowhere, and sending it would only confuse the person.
"""
from __future__ import annotations

from datetime import datetime

from storage.clock import as_utc
from storage.models import Survey
from surveys.channels import Delivery, DeliveryFailed
from surveys.channels.chat import build_chat_payload, chat_webhook_url, post_chat_message
from surveys.channels.comment import deliver_by_comment
from surveys.channels.mail import build_survey_email, send_email
from surveys.config import survey_settings
from surveys.links import opt_out_link, survey_link
from surveys.tokens import derive_token, hash_token, service_secret


def rebuild_token(settings, survey: Survey) -> str:
    """The survey's link token, derived again; raises DeliveryFailed (not retryable) if it no longer matches."""
    if not survey.token_salt or not survey.token_bytes:
        raise DeliveryFailed(f"survey {survey.id} has no token salt; it cannot be sent", retryable=False)
    token = derive_token(service_secret(settings), survey.id, survey.token_salt, survey.token_bytes)
    if hash_token(token) != survey.token_hash:
        raise DeliveryFailed(f"survey {survey.id}: the service secret changed since the survey was created, so its "
                             "link cannot be rebuilt; it will expire unsent", retryable=False)
    return token


def build_delivery(settings, survey: Survey, reminder: int = 0) -> Delivery:
    """Everything a channel needs to send survey `survey` (reminder number `reminder`, 0 for the first)."""
    token = rebuild_token(settings, survey)
    public_url = settings.service.public_url
    return Delivery(
        survey_id=survey.id, connection_id=survey.connection_id, ticket_key=survey.ticket_key,
        ticket_number=survey.ticket_number or survey.ticket_key, language=survey.language,
        link=survey_link(public_url, token), opt_out_link=opt_out_link(public_url, token),
        rating_links=tuple(survey_link(public_url, token, rating) for rating in range(11)),
        expires_at=as_utc(survey.expires_at), reminder=reminder, recipient=survey.recipient)


def deliver(runtime, survey: Survey, delivery: Delivery) -> str:
    """Send `delivery` on the survey's channel. Returns "sent", or "already_sent" when the ticket
    comment was found in place (a retry after a crash).

    Raises connector errors (comment channel) or DeliveryFailed (e-mail, chat).
    """
    settings = runtime.settings
    if survey.channel == "email":
        if not delivery.recipient:
            raise DeliveryFailed(f"survey {survey.id} has no e-mail address left to send to", retryable=False)
        send_email(settings.mail, build_survey_email(delivery, settings.mail.sender))
        return "sent"
    if survey.channel == "chat":
        service = survey_settings(settings)
        post_chat_message(chat_webhook_url(service.chat_webhook_url_env),
                          build_chat_payload(service.chat_format, delivery))
        return "sent"
    written = deliver_by_comment(runtime.connector(survey.connection_id), delivery)
    return "sent" if written else "already_sent"


def is_expired(survey: Survey, now: datetime) -> bool:
    return as_utc(survey.expires_at) <= now
