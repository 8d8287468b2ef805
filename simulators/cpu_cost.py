"""`python -m simulators.cpu_cost`: CPU the ServiceNow simulator process spends per API request.

    .venv/bin/python -m simulators.cpu_cost [--requests 2000] [--clients 4] [--webhook-senders 1]

Starts one simulator (a quiet world: no seeded tickets, no hourly limit), creates `--tickets`
incidents, then runs three phases of `--requests` requests each from `--clients` threads, each
thread with its own keep-alive session, as the service's connector makes them:

- `get`: read one incident by sys_id (the connector's read before scoring);
- `patch, no webhook`: change one incident's urgency (an event is built, no URL to post it to);
- `patch + webhook`: the same with the webhook pointed at a bare loopback endpoint in this
  process (HTTP/1.1 keep-alive, 202 at once), until the dispatcher is idle again.

For each phase it prints the simulator's CPU seconds (user + system, read from
`/proc/<pid>/stat`, so Linux only) divided by the number of requests. The endpoint and the
clients run in this process and are not counted. Figures: docs/simulators.md, "CPU per request".
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

import requests

from simulators.common import DEFAULT_TEST_USERS, SimulatorProcess, start_simulator
from simulators.post_receiver import PostReceiver

USER = "xla.integration"
INCIDENTS = "/api/now/table/incident"
QUIET_WORLD = ("--per-hour", "0", "--closed", "0", "--in-progress", "0", "--tickets", "0")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by process `pid` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_requests(sim: SimulatorProcess, count: int, clients: int, make_request) -> int:
    """Make `count` requests from `clients` threads; `make_request(session, n)` returns a status.

    Returns how many did not answer 2xx (the figures of a run with failures mean little).
    """
    numbers = iter(range(count))
    lock = threading.Lock()
    failures = [0]

    def client() -> None:
        with requests.Session() as session:
            session.auth = (USER, DEFAULT_TEST_USERS[USER])
            while True:
                with lock:
                    number = next(numbers, None)
                if number is None:
                    return
                status = make_request(session, number)
                if not 200 <= status < 300:
                    with lock:
                        failures[0] += 1

    threads = [threading.Thread(target=client, name=f"client-{n}") for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures[0]


def wait_until_idle(sim: SimulatorProcess, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not sim.admin("GET", "/health")["webhooks_idle"]:
        if time.monotonic() > deadline:
            raise RuntimeError("the simulator's webhook deliveries did not finish in time")
        time.sleep(0.05)


def measure(args) -> dict:
    # the option is left out at its default so the script also measures a simulator from
    # before it existed (the "before" figures)
    extra = QUIET_WORLD + (("--webhook-senders", str(args.webhook_senders))
                           if args.webhook_senders != 1 else ())
    endpoint = PostReceiver(lambda headers, body: 202, path="/webhooks/cpu-cost")
    sim = start_simulator("servicenow", extra_args=extra)
    try:
        with requests.Session() as setup:
            setup.auth = (USER, DEFAULT_TEST_USERS[USER])
            sys_ids = [setup.post(sim.url + INCIDENTS, json={"short_description": f"cpu cost {n}"},
                                  timeout=30).json()["result"]["sys_id"] for n in range(args.tickets)]
        url_of = [f"{sim.url}{INCIDENTS}/{sys_id}" for sys_id in sys_ids]

        def read(session, number):
            return session.get(url_of[number % len(url_of)], timeout=30).status_code

        def write(session, number):
            # alternate urgency so every PATCH is a change (and so an event)
            urgency = "2" if (number // len(url_of)) % 2 == 0 else "3"
            return session.patch(url_of[number % len(url_of)], json={"urgency": urgency},
                                 timeout=30).status_code

        phases = {}
        for name, webhook, make_request in (("get", None, read), ("patch, no webhook", None, write),
                                            ("patch + webhook", endpoint.url, write)):
            sim.admin("PUT", "/webhook", {"url": webhook, "secret": "cpu-cost-secret"})
            before = process_cpu_seconds(sim.process.pid)
            started = time.monotonic()
            failures = run_requests(sim, args.requests, args.clients, make_request)
            wait_until_idle(sim)
            used = process_cpu_seconds(sim.process.pid) - before
            phases[name] = {"requests": args.requests, "failures": failures,
                            "cpu_ms_per_request": round(1000 * used / args.requests, 2),
                            "wall_s": round(time.monotonic() - started, 2)}
        delivered = sum(1 for d in sim.deliveries() if d["status"] == "delivered")
        return {"settings": vars(args), "phases": phases, "deliveries_delivered": delivered,
                "load_average_1m": round(os.getloadavg()[0], 2)}
    finally:
        sim.stop()
        endpoint.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulators.cpu_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per phase")
    parser.add_argument("--clients", type=int, default=4, help="client threads, one session each")
    parser.add_argument("--tickets", type=int, default=50, help="incidents the requests go round")
    parser.add_argument("--webhook-senders", type=int, default=1, help="the simulator's --webhook-senders")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.clients < 1 or args.tickets < 1:
        parser.error("--requests, --clients and --tickets must be at least 1")
    result = measure(args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, phase in result["phases"].items():
            print(f"{name:<20} {phase['cpu_ms_per_request']:>6} CPU ms per request "
                  f"({phase['requests']} requests, {phase['failures']} failed, {phase['wall_s']} s)")
        print(f"deliveries delivered: {result['deliveries_delivered']}; "
              f"1-minute load at the end: {result['load_average_1m']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
