"""The service's own processes (`python app.py serve|worker|scheduler|replay`), run for real.

Each long-running process gets its own session (process group), so a signal reaches gunicorn's
master and its workers alike, and its output goes to a log file the test reads: the JSON log
lines are how a scenario sees `job.lease_lost`, `scheduler.leader` or `loop_guard.write_cap`.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Iterator

REPO_ROOT = Path(__file__).resolve().parents[2]


class AppProcess:
    """One `python app.py <command>` child: signals, exit, and the log it wrote."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_path: Path):
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([sys.executable, str(REPO_ROOT / "app.py"), *command],
                                        cwd=REPO_ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def signal(self, signum: int) -> None:
        """Send `signum` to the whole process group (gunicorn's workers included)."""
        if self.alive():
            os.killpg(self.process.pid, signum)

    def kill(self) -> None:
        """SIGKILL, as a crash would: no handler runs, nothing is flushed, leases stay behind."""
        self.signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout_s: float = 15.0) -> int | None:
        """SIGTERM (a graceful stop), then SIGKILL if it lingers; returns the exit code."""
        if self.alive():
            self.signal(signal.SIGCONT)  # a stopped process cannot handle SIGTERM
            self.signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()
        return self.process.returncode

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_records(self) -> Iterator[dict]:
        """The JSON log lines written so far (other output, such as gunicorn's, is skipped)."""
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                try:
                    yield json.loads(line)
                except ValueError:
                    continue  # a line cut short by a SIGKILL

    def logged(self, message: str) -> list[dict]:
        """Log records whose stable message key is `message`."""
        return [record for record in self.log_records() if record.get("message") == message]


def run_app_command(command: list[str], env: dict[str, str], timeout_s: float = 120.0) -> subprocess.CompletedProcess:
    """Run a short `python app.py ...` command to its end; returns its exit code and output."""
    return subprocess.run([sys.executable, str(REPO_ROOT / "app.py"), *command], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout_s)
