"""Simulators (real processes, real HTTP on loopback) and connections to them, for connector tests.

Each simulator starts once per test session; every test gets it reset (seeded records, no
faults, empty journal, default limits). `Target` bundles one simulator with a way to build a
connection to it with the limits a test wants, so the same test runs against ServiceNow,
Jira Cloud (email + API token) and Jira Data Center (personal access token).
"""
from __future__ import annotations

import dataclasses
import secrets
import time
from dataclasses import dataclass, field

import pytest

from settings.model import AuthSettings, ConnectionSettings, LimitSettings

SN_USER, SN_READ_ONLY = "xla.integration", "xla.readonly"
JIRA_CLOUD_USER, JIRA_DC_USER, JIRA_READ_ONLY = "xla-bridge@example.com", "xla-bridge", "xla-readonly"
TOKEN_ENV = "XLA_TEST_CONNECTOR_TOKEN"

# Small numbers so failure paths finish quickly; wide pacing so ordinary tests never wait.
FAST_LIMITS = LimitSettings(timeout_s=2.0, requests_per_second=200.0, burst=200, ticket_writes_per_window=50,
                            ticket_write_window_s=1.0, max_retries=2, breaker_failures=50, breaker_reset_s=30.0)


@dataclass
class Target:
    """One simulator and the credentials of its integration user (and of a read-only user)."""

    name: str                     # "servicenow", "jira-cloud", "jira-datacenter"
    sim: object                   # simulators.common.SimulatorProcess
    tool: str
    deployment: str
    secret: str
    read_only_secret: str
    monkeypatch: pytest.MonkeyPatch = field(repr=False)

    def connection(self, *, read_only: bool = False, secret: str | None = None, base_url: str | None = None,
                   **limits) -> ConnectionSettings:
        """Settings of a connection to this simulator; `limits` override FAST_LIMITS."""
        self.monkeypatch.setenv(TOKEN_ENV, secret or (self.read_only_secret if read_only else self.secret))
        if self.tool == "servicenow":
            auth = AuthSettings(kind="basic", token_env=TOKEN_ENV, user=SN_READ_ONLY if read_only else SN_USER)
        elif self.deployment == "cloud":
            auth = AuthSettings(kind="basic", token_env=TOKEN_ENV,
                                user=f"{JIRA_READ_ONLY}@example.com" if read_only else JIRA_CLOUD_USER)
        else:
            auth = AuthSettings(kind="bearer", token_env=TOKEN_ENV)
        return ConnectionSettings(id=f"test-{self.name}", tool=self.tool, base_url=base_url or self.sim.url, auth=auth,
                                  deployment=self.deployment, allow_loopback_http=True,
                                  limits=dataclasses.replace(FAST_LIMITS, **limits))

    def connector(self, **options):
        from connectors import make_connector

        on_call = options.pop("on_call", None)
        connection = self.connection(**options)
        return make_connector(connection, **({"on_call": on_call} if on_call is not None else {}))

    def fault(self, **spec) -> None:
        self.sim.admin("POST", "/faults", json=spec)

    def journal(self) -> list[dict]:
        return self.sim.journal()

    def requests(self, method: str | None = None, path_part: str = "") -> list[dict]:
        """Journal entries of API calls, optionally of one method and containing `path_part`."""
        return [e for e in self.journal() if (method is None or e["method"] == method) and path_part in e["path"]]

    def clear_journal(self) -> None:
        self.sim.admin("DELETE", "/journal")


def _start(tool: str, **kwargs):
    from simulators.common import start_simulator

    return start_simulator(tool, **kwargs)


@pytest.fixture(scope="session")
def _secrets():
    return {name: secrets.token_urlsafe(18) for name in ("sn", "sn_ro", "jira", "jira_ro", "agent")}


@pytest.fixture(scope="session")
def servicenow_sim(_secrets):
    sim = _start("servicenow", users={SN_USER: _secrets["sn"], SN_READ_ONLY: _secrets["sn_ro"],
                                      "admin": _secrets["agent"]},
                 extra_args=["--read-only-users", SN_READ_ONLY])
    yield sim
    sim.stop()


@pytest.fixture(scope="session")
def jira_cloud_sim(_secrets):
    sim = _start("jira", users={JIRA_CLOUD_USER: _secrets["jira"], f"{JIRA_READ_ONLY}@example.com": _secrets["jira_ro"]},
                 extra_args=["--deployment", "cloud", "--read-only-users", f"{JIRA_READ_ONLY}@example.com"])
    yield sim
    sim.stop()


@pytest.fixture(scope="session")
def jira_dc_sim(_secrets):
    sim = _start("jira", users={"agent": _secrets["agent"]},
                 tokens={JIRA_DC_USER: _secrets["jira"], JIRA_READ_ONLY: _secrets["jira_ro"]},
                 extra_args=["--deployment", "datacenter", "--read-only-users", JIRA_READ_ONLY])
    yield sim
    sim.stop()


def _fresh(sim) -> None:
    sim.admin("POST", "/reset")
    if sim.tool == "jira":
        sim.admin("PUT", "/limits", json={"burst": 100, "per_issue_writes": 20, "per_issue_window_s": 2.0,
                                          "per_hour": None})
    else:
        sim.admin("PUT", "/limits", json={"per_hour": None})


@pytest.fixture
def servicenow(servicenow_sim, _secrets, monkeypatch) -> Target:
    _fresh(servicenow_sim)
    return Target("servicenow", servicenow_sim, "servicenow", "cloud", _secrets["sn"], _secrets["sn_ro"], monkeypatch)


@pytest.fixture(params=["cloud", "datacenter"])
def jira(request, _secrets, monkeypatch) -> Target:
    """Jira Cloud with basic auth, then Jira Data Center with a bearer token."""
    sim = request.getfixturevalue("jira_cloud_sim" if request.param == "cloud" else "jira_dc_sim")
    _fresh(sim)
    return Target(f"jira-{request.param}", sim, "jira", request.param, _secrets["jira"], _secrets["jira_ro"],
                  monkeypatch)


@pytest.fixture(params=["servicenow", "jira-cloud", "jira-datacenter"])
def target(request, _secrets, monkeypatch) -> Target:
    """Each tool in turn, for behaviour both connectors share (the fault matrix)."""
    if request.param == "servicenow":
        return request.getfixturevalue("servicenow")
    deployment = request.param.split("-", 1)[1]
    sim = request.getfixturevalue("jira_cloud_sim" if deployment == "cloud" else "jira_dc_sim")
    _fresh(sim)
    return Target(request.param, sim, "jira", deployment, _secrets["jira"], _secrets["jira_ro"], monkeypatch)


def wait_until(condition, timeout_s: float = 5.0, interval_s: float = 0.02):
    """Poll `condition()` until it returns something truthy (returned) or the deadline passes (AssertionError)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(interval_s)
