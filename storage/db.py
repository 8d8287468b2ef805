"""Engine and session set-up for SQLite (one node) and PostgreSQL (several replicas).

SQLite runs in WAL mode with `synchronous=FULL`: a commit is on disk before it returns, which is
what lets the webhook endpoint answer 202 only for events that are durable. Writers of several
processes share the file by waiting up to `SQLITE_BUSY_TIMEOUT_S` for the write lock: in SQLite's
own busy handler, except in a gevent worker, where that handler would stop every request of the
process while it sleeps; there `BEGIN IMMEDIATE` gives up at once and is tried again after a
cooperative sleep. PostgreSQL commits are durable by default (psycopg waits cooperatively under
gevent by itself).
"""
from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from ops.cooperative import cooperative

READ_ONLY_OPTION = "xla_read_only"
SQLITE_BUSY_TIMEOUT_S = 30.0
# Cooperative waits for the write lock: the first retry soon (commits take about a millisecond),
# later ones at most this far apart.
_FIRST_RETRY_S, _LONGEST_RETRY_S = 0.0005, 0.005


def is_sqlite(url_or_engine) -> bool:
    url = str(url_or_engine.url) if isinstance(url_or_engine, Engine) else str(url_or_engine)
    return url.startswith("sqlite")


def make_engine(database_url: str, *, pool_size: int = 5) -> Engine:
    """Create an engine with the durability settings above. Raises sqlalchemy errors on a bad URL."""
    if is_sqlite(database_url):
        engine = create_engine(database_url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S,
                                                           "check_same_thread": False})
        waits_cooperatively = cooperative()

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - exercised by every test
            # Let SQLAlchemy's own BEGIN (below) control transactions instead of pysqlite's.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            if waits_cooperatively:  # from now on the wait is in _begin_immediate_cooperatively
                cursor.execute("PRAGMA busy_timeout=0")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin_immediate(conn):
            # IMMEDIATE takes the write lock at BEGIN, so two processes never both read-then-write
            # the same row (the claim of a job, the single use of a survey token). A transaction
            # opened by `reading()` only reads: a deferred BEGIN gives it a snapshot without
            # queueing behind (or blocking) the writers.
            if conn.get_execution_options().get(READ_ONLY_OPTION):
                conn.exec_driver_sql("BEGIN")
            elif waits_cooperatively:
                _begin_immediate_cooperatively(conn.connection.dbapi_connection)
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
    return create_engine(database_url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _begin_immediate_cooperatively(dbapi_connection) -> None:
    """`BEGIN IMMEDIATE` on a connection whose busy timeout is 0: while another connection holds
    the write lock, sleep (gevent's sleep, so the process's other requests run) and try again,
    for up to SQLITE_BUSY_TIMEOUT_S. Then the busy error propagates, as SQLite's own would."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    pause = _FIRST_RETRY_S
    while True:
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            # Extended codes (SQLITE_BUSY_RECOVERY, ...) keep SQLITE_BUSY in their low byte.
            if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, _LONGEST_RETRY_S)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception (and re-raise it)."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def reading(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for reads only: one consistent snapshot, ended without committing.

    On SQLite it does not take the write lock, so readers never wait for (or delay) the inbox
    writer and the job claims. Writing in it is a bug: on SQLite the write may fail with
    "database is locked" instead of waiting its turn.
    """
    session = factory()
    try:
        session.connection(execution_options={READ_ONLY_OPTION: True})
        yield session
    finally:
        # close() ends the transaction and detaches what was loaded without expiring it, so
        # objects read here stay usable afterwards.
        session.close()
