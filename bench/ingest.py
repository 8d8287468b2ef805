"""Webhook ingest benchmark: signed Jira deliveries into the real service under gunicorn.

    python -m bench.ingest [--requests 6000] [--seconds 20] [--clients 32] [--workers 2]
                           [--worker-class gevent|gthread] [--connections 1000] [--threads 16]
                           [--rounds 3] [--no-naive] [--json FILE]

Servers run one after the other in the same invocation, all with the same gunicorn flags (worker
class, processes and concurrency, as `app.py serve` builds them from `[server]`): a bare Flask
app that reads the body and answers 202 (the ceiling); the service itself (`app:create_app()`:
signature check, parse, inbox row and job committed to SQLite with `synchronous=FULL` before the
202, concurrent deliveries sharing one commit); and, for comparison, the same service with one
transaction per delivery in the request (the naive inbox, switched in by this module's gunicorn
`post_fork` hook). The bare app and the service alternate for `--rounds` rounds, each on a fresh
server, because a gunicorn server's rate depends on how the kernel happened to hand the
keep-alive connections to its workers; the naive inbox runs once, last. One pure-Python load
generator drives each: `--clients` threads, each with one keep-alive connection, sending
pre-signed distinct deliveries until `--requests` are answered or `--seconds` have passed. Per
round it reports throughput, p50/p95/p99 latency, the gunicorn workers' CPU and voluntary
context switches per delivery, and the busiest worker's share of the CPU; the ratio is the
service's median rate over the bare app's. It also records the machine's load and the disk's
durable-commit latency, checks that every delivery answered 202 is in the inbox, and writes a
JSON record to bench/results/. Method and figures: docs/benchmarks.md, "Webhook ingest".
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script (`python bench/ingest.py`) as well as with -m
    sys.path.insert(0, str(ROOT))

from bench.common import children_context_switches, children_cpu_seconds  # noqa: E402
from ops.server import gunicorn_worker_options  # noqa: E402
from settings.model import ServerSettings  # noqa: E402

SECRET_ENV = "XLA_BENCH_JIRA_WEBHOOK_SECRET"
TOKEN_ENV = "XLA_BENCH_JIRA_TOKEN"
CONNECTION = "jira-bench"
LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


def create_bare_app():
    """The baseline: a Flask app that reads the body and answers 202, nothing else."""
    from flask import Flask, jsonify, request

    app = Flask(__name__)

    @app.post("/webhooks/<connection_id>")
    def accept(connection_id):
        request.get_data()
        return jsonify(status="stored"), 202

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    return app


NAIVE_ENV = "XLA_BENCH_NAIVE_INBOX"


def post_fork(server, worker):
    """Gunicorn hook, active only when gunicorn loads this module as its configuration
    (`-c python:bench.ingest`) with XLA_BENCH_NAIVE_INBOX=1: the comparison point of one
    transaction per delivery in the request thread, instead of the shared group commit.
    """
    if os.environ.get(NAIVE_ENV) != "1":
        return
    from storage.db import transaction
    from webhooks import inbox, inbox_writer

    def store_alone(writer, event):
        try:
            with transaction(writer._sessions) as session:
                return inbox.store_event(session, event)
        except Exception as exc:  # the endpoint answers 503, as with the real writer
            raise inbox_writer.InboxUnavailable(type(exc).__name__) from exc

    inbox_writer.InboxWriter.store = store_alone


@dataclass
class Result:
    target: str
    answered: int
    errors: int
    seconds: float
    throughput_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    round: int = 1
    # The gunicorn workers' CPU (user + system) per delivery answered, and the busiest worker's
    # share of it: 0.5 when two workers shared the load evenly, near 1.0 when one took it all.
    worker_cpu_ms_per_delivery: float | None = None
    busiest_worker_share: float | None = None
    # The gunicorn workers' voluntary context switches (all threads) per delivery answered.
    switches_per_delivery: float | None = None


def build_deliveries(count: int, secret: str) -> list[tuple[bytes, dict]]:
    """Distinct signed Jira `issue_updated` deliveries shaped like Cloud's, ready to send."""
    from webhooks.jira.verify import sign_jira_body

    deliveries = []
    base_ms = int(time.time() * 1000)
    for number in range(count):
        issue_id = str(100000 + number % 5000)
        payload = {
            "timestamp": base_ms + number, "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_generic",
            "user": {"accountId": "712020:bench-agent", "displayName": "Bench Agent"},
            "issue": {"id": issue_id, "key": f"SD-{issue_id}", "self": f"https://bench.example/rest/api/2/issue/{issue_id}",
                      "fields": {"status": {"name": "Resolved", "statusCategory": {"key": "done"}},
                                 "resolution": {"name": "Done"}, "summary": "VPN drops every ten minutes",
                                 "priority": {"name": "Medium"}, "issuetype": {"name": "IT Help"}}},
            "changelog": {"id": str(500000 + number), "items": [
                {"field": "resolution", "fieldId": "resolution", "from": None, "fromString": None,
                 "to": "10000", "toString": "Done"},
                {"field": "status", "fieldId": "status", "from": "3", "fromString": "In Progress",
                 "to": "10002", "toString": "Resolved"}]},
        }
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json; charset=UTF-8",
                   "X-Atlassian-Webhook-Identifier": str(uuid.uuid4()), "X-Atlassian-Webhook-Flow": "Primary",
                   "X-Hub-Signature": sign_jira_body(body, secret)}
        deliveries.append((body, headers))
    return deliveries


