"""The shared simulator plumbing the ServiceNow simulator stands on (and the Jira one too)."""
from __future__ import annotations

import pytest

from simulators.common import (HourlyUserLimiter, SimulatorStartError, SlidingWindowLimiter,
                               parse_credentials, parse_fault, start_simulator)


class FakeClock:
    """A clock the test moves by hand, so window edges are exact and nothing sleeps."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class TestHourlyUserLimiter:
    def test_window_is_the_clock_hour(self):
        clock = FakeClock(3600 * 1000 + 3500)  # 100 s before the next full hour
        limiter = HourlyUserLimiter(2, clock=clock)
        assert [limiter.hit("beth").allowed for _ in range(3)] == [True, True, False]
        refused = limiter.hit("beth")
        assert refused.reset_at == 3600 * 1001 and refused.retry_after_s == 100
        clock.now = 3600 * 1001 + 1
        assert limiter.hit("beth").allowed

    def test_refusals_do_not_use_up_the_next_window(self):
        clock = FakeClock(0)
        limiter = HourlyUserLimiter(1, clock=clock)
        for _ in range(5):
            limiter.hit("beth")
        clock.now = 3600
        assert limiter.hit("beth").remaining == 0 and limiter.hit("beth").allowed is False

    def test_no_limit(self):
        limiter = HourlyUserLimiter(None)
        assert all(limiter.hit("beth").allowed for _ in range(100))


class TestSlidingWindowLimiter:
    def test_at_most_n_per_window_per_key(self):
        clock = FakeClock(10.0)
        limiter = SlidingWindowLimiter(3, 2.0, clock=clock)
        assert [limiter.hit("ISSUE-1").allowed for _ in range(4)] == [True, True, True, False]
        assert limiter.hit("ISSUE-2").allowed
        clock.now = 11.5
        refused = limiter.hit("ISSUE-1")
        assert not refused.allowed and refused.retry_after_s == 1
        clock.now = 12.01
        assert limiter.hit("ISSUE-1").allowed

    def test_reconfigure_starts_afresh(self):
        limiter = SlidingWindowLimiter(1, 60.0, clock=FakeClock(0.0))
        limiter.hit("k")
        assert not limiter.hit("k").allowed
        limiter.configure(limit=2)
        assert limiter.hit("k").allowed and limiter.hit("k").allowed and not limiter.hit("k").allowed


class TestParsing:
    def test_credentials_allow_colons_in_secrets(self):
        assert parse_credentials("a:b,c:d:e, ") == {"a": "b", "c": "d:e"}

    @pytest.mark.parametrize("text", ["nopassword", ":secret"])
    def test_malformed_credentials(self, text):
        with pytest.raises(ValueError):
            parse_credentials(text)

    def test_fault_method_is_normalised(self):
        fault = parse_fault({"status": 503, "method": "patch"})
        assert fault.method == "PATCH" and fault.matches("PATCH", "/api/x") and not fault.matches("GET", "/api/x")


class TestStartSimulator:
    def test_a_process_that_dies_reports_its_output(self):
        with pytest.raises(SimulatorStartError) as failure:
            start_simulator("servicenow", users={}, startup_timeout_s=20)
        assert "XLA_SIM_USERS" in str(failure.value)

    def test_stop_ends_the_process_cleanly(self, start_sim):
        sim = start_sim("servicenow")
        assert sim.admin("GET", "/health")["status"] == "ok"
        assert sim.stop() == 0
