"""One XLA Bridge installation for a reliability scenario, built from real parts.

Simulators run as child processes; the service runs as `python app.py serve` (gunicorn),
`python app.py worker` and `python app.py scheduler` processes reading a TOML file written to the
scenario's folder, with every secret only in the children's environment. The test reads the
same database the processes share (SQLite file or PostgreSQL schema) to see jobs and outcomes.

`Deployment` starts nothing by itself: a scenario starts exactly the processes it needs, and
`close()` stops whatever is still running.
"""
from __future__ import annotations

import base64
import copy
import os
import secrets
import signal
import socket
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import requests

from tests.reliability.config_file import write_config
from tests.reliability.processes import AppProcess, run_app_command
from tests.reliability.waiting import wait_for

SN_INTEGRATION_USER = "xla.integration"
JIRA_INTEGRATION_USER = "xla-bridge@example.com"
AGENT = {"servicenow": "admin", "jira": "agent@example.com"}
INTEGRATION = {"servicenow": SN_INTEGRATION_USER, "jira": JIRA_INTEGRATION_USER}

# Fast enough for a test, still the production code paths: pacing generous enough that the
# simulators, not our own token bucket, set the pace; short leases and reaper runs so a killed
# worker's jobs come back within seconds.
FAST_LIMITS = {"requests_per_second": 400.0, "burst": 100, "ticket_writes_per_window": 50,
               "ticket_write_window_s": 1.0, "timeout_s": 10.0}
FAST_WORKER = {"concurrency": 2, "lease_s": 5.0, "poll_interval_s": 0.05, "backoff_base_s": 0.05,
               "backoff_cap_s": 1.0, "max_attempts": 8}
FAST_SCHEDULER = {"reaper_interval_s": 0.5, "reconcile_interval_s": 3600.0, "surveys_interval_s": 3600.0}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class SimulatorSpec:
    """One simulated ITSM and the connection that talks to it.

    `send_webhooks=False` starts it without a webhook address: its deliveries are kept (status
    `no_url`) until the scenario points it at the service and redelivers them itself.
    """

    connection_id: str
    tool: str                                    # "servicenow" or "jira"
    args: tuple[str, ...] = ()
    send_webhooks: bool = True
    extra_users: Mapping[str, str] = field(default_factory=dict)
    connection: Mapping[str, Any] = field(default_factory=dict)  # extra keys of its [[connections]] entry


def _merge(base: dict, extra: Mapping) -> dict:
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