def drive_load(port: int, deliveries: list[tuple[bytes, dict]], clients: int, seconds: float,
               label: str) -> tuple[Result, int]:
    """Send `deliveries` from `clients` threads until all are answered or `seconds` pass.

    Returns the measurements and how many deliveries were answered 202.
    """
    next_index = iter(range(len(deliveries)))
    index_lock = threading.Lock()
    latencies: list[list[float]] = [[] for _ in range(clients)]
    accepted = [0] * clients
    errors = [0] * clients
    deadline = time.monotonic() + seconds

    def client(slot: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            while time.monotonic() < deadline:
                with index_lock:
                    index = next(next_index, None)
                if index is None:
                    return
                body, headers = deliveries[index]
                started = time.perf_counter()
                try:
                    connection.request("POST", f"/webhooks/{CONNECTION}", body=body, headers=headers)
                    response = connection.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException):
                    errors[slot] += 1
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    continue
                latencies[slot].append(time.perf_counter() - started)
                if response.status == 202:
                    accepted[slot] += 1
                else:
                    errors[slot] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(slot,), name=f"load-{slot}") for slot in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    merged = sorted(value for values in latencies for value in values)
    answered = len(merged)

    def percentile(fraction: float) -> float:
        if not merged:
            return float("nan")
        return round(merged[min(len(merged) - 1, int(fraction * len(merged)))] * 1000, 2)

    result = Result(target=label, answered=answered, errors=sum(errors), seconds=round(elapsed, 2),
                    throughput_per_s=round(answered / elapsed, 1) if elapsed else 0.0,
                    p50_ms=percentile(0.50), p95_ms=percentile(0.95), p99_ms=percentile(0.99))
    return result, sum(accepted)


