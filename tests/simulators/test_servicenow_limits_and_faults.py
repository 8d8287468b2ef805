"""Rate limits, injected faults and the request journal of the ServiceNow simulator."""
from __future__ import annotations

import time

import pytest
import requests

from tests.simulators.conftest import SERVICENOW_USERS

INTEGRATION = ("xla.integration", SERVICENOW_USERS["xla.integration"])
ADMIN = ("admin", SERVICENOW_USERS["admin"])


def get_users(sim, auth=INTEGRATION, **kwargs):
    return requests.get(f"{sim.url}/api/now/table/sys_user", params={"sysparm_limit": 1},
                        auth=auth, **{"timeout": 10, **kwargs})


class TestRateLimit:
    def test_headers_count_down_then_429_with_retry_after(self, servicenow):
        servicenow.admin("PUT", "/limits", {"per_hour": 3})
        answers = [get_users(servicenow) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a.headers["X-RateLimit-Remaining"] for a in answers[:3]] == ["2", "1", "0"]
        limited = answers[3]
        assert limited.headers["X-RateLimit-Limit"] == "3"
        assert limited.json()["status"] == "failure"
        retry_after = int(limited.headers["Retry-After"])
        reset_at = int(limited.headers["X-RateLimit-Reset"])
        assert 1 <= retry_after <= 3600
        assert reset_at % 3600 == 0 and reset_at > time.time()

    def test_limit_is_per_user(self, servicenow):
        servicenow.admin("PUT", "/limits", {"per_hour": 1})
        assert get_users(servicenow).status_code == 200
        assert get_users(servicenow).status_code == 429
        assert get_users(servicenow, auth=ADMIN).status_code == 200

    def test_limits_can_be_lifted(self, servicenow):
        servicenow.admin("PUT", "/limits", {"per_hour": 1})
        get_users(servicenow)
        assert get_users(servicenow).status_code == 429
        assert servicenow.admin("PUT", "/limits", {"per_hour": None}) == {"per_hour": None}
        answer = get_users(servicenow)
        assert answer.status_code == 200 and "X-RateLimit-Limit" not in answer.headers

    def test_bad_limit_is_refused(self, servicenow):
        with pytest.raises(requests.HTTPError):
            servicenow.admin("PUT", "/limits", {"per_hour": "lots"})


class TestFaults:
    @pytest.mark.parametrize("status", [500, 503, 429])
    def test_status_fault_hits_the_next_request_only(self, servicenow, status):
        servicenow.admin("POST", "/faults", {"count": 1, "status": status, "retry_after": 7})
        failed = get_users(servicenow)
        assert failed.status_code == status
        assert failed.headers["Retry-After"] == "7"
        assert failed.json()["status"] == "failure"
        assert get_users(servicenow).status_code == 200

    def test_count_and_method_and_path_filters(self, servicenow):
        servicenow.admin("POST", "/faults", {"count": 2, "status": 503, "method": "PATCH",
                                             "path_prefix": "/api/now/table/incident"})
        assert get_users(servicenow).status_code == 200  # other path and method: untouched
        incident = requests.get(f"{servicenow.url}/api/now/table/incident", params={"sysparm_limit": 1},
                                auth=INTEGRATION, timeout=10).json()["result"][0]
        url = f"{servicenow.url}/api/now/table/incident/{incident['sys_id']}"
        statuses = [requests.patch(url, json={"u_xla_score": 5}, auth=INTEGRATION, timeout=10).status_code
                    for _ in range(3)]
        assert statuses == [503, 503, 200]
        assert servicenow.admin("GET", "/faults") == []

    def test_failed_write_changes_nothing(self, servicenow):
        incident = requests.get(f"{servicenow.url}/api/now/table/incident", params={"sysparm_limit": 1},
                                auth=INTEGRATION, timeout=10).json()["result"][0]
        servicenow.admin("POST", "/faults", {"status": 500, "method": "PATCH"})
        url = f"{servicenow.url}/api/now/table/incident/{incident['sys_id']}"
        assert requests.patch(url, json={"u_xla_score": 99}, auth=INTEGRATION, timeout=10).status_code == 500
        assert requests.get(url, auth=INTEGRATION, timeout=10).json()["result"]["u_xla_score"] == ""

    def test_drop_closes_the_connection_without_an_answer(self, servicenow):
        servicenow.admin("POST", "/faults", {"drop": True})
        with pytest.raises(requests.ConnectionError):
            get_users(servicenow)
        assert get_users(servicenow).status_code == 200
        dropped = [e for e in servicenow.journal() if e["status"] is None]
        assert len(dropped) == 1 and dropped[0]["path"] == "/api/now/table/sys_user"

    def test_latency_makes_an_impatient_client_time_out(self, servicenow):
        servicenow.admin("POST", "/faults", {"latency_ms": 1500})
        with pytest.raises(requests.Timeout):
            get_users(servicenow, timeout=0.3)
        assert get_users(servicenow).status_code == 200

    def test_clearing_faults(self, servicenow):
        servicenow.admin("POST", "/faults", {"count": 5, "status": 500})
        servicenow.admin("DELETE", "/faults")
        assert get_users(servicenow).status_code == 200

    @pytest.mark.parametrize("spec", [{"status": 404}, {"count": 0, "status": 500}, {}, {"colour": "red"}])
    def test_invalid_fault_specs_are_refused(self, servicenow, spec):
        with pytest.raises(requests.HTTPError):
            servicenow.admin("POST", "/faults", spec)


class TestJournal:
    def test_every_api_request_is_journaled_without_credentials(self, servicenow):
        incident = requests.get(f"{servicenow.url}/api/now/table/incident", params={"sysparm_limit": 1},
                                auth=INTEGRATION, timeout=10).json()["result"][0]
        requests.patch(f"{servicenow.url}/api/now/table/incident/{incident['sys_id']}",
                       json={"u_xla_score": 61}, auth=INTEGRATION, timeout=10)
        requests.get(f"{servicenow.url}/api/now/table/incident", auth=("xla.integration", "wrong"), timeout=10)
        entries = servicenow.journal()
        assert [(e["method"], e["status"], e["user"]) for e in entries] == [
            ("GET", 200, "xla.integration"), ("PATCH", 200, "xla.integration"), ("GET", 401, None)]
        assert entries[0]["query"] == "sysparm_limit=1"
        assert entries[1]["body"] == {"u_xla_score": 61}
        text = repr(entries)
        assert SERVICENOW_USERS["xla.integration"] not in text and "Authorization" not in text
        later = servicenow.journal(after=entries[1]["id"])
        assert [e["id"] for e in later] == [entries[2]["id"]]

    def test_admin_calls_are_not_journaled_and_journal_clears(self, servicenow):
        get_users(servicenow)
        servicenow.admin("GET", "/health")
        assert len(servicenow.journal()) == 1
        servicenow.admin("DELETE", "/journal")
        assert servicenow.journal() == []
