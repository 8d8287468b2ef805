"""Waits an ITSM asked for, shared by every process of one installation.

An ITSM's 429 with `Retry-After` (or `X-RateLimit-Reset`) is about the integration user, not
about the process whose call it refused. The HTTP client holds back every thread of its own
process by itself; this table carries the wait to the other worker processes, on this host or
another: the process that received the 429 writes until when the connection is paused, and
every process asks before a call while it knows of no pause itself
(`connectors.http.HttpClient`, `shared_pauses`).

Ends of pauses are wall-clock UTC, because they cross processes and hosts: hosts whose clocks
differ by more than a fraction of a second (no NTP) shorten or lengthen each other's waits by
that much.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.clock import as_utc, utcnow
from storage.db import reading, transaction
from storage.models import ConnectionPause


# Built once: it runs before every ITSM call, where building it cost more than running it.
_PAUSED_UNTIL = (select(ConnectionPause.__table__.c.paused_until)
                 .where(ConnectionPause.__table__.c.connection_id == bindparam("connection")))


class ConnectionPauses:
    """The `connection_pauses` table: one row per connection, the latest end of a pause. Thread-safe."""

    def __init__(self, sessions: sessionmaker[Session], *, now: Callable[[], datetime] = utcnow):
        self._sessions = sessions
        self._now = now
        self._dialect = sessions.kw["bind"].dialect.name

    def pause(self, connection_id: str, seconds: float) -> None:
        """Hold every process's calls of `connection_id` for `seconds` from now. A pause already
        running longer is kept: a shorter wait never cuts a longer one short. Raises sqlalchemy
        errors when the database does not answer."""
        until = self._now() + timedelta(seconds=max(0.0, seconds))
        if self._dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
            later = func.greatest
        else:
            from sqlalchemy.dialects.sqlite import insert
            later = func.max  # SQLite's two-argument max() is a scalar function
        statement = insert(ConnectionPause).values(connection_id=connection_id, paused_until=until)
        statement = statement.on_conflict_do_update(
            index_elements=["connection_id"],
            set_={"paused_until": later(ConnectionPause.paused_until, statement.excluded.paused_until)})
        with transaction(self._sessions) as session:
            session.execute(statement)

    def remaining_s(self, connection_id: str) -> float:
        """Seconds until calls of `connection_id` may go out again; 0.0 when it is not paused.
        One primary-key read, without the SQLite write lock. Raises sqlalchemy errors when the
        database does not answer."""
        with reading(self._sessions) as session:
            until = session.execute(_PAUSED_UNTIL, {"connection": connection_id}).scalar_one_or_none()
        if until is None:
            return 0.0
        return max(0.0, (as_utc(until) - self._now()).total_seconds())