class Gunicorn:
    """One gunicorn server on 127.0.0.1 with an ephemeral port, stopped by `stop()`."""

    def __init__(self, app_spec: str, server: ServerSettings, env: dict, log_path: Path,
                 config_module: str | None = None):
        self.log_path = log_path
        self.log = open(log_path, "w")
        command = [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", *gunicorn_worker_options(server),
                   "--chdir", str(ROOT), "--log-level", "info", "--no-control-socket", app_spec]
        if config_module:
            command[3:3] = ["-c", f"python:{config_module}"]
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        self.port = self._wait_for_port(deadline=time.monotonic() + 60)
        self._wait_until_healthy(deadline=time.monotonic() + 60)

    def _wait_for_port(self, deadline: float) -> int:
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early; see {self.log_path}")
            match = LISTENING.search(self.log_path.read_text())
            if match:
                return int(match.group(1))
            time.sleep(0.05)
        raise RuntimeError(f"gunicorn did not start listening; see {self.log_path}")

    def _wait_until_healthy(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    connection.close()
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"gunicorn did not answer /healthz; see {self.log_path}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.log.close()


def write_config(folder: Path, server: ServerSettings) -> tuple[Path, str]:
    database_url = f"sqlite:///{folder / 'ingest.db'}"
    config = folder / "bench.toml"
    config.write_text(f"""
[service]
database_url = "{database_url}"
log_level = "WARNING"

[server]
workers = {server.workers}
worker_class = "{server.worker_class}"
worker_connections = {server.worker_connections}
threads = {server.threads}

[[connections]]
id = "{CONNECTION}"
tool = "jira"
base_url = "https://bench.example.atlassian.net"
webhook_secret_env = "{SECRET_ENV}"

[connections.auth]
kind = "basic"
user = "bench@example.com"
token_env = "{TOKEN_ENV}"
""")
    return config, database_url


def probe_commit_latency(folder: Path, commits: int = 50) -> float:
    """Median ms of a one-row SQLite commit with WAL and synchronous=FULL on this disk, right now.

    The service's ingest rate follows this figure (each shared commit waits for one flush), so
    every record carries it: a busy or slow disk explains a low ratio.
    """
    import sqlite3

    connection = sqlite3.connect(folder / "probe.db", isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("CREATE TABLE IF NOT EXISTS probe (n INTEGER)")
        timings = []
        for number in range(commits):
            started = time.perf_counter()
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT INTO probe VALUES (?)", (number,))
            connection.execute("COMMIT")
            timings.append(time.perf_counter() - started)
    finally:
        connection.close()
    return round(sorted(timings)[len(timings) // 2] * 1000, 2)


def count_inbox(database_url: str) -> int:
    from sqlalchemy import create_engine, func, select

    from storage.models import InboxEvent

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(InboxEvent)).scalar_one()
    finally:
        engine.dispose()


def measure(label: str, app_spec: str, pool: list[tuple[bytes, dict]], warmup: int, clients: int,
            seconds: float, server_settings: ServerSettings, env: dict, folder: Path,
            round_number: int) -> tuple[Result, int]:
    """One fresh server under load: warm it up, then measure. Returns the result and how many
    deliveries (warm-up included) were answered 202."""
    naive = label == "naive_inbox"
    naive_env = {NAIVE_ENV: "1", "PYTHONPATH": str(ROOT)} if naive else {}
    server = Gunicorn(app_spec, server_settings, {**env, **naive_env}, folder / f"{label}-{round_number}.log",
                      config_module="bench.ingest" if naive else None)
    try:
        _, warm_accepted = drive_load(server.port, pool[:warmup], clients, seconds, label)
        before = children_cpu_seconds(server.process.pid)
        switches_before = children_context_switches(server.process.pid)
        result, accepted = drive_load(server.port, pool[warmup:], clients, seconds, label)
        after = children_cpu_seconds(server.process.pid)
        switches_after = children_context_switches(server.process.pid)
    finally:
        server.stop()
    used = [after[pid] - before.get(pid, 0.0) for pid in after]
    total = sum(used)
    result.round = round_number
    if total > 0 and result.answered:
        result.worker_cpu_ms_per_delivery = round(total * 1000 / result.answered, 3)
        result.busiest_worker_share = round(max(used) / total, 2)
    if switches_after and result.answered:
        switched = sum(count - switches_before.get(pid, 0) for pid, count in switches_after.items())
        result.switches_per_delivery = round(switched / result.answered, 1)
    return result, warm_accepted + accepted


def run(requests_count: int, seconds: float, clients: int, server: ServerSettings, warmup: int,
        naive: bool = True, rounds: int = 3) -> dict:
    from storage.migrate import upgrade

    folder = Path(tempfile.mkdtemp(prefix="xla-bench-ingest-"))
    secret = uuid.uuid4().hex
    try:
        config, database_url = write_config(folder, server)
        upgrade(database_url)
        metrics_dir = folder / "metrics"
        metrics_dir.mkdir()
        env = dict(os.environ, XLA_BRIDGE_CONFIG=str(config), PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
                   **{SECRET_ENV: secret, TOKEN_ENV: "unused-by-ingest"})
        share = warmup + requests_count
        servers = (("bare_flask", "bench.ingest:create_bare_app()"), ("xla_bridge", "app:create_app()"))
        plan = [(label, spec, number) for number in range(1, rounds + 1) for label, spec in servers]
        if naive:
            plan.append(("naive_inbox", "app:create_app()", 1))
        deliveries = build_deliveries(share * len(plan), secret)
        load_before = os.getloadavg()[0]
        commit_ms = probe_commit_latency(folder)
        measured: list[Result] = []
        accepted_by_service = 0
        for index, (label, spec, number) in enumerate(plan):
            result, accepted = measure(label, spec, deliveries[index * share:(index + 1) * share], warmup, clients,
                                       seconds, server, env, folder, number)
            measured.append(result)
            if label != "bare_flask":
                accepted_by_service += accepted
        stored = count_inbox(database_url)
        load_after = os.getloadavg()[0]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    rates = {label: [result.throughput_per_s for result in measured if result.target == label]
             for label in dict.fromkeys(result.target for result in measured)}
    bare_rate = median(rates["bare_flask"])

    def ratio(rate: float) -> float | None:
        return round(rate / bare_rate, 3) if bare_rate else None

    bare_by_round = {result.round: result.throughput_per_s for result in measured if result.target == "bare_flask"}
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform(),
                    "load_1min_before": round(load_before, 2), "load_1min_after": round(load_after, 2),
                    "sqlite_commit_ms_p50": commit_ms},
        "settings": {"requests": requests_count, "seconds": seconds, "clients": clients,
                     "workers": server.workers, "worker_class": server.worker_class,
                     "concurrency_per_worker": (server.worker_connections if server.worker_class == "gevent"
                                                else server.threads),
                     "warmup": warmup, "rounds": rounds},
        "rounds": [asdict(result) for result in measured],
        "median_throughput_per_s": {label: round(median(values), 1) for label, values in rates.items()},
        # The service's median rate over the bare app's median rate.
        "ratio": ratio(median(rates["xla_bridge"])),
        "ratio_by_round": [round(result.throughput_per_s / bare_by_round[result.round], 3)
                           for result in measured if result.target == "xla_bridge" and bare_by_round[result.round]],
        "naive_ratio": ratio(median(rates["naive_inbox"])) if "naive_inbox" in rates else None,
        "inbox_rows": stored,
        "answered_202_by_service": accepted_by_service,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=6000, help="measured deliveries per server")
    parser.add_argument("--seconds", type=float, default=20.0, help="time budget per server")
    parser.add_argument("--clients", type=int, default=32, help="concurrent client connections")
    defaults = ServerSettings()
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (all servers)")
    parser.add_argument("--worker-class", choices=("gevent", "gthread"), default=defaults.worker_class,
                        help="gunicorn worker class (all servers); the service's default is %(default)s")
    parser.add_argument("--connections", type=int, default=defaults.worker_connections,
                        help="requests one gevent worker serves at once")
    parser.add_argument("--threads", type=int, default=16, help="threads per gthread worker")
    parser.add_argument("--warmup", type=int, default=300, help="deliveries sent before measuring")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of the bare app and the service, alternating (each on a fresh server)")
    parser.add_argument("--no-naive", action="store_true",
                        help="skip the comparison server that commits each delivery on its own")
    parser.add_argument("--json", metavar="FILE", help="also write the record here (default: bench/results/)")
    args = parser.parse_args(argv)

    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    server = ServerSettings(workers=args.workers, worker_class=args.worker_class,
                            worker_connections=args.connections, threads=args.threads)
    record = run(args.requests, args.seconds, args.clients, server, args.warmup,
                 naive=not args.no_naive, rounds=args.rounds)
    print(f"{'round':>5} {'target':<12} {'answered':>8} {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8}"
          f" {'p99 ms':>8} {'cpu ms':>7} {'busiest':>7} {'switches':>8}")
    for result in record["rounds"]:
        print(f"{result['round']:>5} {result['target']:<12} {result['answered']:>8} {result['errors']:>6}"
              f" {result['throughput_per_s']:>8} {result['p50_ms']:>8} {result['p95_ms']:>8} {result['p99_ms']:>8}"
              f" {_shown(result['worker_cpu_ms_per_delivery']):>7} {_shown(result['busiest_worker_share']):>7}"
              f" {_shown(result['switches_per_delivery']):>8}")
    print("(cpu ms: the gunicorn workers' CPU per delivery; busiest: the busiest worker's share of it; "
          "switches: their voluntary context switches per delivery)")
    print(f"median req/s: {record['median_throughput_per_s']}")
    print(f"ratio xla_bridge / bare_flask (medians): {record['ratio']}; by round: {record['ratio_by_round']}")
    if record["naive_ratio"] is not None:
        print(f"ratio naive_inbox / bare_flask: {record['naive_ratio']} (one commit per delivery, for comparison)")
    machine, settings = record["machine"], record["settings"]
    print(f"{settings['workers']} {settings['worker_class']} workers x {settings['concurrency_per_worker']} "
          f"requests at once, {settings['clients']} clients")
    print(f"1-min load {machine['load_1min_before']} -> {machine['load_1min_after']} on {machine['cpus']} CPUs; "
          f"SQLite durable commit p50 {machine['sqlite_commit_ms_p50']} ms")
    print(f"inbox rows {record['inbox_rows']} for {record['answered_202_by_service']} deliveries answered 202 "
          "by the two inbox servers")
    target = Path(args.json) if args.json else ROOT / "bench" / "results" / f"ingest-{int(time.time())}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(record, indent=2) + "\n")
    print(f"record written to {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
    lost = record["answered_202_by_service"] - record["inbox_rows"]
    return 1 if lost > 0 else 0


def _shown(value) -> str:
    return "-" if value is None else str(value)


if __name__ == "__main__":
    sys.exit(main())
