"""The objects one process needs, built once from settings: engine, sessions, connectors.

`serve`, `worker`, `scheduler` and the tests all build a `Runtime`; nothing here runs at import.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from settings import Settings
from storage.db import make_engine, make_session_factory


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    _connectors: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(cls, settings: Settings) -> "Runtime":
        engine = make_engine(settings.service.database_url)
        return cls(settings=settings, engine=engine, sessions=make_session_factory(engine))

    def connector(self, connection_id: str):
        """The connector of one configured connection, created on first use and then shared."""
        with self._lock:
            if connection_id not in self._connectors:
                from connectors.factory import make_connector
                from ops.metrics import record_itsm_call

                connection = self.settings.connection(connection_id)
                if connection is None:
                    raise KeyError(f"no connection with id {connection_id!r} in the configuration")
                connector = make_connector(connection)
                hooks = getattr(connector, "call_hooks", None)
                if hooks is not None:
                    hooks.append(record_itsm_call)
                self._connectors[connection_id] = connector
            return self._connectors[connection_id]

    def close(self) -> None:
        for connector in self._connectors.values():
            connector.close()
        self.engine.dispose()
