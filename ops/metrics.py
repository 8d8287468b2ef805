"""Prometheus metrics.

Where an operator reads them:
- `serve`: `/metrics` of the web app. Counters work across gunicorn workers through
  prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set by `app.py serve`); job
  states are read from the database at scrape time, so every process reports the same truth.
- `worker` and `scheduler`: each process serves its own counters (jobs finished, ITSM calls,
  loop guard, surveys, leadership) on the port of `[worker]`/`[scheduler] metrics_port`
  (`serve_process_metrics`), so they are visible whatever host the process runs on.
"""
from __future__ import annotations

import contextlib
import logging
import os
from typing import Iterator

from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram,
                               generate_latest, start_http_server)
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger("xla.metrics")

WEBHOOKS = Counter("xla_webhooks_received_total", "Webhook deliveries by connection and outcome",
                   ["connection", "outcome"])
WEBHOOK_SECONDS = Histogram("xla_webhook_seconds", "Time to answer a webhook delivery", ["connection"])
ITSM_CALLS = Counter("xla_itsm_calls_total", "Calls to an ITSM by connection, method and status",
                     ["connection", "method", "status"])
ITSM_SECONDS = Histogram("xla_itsm_call_seconds", "Latency of ITSM calls", ["connection"])
JOBS_FINISHED = Counter("xla_jobs_finished_total", "Jobs finished by kind and outcome", ["kind", "outcome"])
JOB_SECONDS = Histogram("xla_job_seconds", "Time to run one job", ["kind"])
EVENT_TO_WRITE_SECONDS = Histogram("xla_event_to_write_seconds",
                                   "From webhook received to the write on the ticket",
                                   buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60))
LOOP_GUARD = Counter("xla_loop_guard_total", "Events or writes dropped by the loop guard", ["connection", "reason"])
SURVEYS = Counter("xla_surveys_total", "Survey lifecycle steps", ["connection", "step"])
SCHEDULER_LEADER = Gauge("xla_scheduler_leader", "1 while this scheduler process leads, 0 while it stands by",
                         multiprocess_mode="liveall")


def record_itsm_call(connection_id: str, method: str, status: int | str, seconds: float) -> None:
    ITSM_CALLS.labels(connection_id, method, str(status)).inc()
    ITSM_SECONDS.labels(connection_id).observe(seconds)


class JobStateCollector:
    """Jobs by kind and state, counted in the database when Prometheus scrapes."""

    def __init__(self, session_factory):
        self.session_factory = session_factory

    def collect(self):
        from sqlalchemy import func, select

        from storage.models import Job

        family = GaugeMetricFamily("xla_jobs", "Jobs by kind and state", labels=["kind", "state"])
        with self.session_factory() as session:
            for kind, state, count in session.execute(
                    select(Job.kind, Job.state, func.count()).group_by(Job.kind, Job.state)):
                family.add_metric([kind, state], count)
        yield family


def render_metrics(session_factory) -> tuple[bytes, str]:
    """The exposition text for /metrics and its content type."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
        for collector in list(getattr(registry, "_xla_job_collectors", [])):
            registry.unregister(collector)
    collector = JobStateCollector(session_factory)
    registry.register(collector)
    try:
        return generate_latest(registry), CONTENT_TYPE_LATEST
    finally:
        registry.unregister(collector)


@contextlib.contextmanager
def serve_process_metrics(section: str, address: str, port: int | None) -> Iterator[str | None]:
    """While the block runs, serve this process's metrics at `http://address:port/metrics`: the
    counters it increments and its CPU, memory and open files. Yields that URL, or None (and
    serves nothing) when `port` is None.

    The job gauges (`xla_jobs`) are left to `serve`: one scrape target per installation counts
    them, so a sum over targets stays right. Raises `settings.ConfigError` naming
    `<section>.metrics_port` when the port cannot be bound (in use, or privileged).
    """
    if port is None:
        yield None
        return
    from settings import ConfigError

    try:
        server, thread = start_http_server(port, addr=address, registry=REGISTRY)
    except OSError as exc:
        raise ConfigError([f"{section}.metrics_port: cannot listen on {address}:{port} ({exc.strerror}); give "
                           f"each {section} process on this host a port of its own (python app.py {section} "
                           "--metrics-port PORT), or leave the key out to serve no /metrics"]) from None
    url = f"http://{f'[{address}]' if ':' in address else address}:{port}/metrics"
    log.info("metrics.listening", extra={"url": url})
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
