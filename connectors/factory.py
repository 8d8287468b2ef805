"""Build the connector a configured connection needs."""
from __future__ import annotations

from connectors.base import TicketConnector
from settings.model import ConnectionSettings


def make_connector(connection: ConnectionSettings, **http_options) -> TicketConnector:
    """The `TicketConnector` for `connection` ("jira" or "servicenow").

    No network call is made here. `http_options` reach `connectors.http.HttpClient` (the service
    passes `shared_pauses`; tests pass `on_call`, `resolver`, `clock`, `sleep`). Raises
    `ValueError` for an unknown tool, `settings.errors.ConfigError` when the token's environment
    variable is not set, and `connectors.errors.UnsafeDestination` when the base URL is refused
    (plain http, ...).
    """
    if connection.tool == "jira":
        from connectors.jira import JiraConnector
        return JiraConnector(connection, **http_options)
    if connection.tool == "servicenow":
        from connectors.servicenow import ServiceNowConnector
        return ServiceNowConnector(connection, **http_options)
    raise ValueError(f"connection {connection.id}: unknown tool {connection.tool!r}; expected jira or servicenow")
