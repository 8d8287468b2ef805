"""Which secrets a connection's deliveries may be signed with.

A connection names one environment variable (`webhook_secret_env`). While a secret is rotated
the sender may still sign with the old one (retries of earlier deliveries, a second node not yet
updated), so the value of the same variable name with `_PREVIOUS` appended is accepted too
when it is set. Values are read at each delivery and never logged.
"""
from __future__ import annotations

import os

from settings import ConfigError
from settings.model import ConnectionSettings

PREVIOUS_SUFFIX = "_PREVIOUS"


class SecretUnavailable(Exception):
    """The connection expects signed deliveries but its secret cannot be used (unset or malformed).

    This is the service's fault, not the sender's: the endpoint answers 503 so the sender retries
    once an admin has fixed the environment.
    """


def signing_secrets(connection: ConnectionSettings) -> tuple[str, ...]:
    """The secrets a delivery may be signed with, current first; empty when nothing is verified.

    Raises SecretUnavailable when `webhook_secret_env` is configured but the variable is unset.
    """
    if not connection.webhook_secret_env:
        return ()
    try:
        current = connection.webhook_secret()
    except ConfigError as exc:
        raise SecretUnavailable(f"connection {connection.id}: {connection.webhook_secret_env} is not set") from exc
    previous = os.environ.get(connection.webhook_secret_env + PREVIOUS_SUFFIX)
    return (current, previous) if previous and previous != current else (current,)
