"""Signed ServiceNow ticket events, as the project's Business Rule sends them, and a sender that
posts many of them concurrently to the real webhook endpoint, retrying as an ITSM does.

A burst is planned up front (`plan_burst`): distinct deliveries about real tickets of the
simulator, with a share of repeats (the same `webhook-id` and body sent again, as a sender does
when it did not see our answer). `BurstSender` records every answer per delivery, so a scenario
knows exactly which deliveries were acknowledged.
"""
from __future__ import annotations

import json
import random
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

from webhooks.servicenow.verify import sign_servicenow_delivery

RECORD_FIELDS = ("number", "state", "priority", "caller_id", "assigned_to", "assignment_group", "cmdb_ci",
                 "category", "contact_type", "reassignment_count", "reopen_count", "sys_updated_on")


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    connection_id: str
    body: bytes


def servicenow_event_body(record: dict, *, table: str, changed_fields: list[str], actor: str) -> bytes:
    """The event body of docs/architecture.md for `record` (raw values, as the Table API returns them)."""
    return json.dumps({
        "event_version": 1,
        "table": table,
        "sys_id": record["sys_id"],
        "number": record.get("number", ""),
        "operation": "update",
        "sys_mod_count": int(record.get("sys_mod_count") or 0),
        "sys_updated_on": record.get("sys_updated_on", ""),
        "sys_updated_by": actor,
        "changed_fields": changed_fields,
        "record": {name: record.get(name, "") for name in RECORD_FIELDS},
    }).encode()


def plan_burst(connection_id: str, tickets: list[tuple[str, dict]], *, distinct: int, duplicate_share: float,
               rng: random.Random, prefix: str = "burst") -> list[Delivery]:
    """`distinct` deliveries spread over `tickets` ((table, record) pairs), plus repeats.

    Repeats make up `duplicate_share` of everything sent; each repeats a delivery planned
    earlier and is placed after it, a little later in the burst, as a sender's retry is.
    """
    originals = []
    for number in range(distinct):
        table, record = tickets[rng.randrange(len(tickets))]
        body = servicenow_event_body(record, table=table, changed_fields=rng.choice(
            [["priority"], ["comments"], ["short_description"], ["impact", "urgency", "priority"]]),
            actor=rng.choice(["beth.anglin", "david.loo", "fred.luddy"]))
        originals.append(Delivery(f"{prefix}-{number}", connection_id, body))
    repeats = round(distinct * duplicate_share / (1 - duplicate_share))
    sent = list(originals)
    for _ in range(repeats):
        position = rng.randrange(len(originals))
        later = min(len(sent), position + rng.randint(1, 50))
        sent.insert(later, originals[position])
    return sent


class BurstSender:
    """Posts deliveries from a pool of threads, each retried until acknowledged or out of tries.

    `answers[delivery_id]` lists every status received (`None` for a connection error), so
    `acknowledged()` is exactly the deliveries the service answered 202 at least once.
    """

    def __init__(self, secrets: dict[str, str], base_urls: list[str], *, threads: int = 8, tries: int = 6):
        self.secrets = secrets
        self.base_urls = base_urls
        self.threads = threads
        self.tries = tries
        self.answers: dict[str, list[int | None]] = defaultdict(list)
        self._lock = threading.Lock()
        self._local = threading.local()
        self.sent = 0

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def post(self, delivery: Delivery, base_url: str) -> int | None:
        """Send one delivery (retrying like an ITSM: 5xx and connection errors); the last status."""
        status = None
        for attempt in range(self.tries):
            timestamp = int(time.time())
            signature = sign_servicenow_delivery(delivery.body, delivery.delivery_id, timestamp,
                                                 self.secrets[delivery.connection_id])
            try:
                answer = self._session().post(
                    f"{base_url}/webhooks/{delivery.connection_id}", data=delivery.body, timeout=30,
                    headers={"Content-Type": "application/json", "webhook-id": delivery.delivery_id,
                             "webhook-timestamp": str(timestamp), "webhook-signature": signature})
                status = answer.status_code
            except requests.RequestException:
                status = None
            with self._lock:
                self.answers[delivery.delivery_id].append(status)
                self.sent += 1
            if status is not None and status < 500:
                return status
            time.sleep(min(2.0, 0.1 * 2 ** attempt))  # the sender's own retry delay
        return status

    def send_all(self, deliveries: list[Delivery], rng: random.Random | None = None) -> None:
        """Send every delivery (to a base URL chosen at random when there are several); blocks."""
        rng = rng or random.Random(0)
        targets = [rng.choice(self.base_urls) for _ in deliveries]
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            list(pool.map(self.post, deliveries, targets))

    def acknowledged(self) -> set[str]:
        return {delivery_id for delivery_id, statuses in self.answers.items() if 202 in statuses}

    def refused(self) -> set[str]:
        return {delivery_id for delivery_id, statuses in self.answers.items() if 202 not in statuses}
