"""The ways a survey link reaches a person: a ticket comment, an e-mail, or a chat message.

Every channel takes a `Delivery` (what to say, to whom, in which language) and either delivers it
or raises `DeliveryFailed`, which says whether trying again can help; the job layer retries.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from connectors.errors import ConnectorError


class DeliveryFailed(ConnectorError):
    """An e-mail or chat message could not be delivered. `retryable` is set per failure.

    A subclass of the connector error so the worker applies the same retry, wait and dead-letter
    rules to every remote call a job makes.
    """

    def __init__(self, message: str, *, retryable: bool, retry_after_s: float | None = None,
                 status: int | None = None):
        super().__init__(message, status=status, retry_after_s=retry_after_s)
        self.retryable = retryable


@dataclass(frozen=True)
class Delivery:
    """One message about one survey: the first request (`reminder` 0) or reminder number `reminder`."""

    survey_id: int
    connection_id: str
    ticket_key: str
    ticket_number: str
    language: str
    link: str
    opt_out_link: str
    rating_links: tuple[str, ...]      # eleven links, rating 0 to 10 preselected
    expires_at: datetime
    reminder: int = 0
    recipient: str | None = None       # e-mail address, for the e-mail channel only

    @property
    def expires_text(self) -> str:
        return self.expires_at.strftime("%Y-%m-%d")
