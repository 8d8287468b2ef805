"""Who a survey is for, as a pseudonymous key shared by every connection.

The throttle ("one survey per person per period") must recognise the same person whether the
ticket came from ServiceNow or Jira, so the key is built from the normalised e-mail address when
there is one; otherwise from the tool's user id, which only identifies the person within one
connection. The key is an HMAC with the service secret, so the stored value cannot be reversed
by hashing a list of known addresses.
"""
from __future__ import annotations

import hashlib
import hmac

from domain.ticket import Person


def normalise_email(address: str | None) -> str | None:
    """Lower-cased and stripped address, or None when it is not an address at all."""
    if not address:
        return None
    cleaned = address.strip().casefold()
    return cleaned if "@" in cleaned and not cleaned.startswith("@") and not cleaned.endswith("@") else None


def person_key(secret: bytes, person: Person | None, connection_id: str) -> str | None:
    """The hashed identity of `person`, or None when the ticket names nobody."""
    if person is None:
        return None
    email = normalise_email(person.email)
    if email:
        identity = f"email:{email}"
    elif person.key:
        identity = f"user:{connection_id}:{person.key}"
    else:
        return None
    return hmac.new(secret, f"person:{identity}".encode("utf-8"), hashlib.sha256).hexdigest()


def person_key_for(settings, person: Person | None, connection_id: str) -> str | None:
    """`person_key` with the service secret of `settings` (enrichment calls this for `caller_history`).

    Raises surveys.tokens.SurveySecretMissing when the secret is not configured.
    """
    from surveys.tokens import service_secret

    return person_key(service_secret(settings), person, connection_id)
