"""Scenario 9: several replicas sharing one PostgreSQL database.

Two `python app.py serve` (gunicorn) processes on different ports take signed events, a fifth of
them repeats that often reach the other endpoint than the original; two `python app.py worker`
processes claim jobs (`FOR UPDATE SKIP LOCKED`); two `python app.py scheduler` processes compete
for the leader lock (a PostgreSQL advisory lock). During the burst the leading scheduler is
killed with SIGKILL, then at once a worker holding a lease: the other scheduler must take the
lead and its reaper return the dead worker's leases.

Asserted: exactly one scheduler leads at any time and the standby takes over; every job is
finished by exactly one worker (`job.done` at most once per job across all worker logs, missing
only for a job the killed worker finished just before dying; a second attempt only for jobs the
killed worker held); every acknowledged delivery has one inbox row and
a finished job; no append twice, no identical-value write, no job dead.
"""
from __future__ import annotations

import random
import threading
from collections import Counter

import pytest
from sqlalchemy import select

from storage.models import InboxEvent, Job
from tests.reliability.deployment import SN_INTEGRATION_USER, SimulatorSpec, free_port
from tests.reliability.effects import ServiceNowView
from tests.reliability.events import BurstSender, plan_burst
from tests.reliability.waiting import wait_for

SN = "snow"
DISTINCT = 240


def leaders(schedulers) -> list:
    return [s for s in schedulers if s.logged("scheduler.leader")]


@pytest.mark.postgres
def test_two_of_everything_on_postgresql_claim_once_write_once_and_one_scheduler_leads(deployment_factory,
                                                                                         postgres_url):
    rng = random.Random(9)
    deployment = deployment_factory(
        [SimulatorSpec(SN, "servicenow", args=("--per-hour", "0", "--in-progress", "30"))],
        database_url=postgres_url, config={"worker": {"concurrency": 2, "lease_s": 3.0}})
    serve_a = deployment.serve("serve-a", workers=2)
    serve_b = deployment.serve("serve-b", port=free_port(), workers=2)
    schedulers = [deployment.scheduler("scheduler-a"), deployment.scheduler("scheduler-b")]
    wait_for(lambda: len(leaders(schedulers)) == 1 and all(s.logged("scheduler.standby") or s.logged(
        "scheduler.leader") for s in schedulers), timeout_s=60, what="one scheduler leading, the other standing by")
    [leader] = leaders(schedulers)
    [standby] = [s for s in schedulers if s is not leader]
    workers = [deployment.worker("worker-a"), deployment.worker("worker-b")]

    view = ServiceNowView(deployment.sims[SN], deployment.agent(SN), SN_INTEGRATION_USER)
    deliveries = plan_burst(SN, view.open_tickets(), distinct=DISTINCT, duplicate_share=0.2, rng=rng)
    sender = BurstSender({SN: deployment.webhook_secret(SN)}, [serve_a.url, serve_b.url])
    sending = threading.Thread(target=sender.send_all, args=(deliveries, rng))
    sending.start()
    steps = [deployment.sims[SN].admin("POST", "/scenario/advance") for _ in range(30)]

    def done_jobs() -> int:
        return sum(n for (_, state), n in deployment.job_states().items() if state == "done")

    wait_for(lambda: done_jobs() >= DISTINCT // 4, timeout_s=120, what="a quarter of the burst processed")
    leader.kill()

    def holder():
        held = Counter((job.leased_by or "").split("/")[0] for job in deployment.jobs() if job.state == "leased")
        return next((w for w in workers if held[w.name]), None)

    victim = wait_for(holder, timeout_s=60, what="a worker holding a lease")
    victim.kill()
    # Its leases stay until they expire and the reaper returns them: these are the jobs it held.
    interrupted = {job.id for job in deployment.jobs() if job.state == "leased"
                   and (job.leased_by or "").startswith(victim.name + "/")}
    workers.append(deployment.worker("worker-c"))
    wait_for(lambda: standby.logged("scheduler.leader"), timeout_s=30, what="the standby scheduler taking the lead")
    sending.join(300)
    deployment.wait_settled(timeout_s=180)

    with deployment.sessions() as session:
        inbox = Counter(session.scalars(select(InboxEvent.delivery_id)))
        jobs = list(session.scalars(select(Job)))
    events = {job.payload["event"]["delivery_id"]: job for job in jobs if job.kind == "process_event"}
    sim_acknowledged = {d["delivery_id"] for d in deployment.sims[SN].deliveries() if d.get("http_status") == 202}
    acknowledged = sender.acknowledged() | sim_acknowledged
    lost = sorted(d for d in acknowledged if inbox[d] != 1 or events[d].state != "done")
    done_by = Counter(record["job"] for worker in workers for record in worker.logged("job.done"))
    claimed_twice = sorted(job.id for job in jobs if job.attempts > 1 and job.id not in interrupted)
    per_worker = {worker.name: len(worker.logged("job.done")) for worker in workers}
    figures = {"sent": sender.sent, "distinct": DISTINCT, "acknowledged": len(acknowledged),
               "scenario_steps": len(steps), "jobs": len(jobs), "done_by_worker": per_worker,
               "interrupted_by_kill": len(interrupted), "lost": len(lost),
               "reaped_by_new_leader": sum(r.get("requeued", 0) for r in standby.logged("reaper.returned_leases"))}
    print(f"\nreplica figures: {figures}")

    assert sender.refused() == set()
    assert lost == [], lost[:10]
    assert all(job.state == "done" for job in jobs), Counter((job.kind, job.state) for job in jobs)
    assert set(done_by.values()) == {1}, "no job finished twice"
    # A SIGKILL between a job's commit and its log line leaves it done but unlogged: only the
    # killed worker may have done that.
    unlogged = [(job.id, job.leased_by) for job in jobs if job.id not in done_by]
    assert all((leased_by or "").startswith(victim.name + "/") for _, leased_by in unlogged), unlogged
    assert claimed_twice == [], ("only the killed worker's jobs were claimed a second time",
                                 [(job.id, job.last_error) for job in jobs if job.id in claimed_twice])
    assert sum(1 for name in ("worker-a", "worker-b") if per_worker[name]) == 2, "both replicas did work"
    assert len(leaders(schedulers)) == 2 and not leader.alive(), "the standby led once the leader was gone"
    if interrupted:
        assert figures["reaped_by_new_leader"] >= 1, "the new leader's reaper returned the dead worker's leases"
    assert view.repeated_appends() == {}
    assert view.identical_value_writes() == []
