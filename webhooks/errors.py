"""The one exception the signature checks raise, and the reasons it carries."""
from __future__ import annotations


class SignatureRejected(Exception):
    """A delivery failed authentication. `reason` is a stable key for logs and tests, never a secret.

    Reasons: `signature_missing`, `signature_malformed`, `signature_mismatch`, `id_missing`,
    `timestamp_missing`, `timestamp_malformed`, `timestamp_too_old`, `timestamp_too_new`.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
