"""Start, drive and stop the demo's processes. See the package docstring."""
from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from demo.progress import Progress

ROOT = Path(__file__).resolve().parent.parent
SN_ID, JIRA_ID = "servicenow-demo", "jira-demo"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def demo_config(workdir: Path, port: int, sn_url: str, jira_url: str) -> str:
    return f'''# Written by `python app.py demo`; secrets are in the environment of its processes.
[service]
public_url = "http://127.0.0.1:{port}"
database_url = "sqlite:///{workdir / 'xla-bridge.db'}"
log_level = "WARNING"
secret_key_env = "XLA_DEMO_SECRET_KEY"

[server]
bind = "127.0.0.1:{port}"
workers = 2
threads = 4

[worker]
concurrency = 4
poll_interval_s = 0.2

[scheduler]
reconcile_interval_s = 30
reaper_interval_s = 5
surveys_interval_s = 10

[[connections]]
id = "{SN_ID}"
tool = "servicenow"
base_url = "{sn_url}"
allow_loopback_http = true
webhook_secret_env = "XLA_DEMO_SN_WEBHOOK_SECRET"
[connections.auth]
kind = "basic"
user = "xla.integration"
token_env = "XLA_DEMO_SN_PASSWORD"
[connections.limits]
# The simulators run on this machine: no need for the production pacing (5 calls per second).
requests_per_second = 40
burst = 40

[[connections]]
id = "{JIRA_ID}"
tool = "jira"
base_url = "{jira_url}"
allow_loopback_http = true
webhook_secret_env = "XLA_DEMO_JIRA_WEBHOOK_SECRET"
[connections.auth]
kind = "basic"
user = "xla-bridge@example.com"
token_env = "XLA_DEMO_JIRA_TOKEN"
[connections.limits]
# The simulators run on this machine: no need for the production pacing (5 calls per second).
requests_per_second = 40
burst = 40
'''


class Demo:
    def __init__(self, seed: int, workdir: Path):
        self.seed = seed
        self.workdir = workdir
        self.processes: list[subprocess.Popen] = []
        self.simulators = []
        self.port = free_port()
        self.service_url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ,
                        XLA_DEMO_SECRET_KEY=secrets.token_urlsafe(32),
                        XLA_DEMO_SN_WEBHOOK_SECRET="whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
                        XLA_DEMO_JIRA_WEBHOOK_SECRET=secrets.token_urlsafe(24),
                        XLA_DEMO_SN_PASSWORD=secrets.token_urlsafe(16),
                        XLA_DEMO_JIRA_TOKEN=secrets.token_urlsafe(16),
                        PYTHONUNBUFFERED="1")
        self.config_path = workdir / "config.toml"
        self._journal_seen: dict[str, int] = {}
        self._links: set[str] = set()

    def start(self) -> None:
        from simulators.common import start_simulator

        agent_password = secrets.token_urlsafe(12)
        self.sn = start_simulator(
            "servicenow", seed=self.seed, webhook_url=f"{self.service_url}/webhooks/{SN_ID}",
            webhook_secret=self.env["XLA_DEMO_SN_WEBHOOK_SECRET"],
            users={"admin": agent_password, "xla.integration": self.env["XLA_DEMO_SN_PASSWORD"]})
        self.simulators.append(self.sn)
        self.jira = start_simulator(
            "jira", seed=self.seed, webhook_url=f"{self.service_url}/webhooks/{JIRA_ID}",
            webhook_secret=self.env["XLA_DEMO_JIRA_WEBHOOK_SECRET"],
            users={"agent@example.com": agent_password, "xla-bridge@example.com": self.env["XLA_DEMO_JIRA_TOKEN"]},
            extra_args=["--deployment", "cloud"])
        self.simulators.append(self.jira)
        self.config_path.write_text(demo_config(self.workdir, self.port, self.sn.url, self.jira.url))
        self.env["XLA_BRIDGE_CONFIG"] = str(self.config_path)
        self._run_app("migrate", wait=True)
        for command in ("serve", "worker", "scheduler"):
            self._run_app(command)
        self._wait_ready()

    def _run_app(self, command: str, wait: bool = False) -> None:
        log = open(self.workdir / f"{command}.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen([sys.executable, str(ROOT / "app.py"), command, "--config", str(self.config_path)],
                                   cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        if wait:
            if process.wait(120) != 0:
                raise RuntimeError(f"`app.py {command}` failed; see {self.workdir / (command + '.log')}")
            return
        self.processes.append(process)

    def _wait_ready(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.service_url}/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"a service process exited early; logs are in {self.workdir}")
            time.sleep(0.2)
        raise RuntimeError(f"the service did not become ready; logs are in {self.workdir}")

    def advance(self) -> list[dict]:
        steps = []
        for simulator in self.simulators:
            try:
                steps.append({"tool": simulator.tool, **simulator.admin("POST", "/scenario/advance")})
            except requests.RequestException as exc:
                steps.append({"tool": simulator.tool, "error": str(exc)})
        return steps

    def survey_links(self) -> set[str]:
        """Survey links the service posted as customer-visible comments, as the callers would see them."""
        from surveys.respondents import find_survey_links

        for simulator in self.simulators:
            for entry in simulator.journal(after=self._journal_seen.get(simulator.tool, 0)):
                self._journal_seen[simulator.tool] = max(self._journal_seen.get(simulator.tool, 0), entry["id"])
                self._links.update(find_survey_links(json.dumps(entry.get("body"))))
        return set(self._links)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        for simulator in self.simulators:
            simulator.stop()


def run_demo(seconds: float = 0, seed: int = 42, config_path: str | None = None) -> int:
    """Run the demo until Ctrl-C or `seconds`; returns 0 when every process stopped cleanly."""
    if config_path:
        print("demo: --config is ignored; the demo writes its own configuration", file=sys.stderr)
    workdir = Path(tempfile.mkdtemp(prefix="xla-demo-"))
    demo = Demo(seed, workdir)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"XLA Bridge demo — starting simulators and the service (work folder {workdir})", flush=True)
    try:
        demo.start()
        progress = Progress(demo, workdir / "xla-bridge.db")
        progress.banner()
        from surveys.respondents import SimulatedRespondents

        respondents = SimulatedRespondents(seed, response_rate=0.6)
        answered: set[str] = set()
        started = time.monotonic()
        tick = 0
        while not stop.is_set() and (not seconds or time.monotonic() - started < seconds):
            demo.advance()
            tick += 1
            if tick % 5 == 0:
                answered |= answer_new_surveys(demo, respondents, answered)
            if tick % 4 == 0:
                progress.print_line(time.monotonic() - started)
                progress.print_recent_writes()
            stop.wait(0.5)
        progress.print_line(time.monotonic() - started)
        progress.summary()
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
    finally:
        demo.stop()
    print("demo stopped; every process it started has ended.", flush=True)
    return 0


def answer_new_surveys(demo: Demo, respondents, answered: set[str]) -> set[str]:
    """Simulated end users open the survey links that reached them; some answer, some do not."""
    fresh = sorted(demo.survey_links() - answered)
    for link in fresh:
        try:
            respondents.answer(link)
        except requests.RequestException:
            pass
    return set(fresh)
