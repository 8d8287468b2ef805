"""Fixtures of the webhook tests: an app built from a TOML-shaped dict on a migrated SQLite file."""
from __future__ import annotations

import shutil

import pytest

from tests.webhooks.helpers import (JIRA_SECRET, JIRA_SECRET_ENV, SNOW_SECRET, SNOW_SECRET_ENV, WebhookSender,
                                    app_config)


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory):
    """One migrated SQLite file per session; each test gets a copy (migrating costs ~0.2 s a test)."""
    from storage.migrate import upgrade

    path = tmp_path_factory.mktemp("webhooks-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def webhook_db_url(migrated_sqlite_template, tmp_path) -> str:
    """A fresh, migrated SQLite database for one test."""
    target = tmp_path / "xla.db"
    for suffix in ("", "-wal"):
        source = migrated_sqlite_template.with_name(migrated_sqlite_template.name + suffix)
        if source.exists():
            shutil.copyfile(source, target.with_name(target.name + suffix))
    return f"sqlite:///{target}"


@pytest.fixture
def make_app(webhook_db_url, monkeypatch):
    """Build apps (closed afterwards): `make_app(database_url=None, webhooks=None, connections=None)`."""
    from app import create_app

    monkeypatch.setenv(JIRA_SECRET_ENV, JIRA_SECRET)
    monkeypatch.setenv(SNOW_SECRET_ENV, SNOW_SECRET)
    monkeypatch.setenv("XLA_TEST_ITSM_TOKEN", "not-used-by-ingest")
    built = []

    def build(database_url: str | None = None, webhooks: dict | None = None, connections: list | None = None):
        app = create_app(app_config(database_url or webhook_db_url, webhooks=webhooks, connections=connections))
        built.append(app)
        return app

    yield build
    for app in built:
        app.extensions["xla"].close()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def sender(app, client) -> WebhookSender:
    return WebhookSender(app, client)


@pytest.fixture
def serve():
    """`serve(app) -> base URL`: the app behind a real threaded HTTP server on 127.0.0.1."""
    import threading

    from werkzeug.serving import make_server

    running = []

    def start(app) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="webhook-test-server", daemon=True)
        thread.start()
        running.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server, thread in running:
        server.shutdown()
        thread.join(10)
