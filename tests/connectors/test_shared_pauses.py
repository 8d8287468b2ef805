"""A 429's Retry-After holds back the calls of every process of the installation, not only the
calls of the process that received it.

Two connectors to one simulator, each with its own HTTP client (as two worker processes have),
share the pauses of one migrated database. What reached the instance, and when, is read from
the simulator's journal.
"""
from __future__ import annotations

import time

import pytest

from connectors import make_connector
from connectors.errors import RateLimited
from jobs.pauses import ConnectionPauses
from storage.db import make_engine, make_session_factory
from tests.connectors.test_fault_matrix import a_ticket, calls_to, read, ticket_path


@pytest.fixture
def two_processes(servicenow, sqlite_url):
    """(target, [connector of "process" 1, connector of "process" 2]) sharing one database's pauses."""
    engines = [make_engine(sqlite_url), make_engine(sqlite_url)]
    connection = servicenow.connection(timeout_s=2.0)
    connectors = [make_connector(connection, shared_pauses=ConnectionPauses(make_session_factory(engine)))
                  for engine in engines]
    yield servicenow, connectors
    for connector in connectors:
        connector.close()
    for engine in engines:
        engine.dispose()


def a_note_refused_for_one_second(target, connector, marker: str) -> tuple[str, str]:
    """A ticket whose internal note `connector` just sent and got 429 with `Retry-After: 1` for;
    (ticket key, its path on the instance). The journal holds that call only.

    A note is never repeated inside its call: the 429 goes straight back to the job, so the
    next call a test makes comes right after it."""
    key = a_ticket(connector)
    path = ticket_path(target, key)
    target.clear_journal()
    target.fault(status=429, retry_after=1, count=1, method="PATCH", path_prefix=path)
    with pytest.raises(RateLimited):
        connector.add_internal_note(key, "Experience score 61", marker=marker)
    return key, path


def test_a_wait_longer_than_a_call_stops_the_other_process_before_it_calls(two_processes):
    target, (first, second) = two_processes
    key = a_ticket(first)
    path = ticket_path(target, key)
    target.clear_journal()
    target.fault(status=429, retry_after=30, count=1, method="GET", path_prefix=path)
    with pytest.raises(RateLimited):
        read(first, key)
    with pytest.raises(RateLimited, match="not sent: the instance asked us to wait") as raised:
        read(second, key)
    assert raised.value.retry_after_s > 25, "the job layer reschedules the other process's job past the wait"
    assert len(target.journal()) == 1, "only the refused call reached the instance"


def test_a_short_wait_holds_the_other_process_until_it_has_passed(two_processes):
    target, (first, second) = two_processes
    key, path = a_note_refused_for_one_second(target, first, marker="xla:pause:1")
    read(second, key)
    [refused] = calls_to(target, "PATCH", path)
    [later] = calls_to(target, "GET", path)
    assert (refused["status"], later["status"]) == (429, 200)
    assert later["at"] - refused["at"] >= 1.0, "the second process's read waited for the end of the pause"


def test_a_longer_pause_recorded_while_waiting_holds_the_call_until_its_end(two_processes, sqlite_url):
    target, (first, second) = two_processes
    key, path = a_note_refused_for_one_second(target, first, marker="xla:pause:2")
    # While the second process waits out that second, another 429 (of a third process) asks for
    # two seconds from now: the second process must look again before it calls.
    engine = make_engine(sqlite_url)
    pauses = ConnectionPauses(make_session_factory(engine))
    client = second._http
    waits: list[float] = []

    def wait_while_another_process_is_refused(seconds: float) -> None:
        if not waits:
            pauses.pause(second.connection_id, 2.0)
        waits.append(seconds)
        time.sleep(seconds)

    client._sleep = wait_while_another_process_is_refused
    try:
        read(second, key)
    finally:
        engine.dispose()
    [refused] = calls_to(target, "PATCH", path)
    [later] = calls_to(target, "GET", path)
    assert len(waits) == 2, f"one wait for the first pause, one for the longer one: {waits}"
    assert later["at"] - refused["at"] >= 2.0, "the read waited for the end of the longer pause"
