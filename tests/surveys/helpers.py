"""Building blocks of the survey tests: settings, worlds, tickets, job runs, and page requests.

Kept apart from conftest.py so that helper processes (several servers on one database) can
import them without pytest's fixtures. The ITSM side of the comment channel is a
`TicketConnector` that keeps comments in memory (the connectors have their own tests against the
simulators); it honours markers the way the interface requires.
"""
from __future__ import annotations

import itertools
import os
import re
import shutil
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from connectors.base import TicketConnector, TicketWrite
from domain.events import Lifecycle, TicketEvent
from domain.ticket import Person, Stage, Ticket, TicketKind
from jobs.queue import claim_next_job, complete_job, enqueue, fail_job
from runtime import Runtime
from settings.model import AuthSettings, ConnectionSettings, MailSettings, ServiceSettings, Settings
from storage.db import make_engine, make_session_factory, transaction
from surveys.config import load_connection_surveys, load_survey_section

SECRET_ENV = "XLA_SURVEY_TEST_SECRET"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "surveys"
CHROMIUM = "/usr/bin/chromium"
LINK = re.compile(r"https?://127\.0\.0\.1:\d+/s/[A-Za-z0-9_-]+")


def build_settings(database_url: str, *, public_url: str = "http://127.0.0.1:9", surveys: dict | None = None,
                   connection_surveys: dict | None = None, mail: MailSettings | None = None) -> Settings:
    """Settings with two connections (Jira and ServiceNow) and the given survey tables."""
    service_surveys, problems = load_survey_section(surveys or {})
    assert not problems, problems
    connections = []
    for connection_id, tool in (("jira-main", "jira"), ("snow-main", "servicenow")):
        rules, problems = load_connection_surveys((connection_surveys or {}).get(connection_id, {}), tool=tool)
        assert not problems, problems
        connections.append(ConnectionSettings(
            id=connection_id, tool=tool, base_url="http://127.0.0.1:9", allow_loopback_http=True,
            auth=AuthSettings(kind="basic", token_env="XLA_SURVEY_TEST_UNUSED", user="integration"),
            surveys=rules))
    return Settings(service=ServiceSettings(public_url=public_url, database_url=database_url,
                                            secret_key_env=SECRET_ENV, log_format="text"),
                    mail=mail or MailSettings(), connections=tuple(connections), surveys=service_surveys)


class RecordingConnector(TicketConnector):
    """Keeps public comments per ticket; a marker already present means nothing is written."""

    tool = "jira"

    def __init__(self):
        self.comments: list[tuple[str, str, str | None]] = []
        self._lock = threading.Lock()

    def write(self, ticket_key: str, change: TicketWrite) -> bool:
        with self._lock:
            if change.marker and any(marker == change.marker for _, _, marker in self.comments):
                return False
            self.comments.append((ticket_key, change.public_comment, change.marker))
            return True

    def whoami(self):
        raise NotImplementedError

    def get_ticket(self, ticket_key, fields=()):
        raise NotImplementedError

    def search_tickets(self, criteria):
        raise NotImplementedError

    def field_catalogue(self, table=None):
        raise NotImplementedError

    def sla_state(self, ticket_key):
        raise NotImplementedError


@dataclass
class SurveyWorld:
    """A runtime on a migrated database plus the connectors its jobs write through."""

    runtime: Runtime
    connectors: dict = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def sessions(self):
        return self.runtime.sessions

    def reconfigure(self, **kwargs) -> None:
        """Swap settings (same database), e.g. to point the public URL at a live server."""
        self.runtime.settings = build_settings(self.runtime.settings.service.database_url, **kwargs)


def make_world(database_url: str, **settings_kwargs) -> SurveyWorld:
    settings = build_settings(database_url, **settings_kwargs)
    engine = make_engine(database_url)
    connectors = {"jira-main": RecordingConnector(), "snow-main": RecordingConnector()}
    runtime = Runtime(settings=settings, engine=engine, sessions=make_session_factory(engine),
                      _connectors=connectors)
    return SurveyWorld(runtime, connectors)


_ticket_numbers = itertools.count(10001)
_NAMES = [("Ada", "Lovelace"), ("Grace", "Hopper"), ("Alan", "Turing"), ("Katherine", "Johnson"),
          ("Edsger", "Dijkstra"), ("Barbara", "Liskov"), ("Donald", "Knuth"), ("Margaret", "Hamilton")]


def make_ticket(connection_id: str = "jira-main", *, kind: TicketKind = TicketKind.INCIDENT,
                stage: Stage = Stage.RESOLVED, caller: Person | None | str = "default", key: str | None = None,
                **fields) -> Ticket:
    """A resolved incident of a new, real-looking caller (a different person each time) unless told otherwise."""
    serial = next(_ticket_numbers)
    if caller == "default":
        first, last = _NAMES[serial % len(_NAMES)]
        caller = Person(key=f"user-{serial}", name=f"{first} {last}",
                        email=f"{first}.{last}.{serial}@example.com".lower(), language="en")
    prefix = "SD" if connection_id.startswith("jira") else "INC"
    return Ticket(connection_id=connection_id, ticket_key=key or str(serial), number=f"{prefix}-{serial}",
                  kind=kind, stage=stage, caller=caller, **fields)


def make_event(ticket: Ticket, *steps: Lifecycle) -> TicketEvent:
    return TicketEvent(connection_id=ticket.connection_id, delivery_id=uuid.uuid4().hex,
                       ticket_key=ticket.ticket_key, lifecycle=tuple(steps) or (Lifecycle.RESOLVED,))


