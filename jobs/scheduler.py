"""The scheduler process: periodic work, run by exactly one leader.

Every process started with `python app.py scheduler` competes for the leader lock; the others
wait and retry, so a second replica takes over within one check interval if the leader dies.
Periodic work: the lease reaper, reconciliation polls, survey reminders and expiry.
"""
from __future__ import annotations

import logging
import threading

from apscheduler.schedulers.background import BackgroundScheduler

from jobs.leader import LeaderLock
from jobs.process import start_process
from jobs.queue import reap_expired_leases
from jobs.reconcile import reconcile_connection
from ops.metrics import SCHEDULER_LEADER
from runtime import Runtime
from storage.clock import utcnow

log = logging.getLogger("xla.scheduler")


def run_scheduler(settings, stop: threading.Event | None = None, leader_check_s: float = 5.0) -> int:
    runtime, stop = start_process(settings, stop)
    lock = LeaderLock(runtime.engine)
    SCHEDULER_LEADER.set(0)
    while not stop.is_set() and not lock.try_acquire():
        log.info("scheduler.standby", extra={"lock": lock.scope})
        stop.wait(leader_check_s)
    if stop.is_set():
        runtime.close()
        return 0
    log.info("scheduler.leader", extra={"lock": lock.scope})
    SCHEDULER_LEADER.set(1)
    scheduler = build_scheduler(runtime)
    scheduler.start()
    stop.wait()
    scheduler.shutdown(wait=True)
    lock.release()
    SCHEDULER_LEADER.set(0)
    runtime.close()
    return 0


def build_scheduler(runtime: Runtime) -> BackgroundScheduler:
    cadence = runtime.settings.scheduler
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    scheduler.add_job(reap, "interval", seconds=cadence.reaper_interval_s, args=[runtime], id="reaper",
                      next_run_time=utcnow())
    for connection in runtime.settings.connections:
        if connection.reconcile:
            scheduler.add_job(reconcile_connection, "interval", seconds=cadence.reconcile_interval_s,
                              args=[runtime, connection.id], id=f"reconcile:{connection.id}")
    scheduler.add_job(survey_housekeeping, "interval", seconds=cadence.surveys_interval_s, args=[runtime],
                      id="surveys", next_run_time=utcnow())
    return scheduler


def reap(runtime: Runtime) -> None:
    requeued, dead = reap_expired_leases(runtime.sessions)
    if requeued or dead:
        log.warning("reaper.returned_leases", extra={"requeued": requeued, "dead": dead})


def survey_housekeeping(runtime: Runtime) -> None:
    from surveys.housekeeping import run_survey_housekeeping

    summary = run_survey_housekeeping(runtime, utcnow())
    if any(summary.values()):
        log.info("surveys.housekeeping", extra=summary)
