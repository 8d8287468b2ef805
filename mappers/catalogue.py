"""Match a mapping against the tool's field catalogue: resolve display names to ids, find what cannot work.

Admins name Jira custom fields by display name ("Experience Score") or id ("customfield_10200");
ServiceNow columns by column name ("u_xla_score") or label. `resolve_field_names` turns every
reference into the id the REST APIs want and learns each output field's real type, length and
options. `check_mapping` (behind `check-config --live`) reports, one line per problem, what
would make a read or a write fail: a missing field, a read-only one, one missing from the Jira
edit screen, a type that cannot hold the value, a choice value the field does not allow.
"""
from __future__ import annotations

import difflib
from dataclasses import replace
from typing import Iterable, Sequence

from connectors.base import FieldInfo
from mappers.model import (CHOICE_WORDS, JIRA_SYSTEM_FIELDS, OUTPUT_FAMILIES, SHAPES_FOR_FAMILY, ConnectionMapping,
                           OutboundField, TableMapping)

TOOL_NAMES = {"jira": "Jira", "servicenow": "ServiceNow"}

_INTEGER_TYPES = frozenset({"integer", "int", "long", "longint"})
_DECIMAL_TYPES = frozenset({"number", "decimal", "float", "double", "numeric", "currency", "percent"})
_TEXT_TYPES = frozenset({"string", "text", "textarea", "html", "wiki_text", "journal_input", "url", "email"})
_SELECT_TYPES = frozenset({"select", "option", "radio", "radiobuttons", "choice", "single_select"})
_BOOLEAN_TYPES = frozenset({"boolean", "bool", "checkbox"})

_FAMILY_WORDS = {"number": "a number", "choice": "a choice (select) or text", "text": "a text",
                 "flag": "a boolean, select or text"}


def shape_of(info: FieldInfo, tool: str) -> str | None:
    """The value shape a catalogue field takes, or None when the service cannot write into it."""
    kind = (info.type or "").strip().casefold()
    if kind in _INTEGER_TYPES:
        return "integer"
    if kind in _DECIMAL_TYPES:
        return "decimal"
    if kind in _SELECT_TYPES or (kind in _TEXT_TYPES and info.allowed_values):
        return "select" if tool == "jira" else "choice"
    if kind in _BOOLEAN_TYPES:
        return "boolean"
    if kind in _TEXT_TYPES:
        return "text"
    return None


class _Index:
    """The catalogue looked up by id and by display name (casefolded), optionally per table."""

    def __init__(self, fields: Iterable[FieldInfo]):
        self.fields = list(fields)
        self.by_id: dict[str, FieldInfo] = {}
        self.by_name: dict[str, list[FieldInfo]] = {}
        for info in self.fields:
            self.by_id.setdefault(info.id, info)
            self.by_name.setdefault(info.name.strip().casefold(), []).append(info)

    def find(self, reference: str) -> list[FieldInfo]:
        if reference in self.by_id:
            return [self.by_id[reference]]
        seen, found = set(), []
        for info in self.by_name.get(reference.strip().casefold(), []):
            if info.id not in seen:
                seen.add(info.id)
                found.append(info)
        return found

    def suggestion(self, reference: str) -> str | None:
        spellings = {info.name: info.name for info in self.fields}
        spellings.update({info.id: info.id for info in self.fields})
        folded = {spelling.casefold(): spelling for spelling in spellings}
        close = difflib.get_close_matches(reference.casefold(), list(folded), n=1, cutoff=0.8)
        return folded[close[0]] if close else None


def _tables_of(catalogue: Sequence[FieldInfo]) -> dict[str | None, _Index]:
    tables: dict[str | None, list[FieldInfo]] = {}
    for info in catalogue:
        tables.setdefault(info.table, []).append(info)
    return {table: _Index(fields) for table, fields in tables.items()}


def _describe(info: FieldInfo) -> str:
    return f"'{info.name}' ({info.id})" if info.name and info.name != info.id else f"'{info.id}'"


def _missing_line(tool: str, reference: str, index: _Index, table: str | None = None) -> str:
    if tool == "servicenow":
        subject = f"ServiceNow table {table} has no column" if table else "ServiceNow has no column"
        line = f"{subject} {reference!r}"
    else:
        line = f"Jira has no field named {reference!r}"
    hint = index.suggestion(reference)
    fix = f"did you mean {hint!r}?" if hint else (
        "create the field (see docs/mappings.md) or map this to an existing one")
    return f"{line}; {fix}"


def _at(where: str, path: str) -> str:
    return f"{where}.{path}" if where else path


def _needs_catalogue(reference: str, tool: str) -> bool:
    # Jira system fields exist in every instance; ServiceNow dot-walks read another table's column.
    if tool == "jira":
        return reference not in JIRA_SYSTEM_FIELDS
    return "." not in reference


def resolve_field_names(mapping: ConnectionMapping, catalogue: Sequence[FieldInfo], *,
                        where: str = "") -> tuple[ConnectionMapping, list[str]]:
    """Rewrite every field reference of `mapping` as the tool's field id, using `catalogue`.

    Output fields also take the catalogue's value shape, length and allowed options. Returns the
    resolved mapping and one problem line per output reference, or admin-written inbound
    reference, that names no field or several fields. Inbound references that came from the
    defaults and that this instance lacks are dropped quietly (those attributes are then unknown).
    Lines are relative to the mapping table, or start with `where` when given. Never raises.
    """
    return _resolve(mapping, _Index(catalogue), where, table=None)


