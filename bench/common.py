"""What the end-to-end benchmarks share: the service as real processes beside the ServiceNow
simulator, reads of the simulator's journal and deliveries and of the service's database and
metrics, and summary statistics.

`ServiceStack` starts, in a temporary folder, the ServiceNow simulator (`simulators.common.
start_simulator`) and, unless asked not to, the service exactly as an operator runs it:
`python app.py migrate`, `python app.py serve` (gunicorn) and one or more `python app.py worker`
processes on one SQLite file, with a configuration file written for the run. The simulator starts
with no webhook URL; `connect_webhook()` points it at the service (or at any other endpoint) once
that is listening. `stop()` ends every process it started, by process group id.
`webhook_senders` is how many deliveries the simulator has in flight at once (its
`--webhook-senders`): the vendors deliver concurrently, not one event after another.

Nothing here sleeps to measure: timings come from the simulator's journal clock and the
service's own histograms; the helpers only wait for work to finish, with a deadline.
"""
from __future__ import annotations

import base64
import json
import math
import os
import platform
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

import requests

from settings.model import ServerSettings

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA_DIR = ROOT.parent / "shared" / "data"
RESULTS_DIR = ROOT / "bench" / "results"

CONNECTION_ID = "snow-bench"
AGENT_USER = "admin"
INTEGRATION_USER = "xla.integration"
EVENT_TO_WRITE_METRIC = "xla_event_to_write_seconds"
_LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")
_SECRET_ENVS = {"password": "XLA_BENCH_SN_PASSWORD", "webhook": "XLA_BENCH_SN_WEBHOOK_SECRET",
                "key": "XLA_BENCH_SECRET_KEY"}


@dataclass(frozen=True)
class ServiceTuning:
    """Settings of the service under test that shape its speed; written into its config file.

    `poll_interval_s`: how long an idle worker loop waits before it looks for a job again.
    `requests_per_second` / `burst`: the connector's client-side pacing toward the instance (the
    defaults, 5/s and 10, are meant for a real instance's quotas; the simulator has its limit off).
    """

    serve_workers: int = 2
    serve_worker_class: str = ServerSettings.worker_class  # the service's default; gthread uses serve_threads
    serve_threads: int = 4
    worker_processes: int = 1
    worker_concurrency: int = 2
    poll_interval_s: float = 0.05
    requests_per_second: float = 1000.0
    burst: int = 200
    log_level: str = "WARNING"
    # None: a SQLite file in the run's folder. A postgresql:// URL: a fresh schema of that
    # database, made for the run and dropped after it.
    postgres_url: str | None = None


def service_config(workdir: Path, simulator_url: str, tuning: ServiceTuning, database_url: str | None = None) -> str:
    """The TOML the service runs with; secrets stay in environment variables."""
    return f'''# Written by bench/common.py for one benchmark run.
[service]
public_url = "http://127.0.0.1:8000"
database_url = "{database_url or f"sqlite:///{workdir / 'bench.db'}"}"
log_level = "{tuning.log_level}"
secret_key_env = "{_SECRET_ENVS['key']}"

[server]
workers = {tuning.serve_workers}
worker_class = "{tuning.serve_worker_class}"
threads = {tuning.serve_threads}

[worker]
concurrency = {tuning.worker_concurrency}
poll_interval_s = {tuning.poll_interval_s}

[[connections]]
id = "{CONNECTION_ID}"
tool = "servicenow"
base_url = "{simulator_url}"
allow_loopback_http = true
reconcile = false
webhook_secret_env = "{_SECRET_ENVS['webhook']}"

[connections.auth]
kind = "basic"
user = "{INTEGRATION_USER}"
token_env = "{_SECRET_ENVS['password']}"

[connections.limits]
requests_per_second = {tuning.requests_per_second}
burst = {tuning.burst}
'''


