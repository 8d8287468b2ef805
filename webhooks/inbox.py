"""The durable inbox: a verified event is on disk, with its processing job, before the 202 leaves.

`store_event` is the unit of work: it inserts the `inbox_events` row (unique on connection and
delivery id, so a redelivery is recognised and only counted) and enqueues the `process_event` job
in the caller's transaction. Both commit together or not at all.

`InboxWriter` is how the endpoint calls it. One writer thread per process takes every event
waiting at that moment and stores them all in one transaction (group commit): with SQLite's
`synchronous=FULL` a commit costs a disk flush, and sharing that flush between concurrent
deliveries is what lets ingest keep up under load. Each request thread waits for the commit of
its own batch, so "stored before acknowledged" holds for every delivery.
"""
from __future__ import annotations

import fcntl
import functools
import hashlib
import logging
import os
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Any, Sequence

from sqlalchemy import bindparam, update
from sqlalchemy.exc import DataError, IntegrityError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from domain.events import TicketEvent
from jobs.queue import NewJob, enqueue, job_row
from storage.clock import utcnow
from storage.db import transaction
from storage.models import InboxEvent, Job

log = logging.getLogger("xla.webhooks.inbox")

PROCESS_EVENT_JOB = "process_event"
DEFAULT_MAX_ATTEMPTS = 8  # jobs.queue.enqueue's default


class InboxUnavailable(Exception):
    """The inbox could not take the event (database error, or no commit in time). The sender must retry."""


def process_event_dedupe_key(connection_id: str, delivery_id: str) -> str:
    return f"event:{connection_id}:{delivery_id}"


def store_event(session: Session, event: TicketEvent, *, max_attempts: int | None = None) -> bool:
    """Insert `event` into the inbox and enqueue its `process_event` job, in `session`'s transaction.

    Returns True when the event is new, False for a redelivery (its row's `duplicates` is
    incremented and no job is added). The caller commits; database errors propagate.
    """
    connection = session.connection()
    statements = _statements(connection.dialect.name)
    as_json = event.to_json()
    inserted = connection.execute(statements.insert_inbox, [_inbox_row(event, as_json, utcnow())]).first()
    if inserted is None:
        connection.execute(statements.count_duplicates,
                           [{"c": event.connection_id, "d": event.delivery_id, "n": 1}])
        return False
    enqueue(session, _process_event_job(event, as_json, inserted.id, max_attempts))
    return True


def store_events(session: Session, events: Sequence[TicketEvent], *, max_attempts: int | None = None) -> list[bool]:
    """`store_event` for many events in a constant number of statements (the group commit's path).

    Returns, in order, True for each event stored now and False for each redelivery (of an
    event stored before, or earlier in `events`). Jobs are the rows `jobs.queue.enqueue` makes,
    written in one multi-row insert: each statement costs the writer thread a turn at the
    interpreter lock, which under load costs far more than the statement. The caller commits;
    database errors propagate.
    """
    if not events:
        return []
    connection = session.connection()
    statements = _statements(connection.dialect.name)
    now = utcnow()
    first_seen: dict[tuple[str, str], int] = {}
    for position, event in enumerate(events):
        first_seen.setdefault((event.connection_id, event.delivery_id), position)
    as_json = {position: events[position].to_json() for position in first_seen.values()}
    rows = [_inbox_row(events[position], as_json[position], now) for position in first_seen.values()]
    inserted = {(row.connection_id, row.delivery_id): row.id
                for row in connection.execute(statements.insert_inbox, rows)}

    results, jobs, repeats = [], [], {}
    for position, event in enumerate(events):
        key = (event.connection_id, event.delivery_id)
        is_new = key in inserted and first_seen[key] == position
        results.append(is_new)
        if is_new:
            jobs.append(job_row(_process_event_job(event, as_json[position], inserted[key], max_attempts), now,
                                default_max_attempts=DEFAULT_MAX_ATTEMPTS))
        else:
            repeats[key] = repeats.get(key, 0) + 1
    if jobs:
        connection.execute(statements.insert_jobs, jobs)
    if repeats:
        connection.execute(statements.count_duplicates,
                           [{"c": key[0], "d": key[1], "n": count} for key, count in repeats.items()])
    return results


def _process_event_job(event: TicketEvent, as_json: dict, inbox_id: int, max_attempts: int | None) -> NewJob:
    return NewJob(kind=PROCESS_EVENT_JOB, dedupe_key=process_event_dedupe_key(event.connection_id, event.delivery_id),
                  payload={"inbox_id": inbox_id, "event": as_json},
                  connection_id=event.connection_id, ticket_key=event.ticket_key, max_attempts=max_attempts)


def _inbox_row(event: TicketEvent, as_json: dict, now) -> dict:
    return {"connection_id": event.connection_id, "delivery_id": event.delivery_id, "ticket_key": event.ticket_key,
            "event": as_json, "received_at": now, "duplicates": 0}


@dataclass(frozen=True)
class _Statements:
    insert_inbox: Any       # skips known deliveries, returns (id, connection_id, delivery_id) of new rows
    insert_jobs: Any        # skips jobs whose dedupe key exists
    count_duplicates: Any   # duplicates += :n for (:c, :d)


