"""`POST /webhooks/<connection id>`: the one door ticket events come in by.

In order: the connection exists; the body is within the size limit and declared JSON; the
signature holds on the raw bytes (nothing is parsed before); the payload parses; an event of the
integration user's own write is answered without being stored (the loop guard's first filter);
any other event is committed to the inbox; then the answer. Every answer is counted by outcome in
`xla_webhooks_received_total` and logged with a stable key. docs/webhooks.md lists each status.
"""
from __future__ import annotations

import functools
import json
import logging
import threading
import time

from flask import Blueprint, Response, current_app, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import RequestEntityTooLarge

from domain.events import TicketEvent
from ops.metrics import WEBHOOK_SECONDS, WEBHOOKS
from pipeline.loop_guard import count_drop, integration_names, names_integration_user
from settings.model import ConnectionSettings
from storage.db import transaction
from webhooks.errors import SignatureRejected
from webhooks.inbox_writer import InboxUnavailable, InboxWriter
from webhooks.outcomes import Ignored, Unrecognised, Unsupported
from webhooks.quarantine import quarantine_payload
from webhooks.secrets import SecretUnavailable, signing_secrets
from webhooks.tools import TOOLS, kept_headers

blueprint = Blueprint("webhooks", __name__)
WEBHOOK_PATH_PREFIX = "/webhooks/"
log = logging.getLogger("xla.webhooks")

INBOX_WRITER_KEY = "xla.webhooks.inbox_writer"
RETRY_AFTER_S = "10"
_writer_lock = threading.Lock()


@blueprint.post(WEBHOOK_PATH_PREFIX + "<connection_id>")
def receive_webhook(connection_id: str):
    runtime = current_app.extensions["xla"]
    connection = runtime.settings.connection(connection_id)
    if connection is None or connection.tool not in TOOLS:
        # The id comes from the caller: it is neither logged in full nor used as a metric label.
        log.warning("webhook.unknown_connection", extra={"connection": connection_id[:64]})
        _received("-", "unknown_connection").inc()
        return _error(404, "unknown_connection", "no connection with this id is configured")
    started = time.perf_counter()
    try:
        outcome, response = _receive(runtime, connection)
    finally:
        _answer_seconds(connection.id).observe(time.perf_counter() - started)
    _received(connection.id, outcome).inc()
    return response


class SessionsOutsideWebhooks(SecureCookieSessionInterface):
    """Flask's cookie sessions everywhere but on webhook deliveries, which carry no cookie and
    never use a session: opening one builds a signer per request, about a tenth of the
    application's CPU per delivery."""

    def open_session(self, app, request):
        if request.path.startswith(WEBHOOK_PATH_PREFIX):
            return None  # Flask then uses its null session, which is never saved
        return super().open_session(app, request)


# The labelled children are looked up once: `labels()` takes a lock and builds a key every call.
@functools.cache
def _received(connection_id: str, outcome: str):
    return WEBHOOKS.labels(connection_id, outcome)


@functools.cache
def _answer_seconds(connection_id: str):
    return WEBHOOK_SECONDS.labels(connection_id)


def _receive(runtime, connection: ConnectionSettings) -> tuple[str, Response | tuple]:
    """The outcome label and the response for one delivery to a known connection."""
    limits = runtime.settings.webhooks
    tool = TOOLS[connection.tool]
    context = {"connection": connection.id}

    if request.content_length is not None and request.content_length > limits.max_body_bytes:
        return "too_large", _too_large(context, limits.max_body_bytes)
    # One byte of headroom: a body streamed without Content-Length is cut at the stream's limit
    # without an error, so reading limit + 1 is how "too large" shows.
    request.max_content_length = limits.max_body_bytes + 1
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return "too_large", _too_large(context, limits.max_body_bytes)
    if len(body) > limits.max_body_bytes:
        return "too_large", _too_large(context, limits.max_body_bytes)
    mimetype = _mimetype(request.environ.get("CONTENT_TYPE", ""))
    if not _declares_json(mimetype):
        log.warning("webhook.unsupported_media", extra={**context, "content_type": mimetype[:100]})
        return "unsupported_media", _error(415, "unsupported_media", "send the event as application/json")

    try:
        secrets = signing_secrets(connection)
        if secrets:
            tool.verify(body, request.headers, secrets, now=time.time(), tolerance_s=limits.timestamp_tolerance_s)
    except SignatureRejected as exc:
        log.warning("webhook.unauthorized", extra={**context, "reason": exc.reason})
        return "unauthorized", _error(401, "unauthorized", f"signature check failed: {exc.reason}")
    except SecretUnavailable as exc:
        log.error("webhook.secret_unavailable", extra={**context, "problem": str(exc)})
        return "unavailable", _unavailable("the webhook secret of this connection is not available")

    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        log.warning("webhook.not_json", extra=context)
        return "unsupported_media", _error(415, "unsupported_media", "the body is not UTF-8 JSON")

    try:
        parsed = tool.parse(connection.id, request.headers, payload)
    except Exception:  # a parser bug: keep the payload for replay instead of failing the sender forever
        log.exception("webhook.parser_failed", extra=context)
        parsed = Unrecognised(f"{connection.tool}.parser_failed")

    if isinstance(parsed, Ignored):
        log.info("webhook.ignored", extra={**context, "reason": parsed.reason})
        return "ignored", _json(200, status="ignored", reason=parsed.reason)
    if isinstance(parsed, Unsupported):
        logging.getLogger(f"xla.webhooks.{connection.tool}.unsupported").info(
            "webhook.unsupported", extra={**context, "reason": parsed.reason})
        return "unsupported", _json(200, status="unsupported", reason=parsed.reason)
    if isinstance(parsed, Unrecognised):
        return _quarantine(runtime, connection, parsed, body)
    if limits.drop_own_events and _is_own_write(runtime, connection, tool, payload):
        # The worker's loop guard would drop it on the same rule; dropping it here saves the inbox
        # row and the job. Counted and logged as the worker does, so dashboards keep their meaning.
        count_drop(connection.id, "own_actor", ticket=parsed.ticket_key, delivery=parsed.delivery_id, at="webhook")
        return "own_write", _json(200, status="ignored", reason="own_write")
    return _store(connection, parsed)