class ServiceStack:
    """The ServiceNow simulator and, with `with_service`, the service's processes on SQLite.

    Use as a context manager. `simulator_args` are extra command-line options of the simulator;
    `webhook_senders` becomes its `--webhook-senders` (1: one delivery at a time, in order).
    Raises RuntimeError (with the log file to read) when a process fails to start.
    """

    def __init__(self, tuning: ServiceTuning = ServiceTuning(), *, with_service: bool = True,
                 simulator_args: Sequence[str] = (), seed: int = 42, webhook_senders: int = 1):
        self.tuning = tuning
        self.with_service = with_service
        self.simulator_args = tuple(simulator_args)
        self.webhook_senders = webhook_senders
        self.seed = seed
        self.workdir = Path(tempfile.mkdtemp(prefix="xla-bench-"))
        self.database = self.workdir / "bench.db"
        self.database_url: str | None = None  # set when the run uses a PostgreSQL schema
        self._schema: str | None = None
        self.secrets = {"password": secrets.token_urlsafe(16), "agent": secrets.token_urlsafe(16),
                        "webhook": "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
                        "key": secrets.token_urlsafe(32)}
        self.simulator = None
        self.service_url: str | None = None
        self._processes: list[subprocess.Popen] = []
        self._logs: list = []
        self._agent = requests.Session()
        self._agent.auth = (AGENT_USER, self.secrets["agent"])
        self._agent.headers["Accept"] = "application/json"

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> "ServiceStack":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        from simulators.common import start_simulator

        self.simulator = start_simulator(
            "servicenow", seed=self.seed,
            users={AGENT_USER: self.secrets["agent"], INTEGRATION_USER: self.secrets["password"]},
            extra_args=self.simulator_args + ("--webhook-senders", str(self.webhook_senders)))
        if not self.with_service:
            return
        config = self.workdir / "config.toml"
        if self.tuning.postgres_url:
            self.database_url = self._create_schema(self.tuning.postgres_url)
        config.write_text(service_config(self.workdir, self.simulator.url, self.tuning, self.database_url))
        env = dict(os.environ, XLA_BRIDGE_CONFIG=str(config), PYTHONUNBUFFERED="1",
                   PROMETHEUS_MULTIPROC_DIR=str(self.workdir / "metrics"),
                   **{_SECRET_ENVS[name]: self.secrets[name] for name in _SECRET_ENVS})
        (self.workdir / "metrics").mkdir()
        migrate = self._run_app(env, "migrate", "migrate")
        if migrate.wait(120) != 0:
            raise RuntimeError(f"`app.py migrate` failed; see {self.workdir / 'migrate.log'}")
        self._processes.remove(migrate)
        self._run_app(env, "serve", "serve", "--bind", "127.0.0.1:0")
        port = self._wait_for_port(self.workdir / "serve.log", deadline=time.monotonic() + 60)
        self.service_url = f"http://127.0.0.1:{port}"
        self._wait_until_ready(deadline=time.monotonic() + 60)
        for number in range(self.tuning.worker_processes):
            self._run_app(env, f"worker-{number}", "worker", "--id", f"bench-worker-{number}")
        self.connect_webhook(f"{self.service_url}/webhooks/{CONNECTION_ID}")

    def connect_webhook(self, url: str | None, secret: str | None = "") -> None:
        """Point the simulator's events at `url` (None: keep them undelivered), signed with the
        connection's secret unless another `secret` (None: unsigned) is given."""
        self.simulator.admin("PUT", "/webhook", {
            "url": url, "secret": self.secrets["webhook"] if secret == "" else secret})

    def stop(self) -> None:
        """Stop every process this stack started (SIGTERM to its group, then SIGKILL), then the
        simulator; the work folder is removed."""
        for process in self._processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 20
        for process in self._processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait(10)
        self._processes.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()
        self._agent.close()
        if self.simulator is not None:
            self.simulator.stop()
            self.simulator = None
        self._drop_schema()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _run_app(self, env: dict, log_name: str, *args: str) -> subprocess.Popen:
        log = open(self.workdir / f"{log_name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self._logs.append(log)
        process = subprocess.Popen([sys.executable, "app.py", *args], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self._processes.append(process)
        return process

    def _wait_for_port(self, log_path: Path, deadline: float) -> int:
        while time.monotonic() < deadline:
            match = _LISTENING.search(log_path.read_text(errors="replace"))
            if match:
                return int(match.group(1))
            if any(process.poll() is not None for process in self._processes):
                raise RuntimeError(f"a service process exited early; see {log_path}")
            time.sleep(0.05)
        raise RuntimeError(f"gunicorn did not start listening; see {log_path}")

    def _wait_until_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.service_url}/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the service did not become ready; see {self.workdir / 'serve.log'}")

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) used so far by each part: the simulator, the web service
        (gunicorn and its workers), the job workers, and this driving process. Linux only
        (read from /proc); empty elsewhere."""
        ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        groups = {"simulator": [self.simulator.process.pid] if self.simulator else []}
        for process in self._processes:
            name = "serve" if "serve" in process.args else "worker"
            groups.setdefault(name, []).append(process.pid)
        used: dict[str, float] = {}
        try:
            table = _process_table()
        except OSError:
            return {}
        for name, leaders in groups.items():
            members = [pid for pid, (pgid, _, _) in table.items() if pgid in leaders or pid in leaders]
            used[name] = round(sum(table[pid][1] for pid in set(members)) / ticks, 2)
        own = os.times()
        used["driver"] = round(own.user + own.system, 2)
        return used

    def service_runtime(self):
        """A `runtime.Runtime` on the service's own configuration and database, in this process
        (for reading tickets as the worker sees them). The caller closes it."""
        from runtime import Runtime
        from settings import load_settings

        os.environ.update({_SECRET_ENVS[name]: self.secrets[name] for name in _SECRET_ENVS})
        return Runtime.build(load_settings(self.workdir / "config.toml"))

    def service_alive(self) -> bool:
        return all(process.poll() is None for process in self._processes)

    # -- the simulator -------------------------------------------------------------------------
    def agent_session(self) -> requests.Session:
        """A new keep-alive session logged in as the agent (one per driving thread)."""
        session = requests.Session()
        session.auth = (AGENT_USER, self.secrets["agent"])
        session.headers["Accept"] = "application/json"
        return session

    def table(self, method: str, path: str, body: dict | None = None, params: dict | None = None,
              session: requests.Session | None = None) -> dict | list | None:
        """One Table API call as the agent; the `result` of the answer. Raises requests.HTTPError."""
        response = (session or self._agent).request(method, f"{self.simulator.url}{path}", json=body,
                                                     params=params, timeout=30)
        response.raise_for_status()
        return response.json().get("result") if response.content else None

    def journal(self, after: int = 0) -> list[dict]:
        return self.simulator.journal(after)

    def last_journal_id(self) -> int:
        entries = self.simulator.journal(0)
        return entries[-1]["id"] if entries else 0

    def deliveries(self) -> list[dict]:
        return self.simulator.deliveries()

    # -- the service -----------------------------------------------------------------------------
    def _create_schema(self, postgres_url: str) -> str:
        import psycopg

        self._schema = f"xla_bench_{secrets.token_hex(4)}"
        with psycopg.connect(postgres_url, autocommit=True) as connection:
            connection.execute(f"CREATE SCHEMA {self._schema}")
        return f"{postgres_url}?options=-csearch_path%3D{self._schema}"

    def _drop_schema(self) -> None:
        import psycopg

        if self._schema and self.tuning.postgres_url:
            with psycopg.connect(self.tuning.postgres_url, autocommit=True) as connection:
                connection.execute(f"DROP SCHEMA IF EXISTS {self._schema} CASCADE")
            self._schema = None

    def query(self, sql: str, parameters: Iterable = ()) -> list[tuple]:
        """Rows of a read-only query on the service's database (SQLite, or the run's schema)."""
        if self._schema:
            import psycopg

            with psycopg.connect(self.tuning.postgres_url, autocommit=True) as connection:
                connection.execute(f"SET search_path TO {self._schema}")
                return list(connection.execute(sql.replace("?", "%s"), tuple(parameters)))
        connection = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=30)
        try:
            return list(connection.execute(sql, tuple(parameters)))
        finally:
            connection.close()

    def unfinished_jobs(self) -> int:
        return self.query("SELECT count(*) FROM jobs WHERE state IN ('queued', 'leased')")[0][0]

    def wait_until_settled(self, timeout_s: float, poll_s: float = 0.2) -> bool:
        """Wait until no delivery is pending and no job is queued or leased; False on timeout."""
        deadline = time.monotonic() + timeout_s
        quiet = 0
        while time.monotonic() < deadline:
            pending = not self.simulator.admin("GET", "/health")["webhooks_idle"]
            if not pending and (not self.with_service or self.unfinished_jobs() == 0):
                quiet += 1
                if quiet >= 2:  # twice in a row: nothing was in flight between the two looks
                    return True
            else:
                quiet = 0
            time.sleep(poll_s)
        return False

    def metrics_text(self) -> str:
        response = requests.get(f"{self.service_url}/metrics", timeout=30)
        response.raise_for_status()
        return response.text


def _process_table() -> dict[int, tuple[int, int, int]]:
    """pid -> (process group id, user + system clock ticks, parent pid) of every process in /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        table[int(entry.name)] = (int(fields[2]), int(fields[11]) + int(fields[12]), int(fields[1]))
    return table


