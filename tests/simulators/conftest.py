"""Fixtures that run the simulators as real processes and receive their webhooks over loopback."""
from __future__ import annotations

import threading
import time
from typing import Callable

import pytest
from flask import Flask, request
from werkzeug.serving import make_server

from simulators.common import SimulatorProcess, start_simulator

SERVICENOW_USERS = {"admin": "admin-sim-password", "xla.integration": "integration-sim-password",
                    "auditor": "auditor-sim-password"}
SERVICENOW_READ_ONLY_USER = "auditor"
WEBHOOK_SECRET = "sim-webhook-secret"
FAST_RETRIES = ("--webhook-retry-delays", "0.05,0.1,0.2")


def wait_until(condition: Callable[[], object], timeout_s: float = 10.0, interval_s: float = 0.02,
               message: str = "condition"):
    """Poll `condition` until it returns something truthy (returned) or fail at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        outcome = condition()
        if outcome:
            return outcome
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {message}")
        time.sleep(interval_s)


class WebhookReceiver:
    """A real HTTP server on 127.0.0.1 that records every POST and answers as told."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self._answers: list[int] = []
        self._lock = threading.Lock()
        app = Flask("webhook-receiver")

        @app.post("/<path:path>")
        def receive(path):
            with self._lock:
                status = self._answers.pop(0) if self._answers else 204
                self.received.append({"path": "/" + path, "headers": dict(request.headers),
                                      "body": request.get_data(), "answered": status})
            return "", status

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/webhooks/servicenow-test"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def answer_next(self, *statuses: int) -> None:
        """The next deliveries get these statuses, in order; later ones get 204."""
        with self._lock:
            self._answers.extend(statuses)

    def clear(self) -> None:
        with self._lock:
            self.received.clear()
            self._answers.clear()

    def deliveries(self, predicate: Callable[[dict], bool] = lambda d: True) -> list[dict]:
        with self._lock:
            return [d for d in self.received if predicate(d)]

    def wait_for(self, predicate: Callable[[dict], bool], count: int = 1,
                 timeout_s: float = 10.0) -> list[dict]:
        return wait_until(lambda: (lambda found: found if len(found) >= count else None)(
            self.deliveries(predicate)), timeout_s, message=f"{count} webhook deliveries")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def webhook_receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def start_sim():
    """Factory `start_sim(tool, **start_simulator options)`; every process started is stopped."""
    started: list[SimulatorProcess] = []

    def start(tool: str, **options) -> SimulatorProcess:
        process = start_simulator(tool, **options)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture(scope="module")
def servicenow_process(webhook_receiver):
    """One ServiceNow simulator per test module, posting signed events to `webhook_receiver`."""
    process = start_simulator("servicenow", users=SERVICENOW_USERS, webhook_url=webhook_receiver.url,
                              webhook_secret=WEBHOOK_SECRET,
                              extra_args=FAST_RETRIES + ("--read-only-users", SERVICENOW_READ_ONLY_USER))
    yield process
    process.stop()


@pytest.fixture
def servicenow(servicenow_process, webhook_receiver) -> SimulatorProcess:
    """The module's ServiceNow simulator, back in its seeded state with no faults or history."""
    servicenow_process.admin("PUT", "/webhook", {"url": webhook_receiver.url, "secret": WEBHOOK_SECRET})
    servicenow_process.admin("PUT", "/limits", {"per_hour": 5000})
    servicenow_process.admin("POST", "/reset")
    # a delivery already on the wire when the reset came must land before the receiver forgets
    wait_until(lambda: servicenow_process.admin("GET", "/health")["webhooks_idle"],
               message="the simulator's webhook dispatcher to go idle")
    webhook_receiver.clear()
    return servicenow_process
