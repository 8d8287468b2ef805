"""Tool record -> canonical `Ticket`, and which fields a connector must read to build one.

`map_ticket` never raises for odd data: a value the mapping cannot translate (a state code the
map lacks, an unreadable date) is listed in `Ticket.unknown_values` and the attribute is left
unknown, so the pipeline can still score the ticket and report the gap.

References keep the tool's stable value (ServiceNow sys_id, Jira accountId or option value) in
`Ticket.assignee`, `assignment_group`, `service` and `ci`, so enrichment can search by them; their
display names travel in `Ticket.extra["display"]`.
"""
from __future__ import annotations

from typing import Any

from domain.ticket import Person, RawTicket, Stage, Ticket
from mappers import jira, servicenow, values
from mappers.model import ConnectionMapping, is_jira_field_id
from mappers.reader import LifecycleFacts, RecordReader, language_code

_LIFECYCLE_READERS = {"servicenow": servicenow.read_lifecycle, "jira": jira.read_lifecycle}

# Fields every read needs whatever the mapping says (identity, version, activity).
_ALWAYS_READ = {
    "servicenow": ("sys_id", "number", "sys_mod_count", "sys_updated_on", "active"),
    "jira": ("status", "issuetype", "created", "updated", "resolutiondate", "resolution"),
}


def map_ticket(raw: RawTicket, mapping: ConnectionMapping) -> Ticket:
    """The canonical ticket of `raw`, read through `mapping`.

    Raises ValueError only when `raw.tool` is not the mapping's tool (a wiring mistake).
    """
    if raw.tool != mapping.tool:
        raise ValueError(f"a {raw.tool} record cannot be read with a {mapping.tool} mapping")
    table = servicenow.table_of(raw) if raw.tool == "servicenow" else None
    reader = RecordReader(raw, mapping.inbound_for(table))
    facts: LifecycleFacts = _LIFECYCLE_READERS[raw.tool](raw, mapping, reader)

    opened_at = reader.moment("opened_at")
    resolved_at = reader.moment("resolved_at") or facts.resolved_at
    closed_at = reader.moment("closed_at") or facts.closed_at
    stage = facts.stage or _stage_from_timestamps(resolved_at, closed_at)

    caller = reader.person("caller")
    vip = _is_vip(reader, mapping) or bool(caller and caller.vip)
    language = language_code(reader.text("language")) or (language_code(caller.language) if caller else None)
    location = reader.display("location") or reader.text("location") or (caller.country if caller else None)
    email = reader.text("caller_email")
    login = reader.text("caller_login")
    if caller is not None and (vip != caller.vip or (language and not caller.language) or (email and not caller.email)
                               or (login and login not in caller.aliases)):
        caller = Person(key=caller.key, name=caller.name, email=caller.email or email, vip=vip,
                        language=caller.language or language, country=caller.country, active=caller.active,
                        aliases=tuple(dict.fromkeys((*caller.aliases, *([login] if login else ())))))

    mapped_reassignments = reader.count("reassignment_count")
    mapped_reopens = reader.count("reopen_count")
    display = {name: reader.display(name) for name in ("assignee", "group", "service", "ci", "category")}
    display["caller"] = caller.name if caller else None

    return Ticket(
        connection_id=raw.connection_id,
        ticket_key=raw.ticket_key,
        number=raw.number or reader.text("number") or raw.ticket_key,
        kind=facts.kind,
        stage=stage,
        priority=_priority(reader, mapping),
        caller=caller,
        assignee=reader.text("assignee"),
        assignment_group=reader.text("group"),
        service=reader.text("service"),
        ci=reader.text("ci"),
        category=reader.text("category"),
        channel=_channel(reader, mapping),
        opened_at=opened_at,
        resolved_at=resolved_at,
        closed_at=closed_at,
        reassignment_count=_first_known(mapped_reassignments, facts.reassignments),
        reopen_count=_first_known(mapped_reopens, facts.reopens),
        sla_breached=_sla_breached(reader),
        vip=vip,
        location=location,
        language=language,
        version=raw.version if raw.version is not None else _version(raw),
        unknown_values=tuple(reader.unknown),
        extra={"tool": raw.tool, "display": {k: v for k, v in display.items() if v}, **{
            k: v for k, v in facts.details.items() if v is not None}},
    )


def fields_to_read(mapping: ConnectionMapping, tool: str, table: str | None = None) -> list[str]:
    """The tool fields a connector should request for one record of `table`: the mapped inbound
    fields, the outbound fields (to compare current values before writing) and the fields every
    read needs. Jira display names not yet resolved to ids are left out (call
    `mappers.catalogue.resolve_field_names` first). Sorted, without duplicates."""
    wanted = set(_ALWAYS_READ[tool])
    for references in mapping.inbound_for(table).values():
        wanted.update(references)
    wanted.update(out.field for out in mapping.outbound.values() if out.enabled)
    if tool == "jira":
        wanted = {name for name in wanted if is_jira_field_id(name)}
    return sorted(wanted)


def _first_known(*counts: int | None) -> int:
    for count in counts:
        if count is not None:
            return count
    return 0


def _stage_from_timestamps(resolved_at, closed_at) -> Stage:
    # The stage value was not in the map (already noted): say what the timestamps prove.
    if closed_at is not None:
        return Stage.CLOSED
    if resolved_at is not None:
        return Stage.RESOLVED
    return Stage.IN_PROGRESS


def _priority(reader: RecordReader, mapping: ConnectionMapping) -> int | None:
    field_name, value = reader.lookup("priority")
    text = values.label(value) if isinstance(value, dict) and "name" in value else values.as_text(value)
    if text is None:
        return None
    folded = text.strip().casefold()
    if folded in mapping.priorities:
        return mapping.priorities[folded]
    code = values.leading_code(text)
    if code is not None and code in mapping.priorities:
        return mapping.priorities[code]
    reader.note("priority", field_name, text, "has no entry in priorities")
    return None


def _channel(reader: RecordReader, mapping: ConnectionMapping) -> str | None:
    text = reader.text("channel")
    if text is None:
        return None
    # Values the map does not name pass through: a channel word is already readable.
    return mapping.channels.get(text.casefold(), text.casefold())


def _sla_breached(reader: RecordReader) -> bool | None:
    verdicts = []
    for name, value in reader.every("sla_breached"):
        try:
            verdicts.append(values.sla_breached(value))
        except values.UnreadableValue:
            reader.note("sla_breached", name, value, "is not an SLA state")
    known = [verdict for verdict in verdicts if verdict is not None]
    if known:
        return any(known)
    name, value = reader.lookup("sla_met")
    if name is None:
        return None
    try:
        met = values.as_bool(value)
    except values.UnreadableValue:
        reader.note("sla_met", name, value, "is not true or false")
        return None
    return None if met is None else not met


def _is_vip(reader: RecordReader, mapping: ConnectionMapping) -> bool:
    name, value = reader.lookup("vip")
    if name is None:
        return False
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, bool):
            if item:
                return True
            continue
        text = values.label(item) if isinstance(item, dict) else values.as_text(item)
        if text and text.strip().casefold() in mapping.vip_values:
            return True
    return False


def _version(raw: RawTicket) -> int | None:
    value: Any = raw.fields.get("sys_mod_count")
    try:
        return values.as_count(value)
    except values.UnreadableValue:
        return None
