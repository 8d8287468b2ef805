"""`python app.py check-config [--live]`: say precisely what is wrong with a configuration.

Offline, the file has already been validated when this runs; it then checks that every secret the
file names is present in the environment. With `--live` it connects to each instance as the
integration user and checks every mapped field against the instance's field catalogue (exists,
writable, on the edit screen, type fits). One line per problem, each with the fix; exit 1 if any.
"""
from __future__ import annotations

import os

from connectors.base import TicketSearch
from connectors.errors import ConnectorError


def check_configuration(settings, *, live: bool = False, out=print) -> int:
    problems: list[str] = []
    key_env = settings.service.secret_key_env
    if not os.environ.get(key_env):
        problems.append(f"service.secret_key_env: environment variable {key_env} is not set; export the same random "
                        "value (32 characters or more) to every process, or survey links and forms will not work")
    for index, connection in enumerate(settings.connections):
        where = f"connections[{index}]"
        for key, name in (("auth.token_env", connection.auth.token_env),
                          ("webhook_secret_env", connection.webhook_secret_env)):
            if name and not os.environ.get(name):
                problems.append(f"{where}.{key}: environment variable {name} is not set; export it before starting")
    if settings.mail.password_env and not os.environ.get(settings.mail.password_env):
        problems.append(f"mail.password_env: environment variable {settings.mail.password_env} is not set")
    if live and not problems:
        for index, connection in enumerate(settings.connections):
            problems.extend(check_connection_live(connection, f"connections[{index}]"))
    for line in problems:
        out(line)
    if problems:
        out(f"{len(problems)} problem(s) found")
        return 1
    out(f"configuration OK: {len(settings.connections)} connection(s)" + (" checked live" if live else ""))
    return 0


def check_connection_live(connection, where: str) -> list[str]:
    """Problems of one connection against its instance: reachability, identity, every mapped field."""
    from connectors.factory import make_connector
    from mappers import check_mapping

    try:
        connector = make_connector(connection)
    except ConnectorError as exc:
        return [f"{where}.base_url: {exc}"]
    try:
        identity = connector.whoami()
        sample = None
        if connection.tool == "jira":
            # Jira tells which fields are on the edit screen only for a given issue (editmeta).
            sample = next(iter(connector.search_tickets(TicketSearch(limit=1))), None)
        catalogue = connector.field_catalogue(sample.ticket_key if sample else None)
    except ConnectorError as exc:
        return [f"{where}: cannot use {connection.base_url} as {connection.auth.user or 'the token owner'}: {exc}"]
    finally:
        connector.close()
    lines = [line if line.startswith("connections") else f"{where}.mapping.{line}"
             for line in check_mapping(connection.mapping, catalogue, connection.tool)]
    if not lines:
        print(f"{where} ({connection.id}): {connection.tool} reachable as {identity.name or identity.key}; "
              f"{len(catalogue)} fields known; every mapping fits")
    return lines
