"""Rate limits and injected faults of the Jira simulator, as a client meets them over HTTP."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
import requests

from tests.simulators.jira_support import AGENT_LOGIN, JiraApi, start_jira

DEFAULT_LIMITS = {"burst": 100, "burst_window_s": 1, "per_hour": 0, "per_issue_writes": 20,
                  "per_issue_window_s": 2}


@pytest.fixture(scope="module")
def processes():
    started = {deployment: start_jira(deployment) for deployment in ("cloud", "datacenter")}
    yield started
    for process in started.values():
        process.stop()


def fresh(process):
    process.admin("PUT", "/limits", DEFAULT_LIMITS)
    process.admin("DELETE", "/faults")
    process.admin("POST", "/reset")
    return process


@pytest.fixture
def cloud(processes):
    yield fresh(processes["cloud"])
    fresh(processes["cloud"])


@pytest.fixture
def datacenter(processes):
    yield fresh(processes["datacenter"])
    fresh(processes["datacenter"])


def score_write(api: JiraApi, issue_id: str, value: int) -> requests.Response:
    return api.put(f"/issue/{issue_id}", json={"fields": {"customfield_10200": value}})


def test_per_issue_write_limit_answers_429_with_jira_headers(cloud):
    cloud.admin("PUT", "/limits", {"per_issue_writes": 3, "per_issue_window_s": 60})
    api = JiraApi(cloud)
    busy, other = api.new_issue()["id"], api.new_issue()["id"]
    for value in (10, 20, 30):
        assert score_write(api, busy, value).status_code == 204
    refused = score_write(api, busy, 40)
    assert refused.status_code == 429
    headers = refused.headers
    assert headers["RateLimit-Reason"] == "jira-per-issue-on-write"
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert headers["X-RateLimit-Limit"] == "3" and headers["X-RateLimit-Remaining"] == "0"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\dZ", headers["X-RateLimit-Reset"])
    reset = datetime.strptime(headers["X-RateLimit-Reset"], "%Y-%m-%dT%H:%MZ").replace(tzinfo=timezone.utc)
    assert reset >= datetime.now(timezone.utc).replace(second=0, microsecond=0)
    assert refused.json()["errorMessages"]
    # comments count as writes to the issue; other issues and reads are not limited
    assert api.post(f"/issue/{busy}/comment", json={"body": "one more"}).status_code == 429
    assert score_write(api, other, 50).status_code == 204
    assert api.issue(busy)["fields"]["customfield_10200"] == 30


def test_data_center_429_reports_its_token_bucket(datacenter):
    datacenter.admin("PUT", "/limits", {"per_issue_writes": 1, "per_issue_window_s": 60})
    api = JiraApi(datacenter)
    issue_id = api.new_issue()["id"]
    assert score_write(api, issue_id, 1).status_code == 204
    refused = score_write(api, issue_id, 2)
    assert refused.status_code == 429
    assert refused.headers["X-RateLimit-Interval-Seconds"] == "60"
    assert int(refused.headers["Retry-After"]) >= 1
    assert "X-RateLimit-Reset" not in refused.headers


def test_burst_limit_is_per_user(cloud):
    cloud.admin("PUT", "/limits", {"burst": 4, "burst_window_s": 60})
    busy, calm = JiraApi(cloud), JiraApi(cloud, AGENT_LOGIN)
    statuses = [busy.get("/myself").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    refused = busy.get("/myself")
    assert refused.headers["RateLimit-Reason"] == "jira-burst-based"
    assert refused.headers["X-RateLimit-Limit"] == "4"
    assert calm.get("/myself").status_code == 200


def test_hourly_quota(cloud):
    cloud.admin("PUT", "/limits", {"per_hour": 2})
    api = JiraApi(cloud)
    assert [api.get("/field").status_code for _ in range(3)] == [200, 200, 429]
    assert api.get("/field").headers["RateLimit-Reason"] == "jira-quota-tenant-based"


def test_limits_reject_nonsense(cloud):
    response = requests.put(f"{cloud.url}/_sim/limits", json={"per_issue_writes": -1}, timeout=10)
    assert response.status_code == 400
    response = requests.put(f"{cloud.url}/_sim/limits", json={"writes_per_fortnight": 3}, timeout=10)
    assert response.status_code == 400


def test_injected_503_fails_one_write_with_retry_after_and_changes_nothing(cloud):
    api = JiraApi(cloud)
    issue_id = api.new_issue()["id"]
    cloud.admin("POST", "/faults", {"count": 1, "status": 503, "retry_after": 7,
                                    "path_prefix": "/rest/api/2/issue/", "method": "PUT"})
    failed = score_write(api, issue_id, 77)
    assert failed.status_code == 503 and failed.headers["Retry-After"] == "7"
    assert failed.json() == {"errorMessages": ["Simulated fault"], "errors": {}}
    assert api.issue(issue_id)["fields"]["customfield_10200"] is None
    assert score_write(api, issue_id, 77).status_code == 204
    assert api.issue(issue_id)["fields"]["customfield_10200"] == 77


def test_injected_429_and_dropped_connection(cloud):
    api = JiraApi(cloud)
    cloud.admin("POST", "/faults", {"count": 1, "status": 429, "retry_after": 3, "path_prefix": "/rest/api/2/search"})
    limited = api.get("/search", params={"jql": "project = SD"})
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    cloud.admin("POST", "/faults", {"count": 1, "drop": True, "path_prefix": "/rest/api/2/search"})
    with pytest.raises(requests.ConnectionError):
        api.get("/search", params={"jql": "project = SD"})
    assert api.get("/search", params={"jql": "project = SD"}).status_code == 200
    dropped = [e for e in cloud.journal() if e["path"] == "/rest/api/2/search" and e["status"] is None]
    assert len(dropped) == 1
