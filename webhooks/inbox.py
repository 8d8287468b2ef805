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

import logging
import os
import threading
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlalchemy.exc import DataError, IntegrityError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from domain.events import TicketEvent
from jobs.queue import NewJob, enqueue
from storage.clock import utcnow
from storage.db import transaction
from storage.models import InboxEvent

log = logging.getLogger("xla.webhooks.inbox")

PROCESS_EVENT_JOB = "process_event"


class InboxUnavailable(Exception):
    """The inbox could not take the event (database error, or no commit in time). The sender must retry."""


def process_event_dedupe_key(connection_id: str, delivery_id: str) -> str:
    return f"event:{connection_id}:{delivery_id}"


def store_event(session: Session, event: TicketEvent, *, max_attempts: int | None = None) -> bool:
    """Insert `event` into the inbox and enqueue its `process_event` job, in `session`'s transaction.

    Returns True when the event is new, False for a redelivery (its row's `duplicates` is
    incremented and no job is added). The caller commits; database errors propagate.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = (insert(InboxEvent)
                 .values(connection_id=event.connection_id, delivery_id=event.delivery_id,
                         ticket_key=event.ticket_key, event=event.to_json(), received_at=utcnow(), duplicates=0)
                 .on_conflict_do_nothing(index_elements=["connection_id", "delivery_id"])
                 .returning(InboxEvent.id))
    inbox_id = session.execute(statement).scalar_one_or_none()
    if inbox_id is None:
        session.execute(update(InboxEvent)
                        .where(InboxEvent.connection_id == event.connection_id,
                               InboxEvent.delivery_id == event.delivery_id)
                        .values(duplicates=InboxEvent.duplicates + 1))
        return False
    enqueue(session, NewJob(kind=PROCESS_EVENT_JOB,
                            dedupe_key=process_event_dedupe_key(event.connection_id, event.delivery_id),
                            payload={"inbox_id": inbox_id, "event": event.to_json()},
                            connection_id=event.connection_id, ticket_key=event.ticket_key,
                            max_attempts=max_attempts))
    return True


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
                batch = self._pending[:self._max_batch]
                del self._pending[:self._max_batch]
            # Every writer (other processes, other replicas) inserts keys in the same order, so two
            # batches holding the same deliveries wait for each other instead of deadlocking.
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
                results = [store_event(session, waiting.event, max_attempts=self._max_attempts)
                           for waiting in batch]
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
