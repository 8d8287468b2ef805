"""What is particular to ServiceNow records: the table says the kind, a per-table code says the stage.

`incident`, `change_request` and `sc_req_item` share the task columns; their states differ
(incident 1..8, change -5..4, requested item -5..7), so each table has its own stage map.
Reassignment and reopen counts are columns ServiceNow keeps itself.
"""
from __future__ import annotations

from domain.ticket import RawTicket, TicketKind
from mappers import values
from mappers.model import ConnectionMapping
from mappers.reader import LifecycleFacts, RecordReader


def table_of(raw: RawTicket) -> str | None:
    """The record's table: `raw.table`, else the prefix of the `"<table>:<sys_id>"` key."""
    if raw.table:
        return raw.table
    if ":" in raw.ticket_key:
        return raw.ticket_key.split(":", 1)[0]
    return None


def read_lifecycle(raw: RawTicket, mapping: ConnectionMapping, reader: RecordReader) -> LifecycleFacts:
    """Kind from the table, stage from the table's state map, counts from ServiceNow's own columns."""
    table = table_of(raw)
    spec = mapping.tables.get(table or "")
    if spec is None:
        reader.note("kind", None, table, "is a table the mapping has no entry for in tables")
        kind, stages = TicketKind.OTHER, {}
    else:
        kind, stages = spec.kind, spec.stages

    stage = None
    field_name, code = reader.lookup("stage")
    if field_name is not None:
        code_text = values.as_text(code)
        stage = stages.get(code_text or "")
        if stage is None and code_text is not None:
            # A labelled value ("6 - Resolved") from an export still carries its code.
            stage = stages.get(values.leading_code(code_text) or "")
        if stage is None:
            reader.note("stage", field_name, code, f"has no entry in tables.{table}.stages")
    return LifecycleFacts(kind=kind, stage=stage, reassignments=reader.count("reassignment_count"),
                          reopens=reader.count("reopen_count"),
                          details={"table": table, "state": values.as_text(code) if field_name else None})
