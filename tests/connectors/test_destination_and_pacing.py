"""Where the connectors refuse to go, and how they pace themselves so the instance never says 429.

A tiny loopback server stands in for a misconfigured instance that redirects elsewhere; a
second one, on another loopback address, stands in for the elsewhere and counts what reaches it.
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connectors import make_connector
from connectors.base import TicketSearch, TicketWrite
from connectors.errors import RateLimited, UnsafeDestination
from settings.model import AuthSettings, ConnectionSettings


class _Server:
    """A loopback HTTP server answering every request with `answer(handler)`; counts hits."""

    def __init__(self, host: str, answer):
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                outer.hits += 1
                answer(self)

            do_GET = do_POST = do_PUT = do_PATCH = _any

            def log_message(self, *args):  # keep test output quiet
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def elsewhere():
    def ok(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.end_headers()
        handler.wfile.write(b'{"result": []}')

    server = _Server("127.0.0.2", ok)
    yield server
    server.close()


@pytest.fixture
def redirecting(elsewhere):
    def redirect(handler):
        handler.send_response(302)
        handler.send_header("Location", elsewhere.url + handler.path)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    server = _Server("127.0.0.1", redirect)
    yield server
    server.close()


def connection(tool: str, base_url: str, monkeypatch, **extra) -> ConnectionSettings:
    monkeypatch.setenv("XLA_TEST_SAFETY_TOKEN", "not-a-real-token-123")
    auth = AuthSettings(kind="basic", token_env="XLA_TEST_SAFETY_TOKEN", user="xla.integration")
    return ConnectionSettings(id=f"safety-{tool}", tool=tool, base_url=base_url, auth=auth, **extra)


@pytest.mark.parametrize("tool", ["servicenow", "jira"])
def test_a_redirect_to_another_host_is_refused(tool, redirecting, elsewhere, monkeypatch):
    connector = make_connector(connection(tool, redirecting.url, monkeypatch, allow_loopback_http=True))
    with pytest.raises(UnsafeDestination, match="redirected to another host .*; redirect refused"):
        connector.whoami()
    assert redirecting.hits == 1 and elsewhere.hits == 0


@pytest.mark.parametrize("tool", ["servicenow", "jira"])
@pytest.mark.parametrize("base_url, extra, says", [
    ("https://10.20.30.40", {}, "private address 10.20.30.40; set on_premises = true"),
    ("https://169.254.169.254", {"on_premises": True}, "cloud metadata address"),
    ("https://[fd12::7]:8443", {}, "private address fd12::7"),
])
def test_a_private_base_url_is_refused_before_any_request(tool, base_url, extra, says, monkeypatch):
    seen = []
    connector = make_connector(connection(tool, base_url, monkeypatch, **extra), on_call=[seen.append])
    with pytest.raises(UnsafeDestination, match=says.replace("(", r"\(")):
        connector.whoami()
    assert seen == []  # nothing left the process


@pytest.mark.parametrize("tool", ["servicenow", "jira"])
def test_plain_http_is_refused_unless_loopback_and_allowed(tool, monkeypatch):
    with pytest.raises(UnsafeDestination, match="uses plain http; https is required"):
        make_connector(connection(tool, "http://example.com", monkeypatch, allow_loopback_http=True))
    with pytest.raises(UnsafeDestination, match="uses plain http"):
        make_connector(connection(tool, "http://127.0.0.1:8080", monkeypatch))


def test_pacing_per_ticket_keeps_jira_per_issue_limit_from_answering_429(jira_cloud_sim, _secrets, monkeypatch):
    from tests.connectors.conftest import Target

    jira = Target("jira-cloud", jira_cloud_sim, "jira", "cloud", _secrets["jira"], _secrets["jira_ro"], monkeypatch)
    jira.sim.admin("POST", "/reset")
    jira.sim.admin("PUT", "/limits", json={"per_issue_writes": 4, "per_issue_window_s": 1.0})
    try:
        connector = jira.connector(ticket_writes_per_window=3, ticket_write_window_s=1.0, max_retries=0)
        key = next(iter(connector.search_tickets(TicketSearch(open_only=True, limit=1)))).ticket_key
        for score in range(50, 58):
            assert connector.set_fields(key, {"customfield_10200": score})
        writes = jira.requests("PUT", f"/rest/api/2/issue/{key}")
        assert len(writes) == 8 and all(w["status"] == 204 for w in writes)

        careless = jira.connector(ticket_writes_per_window=50, max_retries=0)
        with pytest.raises(RateLimited) as raised:
            for score in range(60, 70):
                careless.set_fields(key, {"customfield_10200": score})
        assert raised.value.reason == "jira-per-issue-on-write" and raised.value.retry_after_s > 0
    finally:
        jira.sim.admin("PUT", "/limits", json={"per_issue_writes": 20, "per_issue_window_s": 2.0})


def test_steady_reads_stay_under_the_instances_burst_limit(jira_cloud_sim, _secrets, monkeypatch):
    from tests.connectors.conftest import Target

    jira = Target("jira-cloud", jira_cloud_sim, "jira", "cloud", _secrets["jira"], _secrets["jira_ro"], monkeypatch)
    jira.sim.admin("POST", "/reset")
    jira.sim.admin("PUT", "/limits", json={"burst": 6, "burst_window_s": 1.0})
    try:
        # a bucket of 1 refilled 4 times a second never sends more than 5 calls in any second
        connector = jira.connector(requests_per_second=4, burst=1, max_retries=0)
        key = next(iter(connector.search_tickets(TicketSearch(limit=1)))).ticket_key
        for _ in range(8):
            connector.get_ticket(key, fields=("status",))
        assert [entry["status"] for entry in jira.journal()] == [200] * 9

        careless = jira.connector(max_retries=0)
        with pytest.raises(RateLimited) as raised:
            for _ in range(12):
                careless.get_ticket(key, fields=("status",))
        assert raised.value.reason == "jira-burst-based"
    finally:
        jira.sim.admin("PUT", "/limits", json={"burst": 100, "burst_window_s": 1.0})


def test_a_write_to_a_ticket_of_another_tool_key_shape_is_refused_without_a_call(servicenow):
    connector = servicenow.connector()
    with pytest.raises(Exception, match="not '<table>:<32-hex sys_id>'"):
        connector.write("10001", TicketWrite(fields={"u_xla_score": 1}))
    assert servicenow.journal() == []