def children_cpu_seconds(parent_pid: int) -> dict[int, float]:
    """CPU time (user + system) used so far by each child process of `parent_pid` (a gunicorn
    master's workers). Linux only (read from /proc); empty elsewhere."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        table = _process_table()
    except OSError:
        return {}
    return {pid: used / ticks for pid, (_, used, parent) in table.items() if parent == parent_pid}


def children_context_switches(parent_pid: int) -> dict[int, int]:
    """Voluntary context switches so far of each child process of `parent_pid`, all its threads
    added up (a switch is a wait: for a lock, a socket, the disk). Linux only; empty elsewhere."""
    try:
        children = [pid for pid, (_, _, parent) in _process_table().items() if parent == parent_pid]
    except OSError:
        return {}
    switches = {}
    for pid in children:
        total = 0
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except OSError:
            continue  # ended meanwhile
        for task in tasks:
            try:
                status = (task / "status").read_text()
            except OSError:
                continue  # a thread that ended meanwhile
            for line in status.splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    total += int(line.split(":", 1)[1])
        switches[pid] = total
    return switches


# -- statistics ---------------------------------------------------------------------------------

def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile of already sorted values; None when there are none."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize_ms(seconds: Iterable[float]) -> dict:
    """count, mean, p50, p95, p99 and max of durations given in seconds, in milliseconds."""
    values = sorted(seconds)
    if not values:
        return {"count": 0, "mean_ms": None, "p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 1)

    return {"count": len(values), "mean_ms": ms(sum(values) / len(values)),
            "p50_ms": ms(percentile(values, 0.50)), "p95_ms": ms(percentile(values, 0.95)),
            "p99_ms": ms(percentile(values, 0.99)), "max_ms": ms(values[-1])}


def histogram_buckets(metrics_text: str, name: str) -> dict[float, float]:
    """Cumulative bucket counts `{upper bound: count}` of one unlabelled Prometheus histogram."""
    pattern = re.compile(rf'^{re.escape(name)}_bucket\{{le="([^"]+)"\}} ([0-9.eE+-]+)$')
    buckets: dict[float, float] = {}
    for line in metrics_text.splitlines():
        match = pattern.match(line.strip())
        if match:
            bound = math.inf if match.group(1) == "+Inf" else float(match.group(1))
            buckets[bound] = buckets.get(bound, 0.0) + float(match.group(2))
    return buckets


def histogram_difference(after: dict[float, float], before: dict[float, float]) -> dict[float, float]:
    return {bound: count - before.get(bound, 0.0) for bound, count in after.items()}


def histogram_quantile(buckets: dict[float, float], fraction: float) -> float | None:
    """The quantile Prometheus' `histogram_quantile` gives: linear inside the bucket it falls in.

    Returns the bucket's lower bound when it falls in the +Inf bucket; None with no observations.
    """
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return None
    target = fraction * buckets[bounds[-1]]
    lower_bound, lower_count = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= target:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (target - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return lower_bound


def histogram_summary(buckets: dict[float, float]) -> dict:
    """Observation count, p50/p95/p99 estimates in ms, and the share at or under one second."""
    total = buckets.get(math.inf, 0.0)

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 1)

    return {"count": int(total),
            "p50_ms": ms(histogram_quantile(buckets, 0.50)), "p95_ms": ms(histogram_quantile(buckets, 0.95)),
            "p99_ms": ms(histogram_quantile(buckets, 0.99)),
            "share_within_1s": round(buckets.get(1.0, 0.0) / total, 3) if total else None,
            "buckets": {("+Inf" if math.isinf(bound) else f"{bound:g}"): int(count)
                        for bound, count in sorted(buckets.items())}}


# -- records ------------------------------------------------------------------------------------

def machine() -> dict:
    """The machine a record was measured on, with its load now (other work shares the CPUs)."""
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform(),
            "load_average_1_5_15m": [round(value, 2) for value in os.getloadavg()]}


def write_record(record: dict, name: str, target: str | None = None) -> Path:
    """Write a run's JSON record to `target`, or to bench/results/<name>-<unix time>.json."""
    path = Path(target) if target else RESULTS_DIR / f"{name}-{int(time.time())}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def shown_path(path: Path) -> str:
    """`path` relative to the repository when inside it (records and output name no machine paths)."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def tuning_record(tuning: ServiceTuning) -> dict:
    return asdict(tuning)

