"""What the connectors do when the instance misbehaves, on ServiceNow, Jira Cloud and Jira Data Center.

Faults are injected into the simulators through their admin API; what the instance received
(and when) is read from their request journal, never from timings on our side.
"""
from __future__ import annotations

import socket

import pytest

from connectors.base import TicketSearch, TicketWrite
from connectors.errors import (AuthenticationError, CircuitOpen, ConnectionLost, HostUnreachable, NotFound,
                               PermissionDenied, RateLimited, ServerError, Timeout)
from tests.connectors.conftest import wait_until

FIELDS = {"servicenow": {"u_xla_score": 61}, "jira": {"customfield_10200": 61}}


def a_ticket(connector) -> str:
    return next(iter(connector.search_tickets(TicketSearch(kinds=("incident",), open_only=True, limit=1)))).ticket_key


def ticket_path(target, key: str) -> str:
    if target.tool == "servicenow":
        return "/api/now/table/incident/" + key.split(":", 1)[1]
    return f"/rest/api/2/issue/{key}"


def append_request(target, key: str) -> tuple[str, str]:
    """(method, path) of the call that appends a note: not safe to repeat."""
    if target.tool == "servicenow":
        return "PATCH", ticket_path(target, key)
    return "POST", ticket_path(target, key) + "/comment"


def read(connector, key):
    return connector.get_ticket(key, fields=("status",) if connector.tool == "jira" else ("state",))


def calls_to(target, method: str, path: str) -> list[dict]:
    return [e for e in target.journal() if e["method"] == method and e["path"] == path]


def notes_with(target, connector, key: str, marker: str) -> int:
    if target.tool == "servicenow":
        return connector.get_ticket(key, fields=("work_notes",)).display["work_notes"].count(marker)
    return sum(marker in (c.get("body") or "") for c in
               connector.get_ticket(key, fields=("comment",)).fields["comment"]["comments"])


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_after_a_429_the_next_attempt_waits_at_least_retry_after(target):
    connector = target.connector()
    key = a_ticket(connector)
    path = ticket_path(target, key)
    target.clear_journal()
    target.fault(status=429, retry_after=1, count=1, method="GET", path_prefix=path)
    read(connector, key)
    first, second = calls_to(target, "GET", path)
    assert (first["status"], second["status"]) == (429, 200)
    assert second["at"] - first["at"] >= 1.0


def test_a_retry_after_longer_than_a_call_goes_back_to_the_job_layer(target):
    connector = target.connector(timeout_s=1.0)
    key = a_ticket(connector)
    path = ticket_path(target, key)
    target.clear_journal()
    target.fault(status=429, retry_after=30, count=1, method="GET", path_prefix=path)
    with pytest.raises(RateLimited) as raised:
        read(connector, key)
    assert raised.value.retryable and raised.value.retry_after_s >= 29
    assert len(calls_to(target, "GET", path)) == 1


def test_a_503_on_a_read_is_retried_and_a_lasting_one_gives_up(target):
    connector = target.connector(max_retries=2)
    key = a_ticket(connector)
    path = ticket_path(target, key)
    target.clear_journal()
    target.fault(status=503, count=1, method="GET", path_prefix=path)
    read(connector, key)
    assert [c["status"] for c in calls_to(target, "GET", path)] == [503, 200]
    target.clear_journal()
    target.fault(status=503, count=10, method="GET", path_prefix=path)
    with pytest.raises(ServerError, match="503"):
        read(connector, key)
    assert len(calls_to(target, "GET", path)) == 3  # one call and max_retries retries


def test_an_append_is_never_repeated_after_a_503_and_the_next_job_attempt_posts_it_once(target):
    connector = target.connector(max_retries=3)
    key = a_ticket(connector)
    method, path = append_request(target, key)
    target.clear_journal()
    target.fault(status=503, count=1, method=method, path_prefix=path)
    with pytest.raises(ServerError):
        connector.add_internal_note(key, "Experience score 61", marker="xla:fault:503")
    assert len(calls_to(target, method, path)) == 1
    assert connector.add_internal_note(key, "Experience score 61", marker="xla:fault:503")  # the job retries
    assert connector.add_internal_note(key, "Experience score 61", marker="xla:fault:503") is False
    assert notes_with(target, connector, key, "xla:fault:503") == 1


def test_a_call_slower_than_the_timeout_times_out_and_reads_are_retried(target):
    connector = target.connector(timeout_s=0.4, max_retries=1)
    key = a_ticket(connector)
    path = ticket_path(target, key)
    target.clear_journal()
    target.fault(latency_ms=1000, count=2, method="GET", path_prefix=path)
    with pytest.raises(Timeout, match="got no answer within 0.4 s"):
        read(connector, key)
    # the simulator journals a slow request once it has finished it
    assert len(wait_until(lambda: calls_to(target, "GET", path) if len(calls_to(target, "GET", path)) >= 2
                          else None)) == 2


