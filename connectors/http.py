"""The one HTTP client every connector call goes through, one per configured connection.

It owns everything that is the same for both tools, so a tool module only adds its auth and
one thin method per endpoint:

- the destination check (`connectors.safety`) on every URL, redirects included (never followed
  to another host);
- the timeout on every call;
- politeness (`connectors.politeness`): a token bucket per connection, a write window per ticket,
  a circuit breaker per connection;
- retries with tenacity, only for idempotent calls (GET, and PUT/PATCH of absolute values the
  caller marks idempotent; never POST), capped exponential backoff with full jitter, never
  shorter than the vendor's `Retry-After`; a wait longer than one call's timeout is not slept
  here but handed to the job layer in the error's `retry_after_s`;
- the vendor's `Retry-After` honoured by every thread of the process: after a 429, no call of
  this connection leaves before the wait has passed (a longer wait than a call's timeout is
  handed to the job layer without calling); and, given `shared_pauses`, by every other process
  of the installation too: the wait is recorded there, and asked for before each call while
  this process knows of no wait itself;
- translation of every transport error and unwanted status into `connectors.errors`
  (`raise ... from exc`), with messages that carry no credentials;
- the write guard (`guard_writes`): a check the job layer runs right before any call that may
  change the ITSM, so a worker that lost its lease stops before writing;
- the `on_call(connection_id, method, status, seconds)` hooks, called once per attempt that
  reached the network (`status` is the HTTP status, or "timeout", "unreachable",
  "connection_lost"), which the service wires to its metrics: per connection through the
  connector's `call_hooks` list, or for every connection through `CALL_HOOKS`.

`HttpClient.session` is a `requests.Session` whose `request()` applies all of the above, so a
library that takes a session (the `jira` client) gets the same behaviour as our own calls.
"""
from __future__ import annotations

import base64
import contextlib
import contextvars
import email.utils
import logging
import random
import threading
import time
from datetime import datetime, timezone
from typing import Callable, Iterator, Mapping, Protocol
from urllib.parse import urljoin, urlsplit

import requests
import tenacity
from requests.auth import AuthBase, HTTPBasicAuth

from connectors import errors
from connectors.politeness import CircuitBreaker, TicketWriteWindow, TokenBucket
from connectors.safety import Destination, Resolver, resolve_host
from settings.model import ConnectionSettings

log = logging.getLogger("xla.connectors.http")

CallHook = Callable[[str, str, "int | str", float], None]
# Hooks every client calls after each attempt, besides its own `on_call` list.
CALL_HOOKS: list[CallHook] = []

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BACKOFF_BASE_S = 0.25
BACKOFF_CAP_S = 8.0
MAX_REDIRECTS = 3
# How often a call looks for a pause before going out (see `_wait_for_retry_after`).
PAUSE_LOOKS = 3
USER_AGENT = "xla-bridge-connector"


class SharedPauses(Protocol):
    """Waits an ITSM asked for, recorded where every process of the installation sees them
    (the service passes `jobs.pauses.ConnectionPauses`). Both methods may raise when their store
    does not answer; the client then goes on with what its own process knows."""

    def pause(self, connection_id: str, seconds: float) -> None:
        """No process calls `connection_id` for `seconds` from now (a longer pause is kept)."""

    def remaining_s(self, connection_id: str) -> float:
        """Seconds until `connection_id` may be called again; 0.0 when it is not paused."""


_current_ticket: contextvars.ContextVar[str | None] = contextvars.ContextVar("xla_connector_ticket", default=None)
_write_guard: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar("xla_write_guard",
                                                                                         default=None)


@contextlib.contextmanager
def guard_writes(check: Callable[[], None]) -> Iterator[None]:
    """Within the block, `check()` runs right before every call that may change an ITSM (any
    method but GET, HEAD and OPTIONS), after any pacing wait; whatever it raises aborts the call
    before a byte is sent. The worker passes its lease check, so a worker that lost its job to
    another (stopped or paused past its lease) does not write for it when it wakes up.
    """
    token = _write_guard.set(check)
    try:
        yield
    finally:
        _write_guard.reset(token)


