"""The simulator's records: an in-memory instance with ServiceNow's write semantics.

`RecordStore` keeps one ordered dict of records per table (all values strings, as the Table
API returns them) and applies what an instance does on every write: values coerced to the
column type and truncated to its length, read-only columns ignored, journal fields
(`comments`, `work_notes`) turned into `sys_journal_field` rows and left empty on the record,
`sys_mod_count`/`sys_updated_on`/`sys_updated_by` maintained, the ticket business rules of
`rules.py` applied, and no update at all when nothing changes. Every insert, update and delete
of a ticket table is reported to `on_change`, which the app turns into a signed webhook event.
"""
from __future__ import annotations

import collections
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable

from simulators.servicenow import rules
from simulators.servicenow.query import EncodedQuery, matches, sort_records
from simulators.servicenow.schema import TABLES_BY_NAME, TICKET_TABLES, Column, Table

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


def format_time(moment: datetime) -> str:
    """ServiceNow's stored date-time form (UTC): `YYYY-MM-DD HH:MM:SS`."""
    return moment.astimezone(timezone.utc).strftime(DATE_FORMAT)


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


class RecordError(Exception):
    """A request the instance refuses; `status`, `message` and `detail` form the failure body."""

    def __init__(self, status: int, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail


@dataclass(frozen=True)
class ChangeNotice:
    """One committed change of a ticket record, for the webhook event."""

    table: str
    operation: str  # insert, update, delete
    record: dict
    changed_fields: tuple[str, ...]
    user: str
    journal: tuple[dict, ...] = field(default_factory=tuple)


def coerce_value(column: Column, value: object) -> str:
    """The string an instance stores when `value` is written to `column`."""
    if isinstance(value, dict):  # clients sometimes echo back {"value": ..., "link": ...}
        value = value.get("value", "")
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float) and value.is_integer() and column.type == "integer":
        text = str(int(value))
    else:
        text = str(value)
    if column.type == "boolean":
        return "" if text == "" else ("true" if text.strip().lower() in ("true", "1", "yes") else "false")
    if column.type == "integer":
        if text.strip() == "":
            return ""
        try:
            return str(int(float(text)))
        except ValueError:
            return "0"  # an instance stores 0 for a non-number in an integer column
    if column.type == "decimal":
        if text.strip() == "":
            return ""
        try:
            return f"{float(text):.2f}"
        except ValueError:
            return "0.00"
    if column.type == "GUID" or column.is_reference:
        return text.strip()
    return text[: column.max_length] if column.max_length else text


