"""Typed, immutable settings objects. Built only by `settings.loader`; never mutated."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from settings.errors import ConfigError



@dataclass(frozen=True)
class ServiceSettings:
    public_url: str = "http://127.0.0.1:8000"
    database_url: str = "sqlite:///xla-bridge.db"
    log_level: str = "INFO"
    log_format: str = "json"
    secret_key_env: str = "XLA_SECRET_KEY"


@dataclass(frozen=True)
class ServerSettings:
    bind: str = "127.0.0.1:8000"
    workers: int = 2
    worker_class: str = "gevent"
    worker_connections: int = 1000  # gevent: requests a worker serves at once
    threads: int = 4                # gthread: requests a worker serves at once
    timeout_s: int = 30


@dataclass(frozen=True)
class WorkerSettings:
    concurrency: int = 1
    lease_s: float = 60.0
    max_attempts: int = 8
    backoff_base_s: float = 2.0
    backoff_cap_s: float = 600.0
    poll_interval_s: float = 0.5
    writes_per_ticket_per_hour: int = 30
    # This process's own /metrics (None: not served); see ops.metrics.serve_process_metrics.
    metrics_port: int | None = None
    metrics_address: str = "127.0.0.1"


@dataclass(frozen=True)
class SchedulerSettings:
    reconcile_interval_s: float = 300.0
    reconcile_overlap_s: float = 120.0
    reaper_interval_s: float = 15.0
    surveys_interval_s: float = 60.0
    rollup_interval_s: float = 3600.0
    metrics_port: int | None = None
    metrics_address: str = "127.0.0.1"


@dataclass(frozen=True)
class WebhookSettings:
    max_body_bytes: int = 1_048_576
    timestamp_tolerance_s: int = 300
    quarantine_max_rows: int = 1000
    quarantine_max_body_bytes: int = 65_536
    drop_own_events: bool = True       # answer the integration user's own events without storing them


@dataclass(frozen=True)
class AuthSettings:
    kind: str               # "basic" or "bearer"
    token_env: str
    user: str | None = None


@dataclass(frozen=True)
class LimitSettings:
    """Client-side politeness per connection; defaults sit below the vendors' documented limits."""

    timeout_s: float = 10.0
    requests_per_second: float = 5.0
    burst: int = 10
    ticket_writes_per_window: int = 10     # Jira documents about 20 writes per issue per 2 s
    ticket_write_window_s: float = 2.0
    max_retries: int = 3
    breaker_failures: int = 5
    breaker_reset_s: float = 30.0


@dataclass(frozen=True)
class ConnectionSettings:
    id: str
    tool: str               # "jira" or "servicenow"
    base_url: str
    auth: AuthSettings
    webhook_secret_env: str | None = None
    limits: LimitSettings = field(default_factory=LimitSettings)
    deployment: str = "cloud"          # Jira: "cloud" or "datacenter"
    on_premises: bool = False          # allow private addresses
    allow_loopback_http: bool = False  # demo and tests only
    reconcile: bool = True
    webhook_fields: tuple[str, ...] = ()  # ServiceNow: record fields the Business Rule sends
    mapping: Any = field(default_factory=dict)  # validated by mappers.config
    surveys: Any = field(default_factory=dict)  # validated by surveys.config

    def _from_env(self, key_path: str, env_name: str) -> str:
        value = os.environ.get(env_name)
        if not value:
            raise ConfigError([f"connections.{self.id}.{key_path}: environment variable {env_name} is not set; "
                               f"export {env_name} before starting the service"])
        return value

    def webhook_secret(self) -> str | None:
        return self._from_env("webhook_secret_env", self.webhook_secret_env) if self.webhook_secret_env else None

    def token(self) -> str:
        return self._from_env("auth.token_env", self.auth.token_env)


@dataclass(frozen=True)
class MailSettings:
    host: str = ""
    port: int = 25
    starttls: bool = False
    user: str | None = None
    password_env: str | None = None
    sender: str = "XLA Bridge <xla-bridge@localhost>"


@dataclass(frozen=True)
class Settings:
    service: ServiceSettings = field(default_factory=ServiceSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    connections: tuple[ConnectionSettings, ...] = ()
    scoring: Any = field(default_factory=dict)  # validated by scoring.config
    surveys: Any = field(default_factory=dict)  # validated by surveys.config (service-wide)
    source: str | None = field(default=None, compare=False)

    def connection(self, connection_id: str) -> ConnectionSettings | None:
        for conn in self.connections:
            if conn.id == connection_id:
                return conn
        return None
