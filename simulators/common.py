"""Plumbing both ITSM simulators share: faults, request journal, rate limits, webhooks, admin API.

A simulator is a Flask app that stands in for a vendor (ServiceNow, Jira) in the demo, the tests
and the benchmarks. What differs between vendors (record shapes, auth, error bodies, signatures,
the scenario) lives in `simulators/<tool>/`; what does not differ lives here:

- `FaultInjector` and the WSGI middleware make the next N matching requests fail (status,
  `Retry-After`, latency, or a dropped connection), so error paths can be tested for real.
- `RequestJournal` remembers every request received, for assertions ("exactly one PATCH").
- `HourlyUserLimiter` (ServiceNow style) and `SlidingWindowLimiter` (Jira per-issue writes).
- `WebhookDispatcher` posts events from background sender threads (one by default) with retries
  and keeps a delivery log.
- `SimulatorState` holds all of the above; a tool subclasses it and fills the hooks
  (`reset_world`, `advance_scenario`, `error_body`, `apply_limits`).
- `attach_simulator(app, state)` installs the middleware and the `/_sim/*` admin endpoints.
- `serve(app, host, port)` runs the app until SIGTERM/SIGINT, announcing its address on stdout,
  with keep-alive connections (`simulators/serving.py`).
- `start_simulator(tool, ...)` runs `python -m simulators.<tool>` as a child process and returns a
  `SimulatorProcess` handle (used by tests, the demo and the benchmarks).
"""
from __future__ import annotations

import argparse
import collections
import heapq
import io
import itertools
import json
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import requests
from flask import Flask, jsonify, request

log = logging.getLogger("simulators")

REPO_ROOT = Path(__file__).resolve().parent.parent
ADMIN_PREFIX = "/_sim"
LISTENING_PREFIX = "listening on "
DEFAULT_USERS_ENV = "XLA_SIM_USERS"
DEFAULT_TOKENS_ENV = "XLA_SIM_TOKENS"
DEFAULT_WEBHOOK_SECRET_ENV = "XLA_SIM_WEBHOOK_SECRET"
FAULT_STATUSES = (429, 500, 502, 503, 504)


# --------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------

@dataclass
class Fault:
    """One queued fault: the next `count` requests matching `method` and `path_prefix` get it.

    `status` answers with that status (and `Retry-After` when `retry_after` is set); `drop`
    closes the connection without any answer; `latency_ms` delays the request first (alone,
    it only slows the request down, which then proceeds normally).
    """

    count: int = 1
    status: int | None = None
    retry_after: float | None = None
    latency_ms: int = 0
    drop: bool = False
    path_prefix: str = "/"
    method: str | None = None
    id: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return path.startswith(self.path_prefix or "/")

    def to_json(self) -> dict:
        return asdict(self)


def parse_fault(spec: Mapping) -> Fault:
    """Validate an admin fault spec into a `Fault`.

    Raises ValueError when the spec asks for nothing, a status outside 429/5xx, or bad numbers.
    """
    if not isinstance(spec, Mapping):
        raise ValueError("a fault is a JSON object")
    known = {"count", "status", "retry_after", "latency_ms", "drop", "path_prefix", "method"}
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"unknown fault keys: {sorted(unknown)}")
    try:
        fault = Fault(
            count=int(spec.get("count", 1)),
            status=int(spec["status"]) if spec.get("status") is not None else None,
            retry_after=float(spec["retry_after"]) if spec.get("retry_after") is not None else None,
            latency_ms=int(spec.get("latency_ms") or 0),
            drop=bool(spec.get("drop", False)),
            path_prefix=str(spec.get("path_prefix") or "/"),
            method=str(spec["method"]).upper() if spec.get("method") else None,
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"invalid fault: {exc}") from exc
    if fault.count < 1:
        raise ValueError("count must be at least 1")
    if fault.status is not None and fault.status not in FAULT_STATUSES:
        raise ValueError(f"status must be one of {FAULT_STATUSES}")
    if fault.latency_ms < 0:
        raise ValueError("latency_ms must not be negative")
    if fault.status is None and not fault.drop and not fault.latency_ms:
        raise ValueError("a fault needs a status, drop or latency_ms")
    return fault


