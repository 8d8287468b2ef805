"""The simulators' webhooks (real-shaped, signed, delivered over HTTP) are all understood.

The simulators stand in for the vendors; whatever lifecycle they play, every delivery must be
answered 2xx and never be refused as unsigned (401) or unrecognised (400). A drift between a
simulator's payloads and the parsers shows up here first.
"""
from __future__ import annotations

import time

import pytest

from simulators.common import start_simulator
from tests.webhooks.helpers import JIRA_SECRET, SNOW_SECRET, WebhookSender

STEPS = 25


def wait_for_deliveries(simulator, deadline_s: float = 60.0) -> list[dict]:
    """Every delivery the simulator made, once none is pending any more (or the deadline passes)."""
    deadline = time.monotonic() + deadline_s
    while True:
        deliveries = simulator.deliveries()
        if all(delivery["status"] != "pending" for delivery in deliveries) or time.monotonic() > deadline:
            return deliveries
        time.sleep(0.05)


@pytest.mark.parametrize("tool, connection, secret", [
    ("jira", "jira", JIRA_SECRET),
    ("servicenow", "snow", SNOW_SECRET),
])
def test_every_simulated_delivery_is_accepted(app, serve, tool, connection, secret):
    url = serve(app)
    simulator = start_simulator(tool, seed=7, webhook_url=f"{url}/webhooks/{connection}", webhook_secret=secret)
    try:
        for _ in range(STEPS):
            if simulator.admin("POST", "/scenario/advance").get("done"):
                break
        deliveries = wait_for_deliveries(simulator)
    finally:
        simulator.stop()
    assert deliveries, f"the {tool} simulator sent no webhook in {STEPS} scenario steps"
    refused = [(d["http_status"], d["event"].get("webhookEvent") or d["event"].get("table")) for d in deliveries
               if d["http_status"] not in (200, 202)]
    assert refused == []
    rows = WebhookSender(app, app.test_client()).inbox(connection)
    stored_ids = {row.delivery_id for row in rows}
    accepted_202 = {d["delivery_id"] for d in deliveries if d["http_status"] == 202}
    assert accepted_202 <= stored_ids
    assert len(rows) == len(stored_ids) and rows
    meanings = {step for row in rows for step in row.event["lifecycle"]}
    assert meanings - {"updated"}, f"only plain updates recognised from the {tool} simulator: {meanings}"
