"""Scenario 5: a storm of 429 answers with Retry-After, and a hard limit on calls.

Each scenario runs with two worker loops in one `app.py worker` process, and again with two
worker processes of one loop each (the wait then travels through the database).

- Retry-After honoured: while a backlog of events is worked off by two worker loops, the
  simulator answers a run of calls with 429 and `Retry-After`. From the simulator's journal
  timestamps, no call of ours may arrive at the simulator before the wait it asked for has
  passed, whichever loop or process made the refused call; and every event is still processed once.
- No more calls than the limit: the simulator allows only so many calls in its hourly window.
  Once refused (Retry-After reaches to the end of the hour, far beyond a call's timeout), the
  service must stop calling: the refused calls are only those already under way, and the waiting
  jobs are rescheduled past the window, not dead.
"""
from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from storage.clock import as_utc
from storage.models import Job
from tests.reliability.deployment import SN_INTEGRATION_USER, SimulatorSpec
from tests.reliability.effects import ServiceNowView, calls_by
from tests.reliability.events import BurstSender, plan_burst
from tests.reliability.waiting import wait_for

SN = "snow"
LOOPS = 2   # worker loops in all, whatever the layout
RETRY_AFTER_S = 1
LAYOUTS = {"one-process": 1, "two-processes": 2}   # name: worker processes sharing the LOOPS
# How long the other process may still call after a refusal: the refused process's write of the
# pause (a SQLite write transaction, which may queue behind the inbox and job completions) and a
# call the other process had under way. A process ignoring the shared pause calls all through
# the window (18 calls in six one-second windows in a run without it).
SHARED_PAUSE_ALLOWANCE_S = 0.25


@pytest.fixture(params=list(LAYOUTS), ids=list(LAYOUTS))
def processes(request) -> int:
    return LAYOUTS[request.param]


def start(deployment_factory, processes: int):
    deployment = deployment_factory([SimulatorSpec(SN, "servicenow", args=("--per-hour", "0"))],
                                    config={"worker": {"concurrency": LOOPS // processes}})
    deployment.serve()
    view = ServiceNowView(deployment.sims[SN], deployment.agent(SN), SN_INTEGRATION_USER)
    return deployment, view


def start_workers(deployment, processes: int) -> None:
    for number in range(1, processes + 1):
        deployment.worker(f"worker-{number}")


def send_backlog(deployment, view, count: int) -> BurstSender:
    deliveries = plan_burst(SN, view.open_tickets(), distinct=count, duplicate_share=0.0, rng=random.Random(5),
                            prefix="storm")
    sender = BurstSender({SN: deployment.webhook_secret(SN)}, [deployment.url])
    sender.send_all(deliveries)
    assert sender.refused() == set()
    return sender


def test_retry_after_is_honoured_by_every_worker_loop(deployment_factory, processes):
    deployment, view = start(deployment_factory, processes)
    sim = deployment.sims[SN]
    send_backlog(deployment, view, 24)
    # Only writes are refused, so the other loop, reading, is the one that must hold back.
    sim.admin("POST", "/faults", {"status": 429, "retry_after": RETRY_AFTER_S, "count": 6, "method": "PATCH"})
    start_workers(deployment, processes)
    deployment.wait_settled(timeout_s=120)

    calls = sorted(calls_by(view.journal(), SN_INTEGRATION_USER), key=lambda entry: entry["at"])
    refusals = [entry for entry in calls if entry["status"] == 429]
    inside = {refusal["id"]: [call for call in calls if refusal["at"] < call["at"] < refusal["at"] + RETRY_AFTER_S]
              for refusal in refusals}
    print(f"\n429 storm figures ({processes} worker process(es)): calls {len(calls)}, refused {len(refusals)}, "
          f"calls inside a Retry-After window {sum(map(len, inside.values()))}")
    assert len(refusals) == 6
    if processes == 1:
        # The journal stamps a call when it has been answered, so a call another loop had already
        # sent when the 429 came back may show up inside the window: one per other loop, at most.
        crowded = {refusal: [(c["method"], c["path"]) for c in seen] for refusal, seen in inside.items()
                   if len(seen) > LOOPS - 1}
    else:
        # Another process learns the wait from the database: until the refused process has
        # committed it, that process's calls still go out. Past that allowance, none may arrive.
        crowded = {refusal: [(c["method"], c["path"], round(c["at"] - at, 3)) for c in seen
                             if c["at"] > at + SHARED_PAUSE_ALLOWANCE_S]
                   for refusal, seen in inside.items()
                   for at in [next(r["at"] for r in refusals if r["id"] == refusal)]}
        crowded = {refusal: seen for refusal, seen in crowded.items() if seen}
    assert crowded == {}, f"calls sent while the Retry-After was running: {crowded}"
    assert not [key for key in deployment.job_states() if key[1] == "dead"]
    assert view.repeated_appends() == {} and view.identical_value_writes() == []


def test_no_more_calls_than_the_limit_once_refused(deployment_factory, processes):
    limit = 30
    deployment, view = start(deployment_factory, processes)
    sim = deployment.sims[SN]
    send_backlog(deployment, view, 80)
    sim.admin("PUT", "/limits", {"per_hour": limit})
    start_workers(deployment, processes)

    def waiting_jobs() -> list[Job]:
        with deployment.sessions() as session:
            return list(session.scalars(select(Job).where(Job.state == "queued")))

    refused = wait_for(lambda: [e for e in calls_by(view.journal(), SN_INTEGRATION_USER) if e["status"] == 429],
                       timeout_s=120, what="the simulator refusing calls past its limit")
    reset_at = max(refusal["at"] for refusal in refused)  # the window's end is after this, by Retry-After
    def put_off(job: Job, unfinished: list[Job]) -> bool:
        """Rescheduled past the window, or held behind an older unfinished job of its ticket."""
        return as_utc(job.next_run_at).timestamp() > reset_at or any(
            other.id < job.id and (other.connection_id, other.ticket_key) == (job.connection_id, job.ticket_key)
            for other in unfinished)

    def all_put_off() -> bool:
        unfinished = [job for job in deployment.jobs() if job.state in ("queued", "leased")]
        return all(job.state == "queued" and put_off(job, unfinished) for job in unfinished)

    wait_for(all_put_off, timeout_s=120, what="every unfinished job rescheduled past the rate-limit window")
    calls = calls_by(view.journal(), SN_INTEGRATION_USER)
    accepted = [entry for entry in calls if entry["status"] != 429]
    refused = [entry for entry in calls if entry["status"] == 429]
    print(f"\nhard limit figures ({processes} worker process(es)): limit {limit}, accepted {len(accepted)}, "
          f"refused {len(refused)}, waiting {len(waiting_jobs())}")
    assert len(accepted) <= limit
    assert len(refused) <= LOOPS, "only calls already under way when the limit was reached were refused"
    assert not [key for key in deployment.job_states() if key[1] == "dead"]
