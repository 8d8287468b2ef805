"""What a newcomer does first: the README's two commands, and the demo they start."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1]
    block = re.search(r"```(?:sh|bash)?\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_quick_start_is_two_commands_demo_then_tests_and_ci_runs_the_second():
    demo, tests = quick_start_commands()
    assert demo == "./run.sh demo" and tests == "./run.sh test"
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci.splitlines()


def test_dockerfile_starts_the_same_serve_command_and_checks_health():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["python", "app.py", "serve"' in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M), "the image runs as a non-root user"
    assert "requirements/base.txt" in dockerfile


def test_every_requirement_is_pinned():
    for name in ("base.txt", "test.txt"):
        for line in (ROOT / "requirements" / name).read_text().splitlines():
            if line and not line.startswith(("#", "-r ")):
                assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", line), f"{name}: {line!r} is not pinned"


def test_demo_shows_tickets_scored_and_stops_leaving_no_process():
    result = subprocess.run([sys.executable, "app.py", "demo", "--seconds", "25"], cwd=ROOT, capture_output=True,
                            text=True, timeout=240, start_new_session=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = re.search(r"summary: (\d+) events, (\d+) tickets scored, (\d+) writes on tickets", result.stdout)
    assert summary, result.stdout[-2000:]
    events, scored, writes = map(int, summary.groups())
    assert events > 0 and scored > 0 and writes > 0
    assert "every process it started has ended" in result.stdout
    workdir = re.search(r"work folder (\S+)\)", result.stdout).group(1)
    leftovers = subprocess.run(["pgrep", "-f", workdir], capture_output=True, text=True).stdout.split()
    for pid in leftovers:  # a leftover would be a bug; do not leave it running either way
        os.kill(int(pid), signal.SIGKILL)
    assert leftovers == [], "the demo left processes behind"
