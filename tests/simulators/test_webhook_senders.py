"""Concurrent webhook delivery: `--webhook-senders N` threads in the simulators' dispatcher.

The receiver here is a real HTTP server on loopback. Concurrency is proven, never timed: a
receiver that holds requests on a `threading.Barrier(N)` lets them through only when N are
inside at once, and answers 500 when the barrier's deadline passes instead.
"""
from __future__ import annotations

import json
import threading

import pytest
import requests

from simulators.common import (MAX_WEBHOOK_SENDERS, SimulatorStartError, WebhookDispatcher,
                               check_sender_count, start_simulator)
from simulators.post_receiver import PostReceiver
from tests.simulators.conftest import wait_until

BARRIER_TIMEOUT_S = 10.0


def plain_headers(body: bytes, delivery_id: str, attempt: int, secret: str | None) -> dict:
    return {"X-Delivery": delivery_id, "X-Attempt": str(attempt)}


class HoldingReceiver:
    """Records every POST; the first `hold` of them wait on one `Barrier(hold)` before answering.

    `answer` decides each status from (delivery id, attempt). `max_in_flight` is the most
    requests that were inside the handler at once; `broken` is True when the barrier's deadline
    passed (fewer than `hold` arrived together).
    """

    def __init__(self, hold: int = 0, answer=lambda delivery_id, attempt: 204) -> None:
        self.received: list[dict] = []
        self.broken = False
        self.max_in_flight = 0
        self.release = threading.Event()  # set it to let requests the test keeps waiting go on
        self.release.set()
        self._in_flight = 0
        self._arrivals = 0
        self._hold = hold
        self._barrier = threading.Barrier(hold) if hold else None
        self._lock = threading.Lock()
        self._server = PostReceiver(self._handle)
        self.url = self._server.url
        self._answer = answer

    def _handle(self, headers, body: bytes) -> int:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            arrival = self._arrivals
            self._arrivals += 1
        try:
            if self._barrier is not None and arrival < self._hold:
                try:
                    self._barrier.wait(BARRIER_TIMEOUT_S)
                except threading.BrokenBarrierError:
                    with self._lock:
                        self.broken = True
                    return 500
            self.release.wait(BARRIER_TIMEOUT_S)
            delivery_id = headers.get("X-Delivery") or headers.get("X-Atlassian-Webhook-Identifier") \
                or headers.get("webhook-id")
            attempt = int(headers.get("X-Attempt") or 1)
            status = self._answer(delivery_id, attempt)
            with self._lock:
                self.received.append({"delivery_id": delivery_id, "attempt": attempt, "status": status,
                                      "body": body})
            return status
        finally:
            with self._lock:
                self._in_flight -= 1

    def ids(self, status_ok: bool | None = None) -> list[str]:
        with self._lock:
            return [r["delivery_id"] for r in self.received
                    if status_ok is None or (200 <= r["status"] < 300) == status_ok]

    def stop(self) -> None:
        self.release.set()
        self._server.close()


@pytest.fixture
def make_dispatcher():
    """Factory of started dispatchers posting to a given URL; each is stopped at the end."""
    made: list[WebhookDispatcher] = []

    def make(url: str, senders: int, **options) -> WebhookDispatcher:
        options.setdefault("retry_delays_s", (0.01, 0.01, 0.01))
        dispatcher = WebhookDispatcher(plain_headers, url=url, senders=senders, **options)
        made.append(dispatcher)
        return dispatcher.start()

    yield make
    for dispatcher in made:
        dispatcher.stop()


@pytest.fixture
def receivers():
    made: list[HoldingReceiver] = []

    def make(**options) -> HoldingReceiver:
        made.append(HoldingReceiver(**options))
        return made[-1]

    yield make
    for receiver in made:
        receiver.stop()


def enqueue_many(dispatcher: WebhookDispatcher, count: int, prefix: str = "d") -> list[str]:
    ids = [f"{prefix}-{n:03d}" for n in range(count)]
    for delivery_id in ids:
        dispatcher.enqueue(delivery_id, {"n": delivery_id})
    return ids


def wait_idle(dispatcher: WebhookDispatcher) -> None:
    wait_until(dispatcher.idle, message="the dispatcher to go idle")


