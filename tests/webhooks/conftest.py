"""Fixtures of the webhook tests: an app built from a TOML-shaped dict on a migrated SQLite file."""
from __future__ import annotations

import pytest

from tests.webhooks.helpers import (JIRA_SECRET, JIRA_SECRET_ENV, SNOW_SECRET, SNOW_SECRET_ENV, WebhookSender,
                                    app_config)


@pytest.fixture
def make_app(sqlite_url, monkeypatch):
    """Build apps (closed afterwards): `make_app(database_url=None, webhooks=None, connections=None)`."""
    from app import create_app

    monkeypatch.setenv(JIRA_SECRET_ENV, JIRA_SECRET)
    monkeypatch.setenv(SNOW_SECRET_ENV, SNOW_SECRET)
    monkeypatch.setenv("XLA_TEST_ITSM_TOKEN", "not-used-by-ingest")
    built = []

    def build(database_url: str | None = None, webhooks: dict | None = None, connections: list | None = None):
        app = create_app(app_config(database_url or sqlite_url, webhooks=webhooks, connections=connections))
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
