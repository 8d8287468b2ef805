"""Engine and session set-up for SQLite (one node) and PostgreSQL (several replicas).

SQLite runs in WAL mode with `synchronous=FULL`: a commit is on disk before it returns, which is
what lets the webhook endpoint answer 202 only for events that are durable. `busy_timeout` lets
several processes share the file. PostgreSQL commits are durable by default.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


READ_ONLY_OPTION = "xla_read_only"


def is_sqlite(url_or_engine) -> bool:
    url = str(url_or_engine.url) if isinstance(url_or_engine, Engine) else str(url_or_engine)
    return url.startswith("sqlite")


def make_engine(database_url: str, *, pool_size: int = 5) -> Engine:
    """Create an engine with the durability settings above. Raises sqlalchemy errors on a bad URL."""
    if is_sqlite(database_url):
        engine = create_engine(database_url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - exercised by every test
            # Let SQLAlchemy's own BEGIN (below) control transactions instead of pysqlite's.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin_immediate(conn):
            # IMMEDIATE takes the write lock at BEGIN, so two processes never both read-then-write
            # the same row (the claim of a job, the single use of a survey token). A transaction
            # opened by `reading()` only reads: a deferred BEGIN gives it a snapshot without
            # queueing behind (or blocking) the writers.
            if conn.get_execution_options().get(READ_ONLY_OPTION):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
    return create_engine(database_url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


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
