"""Scenario 6: a poison event, whose job fails on every attempt, among ordinary traffic.

The poison is a ticket the ITSM cannot serve: every read of its record answers 500 (a corrupt
record). Its job must go dead after the configured attempts, be visible in `/metrics`
(`xla_jobs{state="dead"}`), and `python app.py replay --dead` must queue it again (processed
once the record is readable). The other events must barely notice: the same amount of other
work is timed without and with the poison in the same test, and the ratio is asserted.
"""
from __future__ import annotations

import random
import re
import time

import requests

from tests.reliability.deployment import SN_INTEGRATION_USER, SimulatorSpec
from tests.reliability.effects import ServiceNowView
from tests.reliability.events import BurstSender, Delivery, plan_burst, servicenow_event_body
from tests.reliability.waiting import wait_for

SN = "snow"
MAX_ATTEMPTS = 4
EVENTS_PER_RUN = 120
SLOWDOWN_ALLOWED = 1.5


def dead_gauge(metrics_text: str) -> float:
    match = re.search(r'^xla_jobs\{kind="process_event",state="dead"\} (\S+)$', metrics_text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_poison_event_dies_visibly_is_replayable_and_barely_slows_the_rest(deployment_factory):
    deployment = deployment_factory(
        [SimulatorSpec(SN, "servicenow", args=("--per-hour", "0"))],
        config={"worker": {"concurrency": 2, "max_attempts": MAX_ATTEMPTS, "backoff_base_s": 0.2,
                           "backoff_cap_s": 1.0}},
        limits={"breaker_reset_s": 1.0})  # the poison alone trips the breaker; a health probe soon closes it
    serve = deployment.serve()
    deployment.worker("worker-1")
    sim = deployment.sims[SN]
    view = ServiceNowView(sim, deployment.agent(SN), SN_INTEGRATION_USER)
    *tickets, (poison_table, poison) = view.open_tickets()
    sender = BurstSender({SN: deployment.webhook_secret(SN)}, [deployment.url])
    rng = random.Random(6)

    def timed_run(name: str, extra: list[Delivery] = ()) -> float:
        """Seconds from sending EVENTS_PER_RUN ordinary events until all of them are done."""
        batch = plan_burst(SN, tickets, distinct=EVENTS_PER_RUN, duplicate_share=0.0, rng=rng, prefix=name)
        wanted = {delivery.delivery_id for delivery in batch}
        started = time.monotonic()
        sender.send_all([*extra, *batch], rng)
        wait_for(lambda: sum(1 for job in deployment.jobs("process_event") if job.state == "done"
                             and job.payload["event"]["delivery_id"] in wanted) == len(wanted),
                 timeout_s=300, what=f"the {name} events processed")
        return time.monotonic() - started

    # First sight of every ticket (scores written) before the timed runs, so each run does the same work.
    sender.send_all([Delivery(f"warm-up-{number}", SN, servicenow_event_body(record, table=table,
                                                                          changed_fields=["priority"],
                                                                          actor="beth.anglin"))
                     for number, (table, record) in enumerate(tickets)])
    deployment.wait_settled(timeout_s=120)
    before = timed_run("baseline-before")

    sim.admin("POST", "/faults", {"status": 500, "count": 1_000_000,
                                  "path_prefix": f"/api/now/table/{poison_table}/{poison['sys_id']}"})
    poison_event = Delivery("poison-1", SN, servicenow_event_body(poison, table=poison_table,
                                                                  changed_fields=["priority"], actor="beth.anglin"))
    with_poison = timed_run("beside-poison", [poison_event])
    wait_for(lambda: [job for job in deployment.jobs("process_event") if job.state == "dead"], timeout_s=120,
             what="the poison job going dead")
    after = timed_run("baseline-after")
    baseline = (before + after) / 2  # bracketing the poison run evens out the machine's other load
    ratio = with_poison / baseline
    print(f"\npoison figures: {EVENTS_PER_RUN} events in {before:.1f} s and {after:.1f} s alone, {with_poison:.1f} s "
          f"beside the poison (ratio {ratio:.2f})")

    [dead] = [job for job in deployment.jobs("process_event") if job.state == "dead"]
    assert dead.payload["event"]["delivery_id"] == "poison-1"
    # Waits for an open breaker grant an attempt back (max_attempts grows by one each), so the
    # job is dead after exactly its configured number of real failures.
    assert dead.attempts == dead.max_attempts >= MAX_ATTEMPTS, (dead.attempts, dead.max_attempts)
    assert "ServerError" in (dead.last_error or "")
    assert ratio < SLOWDOWN_ALLOWED, f"the poison slowed other events {ratio:.2f}x"
    metrics = requests.get(f"{serve.url}/metrics", timeout=10).text
    assert dead_gauge(metrics) == 1.0, "the dead job shows in xla_jobs{state=\"dead\"}"

    sim.admin("DELETE", "/faults")  # the record is repaired; an admin replays the dead job
    replayed = deployment.run("replay", "--dead")
    assert replayed.returncode == 0 and "re-queued 1 dead job(s)" in replayed.stdout, replayed.stdout + replayed.stderr
    deployment.wait_settled(timeout_s=60)
    [job] = [job for job in deployment.jobs("process_event") if job.payload["event"]["delivery_id"] == "poison-1"]
    assert job.state == "done", (job.state, job.last_error)
    assert view.record(poison_table, poison["sys_id"], "u_xla_score")["u_xla_score"] != ""
    assert dead_gauge(requests.get(f"{serve.url}/metrics", timeout=10).text) == 0.0
