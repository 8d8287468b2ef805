"""In a gevent worker, a write transaction waits for SQLite's write lock by trying again after a
sleep (which gevent interleaves) instead of inside SQLite's busy handler, which would stop every
request of the worker. Tried here on a real file, with another connection holding the lock."""
from __future__ import annotations

import sqlite3

import pytest

from storage import db


class CountingConnection:
    """A driver connection that counts the statements sent through it and, on the `free_on`-th,
    lets the other connection go first (as a commit elsewhere would)."""

    def __init__(self, connection: sqlite3.Connection, holder: sqlite3.Connection, free_on: int):
        self.connection, self.holder, self.free_on = connection, holder, free_on
        self.tries = 0

    def execute(self, sql: str):
        self.tries += 1
        if self.tries == self.free_on:
            self.holder.execute("ROLLBACK")
        return self.connection.execute(sql)


@pytest.fixture
def two_connections(tmp_path):
    path = tmp_path / "lock.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    waiter = sqlite3.connect(path, isolation_level=None)
    waiter.execute("PRAGMA busy_timeout=0")  # as a gevent worker's connections are set
    holder.execute("BEGIN IMMEDIATE")       # another process is writing
    yield holder, waiter
    waiter.close()
    holder.close()


def test_begin_waits_for_the_lock_and_then_holds_it(two_connections):
    holder, waiter = two_connections
    counting = CountingConnection(waiter, holder, free_on=3)
    db._begin_immediate_cooperatively(counting)
    assert counting.tries == 3                 # refused twice while the lock was held
    assert waiter.in_transaction
    with pytest.raises(sqlite3.OperationalError):
        holder.execute("BEGIN IMMEDIATE")      # now the waiter is the writer


def test_begin_gives_up_with_the_busy_error_after_the_timeout(two_connections, monkeypatch):
    holder, waiter = two_connections
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_S", 0.05)
    counting = CountingConnection(waiter, holder, free_on=0)
    with pytest.raises(sqlite3.OperationalError) as refused:
        db._begin_immediate_cooperatively(counting)
    assert refused.value.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
    assert counting.tries > 1                  # it did try again before giving up
    assert not waiter.in_transaction and holder.in_transaction
