"""The chat channel: a message with the survey link posted to an incoming webhook (Slack or Teams).

The webhook address is a secret (anyone holding it can post), so it is read from the environment
variable named by `[surveys].chat_webhook_url_env` and never logged. Slack gets a Block Kit
message with link previews off (a preview bot opening the link records nothing, but there is no
reason to invite it); Teams gets an Adaptive Card in the message envelope Teams webhooks accept.
"""
from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

import requests

from surveys.channels import Delivery, DeliveryFailed
from surveys.i18n import translate

CHAT_TIMEOUT_S = 10.0


def build_chat_payload(chat_format: str, delivery: Delivery) -> dict:
    """The JSON body for a `slack` or `teams` incoming webhook; raises ValueError for other formats."""
    text = translate(delivery.language, "chat_text", number=delivery.ticket_number, link=delivery.link)
    button = translate(delivery.language, "chat_button")
    if chat_format == "slack":
        return {
            "text": text,
            "unfurl_links": False,
            "unfurl_media": False,
            "blocks": [
                {"type": "section", "text": {"type": "plain_text", "text": text}},
                {"type": "actions", "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": button}, "url": delivery.link,
                     "style": "primary"}]},
            ],
        }
    if chat_format == "teams":
        return {
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "lang": delivery.language,
                    "body": [{"type": "TextBlock", "text": text, "wrap": True}],
                    "actions": [{"type": "Action.OpenUrl", "title": button, "url": delivery.link}],
                },
            }],
        }
    raise ValueError(f"unknown chat format {chat_format!r}; expected slack or teams")


def chat_webhook_url(env_name: str | None) -> str:
    """The webhook address from the environment; raises DeliveryFailed (not retryable) when unusable.

    Only https is accepted, except plain http to a loopback address (tests and the demo).
    """
    if not env_name or not os.environ.get(env_name):
        raise DeliveryFailed(f"environment variable {env_name or '(surveys.chat_webhook_url_env)'} holding the chat "
                             "webhook address is not set", retryable=False)
    url = os.environ[env_name]
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return url
    raise DeliveryFailed(f"the chat webhook address in {env_name} must use https", retryable=False)


def post_chat_message(url: str, payload: dict) -> None:
    """POST `payload` to the webhook.

    Raises DeliveryFailed: retryable on timeouts, connection trouble, 429 (with its Retry-After)
    and 5xx; not retryable on other refusals (a revoked webhook answers 404 or 410).
    """
    try:
        response = requests.post(url, json=payload, timeout=CHAT_TIMEOUT_S, allow_redirects=False)
    except requests.RequestException as exc:
        # The exception text may contain the secret address, so only its type is kept.
        raise DeliveryFailed(f"chat webhook unreachable: {type(exc).__name__}", retryable=True) from None
    if 200 <= response.status_code < 300:
        return
    retry_after = _seconds(response.headers.get("Retry-After"))
    retryable = response.status_code == 429 or response.status_code >= 500
    raise DeliveryFailed(f"chat webhook answered {response.status_code}", status=response.status_code,
                         retryable=retryable, retry_after_s=retry_after)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
