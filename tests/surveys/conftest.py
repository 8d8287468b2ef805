"""Fixtures for the survey tests: a migrated database, a world, and real local servers.

Servers are real and listen on 127.0.0.1 only: the app under werkzeug, an aiosmtpd SMTP server,
and a small HTTP receiver standing in for a chat incoming webhook.
"""
from __future__ import annotations

import shutil
import threading
import uuid
from pathlib import Path

import pytest

from tests.surveys.helpers import (ARTIFACTS, CHROMIUM_ARGS, SECRET_ENV, CapturedMail, ChatReceiver, LiveServer,
                                   _LateBoundApp, chromium_or_skip, make_world,
                                   start_server_processes)

# Limits of the two-process servers: loose per client, tight enough per link to be reached in a test.
PROCESS_PAIR_LIMITS = {"page_rate_limit": {"per_ip": 10_000, "per_token": 10, "window_s": 1_000_000}}

@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path:
    """One SQLite file migrated to head for the whole session; each test gets a copy (much faster
    than running every migration per test, and the same schema)."""
    import sqlite3

    from storage.migrate import upgrade

    path = tmp_path_factory.mktemp("survey-schema") / "template.db"
    upgrade(f"sqlite:///{path}")
    with sqlite3.connect(path) as connection:  # fold the WAL into the file so one copy holds it all
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def sqlite_url(tmp_path, migrated_template) -> str:
    """A migrated SQLite database of the test's own (overrides the slower shared fixture)."""
    target = tmp_path / "xla.db"
    shutil.copyfile(migrated_template, target)
    return f"sqlite:///{target}"


@pytest.fixture(autouse=True)
def survey_secret(monkeypatch) -> str:
    """Every test runs with a service secret set, as a deployment must."""
    value = "test-secret-" + uuid.uuid4().hex
    monkeypatch.setenv(SECRET_ENV, value)
    return value


@pytest.fixture
def world(sqlite_url):
    built = make_world(sqlite_url)
    yield built
    built.runtime.engine.dispose()


@pytest.fixture
def start_server(sqlite_url):
    """Start the real app (`create_app`) under werkzeug on 127.0.0.1 with the given settings.

    Returns a LiveServer whose `world` shares the app's database and public URL. Stopped at teardown.
    """
    from werkzeug.serving import make_server

    from app import create_app

    started = []

    def start(database_url: str | None = None, **settings_kwargs) -> LiveServer:
        holder = _LateBoundApp()
        server = make_server("127.0.0.1", 0, holder, threaded=True)
        url = f"http://127.0.0.1:{server.server_port}"
        built = make_world(database_url or sqlite_url, public_url=url, **settings_kwargs)
        holder.app = create_app(built.settings)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        started.append((server, thread, holder.app, built))
        return LiveServer(url=url, app=holder.app, world=built)

    yield start
    for server, thread, app, built in started:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["xla"].close()
        built.runtime.engine.dispose()


@pytest.fixture
def live_server(start_server) -> LiveServer:
    """The app on default survey settings."""
    return start_server()


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on 127.0.0.1 keeping every message it receives."""
    import socket
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    captured = CapturedMail()

    class Keep:
        async def handle_DATA(self, server, session, envelope):
            captured.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content,
                                                                                  policy=policy.default)))
            return "250 Message accepted for delivery"

    with socket.socket() as probe:  # aiosmtpd needs a concrete port; ask the kernel for a free one
        probe.bind(("127.0.0.1", 0))
        captured.port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=captured.port)
    controller.start()
    yield captured
    controller.stop()


@pytest.fixture
def chat_receiver():
    """A real HTTP endpoint on 127.0.0.1 recording JSON posts, like an incoming webhook."""
    from flask import Flask, request
    from werkzeug.serving import make_server

    received: list = []
    statuses: list = []
    app = Flask("chat-receiver")

    @app.post("/hooks/survey")
    def hook():
        received.append(request.get_json())
        status = statuses.pop(0) if statuses else 200
        return ("ok" if status == 200 else "busy"), status, {"Retry-After": "7"} if status == 429 else {}

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield ChatReceiver(url=f"http://127.0.0.1:{server.server_port}/hooks/survey", received=received, status=statuses)
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    """One headless chromium per test module, driven by Playwright."""
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def process_pair(migrated_template, tmp_path_factory):
    """Two app server processes on one SQLite file, shared by the tests that need several processes.

    Yields (database_url, [ServerProcess, ServerProcess]); limits are PROCESS_PAIR_LIMITS. The
    secret is fixed for the session, since both children read it from the environment at start.
    """
    import os

    target = tmp_path_factory.mktemp("survey-processes") / "xla.db"
    shutil.copyfile(migrated_template, target)
    url = f"sqlite:///{target}"
    previous = os.environ.get(SECRET_ENV)
    os.environ[SECRET_ENV] = "process-pair-secret-" + uuid.uuid4().hex
    servers = start_server_processes(url, PROCESS_PAIR_LIMITS)
    try:
        yield url, servers, os.environ[SECRET_ENV]
    finally:
        for server in servers:
            server.stop()
        if previous is None:
            os.environ.pop(SECRET_ENV, None)
        else:
            os.environ[SECRET_ENV] = previous
