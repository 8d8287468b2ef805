"""Scenario 8: the service's own writes fire webhooks; they must never feed a loop.

Each cycle is one write-back round trip through the simulator: an agent changes a ticket (its
urgency, so the ticket's priority and therefore its experience score really change), the
simulator sends the signed event, the service reads, scores and writes the new score, the
simulator sends the event of that write, and the service must drop it. The cycles run in rounds
over several tickets, each round settling before the next, and the writes per ticket exceed the
hourly backstop, which must then hold the extra writes back, log `loop_guard.write_cap` and count
them in `xla_loop_guard_total{reason="write_cap"}`.

Asserted: every write the service made was planned from an agent's change (never from its own
write's event), every own-write event was dropped at the webhook endpoint (answered 200, never
queued, logged and counted in `xla_loop_guard_total{reason="own_actor"}`), the deployment settles
after every round (a loop would never settle), and writes and backstop hits add up exactly.
"""
from __future__ import annotations

import re

import pytest
import requests

from tests.reliability.deployment import SN_INTEGRATION_USER, SimulatorSpec
from tests.reliability.effects import ServiceNowView

SN = "snow"
# An admin's scoring choice that makes priority decide the resolution-time indicator: P2 tickets
# are long past their target, P4 tickets well within it. Toggling urgency (impact 2: urgency 1
# is P2, urgency 3 is P4) then changes the score on every cycle.
PRIORITY_DECIDES = {"indicators": {"resolution_time": {"target_hours": {
    "incident": {"1": 0.01, "2": 0.01, "3": 100000.0, "4": 100000.0, "5": 100000.0}}}}}


def loop_guard_count(metrics_text: str, reason: str) -> float:
    match = re.search(rf'^xla_loop_guard_total{{connection="{SN}",reason="{reason}"}} (\S+)$', metrics_text,
                      re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def run_write_loop(deployment_factory, *, tickets: int, rounds: int, cap: int) -> dict:
    deployment = deployment_factory(
        [SimulatorSpec(SN, "servicenow", args=("--per-hour", "0", "--in-progress", str(3 * tickets + 10)))],
        config={"worker": {"writes_per_ticket_per_hour": cap}, "scoring": PRIORITY_DECIDES,
                "surveys": {"sampling": 0.0}})
    serve = deployment.serve()
    workers = [deployment.worker("worker-1"), deployment.worker("worker-2")]
    sim = deployment.sims[SN]
    view = ServiceNowView(sim, deployment.agent(SN), SN_INTEGRATION_USER)
    chosen = [record for table, record in view.open_tickets()
              if table == "incident" and record.get("major_incident_state") != "accepted"][:tickets]
    assert len(chosen) == tickets

    def set_urgency(record: dict, urgency: int) -> None:
        answer = requests.patch(f"{sim.url}/api/now/table/incident/{record['sys_id']}", auth=deployment.agent(SN),
                                json={"impact": "2", "urgency": str(urgency)}, timeout=30)
        answer.raise_for_status()

    for cycle in range(rounds + 1):          # the first change is the service's first sight
        for record in chosen:
            set_urgency(record, 1 if cycle % 2 == 0 else 3)
        deployment.wait_settled(timeout_s=120)

    jobs = deployment.jobs()
    own_deliveries = [delivery for delivery in sim.deliveries()
                      if delivery["event"].get("sys_updated_by") == SN_INTEGRATION_USER]
    own_events = [job for job in jobs if job.kind == "process_event"
                  and job.payload["event"].get("actor") == SN_INTEGRATION_USER]
    agent_events = [job for job in jobs if job.kind == "process_event"
                    and job.payload["event"].get("actor") == "admin"]
    writes = [job for job in jobs if job.kind == "write_back"]
    patches = [e for e in view.journal() if e["method"] == "PATCH" and e.get("user") == SN_INTEGRATION_USER
               and e["status"] == 200]
    capped_logged = sum(len(worker.logged("loop_guard.write_cap")) for worker in workers)
    metrics_text = requests.get(f"{serve.url}/metrics", timeout=10).text
    capped_counted = loop_guard_count(metrics_text, "write_cap")
    own_logged = sum(len(process.logged("loop_guard.own_actor")) for process in (serve, *workers))
    own_counted = loop_guard_count(metrics_text, "own_actor")
    changes = tickets * (rounds + 1)
    figures = {"tickets": tickets, "cycles": tickets * rounds, "agent_changes": changes,
               "agent_events": len(agent_events), "writes": len(writes), "patches": len(patches),
               "own_write_events": len(own_deliveries), "own_write_jobs": len(own_events),
               "own_actor_counted": own_counted, "write_cap_logged": capped_logged,
               "write_cap_counted": capped_counted}
    print(f"\nwrite loop figures: {figures}")

    assert len(agent_events) == changes, "every agent change arrived and was processed"
    assert len(own_deliveries) == len(patches), "each of our writes fired one event"
    # The endpoint knows the integration user from the configuration: each such event is answered
    # 200 without an inbox row or a job, and counted and logged as the worker's loop guard does.
    assert {delivery["http_status"] for delivery in own_deliveries} == {200}
    assert own_events == [], "no event of our own writes was queued"
    assert own_logged == own_counted == len(patches), "every own-write event logged and counted as dropped"
    assert len(writes) == len(patches) == tickets * cap, "every write came from an agent's change, up to the cap"
    assert all(job.state == "done" and job.outcome == "written" for job in writes)
    # Past the cap, a change back to the value the ticket still holds needs no write at all; every
    # other decision with writes was held back, and each of those is logged and counted.
    held_back = sum(1 for job in agent_events if job.outcome == "decided") - len(writes)
    assert held_back > 0, "the scenario reached the hourly backstop"
    assert capped_logged == capped_counted == held_back, "every held-back write logged and counted"
    assert view.identical_value_writes() == [] and view.repeated_appends() == {}
    return figures


def test_own_writes_cause_no_loop_and_the_hourly_backstop_holds(deployment_factory):
    run_write_loop(deployment_factory, tickets=5, rounds=10, cap=6)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_thousand_write_back_round_trips_cause_no_loop(deployment_factory):
    run_write_loop(deployment_factory, tickets=25, rounds=40, cap=40)