def test_a_dropped_connection_on_a_read_is_retried(target):
    connector = target.connector()
    key = a_ticket(connector)
    path = ticket_path(target, key)
    target.clear_journal()
    target.fault(drop=True, count=1, method="GET", path_prefix=path)
    assert read(connector, key).ticket_key == key
    assert [c["status"] for c in calls_to(target, "GET", path)] == [None, 200]


def test_a_dropped_connection_on_an_append_is_reported_and_not_repeated(target):
    connector = target.connector()
    key = a_ticket(connector)
    method, path = append_request(target, key)
    target.clear_journal()
    target.fault(drop=True, count=1, method=method, path_prefix=path)
    with pytest.raises(ConnectionLost, match="may have taken effect"):
        connector.add_internal_note(key, "Experience score 61", marker="xla:fault:drop")
    assert len(calls_to(target, method, path)) == 1


def test_refused_credentials_are_an_authentication_error_without_the_secret(target, caplog):
    caplog.set_level("DEBUG")
    wrong = "Wr0ng-" + target.secret[::-1]
    connector = target.connector(secret=wrong)
    with pytest.raises(AuthenticationError) as raised:
        connector.whoami()
    assert not raised.value.retryable and "401" in str(raised.value)
    assert len(target.journal()) == 1  # not retried
    for text in (str(raised.value), raised.value.body or "", caplog.text):
        assert wrong not in text and target.secret not in text


def test_a_user_without_write_permission_gets_permission_denied(target):
    connector = target.connector(read_only=True)
    key = a_ticket(connector)
    with pytest.raises(PermissionDenied, match="403"):
        connector.add_internal_note(key, "Experience score 61", marker="xla:fault:403")


def test_an_unknown_ticket_is_not_found(target):
    connector = target.connector()
    missing = "incident:" + "f" * 32 if target.tool == "servicenow" else "987654321"
    with pytest.raises(NotFound, match="404"):
        connector.get_ticket(missing)
    assert len(target.journal()) == 1  # a 404 is not retried


def test_an_unreachable_host_is_reported_as_such_and_counted(target):
    seen = []
    connector = target.connector(base_url=f"http://127.0.0.1:{closed_port()}", max_retries=1,
                                 on_call=[lambda *call: seen.append(call)])
    with pytest.raises(HostUnreachable, match="could not reach 127.0.0.1"):
        connector.whoami()
    assert [status for _conn, _method, status, _s in seen] == ["unreachable", "unreachable"]


def test_an_open_breaker_fails_fast_without_reaching_the_instance_then_probes(target):
    connector = target.connector(max_retries=0, breaker_failures=2, breaker_reset_s=0.3)
    key = a_ticket(connector)
    path = ticket_path(target, key)
    target.clear_journal()
    target.fault(status=503, count=2, method="GET", path_prefix=path)
    for _ in range(2):
        with pytest.raises(ServerError):
            read(connector, key)
    with pytest.raises(CircuitOpen) as raised:
        read(connector, key)
    assert raised.value.retryable and 0 < raised.value.retry_after_s <= 0.3
    assert len(calls_to(target, "GET", path)) == 2  # the refused call never left

    def probe_succeeds():
        try:
            return read(connector, key)
        except CircuitOpen:
            return None

    assert wait_until(probe_succeeds, timeout_s=5).ticket_key == key
    assert [c["status"] for c in calls_to(target, "GET", path)] == [503, 503, 200]


def test_every_attempt_reaches_the_metrics_hook(target):
    seen = []
    connector = target.connector(on_call=[lambda *call: seen.append(call)])
    key = a_ticket(connector)
    seen.clear()
    target.fault(status=503, count=1, method="GET", path_prefix=ticket_path(target, key))
    read(connector, key)
    assert [(conn, method, status) for conn, method, status, _ in seen] == [
        (f"test-{target.name}", "GET", 503), (f"test-{target.name}", "GET", 200)]
    assert all(seconds >= 0 for *_, seconds in seen)


def test_a_lifecycle_step_reads_once_and_writes_once(target):
    connector = target.connector()
    key = a_ticket(connector)
    target.clear_journal()
    connector.get_ticket(key, fields=tuple(FIELDS[target.tool]))
    assert len(target.journal()) == 1
    target.clear_journal()
    assert connector.write(key, TicketWrite(fields=FIELDS[target.tool], internal_note="Experience score 61",
                                            marker="xla:step:1"))
    methods = [e["method"] for e in target.journal()]
    if target.tool == "servicenow":
        assert methods == ["GET", "PATCH"]          # marker check, then fields and note together
    else:
        assert methods == ["GET", "POST", "PUT"]    # current state, the new comment, the fields