class FaultInjector:
    """Thread-safe queue of faults, consumed first-added first by matching requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, spec: Mapping) -> Fault:
        """Queue a fault from an admin spec; raises ValueError (see `parse_fault`)."""
        fault = parse_fault(spec)
        with self._lock:
            fault.id = next(self._ids)
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first fault matching this request, or return None."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(method, path):
                    fault.count -= 1
                    if fault.count <= 0:
                        del self._faults[index]
                    return Fault(**{**asdict(fault), "count": 1})
        return None

    def pending(self) -> list[dict]:
        with self._lock:
            return [fault.to_json() for fault in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


def drop_connection(environ: Mapping) -> None:
    """Close the client's connection without an answer, then abort the request.

    With SO_LINGER 0 the kernel resets the connection instead of a graceful close; the client
    sees a connection error, as when a proxy or the vendor's edge drops a request mid-flight.
    Raises ConnectionAbortedError, which werkzeug's server treats as a dropped connection.
    """
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already gone: the outcome the fault wants
    raise ConnectionAbortedError("simulated dropped connection")


# --------------------------------------------------------------------------------------------
# Journal
# --------------------------------------------------------------------------------------------

class RequestJournal:
    """Every API request a simulator received (admin requests excluded), oldest first.

    Entries are `{id, at, method, path, query, status, user, body}`; `status` is None for a
    dropped connection. Authorization headers and passwords are never stored. The journal keeps
    the newest `capacity` entries so a long demo cannot exhaust memory.
    """

    def __init__(self, capacity: int = 50_000) -> None:
        self._lock = threading.Lock()
        self._entries: collections.deque[dict] = collections.deque(maxlen=capacity)
        self._ids = itertools.count(1)

    def record(self, *, method: str, path: str, query: str, status: int | None,
               user: str | None, body: object, fault: int | None = None) -> dict:
        with self._lock:
            entry = {
                "id": next(self._ids),
                "at": time.time(),
                "method": method,
                "path": path,
                "query": query,
                "status": status,
                "user": user,
                "body": body,
            }
            if fault is not None:
                entry["fault"] = fault
            self._entries.append(entry)
            return entry

    def entries(self, after: int = 0) -> list[dict]:
        with self._lock:
            return [dict(entry) for entry in self._entries if entry["id"] > after]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def decode_body(raw: bytes) -> object:
    """The journal form of a request body: parsed JSON, else text, else None when empty."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw[:10_000].decode("utf-8", "replace")


