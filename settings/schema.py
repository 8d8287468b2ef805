"""Marshmallow schemas for the core configuration sections.

Each field carries the hint an admin needs when it is wrong; `settings.loader` turns
marshmallow's nested error dict into one line per problem (`key.path: problem; hint`).
Feature sections (`mapping`, `scoring`, `surveys`) are validated by their own packages.
"""
from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from settings import model

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CONNECTION_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def _messages(hint: str, kind: str) -> dict:
    return {
        "required": f"missing; {hint}",
        "null": f"empty; {hint}",
        "invalid": f"expected {kind}; {hint}",
    }


def text(hint: str, **kw) -> fields.String:
    return fields.String(error_messages=_messages(hint, "a string"), **kw)


def whole(hint: str, **kw) -> fields.Integer:
    return fields.Integer(strict=True, error_messages=_messages(hint, "a whole number"), **kw)


def number(hint: str, **kw) -> fields.Float:
    return fields.Float(error_messages=_messages(hint, "a number"), **kw)


def flag(hint: str, **kw) -> fields.Boolean:
    return fields.Boolean(truthy={True}, falsy={False}, error_messages=_messages(hint, "true or false"), **kw)


def env_name(hint: str, **kw) -> fields.String:
    return text(hint, validate=validate.Regexp(
        ENV_NAME, error="expected an environment variable name (letters, digits, _); " + hint), **kw)


def positive(what: str):
    return validate.Range(min=0, min_inclusive=False, error=f"expected a positive {what}")


def metrics_port(process: str) -> fields.Integer:
    return whole(f"the port this {process} process serves its own /metrics on (leave it out to serve none)",
                 validate=validate.Range(min=1, max=65535, error="expected a port from 1 to 65535, or leave "
                                                                      "the key out to serve no /metrics"))


def _listen_address(value: str) -> None:
    if value == "localhost":
        return
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValidationError("expected an IP address to listen on: 127.0.0.1 lets only this host scrape, "
                              "0.0.0.0 (or ::) any host that can reach it") from None


def metrics_address(process: str) -> fields.String:
    return text(f"the address this {process} process's /metrics listens on, e.g. 127.0.0.1",
                validate=_listen_address)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class ServiceSchema(StrictSchema):
    public_url = text("the address end users reach the survey pages at, e.g. https://xla.example.com")
    database_url = text("sqlite:///path/to/file.db or postgresql+psycopg://user@host/db")
    log_level = text("DEBUG, INFO, WARNING or ERROR",
                     validate=validate.OneOf(["DEBUG", "INFO", "WARNING", "ERROR"],
                                             error="expected DEBUG, INFO, WARNING or ERROR"))
    log_format = text("json or text", validate=validate.OneOf(["json", "text"], error="expected json or text"))
    secret_key_env = env_name("name the environment variable holding the key that signs CSRF tokens")

    @post_load
    def build(self, data, **_):
        return model.ServiceSettings(**data)


class ServerSchema(StrictSchema):
    bind = text("host:port for gunicorn, e.g. 0.0.0.0:8000")
    workers = whole("gunicorn worker processes", validate=positive("whole number"))
    worker_class = text("gevent (the default) or gthread", validate=validate.OneOf(
        ["gevent", "gthread"], error="expected gevent (requests on greenlets, the default) or gthread "
                                     "(requests on OS threads)"))
    worker_connections = whole("requests one gevent worker serves at once", validate=positive("whole number"))
    threads = whole("threads per gthread worker", validate=positive("whole number"))
    timeout_s = whole("seconds before gunicorn restarts a stuck worker", validate=positive("whole number"))

    @post_load
    def build(self, data, **_):
        return model.ServerSettings(**data)


