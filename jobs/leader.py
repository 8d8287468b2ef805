"""One scheduler leader among many processes.

PostgreSQL: a session-level advisory lock held on a dedicated connection for the leader's life
(it vanishes with the connection, so a crashed leader frees it). SQLite (one node): an exclusive
`flock` on a file beside the database, also freed by the kernel when the process dies.
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

from sqlalchemy import Engine, text

LOCK_ID = 0x58_4C_41_42  # "XLAB"


class LeaderLock:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._connection = None
        self._file = None

    def try_acquire(self) -> bool:
        """Become the leader if nobody is; True when this process now holds the lock."""
        if self.engine.dialect.name == "postgresql":
            if self._connection is None:
                self._connection = self.engine.connect()
            held = self._connection.execute(text("SELECT pg_try_advisory_lock(:id)"), {"id": LOCK_ID}).scalar()
            self._connection.commit()
            return bool(held)
        path = Path(self.engine.url.database or "xla-bridge.db").with_suffix(".scheduler.lock")
        self._file = self._file or open(path, "a+")  # noqa: SIM115 - held for the process's life
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._file.seek(0), self._file.truncate(), self._file.write(str(os.getpid())), self._file.flush()
            return True
        except BlockingIOError:
            return False

    def release(self) -> None:
        if self._connection is not None:
            self._connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": LOCK_ID})
            self._connection.commit()
            self._connection.close()
            self._connection = None
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