# --------------------------------------------------------------------------------------------
# Rate limits
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RateDecision:
    """Outcome of one rate-limit check. `reset_at` is epoch seconds when the window ends."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: int
    retry_after_s: int


class HourlyUserLimiter:
    """ServiceNow-style limit: at most `per_hour` requests per user per clock hour.

    Windows start on the hour (as ServiceNow's rate limit rules count), so `reset_at` is the
    next full hour. `per_hour` of None or 0 disables the limit.
    """

    def __init__(self, per_hour: int | None, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.per_hour = per_hour
        self._counts: dict[tuple[str, int], int] = {}

    def set_limit(self, per_hour: int | None) -> None:
        with self._lock:
            self.per_hour = per_hour
            self._counts.clear()

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def hit(self, user: str) -> RateDecision:
        """Count one request of `user` and say whether it is allowed (a refused one is not counted)."""
        now = self._clock()
        hour = int(now // 3600)
        reset_at = (hour + 1) * 3600
        with self._lock:
            limit = self.per_hour or 0
            if limit <= 0:
                return RateDecision(True, 0, 0, reset_at, 0)
            # drop old windows so the table stays as small as the user list
            for key in [key for key in self._counts if key[1] != hour]:
                del self._counts[key]
            used = self._counts.get((user, hour), 0)
            if used >= limit:
                return RateDecision(False, limit, 0, reset_at, max(1, int(reset_at - now + 0.999)))
            self._counts[(user, hour)] = used + 1
            return RateDecision(True, limit, limit - used - 1, reset_at, 0)


class SlidingWindowLimiter:
    """At most `limit` events per key within any `window_s` seconds (e.g. Jira per-issue writes)."""

    def __init__(self, limit: int | None, window_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.limit = limit
        self.window_s = window_s
        self._events: dict[str, collections.deque[float]] = {}

    def configure(self, limit: int | None = None, window_s: float | None = None) -> None:
        with self._lock:
            if limit is not None:
                self.limit = limit
            if window_s is not None:
                self.window_s = window_s
            self._events.clear()

    def reset(self) -> None:
        with self._lock:
            self._events.clear()

    def hit(self, key: str) -> RateDecision:
        """Count one event for `key`; refused events are not counted. `reset_at` is epoch seconds."""
        now = self._clock()
        with self._lock:
            limit = self.limit or 0
            if limit <= 0:
                return RateDecision(True, 0, 0, int(time.time()), 0)
            window = self._events.setdefault(key, collections.deque())
            while window and window[0] <= now - self.window_s:
                window.popleft()
            if len(window) >= limit:
                wait = window[0] + self.window_s - now
                return RateDecision(False, limit, 0, int(time.time() + wait + 0.999),
                                    max(1, int(wait + 0.999)))
            window.append(now)
            return RateDecision(True, limit, limit - len(window),
                                int(time.time() + self.window_s), 0)


# --------------------------------------------------------------------------------------------
# Webhooks
# --------------------------------------------------------------------------------------------

HeaderBuilder = Callable[[bytes, str, int, "str | None"], Mapping[str, str]]
"""`(body, delivery_id, attempt, secret) -> headers`: each tool signs its deliveries its own way.
`attempt` is 1 for the first try of a delivery (Jira sends the retry count, ServiceNow nothing)."""


@dataclass
class Delivery:
    """One webhook delivery and what became of it.

    `status` is `pending` (queued or waiting for a retry), `delivered` (a 2xx came back),
    `failed` (every attempt failed) or `no_url` (no webhook configured when it was queued;
    redeliver it once one is). `http_status` is the last answer's status, None when none came.
    """

    id: int
    delivery_id: str
    event: dict
    ticket: str | None
    status: str = "pending"
    attempts: int = 0
    http_status: int | None = None
    last_error: str | None = None
    created_at: float = field(default_factory=time.time)
    delivered_at: float | None = None
    redelivery_of: int | None = None

    def to_json(self) -> dict:
        """The record as the admin API lists it. The event is shared, not copied: it is never
        changed once queued, and a deep copy of every event made listing thousands slow."""
        return {name: getattr(self, name) for name in _DELIVERY_FIELDS}


_DELIVERY_FIELDS = tuple(f.name for f in fields(Delivery))

MAX_WEBHOOK_SENDERS = 32
"""Most sender threads a dispatcher may run (a loopback stand-in needs no more)."""


def check_sender_count(value: object) -> int:
    """`value` as a number of sender threads; raises ValueError unless 1..MAX_WEBHOOK_SENDERS."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("senders must be an integer")
    if not 1 <= value <= MAX_WEBHOOK_SENDERS:
        raise ValueError(f"senders must be between 1 and {MAX_WEBHOOK_SENDERS}")
    return value


class WebhookDispatcher:
    """Posts events to the configured URL from `senders` background threads, with retries.

    `enqueue` returns at once: requests never wait for a delivery. Each sender thread takes the
    delivery due first, posts it with its own HTTP session and waits for the answer, so up to
    `senders` deliveries are in flight at once, as the vendors deliver (Jira Cloud posts in
    parallel; ServiceNow runs async business rules on several scheduler workers). With one
    sender, deliveries leave strictly in the order they became due. A delivery that fails
    (connection error or non-2xx) is tried again after each of `retry_delays_s`, keeping its
    `delivery_id`, so deliveries can arrive out of order, as they do from the real vendors.
    `set_senders` changes the number of threads while running (a thread asked to leave
    finishes its delivery first). `stop()` ends and joins every thread; pending deliveries
    are abandoned (and stay `pending`).
    """

    def __init__(self, build_headers: HeaderBuilder, *, url: str | None = None,
                 secret: str | None = None, retry_delays_s: Sequence[float] = (0.25, 1.0, 3.0),
                 timeout_s: float = 5.0, capacity: int = 20_000, senders: int = 1) -> None:
        self._build_headers = build_headers
        self._lock = threading.Condition()
        self._url = url
        self._secret = secret
        self._retry_delays = tuple(retry_delays_s)
        self._timeout_s = timeout_s
        self._deliveries: collections.OrderedDict[int, Delivery] = collections.OrderedDict()
        self._capacity = capacity
        self._due: list[tuple[float, int, int]] = []  # (due monotonic, sequence, delivery id)
        self._ids = itertools.count(1)
        self._sequence = itertools.count()
        self._thread_numbers = itertools.count(1)
        self._senders = check_sender_count(senders)
        self._threads: list[threading.Thread] = []
        self._running = 0  # sender threads started and not asked to leave
        self._leaving = 0  # threads asked to leave: the next ones to look for work do
        self._started = False
        self._stopping = False
        self._in_flight = 0

    # configuration ---------------------------------------------------------------------------
    def configure(self, url: str | None, secret: str | None) -> None:
        with self._lock:
            self._url = url or None
            self._secret = secret or None

    @property
    def url(self) -> str | None:
        return self._url

    @property
    def has_secret(self) -> bool:
        return self._secret is not None

    @property
    def senders(self) -> int:
        return self._senders

    def set_senders(self, senders: int) -> None:
        """Run `senders` sender threads from now on; raises ValueError (see `check_sender_count`).

        Before `start()` it only sets how many start. Threads beyond the new number leave once
        their current delivery is answered; deliveries are never dropped by a change.
        """
        check_sender_count(senders)
        with self._lock:
            self._senders = senders
            if self._started and not self._stopping:
                self._match_thread_count()

    # lifecycle -------------------------------------------------------------------------------
    def start(self) -> "WebhookDispatcher":
        """Start the sender threads (once: later calls, and calls after `stop()`, do nothing)."""
        with self._lock:
            if not self._started and not self._stopping:
                self._started = True
                self._match_thread_count()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask every sender thread to end and join them all, within `timeout_s` in total.

        A thread waiting for an answer ends once it comes (or the POST times out), so a
        receiver that never answers can outlast `timeout_s`; `sender_threads()` tells.
        """
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
            threads = list(self._threads)
        deadline = time.monotonic() + timeout_s
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def sender_threads(self) -> list[threading.Thread]:
        """The sender threads still alive (those leaving after a change included)."""
        with self._lock:
            return [thread for thread in self._threads if thread.is_alive()]

    def _match_thread_count(self) -> None:
        """Start or retire threads until `_senders` run; called with the lock held."""
        self._threads = [thread for thread in self._threads if thread.is_alive()]
        while self._running < self._senders:
            if self._leaving:
                self._leaving -= 1  # one that was about to leave stays instead
            else:
                thread = threading.Thread(target=self._run, daemon=True,
                                          name=f"webhook-sender-{next(self._thread_numbers)}")
                self._threads.append(thread)
                thread.start()
            self._running += 1
        if self._running > self._senders:
            self._leaving += self._running - self._senders
            self._running = self._senders
            self._lock.notify_all()

    # queueing --------------------------------------------------------------------------------
    def enqueue(self, delivery_id: str, event: dict, ticket: str | None = None,
                redelivery_of: int | None = None) -> Delivery:
        """Queue `event` for delivery under `delivery_id`; returns the delivery record at once."""
        with self._lock:
            delivery = Delivery(id=next(self._ids), delivery_id=delivery_id, event=event,
                                ticket=ticket, redelivery_of=redelivery_of)
            self._deliveries[delivery.id] = delivery
            while len(self._deliveries) > self._capacity:
                self._deliveries.popitem(last=False)
            if self._url is None:
                delivery.status = "no_url"
            else:
                self._schedule(delivery.id, 0.0)
            return delivery

    def redeliver(self, delivery_id_number: int) -> Delivery:
        """Send a recorded delivery again, as a new record with the same `delivery_id`.

        Raises KeyError when no delivery has that number.
        """
        with self._lock:
            original = self._deliveries[delivery_id_number]
        return self.enqueue(original.delivery_id, original.event, original.ticket,
                            redelivery_of=original.id)

    def deliveries(self) -> list[dict]:
        with self._lock:
            return [delivery.to_json() for delivery in self._deliveries.values()]

    def clear(self) -> None:
        """Forget every delivery record and what is queued; one being sent is still answered
        but neither recorded nor retried."""
        with self._lock:
            self._deliveries.clear()
            self._due.clear()

    def idle(self) -> bool:
        """True when nothing is queued, waiting for a retry or being sent."""
        with self._lock:
            return not self._due and self._in_flight == 0

    # sender threads --------------------------------------------------------------------------
    def _schedule(self, number: int, delay_s: float) -> None:
        heapq.heappush(self._due, (time.monotonic() + delay_s, next(self._sequence), number))
        self._lock.notify_all()

    def _next_due(self) -> Delivery | None:
        """Wait until a delivery is due; None when this thread is to end. Called with the lock held."""
        while not self._stopping:
            if self._leaving:
                self._leaving -= 1
                return None
            if self._due:
                due_at, _, number = self._due[0]
                wait = due_at - time.monotonic()
                if wait <= 0:
                    heapq.heappop(self._due)
                    delivery = self._deliveries.get(number)
                    if delivery is None:
                        continue  # cleared or evicted meanwhile
                    self._in_flight += 1
                    return delivery
                self._lock.wait(wait)
            else:
                self._lock.wait()
        return None

    def _run(self) -> None:
        # requests.Session is not thread safe: each sender has its own. It posts only to the
        # configured URL, so proxy and .netrc lookups in the environment (which requests does
        # on every request when trust_env is on) would be pure cost.
        session = requests.Session()
        session.trust_env = False
        try:
            while True:
                with self._lock:
                    delivery = self._next_due()
                    if delivery is None:
                        return
                    url, secret = self._url, self._secret
                    delivery.attempts += 1
                    attempt = delivery.attempts
                status, error = self._post(session, url, secret, delivery, attempt)
                with self._lock:
                    self._in_flight -= 1
                    delivery.http_status = status
                    delivery.last_error = error
                    if status is not None and 200 <= status < 300:
                        delivery.status = "delivered"
                        delivery.delivered_at = time.time()
                    elif attempt <= len(self._retry_delays) and url is not None:
                        delivery.status = "pending"
                        if self._deliveries.get(delivery.id) is delivery:  # not cleared meanwhile
                            self._schedule(delivery.id, self._retry_delays[attempt - 1])
                    else:
                        delivery.status = "failed"
        finally:
            session.close()

    def _post(self, session: requests.Session, url: str | None, secret: str | None,
              delivery: Delivery, attempt: int) -> tuple[int | None, str | None]:
        if url is None:
            return None, "no webhook url configured"
        body = json.dumps(delivery.event, separators=(",", ":"), sort_keys=False).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "xla-bridge-simulator"}
        try:
            headers.update(self._build_headers(body, delivery.delivery_id, attempt, secret))
            response = session.post(url, data=body, headers=headers, timeout=self._timeout_s)
            return response.status_code, None if response.ok else response.text[:200]
        except requests.RequestException as exc:
            return None, f"{type(exc).__name__}: {exc}"[:300]
        except Exception as exc:  # a broken header builder must not kill the thread
            log.exception("simulator.webhook.header_builder_failed")
            return None, f"{type(exc).__name__}: {exc}"[:300]


# --------------------------------------------------------------------------------------------
# State and admin API
# --------------------------------------------------------------------------------------------

class SimulatorState:
    """Everything a running simulator holds besides its records; a tool subclasses it.

    Subclasses override the hooks: `reset_world()` (back to the seeded records),
    `advance_scenario()` (one lifecycle step, returns what it did), `error_body(status, message)`
    (the tool's error envelope) and `apply_limits(changes)` / `limits()`.
    """

    tool = "simulator"

    def __init__(self, build_headers: HeaderBuilder, *, webhook_url: str | None = None,
                 webhook_secret: str | None = None,
                 retry_delays_s: Sequence[float] = (0.25, 1.0, 3.0), webhook_senders: int = 1) -> None:
        self.faults = FaultInjector()
        self.journal = RequestJournal()
        self.dispatcher = WebhookDispatcher(build_headers, url=webhook_url, secret=webhook_secret,
                                            retry_delays_s=retry_delays_s, senders=webhook_senders)
        self.started_at = time.time()

    # hooks -----------------------------------------------------------------------------------
    def reset_world(self) -> None:
        """Put every record back to its seeded state."""

    def advance_scenario(self) -> dict:
        """Apply one step of the seeded world's plan; returns what it did or `{"done": True}`."""
        return {"done": True}

    def error_body(self, status: int, message: str) -> dict:
        """The tool's error body for an injected or admin-level failure."""
        return {"error": message, "status": status}

    def limits(self) -> dict:
        return {}

    def apply_limits(self, changes: Mapping) -> dict:
        """Change rate limits; returns the limits now in force. Raises ValueError on bad input."""
        raise ValueError("this simulator has no configurable limits")

    def health(self) -> dict:
        return {"status": "ok", "tool": self.tool, "uptime_s": round(time.time() - self.started_at, 3),
                "webhooks_idle": self.dispatcher.idle(), "webhook_senders": self.dispatcher.senders}

    # full reset ------------------------------------------------------------------------------
    def reset(self) -> None:
        """Seeded records, no faults, empty journal and delivery log (the webhook URL is kept)."""
        self.faults.clear()
        self.journal.clear()
        self.dispatcher.clear()
        self.reset_world()


USER_ENVIRON_KEY = "xla_sim.user"
"""A tool app stores the authenticated user name under this WSGI environ key for the journal."""


class SimulatorMiddleware:
    """WSGI middleware applying queued faults and journaling every non-admin request."""

    def __init__(self, wsgi_app: Callable, state: SimulatorState) -> None:
        self.wsgi_app = wsgi_app
        self.state = state

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        if path.startswith(ADMIN_PREFIX):
            return self.wsgi_app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET")
        raw = self._read_body(environ)
        journal_args = dict(method=method, path=path, query=environ.get("QUERY_STRING", ""),
                            body=decode_body(raw))
        fault = self.state.faults.take(method, path)
        if fault is not None:
            if fault.latency_ms:
                time.sleep(fault.latency_ms / 1000)  # the simulated slowness itself
            if fault.drop:
                self.state.journal.record(status=None, user=None, fault=fault.id, **journal_args)
                drop_connection(environ)
            if fault.status is not None:
                self.state.journal.record(status=fault.status, user=None, fault=fault.id,
                                          **journal_args)
                return self._fault_response(fault, start_response)
        captured: dict = {}

        def capture_start_response(status: str, headers: list, exc_info=None):
            captured["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        result = self.wsgi_app(environ, capture_start_response)
        self.state.journal.record(status=captured.get("status"), user=environ.get(USER_ENVIRON_KEY),
                                  **journal_args)
        return result

    @staticmethod
    def _read_body(environ: dict) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(raw)  # the app reads the same bytes again
        return raw

    def _fault_response(self, fault: Fault, start_response: Callable) -> list[bytes]:
        reason = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
                  503: "Service Unavailable", 504: "Gateway Timeout"}[fault.status]
        message = "Too many requests" if fault.status == 429 else "Simulated fault"
        body = json.dumps(self.state.error_body(fault.status, message)).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        if fault.retry_after is not None:
            headers.append(("Retry-After", str(int(fault.retry_after + 0.999))))
        start_response(f"{fault.status} {reason}", headers)
        return [body]


def register_admin_routes(app: Flask, state: SimulatorState) -> None:
    """Add the `/_sim/*` endpoints both simulators offer (see docs/simulators.md)."""

    def bad_request(message: str):
        return jsonify({"error": message}), 400

    @app.post(f"{ADMIN_PREFIX}/faults")
    def sim_add_fault():
        try:
            fault = state.faults.add(request.get_json(force=True, silent=True))
        except ValueError as exc:
            return bad_request(str(exc))
        return jsonify(fault.to_json()), 201

    @app.get(f"{ADMIN_PREFIX}/faults")
    def sim_list_faults():
        return jsonify(state.faults.pending())

    @app.delete(f"{ADMIN_PREFIX}/faults")
    def sim_clear_faults():
        state.faults.clear()
        return "", 204

    @app.get(f"{ADMIN_PREFIX}/journal")
    def sim_journal():
        try:
            after = int(request.args.get("after", 0))
        except ValueError:
            return bad_request("after must be an integer")
        return jsonify(state.journal.entries(after))

    @app.delete(f"{ADMIN_PREFIX}/journal")
    def sim_clear_journal():
        state.journal.clear()
        return "", 204

    def webhook_setting():
        return jsonify({"url": state.dispatcher.url, "secret_set": state.dispatcher.has_secret,
                        "senders": state.dispatcher.senders})

    @app.get(f"{ADMIN_PREFIX}/webhook")
    def sim_get_webhook():
        return webhook_setting()

    @app.put(f"{ADMIN_PREFIX}/webhook")
    def sim_set_webhook():
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            return bad_request("expected {\"url\": ..., \"secret\": ..., \"senders\": n}")
        if body.get("senders") is not None:
            # checked before anything changes: a refused request leaves the setting whole
            try:
                senders = check_sender_count(body["senders"])
            except ValueError as exc:
                return bad_request(str(exc))
            state.dispatcher.set_senders(senders)
        state.dispatcher.configure(body.get("url"), body.get("secret"))
        return webhook_setting()

    @app.get(f"{ADMIN_PREFIX}/deliveries")
    def sim_deliveries():
        return jsonify(state.dispatcher.deliveries())

    @app.post(f"{ADMIN_PREFIX}/deliveries/<int:number>/redeliver")
    def sim_redeliver(number: int):
        try:
            delivery = state.dispatcher.redeliver(number)
        except KeyError:
            return jsonify({"error": f"no delivery {number}"}), 404
        return jsonify(delivery.to_json()), 202

    @app.get(f"{ADMIN_PREFIX}/limits")
    def sim_get_limits():
        return jsonify(state.limits())

    @app.put(f"{ADMIN_PREFIX}/limits")
    def sim_set_limits():
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            return bad_request("expected a JSON object of limits")
        try:
            return jsonify(state.apply_limits(body))
        except ValueError as exc:
            return bad_request(str(exc))

    @app.post(f"{ADMIN_PREFIX}/scenario/advance")
    def sim_advance():
        return jsonify(state.advance_scenario())

    @app.post(f"{ADMIN_PREFIX}/reset")
    def sim_reset():
        state.reset()
        return jsonify({"reset": True})

    @app.get(f"{ADMIN_PREFIX}/health")
    def sim_health():
        return jsonify(state.health())


def attach_simulator(app: Flask, state: SimulatorState) -> Flask:
    """Install the fault/journal middleware and the admin endpoints on `app`; returns `app`."""
    register_admin_routes(app, state)
    app.wsgi_app = SimulatorMiddleware(app.wsgi_app, state)
    app.extensions["simulator_state"] = state
    return app


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------

def parse_credentials(text: str | None) -> dict[str, str]:
    """`"user:secret,user2:secret2"` -> `{"user": "secret", ...}` (the secret may contain ':')."""
    pairs: dict[str, str] = {}
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, secret = item.partition(":")
        if not sep or not name:
            raise ValueError("credentials are written user:secret,user2:secret2")
        pairs[name] = secret
    return pairs


def format_credentials(pairs: Mapping[str, str]) -> str:
    return ",".join(f"{name}:{secret}" for name, secret in pairs.items())


def serve(app: Flask, host: str = "127.0.0.1", port: int = 0,
          on_shutdown: Callable[[], None] | None = None) -> None:
    """Serve `app` threaded until SIGTERM or SIGINT, then call `on_shutdown`.

    Connections stay open between requests (HTTP/1.1 keep-alive, `simulators.serving`), as
    the vendors' do. Binds first (port 0 picks a free port) and only then prints exactly
    `listening on http://<host>:<port>` and flushes, so a parent waiting for that line knows
    the port accepts connections.
    """
    from werkzeug.serving import make_server

    from simulators.serving import KeepAliveRequestHandler

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server(host, port, app, threaded=True, request_handler=KeepAliveRequestHandler)
    stopping = threading.Event()

    def request_stop(signum, frame):  # shutdown() blocks until serve_forever returns: not here
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    print(f"{LISTENING_PREFIX}http://{host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        if on_shutdown is not None:
            on_shutdown()


class SimulatorStartError(RuntimeError):
    """The simulator process exited or stayed silent before announcing its address."""


class SimulatorProcess:
    """A simulator running as a child process: its URL, admin calls, journal, and stop."""

    def __init__(self, tool: str, process: subprocess.Popen, url: str,
                 output: collections.deque[str], users: Mapping[str, str]) -> None:
        self.tool = tool
        self.process = process
        self.url = url
        self.users = dict(users)
        self._output = output
        self._session = requests.Session()

    def admin(self, method: str, path: str, json: object = None, timeout: float = 10.0):
        """Call an admin endpoint (`path` like `/faults` or `/_sim/faults`); returns the
        decoded JSON body (None for an empty body). Raises requests.HTTPError on 4xx/5xx."""
        if not path.startswith(ADMIN_PREFIX):
            path = ADMIN_PREFIX + (path if path.startswith("/") else "/" + path)
        response = self._session.request(method, self.url + path, json=json, timeout=timeout)
        response.raise_for_status()
        return response.json() if response.content else None

    def journal(self, after: int = 0) -> list[dict]:
        return self.admin("GET", f"/journal?after={after}")

    def deliveries(self) -> list[dict]:
        return self.admin("GET", "/deliveries")

    def output_tail(self) -> str:
        """The last lines the process printed (stdout and stderr), for failure messages."""
        return "\n".join(self._output)

    def stop(self, timeout_s: float = 10.0) -> int | None:
        """Terminate (SIGTERM), wait, kill when it does not end in time; returns the exit code."""
        self._session.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout_s)
        return self.process.returncode

    def __enter__(self) -> "SimulatorProcess":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


DEFAULT_TEST_USERS = {"admin": "admin-sim-password", "xla.integration": "integration-sim-password"}
"""Users the simulator accepts when a caller names none: throwaway credentials of a local stand-in."""


def start_simulator(tool: str, *, seed: int = 42, webhook_url: str | None = None,
                    webhook_secret: str | None = None,
                    users: Mapping[str, str] = DEFAULT_TEST_USERS,
                    tokens: Mapping[str, str] | None = None,
                    extra_args: Sequence[str] = (), env: Mapping[str, str] | None = None,
                    startup_timeout_s: float = 30.0) -> SimulatorProcess:
    """Run `python -m simulators.<tool> --port 0 --seed <seed>` and wait until it listens.

    Users, tokens and the webhook secret travel in environment variables (never on the command
    line, where `ps` shows them). Returns a `SimulatorProcess`; raises SimulatorStartError when
    the process exits or prints no `listening on` line within `startup_timeout_s`.
    """
    child_env = dict(os.environ)
    child_env.update(env or {})
    child_env[DEFAULT_USERS_ENV] = format_credentials(users)
    child_env["PYTHONUNBUFFERED"] = "1"
    args = [sys.executable, "-m", f"simulators.{tool}", "--host", "127.0.0.1", "--port", "0",
            "--seed", str(seed), "--users-env", DEFAULT_USERS_ENV]
    if tokens is not None:
        child_env[DEFAULT_TOKENS_ENV] = format_credentials(tokens)
        args += ["--tokens-env", DEFAULT_TOKENS_ENV]
    if webhook_url:
        args += ["--webhook-url", webhook_url]
    if webhook_secret:
        child_env[DEFAULT_WEBHOOK_SECRET_ENV] = webhook_secret
        args += ["--webhook-secret-env", DEFAULT_WEBHOOK_SECRET_ENV]
    args += list(extra_args)
    process = subprocess.Popen(args, cwd=REPO_ROOT, env=child_env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, bufsize=1)
    output: collections.deque[str] = collections.deque(maxlen=200)
    announced: dict[str, str] = {}
    ready = threading.Event()

    def drain() -> None:
        # keep reading for the whole life of the process so a full pipe never blocks it
        for line in process.stdout:
            line = line.rstrip("\n")
            output.append(line)
            if not ready.is_set() and line.startswith(LISTENING_PREFIX):
                announced["url"] = line[len(LISTENING_PREFIX):].strip()
                ready.set()
        ready.set()

    threading.Thread(target=drain, name=f"{tool}-simulator-output", daemon=True).start()
    ready.wait(startup_timeout_s)
    if "url" not in announced:
        if process.poll() is None:
            process.kill()
            process.wait(5)
        tail = "\n".join(output)
        raise SimulatorStartError(f"{tool} simulator did not start (exit {process.returncode}):\n{tail}")
    return SimulatorProcess(tool, process, announced["url"], output, users)


def add_common_arguments(parser) -> None:
    """Command-line options every simulator accepts (see docs/architecture.md)."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback by default)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument("--seed", type=int, default=42, help="seed of the generated world")
    parser.add_argument("--tickets", type=int, default=20,
                        help="tickets planned to open during the scenario (beyond those in progress)")
    parser.add_argument("--in-progress", type=int, default=20,
                        help="tickets already open, with history, when the simulator starts")
    parser.add_argument("--closed", type=int, default=15,
                        help="tickets already closed before the simulator starts (caller history)")
    parser.add_argument("--webhook-url", default=None, help="where events are posted")
    parser.add_argument("--webhook-secret-env", default=None,
                        help="name of the environment variable holding the webhook secret")
    parser.add_argument("--users-env", default=DEFAULT_USERS_ENV,
                        help="environment variable with user:password,user2:password2")
    parser.add_argument("--webhook-retry-delays", default="0.25,1,3",
                        help="seconds between delivery attempts, comma-separated")
    parser.add_argument("--webhook-senders", type=sender_count_argument, default=1, metavar="N",
                        help="deliveries in flight at once, one thread each (1: strictly in order)")


def sender_count_argument(text: str) -> int:
    """argparse type of `--webhook-senders`: raises ArgumentTypeError unless 1..MAX_WEBHOOK_SENDERS."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    try:
        return check_sender_count(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def read_secret_env(name: str | None) -> str | None:
    """The value of environment variable `name` (None when unnamed or empty)."""
    if not name:
        return None
    return os.environ.get(name) or None


def parse_delays(text: str) -> tuple[float, ...]:
    """`"0.25,1,3"` -> `(0.25, 1.0, 3.0)`; raises ValueError on a negative or non-number."""
    delays = tuple(float(part) for part in text.split(",") if part.strip())
    if any(delay < 0 for delay in delays):
        raise ValueError("retry delays must not be negative")
    return delays
