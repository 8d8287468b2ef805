"""Group commit for the webhook endpoint: concurrent deliveries share one transaction and one flush.

`InboxWriter.store(event)` is what a request calls. One writer per process takes every event
waiting at that moment and stores them all in one transaction (`webhooks.inbox.store_events`'s
statements): with SQLite's `synchronous=FULL` a commit costs a disk flush, and sharing that flush
between concurrent deliveries is what lets ingest keep up under load. Each request waits for the
commit of its own batch, so "stored before acknowledged" holds for every delivery.

Under gunicorn's gevent workers (the default, ops/server.py) the thread, locks and queue below
are gevent's patched ones: the writer and the requests are greenlets of one OS thread, and a
request waiting for its commit costs no thread and no turn at the interpreter lock. The writer's
statements run on that thread and hold up the worker's other requests while they run (a batch
takes a few milliseconds); its waits do not: the turn at the file (`SqliteWriterTurn`) is waited
for on a native thread, SQLite's write lock between cooperative sleeps (storage/db.py). Under
gthread workers they are OS threads and plain waits.
"""
from __future__ import annotations

import fcntl
import logging
import os
import queue
import threading

from sqlalchemy.exc import DataError, IntegrityError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from domain.events import TicketEvent
from ops.cooperative import run_blocking
from webhooks.inbox import encode_event, store_on_connection

log = logging.getLogger("xla.webhooks.inbox")


class InboxUnavailable(Exception):
    """The inbox could not take the event (database error, or no commit in time). The sender must retry."""


