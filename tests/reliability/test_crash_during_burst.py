"""Scenario 1: workers killed with SIGKILL at random during a burst of signed events.

A test client posts signed ServiceNow events, a fifth of them repeated deliveries, to the real
`serve` endpoint, while the simulator's scenario moves tickets (its own signed webhooks arrive
too) and workers are killed mid-job and replaced. Afterwards:

- every delivery that was answered 202 has its inbox row and a job that ended done or dead
  (none lost), and none ended dead;
- no append happened twice (one context note per ticket and step, one survey link per survey)
  and no field write set a value the ticket already held from us;
- every ticket carries the score and band of the service's last decision (no effect lost).
"""
from __future__ import annotations

import random
import threading
import time

import pytest
from sqlalchemy import select

from storage.models import InboxEvent, Job, TicketState
from tests.reliability.chaos import WorkerKiller
from tests.reliability.deployment import SN_INTEGRATION_USER, SimulatorSpec
from tests.reliability.effects import ServiceNowView
from tests.reliability.events import BurstSender, plan_burst

SN = "snow"


def run_crash_burst(deployment_factory, *, distinct: int, kills: int, workers: int, seed: int) -> dict:
    rng = random.Random(seed)
    deployment = deployment_factory(
        [SimulatorSpec(SN, "servicenow", args=("--per-hour", "0", "--in-progress", "40", "--tickets", "40",
                                               "--webhook-retry-delays", "0.2,0.5,1,2,4"))],
        config={"worker": {"concurrency": 2, "lease_s": 3.0}})
    deployment.serve()
    deployment.scheduler()
    view = ServiceNowView(deployment.sims[SN], deployment.agent(SN), SN_INTEGRATION_USER)
    deliveries = plan_burst(SN, view.open_tickets(), distinct=distinct, duplicate_share=0.2, rng=rng)
    sender = BurstSender({SN: deployment.webhook_secret(SN)}, [deployment.url])

    started = time.monotonic()
    killer = WorkerKiller(deployment, workers=workers, kills=kills, rng=rng,
                          progress_step=max(10, distinct // (kills + 1))).start()
    stop_scenario = threading.Event()
    scenario_steps = []

    def move_tickets():  # ticket changes by agents and callers during the burst
        while not stop_scenario.is_set() and len(scenario_steps) < 120:
            step = deployment.sims[SN].admin("POST", "/scenario/advance")
            if step.get("done"):
                return
            scenario_steps.append(step)
            stop_scenario.wait(0.05)  # pacing of the people using the ITSM

    mover = threading.Thread(target=move_tickets, daemon=True)
    mover.start()
    sender.send_all(deliveries, rng)
    stop_scenario.set()
    mover.join(30)
    killer.finish()
    deployment.wait_settled(timeout_s=max(180.0, distinct * 0.1))
    duration = time.monotonic() - started

    with deployment.sessions() as session:
        inbox = {row.delivery_id for row in session.scalars(select(InboxEvent))}
        events = {job.payload["event"]["delivery_id"]: job for job in session.scalars(
            select(Job).where(Job.kind == "process_event"))}
        decided = list(session.scalars(select(TicketState)))
    sim_acknowledged = {d["delivery_id"] for d in deployment.sims[SN].deliveries() if d.get("http_status") == 202}
    acknowledged = sender.acknowledged() | sim_acknowledged
    lost = sorted(d for d in acknowledged if d not in inbox or events.get(d) is None
                  or events[d].state not in ("done", "dead"))
    dead = [job for job in deployment.jobs() if job.state == "dead"]
    journal = view.journal()
    repeated_appends = view.repeated_appends()
    identical_writes = view.identical_value_writes(journal)
    stale = []
    for row in decided:
        table, sys_id = row.ticket_key.split(":", 1)
        held = view.record(table, sys_id, "u_xla_score,u_xla_band")
        if held["u_xla_score"] != str(round(row.score)) or held["u_xla_band"] != row.band:
            stale.append((row.number, held, round(row.score), row.band))
    figures = {
        "sent": sender.sent, "distinct": distinct, "repeats": len(deliveries) - distinct,
        "acknowledged": len(acknowledged), "refused": len(sender.refused()),
        "scenario_steps": len(scenario_steps), "kills": killer.kills, "interrupted_jobs": killer.interrupted_jobs,
        "lost": len(lost), "dead": len(dead), "duplicate_appends": len(repeated_appends),
        "identical_value_writes": len(identical_writes), "stale_tickets": len(stale),
        "notes": sum(view.notes_per_step().values()), "field_writes": len(view.field_writes(journal)),
        "jobs": len(deployment.jobs()), "duration_s": round(duration, 1),
    }
    print(f"\ncrash burst figures: {figures}")
    assert not killer.errors, killer.errors
    assert killer.kills == kills and killer.interrupted_jobs >= kills, figures
    assert sender.refused() == set(), "the endpoint acknowledged every delivery while workers died"
    assert lost == [], f"acknowledged deliveries without a finished job: {lost[:10]}"
    assert dead == [], [(job.kind, job.last_error) for job in dead[:5]]
    assert repeated_appends == {}, repeated_appends
    assert identical_writes == [], identical_writes[:10]
    assert stale == [], f"tickets not holding the service's last decision: {stale[:5]}"
    return figures


def test_workers_killed_during_a_burst_lose_nothing_and_repeat_nothing(deployment_factory):
    run_crash_burst(deployment_factory, distinct=800, kills=4, workers=2, seed=11)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_full_size_burst_of_ten_thousand_events_with_kills(deployment_factory):
    run_crash_burst(deployment_factory, distinct=8_000, kills=30, workers=2, seed=12)
