"""Jira's webhook signature: `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>`.

Jira signs admin-registered webhooks when a secret is set (the WebSub `method=signature` form).
There is no signed timestamp, so replays are caught by the delivery identifier, not here.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from typing import Mapping, Sequence

from webhooks.errors import SignatureRejected

SIGNATURE_HEADER = "X-Hub-Signature"
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def sign_jira_body(body: bytes, secret: str) -> str:
    """The header value Jira would send for `body` (used by tests, the bench and the simulator)."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_jira_signature(body: bytes, headers: Mapping[str, str], secrets: Sequence[str],
                          *, now: float | None = None, tolerance_s: int | None = None) -> None:
    """Return when `body` was signed with one of `secrets`; raise SignatureRejected otherwise.

    `now` and `tolerance_s` are accepted for a uniform interface and unused: Jira signs no time.
    The comparison is constant-time. Raises with reason `signature_missing`,
    `signature_malformed` or `signature_mismatch`.
    """
    value = (headers.get(SIGNATURE_HEADER) or "").strip()
    if not value:
        raise SignatureRejected("signature_missing")
    method, separator, digest = value.partition("=")
    if not separator or method.strip().lower() != "sha256" or not _HEX_SHA256.fullmatch(digest.strip()):
        raise SignatureRejected("signature_malformed")
    given = bytes.fromhex(digest.strip())
    matched = False
    for secret in secrets:
        expected = hmac.digest(secret.encode("utf-8"), body, "sha256")  # one call, no HMAC object
        # No early exit: the time taken does not tell which secret matched.
        matched = hmac.compare_digest(expected, given) or matched
    if not matched:
        raise SignatureRejected("signature_mismatch")
