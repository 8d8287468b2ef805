"""Scenario 7: a worker process stopped (SIGSTOP) mid-job, past its lease.

The scheduler's reaper returns the lease, a second worker process takes the job over and
finishes it; then the first worker is continued (SIGCONT). The ticket must show exactly one
effect, and the stale worker's completion must be refused: `job.lease_lost` in its log.

Two places to be stopped are tested, both held open by a simulator latency fault:
- with the write in flight (the PATCH has reached the ITSM): the new owner must see that the
  write landed and not repeat it;
- between the write's check for an earlier attempt and the write itself (a retry, whose check
  read found nothing): the stale worker must not send its write once continued.
"""
from __future__ import annotations

import signal

from tests.reliability.deployment import SN_INTEGRATION_USER, SimulatorSpec
from tests.reliability.effects import ServiceNowView
from tests.reliability.events import BurstSender, Delivery, servicenow_event_body
from tests.reliability.waiting import wait_for

SN = "snow"
JOURNAL_PATH = "/api/now/table/sys_journal_field"


def start(deployment_factory):
    deployment = deployment_factory(
        [SimulatorSpec(SN, "servicenow", args=("--per-hour", "0"))],
        config={"worker": {"concurrency": 1, "lease_s": 2.0, "backoff_base_s": 0.05, "backoff_cap_s": 0.1}})
    deployment.serve()
    deployment.scheduler()
    view = ServiceNowView(deployment.sims[SN], deployment.agent(SN), SN_INTEGRATION_USER)
    return deployment, view


def send_event_for_new_ticket(deployment, view) -> dict:
    """Post one signed event about a ticket the service has never seen (its write adds a note)."""
    table, record = next((t, r) for t, r in view.open_tickets() if r["state"] == "1")
    body = servicenow_event_body(record, table=table, changed_fields=["assigned_to"], actor="beth.anglin")
    sender = BurstSender({SN: deployment.webhook_secret(SN)}, [deployment.url], tries=1)
    assert sender.post(Delivery("stopped-worker-1", SN, body), deployment.url) == 202
    return record


def write_leased_by(deployment, worker: str, attempt: int):
    return next((job for job in deployment.jobs("write_back")
                 if job.state == "leased" and job.attempts == attempt and (job.leased_by or "").startswith(worker)),
                None)


def our_calls(view, method: str, path_part: str) -> list[dict]:
    """The integration user's calls, and the calls a fault answered (before any login was checked)."""
    return [e for e in view.journal() if e["method"] == method and path_part in e["path"]
            and (e.get("user") == SN_INTEGRATION_USER or e.get("fault") is not None)]


def wait_until_arrived(sim, method: str) -> None:
    """Wait until the request the latency fault holds has reached the simulator (the fault is taken
    on arrival): the worker is then inside that call, waiting for its answer."""
    wait_for(lambda: not any(f["method"] == method and f["latency_ms"] for f in sim.admin("GET", "/faults")),
             timeout_s=60, what=f"the worker's {method} reaching the simulator")


def take_over_and_continue(deployment, view, stale, record) -> None:
    """Start a second worker, wait for it to finish the write, continue the stale worker and wait
    until it has tried to complete; then exactly one note and one successful write must exist."""
    deployment.worker("fresh")
    wait_for(lambda: any(job.state == "done" for job in deployment.jobs("write_back")), timeout_s=60,
             what="the second worker finishing the write after the lease expired",
             describe=lambda: [(j.state, j.attempts, j.leased_by) for j in deployment.jobs("write_back")])
    stale.signal(signal.SIGCONT)
    wait_for(lambda: stale.logged("job.lease_lost"), timeout_s=30,
             what="the continued worker being refused its completion (job.lease_lost)")
    deployment.wait_settled(timeout_s=60)

    [write] = deployment.jobs("write_back")
    assert write.state == "done" and not write.leased_by.startswith("stale"), (write.state, write.leased_by)
    notes = {marker: n for (ticket, marker), n in view.notes_per_step().items() if ticket == record["sys_id"]}
    assert list(notes.values()) == [1], f"exactly one context note: {notes}"
    landed = [e for e in our_calls(view, "PATCH", record["sys_id"]) if e["status"] == 200]
    assert len(landed) == 1, f"exactly one write reached the ticket, not {len(landed)}"
    assert view.identical_value_writes() == []


def test_worker_stopped_with_its_write_in_flight(deployment_factory):
    deployment, view = start(deployment_factory)
    stale = deployment.worker("stale")
    deployment.sims[SN].admin("POST", "/faults", {"latency_ms": 2500, "method": "PATCH", "count": 1})
    record = send_event_for_new_ticket(deployment, view)

    wait_until_arrived(deployment.sims[SN], "PATCH")
    assert write_leased_by(deployment, "stale", 1), "the first attempt of the write is the stopped worker's"
    stale.signal(signal.SIGSTOP)
    wait_for(lambda: our_calls(view, "PATCH", record["sys_id"]), timeout_s=30,
             what="the stopped worker's PATCH landing at the ITSM")
    take_over_and_continue(deployment, view, stale, record)


def test_worker_stopped_between_its_check_and_its_write(deployment_factory):
    deployment, view = start(deployment_factory)
    stale = deployment.worker("stale")
    sim = deployment.sims[SN]
    sim.admin("POST", "/faults", {"status": 503, "method": "PATCH", "count": 1})  # first attempt fails
    sim.admin("POST", "/faults", {"latency_ms": 2500, "method": "GET", "path_prefix": JOURNAL_PATH, "count": 1})
    record = send_event_for_new_ticket(deployment, view)

    wait_until_arrived(sim, "GET")
    assert write_leased_by(deployment, "stale", 2), "the retry of the write is the stopped worker's"
    stale.signal(signal.SIGSTOP)
    wait_for(lambda: our_calls(view, "GET", JOURNAL_PATH), timeout_s=30,
             what="the stopped worker's check read answered (no earlier write found)")
    assert [e["status"] for e in our_calls(view, "PATCH", record["sys_id"])] == [503]
    take_over_and_continue(deployment, view, stale, record)
