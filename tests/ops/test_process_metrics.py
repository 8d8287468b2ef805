"""A worker's and a scheduler's own /metrics, scraped over HTTP from real `app.py` processes.

No process here shares a Prometheus multiprocess folder with `serve`: what an operator sees on
a worker's or a scheduler's metrics port is all there is of its counters, as for a worker on a
host of its own.
"""
from __future__ import annotations

import random
import socket
from collections import Counter

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.reliability.deployment import SN_INTEGRATION_USER, Deployment, SimulatorSpec, free_port
from tests.reliability.effects import ServiceNowView, calls_by
from tests.reliability.events import BurstSender, plan_burst
from tests.reliability.waiting import wait_for

SN = "snow"


@pytest.fixture
def deployments(tmp_path):
    made: list[Deployment] = []

    def make(simulators, **options) -> Deployment:
        workdir = tmp_path / f"deployment-{len(made)}"
        workdir.mkdir()
        made.append(Deployment(workdir, simulators, shared_metrics_dir=False, **options))
        return made[-1].prepare()

    yield make
    for deployment in made:
        deployment.close()


def scrape(url: str) -> Counter:
    """Every sample of the exposition at `url`, as {(name, sorted labels): value}."""
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain")
    return Counter({(sample.name, tuple(sorted(sample.labels.items()))): sample.value
                    for family in text_string_to_metric_families(answer.text) for sample in family.samples})


def total(samples: Counter, name: str, **labels: str) -> float:
    return sum(value for (found, pairs), value in samples.items()
               if found == name and set(labels.items()) <= set(pairs))


def test_a_worker_shows_its_jobs_and_itsm_calls_on_its_own_port(deployments):
    port = free_port()
    deployment = deployments([SimulatorSpec(SN, "servicenow", args=("--per-hour", "0"))],
                             config={"worker": {"metrics_port": port}})
    deployment.serve()
    view = ServiceNowView(deployment.sims[SN], deployment.agent(SN), SN_INTEGRATION_USER)
    deliveries = plan_burst(SN, view.open_tickets(), distinct=8, duplicate_share=0.0, rng=random.Random(3),
                            prefix="metrics")
    BurstSender({SN: deployment.webhook_secret(SN)}, [deployment.url]).send_all(deliveries)
    worker = deployment.worker("worker-1")
    deployment.wait_settled(timeout_s=120)

    samples = scrape(f"http://127.0.0.1:{port}/metrics")
    done = Counter(job.kind for job in deployment.jobs() if job.state == "done")
    finished = {kind: total(samples, "xla_jobs_finished_total", kind=kind) for kind in done}
    calls = calls_by(view.journal(), SN_INTEGRATION_USER)
    print(f"\nworker metrics: jobs done {dict(done)}, ITSM calls seen by the simulator {len(calls)}")
    assert done["process_event"] == 8
    assert finished == dict(done), "every job the worker finished is counted once, by kind"
    assert total(samples, "xla_job_seconds_count") == sum(done.values())
    assert total(samples, "xla_itsm_calls_total", connection=SN) == len(calls) > 0, \
        "every call the simulator saw from the integration user is counted by the worker that made it"
    assert total(samples, "xla_itsm_calls_total", connection=SN, method="GET", status="200") > 0
    assert total(samples, "process_cpu_seconds_total") > 0
    assert worker.logged("metrics.listening")[0]["url"] == f"http://127.0.0.1:{port}/metrics"


def test_each_scheduler_says_on_its_port_whether_it_leads(deployments):
    config_port, command_line_port = free_port(), free_port()
    deployment = deployments([], config={"scheduler": {"metrics_port": config_port}})
    first = deployment.scheduler("scheduler-1")
    wait_for(lambda: first.logged("scheduler.leader"), timeout_s=60, what="the first scheduler leading")
    # Two schedulers on one host share the configuration file; the second takes another port.
    second = deployment.scheduler("scheduler-2", "--metrics-port", str(command_line_port))
    wait_for(lambda: second.logged("scheduler.standby"), timeout_s=60, what="the second scheduler standing by")

    assert total(scrape(f"http://127.0.0.1:{config_port}/metrics"), "xla_scheduler_leader") == 1
    assert total(scrape(f"http://127.0.0.1:{command_line_port}/metrics"), "xla_scheduler_leader") == 0
    first.stop()
    wait_for(lambda: total(scrape(f"http://127.0.0.1:{command_line_port}/metrics"), "xla_scheduler_leader") == 1,
             timeout_s=60, what="the second scheduler's metrics saying it leads once the first has stopped")


def test_a_worker_whose_metrics_port_is_taken_says_which_key_and_how_to_fix_it(deployments):
    deployment = deployments([])
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = deployment.run("worker", "--once", "--metrics-port", str(port))
    assert result.returncode == 2
    assert (f"worker.metrics_port: cannot listen on 127.0.0.1:{port} (Address already in use); give each worker "
            "process on this host a port of its own (python app.py worker --metrics-port PORT)") in result.stderr
