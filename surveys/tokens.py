"""Survey link tokens: unguessable, stored only as a hash, rebuildable by the sender.

A token is `base64url(HMAC-SHA256(service secret, "survey:<id>:<salt>"))`, cut to the configured
number of bytes (16 to 32, so at least 128 bits). The database keeps the SHA-256 of the token and
the random salt, never the token: someone holding a copy of the database cannot open a survey,
while a send job that is retried can derive the same link again from the secret and the salt.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets

from settings.errors import ConfigError

# 16 bytes encode to 22 base64url characters, 32 bytes to 43.
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{22,43}$")


class SurveySecretMissing(ConfigError):
    """The environment variable named by `service.secret_key_env` is not set (or too short)."""


def service_secret(settings) -> bytes:
    """The key that derives tokens and person keys, read from the environment each time.

    Raises SurveySecretMissing when the variable is unset or shorter than 16 characters: without a
    stable secret every process would derive different links.
    """
    name = settings.service.secret_key_env
    value = os.environ.get(name, "")
    if len(value) < 16:
        raise SurveySecretMissing([f"service.secret_key_env: environment variable {name} is "
                                   f"{'too short' if value else 'not set'}; export {name} with at least "
                                   "32 random characters, the same value in every process"])
    return value.encode("utf-8")


def new_salt() -> str:
    """A fresh random salt for one survey row (128 bits, hex)."""
    return secrets.token_hex(16)


def derive_token(secret: bytes, survey_id: int, salt: str, length: int) -> str:
    """The link token of survey `survey_id`; the same inputs always give the same token."""
    digest = hmac.new(secret, f"survey:{survey_id}:{salt}".encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:length]).rstrip(b"=").decode("ascii")


def hash_token(token: str) -> str:
    """What the database stores and looks tokens up by: hex SHA-256 of the token text."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(text: str) -> bool:
    """Cheap shape check that spares the database lookups of obviously wrong links."""
    return bool(TOKEN_SHAPE.match(text))