class TestConcurrentDelivery:
    @pytest.mark.parametrize("senders", [2, 4])
    def test_n_senders_have_n_deliveries_in_flight_at_once(self, make_dispatcher, receivers, senders):
        receiver = receivers(hold=senders)
        dispatcher = make_dispatcher(receiver.url, senders)
        enqueue_many(dispatcher, senders * 3)
        wait_idle(dispatcher)
        assert not receiver.broken, f"fewer than {senders} deliveries were in flight together"
        assert receiver.max_in_flight == senders
        assert all(d["status"] == "delivered" and d["attempts"] == 1 for d in dispatcher.deliveries())

    def test_one_sender_delivers_one_at_a_time_in_order(self, make_dispatcher, receivers):
        receiver = receivers()
        receiver.release.clear()  # the first delivery waits while the rest queue up behind it
        dispatcher = make_dispatcher(receiver.url, 1)
        ids = enqueue_many(dispatcher, 30)
        receiver.release.set()
        wait_idle(dispatcher)
        assert receiver.ids() == ids
        assert receiver.max_in_flight == 1

    def test_every_delivery_arrives_once_and_failures_are_retried(self, make_dispatcher, receivers):
        failing = {f"d-{n:03d}" for n in range(0, 40, 5)}
        receiver = receivers(answer=lambda delivery_id, attempt:
                             500 if delivery_id in failing and attempt == 1 else 202)
        dispatcher = make_dispatcher(receiver.url, 4)
        ids = enqueue_many(dispatcher, 40)
        wait_idle(dispatcher)
        accepted = receiver.ids(status_ok=True)
        assert sorted(accepted) == ids  # each exactly once
        assert sorted(receiver.ids(status_ok=False)) == sorted(failing)  # each failed once, then retried
        records = {d["delivery_id"]: d for d in dispatcher.deliveries()}
        assert {d["status"] for d in records.values()} == {"delivered"}
        assert all(records[i]["attempts"] == (2 if i in failing else 1) for i in ids)
        assert all(records[i]["http_status"] == 202 for i in ids)

    def test_a_delivery_failing_every_attempt_ends_failed_once(self, make_dispatcher, receivers):
        receiver = receivers(answer=lambda delivery_id, attempt: 503 if delivery_id == "d-002" else 204)
        dispatcher = make_dispatcher(receiver.url, 3, retry_delays_s=(0.01, 0.01))
        ids = enqueue_many(dispatcher, 6)
        wait_idle(dispatcher)
        assert receiver.ids().count("d-002") == 3  # one attempt more than delays
        records = {d["delivery_id"]: d for d in dispatcher.deliveries()}
        assert records["d-002"]["status"] == "failed" and records["d-002"]["http_status"] == 503
        assert sorted(receiver.ids(status_ok=True)) == [i for i in ids if i != "d-002"]

    def test_redeliver_sends_the_same_id_again_as_a_new_record(self, make_dispatcher, receivers):
        receiver = receivers()
        dispatcher = make_dispatcher(receiver.url, 3)
        enqueue_many(dispatcher, 3)
        wait_idle(dispatcher)
        original = dispatcher.deliveries()[1]
        again = dispatcher.redeliver(original["id"])
        wait_idle(dispatcher)
        assert again.redelivery_of == original["id"] and again.delivery_id == original["delivery_id"]
        assert receiver.ids().count(original["delivery_id"]) == 2
        assert [d["status"] for d in dispatcher.deliveries()] == ["delivered"] * 4

    def test_capacity_keeps_the_newest_records_and_sends_none_twice(self, make_dispatcher, receivers):
        receiver = receivers()
        receiver.release.clear()  # the first deliveries wait while the rest queue up
        dispatcher = make_dispatcher(receiver.url, 4, capacity=5)
        ids = enqueue_many(dispatcher, 20)
        receiver.release.set()
        wait_idle(dispatcher)
        assert [d["delivery_id"] for d in dispatcher.deliveries()] == ids[-5:]
        assert {d["status"] for d in dispatcher.deliveries()} == {"delivered"}
        sent = receiver.ids()
        assert len(sent) == len(set(sent)) and set(ids[-5:]) <= set(sent)
        assert len(sent) < len(ids)  # records evicted while queued are dropped, not sent

    def test_clear_while_in_flight_neither_records_nor_retries(self, make_dispatcher, receivers):
        receiver = receivers(answer=lambda delivery_id, attempt: 500)
        receiver.release.clear()
        dispatcher = make_dispatcher(receiver.url, 2)
        enqueue_many(dispatcher, 2)
        wait_until(lambda: receiver.max_in_flight == 2, message="both deliveries in flight")
        dispatcher.clear()
        receiver.release.set()
        wait_idle(dispatcher)
        assert dispatcher.deliveries() == []
        assert len(receiver.ids()) == 2  # answered 500, and not tried again


