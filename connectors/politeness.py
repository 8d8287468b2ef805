"""Client-side politeness per connection: pace our own traffic, and stop calling a broken instance.

- `TokenBucket`: steady requests per second with a burst allowance, so ordinary traffic never
  meets the vendor's 429.
- `TicketWriteWindow`: at most N writes to one ticket in a sliding window (Jira documents about
  20 writes per issue per 2 s; our default stays well below).
- `CircuitBreaker`: after N consecutive failures (5xx, timeouts, unreachable) calls fail fast with
  `CircuitOpen` until the reset time has passed; then one probe call decides.

pybreaker was considered for the breaker and not used: it holds its lock for the whole guarded
call (every call of a connection would run one at a time), it reads the wall clock (no way to
compute "time until half-open" from a monotonic clock), and it wants failures as exceptions
raised through it, while our failures are classified after the response is read.

All three take the clock and the sleep function as arguments so behaviour is testable without
waiting; all three are thread-safe and never hold a lock while sleeping.
"""
from __future__ import annotations

import collections
import threading
import time
from typing import Callable

from connectors.errors import CircuitOpen

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up. `acquire` waits for a token.

    A caller that must wait reserves its token first (the level may go negative), so concurrent
    callers queue fairly instead of all waking at the same instant.
    """

    def __init__(self, rate: float, burst: int, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep):
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._stamp = clock()

    def reserve(self) -> float:
        """Take one token; return the seconds the caller must wait before using it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self) -> float:
        """Wait for one token; return the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait


class TicketWriteWindow:
    """At most `limit` writes per ticket in any `window_s` seconds (a sliding log per ticket)."""

    MAX_TRACKED = 10_000  # tickets remembered; the oldest are forgotten first

    def __init__(self, limit: int, window_s: float, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep):
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be at least 1 and window_s positive")
        self.limit = limit
        self.window_s = float(window_s)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._writes: collections.OrderedDict[str, collections.deque] = collections.OrderedDict()

    def reserve(self, ticket_key: str) -> float:
        """Book one write to `ticket_key`; return the seconds to wait before making it."""
        with self._lock:
            now = self._clock()
            stamps = self._writes.pop(ticket_key, None) or collections.deque()
            while stamps and stamps[0] <= now - self.window_s:
                stamps.popleft()
            start = now
            if len(stamps) >= self.limit:
                # the write may go once the oldest write still counted leaves the window
                start = max(now, stamps[len(stamps) - self.limit] + self.window_s)
            stamps.append(start)
            self._writes[ticket_key] = stamps
            while len(self._writes) > self.MAX_TRACKED:
                self._writes.popitem(last=False)
            return start - now

    def acquire(self, ticket_key: str) -> float:
        wait = self.reserve(ticket_key)
        if wait > 0:
            self._sleep(wait)
        return wait


class CircuitBreaker:
    """Closed -> (N consecutive failures) -> open -> (reset time) -> half-open: one probe -> closed/open.

    Callers bracket each attempt: `before_call()` (raises `CircuitOpen`), then exactly one of
    `record_success()` / `record_failure()` / `record_neutral()`. A 4xx answer is neutral: the
    instance is healthy even if our request was wrong, so it resets the failure count.
    """

    CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"

    def __init__(self, connection_id: str, failures: int, reset_s: float, *, clock: Clock = time.monotonic):
        self.connection_id = connection_id
        self.failures = max(1, int(failures))
        self.reset_s = float(reset_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._state = self.CLOSED
        self._consecutive = 0
        self._opened_at = 0.0
        self._probe_in_flight = False

    @property
    def state(self) -> str:
        with self._lock:
            if self._state == self.OPEN and self._clock() >= self._opened_at + self.reset_s:
                return self.HALF_OPEN
            return self._state

    def before_call(self) -> bool:
        """Let the call through, or raise `CircuitOpen` with the seconds until a probe may run.

        Returns True when this caller is the half-open probe: its outcome decides for everyone.
        """
        with self._lock:
            now = self._clock()
            if self._state == self.OPEN:
                remaining = self._opened_at + self.reset_s - now
                if remaining > 0:
                    raise self._open_error(remaining)
                self._state = self.HALF_OPEN
                self._probe_in_flight = False
            if self._state == self.HALF_OPEN:
                if self._probe_in_flight:
                    # another thread is probing; its answer decides, ask again shortly
                    raise self._open_error(min(1.0, self.reset_s))
                self._probe_in_flight = True
                return True
            return False

    def _open_error(self, remaining: float) -> CircuitOpen:
        return CircuitOpen(
            f"connection {self.connection_id}: circuit breaker open after {self.failures} consecutive failures; "
            f"calls resume in {remaining:.1f} s", connection_id=self.connection_id, retry_after_s=remaining)

    def record_success(self) -> None:
        with self._lock:
            self._state = self.CLOSED
            self._consecutive = 0
            self._probe_in_flight = False

    record_neutral = record_success

    def record_failure(self) -> None:
        with self._lock:
            self._consecutive += 1
            if self._state == self.HALF_OPEN or self._consecutive >= self.failures:
                self._state = self.OPEN
                self._opened_at = self._clock()
            self._probe_in_flight = False
