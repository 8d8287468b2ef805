"""Scenario 4: the ITSM answers 503 to every call for a while, then comes back.

Tickets keep moving during the outage (the simulator's admin side still plays the scenario and
sends its webhooks), so events wait while every call fails. The connection's circuit breaker
must open and the work wait, without any job running out of attempts, however many probe
cycles the outage lasts: here a few waiting jobs and four times as many refused calls as a job
has attempts, so the same jobs keep being the ones that probe. Once the faults are cleared every effect is delivered, once,
and only after the recovery.
"""
from __future__ import annotations

import time

from tests.reliability.deployment import SN_INTEGRATION_USER, SimulatorSpec
from tests.reliability.effects import ServiceNowView
from tests.reliability.waiting import wait_for

SN = "snow"
MAX_ATTEMPTS = 3
REFUSED_CALLS = 4 * MAX_ATTEMPTS   # the outage lasts until this many calls were refused: many probes


def test_itsm_down_then_back_delivers_every_effect_once_after_recovery(deployment_factory):
    deployment = deployment_factory(
        [SimulatorSpec(SN, "servicenow", args=("--per-hour", "0"))],
        config={"worker": {"concurrency": 2, "max_attempts": MAX_ATTEMPTS}},
        limits={"breaker_failures": 2, "breaker_reset_s": 0.3, "max_retries": 0})
    deployment.serve()
    worker = deployment.worker("worker-1")
    sim = deployment.sims[SN]
    view = ServiceNowView(sim, deployment.agent(SN), SN_INTEGRATION_USER)

    sim.admin("POST", "/faults", {"status": 503, "count": 1_000_000})
    steps = [sim.admin("POST", "/scenario/advance") for _ in range(3)]
    moved = {step["sys_id"]: step["table"] for step in steps if step.get("sys_id")}

    def faulted_calls() -> list[dict]:
        return [e for e in sim.journal() if e.get("fault") is not None]

    wait_for(lambda: worker.logged("job.waiting_for_breaker"), timeout_s=60, what="the breaker opening")
    def dead_jobs() -> list:
        return [key for key in deployment.job_states() if key[1] == "dead"]

    wait_for(lambda: len(faulted_calls()) >= REFUSED_CALLS or dead_jobs(), timeout_s=120,
             what=f"{REFUSED_CALLS} calls refused during the outage")
    assert dead_jobs() == [], f"a job died during the outage: {dict(deployment.job_states())}"
    refused = len(faulted_calls())
    sim.admin("DELETE", "/faults")
    recovered_at = time.time()

    deployment.wait_settled(timeout_s=120)
    states = deployment.job_states()
    print(f"\noutage figures: events {sum(n for (k, _), n in states.items() if k == 'process_event')}, "
          f"calls refused during the outage {refused}, jobs {dict(states)}")
    assert not [key for key in states if key[1] == "dead"], dict(states)
    journal = view.journal()
    writes = view.field_writes(journal)
    assert writes and all(write.at >= recovered_at for write in writes), "every write landed after the recovery"
    assert view.repeated_appends() == {}
    assert view.identical_value_writes(journal) == []
    for sys_id, table in moved.items():
        assert view.record(table, sys_id, "u_xla_score")["u_xla_score"] != "", f"{table} {sys_id} was scored"
