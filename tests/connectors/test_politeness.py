"""Pacing and the circuit breaker, driven by a fake clock so no test waits."""
import pytest

from connectors.errors import CircuitOpen
from connectors.politeness import CircuitBreaker, TicketWriteWindow, TokenBucket


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_token_bucket_lets_a_burst_through_then_paces_at_the_steady_rate():
    clock = FakeClock()
    bucket = TokenBucket(rate=5, burst=3, clock=clock, sleep=clock.sleep)
    waits = [bucket.acquire() for _ in range(6)]
    assert waits[:3] == [0, 0, 0]
    assert waits[3:] == pytest.approx([0.2, 0.2, 0.2])
    # ten calls spread over two seconds at 5/s never wait once the bucket is idle again
    clock.now += 10
    assert all(bucket.acquire() == 0 for _ in range(3))


def test_ticket_window_spaces_writes_to_one_ticket_but_not_to_others():
    clock = FakeClock()
    window = TicketWriteWindow(limit=2, window_s=2.0, clock=clock, sleep=clock.sleep)
    assert window.acquire("INC1") == 0
    assert window.acquire("INC1") == 0
    assert window.acquire("INC2") == 0
    assert window.acquire("INC1") == pytest.approx(2.0)  # third write waits for the first to leave
    assert window.acquire("INC1") == pytest.approx(0.0)  # the second left the window meanwhile
    assert window.acquire("INC1") == pytest.approx(2.0)


def test_breaker_opens_after_consecutive_failures_and_reports_time_to_half_open():
    clock = FakeClock()
    breaker = CircuitBreaker("snow", failures=3, reset_s=30, clock=clock)
    for _ in range(2):
        breaker.before_call()
        breaker.record_failure()
    breaker.before_call()
    breaker.record_neutral()  # a 4xx answer: the instance is up, the count starts again
    for _ in range(3):
        breaker.before_call()
        breaker.record_failure()
    clock.now += 10
    with pytest.raises(CircuitOpen) as raised:
        breaker.before_call()
    assert raised.value.retryable
    assert raised.value.retry_after_s == pytest.approx(20)


def test_half_open_breaker_lets_one_probe_through_and_closes_on_success():
    clock = FakeClock()
    breaker = CircuitBreaker("jira", failures=1, reset_s=5, clock=clock)
    breaker.before_call()
    breaker.record_failure()
    clock.now += 5
    assert breaker.state == "half_open"
    breaker.before_call()  # the probe
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # a second caller while the probe is out
    breaker.record_success()
    assert breaker.state == "closed"
    breaker.before_call()


def test_failed_probe_opens_the_breaker_again_for_a_full_period():
    clock = FakeClock()
    breaker = CircuitBreaker("jira", failures=2, reset_s=5, clock=clock)
    for _ in range(2):
        breaker.before_call()
        breaker.record_failure()
    clock.now += 6
    breaker.before_call()
    breaker.record_failure()
    with pytest.raises(CircuitOpen) as raised:
        breaker.before_call()
    assert raised.value.retry_after_s == pytest.approx(5)
