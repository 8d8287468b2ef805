"""Operations as an operator sees them: the command line, health, readiness and metrics."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ["serve", "worker", "scheduler", "demo", "check-config", "migrate", "replay", "preview"]


def config_for(database_url: str) -> dict:
    return {"service": {"database_url": database_url}, "connections": []}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself(command):
    result = subprocess.run([sys.executable, "app.py", command, "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0
    assert "--config" in result.stdout and f"python app.py {command}" in result.stdout


def test_no_command_prints_the_list_of_commands():
    result = subprocess.run([sys.executable, "app.py"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    for command in COMMANDS:
        assert command in result.stdout


def test_health_ready_and_metrics_on_a_migrated_database(sqlite_url):
    client = create_app(config_for(sqlite_url)).test_client()
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ok", "database": "ok", "migrations": "current"}
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert "xla_webhooks_received_total" in metrics.text


def test_readyz_says_migrations_are_pending_on_a_fresh_database(tmp_path):
    client = create_app(config_for(f"sqlite:///{tmp_path / 'new.db'}")).test_client()
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json["migrations"] == "pending; run: python app.py migrate"
    assert client.get("/healthz").status_code == 200


def test_readyz_says_the_database_is_unreachable(tmp_path):
    client = create_app(config_for(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}")).test_client()
    answer = client.get("/readyz")
    assert answer.status_code == 503 and answer.json["database"] == "unreachable"


def test_migrate_command_brings_the_database_to_current(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[service]\ndatabase_url = "sqlite:///{tmp_path / "db.sqlite"}"\n')
    result = subprocess.run([sys.executable, "app.py", "migrate", "--config", str(config)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    client = create_app(str(config)).test_client()
    assert client.get("/readyz").status_code == 200


def test_job_states_appear_in_metrics(sqlite_url):
    from jobs.queue import NewJob, enqueue
    from storage.db import transaction

    app = create_app(config_for(sqlite_url))
    with transaction(app.extensions["xla"].sessions) as session:
        enqueue(session, NewJob("process_event", "event:c:1", {}, "c", "T1"))
    text = app.test_client().get("/metrics").text
    assert 'xla_jobs{kind="process_event",state="queued"} 1.0' in text