class WorkerSchema(StrictSchema):
    concurrency = whole("jobs a worker process runs at once", validate=positive("whole number"))
    lease_s = number("seconds a claimed job stays leased", validate=positive("number"))
    max_attempts = whole("attempts before a job is dead", validate=positive("whole number"))
    backoff_base_s = number("first retry delay in seconds", validate=positive("number"))
    backoff_cap_s = number("longest retry delay in seconds", validate=positive("number"))
    poll_interval_s = number("seconds an idle worker waits before looking again", validate=positive("number"))
    writes_per_ticket_per_hour = whole("backstop on writes to one ticket per hour", validate=positive("whole number"))
    metrics_port = metrics_port("worker")
    metrics_address = metrics_address("worker")

    @post_load
    def build(self, data, **_):
        return model.WorkerSettings(**data)


class SchedulerSchema(StrictSchema):
    reconcile_interval_s = number("seconds between reconciliation polls", validate=positive("number"))
    reconcile_overlap_s = number("seconds each poll reaches back before the watermark", validate=validate.Range(min=0))
    reaper_interval_s = number("seconds between lease reaper runs", validate=positive("number"))
    surveys_interval_s = number("seconds between survey reminder and expiry runs", validate=positive("number"))
    rollup_interval_s = number("seconds between XLA rollups", validate=positive("number"))
    metrics_port = metrics_port("scheduler")
    metrics_address = metrics_address("scheduler")

    @post_load
    def build(self, data, **_):
        return model.SchedulerSettings(**data)


class WebhookSchema(StrictSchema):
    max_body_bytes = whole("largest webhook body accepted, in bytes", validate=positive("whole number"))
    timestamp_tolerance_s = whole("seconds a signed timestamp may differ from now", validate=positive("whole number"))
    quarantine_max_rows = whole("unrecognised payloads kept for inspection", validate=validate.Range(min=0))
    quarantine_max_body_bytes = whole("bytes of each quarantined body kept", validate=positive("whole number"))
    drop_own_events = flag("false to store the integration user's own events too (the worker then drops them)")

    @post_load
    def build(self, data, **_):
        return model.WebhookSettings(**data)


class MailSchema(StrictSchema):
    host = text("the SMTP server's host name")
    port = whole("the SMTP server's port", validate=validate.Range(min=1, max=65535))
    starttls = flag("true to upgrade the SMTP connection with STARTTLS")
    user = text("the SMTP login, if the server asks for one")
    password_env = env_name("name the environment variable holding the SMTP password")
    sender = text("the From address of survey mails")

    @post_load
    def build(self, data, **_):
        return model.MailSettings(**data)


class AuthSchema(StrictSchema):
    kind = text("basic (Jira Cloud email + API token, ServiceNow user + password) or bearer (Jira Data Center PAT)",
                required=True,
                validate=validate.OneOf(["basic", "bearer"], error="expected basic or bearer"))
    user = text("the integration user's login (Jira Cloud: its email address)")
    token_env = env_name("name the environment variable that holds the API token or password", required=True)

    @validates_schema
    def basic_needs_user(self, data, **_):
        if data.get("kind") == "basic" and not data.get("user"):
            raise ValidationError("missing; basic auth needs the integration user's login", "user")

    @post_load
    def build(self, data, **_):
        return model.AuthSettings(**data)


class LimitSchema(StrictSchema):
    timeout_s = number("seconds before an ITSM call times out", validate=positive("number"))
    requests_per_second = number("steady calls per second to this ITSM", validate=positive("number"))
    burst = whole("calls allowed in a burst above the steady rate", validate=positive("whole number"))
    ticket_writes_per_window = whole("writes to one ticket per window", validate=positive("whole number"))
    ticket_write_window_s = number("length of the per-ticket write window in seconds", validate=positive("number"))
    max_retries = whole("retries of an idempotent call", validate=validate.Range(min=0, max=10))
    breaker_failures = whole("consecutive failures that open the circuit breaker", validate=positive("whole number"))
    breaker_reset_s = number("seconds the breaker stays open before probing", validate=positive("number"))

    @post_load
    def build(self, data, **_):
        return model.LimitSettings(**data)


