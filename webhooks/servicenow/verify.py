"""Standard Webhooks signatures, as the project's ServiceNow Business Rule sends them.

Headers: `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature`, a
space-separated list of `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`; several
entries appear while a secret is rotated and entries of other versions are skipped. A secret
`whsec_<base64>` is base64-decoded to the key; any other secret is used as its UTF-8 bytes.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Mapping, Sequence

from webhooks.errors import SignatureRejected
from webhooks.secrets import SecretUnavailable

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"


def signing_key(secret: str) -> bytes:
    """The HMAC key of a configured secret. Raises SecretUnavailable for a `whsec_` that is not base64."""
    if secret.startswith(SECRET_PREFIX):
        encoded = secret[len(SECRET_PREFIX):]
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise SecretUnavailable("a whsec_ secret must be base64 after the prefix") from None
        if not key:
            raise SecretUnavailable("the whsec_ secret is empty")
        return key
    return secret.encode("utf-8")


def sign_servicenow_delivery(body: bytes, delivery_id: str, timestamp: int, secret: str) -> str:
    """One `v1,<base64>` signature entry for the given delivery (tests, bench, simulator)."""
    signed = f"{delivery_id}.{timestamp}.".encode("utf-8") + body
    return "v1," + base64.b64encode(hmac.new(signing_key(secret), signed, hashlib.sha256).digest()).decode("ascii")


def verify_servicenow_signature(body: bytes, headers: Mapping[str, str], secrets: Sequence[str],
                                *, now: float, tolerance_s: int) -> None:
    """Return when the delivery is signed with one of `secrets` within `tolerance_s` of `now`.

    Raises SignatureRejected (`signature_missing`, `id_missing`, `timestamp_missing`,
    `timestamp_malformed`, `timestamp_too_old`, `timestamp_too_new`, `signature_malformed`,
    `signature_mismatch`) and SecretUnavailable when a configured secret cannot be decoded.
    """
    signatures = (headers.get(SIGNATURE_HEADER) or "").strip()
    delivery_id = headers.get(ID_HEADER) or ""
    stamp = (headers.get(TIMESTAMP_HEADER) or "").strip()
    if not signatures:
        raise SignatureRejected("signature_missing")
    if not delivery_id:
        raise SignatureRejected("id_missing")
    if not stamp:
        raise SignatureRejected("timestamp_missing")
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        raise SignatureRejected("timestamp_malformed")
    if int(stamp) < now - tolerance_s:
        raise SignatureRejected("timestamp_too_old")
    if int(stamp) > now + tolerance_s:
        raise SignatureRejected("timestamp_too_new")

    offered = []
    for entry in signatures.split():
        version, separator, value = entry.partition(",")
        if not separator or version != "v1":
            continue  # other schemes (v1a asymmetric, future versions) are not ours to check
        try:
            offered.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    if not offered:
        raise SignatureRejected("signature_malformed")

    # Header values arrive decoded as latin-1; encoding back gives the exact bytes that were signed.
    signed = delivery_id.encode("latin-1", "replace") + b"." + stamp.encode("ascii") + b"." + body
    matched = False
    for secret in secrets:
        expected = hmac.digest(signing_key(secret), signed, "sha256")  # one call, no HMAC object
        for candidate in offered:
            matched = hmac.compare_digest(expected, candidate) or matched
    if not matched:
        raise SignatureRejected("signature_mismatch")