class Deployment:
    def __init__(self, workdir: Path, simulators: list[SimulatorSpec], *, database_url: str | None = None,
                 config: Mapping[str, Any] | None = None, limits: Mapping[str, Any] | None = None,
                 shared_metrics_dir: bool = True):
        self.workdir = workdir
        self.specs = {spec.connection_id: spec for spec in simulators}
        self.database_url = database_url or f"sqlite:///{workdir / 'xla.db'}"
        self.overrides = dict(config or {})
        self.limits = {**FAST_LIMITS, **(limits or {})}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.agent_password = secrets.token_urlsafe(12)
        # One metrics folder for every process of this host: counters that workers increment (loop
        # guard, jobs finished, ITSM calls) appear in the /metrics of `serve` (prometheus_client's
        # multiprocess mode). `app.py serve` alone would make a folder only its own workers share.
        # Without it, a worker or scheduler shows its counters only on its own metrics port.
        self.env = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
        self.env.update(PYTHONUNBUFFERED="1", XLA_REL_SECRET_KEY=secrets.token_urlsafe(32))
        self.metrics_dir = workdir / "metrics" if shared_metrics_dir else None
        if self.metrics_dir is not None:
            self.metrics_dir.mkdir()
            self.env["PROMETHEUS_MULTIPROC_DIR"] = str(self.metrics_dir)
        for spec in simulators:
            self.env[self._env_name(spec, "TOKEN")] = secrets.token_urlsafe(16)
            self.env[self._env_name(spec, "WEBHOOK")] = (
                "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode() if spec.tool == "servicenow"
                else secrets.token_urlsafe(24))
        self.sims: dict[str, Any] = {}
        self.sending_webhooks = {spec.connection_id for spec in simulators if spec.send_webhooks}
        self.processes: list[AppProcess] = []
        self.config_path = workdir / "config.toml"
        self._engine = None
        self._sessions = None

    # -- identities and secrets ---------------------------------------------------------------

    @staticmethod
    def _env_name(spec: SimulatorSpec, what: str) -> str:
        return f"XLA_REL_{spec.connection_id.upper().replace('-', '_')}_{what}"

    def webhook_secret(self, connection_id: str) -> str:
        return self.env[self._env_name(self.specs[connection_id], "WEBHOOK")]

    def webhook_url(self, connection_id: str, base_url: str | None = None) -> str:
        return f"{base_url or self.url}/webhooks/{connection_id}"

    def agent(self, connection_id: str) -> tuple[str, str]:
        """(user, password) of the simulator's agent account, for reading what a person would see."""
        return AGENT[self.specs[connection_id].tool], self.agent_password

    # -- start ---------------------------------------------------------------------------------

    def start_simulators(self) -> "Deployment":
        from simulators.common import start_simulator

        for spec in self.specs.values():
            token = self.env[self._env_name(spec, "TOKEN")]
            users = {AGENT[spec.tool]: self.agent_password, INTEGRATION[spec.tool]: token, **spec.extra_users}
            options = dict(users=users, extra_args=list(spec.args))
            if spec.send_webhooks:
                options.update(webhook_url=self.webhook_url(spec.connection_id),
                               webhook_secret=self.webhook_secret(spec.connection_id))
            self.sims[spec.connection_id] = start_simulator(spec.tool, **options)
        return self

    def point_webhooks_at_service(self, connection_id: str) -> None:
        """Give a simulator started without a webhook address the service's, signed (it keeps its
        earlier deliveries as `no_url`; the scenario redelivers them as it pleases)."""
        self.sims[connection_id].admin("PUT", "/webhook", {"url": self.webhook_url(connection_id),
                                                           "secret": self.webhook_secret(connection_id)})
        self.sending_webhooks.add(connection_id)

    def config(self) -> dict:
        connections = []
        for spec in self.specs.values():
            auth = {"kind": "basic", "user": INTEGRATION[spec.tool], "token_env": self._env_name(spec, "TOKEN")}
            connections.append(_merge({
                "id": spec.connection_id, "tool": spec.tool, "base_url": self.sims[spec.connection_id].url,
                "allow_loopback_http": True, "reconcile": False, "auth": auth, "limits": self.limits,
                "webhook_secret_env": self._env_name(spec, "WEBHOOK")}, spec.connection))
        base = {
            "service": {"public_url": self.url, "database_url": self.database_url, "log_level": "INFO",
                        "log_format": "json", "secret_key_env": "XLA_REL_SECRET_KEY"},
            "server": {"bind": f"127.0.0.1:{self.port}", "workers": 1, "threads": 8, "timeout_s": 30},
            "worker": FAST_WORKER,
            "scheduler": FAST_SCHEDULER,
        }
        config = _merge(base, self.overrides)
        config["connections"] = connections
        return config

    def prepare(self) -> "Deployment":
        """Start the simulators, write the configuration and bring the database schema up to date."""
        from storage.migrate import upgrade

        self.start_simulators()
        write_config(self.config_path, self.config())
        upgrade(self.database_url)
        return self

    def _start(self, name: str, command: list[str], env: Mapping[str, str] | None = None) -> AppProcess:
        process = AppProcess(name, [*command, "--config", str(self.config_path)], {**self.env, **(env or {})},
                             self.workdir / f"{name}.log")
        self.processes.append(process)
        return process

    def serve(self, name: str = "serve", port: int | None = None, workers: int | None = None) -> AppProcess:
        """Start `python app.py serve` (gunicorn) and wait until /readyz answers 200."""
        port = port or self.port
        command = ["serve", "--bind", f"127.0.0.1:{port}"]
        if workers:
            command += ["--workers", str(workers)]
        process = self._start(name, command)
        process.url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            if not process.alive():
                raise AssertionError(f"{name} exited early:\n{process.log_text()[-3000:]}")
            try:
                return requests.get(f"{process.url}/readyz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(ready, timeout_s=60, what=f"{name} answering /readyz")
        return process

    def worker(self, name: str, *args: str) -> AppProcess:
        """Start `python app.py worker --id <name> [args]`; its leases carry `<name>/<loop>`."""
        return self._start(name, ["worker", "--id", name, *args])

    def scheduler(self, name: str = "scheduler", *args: str) -> AppProcess:
        return self._start(name, ["scheduler", *args])

    def run(self, *command: str) -> Any:
        """Run a short `python app.py <command> --config ...` to its end (e.g. `replay --dead`)."""
        return run_app_command([*command, "--config", str(self.config_path)], self.env)

    # -- the shared database -------------------------------------------------------------------

    @property
    def sessions(self):
        if self._sessions is None:
            from storage.db import make_engine, make_session_factory

            self._engine = make_engine(self.database_url)
            self._sessions = make_session_factory(self._engine)
        return self._sessions

    def jobs(self, kind: str | None = None) -> list:
        from sqlalchemy import select

        from storage.models import Job

        with self.sessions() as session:
            query = select(Job).order_by(Job.id)
            if kind:
                query = query.where(Job.kind == kind)
            return list(session.scalars(query))

    def job_states(self) -> Counter:
        """How many jobs there are of each (kind, state)."""
        from sqlalchemy import func, select

        from storage.models import Job

        with self.sessions() as session:
            return Counter({(kind, state): count for kind, state, count in session.execute(
                select(Job.kind, Job.state, func.count()).group_by(Job.kind, Job.state))})

    def unfinished_jobs(self) -> int:
        return sum(count for (_, state), count in self.job_states().items() if state in ("queued", "leased"))

    def deliveries_settled(self) -> bool:
        return all(delivery["status"] != "pending" for spec_id, sim in self.sims.items()
                   if spec_id in self.sending_webhooks for delivery in sim.deliveries())

    def wait_settled(self, timeout_s: float = 120.0) -> None:
        """Wait until every simulator delivery has been answered and no job is queued or leased,
        twice in a row: a write finishing between the two looks of one round has already queued its
        webhook in the simulator, which the next round sees pending."""
        calm = {"rounds": 0}

        def settled() -> bool:
            quiet = self.deliveries_settled() and self.unfinished_jobs() == 0
            calm["rounds"] = calm["rounds"] + 1 if quiet else 0
            return calm["rounds"] >= 2

        wait_for(settled, timeout_s=timeout_s, what="the deployment settling (no pending delivery, no open job)",
                 describe=lambda: f"jobs {dict(self.job_states())}", poll_s=0.15)

    # -- stop ----------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop every process still running (all asked at once, then each waited for) and the simulators."""

        for process in self.processes:
            process.signal(signal.SIGCONT)  # a stopped process cannot handle SIGTERM
            process.signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.stop()
            except Exception:  # keep stopping the others
                pass
        for sim in self.sims.values():
            sim.process.terminate()
        for sim in self.sims.values():
            sim.stop()
        if self._engine is not None:
            self._engine.dispose()