class BearerAuth(AuthBase):
    """`Authorization: Bearer <token>` (Jira Data Center personal access tokens)."""

    def __init__(self, token: str):
        self._token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:  # never show the token, even in a debugger or a traceback
        return "BearerAuth([redacted])"


class _RedactedBasicAuth(HTTPBasicAuth):
    def __repr__(self) -> str:
        return "HTTPBasicAuth([redacted])"


def auth_for(connection: ConnectionSettings) -> tuple[AuthBase, tuple[str, ...]]:
    """The requests auth object for `connection`, and the secret strings to keep out of messages.

    Raises `settings.errors.ConfigError` when the token's environment variable is not set.
    """
    token = connection.token()
    if connection.auth.kind == "bearer":
        return BearerAuth(token), (token,)
    user = connection.auth.user or ""
    basic = base64.b64encode(f"{user}:{token}".encode()).decode()
    return _RedactedBasicAuth(user, token), (token, basic)


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the vendor asks us to wait, from `Retry-After` (seconds or an HTTP date) or else
    `X-RateLimit-Reset` (epoch seconds on ServiceNow, ISO 8601 on Jira Cloud). None when absent
    or unreadable; never negative."""
    now = time.time() if now is None else now
    value = (headers.get("Retry-After") or "").strip()
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - now)
            except (TypeError, ValueError):
                pass
    reset = (headers.get("X-RateLimit-Reset") or "").strip()
    if reset:
        try:
            number = float(reset)
            # epoch seconds; a small number is a count of seconds (some gateways send that)
            return max(0.0, number - now if number > 1e9 else number)
        except ValueError:
            try:
                moment = datetime.fromisoformat(reset.replace("Z", "+00:00"))
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=timezone.utc)
                return max(0.0, moment.timestamp() - now)
            except ValueError:
                pass
    return None


def vendor_message(response: requests.Response) -> str:
    """The human part of an error body: ServiceNow `error.message`/`detail`, Jira `errorMessages`
    and `errors`; for other bodies only their kind (we do not sniff HTML)."""
    try:
        body = response.json()
    except ValueError:
        kind = (response.headers.get("Content-Type") or "no content type").split(";")[0]
        return f"a non-JSON body ({kind})" if response.content else "an empty body"
    parts: list[str] = []
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            parts += [str(error[k]) for k in ("message", "detail") if error.get(k)]
        elif isinstance(error, str):
            parts.append(error)
        parts += [str(m) for m in body.get("errorMessages") or [] if m]
        if isinstance(body.get("errors"), dict):
            parts += [f"{k}: {v}" for k, v in body["errors"].items()]
        if isinstance(body.get("message"), str):
            parts.append(body["message"])
    text = "; ".join(parts) if parts else "a JSON body without an error message"
    return text[:400]


ErrorClassifier = Callable[[requests.Response, str, str], "errors.ConnectorError | None"]


class _PoliteSession(requests.Session):
    """A Session whose every `request()` goes through its `HttpClient` (for the jira library)."""

    def __init__(self, client: "HttpClient"):
        super().__init__()
        self._client = client

    def request(self, method, url, **kwargs):  # noqa: D401 - signature of requests.Session
        kwargs.pop("_prepare_retry_class", None)  # jira's own retry hook; we retry ourselves
        return self._client.request(method, url, **kwargs)

    def _send_once(self, method, url, **kwargs):
        return super().request(method, url, **kwargs)


class HttpClient:
    """HTTP to one ITSM instance, politely and safely. Thread-safe; one per connection.

    `request()` returns the response of a 2xx (or of a status in `ok_statuses`) and raises a
    `connectors.errors.ConnectorError` for everything else.
    """

    def __init__(self, connection: ConnectionSettings, *, tool: str | None = None,
                 auth: AuthBase | None = None, secrets: tuple[str, ...] = (),
                 headers: Mapping[str, str] | None = None,
                 classify_error: ErrorClassifier | None = None,
                 resolver: Resolver = resolve_host,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 on_call: list[CallHook] | None = None, health_path: str | None = None,
                 shared_pauses: SharedPauses | None = None):
        self.connection = connection
        self.connection_id = connection.id
        self.tool = tool or connection.tool
        self.limits = connection.limits
        self.base_url = connection.base_url.rstrip("/")
        # A cheap read that only an unavailable instance fails: the breaker's half-open probe.
        # Without one, the first caller's own request is the probe.
        self.health_path = health_path
        self.destination = Destination(connection.id, connection.base_url,
                                       allow_loopback_http=connection.allow_loopback_http,
                                       on_premises=connection.on_premises, resolver=resolver, clock=clock)
        self._secrets = tuple(s for s in secrets if s)
        self._classify_error = classify_error
        self._sleep = sleep
        self._clock = clock
        # this connection's hooks (the connector exposes the list as `call_hooks`)
        self.on_call: list[CallHook] = [] if on_call is None else on_call
        self.bucket = TokenBucket(self.limits.requests_per_second, self.limits.burst, clock=clock, sleep=sleep)
        self.ticket_window = TicketWriteWindow(self.limits.ticket_writes_per_window,
                                               self.limits.ticket_write_window_s, clock=clock, sleep=sleep)
        # A vendor's Retry-After is about this connection's user, not about the one call that got it:
        # until this moment (on `clock`), no thread of this process sends anything.
        self._resume_at = 0.0
        self._resume_lock = threading.Lock()
        # ... and through this, no thread of any other process either.
        self.shared_pauses = shared_pauses
        self.breaker = CircuitBreaker(connection.id, self.limits.breaker_failures, self.limits.breaker_reset_s,
                                      clock=clock)
        self.session = _PoliteSession(self)
        self.session.auth = auth
        self.session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
        if headers:
            self.session.headers.update(headers)

    # -- public -------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        """Absolute URL of an instance path ("/api/now/table/incident") or an absolute URL as is."""
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + ("" if path.startswith("/") else "/") + path

    @contextlib.contextmanager
    def ticket_scope(self, ticket_key: str) -> Iterator[None]:
        """Within the block, writes count against `ticket_key`'s write window (for library calls)."""
        token = _current_ticket.set(ticket_key)
        try:
            yield
        finally:
            _current_ticket.reset(token)

    def request(self, method: str, url: str, *, params=None, data=None, json=None, headers=None,
                idempotent: bool | None = None, ticket_key: str | None = None,
                ok_statuses: tuple[int, ...] = (), **kwargs) -> requests.Response:
        """Send one logical call: safety check, pacing, breaker, retries (idempotent only), translation.

        `idempotent` defaults to True for GET/HEAD/OPTIONS and False otherwise; pass True for a
        PUT/PATCH that sets absolute values. `ticket_key` puts a write in that ticket's window.
        Raises `UnsafeDestination`, `CircuitOpen`, `RateLimited`, `ServerError`, `Timeout`,
        `HostUnreachable`/`ConnectionLost`, `AuthenticationError`, `PermissionDenied`,
        `NotFound`, `InvalidRequest`/`FieldNotEditable` (via the tool's classifier) or
        `UnexpectedResponse`.
        """
        method = method.upper()
        url = self.url(url)
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        ticket_key = ticket_key or _current_ticket.get()
        attempts = 1 + (self.limits.max_retries if idempotent else 0)
        send = dict(params=params, data=data, json=json, headers=headers, **kwargs)
        send.pop("allow_redirects", None)
        send.pop("timeout", None)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(attempts) | self._wait_too_long,
            wait=self._backoff,
            retry=tenacity.retry_if_exception(self._worth_retrying),
            sleep=self._sleep,
            reraise=True,
            before_sleep=lambda state: log.info(
                "connector.retry", extra={"connection": self.connection_id, "method": method,
                                          "path": urlsplit(url).path, "attempt": state.attempt_number,
                                          "wait_s": round(state.upcoming_sleep, 3),
                                          "error": type(state.outcome.exception()).__name__}))
        return retrying(self._attempt, method, url, ticket_key, ok_statuses, send)

    def get_json(self, path: str, params=None, **kwargs):
        """GET and decode JSON; `UnexpectedResponse` when the body is not JSON."""
        return self.decode_json(self.request("GET", path, params=params, **kwargs), "GET", path)

    def decode_json(self, response: requests.Response, method: str, path: str):
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise errors.UnexpectedResponse(
                self._message(method, path, f"answered {response.status_code} with a body that is not JSON"),
                connection_id=self.connection_id, status=response.status_code,
                body=self.redact(response.text)) from exc

    def redact(self, text: str) -> str:
        """`text` with every credential string of this connection replaced."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "[redacted]")
        return text

    def close(self) -> None:
        self.session.close()

    # -- retry policy -------------------------------------------------------------------------

    @staticmethod
    def _worth_retrying(exc: BaseException) -> bool:
        return isinstance(exc, errors.ConnectorError) and exc.retryable and not isinstance(exc, errors.CircuitOpen)

    def _backoff(self, state: tenacity.RetryCallState) -> float:
        """Full jitter over a capped exponential, but never less than what the vendor asked for."""
        exc = state.outcome.exception() if state.outcome else None
        ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (state.attempt_number - 1))
        wait = random.uniform(0, ceiling)
        asked = getattr(exc, "retry_after_s", None)
        return max(wait, asked) if asked is not None else wait

    def _wait_too_long(self, state: tenacity.RetryCallState) -> bool:
        # Sleeping minutes inside an HTTP call would hold a worker; the job layer reschedules instead.
        return state.upcoming_sleep > self.limits.timeout_s

    # -- one attempt --------------------------------------------------------------------------

    def _attempt(self, method: str, url: str, ticket_key: str | None, ok_statuses, send: dict):
        path = urlsplit(url).path
        for _hop in range(MAX_REDIRECTS + 1):
            self.destination.check_url(url)
            self._wait_for_retry_after(method, path)
            if self.breaker.before_call() and self.health_path:
                self._probe_health()
            try:
                self.bucket.acquire()
                if ticket_key and method not in IDEMPOTENT_METHODS:
                    self.ticket_window.acquire(ticket_key)
                guard = _write_guard.get()
                if guard is not None and method not in IDEMPOTENT_METHODS:
                    guard()
                response = self._send(method, url, path, send)
            except errors.ConnectorError as exc:
                if isinstance(exc, (errors.Timeout, errors.HostUnreachable)):
                    self.breaker.record_failure()
                else:
                    self.breaker.record_neutral()
                raise
            except BaseException:
                self.breaker.record_neutral()  # our own bug or an interrupt: not the instance's fault
                raise
            if response.status_code >= 500:
                self.breaker.record_failure()
            else:
                self.breaker.record_success()
            if response.is_redirect or response.status_code in (301, 302, 303, 307, 308):
                url = self._redirect_target(response, method, path)
                continue
            if 200 <= response.status_code < 300 or response.status_code in ok_statuses:
                return response
            error = self._error_for(response, method, path)
            if isinstance(error, errors.RateLimited) and error.retry_after_s:
                with self._resume_lock:
                    self._resume_at = max(self._resume_at, self._clock() + error.retry_after_s)
                self._share_pause(error.retry_after_s)
            raise error
        raise errors.UnexpectedResponse(self._message(method, path, f"redirected more than {MAX_REDIRECTS} times"),
                                        connection_id=self.connection_id)

    def _send(self, method: str, url: str, path: str, send: dict) -> requests.Response:
        started = self._clock()
        status: int | str = "error"
        try:
            response = self.session._send_once(method, url, timeout=self.limits.timeout_s,
                                               allow_redirects=False, **send)
            status = response.status_code
            return response
        except requests.exceptions.Timeout as exc:
            status = "timeout"
            connect = isinstance(exc, requests.exceptions.ConnectTimeout)
            raise errors.Timeout(self._message(method, path, (
                "could not connect" if connect else "got no answer") + f" within {self.limits.timeout_s:g} s"),
                connection_id=self.connection_id) from exc
        except requests.exceptions.ConnectionError as exc:
            lost = _connection_was_established(exc)
            status = "connection_lost" if lost else "unreachable"
            if lost:
                raise errors.ConnectionLost(self._message(
                    method, path, "lost the connection before an answer arrived (the call may have taken effect)"),
                    connection_id=self.connection_id) from exc
            raise errors.HostUnreachable(self._message(
                method, path, f"could not reach {self.destination.origin[1]}:{self.destination.origin[2]} "
                              "(connection refused or name not resolved)"),
                connection_id=self.connection_id) from exc
        except requests.exceptions.ChunkedEncodingError as exc:
            status = "connection_lost"
            raise errors.ConnectionLost(self._message(
                method, path, "lost the connection while the answer was arriving (the call may have taken effect)"),
                connection_id=self.connection_id) from exc
        except requests.exceptions.RequestException as exc:
            raise errors.UnexpectedResponse(self._message(method, path, f"failed: {type(exc).__name__}"),
                                            connection_id=self.connection_id) from exc
        finally:
            seconds = self._clock() - started
            for hook in [*self.on_call, *CALL_HOOKS]:
                try:
                    hook(self.connection_id, method, status, seconds)
                except Exception:  # a broken metrics hook must not break ticket traffic
                    log.exception("connector.on_call_hook_failed", extra={"connection": self.connection_id})

    def _redirect_target(self, response: requests.Response, method: str, path: str) -> str:
        location = response.headers.get("Location")
        if not location:
            raise errors.UnexpectedResponse(self._message(method, path, f"answered {response.status_code} "
                                                          "without a Location"), connection_id=self.connection_id,
                                            status=response.status_code)
        target = urljoin(response.url or self.base_url, location)
        if method not in IDEMPOTENT_METHODS:
            raise errors.UnexpectedResponse(self._message(method, path, f"answered {response.status_code} "
                                                          "(a redirect) to a write; not repeated"),
                                            connection_id=self.connection_id, status=response.status_code)
        try:
            self.destination.check_url(target)
        except errors.UnsafeDestination as exc:
            raise errors.UnsafeDestination(
                f"connection {self.connection_id}: {method} {path} redirected to another host "
                f"({urlsplit(target).scheme}://{urlsplit(target).netloc}); redirect refused",
                connection_id=self.connection_id, status=response.status_code) from exc
        return target

    def _wait_for_retry_after(self, method: str, path: str) -> None:
        """Hold this call until the wait the vendor last asked for has passed, as this process
        knows it or, while it knows of none, as another process recorded it in `shared_pauses`;
        a wait longer than one call's timeout is handed to the job layer as `RateLimited` without
        calling at all.

        After a wait it looks again: another process may have recorded a longer pause meanwhile
        (a 429 of its own while this one slept), and a call sent then would land inside it. The
        looks are bounded, so a clock that does not move cannot hold a call forever."""
        for _ in range(PAUSE_LOOKS):
            with self._resume_lock:
                wait = self._resume_at - self._clock()
            if wait <= 0 and self.shared_pauses is not None:
                wait = self._shared_wait()
            if wait <= 0:
                return
            if wait > self.limits.timeout_s:
                raise errors.RateLimited(self._message(method, path, f"not sent: the instance asked us to wait "
                                                                     f"{wait:.0f} s more"),
                                         connection_id=self.connection_id, retry_after_s=wait)
            self._sleep(wait)

    def _shared_wait(self) -> float:
        """The wait another process recorded for this connection, adopted as this process's own
        (its threads then need not ask again until it has passed); 0.0 when there is none."""
        try:
            wait = self.shared_pauses.remaining_s(self.connection_id)
        except Exception as exc:  # the pause is politeness: an unreadable store must not stop ticket traffic
            log.warning("connector.shared_pause_unreadable", extra={"connection": self.connection_id,
                                                                    "error": type(exc).__name__})
            return 0.0
        if wait > 0:
            with self._resume_lock:
                self._resume_at = max(self._resume_at, self._clock() + wait)
            log.info("connector.shared_pause", extra={"connection": self.connection_id, "wait_s": round(wait, 3)})
        return wait

    def _share_pause(self, seconds: float) -> None:
        if self.shared_pauses is None:
            return
        try:
            self.shared_pauses.pause(self.connection_id, seconds)
        except Exception as exc:  # other processes then learn the wait from their own first 429
            log.warning("connector.shared_pause_unwritten", extra={"connection": self.connection_id,
                                                                   "error": type(exc).__name__})

    def _probe_health(self) -> None:
        """The half-open probe, on the connection's health path rather than on the caller's request:
        a request that fails on its own (one corrupt record) must not keep the breaker open for
        everyone, and the caller of a still-failing instance must wait without its call having gone
        out. Closes the breaker, or opens it again and raises `CircuitOpen`."""
        path = urlsplit(self.url(self.health_path)).path
        try:
            response = self._send("GET", self.url(self.health_path), path, {})
        except errors.ConnectorError as exc:
            if isinstance(exc, (errors.Timeout, errors.HostUnreachable)):
                self.breaker.record_failure()
                raise self._still_failing(exc) from exc
            self.breaker.record_neutral()
            raise
        except BaseException:
            self.breaker.record_neutral()
            raise
        if response.status_code >= 500:
            self.breaker.record_failure()
            raise self._still_failing(self._error_for(response, "GET", path))
        self.breaker.record_success()

    def _still_failing(self, error: errors.ConnectorError) -> errors.CircuitOpen:
        return errors.CircuitOpen(self.redact(f"connection {self.connection_id}: the circuit breaker's health probe "
                                              f"failed ({error}); calls resume in {self.breaker.reset_s:g} s"),
                                  connection_id=self.connection_id, retry_after_s=self.breaker.reset_s)

    # -- translation --------------------------------------------------------------------------

    def _message(self, method: str, path: str, what: str) -> str:
        return self.redact(f"{self.tool} connection {self.connection_id}: {method} {path} {what}")

    def _error_for(self, response: requests.Response, method: str, path: str) -> errors.ConnectorError:
        status = response.status_code
        detail = self.redact(vendor_message(response))
        body = self.redact(response.text or "")
        common = dict(connection_id=self.connection_id, status=status, body=body)
        if self._classify_error is not None:
            special = self._classify_error(response, method, path)
            if special is not None:
                return special
        if status == 429:
            wait = parse_retry_after(response.headers)
            reason = response.headers.get("RateLimit-Reason") or response.headers.get("X-RateLimit-Rule")
            said = f" ({reason})" if reason else ""
            return errors.RateLimited(self._message(method, path, f"was rate limited{said}; retry after "
                                                    f"{wait if wait is not None else 'an unspecified time'} s"),
                                      retry_after_s=wait, reason=reason, **common)
        if status >= 500:
            return errors.ServerError(self._message(method, path, f"answered {status}: {detail}"),
                                      retry_after_s=parse_retry_after(response.headers), **common)
        if status == 401:
            return errors.AuthenticationError(self._message(
                method, path, f"answered 401: the credentials were refused ({detail}); check the integration "
                              "user's token and its environment variable"), **common)
        if status == 403:
            return errors.PermissionDenied(self._message(
                method, path, f"answered 403: the integration user lacks a permission ({detail})"), **common)
        if status == 404:
            return errors.NotFound(self._message(method, path, f"answered 404: not found or not visible to the "
                                                 f"integration user ({detail})"), **common)
        if status in (400, 409, 422):
            return errors.InvalidRequest(self._message(method, path, f"answered {status}: {detail}"), **common)
        return errors.UnexpectedResponse(self._message(method, path, f"answered an unexpected {status}: {detail}"),
                                         **common)


def _connection_was_established(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the request went out and the connection then broke (reset, closed, truncated)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = type(current).__name__
        if name in ("NewConnectionError", "NameResolutionError", "ConnectionRefusedError", "gaierror"):
            return False
        if name in ("ProtocolError", "RemoteDisconnected", "ConnectionResetError", "BrokenPipeError",
                    "IncompleteRead", "ChunkedEncodingError"):
            return True
        nxt = getattr(current, "reason", None)
        if nxt is None and current.args and isinstance(current.args[0], BaseException):
            nxt = current.args[0]
        if nxt is None and len(current.args) > 1 and isinstance(current.args[1], BaseException):
            nxt = current.args[1]
        current = nxt if isinstance(nxt, BaseException) else (current.__context__ or current.__cause__)
    return False

