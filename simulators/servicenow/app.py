"""The ServiceNow simulator's Flask app: the Table API, its auth and limits, and the admin hooks.

`create_app(options)` builds an app serving `/api/now/table/{table}` (and the `/api/now/v2/`
alias) for the tables of `schema.py`, with what a client meets on a real instance: Basic auth
(401), ACLs (403 for read-only users and system tables), `{"result": ...}` envelopes and
`{"error": {"message", "detail"}, "status": "failure"}` failures, encoded queries, display
values, paging with `Link` and `X-Total-Count`, and a per-user hourly rate limit with
`X-RateLimit-*` headers and 429 + `Retry-After`. Every ticket change queues the signed event of
docs/architecture.md. The `/_sim/*` admin endpoints come from `simulators.common`.
"""
from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping
from urllib.parse import urlencode

from flask import Flask, Response, g, request

from simulators.common import (HourlyUserLimiter, SimulatorState, USER_ENVIRON_KEY,
                               attach_simulator)
from simulators.servicenow.events import (DEFAULT_WEBHOOK_FIELDS, build_delivery_headers,
                                          build_event, delivery_id_of)
from simulators.servicenow.query import QueryError, parse_query
from simulators.servicenow.records import ChangeNotice, RecordError, RecordStore, utc_now
from simulators.servicenow.render import RenderOptions, render_record
from simulators.servicenow.scenario import ServiceNowScenario
from simulators.world import build_world

DEFAULT_LIMIT = 10_000
ADMIN_USER = "admin"
SYSTEM_TABLES = ("sys_dictionary", "sys_choice", "sys_journal_field", "contract_sla", "task_sla")
"""Tables only `admin` may write (the instance fills them itself)."""
RATE_LIMIT_RULE = "5c3b7e0fdb1b2010a8e0d7b1c3961901"
"""The sys_id the simulator reports in X-RateLimit-Rule (one rule, applied to every user)."""


@dataclass
class ServiceNowOptions:
    """Everything that shapes one simulator instance (the command line fills it)."""

    seed: int = 42
    tickets: int = 20
    in_progress: int = 20
    closed: int = 15
    users: Mapping[str, str] = field(default_factory=dict)
    read_only_users: tuple[str, ...] = ()
    per_hour: int | None = 5000
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_fields: tuple[str, ...] = DEFAULT_WEBHOOK_FIELDS
    retry_delays_s: tuple[float, ...] = (0.25, 1.0, 3.0)
    webhook_senders: int = 1  # deliveries in flight at once; 1 keeps them in order
    anchor: datetime | None = None


class ServiceNowState(SimulatorState):
    """The instance's records, world, limits and webhook dispatcher."""

    tool = "servicenow"

    def __init__(self, options: ServiceNowOptions) -> None:
        super().__init__(build_delivery_headers, webhook_url=options.webhook_url,
                         webhook_secret=options.webhook_secret, retry_delays_s=options.retry_delays_s,
                         webhook_senders=options.webhook_senders)
        self.options = options
        self.world = build_world(options.seed, closed=options.closed, in_progress=options.in_progress,
                                 planned=options.tickets)
        self.anchor = options.anchor or utc_now()
        self.store = RecordStore(on_change=self.queue_event)
        self.limiter = HourlyUserLimiter(options.per_hour)
        self.scenario: ServiceNowScenario | None = None
        self._seeded: dict | None = None
        self.reset_world()

    def queue_event(self, notice: ChangeNotice) -> None:
        event = build_event(notice, self.options.webhook_fields)
        self.dispatcher.enqueue(delivery_id_of(notice), event,
                                ticket=f"{notice.table}:{notice.record['sys_id']}")

    # hooks of SimulatorState -----------------------------------------------------------------
    def reset_world(self) -> None:
        with self.store.lock:
            self.scenario = ServiceNowScenario(self.store, self.world, self.anchor,
                                               api_users=tuple(self.options.users))
            if self._seeded is None:
                self.store.clear()
                self.scenario.seed()
                # seeding replays every historical step; a copy makes later resets instant
                self._seeded = self.store.snapshot()
            else:
                self.store.restore(self._seeded)
        self.limiter.reset()

    def advance_scenario(self) -> dict:
        return self.scenario.advance()

    def error_body(self, status: int, message: str) -> dict:
        return failure_body(message, None)

    def limits(self) -> dict:
        return {"per_hour": self.limiter.per_hour}

    def apply_limits(self, changes: Mapping) -> dict:
        if "per_hour" in changes:
            value = changes["per_hour"]
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise ValueError("per_hour must be a non-negative integer or null (no limit)")
            self.limiter.set_limit(value)
        ignored = sorted(set(changes) - {"per_hour"})
        return {**self.limits(), **({"ignored": ignored} if ignored else {})}

    def health(self) -> dict:
        return {**super().health(), "seed": self.options.seed,
                "scenario_steps_remaining": self.scenario.remaining()}


