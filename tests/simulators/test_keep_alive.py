"""The simulators keep HTTP/1.1 connections open between requests, as the vendors do.

Each test speaks HTTP over one raw loopback socket, so whether the server kept the connection,
closed it, or misread where a request ended is seen directly, never inferred from a client
library that silently reconnects.
"""
from __future__ import annotations

import base64
import json
import socket

import pytest

from tests.simulators.conftest import SERVICENOW_USERS

INTEGRATION_AUTH = "Basic " + base64.b64encode(
    f"xla.integration:{SERVICENOW_USERS['xla.integration']}".encode()).decode()


class RawConnection:
    """One TCP connection to a simulator; `send` writes bytes, `response` reads one answer."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.host = f"{host}:{port}"
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self._buffer = b""

    def request(self, method: str, path: str, body: bytes = b"", headers: dict | None = None,
                version: str = "HTTP/1.1") -> tuple[int, dict, bytes]:
        lines = [f"{method} {path} {version}", f"Host: {self.host}"]
        all_headers = {"Content-Length": str(len(body))} if body else {}
        all_headers.update(headers or {})
        lines += [f"{name}: {value}" for name, value in all_headers.items()]
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        return self.response()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server before a full answer")
            self._buffer += chunk
        head, self._buffer = self._buffer.split(marker, 1)
        return head

    def _read_exactly(self, count: int) -> bytes:
        while len(self._buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server in the middle of a body")
            self._buffer += chunk
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data

    def response(self) -> tuple[int, dict, bytes]:
        head = self._read_until(b"\r\n\r\n").decode("latin-1")
        status_line, *header_lines = head.split("\r\n")
        status = int(status_line.split(" ")[1])
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = self._read_exactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            body = b""
            while size := int(self._read_until(b"\r\n"), 16):
                body += self._read_exactly(size)
                self._read_exactly(2)
            self._read_until(b"\r\n")
        else:
            body = b""
        return status, headers, body

    def closed_by_server(self) -> bool:
        """Wait (10 s at most) for the server to close its side: True when it did, False when it
        sent something else or the deadline passed."""
        try:
            return self.sock.recv(1) == b""
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def connect():
    made: list[RawConnection] = []

    def make(url: str) -> RawConnection:
        made.append(RawConnection(url))
        return made[-1]

    yield make
    for connection in made:
        connection.close()


@pytest.mark.parametrize("tool", ["servicenow", "jira"])
def test_one_connection_carries_many_requests(start_sim, connect, tool):
    sim = start_sim(tool)
    connection = connect(sim.url)
    for _ in range(3):
        status, headers, body = connection.request("GET", "/_sim/health")
        assert status == 200 and json.loads(body)["tool"] == tool
        assert headers.get("connection") != "close"


def test_table_api_answers_and_failures_keep_the_connection(start_sim, connect):
    sim = start_sim("servicenow", users=SERVICENOW_USERS)
    connection = connect(sim.url)
    status, _, body = connection.request("GET", "/api/now/table/incident?sysparm_limit=1",
                                         headers={"Authorization": INTEGRATION_AUTH})
    assert status == 200 and len(json.loads(body)["result"]) == 1
    status, headers, _ = connection.request("GET", "/api/now/table/incident?sysparm_limit=1")
    assert status == 401 and headers["www-authenticate"] == 'Basic realm="Service-now"'
    status, _, body = connection.request("PATCH", "/api/now/table/incident/missing",
                                         body=b'{"urgency": "1"}',
                                         headers={"Authorization": INTEGRATION_AUTH,
                                                  "Content-Type": "application/json"})
    assert status == 404 and json.loads(body)["error"]["message"] == "No Record found"
    status, _, body = connection.request("GET", "/api/now/table/incident?sysparm_limit=2",
                                         headers={"Authorization": INTEGRATION_AUTH})
    assert status == 200 and len(json.loads(body)["result"]) == 2


def test_a_body_the_app_does_not_read_does_not_spill_into_the_next_request(start_sim, connect):
    sim = start_sim("servicenow")
    connection = connect(sim.url)
    # clearing faults reads no body: the server must skip these bytes itself, or it would
    # take them for requests and answer the next ones with health reports
    ignored = b"GET /_sim/health HTTP/1.1\r\n\r\n" * 200
    status, _, _ = connection.request("DELETE", "/_sim/faults", body=ignored)
    assert status == 204
    status, _, body = connection.request("GET", "/_sim/faults")
    assert status == 200 and json.loads(body) == []
    status, _, body = connection.request("GET", "/_sim/webhook")
    assert status == 200 and set(json.loads(body)) == {"url", "secret_set", "senders"}


def test_a_client_asking_to_close_gets_connection_close(start_sim, connect):
    sim = start_sim("servicenow")
    connection = connect(sim.url)
    status, headers, _ = connection.request("GET", "/_sim/health", headers={"Connection": "close"})
    assert status == 200 and headers["connection"] == "close"
    assert connection.closed_by_server()


def test_http_1_0_without_keep_alive_is_closed_after_the_answer(start_sim, connect):
    sim = start_sim("servicenow")
    connection = connect(sim.url)
    status, headers, body = connection.request("GET", "/_sim/health", version="HTTP/1.0")
    assert status == 200 and json.loads(body)["status"] == "ok"
    assert headers["connection"] == "close"
    assert connection.closed_by_server()


def test_a_chunked_request_body_is_read_and_then_the_connection_closes(start_sim, connect):
    sim = start_sim("servicenow")
    connection = connect(sim.url)
    payload = json.dumps({"url": "http://127.0.0.1:9/hook", "secret": None}).encode()
    chunks = b"%x\r\n%s\r\n" % (10, payload[:10]) + b"%x\r\n%s\r\n" % (len(payload) - 10, payload[10:])
    connection.send((f"PUT /_sim/webhook HTTP/1.1\r\nHost: {connection.host}\r\n"
                     "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
                    + chunks + b"0\r\n\r\n")
    status, headers, body = connection.response()
    assert status == 200 and json.loads(body)["url"] == "http://127.0.0.1:9/hook"
    assert headers["connection"] == "close"
    assert connection.closed_by_server()


def test_expect_100_continue_is_answered_before_the_body(start_sim, connect):
    sim = start_sim("servicenow")
    connection = connect(sim.url)
    payload = json.dumps({"status": 503, "count": 1}).encode()
    connection.send((f"POST /_sim/faults HTTP/1.1\r\nHost: {connection.host}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
                     "Expect: 100-continue\r\n\r\n").encode())
    status, _, _ = connection.response()
    assert status == 100
    connection.send(payload)
    status, _, body = connection.response()
    assert status == 201 and json.loads(body)["status"] == 503


def test_a_dropped_connection_fault_still_drops_a_kept_connection(start_sim, connect):
    sim = start_sim("servicenow", users=SERVICENOW_USERS)
    connection = connect(sim.url)
    status, _, _ = connection.request("GET", "/api/now/table/incident?sysparm_limit=1",
                                      headers={"Authorization": INTEGRATION_AUTH})
    assert status == 200
    sim.admin("POST", "/faults", {"drop": True, "path_prefix": "/api"})
    with pytest.raises(ConnectionError):
        connection.request("GET", "/api/now/table/incident?sysparm_limit=1",
                           headers={"Authorization": INTEGRATION_AUTH})
    fresh = connect(sim.url)
    status, _, _ = fresh.request("GET", "/api/now/table/incident?sysparm_limit=1",
                                 headers={"Authorization": INTEGRATION_AUTH})
    assert status == 200


def test_an_idle_kept_connection_does_not_hold_the_process_at_stop(start_sim, connect):
    sim = start_sim("servicenow")
    connection = connect(sim.url)
    status, _, _ = connection.request("GET", "/_sim/health")
    assert status == 200
    assert sim.stop() == 0  # ended by SIGTERM, not killed after the grace period
    assert connection.closed_by_server()