def _is_own_write(runtime, connection: ConnectionSettings, tool, payload) -> bool:
    """Whether the payload's actor is the connection's integration user, as far as this process
    knows without asking the ITSM: the configured login and an identity already fetched. When
    neither names the actor the event is stored, and the worker decides with the full identity."""
    names = _integration_names(connection.id, runtime.known_identity(connection.id), connection.auth.user)
    return bool(names) and names_integration_user(tool.actor_ids(payload, connection.deployment), names)


@functools.lru_cache(maxsize=64)
def _integration_names(connection_id: str, identity, configured_user: str | None) -> frozenset[str]:
    # Keyed by the identity too: once the process has fetched it, the next delivery uses it.
    return integration_names(identity, configured_user)


def _store(connection: ConnectionSettings, event: TicketEvent) -> tuple[str, Response | tuple]:
    try:
        is_new = _inbox_writer().store(event)
    except InboxUnavailable as exc:
        log.error("webhook.store_failed", extra={"connection": connection.id, "delivery": event.delivery_id,
                                                 "ticket": event.ticket_key, "error": str(exc)})
        return "unavailable", _unavailable("the event could not be stored; send it again")
    # The level is checked before the record's fields are gathered: at WARNING this costs nothing.
    if log.isEnabledFor(logging.INFO):
        context = {"connection": connection.id, "delivery": event.delivery_id, "ticket": event.ticket_key}
        if is_new:
            log.info("webhook.stored", extra={**context, "lifecycle": [step.value for step in event.lifecycle]})
        else:
            log.info("webhook.duplicate", extra=context)
    return ("stored", _json(202, status="stored", delivery_id=event.delivery_id)) if is_new else (
        "duplicate", _json(202, status="duplicate", delivery_id=event.delivery_id))


def _quarantine(runtime, connection: ConnectionSettings, parsed: Unrecognised,
                body: bytes) -> tuple[str, Response | tuple]:
    limits = runtime.settings.webhooks
    context = {"connection": connection.id, "reason": parsed.reason}
    try:
        with transaction(runtime.sessions) as session:
            kept_id = quarantine_payload(session, connection_id=connection.id, reason=parsed.reason,
                                         headers=kept_headers(request.headers), body=body,
                                         max_body_bytes=limits.quarantine_max_body_bytes,
                                         max_rows=limits.quarantine_max_rows)
    except Exception as exc:  # unable to keep it: let the sender retry rather than lose it
        log.error("webhook.quarantine_failed", extra={**context, "error": type(exc).__name__})
        return "unavailable", _unavailable("the payload could not be kept; send it again")
    logging.getLogger(f"xla.webhooks.{connection.tool}.unrecognised").warning(
        "webhook.unrecognised", extra={**context, "quarantine_id": kept_id})
    return "unrecognised", _error(400, "unrecognised", f"payload not recognised: {parsed.reason}",
                                  quarantine_id=kept_id)


def _inbox_writer() -> InboxWriter:
    app = current_app._get_current_object()
    writer = app.extensions.get(INBOX_WRITER_KEY)
    if writer is None:
        with _writer_lock:
            writer = app.extensions.get(INBOX_WRITER_KEY)
            if writer is None:
                runtime = app.extensions["xla"]
                # Answer before gunicorn gives up on the request, so the sender gets a clean 503.
                writer = InboxWriter(runtime.sessions, wait_s=max(1.0, runtime.settings.server.timeout_s * 0.8),
                                     max_attempts=runtime.settings.worker.max_attempts)
                app.extensions[INBOX_WRITER_KEY] = writer
    return writer


def _declares_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))


def _mimetype(content_type: str) -> str:
    """The media type of a Content-Type value, lower case, without its parameters."""
    return content_type.partition(";")[0].strip().lower()


def _json(http_status: int, /, **fields) -> Response:
    """A JSON answer with the bytes `jsonify` makes (sorted keys, compact, a final newline),
    without the app's JSON provider and response lookups each call."""
    return Response(json.dumps(fields, sort_keys=True, separators=(",", ":")) + "\n", status=http_status,
                    mimetype="application/json")


def _error(status: int, code: str, message: str, **more) -> tuple[Response, int]:
    return _json(status, error=code, message=message, **more), status


def _too_large(context: dict, limit: int) -> tuple[Response, int]:
    log.warning("webhook.too_large", extra=context)
    return _error(413, "too_large", f"the body exceeds {limit} bytes")


def _unavailable(message: str) -> tuple[Response, int, dict]:
    response, status = _error(503, "unavailable", message)
    return response, status, {"Retry-After": RETRY_AFTER_S}
