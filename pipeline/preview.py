"""`python app.py preview <connection> <ticket>`: how the service sees one ticket, and what it would write.

Reads the ticket (one call), maps, enriches, scores and plans the writes exactly as the worker
would, and prints all of it. Writes nothing, anywhere.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from enum import Enum

from connectors.base import TicketSearch
from connectors.errors import ConnectorError
from pipeline.decide import decide
from pipeline.state import load_known
from runtime import Runtime
from storage.clock import utcnow


def preview_ticket(settings, connection_id: str, ticket: str, *, as_json: bool = False, out=print) -> int:
    runtime = Runtime.build(settings)
    try:
        connection = settings.connection(connection_id)
        if connection is None:
            out(f"no connection {connection_id!r}; configured: {', '.join(c.id for c in settings.connections)}")
            return 2
        connector = runtime.connector(connection_id)
        try:
            raw = find_ticket(connector, connection, ticket, runtime.fields_to_read)
        except ConnectorError as exc:
            out(f"cannot read {ticket} from {connection_id}: {exc}")
            return 1
        if raw is None:
            out(f"{connection_id} has no ticket {ticket!r}")
            return 1
        with runtime.sessions() as session:
            known = load_known(session, connection_id, raw.ticket_key)
            decision = decide(runtime.mapping(connection_id), runtime.scoring_model(), raw, known.snapshot,
                              known.notes_written, session, utcnow())
        report = {
            "ticket": _plain(decision.ticket),
            "lifecycle_since_last_seen": [step.value for step in decision.steps],
            "context": decision.context,
            "score": _plain(decision.score),
            "would_write": {"fields": decision.fields, "internal_note": decision.note},
        }
        out(json.dumps(report, indent=2, default=str) if as_json else render_text(report))
        return 0
    finally:
        runtime.close()


def find_ticket(connector, connection, ticket: str, fields_to_read):
    """Read a ticket by its tool key, or find it by number first."""
    if (connection.tool == "servicenow" and ":" in ticket) or (connection.tool == "jira" and ticket.isdigit()):
        return connector.get_ticket(ticket, fields_to_read(connection.id, ticket))
    found = next(iter(connector.search_tickets(TicketSearch(number=ticket, limit=1))), None)
    if found is None:
        return None
    return connector.get_ticket(found.ticket_key, fields_to_read(connection.id, found.ticket_key))


def render_text(report: dict) -> str:
    ticket, score, writes = report["ticket"], report["score"], report["would_write"]
    lines = [f"{ticket['number']}  {ticket['kind']}  stage {ticket['stage']}  priority {ticket.get('priority')}",
             f"caller {(ticket.get('caller') or {}).get('name') or (ticket.get('caller') or {}).get('key')}  "
             f"group {ticket.get('assignment_group')}  service {ticket.get('service')}  CI {ticket.get('ci')}",
             f"reassigned {ticket['reassignment_count']}x, reopened {ticket['reopen_count']}x, "
             f"SLA breached: {ticket.get('sla_breached')}",
             "",
             f"score {score['score']:.0f} ({score['band']}), confidence {score['confidence']:.2f}, "
             f"model {score['model_version']}"]
    lines += [f"  - {reason}" for reason in score.get("reasons", [])]
    lines += ["", "context:"]
    lines += [f"  {key}: {value}" for key, value in report["context"].items() if value not in (None, False, 0, {}, [])]
    lines += ["", "would write:" if writes["fields"] or writes["internal_note"] else "would write: nothing "
              "(the ticket already holds every value)"]
    lines += [f"  {field} = {json.dumps(value, default=str)}" for field, value in writes["fields"].items()]
    if writes["internal_note"]:
        lines += ["  internal note:"] + [f"    {line}" for line in writes["internal_note"].splitlines()]
    if ticket.get("unknown_values"):
        lines += ["", "values the mapping does not know: " + ", ".join(ticket["unknown_values"])]
    return "\n".join(lines)


def _plain(value):
    """Dataclasses, mappings and enums as plain JSON-ready values (read-only mappings included)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value
