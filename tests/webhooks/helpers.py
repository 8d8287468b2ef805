"""One way to send a webhook and look at what it left behind, shared by every webhook test.

`WebhookSender` signs bodies the way each tool does; `check_webhook` is the one assertion for a
supported event (zulip's check_webhook): the delivery is answered 202, one inbox row holds the
expected meaning, and its processing job is queued.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from prometheus_client import REGISTRY
from sqlalchemy import func, select

from domain.events import TicketEvent
from storage.models import InboxEvent, Job, QuarantinedPayload
from webhooks.jira.verify import sign_jira_body
from webhooks.servicenow.verify import sign_servicenow_delivery

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

JIRA_SECRET_ENV = "XLA_TEST_JIRA_WEBHOOK_SECRET"
SNOW_SECRET_ENV = "XLA_TEST_SNOW_WEBHOOK_SECRET"
JIRA_SECRET = "jira-test-secret-3f9a7c"
SNOW_SECRET = "whsec_c25vdy10ZXN0LXNlY3JldC1rZXktMDEyMzQ1Njc4OQ=="

AUTO = object()


def app_config(database_url: str, *, webhooks: dict | None = None, connections: list | None = None) -> dict:
    """The TOML structure create_app takes: jira (signed), jira-open (unsigned), snow (signed)."""
    auth = {"kind": "basic", "user": "xla-integration", "token_env": "XLA_TEST_ITSM_TOKEN"}
    default_connections = [
        {"id": "jira", "tool": "jira", "base_url": "https://example-sd.atlassian.net", "auth": auth,
         "webhook_secret_env": JIRA_SECRET_ENV},
        {"id": "jira-open", "tool": "jira", "base_url": "https://jira.example.internal", "deployment": "datacenter",
         "auth": {"kind": "bearer", "token_env": "XLA_TEST_ITSM_TOKEN"}},
        {"id": "snow", "tool": "servicenow", "base_url": "https://example.service-now.com", "auth": auth,
         "webhook_secret_env": SNOW_SECRET_ENV},
    ]
    config = {"service": {"database_url": database_url, "log_level": "WARNING"},
              "connections": connections if connections is not None else default_connections}
    if webhooks:
        config["webhooks"] = webhooks
    return config


def post_jira_all_at_once(work: list[tuple[str, str, bytes]]) -> list[requests.Response]:
    """POST each (server url, delivery id, body) as a signed Jira delivery to connection `jira`,
    all released at the same moment from threads of their own; the answers, in order."""
    start = threading.Barrier(len(work))

    def post(item):
        url, identifier, body = item
        start.wait(10)
        return requests.post(f"{url}/webhooks/jira", data=body, timeout=30, headers={
            "Content-Type": "application/json", "X-Atlassian-Webhook-Identifier": identifier,
            "X-Hub-Signature": sign_jira_body(body, JIRA_SECRET)})

    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        return list(pool.map(post, work))


def fixture_body(tool: str, name: str) -> bytes:
    """The bytes of tests/fixtures/<tool>/webhooks/<name>.json, as a sender would post them."""
    return (FIXTURES / tool / "webhooks" / f"{name}.json").read_bytes()


def fixture_names(tool: str) -> list[str]:
    return sorted(path.stem for path in (FIXTURES / tool / "webhooks").glob("*.json"))


def as_body(data) -> bytes:
    return data if isinstance(data, bytes) else json.dumps(data).encode("utf-8")


class WebhookSender:
    """Posts to the app under test and reads its database."""

    def __init__(self, app, client):
        self.app = app
        self.client = client
        self.sessions = app.extensions["xla"].sessions

    # sending ------------------------------------------------------------------------------------
    def jira(self, body, *, connection: str = "jira", secret: str | None = JIRA_SECRET, identifier=AUTO,
             headers: dict | None = None, content_type: str = "application/json; charset=UTF-8"):
        body = as_body(body)
        sent = {"Content-Type": content_type}
        if identifier is AUTO:
            identifier = str(uuid.uuid4())
        if identifier is not None:
            sent["X-Atlassian-Webhook-Identifier"] = identifier
            sent["X-Atlassian-Webhook-Flow"] = "Primary"
        if secret is not None:
            sent["X-Hub-Signature"] = sign_jira_body(body, secret)
        sent.update(headers or {})
        return self.client.post(f"/webhooks/{connection}", data=body, headers=sent)

    def servicenow(self, body, *, connection: str = "snow", secrets=(SNOW_SECRET,), delivery_id=AUTO,
                   timestamp: int | None = None, headers: dict | None = None,
                   content_type: str = "application/json"):
        body = as_body(body)
        if delivery_id is AUTO:
            data = json.loads(body)
            delivery_id = f"{data['table']}.{data['sys_id']}.{data['sys_mod_count']}"
        stamp = int(time.time()) if timestamp is None else timestamp
        sent = {"Content-Type": content_type, "webhook-id": delivery_id, "webhook-timestamp": str(stamp)}
        if secrets:
            sent["webhook-signature"] = " ".join(sign_servicenow_delivery(body, delivery_id, stamp, secret)
                                                 for secret in secrets)
        sent.update(headers or {})
        return self.client.post(f"/webhooks/{connection}", data=body,
                                headers={k: v for k, v in sent.items() if v is not None})

    # reading ------------------------------------------------------------------------------------
    def inbox(self, connection: str | None = None) -> list[InboxEvent]:
        with self.sessions() as session:
            query = select(InboxEvent).order_by(InboxEvent.id)
            if connection:
                query = query.where(InboxEvent.connection_id == connection)
            return list(session.execute(query).scalars())

    def jobs(self) -> list[Job]:
        with self.sessions() as session:
            return list(session.execute(select(Job).order_by(Job.id)).scalars())

    def quarantine(self) -> list[QuarantinedPayload]:
        with self.sessions() as session:
            return list(session.execute(select(QuarantinedPayload).order_by(QuarantinedPayload.id)).scalars())

    def stored_anything(self) -> int:
        """Rows in the inbox, jobs and quarantine together."""
        with self.sessions() as session:
            return sum(session.execute(select(func.count()).select_from(model)).scalar_one()
                       for model in (InboxEvent, Job, QuarantinedPayload))


def counted(connection: str, outcome: str) -> float:
    """Current value of xla_webhooks_received_total for one connection and outcome."""
    return REGISTRY.get_sample_value("xla_webhooks_received_total",
                                     {"connection": connection, "outcome": outcome}) or 0.0


def check_webhook(sender: WebhookSender, response, expected: dict) -> TicketEvent:
    """Assert `response` stored one new event whose fields match `expected`; return the event.

    `expected` names TicketEvent attributes; `lifecycle` is given as a list of strings.
    """
    assert response.status_code == 202, response.get_data(as_text=True)
    assert response.get_json()["status"] == "stored"
    delivery_id = response.get_json()["delivery_id"]
    rows = [row for row in sender.inbox() if row.delivery_id == delivery_id]
    assert len(rows) == 1
    event = TicketEvent.from_json(rows[0].event)
    for name, value in expected.items():
        actual = getattr(event, name)
        if name == "lifecycle":
            actual = [step.value for step in actual]
        if name == "changed_fields":
            actual = list(actual)
        assert actual == value, f"{name}: expected {value!r}, got {actual!r}"
    jobs = [job for job in sender.jobs() if job.dedupe_key == f"event:{event.connection_id}:{delivery_id}"]
    assert len(jobs) == 1 and jobs[0].kind == "process_event" and jobs[0].state == "queued"
    assert jobs[0].payload["inbox_id"] == rows[0].id
    assert jobs[0].ticket_key == event.ticket_key
    return event
