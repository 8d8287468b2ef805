"""The signed event the project's Business Rule sends for every ticket change.

ServiceNow has no signed webhook of its own; docs/architecture.md ("The ServiceNow event")
defines the one the project ships, after Standard Webhooks. This module builds its body from a
committed change and signs deliveries:

- `webhook-id` `<table>.<sys_id>.<sys_mod_count>` (stable across retries; a delete counts as one
  more modification so its id never repeats the last update's);
- `webhook-timestamp` unix seconds of the attempt;
- `webhook-signature` `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, one per secret
  when the configured secret holds several separated by spaces (rotation); a `whsec_` secret is
  base64-decoded, any other is used as its UTF-8 bytes.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Mapping, Sequence

from simulators.servicenow.records import ChangeNotice

EVENT_VERSION = 1
DEFAULT_WEBHOOK_FIELDS = (
    "number", "state", "priority", "caller_id", "assigned_to", "assignment_group", "cmdb_ci",
    "category", "contact_type", "reassignment_count", "reopen_count", "sys_updated_on",
)
"""The architecture's default `webhook_fields`; extra ticket fields below are sent when present."""
EXTRA_EVENT_FIELDS = ("requested_for", "opened_by", "active", "major_incident_state",
                      "parent_incident", "type", "start_date", "end_date", "close_code")


def delivery_id_of(notice: ChangeNotice) -> str:
    record = notice.record
    return f"{notice.table}.{record['sys_id']}.{record.get('sys_mod_count') or 0}"


def build_event(notice: ChangeNotice, webhook_fields: Sequence[str] = DEFAULT_WEBHOOK_FIELDS) -> dict:
    """The event body for one committed change (raw values only, as the Business Rule reads them).

    `journal` lists the journal entries the change added (`element`, `value`, `sys_created_by`,
    `sys_created_on`) and `comment` holds one of them in the contract's shape (`text`, `author`,
    `public`); both are present only when there are some.
    """
    record = notice.record
    chosen = list(webhook_fields) + [f for f in EXTRA_EVENT_FIELDS if f not in webhook_fields]
    body = {
        "event_version": EVENT_VERSION,
        "table": notice.table,
        "sys_id": record["sys_id"],
        "number": record.get("number", ""),
        "operation": notice.operation,
        "sys_mod_count": int(record.get("sys_mod_count") or 0),
        "sys_updated_on": record.get("sys_updated_on", ""),
        "sys_updated_by": record.get("sys_updated_by", notice.user),
        "changed_fields": list(notice.changed_fields),
        "record": {name: record[name] for name in chosen if name in record},
    }
    if notice.journal:
        body["journal"] = [dict(entry) for entry in notice.journal]
        # The contract's `comment`, as the shipped Business Rule sends it: the entry this update
        # added, a caller-visible comment preferred over a work note.
        entry = next((e for e in notice.journal if e.get("element") == "comments"), notice.journal[0])
        body["comment"] = {"text": entry.get("value", ""), "author": entry.get("sys_created_by"),
                           "public": entry.get("element") == "comments"}
    return body


def signing_key(secret: str) -> bytes:
    """The HMAC key of one secret: `whsec_<base64>` decoded, anything else as UTF-8 bytes."""
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_"):])
    return secret.encode("utf-8")


def sign(body: bytes, delivery_id: str, timestamp: int, secret: str) -> str:
    """The `webhook-signature` value for one body: `v1,<base64>` per secret, space-separated."""
    message = f"{delivery_id}.{timestamp}.".encode() + body
    signatures = []
    for one_secret in secret.split():
        digest = hmac.new(signing_key(one_secret), message, hashlib.sha256).digest()
        signatures.append("v1," + base64.b64encode(digest).decode())
    return " ".join(signatures)


def build_delivery_headers(body: bytes, delivery_id: str, attempt: int,
                           secret: str | None) -> Mapping[str, str]:
    """Headers of one delivery attempt (a `HeaderBuilder` for the common dispatcher)."""
    timestamp = int(time.time())
    headers = {"webhook-id": delivery_id, "webhook-timestamp": str(timestamp)}
    if secret:
        headers["webhook-signature"] = sign(body, delivery_id, timestamp, secret)
    return headers