def _resolve(mapping: ConnectionMapping, index: _Index, where: str,
             table: str | None) -> tuple[ConnectionMapping, list[str]]:
    tool = mapping.tool
    problems: list[str] = []
    names: dict[str, str] = dict(mapping.field_names)

    def written_by_admin(path: str) -> bool:
        return any(p == path or p.startswith(path + ".") for p in mapping.explicit)

    def resolve(reference: str, path: str, *, required: bool) -> str | None:
        if not _needs_catalogue(reference, tool):
            return reference
        found = index.find(reference)
        if len(found) == 1:
            names[found[0].id] = found[0].name
            return found[0].id
        if len(found) > 1:
            ids = ", ".join(info.id for info in found)
            problems.append(f"{_at(where, path)}: {TOOL_NAMES[tool]} has several fields named {reference!r} ({ids}); "
                            f"write the id of the one you mean instead of the name")
        elif required or written_by_admin(path):
            problems.append(f"{_at(where, path)}: {_missing_line(tool, reference, index, table)}")
        return None

    def resolve_all(references: tuple[str, ...], path: str) -> tuple[str, ...]:
        found = (resolve(reference, path, required=False) for reference in references)
        return tuple(reference for reference in found if reference)

    inbound = {attribute: resolve_all(refs, f"inbound.{attribute}") for attribute, refs in mapping.inbound.items()}
    tables = {}
    for name, spec in mapping.tables.items():
        overrides = {attribute: resolve_all(refs, f"tables.{name}.inbound.{attribute}")
                     for attribute, refs in spec.inbound.items()}
        tables[name] = TableMapping(table=spec.table, kind=spec.kind, stages=spec.stages, inbound=overrides)

    outbound = {}
    for output, target in mapping.outbound.items():
        field_id = resolve(target.field, f"outbound.{output}", required=True) if target.enabled else None
        if field_id is None:
            outbound[output] = target
            continue
        learned = _learn(target, index.by_id.get(field_id), tool)
        outbound[output] = replace(learned, field=field_id,
                                   configured_as=target.field if field_id != target.field else target.configured_as)
    return mapping.resolved_to(inbound=inbound, tables=tables, outbound=outbound, field_names=names), problems


def _learn(target: OutboundField, info: FieldInfo | None, tool: str) -> OutboundField:
    """What the catalogue says about an output field: its shape, length and options."""
    if info is None:
        return target
    return replace(target, shape=shape_of(info, tool) or target.shape,
                   max_length=info.max_length or target.max_length,
                   allowed_values=tuple(info.allowed_values) or target.allowed_values)


def check_mapping(mapping: ConnectionMapping, catalogue: Sequence[FieldInfo], tool: str, *,
                  where: str = "") -> list[str]:
    """Every reason a read or a write through `mapping` would fail against `catalogue`, one line each.

    Lines are relative to the mapping table (`outbound.score: ...`), or start with `where` when
    given (`connections[0].mapping`). A ServiceNow catalogue may hold columns of several tables
    (`FieldInfo.table`; columns inherited from `task` count for every task table): when it holds
    more than one mapped table, each is checked on its own. Never raises.
    """
    if tool != mapping.tool:
        return [f"{where or 'mapping'}: a {mapping.tool} mapping cannot be checked against a {tool} catalogue"]
    catalogue = list(catalogue)
    present = [table for table in mapping.tables if any(info.table == table for info in catalogue)]
    problems: list[str] = []
    if tool == "servicenow" and len(present) > 1:
        for table in present:
            pool = [info for info in catalogue if info.table in (table, "task", None)]
            problems.extend(_check_one(mapping, pool, tool, where, table))
    else:
        problems.extend(_check_one(mapping, catalogue, tool, where, present[0] if len(present) == 1 else None))
    return list(dict.fromkeys(problems))


def _check_one(mapping: ConnectionMapping, catalogue: list[FieldInfo], tool: str, where: str,
               table: str | None) -> list[str]:
    index = _Index(catalogue)
    resolved, problems = _resolve(mapping, index, where, table)
    for output, target in resolved.outbound.items():
        if not target.enabled:
            continue
        info = index.by_id.get(target.field)
        if info is None:
            continue  # already reported as missing or ambiguous
        path = _at(where, f"outbound.{output}")
        off_screen = tool == "jira" and info.on_edit_screen is False
        if not info.writable and not off_screen:  # off the screen is the one cause there, with its own fix
            problems.append(f"{path}: {TOOL_NAMES[tool]} field {_describe(info)} is read-only for the integration "
                            "user; grant write access to it or map this output to another field")
        if off_screen:
            problems.append(f"{path}: Jira field {_describe(info)} is not on the edit screen, so Jira rejects "
                            "writes to it; add it to the edit screen of the project's issue types")
        family = OUTPUT_FAMILIES[output]
        shape = shape_of(info, tool)
        if shape not in SHAPES_FOR_FAMILY[family]:
            problems.append(f"{path}: {output} needs {_FAMILY_WORDS[family]} field, but {_describe(info)} is a "
                            f"{info.type} field; map {output} to {_FAMILY_WORDS[family]} field")
            continue
        if output in CHOICE_WORDS and shape in ("select", "choice") and info.allowed_values:
            allowed = tuple(info.allowed_values)
            for word, value in resolved.choices.get(output, {}).items():
                if value not in allowed:
                    close = difflib.get_close_matches(value, allowed, n=1, cutoff=0.5)
                    hint = f"did you mean {close[0]!r}? " if close else ""
                    problems.append(f"{_at(where, f'choices.{output}.{word}')}: found {value!r}, which {_describe(info)} "
                                    f"does not allow; {hint}expected one of {', '.join(allowed)}")
    return problems
