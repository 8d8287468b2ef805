"""Validate one connection's `[connections.mapping]` table into an immutable `ConnectionMapping`.

The admin's table is deep-merged over the tool's defaults (`mappers.defaults`), then checked
with marshmallow. Every problem becomes one line, `key.path: found X; expected Y; fix`, relative
to the mapping table (the settings loader puts `connections[N].mapping.` in front).
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Any, Iterator

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from domain.ticket import Stage, TicketKind
from mappers import defaults
from settings.problems import problem_lines, toml_key
from mappers.model import (CHOICE_WORDS, INBOUND_ATTRIBUTES, OUTPUTS, SHAPES, TOOLS, ConnectionMapping,
                           OutboundField, TableMapping)

STAGE_WORDS = tuple(stage.value for stage in Stage)
KIND_WORDS = tuple(kind.value for kind in TicketKind)
# Value maps whose keys are the tool's names or codes, compared case-insensitively.
NAME_KEYED_MAPS = ("issue_types", "statuses", "status_categories", "priorities", "channels")


def _one_of(words) -> str:
    words = list(words)
    return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0]


class FieldReferences(fields.Field):
    """A tool field name, or a list of them (read in order); "" means "not mapped"."""

    def _deserialize(self, value, attr, data, **kwargs) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value.strip(),) if value.strip() else ()
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(item.strip() for item in value if item.strip())
        raise ValidationError('expected a field name such as "caller_id" (or a list of names); '
                              'write "" to stop reading it')


class ValueMap(fields.Field):
    """A table from the tool's values to ours; errors are reported under the offending key."""

    def __init__(self, check, expected: str, **kwargs):
        super().__init__(**kwargs)
        self.check = check
        self.expected = expected

    def _deserialize(self, value, attr, data, **kwargs) -> dict:
        if not isinstance(value, dict):
            raise ValidationError(f"expected a table of tool value = {self.expected}")
        bad = {str(key): [f"expected {self.expected}"] for key, item in value.items() if not self.check(item)}
        if bad:
            raise ValidationError(bad)
        return {str(key): item for key, item in value.items()}


class OutboundTarget(fields.Field):
    """Where an output goes: "field id or name", or {field = ..., type = ..., max_length = ...}."""

    def _deserialize(self, value, attr, data, **kwargs) -> dict:
        if isinstance(value, str):
            return {"field": value.strip()}
        if not isinstance(value, dict):
            raise ValidationError('expected a field id or name, e.g. "u_xla_score" or "Experience Score", '
                                  'or a table {field = ..., type = ...}; write "" to stop writing it')
        problems: dict[str, list[str]] = {}
        unknown = sorted(set(value) - {"field", "type", "max_length"})
        for key in unknown:
            problems[key] = ["unknown key; expected field, type or max_length"]
        if not isinstance(value.get("field", ""), str):
            problems["field"] = ["expected a field id or name"]
        if "type" in value and value["type"] not in SHAPES:
            problems["type"] = [f"expected {_one_of(SHAPES)}"]
        length = value.get("max_length")
        if length is not None and (isinstance(length, bool) or not isinstance(length, int) or length < 1):
            problems["max_length"] = ["expected a positive whole number of characters"]
        if problems:
            raise ValidationError(problems)
        return {"field": value.get("field", "").strip(), **{k: value[k] for k in ("type", "max_length") if k in value}}


def _is_stage(value) -> bool:
    return value in STAGE_WORDS


def _is_kind(value) -> bool:
    return value in KIND_WORDS