class ConnectionSchema(StrictSchema):
    id = text("a short lowercase name used in the webhook URL /webhooks/<id>", required=True,
              validate=validate.Regexp(CONNECTION_ID, error="expected lowercase letters, digits, - and _ "
                                       "(it becomes part of the webhook URL)"))
    tool = text("jira or servicenow", required=True,
                validate=validate.OneOf(["jira", "servicenow"], error="expected jira or servicenow"))
    base_url = text("the instance address, e.g. https://example.atlassian.net or https://example.service-now.com",
                    required=True)
    webhook_secret_env = env_name("name the environment variable that holds the webhook signing secret",
                                  allow_none=True)
    auth = fields.Nested(AuthSchema, required=True,
                         error_messages={"required": "missing; add a [connections.auth] table with kind and token_env"})
    limits = fields.Nested(LimitSchema)
    deployment = text("cloud or datacenter (Jira)",
                      validate=validate.OneOf(["cloud", "datacenter"], error="expected cloud or datacenter"))
    on_premises = flag("true when the instance lives on a private network")
    allow_loopback_http = flag("true only for the simulators: plain http to 127.0.0.1")
    reconcile = flag("false to switch off the reconciliation poll for this connection")
    webhook_fields = fields.List(text("a ServiceNow field name"))
    mapping = fields.Dict(keys=fields.String())
    surveys = fields.Dict(keys=fields.String())

    @validates_schema(skip_on_field_errors=False)
    def base_url_is_an_address(self, data, **_):
        url = data.get("base_url")
        if not isinstance(url, str):
            return
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValidationError(f"found {url!r}; expected an address such as https://example.atlassian.net",
                                  "base_url")
        if parts.scheme == "http" and not data.get("allow_loopback_http"):
            raise ValidationError(f"found {url!r}; https is required (plain http only with "
                                  "allow_loopback_http = true, for the simulators)", "base_url")

    @post_load
    def build(self, data, **_):
        data["webhook_fields"] = tuple(data.get("webhook_fields", ()))
        return data  # finished by the loader once feature sections are validated


class SettingsSchema(StrictSchema):
    service = fields.Nested(ServiceSchema)
    server = fields.Nested(ServerSchema)
    worker = fields.Nested(WorkerSchema)
    scheduler = fields.Nested(SchedulerSchema)
    webhooks = fields.Nested(WebhookSchema)
    mail = fields.Nested(MailSchema)
    connections = fields.List(fields.Nested(ConnectionSchema))
    scoring = fields.Dict(keys=fields.String())
    surveys = fields.Dict(keys=fields.String())

    @validates_schema(skip_on_field_errors=False)
    def connection_ids_unique(self, data, **_):
        seen: dict[str, int] = {}
        for index, conn in enumerate(data.get("connections") or []):
            if not isinstance(conn, dict) or "id" not in conn:
                continue
            if conn["id"] in seen:
                raise ValidationError(
                    {index: {"id": [f"found {conn['id']!r} again (also connections[{seen[conn['id']]}]); "
                                    "expected a different id for each connection"]}}, "connections")
            seen[conn["id"]] = index

    @validates_schema(skip_on_field_errors=False)
    def metrics_ports_distinct(self, data, **_):
        # A worker, a scheduler and serve usually share a host: one port each, or one of them fails at start.
        # A section that failed its own checks is not built; its problems are reported already.
        worker, scheduler, server = (data.get(key) if isinstance(data.get(key), kind) else kind()
                                     for key, kind in (("worker", model.WorkerSettings),
                                                       ("scheduler", model.SchedulerSettings),
                                                       ("server", model.ServerSettings)))
        server_port = server.bind.rsplit(":", 1)[-1]
        problems: dict[str, dict[str, list[str]]] = {}
        for section, settings in (("worker", worker), ("scheduler", scheduler)):
            if settings.metrics_port is not None and str(settings.metrics_port) == server_port:
                problems.setdefault(section, {})["metrics_port"] = [
                    f"found {settings.metrics_port}, the port of server.bind too; expected a port of its own"]
        if worker.metrics_port is not None and worker.metrics_port == scheduler.metrics_port:
            problems.setdefault("scheduler", {})["metrics_port"] = [
                f"found {scheduler.metrics_port}, also worker.metrics_port; expected a port of its own "
                "(a worker and a scheduler on one host would both want it)"]
        if problems:
            raise ValidationError(problems)