class SqliteWriterTurn:
    """A host-wide lock that inbox writers of one SQLite file take around each transaction.

    SQLite lets one writer in at a time and makes the others poll with growing sleeps (up to
    100 ms). Gunicorn workers' inbox writers queue on this lock instead, so each starts the moment
    the previous commit ends; while it waits, its batch keeps growing. In a gevent worker the
    wait runs on a native thread (`ops.cooperative.run_blocking`), so the worker's other requests
    go on. Other writers of the file (the job worker) are unaffected and still wait for SQLite's
    write lock (storage/db.py). A no-op for other databases, whose concurrent transactions do not
    exclude each other.
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
        # Beside the database, as SQLite keeps its own -wal and -shm files: it goes with the
        # database (a test's temporary folder, a volume) instead of piling up in the temp folder.
        return cls(os.path.abspath(database) + "-inbox.lock")

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
            try:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                # Another process is committing. In a gevent worker a plain wait would stop every
                # request of this process with it; off the loop, requests keep arriving and join
                # the batch that commits next.
                run_blocking(fcntl.flock, self._file.fileno(), fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc_info):
        if self._lock_path is not None and self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
        return False


class _Waiting:
    """One request's event, its JSON text, and the lock it waits on (held from creation).

    The writer settles it (new, duplicate or failed) and then releases it: the request reads the
    outcome only after the release.
    """

    __slots__ = ("event", "encoded", "done", "settled", "stored", "error")

    def __init__(self, event: TicketEvent):
        self.event = event
        # Serialised here, in the request, not while the writer holds the database.
        self.encoded = encode_event(event)
        # A plain lock, not a threading.Event: creating, releasing and waiting on it stays in
        # compiled code (CPython's lock, or gevent's under gevent workers).
        self.done = threading.Lock()
        self.done.acquire()
        self.settled = False    # touched by the writer only
        self.stored: bool | None = None
        self.error: BaseException | None = None

    def settle(self, stored: bool | None = None, error: BaseException | None = None) -> None:
        if not self.settled:
            self.settled = True
            self.stored, self.error = stored, error


class InboxWriter:
    """Stores events for concurrent requests, committing them together.

    `store(event)` blocks until the transaction holding `event` has committed (True: new,
    False: duplicate) or failed (InboxUnavailable). The writer thread (a greenlet under gevent)
    starts on first use, in the process that uses it, so a writer created before gunicorn forks
    works in every worker.
    """

    def __init__(self, sessions: sessionmaker[Session], *, wait_s: float = 25.0, max_batch: int = 500,
                 max_attempts: int | None = None):
        self._sessions = sessions
        self._engine = sessions.kw["bind"]
        self._turn = SqliteWriterTurn.for_engine(self._engine)
        self._wait_s = wait_s
        self._max_batch = max_batch
        self._max_attempts = max_attempts
        dbapi = self._engine.dialect.dbapi
        # A problem with one event's data, as SQLAlchemy or the driver itself reports it.
        self._data_errors = (IntegrityError, DataError, ProgrammingError,
                             dbapi.IntegrityError, dbapi.DataError, dbapi.ProgrammingError)
        self._pid: int | None = None
        self._start_lock = threading.Lock()
        self._waiting: queue.SimpleQueue[_Waiting] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def store(self, event: TicketEvent) -> bool:
        """Store `event` durably; True when new, False when already stored. Raises InboxUnavailable."""
        waiting = _Waiting(event)
        self._ensure_running()
        self._waiting.put(waiting)
        if not waiting.done.acquire(timeout=self._wait_s):
            # The batch may still commit later; the sender's retry is then a recognised duplicate.
            raise InboxUnavailable("the inbox did not commit in time")
        if waiting.error is not None:
            raise InboxUnavailable(type(waiting.error).__name__) from waiting.error
        if not waiting.settled:  # released with no outcome: a bug, never a 202
            raise InboxUnavailable("the inbox writer gave no outcome")
        return bool(waiting.stored)

    def _ensure_running(self) -> None:
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._pid != os.getpid():
                # A forked child inherits neither the thread nor what it was waiting on: start afresh.
                self._waiting = queue.SimpleQueue()
                self._thread = None
                self._pid = os.getpid()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, args=(self._waiting,), name="inbox-writer",
                                                 daemon=True)
                self._thread.start()

    def _run(self, waiting: queue.SimpleQueue) -> None:
        while True:
            batch = [waiting.get()]
            try:
                # Wait for the turn before taking the rest: whatever arrives meanwhile rides along.
                with self._turn:
                    while len(batch) < self._max_batch:
                        try:
                            batch.append(waiting.get_nowait())
                        except queue.Empty:
                            break
                    # Every writer (other processes, other replicas) inserts keys in the same order, so
                    # two batches holding the same deliveries wait for each other instead of deadlocking.
                    batch.sort(key=lambda item: (item.event.connection_id, item.event.delivery_id))
                    self._commit(batch)
            except BaseException as exc:  # never leave a request waiting on a dead thread
                for item in batch:
                    item.settle(error=exc)
                log.exception("webhook.inbox_writer_failed")
            # Released after the turn: the next writer need not wait for these requests' wake-ups.
            for item in batch:
                item.done.release()

    def _commit(self, batch: list[_Waiting]) -> None:
        """Store `batch` in one transaction and settle each item (never releases them)."""
        try:
            with self._engine.connect() as connection, connection.begin():
                results = store_on_connection(connection.dialect, connection.connection,
                                              [item.event for item in batch], self._max_attempts,
                                              [item.encoded for item in batch])
        except self._data_errors as exc:
            if len(batch) == 1:
                self._fail(batch, exc)
                return
            # A problem with one event's data must not fail the others: store each alone.
            for item in batch:
                self._commit([item])
            return
        except Exception as exc:  # any other database error fails the whole batch: senders retry
            self._fail(batch, exc)
            return
        for item, stored in zip(batch, results):
            item.settle(stored=stored)

    @staticmethod
    def _fail(batch: list[_Waiting], exc: BaseException) -> None:
        log.error("webhook.inbox_commit_failed", extra={"error": type(exc).__name__, "events": len(batch)})
        for item in batch:
            item.settle(error=exc)