@functools.cache
def _statements(dialect: str) -> _Statements:
    """Built once per dialect: under load, constructing statements costs more than running them."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    inbox, jobs = InboxEvent.__table__, Job.__table__
    return _Statements(
        insert_inbox=(insert(inbox).on_conflict_do_nothing(index_elements=["connection_id", "delivery_id"])
                      .returning(inbox.c.id, inbox.c.connection_id, inbox.c.delivery_id)),
        insert_jobs=insert(jobs).on_conflict_do_nothing(index_elements=["dedupe_key"]),
        count_duplicates=(update(inbox)
                          .where(inbox.c.connection_id == bindparam("c"), inbox.c.delivery_id == bindparam("d"))
                          .values(duplicates=inbox.c.duplicates + bindparam("n"))),
    )


class SqliteWriterTurn:
    """A host-wide lock that inbox writers of one SQLite file take around each transaction.

    SQLite lets one writer in at a time and makes the others poll with growing sleeps (up to
    100 ms). Gunicorn workers' inbox writers queue on this lock instead, so each starts the moment
    the previous commit ends; while it waits, its batch keeps growing. Other writers of the file
    (the worker process) are unaffected and still rely on SQLite's own busy timeout. A no-op for
    other databases, whose concurrent transactions do not exclude each other.
    """

    def __init__(self, lock_path: str | None):
        self._lock_path = lock_path
        self._pid: int | None = None
        self._file = None

    @classmethod
    def for_engine(cls, engine) -> "SqliteWriterTurn":
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        if not database or database == ":memory:" or database.startswith("file:"):
            return cls(None)
        # Beside nothing of the project's: a file in the temp folder named after the database path.
        digest = hashlib.sha256(os.path.abspath(database).encode()).hexdigest()[:24]
        return cls(os.path.join(tempfile.gettempdir(), f"xla-bridge-inbox-{digest}.lock"))

    def __enter__(self):
        if self._lock_path is None:
            return self
        if self._pid != os.getpid():
            self._pid = os.getpid()
            try:
                self._file = open(self._lock_path, "a+b")  # one descriptor per process, kept open
            except OSError as exc:
                # Not fatal: without the turn, SQLite's busy timeout still serialises the writers.
                log.warning("webhook.inbox_turn_unavailable", extra={"error": type(exc).__name__})
                self._file = None
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc_info):
        if self._lock_path is not None and self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
        return False


@dataclass
class _Waiting:
    event: TicketEvent
    done: threading.Event = field(default_factory=threading.Event)
    stored: bool | None = None
    error: BaseException | None = None


class InboxWriter:
    """Stores events for request threads, committing concurrent ones together.

    `store(event)` blocks until the transaction holding `event` has committed (True: new,
    False: duplicate) or failed (InboxUnavailable). The thread starts on first use, in the process
    that uses it, so a writer created before gunicorn forks works in every worker.
    """

    def __init__(self, sessions: sessionmaker[Session], *, wait_s: float = 25.0, max_batch: int = 500,
                 max_attempts: int | None = None):
        self._sessions = sessions
        self._turn = SqliteWriterTurn.for_engine(sessions.kw["bind"])
        self._wait_s = wait_s
        self._max_batch = max_batch
        self._max_attempts = max_attempts
        self._pid: int | None = None
        self._condition = threading.Condition()
        self._pending: list[_Waiting] = []
        self._thread: threading.Thread | None = None

    def store(self, event: TicketEvent) -> bool:
        """Store `event` durably; True when new, False when already stored. Raises InboxUnavailable."""
        waiting = _Waiting(event)
        self._ensure_running()
        with self._condition:
            self._pending.append(waiting)
            self._condition.notify()
        if not waiting.done.wait(self._wait_s):
            # The batch may still commit later; the sender's retry is then a recognised duplicate.
            raise InboxUnavailable("the inbox did not commit in time")
        if waiting.error is not None:
            raise InboxUnavailable(type(waiting.error).__name__) from waiting.error
        return bool(waiting.stored)

    def _ensure_running(self) -> None:
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._condition:
            if self._pid != os.getpid():
                # A forked child inherits neither the thread nor a usable lock: start afresh.
                self._condition = threading.Condition()
                self._pending = []
                self._thread = None
                self._pid = os.getpid()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="inbox-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._pending:
                    self._condition.wait()
            # Wait for the turn before taking the batch: whatever arrives meanwhile rides along.
            with self._turn:
                with self._condition:
                    batch = self._pending[:self._max_batch]
                    del self._pending[:self._max_batch]
                # Every writer (other processes, other replicas) inserts keys in the same order, so
                # two batches holding the same deliveries wait for each other instead of deadlocking.
                batch.sort(key=lambda waiting: (waiting.event.connection_id, waiting.event.delivery_id))
                try:
                    self._commit(batch)
                except BaseException as exc:  # never leave a request waiting on a dead thread
                    for waiting in batch:
                        if not waiting.done.is_set():
                            waiting.error = exc
                            waiting.done.set()
                    log.exception("webhook.inbox_writer_failed")

    def _commit(self, batch: list[_Waiting]) -> None:
        try:
            with transaction(self._sessions) as session:
                results = store_events(session, [waiting.event for waiting in batch],
                                       max_attempts=self._max_attempts)
        except (IntegrityError, DataError, ProgrammingError) as exc:
            if len(batch) == 1:
                self._fail(batch, exc)
                return
            # A problem with one event's data must not fail the others: store each alone.
            for waiting in batch:
                self._commit([waiting])
            return
        except Exception as exc:  # any other database error fails the whole batch: senders retry
            self._fail(batch, exc)
            return
        for waiting, stored in zip(batch, results):
            waiting.stored = stored
            waiting.done.set()

    @staticmethod
    def _fail(batch: list[_Waiting], exc: BaseException) -> None:
        log.error("webhook.inbox_commit_failed", extra={"error": type(exc).__name__, "events": len(batch)})
        for waiting in batch:
            waiting.error = exc
            waiting.done.set()
