"""`python app.py serve` under each gunicorn worker model it offers (`[server].worker_class`).

Both store every concurrent signed delivery exactly once; in both a delivery waiting for its
turn at the SQLite file (another process committing) leaves the process free to answer others
(with gevent that is not given: all requests of a worker share one OS thread); and in both the
survey page, with its form and CSRF token, takes a caller's answer once.
"""
from __future__ import annotations

import fcntl
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from storage.models import InboxEvent, Job, SurveyResponse
from surveys.respondents import SimulatedRespondents, find_survey_links
from tests.reliability.deployment import SimulatorSpec
from tests.reliability.waiting import wait_for
from tests.webhooks.helpers import fixture_body
from webhooks.jira.verify import sign_jira_body

WORKER_CLASSES = ["gevent", "gthread"]
BODY = fixture_body("jira", "issue_updated__resolved")


def deploy(deployment_factory, worker_class: str, workers: int):
    deployment = deployment_factory([SimulatorSpec("jira", "jira", send_webhooks=False)],
                                    config={"server": {"worker_class": worker_class, "workers": workers,
                                                       "threads": 8, "worker_connections": 64}})
    serve = deployment.serve()
    started = serve.log_text()
    assert f"Using worker: {worker_class}" in started
    assert "Control socket" not in started   # nothing listens that serve does not use
    return deployment, serve


def post(deployment, identifier: str) -> requests.Response:
    headers = {"Content-Type": "application/json", "X-Atlassian-Webhook-Identifier": identifier,
               "X-Hub-Signature": sign_jira_body(BODY, deployment.webhook_secret("jira"))}
    return requests.post(deployment.webhook_url("jira"), data=BODY, headers=headers, timeout=60)


@pytest.mark.parametrize("worker_class", WORKER_CLASSES)
def test_concurrent_deliveries_are_each_stored_once(deployment_factory, worker_class):
    deployment, _ = deploy(deployment_factory, worker_class, workers=2)
    distinct = [f"{worker_class}-{uuid.uuid4().hex}" for _ in range(24)]
    identifiers = distinct + distinct[:8]   # a third of them sent twice, at the same moment
    start = threading.Barrier(len(identifiers))

    def send(identifier: str) -> requests.Response:
        start.wait()
        return post(deployment, identifier)

    with ThreadPoolExecutor(max_workers=len(identifiers)) as pool:
        answers = list(pool.map(send, identifiers))

    assert [answer.status_code for answer in answers] == [202] * len(identifiers)
    statuses = sorted(answer.json()["status"] for answer in answers)
    assert statuses == ["duplicate"] * 8 + ["stored"] * 24
    with deployment.sessions() as session:
        rows = session.execute(select(InboxEvent.delivery_id, InboxEvent.duplicates)).all()
        jobs = session.execute(select(func.count()).select_from(Job)).scalar_one()
    assert sorted(delivery for delivery, _ in rows) == sorted(distinct)
    assert sum(duplicates for _, duplicates in rows) == 8
    assert jobs == 24


def blocked_waiters(path: Path) -> int:
    """How many lock requests on `path` are waiting (`->` lines of /proc/locks)."""
    inode = os.stat(path).st_ino
    with open("/proc/locks") as locks:
        return sum(1 for line in locks if "->" in line.split() and f":{inode} " in line)


@pytest.mark.skipif(not os.path.exists("/proc/locks"), reason="needs Linux's /proc/locks to see a waiting lock")
@pytest.mark.parametrize("worker_class", WORKER_CLASSES)
def test_a_delivery_waiting_for_another_process_commit_does_not_hold_up_other_requests(
        deployment_factory, worker_class):
    deployment, serve = deploy(deployment_factory, worker_class, workers=1)
    database = deployment.database_url.removeprefix("sqlite:///")
    lock_path = Path(database + "-inbox.lock")   # the turn every inbox writer of this file takes

    with open(lock_path, "a+b") as turn, ThreadPoolExecutor(max_workers=1) as pool:
        fcntl.flock(turn.fileno(), fcntl.LOCK_EX)   # another process is committing
        try:
            waiting = pool.submit(post, deployment, f"held-{uuid.uuid4().hex}")
            wait_for(lambda: blocked_waiters(lock_path), timeout_s=30,
                     what="the service's inbox writer waiting for its turn")
            # The single worker process still answers while its writer waits.
            assert requests.get(f"{serve.url}/healthz", timeout=10).status_code == 200
            assert not waiting.done()
        finally:
            fcntl.flock(turn.fileno(), fcntl.LOCK_UN)
        answer = waiting.result(timeout=60)
    assert answer.status_code == 202 and answer.json()["status"] == "stored"


def survey_link_on_an_incident(deployment) -> str | None:
    """The first survey link the service has put in a customer-visible incident comment."""
    user, password = deployment.agent("snow")
    url = deployment.sims["snow"].url
    for job in deployment.jobs("send_survey"):
        if job.outcome != "sent":
            continue
        sys_id = job.ticket_key.split(":", 1)[1]
        rows = requests.get(f"{url}/api/now/table/sys_journal_field", auth=(user, password), timeout=10,
                            params={"sysparm_query": f"element=comments^element_id={sys_id}"}).json()["result"]
        for row in rows:
            links = find_survey_links(row["value"])
            if links:
                return links[0]
    return None


@pytest.mark.parametrize("worker_class", WORKER_CLASSES)
def test_a_survey_link_is_answered_once_through_the_served_page(deployment_factory, worker_class):
    deployment = deployment_factory([SimulatorSpec("snow", "servicenow")],
                                    config={"server": {"worker_class": worker_class, "workers": 2}})
    deployment.serve()
    deployment.worker("worker-1")
    link = None
    for _ in range(8):  # the simulator's scenario resolves incidents as it goes
        for _ in range(6):
            deployment.sims["snow"].admin("POST", "/scenario/advance")
        deployment.wait_settled()
        link = survey_link_on_an_incident(deployment)
        if link:
            break
    assert link and link.startswith(deployment.url + "/s/"), link

    answer = SimulatedRespondents(seed=3).answer(link, mood="bad")
    assert answer.status == "answered"
    assert SimulatedRespondents(seed=4).answer(link).status == "already_answered"
    with deployment.sessions() as session:
        ratings = session.scalars(select(SurveyResponse.rating)).all()
    assert ratings == [answer.rating]
