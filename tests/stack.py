"""A whole XLA Bridge stack for end-to-end tests: simulators, the web app on real HTTP, workers.

The simulators run as child processes; the Flask app is served by a real werkzeug server on a
loopback port (so webhooks arrive over HTTP, signed); workers run in threads of the test process
(`drain()` runs them until nothing is left to do). Everything stops when the `Stack` closes.
"""
from __future__ import annotations

import base64
import json
import secrets
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server

ROOT_DIR = Path(__file__).resolve().parent.parent
SN_ID, JIRA_ID = "snow", "jira"
INTEGRATION_SN_USER, INTEGRATION_JIRA_USER = "xla.integration", "xla-bridge@example.com"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Stack:
    def __init__(self, tmp_path: Path, monkeypatch, *, tools=("servicenow", "jira"), database_url: str | None = None,
                 jira_deployment: str = "cloud", extra_config: dict | None = None, sim_args: dict | None = None,
                 sim_users: dict | None = None):
        self.tmp_path = tmp_path
        self.tools = tools
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.simulators = {}
        self.database_url = database_url
        self.jira_deployment = jira_deployment
        self.extra_config = extra_config or {}
        self.sim_args = sim_args or {}
        self.sim_users = sim_users or {}  # tool -> {user: password}: people who act in the simulator
        self.secret = {name: secrets.token_urlsafe(16) for name in
                       ("sn_password", "jira_token", "agent", "key")}
        self.secret["sn_webhook"] = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        self.secret["jira_webhook"] = secrets.token_urlsafe(24)
        for env, key in (("XLA_T_SN_PASSWORD", "sn_password"), ("XLA_T_JIRA_TOKEN", "jira_token"),
                         ("XLA_T_SN_WEBHOOK", "sn_webhook"), ("XLA_T_JIRA_WEBHOOK", "jira_webhook"),
                         ("XLA_T_SECRET_KEY", "key")):
            monkeypatch.setenv(env, self.secret[key])
        self._server = None
        self._server_thread = None

    # -- start ---------------------------------------------------------------------------------
    def start(self) -> "Stack":
        from app import create_app
        from simulators.common import start_simulator
        from storage.migrate import upgrade

        if "servicenow" in self.tools:
            self.simulators[SN_ID] = start_simulator(
                "servicenow", webhook_url=f"{self.url}/webhooks/{SN_ID}", webhook_secret=self.secret["sn_webhook"],
                users={"admin": self.secret["agent"], INTEGRATION_SN_USER: self.secret["sn_password"],
                       **self.sim_users.get("servicenow", {})},
                extra_args=self.sim_args.get("servicenow", ()))
        if "jira" in self.tools:
            cloud = self.jira_deployment == "cloud"
            self.simulators[JIRA_ID] = start_simulator(
                "jira", webhook_url=f"{self.url}/webhooks/{JIRA_ID}", webhook_secret=self.secret["jira_webhook"],
                users={"agent@example.com": self.secret["agent"], INTEGRATION_JIRA_USER: self.secret["jira_token"]},
                tokens=None if cloud else {"xla-bridge": self.secret["jira_token"], "agent": self.secret["agent"]},
                extra_args=["--deployment", self.jira_deployment, *self.sim_args.get("jira", ())])
        self.config = self.build_config()
        upgrade(self.config["service"]["database_url"])
        self.app = create_app(self.config)
        self.runtime = self.app.extensions["xla"]
        self.settings = self.runtime.settings
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self._server_thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._server_thread.start()
        return self

    def build_config(self) -> dict:
        connections = []
        if SN_ID in self.simulators:
            connections.append({
                "id": SN_ID, "tool": "servicenow", "base_url": self.simulators[SN_ID].url,
                "allow_loopback_http": True, "webhook_secret_env": "XLA_T_SN_WEBHOOK",
                "auth": {"kind": "basic", "user": INTEGRATION_SN_USER, "token_env": "XLA_T_SN_PASSWORD"},
                **self.extra_config.get("servicenow", {})})
        if JIRA_ID in self.simulators:
            auth = ({"kind": "basic", "user": INTEGRATION_JIRA_USER, "token_env": "XLA_T_JIRA_TOKEN"}
                    if self.jira_deployment == "cloud" else {"kind": "bearer", "token_env": "XLA_T_JIRA_TOKEN"})
            connections.append({
                "id": JIRA_ID, "tool": "jira", "base_url": self.simulators[JIRA_ID].url, "deployment": self.jira_deployment,
                "allow_loopback_http": True, "webhook_secret_env": "XLA_T_JIRA_WEBHOOK", "auth": auth,
                **self.extra_config.get("jira", {})})
        config = {
            "service": {"public_url": self.url, "log_level": "WARNING", "secret_key_env": "XLA_T_SECRET_KEY",
                        "database_url": self.database_url or f"sqlite:///{self.tmp_path / 'stack.db'}"},
            "worker": {"poll_interval_s": 0.05, "backoff_base_s": 0.05, "backoff_cap_s": 0.5},
            "connections": connections,
        }
        for section, values in self.extra_config.items():
            if section not in ("servicenow", "jira"):
                config[section] = {**config.get(section, {}), **values}
        return config

    def toml(self) -> str:
        """The stack's configuration as a TOML file's text (for the command-line tools)."""
        lines: list[str] = []
        for section, body in self.config.items():
            for entry in (body if section == "connections" else [body]):
                header = "[[connections]]" if section == "connections" else f"[{section}]"
                lines += _toml_table(header, section, entry)
        return "\n".join(lines) + "\n"

    # -- drive ---------------------------------------------------------------------------------
    def sim(self, connection_id: str):
        return self.simulators[connection_id]

    def advance(self, connection_id: str, steps: int = 1) -> list[dict]:
        return [self.sim(connection_id).admin("POST", "/scenario/advance") for _ in range(steps)]

    def deliveries_settled(self) -> bool:
        return all(d["status"] != "pending" for sim in self.simulators.values() for d in sim.deliveries())

    def drain(self, timeout_s: float = 60, workers: int = 2) -> None:
        """Run workers until every delivery has arrived and no job is runnable; raises on timeout."""
        from jobs.worker import work_loop

        deadline = time.monotonic() + timeout_s
        quiet_rounds = 0
        while time.monotonic() < deadline:
            stop = threading.Event()
            loops = [threading.Thread(target=work_loop, args=(self.runtime, f"test/{i}", stop, True))
                     for i in range(workers)]
            for loop in loops:
                loop.start()
            for loop in loops:
                loop.join()
            if self.deliveries_settled() and not self.pending_jobs(runnable_only=True):
                quiet_rounds += 1
                if quiet_rounds >= 2:
                    return
            else:
                quiet_rounds = 0
                time.sleep(0.05)  # deliveries in flight in the simulators' own threads
        raise TimeoutError(f"stack did not settle in {timeout_s}s: {self.pending_jobs()}")

    def pending_jobs(self, runnable_only: bool = False) -> list[tuple]:
        from sqlalchemy import select

        from storage.clock import utcnow
        from storage.models import Job

        with self.runtime.sessions() as session:
            query = select(Job.id, Job.kind, Job.state, Job.last_error).where(Job.state.in_(("queued", "leased")))
            if runnable_only:
                query = query.where(Job.next_run_at <= utcnow())
            return list(session.execute(query))

    def jobs(self, kind: str | None = None) -> list:
        from sqlalchemy import select

        from storage.models import Job

        with self.runtime.sessions() as session:
            query = select(Job).order_by(Job.id)
            if kind:
                query = query.where(Job.kind == kind)
            return list(session.scalars(query))

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        for sim in self.simulators.values():
            sim.stop()
        if getattr(self, "runtime", None) is not None:
            self.runtime.close()


def _toml_table(header: str, path: str, body: dict) -> list[str]:
    lines = ["", header] + [f"{key} = {_toml_value(v)}" for key, v in body.items() if not isinstance(v, dict)]
    for key, sub in body.items():
        if isinstance(sub, dict):
            lines += _toml_table(f"[{path}.{key}]", f"{path}.{key}", sub)
    return lines


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


@contextmanager
def running_stack(tmp_path, monkeypatch, **options):
    stack = Stack(tmp_path, monkeypatch, **options)
    try:
        yield stack.start()
    finally:
        stack.close()