def failure_body(message: str, detail: str | None) -> dict:
    return {"error": {"message": message, "detail": detail}, "status": "failure"}


def _json(payload, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    response = Response(json.dumps(payload), status=status,
                        content_type="application/json;charset=UTF-8")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _failure(status: int, message: str, detail: str | None = None,
             headers: Mapping[str, str] | None = None) -> Response:
    return _json(failure_body(message, detail), status, headers)


def _body_object() -> dict:
    """The JSON object of a write; raises RecordError 400 when the body is not one."""
    try:
        body = json.loads(request.get_data() or b"null")
    except ValueError:
        raise RecordError(400, "Exception while reading request", "The payload is not valid JSON.")
    if not isinstance(body, dict):
        raise RecordError(400, "Exception while reading request",
                          "The payload must be a JSON object of field names and values.")
    return body


def _paging_links(total: int, offset: int, limit: int) -> str:
    """ServiceNow's `Link` header: first, prev (past the first page), next (more left), last."""
    base = request.base_url
    params = {k: v for k, v in request.args.items() if k not in ("sysparm_offset", "sysparm_limit")}

    def link(at_offset: int, rel: str) -> str:
        query = urlencode({**params, "sysparm_limit": limit, "sysparm_offset": at_offset})
        return f'<{base}?{query}>;rel="{rel}"'

    last = max(0, ((total - 1) // limit) * limit) if total else 0
    links = [link(0, "first")]
    if offset > 0:
        links.append(link(max(0, offset - limit), "prev"))
    if offset + limit < total:
        links.append(link(offset + limit, "next"))
    links.append(link(last, "last"))
    return ",".join(links)


def _int_arg(name: str, default: int, minimum: int) -> int:
    try:
        return max(minimum, int(request.args.get(name, default)))
    except ValueError:
        raise RecordError(400, f"Invalid value for {name}", request.args.get(name))


def create_app(options: ServiceNowOptions | None = None) -> Flask:
    """The simulator app; its state is in `app.extensions["simulator_state"]`.

    The webhook dispatcher's sender threads are started here; `app.extensions["simulator_state"]
    .dispatcher.stop()` ends and joins them.
    """
    options = options or ServiceNowOptions()
    state = ServiceNowState(options)
    app = Flask("simulators.servicenow")
    store = state.store

    @app.before_request
    def authenticate_and_limit():
        if not request.path.startswith("/api/"):
            return None
        credentials = request.authorization
        expected = options.users.get(credentials.username) if credentials and credentials.username else None
        if credentials is None or credentials.type != "basic":
            return _failure(401, "User Not Authenticated", "Required to provide Auth information",
                            {"WWW-Authenticate": 'Basic realm="Service-now"'})
        if expected is None or not hmac.compare_digest(expected.encode(),
                                                       (credentials.password or "").encode()):
            return _failure(401, "User Not Authenticated", "Required to provide Auth information",
                            {"WWW-Authenticate": 'Basic realm="Service-now"'})
        g.user = credentials.username
        request.environ[USER_ENVIRON_KEY] = credentials.username
        decision = state.limiter.hit(credentials.username)
        g.rate = decision
        if not decision.allowed:
            return _failure(429, "Too Many Requests",
                            f"Rate limit of {decision.limit} requests per hour exceeded for user "
                            f"{credentials.username}",
                            {"Retry-After": str(decision.retry_after_s)})
        return None

    @app.after_request
    def add_rate_headers(response: Response) -> Response:
        decision = getattr(g, "rate", None)
        if decision is not None and decision.limit:
            response.headers["X-RateLimit-Limit"] = str(decision.limit)
            response.headers["X-RateLimit-Remaining"] = str(decision.remaining)
            response.headers["X-RateLimit-Reset"] = str(decision.reset_at)
            response.headers["X-RateLimit-Rule"] = RATE_LIMIT_RULE
        return response

    @app.errorhandler(RecordError)
    def record_error(error: RecordError):
        return _failure(error.status, error.message, error.detail)

    @app.errorhandler(404)
    def unknown_resource(error):
        return _failure(400, "Requested URI does not represent any resource", None)

    @app.errorhandler(405)
    def unsupported_method(error):
        return _failure(405, "Method not Supported",
                        f"Method {request.method} not supported for {request.path}")

    def check_write_allowed(table_name: str, verb: str) -> None:
        store.table(table_name)  # 400 for unknown tables before any ACL talk
        if g.user in options.read_only_users or (table_name in SYSTEM_TABLES and g.user != ADMIN_USER):
            raise RecordError(403, "Operation Failed",
                              f"ACL Exception {verb} Failed due to security constraints")

    def render_options() -> RenderOptions:
        return RenderOptions.from_args(request.args, request.host_url)

    def list_records(table: str):
        definition = store.table(table)
        try:
            query = parse_query(request.args.get("sysparm_query"))
        except QueryError as exc:
            raise RecordError(400, "Invalid query", str(exc))
        limit = _int_arg("sysparm_limit", DEFAULT_LIMIT, 1)
        offset = _int_arg("sysparm_offset", 0, 0)
        found = store.query(table, query)
        page = found[offset:offset + limit]
        render = render_options()
        with store.lock:
            result = [render_record(store, definition, record, render) for record in page]
        headers = {"X-Total-Count": str(len(found))}
        if (request.args.get("sysparm_suppress_pagination_header") or "").lower() != "true":
            headers["Link"] = _paging_links(len(found), offset, limit)
        return _json({"result": result}, 200, headers)

    def create_record(table: str):
        check_write_allowed(table, "Insert")
        record = store.insert(table, _body_object(), user=g.user)
        definition = store.table(table)
        with store.lock:
            rendered = render_record(store, definition, record, render_options())
        location = f"{request.host_url.rstrip('/')}/api/now/table/{table}/{record['sys_id']}"
        return _json({"result": rendered}, 201, {"Location": location})

    def read_record(table: str, sys_id: str):
        definition = store.table(table)
        record = store.get(table, sys_id)
        if record is None:
            raise RecordError(404, "No Record found",
                              "Record doesn't exist or ACL restricts the record retrieval")
        with store.lock:
            return _json({"result": render_record(store, definition, record, render_options())})

    def update_record(table: str, sys_id: str):
        check_write_allowed(table, "Update")
        body = _body_object()
        record, _ = store.update(table, sys_id, body, user=g.user)
        with store.lock:
            return _json({"result": render_record(store, store.table(table), record, render_options())})

    def delete_record(table: str, sys_id: str):
        check_write_allowed(table, "Delete")
        store.delete(table, sys_id, user=g.user)
        return Response(status=204)

    for prefix in ("/api/now/table", "/api/now/v2/table"):
        app.add_url_rule(f"{prefix}/<table>", f"list{prefix}", list_records, methods=["GET"])
        app.add_url_rule(f"{prefix}/<table>", f"create{prefix}", create_record, methods=["POST"])
        app.add_url_rule(f"{prefix}/<table>/<sys_id>", f"read{prefix}", read_record, methods=["GET"])
        app.add_url_rule(f"{prefix}/<table>/<sys_id>", f"update{prefix}", update_record,
                         methods=["PATCH", "PUT"])
        app.add_url_rule(f"{prefix}/<table>/<sys_id>", f"delete{prefix}", delete_record,
                         methods=["DELETE"])

    attach_simulator(app, state)
    state.dispatcher.start()
    return app