class TestSenderThreads:
    def test_stop_joins_every_sender_thread(self, receivers):
        receiver = receivers()
        dispatcher = WebhookDispatcher(plain_headers, url=receiver.url, senders=4).start()
        threads = dispatcher.sender_threads()
        assert len(threads) == 4
        enqueue_many(dispatcher, 8)
        wait_idle(dispatcher)
        dispatcher.stop()
        assert dispatcher.sender_threads() == []
        assert not any(thread.is_alive() for thread in threads)
        assert not set(threads) & set(threading.enumerate())

    def test_stop_waits_for_deliveries_in_flight(self, receivers):
        receiver = receivers()
        receiver.release.clear()
        dispatcher = WebhookDispatcher(plain_headers, url=receiver.url, senders=3).start()
        enqueue_many(dispatcher, 3)
        wait_until(lambda: receiver.max_in_flight == 3, message="three deliveries in flight")
        stop_called = threading.Event()

        def stop() -> None:
            stop_called.set()
            dispatcher.stop(timeout_s=30)

        stopper = threading.Thread(target=stop)
        stopper.start()
        stop_called.wait(10)
        receiver.release.set()
        stopper.join(30)
        assert not stopper.is_alive()
        assert dispatcher.sender_threads() == []
        assert [d["status"] for d in dispatcher.deliveries()] == ["delivered"] * 3

    def test_deliveries_left_at_stop_stay_pending(self, receivers):
        receiver = receivers(answer=lambda delivery_id, attempt: 500)
        dispatcher = WebhookDispatcher(plain_headers, url=receiver.url, senders=2,
                                       retry_delays_s=(3600,)).start()
        enqueue_many(dispatcher, 2)
        wait_until(lambda: len(receiver.ids()) == 2, message="two first attempts")
        dispatcher.stop()
        assert dispatcher.sender_threads() == []
        assert [d["status"] for d in dispatcher.deliveries()] == ["pending", "pending"]

    def test_more_senders_while_running_are_all_used(self, make_dispatcher, receivers):
        receiver = receivers(hold=3)
        dispatcher = make_dispatcher(receiver.url, 1)
        dispatcher.set_senders(3)
        assert len(dispatcher.sender_threads()) == 3
        enqueue_many(dispatcher, 6)
        wait_idle(dispatcher)
        assert not receiver.broken and receiver.max_in_flight == 3

    def test_fewer_senders_while_running_retire_the_rest(self, make_dispatcher, receivers):
        receiver = receivers()
        dispatcher = make_dispatcher(receiver.url, 4)
        dispatcher.set_senders(1)
        wait_until(lambda: len(dispatcher.sender_threads()) == 1, message="three senders to leave")
        receiver.release.clear()
        ids = enqueue_many(dispatcher, 10)
        receiver.release.set()
        wait_idle(dispatcher)
        assert receiver.ids() == ids and receiver.max_in_flight == 1

    @pytest.mark.parametrize("value", [0, -1, MAX_WEBHOOK_SENDERS + 1, "2", 1.5, True])
    def test_sender_count_is_checked(self, value):
        with pytest.raises(ValueError):
            check_sender_count(value)
        with pytest.raises(ValueError):
            WebhookDispatcher(plain_headers, senders=value)


# -- through the simulator processes ------------------------------------------------------------

def advance_until_deliveries(sim, count: int) -> None:
    """Play scenario steps until at least `count` deliveries were queued."""
    wait_until(lambda: sim.admin("POST", "/scenario/advance") is not None
               and len(sim.deliveries()) >= count, timeout_s=30, message=f"{count} deliveries queued")


@pytest.mark.parametrize("tool", ["servicenow", "jira"])
class TestSimulatorOption:
    def test_option_runs_that_many_deliveries_at_once(self, start_sim, receivers, tool):
        receiver = receivers(hold=3)
        sim = start_sim(tool, webhook_url=receiver.url, extra_args=("--webhook-senders", "3"))
        assert sim.admin("GET", "/health")["webhook_senders"] == 3
        advance_until_deliveries(sim, 6)
        wait_until(lambda: sim.admin("GET", "/health")["webhooks_idle"], timeout_s=30,
                   message="deliveries to finish")
        assert not receiver.broken, "three deliveries were never in flight together"
        assert receiver.max_in_flight == 3
        deliveries = sim.deliveries()
        assert {d["status"] for d in deliveries} == {"delivered"}
        assert sorted(receiver.ids(status_ok=True)) == sorted(d["delivery_id"] for d in deliveries)

    def test_admin_api_reads_and_changes_the_senders(self, start_sim, receivers, tool):
        receiver = receivers(hold=2)
        sim = start_sim(tool)
        assert sim.admin("GET", "/webhook")["senders"] == 1
        assert sim.admin("PUT", "/webhook", {"url": receiver.url, "senders": 2})["senders"] == 2
        # a PUT that names no senders keeps them (so pointing the URL elsewhere does not reset it)
        assert sim.admin("PUT", "/webhook", {"url": receiver.url})["senders"] == 2
        for bad in (0, MAX_WEBHOOK_SENDERS + 1, "many"):
            response = requests.put(f"{sim.url}/_sim/webhook", json={"url": None, "senders": bad}, timeout=10)
            assert response.status_code == 400 and "senders" in response.json()["error"]
        assert sim.admin("GET", "/webhook") == {"url": receiver.url, "secret_set": False, "senders": 2}
        advance_until_deliveries(sim, 4)
        wait_until(lambda: sim.admin("GET", "/health")["webhooks_idle"], timeout_s=30,
                   message="deliveries to finish")
        assert not receiver.broken and receiver.max_in_flight == 2
        assert all(json.loads(r["body"]) for r in receiver.received)

    def test_option_out_of_range_stops_the_process_with_a_message(self, tool):
        with pytest.raises(SimulatorStartError, match="senders must be between 1 and"):
            start_simulator(tool, extra_args=("--webhook-senders", "0"), startup_timeout_s=20)
