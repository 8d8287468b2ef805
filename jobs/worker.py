"""The worker process: claim a job, run its handler, record the outcome; repeat.

Connector errors decide what happens next: retryable ones (rate limited, 5xx, timeout, host
unreachable) reschedule with backoff and at least the wait the ITSM asked for; an open circuit
breaker reschedules without spending an attempt; anything else makes the job dead at once (an
admin must act: wrong credentials, a field not on the screen), visible in logs and metrics.
"""
from __future__ import annotations

import logging
import threading
import time

from connectors.errors import CircuitOpen, ConnectorError
from connectors.http import guard_writes
from jobs.queue import (ClaimedJob, LeaseLost, claim_next_job, complete_job, default_worker_id, extend_lease,
                        fail_job, release_job)
from jobs.process import start_process
from jobs.registry import handler_for
from ops.metrics import JOB_SECONDS, JOBS_FINISHED
from runtime import Runtime

log = logging.getLogger("xla.worker")


def run_worker(settings, *, once: bool = False, worker_id: str | None = None,
               stop: threading.Event | None = None) -> int:
    """Run `settings.worker.concurrency` loops until SIGTERM/SIGINT (or, with `once`, an empty queue)."""
    runtime, stop = start_process(settings, stop)
    name = worker_id or default_worker_id()
    loops = [threading.Thread(target=work_loop, args=(runtime, f"{name}/{i}", stop, once), daemon=True)
             for i in range(settings.worker.concurrency)]
    log.info("worker.started", extra={"worker": name, "loops": len(loops)})
    for loop in loops:
        loop.start()
    for loop in loops:
        loop.join()
    runtime.close()
    log.info("worker.stopped", extra={"worker": name})
    return 0


def work_loop(runtime: Runtime, worker_id: str, stop: threading.Event, once: bool = False) -> None:
    settings = runtime.settings.worker
    busy = False
    while not stop.is_set():
        # After a job, the next claim goes straight to the write transaction (work tends to come
        # in runs); an idle loop first looks without the write lock.
        job = claim_next_job(runtime.sessions, worker_id, settings.lease_s, peek=not busy)
        busy = job is not None
        if job is None:
            if once:
                return
            stop.wait(settings.poll_interval_s)
            continue
        # A job's completion may lease its ticket's next urgent job (the write it planned): that
        # one runs at once, without a claim of its own.
        while job is not None:
            _, next_job = run_job(runtime, job, continue_as=worker_id)
            if next_job is not None and stop.is_set():
                release_job(runtime.sessions, next_job)
                next_job = None
            job = next_job


def run_job(runtime: Runtime, job: ClaimedJob, *, continue_as: str | None = None) -> tuple[str, ClaimedJob | None]:
    """Run one claimed job to an outcome. Returns the outcome (or the new state after a failure)
    and, with `continue_as` (a worker id), the ticket's next urgent job that the completion leased
    to that worker, or None: the caller must run or release it."""
    settings = runtime.settings.worker
    context = {"job": job.id, "kind": job.kind, "attempt": job.attempt, "connection": job.connection_id,
               "ticket": job.ticket_key}
    started = time.monotonic()
    try:
        # A worker paused past its lease (stopped, swapped out) must not write once it wakes up:
        # every write to an ITSM first renews the lease, which fails once another worker took over.
        with guard_writes(LeaseCheck(runtime, job)):
            result = handler_for(job.kind)(runtime, job)
        next_job = complete_job(runtime.sessions, job, result.outcome, result.apply,
                                follow_up=(continue_as, settings.lease_s) if continue_as else None)
        JOBS_FINISHED.labels(job.kind, result.outcome).inc()
        log.info("job.done", extra={**context, "outcome": result.outcome})
        return result.outcome, next_job
    except LeaseLost:
        JOBS_FINISHED.labels(job.kind, "lease_lost").inc()
        log.warning("job.lease_lost", extra=context)
        return "lease_lost", None
    except CircuitOpen as exc:
        state = _fail(runtime, job, exc, retryable=True, count_attempt=False)
        log.info("job.waiting_for_breaker", extra={**context, "retry_after_s": exc.retry_after_s})
        return state, None
    except ConnectorError as exc:
        state = _fail(runtime, job, exc, retryable=exc.retryable)
        level = logging.WARNING if state == "queued" else logging.ERROR
        log.log(level, "job.failed" if state == "queued" else "job.dead",
                extra={**context, "error": type(exc).__name__, "detail": str(exc),
                       "retry_after_s": exc.retry_after_s})
        return state, None
    except Exception as exc:  # a bug or a poison payload: retried, then dead and replayable
        state = _fail(runtime, job, exc, retryable=True)
        log.exception("job.crashed" if state == "queued" else "job.dead", extra=context)
        return state, None
    finally:
        JOB_SECONDS.labels(job.kind).observe(time.monotonic() - started)


class LeaseCheck:
    """The check run before every ITSM write of a job: the worker must still hold the job's lease.

    While more than half the lease is surely left by this process's monotonic clock (which keeps
    running while the process is stopped), no one can have taken the job over, and the write goes
    ahead without touching the database. Past that point the lease is renewed in the database,
    which raises LeaseLost if another worker took the job meanwhile. The half left over covers
    clock differences between hosts (leases end by the wall clock of whoever reaps them).
    """

    def __init__(self, runtime: Runtime, job: ClaimedJob):
        self._runtime = runtime
        self._job = job
        self._lease_s = runtime.settings.worker.lease_s
        self._held_since = job.claimed_at

    def __call__(self) -> None:
        if time.monotonic() - self._held_since < self._lease_s / 2:
            return
        renewing_at = time.monotonic()
        extend_lease(self._runtime.sessions, self._job, self._lease_s)
        self._held_since = renewing_at


def _fail(runtime: Runtime, job: ClaimedJob, exc: Exception, *, retryable: bool, count_attempt: bool = True) -> str:
    settings = runtime.settings.worker
    try:
        state = fail_job(runtime.sessions, job, f"{type(exc).__name__}: {exc}", retryable=retryable,
                         retry_after_s=getattr(exc, "retry_after_s", None),
                         backoff_base_s=settings.backoff_base_s, backoff_cap_s=settings.backoff_cap_s,
                         count_attempt=count_attempt)
    except LeaseLost:
        return "lease_lost"
    JOBS_FINISHED.labels(job.kind, "dead" if state == "dead" else "retry").inc()
    return state