def _is_priority(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5


def _is_word(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


# One key per canonical attribute / output, so a misspelt key is reported as unknown.
InboundSchema = StrictSchema.from_dict({name: FieldReferences() for name in INBOUND_ATTRIBUTES},
                                       name="InboundSchema")
OutboundSchema = StrictSchema.from_dict({name: OutboundTarget() for name in OUTPUTS}, name="OutboundSchema")


class TableSchema(StrictSchema):
    kind = fields.String(validate=validate.OneOf(KIND_WORDS, error=f"expected {_one_of(KIND_WORDS)}"),
                         error_messages={"invalid": f"expected {_one_of(KIND_WORDS)}"})
    stages = ValueMap(_is_stage, _one_of(STAGE_WORDS))
    inbound = fields.Nested(InboundSchema)


class CommonSchema(StrictSchema):
    inbound = fields.Nested(InboundSchema)
    outbound = fields.Nested(OutboundSchema)
    choices = fields.Dict(keys=fields.String(), values=ValueMap(_is_word, "the tool's value (a non-empty string)"))
    priorities = ValueMap(_is_priority, "a priority from 1 (highest) to 5 (lowest)")
    channels = ValueMap(_is_word, "a channel word such as phone, email, portal or chat")
    vip_values = fields.List(fields.String(), error_messages={"invalid": "expected a list of values"})


class ServiceNowMappingSchema(CommonSchema):
    tables = fields.Dict(keys=fields.String(), values=fields.Nested(TableSchema))


class JiraMappingSchema(CommonSchema):
    issue_types = ValueMap(_is_kind, _one_of(KIND_WORDS))
    statuses = ValueMap(_is_stage, _one_of(STAGE_WORDS))
    status_categories = ValueMap(_is_stage, _one_of(STAGE_WORDS))


_SCHEMAS = {"servicenow": ServiceNowMappingSchema, "jira": JiraMappingSchema}
_ONLY_FOR = {"tables": "servicenow", "issue_types": "jira", "statuses": "jira", "status_categories": "jira"}


def load_mapping_section(raw: dict, *, tool: str) -> tuple[ConnectionMapping, list[str]]:
    """Validate `raw` (the admin's mapping table, possibly empty) for `tool`.

    Returns the mapping and a list of problems; when problems are found the mapping returned is
    the plain default one, so callers can still report everything at once. Never raises for bad
    input; raises KeyError only for a tool other than "servicenow" or "jira".
    """
    if tool not in TOOLS:
        raise KeyError(f"no mapping defaults for tool {tool!r}")
    raw = raw or {}
    if not isinstance(raw, dict):
        return build_mapping(defaults.defaults_for(tool), tool), [
            f"found {raw!r}; expected a [connections.mapping] table (see docs/mappings.md)"]
    problems = list(_misplaced_sections(raw, tool))
    admin = {key: value for key, value in raw.items() if key not in _ONLY_FOR or _ONLY_FOR[key] == tool}
    merged = deep_merge(defaults.defaults_for(tool), _outbound_as_tables(admin))
    try:
        data = _SCHEMAS[tool]().load(merged)
    except ValidationError as exc:
        problems.extend(problem_lines(exc.messages, merged, doc="docs/mappings.md"))
        return build_mapping(defaults.defaults_for(tool), tool), problems
    problems.extend(_semantic_problems(data, tool))
    if problems:
        return build_mapping(defaults.defaults_for(tool), tool), problems
    return build_mapping(data, tool, explicit=frozenset(_leaf_paths(raw))), []


def default_mapping(tool: str) -> ConnectionMapping:
    """The mapping of a standard instance of `tool` (what an empty table means)."""
    mapping, _ = load_mapping_section({}, tool=tool)
    return mapping


def deep_merge(base: dict, override: dict) -> dict:
    """`override` laid over `base`: tables merge key by key, any other value replaces. Returns a new dict."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def build_mapping(data: dict, tool: str, explicit: frozenset[str] = frozenset()) -> ConnectionMapping:
    """Freeze validated (or default) mapping data into a ConnectionMapping."""
    def refs(value) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        if isinstance(value, str):
            return (value,) if value else ()
        return tuple(item for item in value if item)

    def folded(table: dict | None) -> dict:
        # Later keys win, so an admin's "Done" overrides the default "done".
        return {str(key).strip().casefold(): value for key, value in (table or {}).items()}

    inbound = MappingProxyType({name: refs(data.get("inbound", {}).get(name, ())) for name in INBOUND_ATTRIBUTES})
    outbound = {}
    for name in OUTPUTS:
        entry = data.get("outbound", {}).get(name) or {"field": ""}
        if isinstance(entry, str):
            entry = {"field": entry}
        outbound[name] = OutboundField(field=entry.get("field", ""), shape=entry.get("type", "text"),
                                       max_length=entry.get("max_length"))
    tables = {}
    for table, spec in (data.get("tables") or {}).items():
        tables[table] = TableMapping(
            table=table, kind=TicketKind(spec.get("kind", "other")),
            stages=MappingProxyType({str(code).strip(): Stage(stage) for code, stage in spec.get("stages", {}).items()}),
            inbound=MappingProxyType({name: refs(value) for name, value in (spec.get("inbound") or {}).items()}))
    return ConnectionMapping(
        tool=tool,
        inbound=inbound,
        outbound=MappingProxyType(outbound),
        choices=MappingProxyType({out: MappingProxyType({str(k): str(v) for k, v in values.items()})
                                  for out, values in (data.get("choices") or {}).items()}),
        priorities=MappingProxyType(folded(data.get("priorities"))),
        channels=MappingProxyType({key: str(value) for key, value in folded(data.get("channels")).items()}),
        vip_values=frozenset(str(value).strip().casefold() for value in data.get("vip_values", ())),
        tables=MappingProxyType(tables),
        issue_types=MappingProxyType({key: TicketKind(value) for key, value in folded(data.get("issue_types")).items()}),
        statuses=MappingProxyType({key: Stage(value) for key, value in folded(data.get("statuses")).items()}),
        status_categories=MappingProxyType(
            {key: Stage(value) for key, value in folded(data.get("status_categories")).items()}),
        explicit=explicit,
    )


def _outbound_as_tables(admin: dict) -> dict:
    """Write `score = "x"` as `score = {field = "x"}` so merging keeps the default type and length."""
    outbound = admin.get("outbound")
    if not isinstance(outbound, dict):
        return admin
    rewritten = {name: ({"field": value} if isinstance(value, str) else value) for name, value in outbound.items()}
    return {**admin, "outbound": rewritten}


def _misplaced_sections(raw: dict, tool: str) -> Iterator[str]:
    for key, owner in _ONLY_FOR.items():
        if key in raw and owner != tool:
            yield (f"{key}: found a {key} table on a {tool} connection; expected it only on {owner} connections; "
                   f"remove it (see docs/mappings.md for the {tool} keys)")


def _semantic_problems(data: dict, tool: str) -> Iterator[str]:
    """Checks that need several keys at once: one field written twice, incomplete choice tables."""
    written: dict[str, str] = {}
    for name in OUTPUTS:
        target = (data.get("outbound") or {}).get(name) or {}
        field_ref = target.get("field", "") if isinstance(target, dict) else target
        if field_ref and field_ref in written:
            yield (f"outbound.{name}: found {field_ref!r}, which outbound.{written[field_ref]} already writes; "
                   "expected a different field for each output; map one of them elsewhere or to \"\"")
        elif field_ref:
            written[field_ref] = name
    for output, values in (data.get("choices") or {}).items():
        if output not in CHOICE_WORDS:
            yield (f"choices.{output}: unknown output; expected one of {_one_of(CHOICE_WORDS)} "
                   "(the outputs that take choice values)")
            continue
        for word in values:
            if word not in CHOICE_WORDS[output]:
                yield (f"choices.{output}.{toml_key(word)}: unknown value; expected "
                       f"{_one_of(CHOICE_WORDS[output])} (the service's words, mapped to the tool's values)")
    for table, spec in (data.get("tables") or {}).items():
        if not spec.get("kind"):
            yield (f"tables.{toml_key(table)}.kind: missing; expected {_one_of(KIND_WORDS)}; "
                   "say what the records of this table are")


def _leaf_paths(raw: Any, path: str = "") -> Iterator[str]:
    if isinstance(raw, dict) and raw:
        for key, value in raw.items():
            yield from _leaf_paths(value, f"{path}.{key}" if path else str(key))
    elif path:
        yield path