def plan(world: SurveyWorld, ticket: Ticket, *steps: Lifecycle, now: datetime | None = None):
    """Run the trigger as the pipeline does: in a transaction, enqueueing the jobs it returns."""
    from surveys.triggers import plan_survey

    with transaction(world.sessions) as session:
        decided = plan_survey(session, world.settings, world.settings.connection(ticket.connection_id), ticket,
                              make_event(ticket, *steps), now=now or datetime.now(timezone.utc))
        for job in decided.jobs:
            enqueue(session, job)
    return decided


def run_survey_jobs(world: SurveyWorld, kinds=("send_survey", "survey_reminder")) -> list[str]:
    """Claim and run survey jobs the way the worker does, until none is runnable; their outcomes."""
    from surveys.jobs import SURVEY_HANDLERS

    outcomes = []
    while True:
        job = claim_next_job(world.sessions, "test-worker", lease_s=30, kinds=kinds)
        if job is None:
            return outcomes
        try:
            result = SURVEY_HANDLERS[job.kind](world.runtime, job)
        except Exception as exc:  # the worker's rule: retryable errors requeue, the rest go dead
            retryable = getattr(exc, "retryable", False)
            outcomes.append(fail_job(world.sessions, job, str(exc), retryable=retryable, backoff_base_s=3600))
            continue
        complete_job(world.sessions, job, result.outcome, result.apply)
        outcomes.append(result.outcome)


def comment_link(world: SurveyWorld, ticket: Ticket) -> str:
    """The survey link from the newest comment written to the ticket."""
    connector = world.connectors[ticket.connection_id]
    texts = [text for key, text, _ in connector.comments if key == ticket.ticket_key]
    assert texts, f"no comment was written to {ticket.ticket_key}"
    found = LINK.findall(texts[-1])
    assert found, texts[-1]
    return found[0]


def days_ago(days: float) -> datetime:
    return datetime.now(timezone.utc) - timedelta(days=days)


# ---------------------------------------------------------------------------------------------
# real local servers


class _LateBoundApp:
    """A WSGI callable whose app is attached once the server's port is known."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@dataclass
class LiveServer:
    url: str
    app: object
    world: SurveyWorld


@dataclass
class CapturedMail:
    messages: list = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 0


@dataclass
class ChatReceiver:
    url: str
    received: list
    status: list  # statuses to answer with, consumed first-in first-out; 200 when empty


def chromium_or_skip() -> str:
    """Debian's chromium, or a skip with the reason (a failure under CI=true, where it must exist)."""
    if shutil.which(CHROMIUM) or os.path.exists(CHROMIUM):
        return CHROMIUM
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is required under CI (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} is not installed; browser tests need Debian's chromium")


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


# ---------------------------------------------------------------------------------------------
# talking to the page over HTTP the way a browser without script does

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def open_form(client, link: str):
    """GET the survey page with a requests.Session; returns (response, csrf token or None)."""
    response = client.get(link, timeout=10)
    found = CSRF_FIELD.search(response.text)
    return response, (found.group(1) if found else None)


def submit_answer(client, link: str, csrf: str | None, **fields):
    """POST an answer (fields as the form names them); redirects are not followed."""
    data = {"rating": fields.pop("rating", None), **fields}
    if csrf is not None:
        data["csrf_token"] = csrf
    return client.post(link, data={k: v for k, v in data.items() if v is not None}, allow_redirects=False, timeout=10)


def sent_survey(world: SurveyWorld, ticket: Ticket | None = None, *, now: datetime | None = None) -> tuple[Ticket, str]:
    """Plan and send a survey for a (new) ticket through the comment channel; the ticket and its link."""
    ticket = ticket or make_ticket()
    decided = plan(world, ticket, now=now)
    assert decided.outcome == "created", decided
    assert run_survey_jobs(world) == ["sent"]
    return ticket, comment_link(world, ticket)


@dataclass
class ServerProcess:
    url: str
    process: object

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start_server_processes(database_url: str, surveys: dict | None = None, count: int = 2,
                           ready_within_s: float = 60) -> list[ServerProcess]:
    """Run `count` children of `tests.surveys.serve_app` on one database, started side by side.

    Returns once each printed its address. Raises RuntimeError with a child's output when it exits
    or stays silent past the deadline (the others are stopped).
    """
    import json
    import selectors
    import subprocess
    import sys
    import time

    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "tests.surveys.serve_app", "--database-url", database_url,
               "--surveys", json.dumps(surveys or {})]
    children = [subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                for _ in range(count)]
    deadline = time.monotonic() + ready_within_s
    started: list[ServerProcess] = []
    for child in children:
        selector = selectors.DefaultSelector()
        selector.register(child.stdout, selectors.EVENT_READ)
        seen = []
        while time.monotonic() < deadline and selector.select(timeout=max(0.0, deadline - time.monotonic())):
            line = child.stdout.readline()
            if not line:
                break
            seen.append(line)
            if line.startswith("listening on "):
                break
        selector.close()
        if not seen or not seen[-1].startswith("listening on "):
            for other in children:
                other.kill()
            raise RuntimeError("survey app process did not start:\n" + "".join(seen))
        # Keep draining the child's output so a full pipe never blocks it.
        threading.Thread(target=lambda stream=child.stdout: [None for _ in stream], daemon=True).start()
        started.append(ServerProcess(url=seen[-1].split("listening on ", 1)[1].strip(), process=child))
    return started
