"""How a stored record leaves the Table API: fields chosen, display values, reference links.

`sysparm_display_value=false` gives raw values, `true` display values, `all` both as
`{"display_value", "value"}`. A non-empty reference is an object with a `link` to the
referenced record (and `value` or `display_value`), unless `sysparm_exclude_reference_link=true`
flattens it; an empty reference is `""`, as in the official samples. Journal fields read back
empty as raw values; their display value is the journal history, newest first.
"""
from __future__ import annotations

from dataclasses import dataclass

from simulators.servicenow.records import RecordStore
from simulators.servicenow.rules import duration_words
from simulators.servicenow.schema import TABLES_BY_NAME, Column, Table


@dataclass(frozen=True)
class RenderOptions:
    base_url: str
    display: str = "false"  # "false", "true", "all"
    exclude_links: bool = False
    fields: tuple[str, ...] = ()

    @classmethod
    def from_args(cls, args, base_url: str) -> "RenderOptions":
        display = (args.get("sysparm_display_value") or "false").lower()
        if display not in ("true", "false", "all"):
            display = "false"
        exclude = (args.get("sysparm_exclude_reference_link") or "false").lower() == "true"
        fields = tuple(f.strip() for f in (args.get("sysparm_fields") or "").split(",") if f.strip())
        return cls(base_url=base_url.rstrip("/"), display=display, exclude_links=exclude, fields=fields)


def display_value(store: RecordStore, table: Table, column: Column, record: dict) -> str:
    """What the form shows for a column: the referenced record's name, a choice's label, ..."""
    raw = record.get(column.name, "")
    if column.is_reference:
        target = store.referenced(column, raw)
        if target is None:
            return ""
        target_table, target_record = target
        return target_record.get(TABLES_BY_NAME[target_table].display_column, "")
    if column.choices:
        return column.choice_label(raw) if raw else ""
    if column.is_journal:
        return journal_display(store, table.name, record.get("sys_id", ""), column.name)
    if column.type == "glide_duration":
        return duration_words(raw)
    return raw


def journal_display(store: RecordStore, table_name: str, sys_id: str, element: str) -> str:
    """The journal history of a field as the form shows it: header line, text, blank line."""
    if element == "comments_and_work_notes":
        entries = store.journal_entries(table_name, sys_id, "comments") + \
            store.journal_entries(table_name, sys_id, "work_notes")
        entries.sort(key=lambda entry: entry["sys_created_on"], reverse=True)  # stable: ties keep order
    else:
        entries = store.journal_entries(table_name, sys_id, element)
    label = {"comments": "Additional comments", "work_notes": "Work notes"}
    blocks = []
    for entry in entries:
        author = store.find_one("sys_user", user_name=entry["sys_created_by"])
        who = author["name"] if author else entry["sys_created_by"]
        blocks.append(f"{entry['sys_created_on']} - {who} ({label.get(entry['element'], entry['element'])})\n"
                      f"{entry['value']}\n\n")
    return "".join(blocks)


def _reference_link(options: RenderOptions, column: Column, store: RecordStore, raw: str) -> str:
    table_name = column.reference or ""
    if table_name == "task":
        found = store.find_any(raw, ("incident", "change_request", "sc_req_item"))
        table_name = found[0] if found else "task"
    return f"{options.base_url}/api/now/table/{table_name}/{raw}"


def render_value(store: RecordStore, table: Table, column: Column, record: dict,
                 options: RenderOptions):
    """One column's value in the shape `options` asks for (a string or a small object)."""
    raw = "" if column.is_journal or column.type == "journal_list" else record.get(column.name, "")
    if options.display == "false" and not column.is_reference:
        return raw
    shown = display_value(store, table, column, record) if options.display != "false" else raw
    if column.is_reference:
        if raw == "":
            if options.display == "all":
                return {"display_value": "", "value": ""}
            return ""
        link = _reference_link(options, column, store, raw)
        if options.display == "false":
            return raw if options.exclude_links else {"link": link, "value": raw}
        if options.display == "true":
            return shown if options.exclude_links else {"display_value": shown, "link": link}
        result = {"display_value": shown, "value": raw}
        if not options.exclude_links:
            result["link"] = link
        return result
    if options.display == "true":
        return shown
    return {"display_value": shown, "value": raw}


def _walked_value(store: RecordStore, table: Table, record: dict, path: str,
                  options: RenderOptions):
    """Value of a dot-walked field (`caller_id.email`): empty when the chain breaks."""
    head, _, rest = path.partition(".")
    column = table.all_columns.get(head)
    if column is None:
        return None
    if not rest:
        return render_value(store, table, column, record, options)
    if not column.is_reference:
        return None
    target = store.referenced(column, record.get(head, ""))
    if target is None:
        return "" if options.display != "all" else {"display_value": "", "value": ""}
    target_table, target_record = target
    return _walked_value(store, TABLES_BY_NAME[target_table], target_record, rest, options)


_AS_STORED, _BLANK = "as stored", "blank"
_raw_layouts: dict[str, tuple[tuple[str, str | Column], ...]] = {}


def _raw_layout(table: Table) -> tuple[tuple[str, str | Column], ...]:
    """Per column of `table`, in order, what `render_value` gives it without display values:
    the value as stored, blank (journal fields), or the reference column itself."""
    layout = _raw_layouts.get(table.name)
    if layout is None:
        layout = tuple((name, column if column.is_reference else
                        _BLANK if column.is_journal or column.type == "journal_list" else _AS_STORED)
                       for name, column in table.all_columns.items())
        _raw_layouts[table.name] = layout
    return layout


def _raw_record(store: RecordStore, table: Table, record: dict, options: RenderOptions) -> dict:
    """`render_record` of every column with `sysparm_display_value=false`, the default: the same
    values `render_value` gives, without asking each column what it is on every request."""
    rendered = {}
    for name, kind in _raw_layout(table):
        if kind is _AS_STORED:
            rendered[name] = record.get(name, "")
        elif kind is _BLANK:
            rendered[name] = ""
        else:
            raw = record.get(name, "")
            if raw == "" or options.exclude_links:
                rendered[name] = raw
            else:
                rendered[name] = {"link": _reference_link(options, kind, store, raw), "value": raw}
    return rendered


def render_record(store: RecordStore, table: Table, record: dict, options: RenderOptions) -> dict:
    """The record as the API returns it, honouring `sysparm_fields` (unknown fields omitted)."""
    if not options.fields:
        if options.display == "false":
            return _raw_record(store, table, record, options)
        return {name: render_value(store, table, column, record, options)
                for name, column in table.all_columns.items()}
    rendered = {}
    for path in options.fields:
        value = _walked_value(store, table, record, path, options)
        if value is not None:
            rendered[path] = value
    return rendered
