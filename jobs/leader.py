"""One scheduler leader among the scheduler processes of one installation.

PostgreSQL: a session-level advisory lock held on a dedicated connection for the leader's life
(it vanishes with the connection, so a crashed leader frees it). Advisory locks are shared by
everything connected to one database, while an installation is one schema of it (its
`search_path`): the lock's key is derived from the database's and the schema's names, so two
installations in two schemas of one database each elect their own leader. SQLite (one node): an
exclusive `flock` on a file beside the database, also freed by the kernel when the process dies.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

from sqlalchemy import Connection, Engine, text

LOCK_PURPOSE = b"xla-bridge scheduler leader"


def advisory_lock_key(database: str, schema: str) -> int:
    """The signed 64-bit advisory lock key of the scheduler leader of `schema` in `database`.

    Stable across processes, hosts and versions of Python (it is a hash of the names, not
    Python's randomised `hash`), so every scheduler of one installation computes the same key.
    """
    digest = hashlib.blake2b(b"\0".join((LOCK_PURPOSE, database.encode(), schema.encode())), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


def _installation_of(connection: Connection) -> tuple[str, str]:
    """(database, schema) the connection works in. The schema is the first one of the search path
    that exists (where the service's tables are); if none does, the search path as written."""
    database, schema = connection.execute(text(
        "SELECT current_database(), coalesce(current_schema(), current_setting('search_path'))")).one()
    connection.commit()
    return database, schema


class LeaderLock:
    """The leader lock of the installation `engine` points at. Not thread-safe: one per scheduler."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._connection = None
        self._key: int | None = None
        self._file = None
        self.scope = ""   # what the lock covers, for log lines: "postgresql test.public (key N)"

    def try_acquire(self) -> bool:
        """Become the leader if nobody is; True when this process now holds the lock."""
        if self.engine.dialect.name == "postgresql":
            if self._connection is None:
                self._connection = self.engine.connect()
                database, schema = _installation_of(self._connection)
                self._key = advisory_lock_key(database, schema)
                self.scope = f"postgresql {database}.{schema} (advisory lock {self._key})"
            held = self._connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}).scalar()
            self._connection.commit()
            return bool(held)
        path = Path(self.engine.url.database or "xla-bridge.db").with_suffix(".scheduler.lock")
        self.scope = f"sqlite {path}"
        self._file = self._file or open(path, "a+")  # noqa: SIM115 - held for the process's life
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._file.seek(0), self._file.truncate(), self._file.write(str(os.getpid())), self._file.flush()
            return True
        except BlockingIOError:
            return False

    def release(self) -> None:
        if self._connection is not None:
            self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
            self._connection.commit()
            self._connection.close()
            self._connection = None
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