class RecordStore:
    """Tables of records with the instance's write rules; every public method is thread-safe."""

    def __init__(self, on_change: Callable[[ChangeNotice], None] | None = None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self._lock = threading.RLock()
        self._clock = clock
        self.on_change = on_change
        self.tables: dict[str, collections.OrderedDict[str, dict]] = {}
        self._numbers: dict[str, int] = {}
        self._user_ids: dict[str, str] = {}  # user_name -> sys_id last found (checked on use)
        self.clear()

    # basics ----------------------------------------------------------------------------------
    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def clear(self) -> None:
        with self._lock:
            self.tables = {name: collections.OrderedDict() for name in TABLES_BY_NAME if name != "task"}
            self._numbers = {name: 10000 for name in TICKET_TABLES}

    def snapshot(self) -> dict:
        """A copy of every row and number counter, for `restore` (resets without re-seeding)."""
        with self._lock:
            return {"tables": {name: [dict(row) for row in rows.values()]
                               for name, rows in self.tables.items()},
                    "numbers": dict(self._numbers)}

    def restore(self, snapshot: dict) -> None:
        """Put back exactly what `snapshot` copied (rows are copied again: the snapshot stays clean)."""
        with self._lock:
            self.tables = {name: collections.OrderedDict((row["sys_id"], dict(row)) for row in rows)
                           for name, rows in snapshot["tables"].items()}
            self._numbers = dict(snapshot["numbers"])

    def now(self) -> datetime:
        return self._clock()

    @staticmethod
    def table(name: str) -> Table:
        """The table definition; raises RecordError 400 for an unknown or abstract table."""
        table = TABLES_BY_NAME.get(name)
        if table is None or name == "task":
            raise RecordError(400, f"Invalid table {name}")
        return table

    def get(self, table_name: str, sys_id: str) -> dict | None:
        with self._lock:
            record = self.tables[self.table(table_name).name].get(sys_id)
            return dict(record) if record else None

    def find_any(self, sys_id: str, table_names: Iterable[str]) -> tuple[str, dict] | None:
        """The first record with `sys_id` among `table_names` (a `task` reference may be any ticket)."""
        with self._lock:
            for name in table_names:
                record = self.tables.get(name, {}).get(sys_id)
                if record is not None:
                    return name, record
        return None

    def find_one(self, table_name: str, **criteria: str) -> dict | None:
        with self._lock:
            for record in self.tables[table_name].values():
                if all(record.get(key) == value for key, value in criteria.items()):
                    return dict(record)
        return None

    def user_sys_id(self, user_name: str) -> str:
        """The sys_id of the user with this `user_name` ("" when none has it).

        Every write asks this for its author; the answer found last is reused while that row
        still carries the name (user names are unique on an instance), instead of scanning the
        user table each time.
        """
        with self._lock:
            known = self._user_ids.get(user_name)
            if known is not None and self.tables["sys_user"].get(known, {}).get("user_name") == user_name:
                return known
            user = self.find_one("sys_user", user_name=user_name)
            if user is None:
                return ""
            self._user_ids[user_name] = user["sys_id"]
            return user["sys_id"]

    # reading ---------------------------------------------------------------------------------
    def referenced(self, column: Column, sys_id: str) -> tuple[str, dict] | None:
        """`(table, record)` a reference value points at, or None when it points nowhere."""
        if not sys_id:
            return None
        if column.reference == "task":
            return self.find_any(sys_id, TICKET_TABLES)
        records = self.tables.get(column.reference or "", {})
        record = records.get(sys_id)
        return (column.reference, record) if record is not None else None

    def read_field(self, table: Table, record: dict, path: str) -> tuple[bool, str, bool]:
        """`(known, raw value, numeric)` of a column or a dot-walked path like `caller_id.vip`."""
        head, _, rest = path.partition(".")
        column = table.all_columns.get(head)
        if column is None:
            return False, "", False
        value = record.get(head, "")
        if not rest:
            return True, value, column.is_numeric
        if not column.is_reference:
            return False, "", False
        target = self.referenced(column, value)
        if target is None:
            known_path = self._path_exists(column.reference, rest)
            return known_path, "", False
        target_table, target_record = target
        return self.read_field(self.table(target_table), target_record, rest)

    def _path_exists(self, table_name: str | None, path: str) -> bool:
        table = TABLES_BY_NAME.get(table_name or "")
        if table is None:
            return False
        head, _, rest = path.partition(".")
        column = table.all_columns.get(head)
        if column is None:
            return False
        return not rest or (column.is_reference and self._path_exists(column.reference, rest))

    def query(self, table_name: str, query: EncodedQuery) -> list[dict]:
        """Records matching `query`, in its order (insertion order when it names none)."""
        table = self.table(table_name)
        getter = lambda record, path: self.read_field(table, record, path)  # noqa: E731
        with self._lock:
            found = [dict(r) for r in self.tables[table.name].values() if matches(query, r, getter)]
            return sort_records(found, query.ordering, getter)

    def journal_entries(self, table_name: str, sys_id: str, element: str) -> list[dict]:
        """Journal rows of one field of one record, newest first (as the form shows them)."""
        with self._lock:
            rows = [dict(r) for r in self.tables["sys_journal_field"].values()
                    if r["element_id"] == sys_id and r["name"] == table_name and r["element"] == element]
        rows.reverse()  # rows are in insertion order: within one second the later one is newer
        rows.sort(key=lambda r: r["sys_created_on"], reverse=True)
        return rows

    # writing ---------------------------------------------------------------------------------
    def _stamp(self, at: datetime | None) -> str:
        return format_time(at or self.now())

    def _next_number(self, table: Table) -> str:
        self._numbers[table.name] += 1
        return f"{table.number_prefix}{self._numbers[table.name]:07d}"

    def _writable_changes(self, table: Table, values: dict) -> tuple[dict[str, str], dict[str, str]]:
        """Split a request body into column changes and journal texts; unknown and read-only
        columns are dropped silently, as an instance does."""
        changes: dict[str, str] = {}
        journal: dict[str, str] = {}
        for name, raw in values.items():
            column = table.all_columns.get(name)
            if column is None or column.read_only:
                continue
            value = coerce_value(column, raw)
            if column.is_journal:
                if value.strip():
                    journal[name] = value
                continue
            changes[name] = value
        return changes, journal

    def insert(self, table_name: str, values: dict, *, user: str, at: datetime | None = None,
               emit: bool = True, sys_id: str | None = None) -> dict:
        """Create a record as `user` and return it; `at` backdates it (seeding history).

        Raises RecordError 400 for an unknown table, 403 when `sys_id` is already taken.
        """
        table = self.table(table_name)
        with self._lock:
            stamp = self._stamp(at)
            changes, journal = self._writable_changes(table, values)
            wanted_id = sys_id or (str(values.get("sys_id", "")).strip() or None)
            new_id = wanted_id or uuid.uuid4().hex
            if new_id in self.tables[table.name]:
                raise RecordError(403, "Operation Failed",
                                  "Error during insert of %s (%s): a record with that sys_id exists"
                                  % (table.name, new_id))
            record = {name: column.default for name, column in table.all_columns.items()}
            record.update(changes)
            record.update(sys_id=new_id, sys_created_on=stamp, sys_updated_on=stamp,
                          sys_created_by=user, sys_updated_by=user, sys_mod_count="0",
                          sys_class_name=table.name)
            if table.number_prefix:
                record["number"] = self._next_number(table)
            if table.name in TICKET_TABLES:
                rules.on_insert(self, table, record, user, stamp)
            self.tables[table.name][new_id] = record
            entries = self._add_journal(table, record, journal, user, stamp)
            if emit and table.emits_events and self.on_change:
                # what the request set plus what the rules derived; untouched defaults are not news
                changed = tuple(sorted(name for name, column in table.all_columns.items()
                                       if not name.startswith("sys_") and not column.is_journal
                                       and (name in changes or record[name] != column.default))
                                + sorted(journal))
                self.on_change(ChangeNotice(table.name, "insert", dict(record), changed, user,
                                            tuple(entries)))
            return dict(record)

    def update(self, table_name: str, sys_id: str, values: dict, *, user: str,
               at: datetime | None = None, emit: bool = True) -> tuple[dict, tuple[str, ...]]:
        """Apply `values` to a record; returns `(record, changed field names)`.

        Nothing is written (no new `sys_mod_count`, no event) when every value is already held
        and no journal text comes with it. Raises RecordError 404 for an unknown sys_id.
        """
        table = self.table(table_name)
        with self._lock:
            current = self.tables[table.name].get(sys_id)
            if current is None:
                raise RecordError(404, "No Record found",
                                  "Record doesn't exist or ACL restricts the record retrieval")
            changes, journal = self._writable_changes(table, values)
            before = dict(current)
            after = dict(current)
            after.update(changes)
            stamp = self._stamp(at)
            if table.name in TICKET_TABLES:
                rules.on_update(self, table, before, after, user, stamp)
            changed = tuple(name for name in table.all_columns
                            if after.get(name) != before.get(name) and not name.startswith("sys_"))
            if not changed and not journal:
                return dict(current), ()
            after.update(sys_updated_on=stamp, sys_updated_by=user,
                         sys_mod_count=str(int(before.get("sys_mod_count") or 0) + 1))
            self.tables[table.name][sys_id] = after
            entries = self._add_journal(table, after, journal, user, stamp)
            changed = changed + tuple(sorted(journal))
            if emit and table.emits_events and self.on_change:
                self.on_change(ChangeNotice(table.name, "update", dict(after), changed, user,
                                            tuple(entries)))
            return dict(after), changed

    def delete(self, table_name: str, sys_id: str, *, user: str, emit: bool = True) -> dict:
        """Remove a record (and, for a ticket, its journal and SLA rows); returns it.

        Raises RecordError 404 for an unknown sys_id.
        """
        table = self.table(table_name)
        with self._lock:
            record = self.tables[table.name].pop(sys_id, None)
            if record is None:
                raise RecordError(404, "No Record found",
                                  "Record doesn't exist or ACL restricts the record retrieval")
            if table.name in TICKET_TABLES:
                for dependent, key in (("sys_journal_field", "element_id"), ("task_sla", "task")):
                    rows = self.tables[dependent]
                    for row_id in [rid for rid, row in rows.items() if row.get(key) == sys_id]:
                        del rows[row_id]
            if emit and table.emits_events and self.on_change:
                gone = dict(record)
                # the delete is one more modification: its event id must not repeat the last update's
                gone["sys_mod_count"] = str(int(record.get("sys_mod_count") or 0) + 1)
                gone["sys_updated_by"] = user
                gone["sys_updated_on"] = self._stamp(None)
                self.on_change(ChangeNotice(table.name, "delete", gone, (), user))
            return dict(record)

    def _add_journal(self, table: Table, record: dict, journal: dict[str, str], user: str,
                     stamp: str) -> list[dict]:
        entries = []
        for element in sorted(journal):
            row_id = uuid.uuid4().hex
            row = {name: column.default for name, column in
                   TABLES_BY_NAME["sys_journal_field"].all_columns.items()}
            row.update(sys_id=row_id, element=element, element_id=record["sys_id"],
                       name=table.name, value=journal[element], sys_created_by=user,
                       sys_created_on=stamp, sys_updated_by=user, sys_updated_on=stamp,
                       sys_class_name="sys_journal_field")
            self.tables["sys_journal_field"][row_id] = row
            entries.append({"element": element, "value": journal[element], "sys_created_by": user,
                            "sys_created_on": stamp})
        return entries

    def put_raw(self, table_name: str, record: dict) -> dict:
        """Store a complete row as given (dictionary, choices, SLA rows while seeding)."""
        table = self.table(table_name)
        with self._lock:
            row = {name: column.default for name, column in table.all_columns.items()}
            row.update(record)
            row.setdefault("sys_class_name", table.name)
            if not row.get("sys_class_name"):
                row["sys_class_name"] = table.name
            self.tables[table.name][row["sys_id"]] = row
            return dict(row)

    def set_raw(self, table_name: str, sys_id: str, values: dict) -> None:
        """Change columns of a stored row with no rules, counts or events (derived rows only)."""
        with self._lock:
            self.tables[table_name][sys_id].update(values)
