"""End-to-end latency: an agent's change on a ServiceNow ticket until the service's write lands on it.

    .venv/bin/python bench/e2e_latency.py [--rate 50] [--seconds 60] [--tickets 500]
                                          [--baseline-seconds 15] [--workers 1] [--concurrency 2]
                                          [--poll-interval 0.05] [--serve-worker-class gevent|gthread]
                                          [--webhook-senders 4] [--json FILE]

Two stacks run one after the other in the same invocation, each with a fresh ServiceNow simulator
that has `--webhook-senders` deliveries in flight at once (the vendors deliver concurrently):

1. baseline: the service replaced by a bare endpoint in this process that answers 202 and at
   once PATCHes one field of the ticket as the integration user (no signature check, no store,
   no queue, no read): the floor of the path simulator -> event -> HTTP -> write;
2. the service as an operator runs it: `app.py migrate`, `app.py serve` (gunicorn) and
   `--workers` `app.py worker` processes on one SQLite file.

Each stack first creates `--tickets` incidents (as the agent, through the Table API) and waits
until the service has scored them all; then, at a steady `--rate` per second for `--seconds`
(open loop: a late answer never delays the next send), the agent moves one ticket to the other
assignment group (tickets in turn, so each is touched every tickets/rate seconds). A
reassignment changes the experience score's reasons, so every update earns one write.

Latency is read from the simulator's request journal only, so no two clocks are mixed:
t0 = the agent's PATCH of a ticket, t1 = the integration user's next PATCH of the same ticket
(before the agent's next change of it). It reports p50/p95/p99 for both stacks and their ratio,
the service's own `xla_event_to_write_seconds` histogram over the same window (from the stored
event to the written ticket, so without the simulator's dispatch and the webhook POST), checks
that every delivery is in the inbox exactly once, and writes a JSON record to bench/results/.
Method and figures: docs/benchmarks.md, "End-to-end latency".
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from bench.common import (AGENT_USER, EVENT_TO_WRITE_METRIC, INTEGRATION_USER, ServiceStack,  # noqa: E402
                          ServiceTuning, histogram_buckets, histogram_difference, histogram_summary,
                          machine, shown_path, summarize_ms, tuning_record, write_record)

INCIDENT_PATH = "/api/now/table/incident"
# A quiet world: only the incidents this benchmark creates change during the run.
SIMULATOR_ARGS = ("--per-hour", "0", "--closed", "0", "--in-progress", "0", "--tickets", "0")


# -- driving the simulator ----------------------------------------------------------------------

@dataclass
class Sent:
    """One request the driver made: when it was due, when it went out and came back."""

    index: int
    due: float
    started: float = 0.0
    finished: float = 0.0
    status: int | None = None


def send_at_rate(stack: ServiceStack, requests_to_send: list, rate: float, senders: int) -> list[Sent]:
    """Send `requests_to_send` (callables taking a session) at `rate` per second, open loop.

    A pacing thread hands each request to `senders` threads at its due time, so one slow
    answer does not delay the following sends; `started - due` shows any slip.
    """
    work: queue.Queue = queue.Queue()
    sent = [Sent(index, 0.0) for index in range(len(requests_to_send))]

    def sender() -> None:
        session = stack.agent_session()
        try:
            while True:
                index = work.get()
                if index is None:
                    return
                record = sent[index]
                record.started = time.monotonic()
                try:
                    record.status = requests_to_send[index](session)
                except requests.RequestException:
                    record.status = None
                record.finished = time.monotonic()
        finally:
            session.close()

    threads = [threading.Thread(target=sender, name=f"sender-{n}", daemon=True) for n in range(senders)]
    for thread in threads:
        thread.start()
    began = time.monotonic()
    for index in range(len(requests_to_send)):
        due = began + index / rate
        sent[index].due = due
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        work.put(index)
    for _ in threads:
        work.put(None)
    for thread in threads:
        thread.join()
    return sent


def sending_summary(sent: list[Sent]) -> dict:
    if not sent:
        return {"sent": 0}
    first, last = min(s.started for s in sent), max(s.finished for s in sent)
    ok = sum(1 for s in sent if s.status is not None and 200 <= s.status < 300)
    return {"sent": len(sent), "ok": ok, "errors": len(sent) - ok,
            "achieved_per_s": round(len(sent) / (last - first), 1) if last > first else None,
            "slip": summarize_ms(max(0.0, s.started - s.due) for s in sent),
            "answer": summarize_ms(s.finished - s.started for s in sent)}


def reference_ids(stack: ServiceStack) -> tuple[list[str], list[str]]:
    """Two assignment groups to move tickets between, and the people who may call."""
    groups = stack.table("GET", "/api/now/table/sys_user_group",
                         params={"sysparm_fields": "sys_id", "sysparm_limit": 2, "sysparm_query": "ORDERBYname"})
    people = stack.table("GET", "/api/now/table/sys_user", params={
        "sysparm_fields": "sys_id,user_name", "sysparm_query": "active=true^ORDERBYuser_name"})
    callers = [p["sys_id"] for p in people if p["user_name"] not in (AGENT_USER, INTEGRATION_USER)]
    if len(groups) < 2 or not callers:
        raise RuntimeError("the simulator's world has fewer than two groups or no people")
    return [g["sys_id"] for g in groups], callers


def create_incidents(stack: ServiceStack, count: int, groups: list[str], callers: list[str],
                     rate: float, senders: int) -> list[str]:
    """Create `count` open incidents in the first group; returns their sys_ids in creation order."""
    created: list[str | None] = [None] * count

    def creator(number: int):
        def create(session) -> int:
            result = stack.table("POST", INCIDENT_PATH, {
                "short_description": f"Benchmark incident {number}", "caller_id": callers[number % len(callers)],
                "assignment_group": groups[0], "state": "2", "impact": "2", "urgency": "2",
                "contact_type": "phone", "category": "network"}, session=session)
            created[number] = result["sys_id"]
            return 201
        return create

    send_at_rate(stack, [creator(n) for n in range(count)], rate, senders)
    missing = sum(1 for sys_id in created if sys_id is None)
    if missing:
        raise RuntimeError(f"{missing} of {count} incidents could not be created")
    return created


def reassignments(stack: ServiceStack, tickets: list[str], groups: list[str], count: int) -> list:
    """`count` updates, tickets in turn, each moving its ticket to the other group."""
    updates = []
    for index in range(count):
        sys_id = tickets[index % len(tickets)]
        group = groups[(index // len(tickets) + 1) % 2]

        def reassign(session, sys_id=sys_id, group=group) -> int:
            response = session.patch(f"{stack.simulator.url}{INCIDENT_PATH}/{sys_id}",
                                     json={"assignment_group": group}, timeout=30)
            return response.status_code
        updates.append(reassign)
    return updates


# -- reading the journal ------------------------------------------------------------------------

def pair_changes_with_writes(entries: list[dict]) -> dict:
    """Latency of each agent PATCH of an incident to the integration user's next PATCH of it.

    A change is `answered` by the first integration write after it and before the agent's next
    change of the same ticket; otherwise it counts as `unanswered` (never written, or written
    only after a later change, so its write cannot be told apart).
    """
    changes: dict[str, list[dict]] = defaultdict(list)
    writes: dict[str, list[dict]] = defaultdict(list)
    for entry in entries:
        if entry["method"] != "PATCH" or not entry["path"].startswith(INCIDENT_PATH + "/") or entry["status"] != 200:
            continue
        if entry["user"] == AGENT_USER:
            changes[entry["path"]].append(entry)
        elif entry["user"] == INTEGRATION_USER:
            writes[entry["path"]].append(entry)
    latencies, unanswered = [], 0
    for path, ticket_changes in changes.items():
        ticket_writes = writes.get(path, [])
        for position, change in enumerate(ticket_changes):
            limit = ticket_changes[position + 1]["id"] if position + 1 < len(ticket_changes) else float("inf")
            answer = next((w for w in ticket_writes if change["id"] < w["id"] < limit), None)
            if answer is None:
                unanswered += 1
            else:
                latencies.append(answer["at"] - change["at"])
    return {"changes": sum(len(v) for v in changes.values()), "answered": len(latencies),
            "unanswered": unanswered, "latency": summarize_ms(latencies)}


# -- the baseline: a bare endpoint that writes back at once -------------------------------------

class BareWriteBack:
    """An HTTP endpoint that answers every event 202 and PATCHes the ticket as the integration
    user right away (in a small thread pool): no verification, storage, queue or read."""

    def __init__(self, simulator_url: str, password: str, threads: int = 8):
        self.simulator_url = simulator_url
        self._local = threading.local()
        self._password = password
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bare-write")
        bridge = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - the http.server naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                try:
                    event = json.loads(body)
                except ValueError:
                    return
                if event.get("sys_updated_by") != INTEGRATION_USER and event.get("table") == "incident":
                    bridge._pool.submit(bridge._write, event["sys_id"], event.get("sys_mod_count", 0))

            def log_message(self, *args):  # quiet
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}/webhooks/bare"
        self._thread = threading.Thread(target=self._server.serve_forever, name="bare-endpoint", daemon=True)
        self._thread.start()

    def _write(self, sys_id: str, version: int) -> None:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.auth = (INTEGRATION_USER, self._password)
        try:
            session.patch(f"{self.simulator_url}{INCIDENT_PATH}/{sys_id}", json={"u_xla_score": version % 101},
                          timeout=30)
        except requests.RequestException:
            pass

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._pool.shutdown(wait=True)


# -- one stack ----------------------------------------------------------------------------------

def measure_stack(label: str, stack: ServiceStack, args, seconds: float, tickets: int) -> dict:
    groups, callers = reference_ids(stack)
    setup_began = time.monotonic()
    created = create_incidents(stack, tickets, groups, callers, rate=max(args.rate, 100.0), senders=args.senders)
    if not stack.wait_until_settled(args.settle_timeout):
        raise RuntimeError(f"{label}: the {tickets} new incidents were not processed within {args.settle_timeout}s")
    setup_s = time.monotonic() - setup_began
    watermark = stack.last_journal_id()
    before = histogram_buckets(stack.metrics_text(), EVENT_TO_WRITE_METRIC) if stack.with_service else {}
    last_job = stack.query("SELECT coalesce(max(id), 0) FROM jobs")[0][0] if stack.with_service else 0

    cpu_before = stack.cpu_seconds()
    count = int(args.rate * seconds)
    sent = send_at_rate(stack, reassignments(stack, created, groups, count), args.rate, args.senders)
    settle_began = time.monotonic()
    settled = stack.wait_until_settled(args.settle_timeout)
    settle_s = time.monotonic() - settle_began

    cpu_after = stack.cpu_seconds()
    entries = stack.journal(watermark)
    journal_complete = bool(entries) and entries[0]["id"] == watermark + 1
    result = {"label": label, "tickets": tickets, "setup_s": round(setup_s, 1), "settled": settled,
              "settle_after_last_send_s": round(settle_s, 1), "journal_complete": journal_complete,
              "sending": sending_summary(sent), **pair_changes_with_writes(entries),
              "cpu_ms_per_change": {name: round(1000 * (used - cpu_before.get(name, 0.0)) / count, 1)
                                    for name, used in cpu_after.items()}}
    if stack.with_service:
        after = histogram_buckets(stack.metrics_text(), EVENT_TO_WRITE_METRIC)
        result["pipeline_histogram"] = histogram_summary(histogram_difference(after, before))
        result["stages"] = stage_breakdown(stack, last_job)
        result["integrity"] = inbox_integrity(stack)
    return result


def stage_breakdown(stack: ServiceStack, after_job_id: int) -> dict:
    """Where an agent change's time goes inside the stack, from the deliveries and job rows.

    Three consecutive stages per change that the service decided to write: `delivery` (the
    simulator's queue and the webhook POST until its 202), `process_event` (stored event to the
    decision committed: queue wait, one read, scoring) and `write_back` (queue wait and the
    write). Both processes read one machine clock; the headline latency does not use these.
    """
    deliveries = {d["delivery_id"]: d for d in stack.deliveries()}
    rows = stack.query("SELECT id, kind, dedupe_key, ticket_key, outcome, created_at, finished_at FROM jobs "
                       "WHERE id > ? AND state = 'done' ORDER BY id", (after_job_id,))
    by_ticket: dict[str, list[tuple]] = defaultdict(list)
    for row in rows:
        by_ticket[row[3]].append(row)
    stages: dict[str, list[float]] = {"delivery": [], "process_event": [], "write_back": []}
    for ticket_rows in by_ticket.values():
        for position, (_, kind, dedupe_key, _, outcome, created, finished) in enumerate(ticket_rows):
            if kind != "process_event" or outcome != "decided":
                continue
            delivery = deliveries.get(dedupe_key.split(":", 2)[-1])
            write = next((r for r in ticket_rows[position + 1:] if r[1] == "write_back"), None)
            if delivery is None or write is None or delivery.get("delivered_at") is None:
                continue
            stages["delivery"].append(delivery["delivered_at"] - delivery["created_at"])
            stages["process_event"].append((_moment(finished) - _moment(created)).total_seconds())
            stages["write_back"].append((_moment(write[6]) - _moment(write[5])).total_seconds())
    return {name: summarize_ms(values) for name, values in stages.items()}


def _moment(stored: str | datetime) -> datetime:
    moment = stored if isinstance(stored, datetime) else datetime.fromisoformat(stored)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def inbox_integrity(stack: ServiceStack) -> dict:
    """Deliveries the simulator made against the events the service stored, and job outcomes.

    `lost` counts deliveries that failed for good or were answered 202 but are not in the inbox;
    deliveries answered 200 (deliberately ignored: the service's own writes, dropped at the door)
    are counted apart, and each must carry the integration user as its actor; deliveries still
    `pending` (the run stopped waiting) are reported apart.
    """
    deliveries = stack.deliveries()
    stored_ids = {row[0] for row in stack.query("SELECT delivery_id FROM inbox_events")}
    delivered = [d for d in deliveries if d["status"] == "delivered"]
    delivered_ids = {d["delivery_id"] for d in delivered if d.get("http_status") != 200}
    ignored = [d for d in delivered if d.get("http_status") == 200]
    ignored_not_own = sum(1 for d in ignored if (d.get("event") or {}).get("sys_updated_by") != INTEGRATION_USER)
    statuses: dict[str, int] = defaultdict(int)
    for delivery in deliveries:
        statuses[delivery["status"]] += 1
    outcomes = {f"{kind}:{state}:{outcome}": n for kind, state, outcome, n in stack.query(
        "SELECT kind, state, coalesce(outcome, ''), count(*) FROM jobs GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")}
    missing = len(delivered_ids - stored_ids)
    return {"deliveries": len(deliveries), "distinct_delivery_ids": len({d["delivery_id"] for d in deliveries}),
            "delivery_statuses": dict(statuses), "inbox_rows": len(stored_ids),
            "delivered_missing_from_inbox": missing, "ignored_own_writes": len(ignored) - ignored_not_own,
            "lost": missing + statuses.get("failed", 0) + ignored_not_own,
            "inbox_duplicates_counted": stack.query("SELECT coalesce(sum(duplicates), 0) FROM inbox_events")[0][0],
            "jobs": outcomes}


def run(args) -> dict:
    load_at_start = [round(value, 2) for value in os.getloadavg()]
    tuning = ServiceTuning(worker_processes=args.workers, worker_concurrency=args.concurrency,
                           poll_interval_s=args.poll_interval, postgres_url=args.postgres_url,
                           serve_worker_class=args.serve_worker_class)
    stacks = {}
    if args.baseline_seconds > 0:
        with ServiceStack(tuning, with_service=False, simulator_args=SIMULATOR_ARGS,
                          webhook_senders=args.webhook_senders) as stack:
            bare = BareWriteBack(stack.simulator.url, stack.secrets["password"])
            try:
                stack.connect_webhook(bare.url)
                baseline_tickets = min(args.tickets, max(10, int(args.rate * args.baseline_seconds / 5)))
                stacks["bare_endpoint"] = measure_stack("bare_endpoint", stack, args, args.baseline_seconds,
                                                        baseline_tickets)
            finally:
                bare.close()
    with ServiceStack(tuning, simulator_args=SIMULATOR_ARGS, webhook_senders=args.webhook_senders) as stack:
        stacks["xla_bridge"] = measure_stack("xla_bridge", stack, args, args.seconds, args.tickets)
        if not stack.service_alive():
            stacks["xla_bridge"]["service_process_exited"] = True

    service, bare = stacks["xla_bridge"]["latency"], stacks.get("bare_endpoint", {}).get("latency", {})
    ratios = {}
    for key in ("p50_ms", "p95_ms", "p99_ms"):
        if bare.get(key) and service.get(key) is not None:
            ratios[key.replace("_ms", "")] = round(service[key] / bare[key], 1)
    return {"benchmark": "e2e_latency", "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {**machine(), "load_average_at_start": load_at_start},
            "settings": {"rate_per_s": args.rate, "seconds": args.seconds, "tickets": args.tickets,
                         "baseline_seconds": args.baseline_seconds, "senders": args.senders,
                         "simulator_webhook_senders": args.webhook_senders,
                         "tuning": tuning_record(tuning)},
            "results": stacks, "latency_ratio_service_to_bare": ratios}


def print_report(record: dict) -> None:
    print(f"{'stack':<14} {'changes':>7} {'answered':>8} {'sent/s':>7} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'max ms':>8}")
    for label, result in record["results"].items():
        latency = result["latency"]
        print(f"{label:<14} {result['changes']:>7} {result['answered']:>8} "
              f"{result['sending'].get('achieved_per_s')!s:>7} {latency['p50_ms']!s:>8} {latency['p95_ms']!s:>8} "
              f"{latency['p99_ms']!s:>8} {latency['max_ms']!s:>8}")
    service = record["results"]["xla_bridge"]
    histogram = service["pipeline_histogram"]
    print(f"pipeline histogram {EVENT_TO_WRITE_METRIC} (stored event -> write), same window: "
          f"{histogram['count']} writes, p50 ~{histogram['p50_ms']} ms, p95 ~{histogram['p95_ms']} ms, "
          f"p99 ~{histogram['p99_ms']} ms, {histogram['share_within_1s']} within 1 s")
    print(f"ratio xla_bridge / bare_endpoint: {record['latency_ratio_service_to_bare']}")
    cpu = ", ".join(f"{name} {ms}" for name, ms in service["cpu_ms_per_change"].items())
    print(f"CPU ms per change: {cpu}")
    stages = ", ".join(f"{name} p50 {values['p50_ms']} / p95 {values['p95_ms']} ms"
                       for name, values in service["stages"].items())
    print(f"stages inside the stack: {stages}")
    integrity = service["integrity"]
    print(f"deliveries {integrity['deliveries']} (distinct {integrity['distinct_delivery_ids']}, "
          f"by status {integrity['delivery_statuses']}), inbox rows {integrity['inbox_rows']}, "
          f"own writes ignored at the door {integrity['ignored_own_writes']}, lost {integrity['lost']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/e2e_latency.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50.0, help="agent changes per second (steady, open loop)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the service stack is driven")
    parser.add_argument("--tickets", type=int, default=500, help="incidents changed in turn")
    parser.add_argument("--baseline-seconds", type=float, default=15.0,
                        help="how long the bare-endpoint baseline is driven (0: skip it)")
    parser.add_argument("--workers", type=int, default=1, help="`app.py worker` processes")
    parser.add_argument("--concurrency", type=int, default=2, help="job loops per worker process")
    parser.add_argument("--poll-interval", type=float, default=0.05, help="[worker] poll_interval_s")
    parser.add_argument("--serve-worker-class", choices=("gevent", "gthread"),
                        default=ServiceTuning.serve_worker_class,
                        help="[server].worker_class of `app.py serve` (default: %(default)s, the service's)")
    parser.add_argument("--postgres-url", default=None, metavar="URL",
                        help="run the service on this PostgreSQL database (a fresh schema, dropped after "
                             "the run) instead of a SQLite file, e.g. postgresql://127.0.0.1:5432/test")
    parser.add_argument("--senders", type=int, default=8, help="driver threads sending the changes")
    parser.add_argument("--webhook-senders", type=int, default=4,
                        help="the simulator's deliveries in flight at once (its --webhook-senders)")
    parser.add_argument("--settle-timeout", type=float, default=120.0,
                        help="longest wait for the service to finish after the last change")
    parser.add_argument("--json", metavar="FILE", help="write the record here (default: bench/results/)")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.seconds <= 0 or args.tickets < 1:
        parser.error("--rate and --seconds must be positive and --tickets at least 1")

    record = run(args)
    print_report(record)
    path = write_record(record, "e2e_latency", args.json)
    print(f"record written to {shown_path(path)}")
    return 1 if record["results"]["xla_bridge"]["integrity"]["lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
