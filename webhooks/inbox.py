"""The durable inbox's unit of work: an event's row and its processing job, in one transaction.

`store_events` inserts the `inbox_events` rows (unique on connection and delivery id, so a
redelivery is recognised and only counted) and enqueues their `process_event` jobs in the
caller's transaction. Both commit together or not at all. The webhook endpoint reaches it through
`webhooks.inbox_writer.InboxWriter`, which commits concurrent deliveries together.

The statements are plain SQL on the driver's cursor, built once per database and batch size.
With gthread workers the writer runs them while the request threads compete for the interpreter
lock, and on SQLite every step of a statement (each row it returns is one) lets the lock go, to
be won back while the batch holds the database. Hence few statements per batch (on SQLite: BEGIN
IMMEDIATE, one INSERT per table, COMMIT), no ORM, and each event serialised to JSON once, in its
request (the job's payload embeds the same text).
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Sequence

from sqlalchemy import JSON, DateTime
from sqlalchemy.orm import Session

from domain.events import TicketEvent
from jobs.queue import NewJob, job_row
from storage.clock import utcnow
from storage.models import InboxEvent, Job

PROCESS_EVENT_JOB = "process_event"
DEFAULT_MAX_ATTEMPTS = 8  # jobs.queue.enqueue's default
# Rows per INSERT: SQLite builds before 3.32 allow 999 parameters in one statement.
_ROWS_PER_STATEMENT = 90
# SQLite picks rowids at random only once the largest one is 2**63 - 1; far below, ids stay in sequence.
_RANDOM_ROWIDS_FROM = 2 ** 62


def process_event_dedupe_key(connection_id: str, delivery_id: str) -> str:
    return f"event:{connection_id}:{delivery_id}"


def store_event(session: Session, event: TicketEvent, *, max_attempts: int | None = None) -> bool:
    """Insert `event` into the inbox and enqueue its `process_event` job, in `session`'s transaction.

    Returns True when the event is new, False for a redelivery (its row's `duplicates` is
    incremented and no job is added). The caller commits; database errors propagate.
    """
    return store_events(session, [event], max_attempts=max_attempts)[0]


def store_events(session: Session, events: Sequence[TicketEvent], *, max_attempts: int | None = None) -> list[bool]:
    """`store_event` for many events in a constant number of statements (the group commit's path).

    Returns, in order, True for each event stored now and False for each redelivery (of an
    event stored before, or earlier in `events`). Jobs are the rows `jobs.queue.job_row` makes.
    The caller commits; database errors propagate (the driver's own exception classes).
    """
    connection = session.connection()
    return store_on_connection(connection.dialect, connection.connection, events, max_attempts)


def store_on_connection(dialect, driver_connection, events: Sequence[TicketEvent], max_attempts: int | None = None,
                        encoded: Sequence[str] | None = None) -> list[bool]:
    """`store_events` on a driver (DB-API) connection of `dialect` whose transaction has begun (on
    SQLite: the write lock). `encoded[i]`, when given, is `encode_event(events[i])`."""
    if not events:
        return []
    statements = _statements(dialect)
    cursor = driver_connection.cursor()
    try:
        return _store_with_cursor(cursor, statements, events,
                                  encoded if encoded is not None else [encode_event(event) for event in events],
                                  max_attempts)
    finally:
        cursor.close()


def encode_event(event: TicketEvent) -> str:
    """The JSON text of `event` as the inbox row and the job's payload hold it."""
    return json.dumps(event.to_json())


def _store_with_cursor(cursor, statements: "_Statements", events: Sequence[TicketEvent], encoded: Sequence[str],
                       max_attempts: int | None) -> list[bool]:
    now = utcnow()
    first_seen: dict[tuple[str, str], int] = {}
    for position, event in enumerate(events):
        first_seen.setdefault((event.connection_id, event.delivery_id), position)
    received_at = statements.received_at(now)
    rows = [(events[position].connection_id, events[position].delivery_id, events[position].ticket_key,
             encoded[position], received_at) for position in first_seen.values()]
    inserted = statements.insert_inbox(cursor, rows)

    results, jobs, repeats = [], [], {}
    for position, event in enumerate(events):
        key = (event.connection_id, event.delivery_id)
        is_new = key in inserted and first_seen[key] == position
        results.append(is_new)
        if is_new:
            row = job_row(NewJob(kind=PROCESS_EVENT_JOB, dedupe_key=process_event_dedupe_key(*key), payload={},
                                 connection_id=event.connection_id, ticket_key=event.ticket_key,
                                 max_attempts=max_attempts), now, default_max_attempts=DEFAULT_MAX_ATTEMPTS)
            # The text json.dumps({"inbox_id": ..., "event": ...}) gives, without encoding the event again.
            row["payload"] = _Encoded(f'{{"inbox_id": {inserted[key]}, "event": {encoded[position]}}}')
            jobs.append(row)
        else:
            repeats[key] = repeats.get(key, 0) + 1
    if jobs:
        statements.insert_jobs(cursor, jobs)
    if repeats:
        cursor.executemany(statements.count_duplicates,
                           [(count, key[0], key[1]) for key, count in repeats.items()])
    return results


class _Encoded(str):
    """JSON text already serialised, to be stored as it is in a JSON column."""


@dataclass(frozen=True)
class _Statements:
    # insert_inbox(cursor, rows) -> {(connection_id, delivery_id): id} of the rows inserted now;
    # rows are (connection_id, delivery_id, ticket_key, event JSON text, received_at) and distinct.
    insert_inbox: Callable[[Any, list[tuple]], dict[tuple[str, str], int]]
    # insert_jobs(cursor, job rows as jobs.queue.job_row makes them): skips known dedupe keys.
    insert_jobs: Callable[[Any, list[dict]], None]
    count_duplicates: str                  # duplicates += ? for (connection_id, delivery_id) = (?, ?)
    received_at: Callable[[datetime], Any]  # a datetime as the driver stores it in this schema


_BUILT: dict[tuple[str, str, str], _Statements] = {}


def _statements(dialect) -> _Statements:
    """Built once per database and driver: under load, building SQL costs more than running it."""
    key = (dialect.name, dialect.driver, dialect.paramstyle)
    statements = _BUILT.get(key)
    if statements is None:
        statements = _BUILT.setdefault(key, _build_statements(dialect))
    return statements


def _build_statements(dialect) -> _Statements:
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    postgres = dialect.name == "postgresql"
    inbox, jobs = InboxEvent.__table__, Job.__table__
    converters = {column.name: _converter(column, dialect) for column in jobs.columns}

    def placeholder(column) -> str:
        # psycopg sends str parameters as text; a JSON column takes them through an explicit cast.
        return f"CAST({mark} AS JSON)" if postgres and isinstance(column.type, JSON) else mark

    inbox_row = "(" + ", ".join(placeholder(inbox.c[name]) for name in
                                ("connection_id", "delivery_id", "ticket_key", "event", "received_at")) + ", 0)"
    insert_inbox_sql = functools.lru_cache(maxsize=64)(lambda count: (
        "INSERT INTO inbox_events (connection_id, delivery_id, ticket_key, event, received_at, duplicates) VALUES "
        + ", ".join([inbox_row] * count)
        + " ON CONFLICT (connection_id, delivery_id) DO NOTHING RETURNING id, connection_id, delivery_id"))

    plain_insert_inbox_sql = functools.lru_cache(maxsize=64)(lambda count: (
        "INSERT INTO inbox_events (connection_id, delivery_id, ticket_key, event, received_at, duplicates) VALUES "
        + ", ".join([inbox_row] * count)))
    stored_ids_sql = functools.lru_cache(maxsize=64)(lambda count: (
        "SELECT json_group_array(json_array(id, connection_id, delivery_id)) FROM inbox_events "
        "WHERE (connection_id, delivery_id) IN (VALUES " + ", ".join([f"({mark}, {mark})"] * count) + ")"))

    def stored_ids(cursor, rows: list[tuple]) -> dict[tuple[str, str], int]:
        """The ids of the rows among `rows` that are in the inbox, in one row back."""
        cursor.execute(stored_ids_sql(len(rows)), [value for row in rows for value in row[:2]])
        return {(connection_id, delivery_id): row_id
                for row_id, connection_id, delivery_id in json.loads(cursor.fetchone()[0])}

    integrity_error = dialect.dbapi.IntegrityError

    def insert_inbox(cursor, rows: list[tuple]) -> dict[tuple[str, str], int]:
        inserted = {}
        if postgres:
            for chunk in _chunks(rows):
                cursor.execute(insert_inbox_sql(len(chunk)), [value for row in chunk for value in row])
                inserted.update({(connection_id, delivery_id): row_id
                                 for row_id, connection_id, delivery_id in cursor.fetchall()})
            return inserted
        # SQLite: each statement step hands the interpreter lock away (and each row RETURNING gives
        # is a step), so the usual batch is one plain INSERT. The transaction holds the write lock
        # and SQLite gives each new row the largest rowid + 1, so the rows of one INSERT get
        # consecutive ids ending at `lastrowid` (sqlite.org/autoinc.html).
        for chunk in _chunks(rows):
            try:
                cursor.execute(plain_insert_inbox_sql(len(chunk)), [value for row in chunk for value in row])
            except integrity_error:
                # A redelivery of a stored event: the statement was undone; insert the others only.
                known = stored_ids(cursor, chunk)
                chunk = [row for row in chunk if (row[0], row[1]) not in known]
                if not chunk:
                    continue
                cursor.execute(plain_insert_inbox_sql(len(chunk)), [value for row in chunk for value in row])
            last = cursor.lastrowid
            if last is not None and len(chunk) <= last < _RANDOM_ROWIDS_FROM:
                inserted.update({(row[0], row[1]): last - len(chunk) + 1 + offset
                                 for offset, row in enumerate(chunk)})
            else:  # ids no longer in sequence: ask for them
                inserted.update(stored_ids(cursor, chunk))
        return inserted

    @functools.lru_cache(maxsize=8)
    def job_columns(names: tuple[str, ...]) -> tuple[str, Callable]:
        row = "(" + ", ".join(placeholder(jobs.c[name]) for name in names) + ")"
        convert = [converters[name] for name in names]
        sql = functools.lru_cache(maxsize=64)(lambda count: (
            f"INSERT INTO jobs ({', '.join(names)}) VALUES " + ", ".join([row] * count)
            + " ON CONFLICT (dedupe_key) DO NOTHING"))
        return sql, lambda values: [to_driver(value) for to_driver, value in zip(convert, values)]

    def insert_jobs(cursor, rows: list[dict]) -> None:
        sql, convert = job_columns(tuple(rows[0]))
        for chunk in _chunks(rows):
            cursor.execute(sql(len(chunk)), [value for row in chunk for value in convert(row.values())])

    return _Statements(
        insert_inbox=insert_inbox, insert_jobs=insert_jobs, received_at=_converter(inbox.c.received_at, dialect),
        count_duplicates=(f"UPDATE inbox_events SET duplicates = duplicates + {mark} "
                          f"WHERE connection_id = {mark} AND delivery_id = {mark}"))


def _converter(column, dialect) -> Callable[[Any], Any]:
    """How a Python value of `column` goes to the driver: as SQLAlchemy would bind it (so SQLite
    datetimes have the text form the ORM reads back), JSON as its text."""
    if isinstance(column.type, JSON):
        return lambda value: value if isinstance(value, _Encoded) or value is None else json.dumps(value)
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return lambda value: value
    # A batch's rows share one `now`: its text form (SQLite datetimes) is made once, not per row.
    return functools.lru_cache(maxsize=8)(process) if isinstance(column.type, DateTime) else process


def _chunks(rows: list) -> list[list]:
    return [rows[start:start + _ROWS_PER_STATEMENT] for start in range(0, len(rows), _ROWS_PER_STATEMENT)]
