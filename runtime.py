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
    _identities: dict = field(default_factory=dict)
    _mappings: dict = field(default_factory=dict)
    _scoring_model: object = None
    _lock: threading.RLock = field(default_factory=threading.RLock)

    @classmethod
    def build(cls, settings: Settings) -> "Runtime":
        engine = make_engine(settings.service.database_url)
        return cls(settings=settings, engine=engine, sessions=make_session_factory(engine))

    def connector(self, connection_id: str):
        """The connector of one configured connection, created on first use and then shared."""
        with self._lock:
            if connection_id not in self._connectors:
                from connectors.factory import make_connector
                from jobs.pauses import ConnectionPauses
                from ops.metrics import record_itsm_call

                connection = self.settings.connection(connection_id)
                if connection is None:
                    raise KeyError(f"no connection with id {connection_id!r} in the configuration")
                # An ITSM's Retry-After holds back every process of the installation, not only this one.
                connector = make_connector(connection, shared_pauses=ConnectionPauses(self.sessions))
                hooks = getattr(connector, "call_hooks", None)
                if hooks is not None:
                    hooks.append(record_itsm_call)
                self._connectors[connection_id] = connector
            return self._connectors[connection_id]

    def identity(self, connection_id: str):
        """The integration user of a connection (asked once, then remembered), for the loop guard."""
        with self._lock:
            if connection_id not in self._identities:
                self._identities[connection_id] = self.connector(connection_id).whoami()
            return self._identities[connection_id]

    def known_identity(self, connection_id: str):
        """The integration user of a connection if this process has already asked, else None.

        Never calls the ITSM: for callers that must not wait on it (the webhook endpoint).
        """
        # Without the lock: `identity()` holds it while it asks the ITSM, and one dict read is atomic.
        return self._identities.get(connection_id)

    def mapping(self, connection_id: str):
        """The connection's mapping with Jira field names resolved to ids (catalogue read once).

        Raises settings.ConfigError listing every field the instance does not have.
        """
        with self._lock:
            if connection_id not in self._mappings:
                from mappers import resolve_field_names
                from settings import ConfigError

                connection = self.settings.connection(connection_id)
                catalogue = self.connector(connection_id).field_catalogue()
                resolved, problems = resolve_field_names(connection.mapping, catalogue)
                if problems:
                    raise ConfigError([f"connections.{connection_id}.mapping: {p}" for p in problems])
                self._mappings[connection_id] = resolved
            return self._mappings[connection_id]

    def owned_fields(self, connection_id: str) -> set[str]:
        """Tool field ids the service writes on this connection (the loop guard ignores them)."""
        return {target.field for target in self.mapping(connection_id).outbound.values() if target.enabled}

    def fields_to_read(self, connection_id: str, ticket_key: str) -> list[str]:
        from mappers import fields_to_read

        connection = self.settings.connection(connection_id)
        table = ticket_key.split(":", 1)[0] if connection.tool == "servicenow" else None
        return list(fields_to_read(self.mapping(connection_id), connection.tool, table))

    def scoring_model(self):
        if self._scoring_model is None:
            from scoring import build_model

            self._scoring_model = build_model(self.settings.scoring)
        return self._scoring_model

    def close(self) -> None:
        for connector in self._connectors.values():
            connector.close()
        self.engine.dispose()
