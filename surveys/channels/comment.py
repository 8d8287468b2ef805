"""The default channel: a customer-visible comment on the ticket, which the ITSM mails to the caller.

The comment carries a marker (`xla-survey:<id>`, or `xla-survey:<id>:reminder:<n>`) that the
connector embeds, so a retried job finds its comment already there and does not add a second.
"""
from __future__ import annotations

from connectors.base import TicketWrite
from surveys.channels import Delivery
from surveys.i18n import translate


def comment_marker(delivery: Delivery) -> str:
    marker = f"xla-survey:{delivery.survey_id}"
    return f"{marker}:reminder:{delivery.reminder}" if delivery.reminder else marker


def comment_text(delivery: Delivery) -> str:
    key = "reminder_comment_text" if delivery.reminder else "comment_text"
    return translate(delivery.language, key, number=delivery.ticket_number, link=delivery.link,
                     expires=delivery.expires_text)


def deliver_by_comment(connector, delivery: Delivery) -> bool:
    """Add the survey comment to the ticket; False when the marker shows it is there already.

    Raises connector errors as the connector does (the worker retries the retryable ones).
    """
    change = TicketWrite(public_comment=comment_text(delivery), marker=comment_marker(delivery))
    return connector.write(delivery.ticket_key, change)
