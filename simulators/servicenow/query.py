"""Encoded queries (`sysparm_query`) as the Table API reads them: parse once, match records.

Grammar handled: conditions joined by `^` (and) or `^OR` (or, binding to the condition before
it), `^NQ` (a new query whose results are added), `ORDERBY<field>` / `ORDERBYDESC<field>`.
Operators: `= != > >= < <= IN NOTIN LIKE NOTLIKE STARTSWITH ENDSWITH ISEMPTY ISNOTEMPTY
ANYTHING BETWEEN` (`BETWEENa@b`). Dates compare as ServiceNow's sortable `YYYY-MM-DD HH:MM:SS`
strings; `javascript:gs.dateGenerate('2026-01-01','00:00:00')` is read as that date. Field
names may dot-walk a reference (`caller_id.vip=true`).

A condition on a column the table does not have matches nothing (what an instance does with
`glide.invalid_query.returns_no_rows` on, the setting ServiceNow recommends), so a misspelt
field fails loudly in tests instead of returning everything.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

OPERATORS = ("ISNOTEMPTY", "ISEMPTY", "ANYTHING", "NOTIN", "IN", "NOTLIKE", "NOT LIKE", "LIKE",
             "STARTSWITH", "ENDSWITH", "BETWEEN", "!=", ">=", "<=", "=", ">", "<")
_CONDITION = re.compile(r"^([a-z0-9_.]+?)(" + "|".join(re.escape(op) for op in OPERATORS) + r")(.*)$",
                        re.DOTALL)
_DATE_GENERATE = re.compile(r"javascript:\s*gs\.dateGenerate\(\s*'([^']*)'\s*,\s*'([^']*)'\s*\)")


class QueryError(ValueError):
    """The encoded query cannot be read at all (malformed term)."""


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str
    value: str


@dataclass(frozen=True)
class Ordering:
    field: str
    descending: bool


@dataclass(frozen=True)
class EncodedQuery:
    """`groups` is a list of alternatives (`^NQ`); each is a list of OR-groups that must all hold."""

    groups: tuple[tuple[tuple[Condition, ...], ...], ...]
    ordering: tuple[Ordering, ...]

    @property
    def fields(self) -> set[str]:
        return {c.field for alternative in self.groups for group in alternative for c in group}


def _literal(value: str) -> str:
    match = _DATE_GENERATE.fullmatch(value.strip())
    if match:
        date, time_of_day = match.groups()
        return f"{date} {time_of_day or '00:00:00'}".strip()
    return value


def parse_query(text: str | None) -> EncodedQuery:
    """Parse an encoded query; an empty one matches everything. Raises QueryError."""
    alternatives: list[tuple[tuple[Condition, ...], ...]] = []
    ordering: list[Ordering] = []
    for part in (text or "").split("^NQ"):
        groups: list[list[Condition]] = []
        for raw_term in part.split("^"):
            term = raw_term.strip()
            if not term or term == "EQ":
                continue
            joins_previous = term.startswith("OR") and not term.startswith("ORDERBY")
            if joins_previous:
                term = term[2:]
            if term.startswith("ORDERBYDESC"):
                ordering.append(Ordering(term[len("ORDERBYDESC"):], True))
                continue
            if term.startswith("ORDERBY"):
                ordering.append(Ordering(term[len("ORDERBY"):], False))
                continue
            match = _CONDITION.match(term)
            if not match:
                raise QueryError(f"cannot read query term {raw_term!r}")
            field_name, operator, value = match.groups()
            condition = Condition(field_name, operator.replace(" ", ""), _literal(value))
            if joins_previous and groups:
                groups[-1].append(condition)
            else:
                groups.append([condition])
        if groups:
            alternatives.append(tuple(tuple(group) for group in groups))
    if not alternatives:
        alternatives.append(())
    return EncodedQuery(tuple(alternatives), tuple(ordering))


ValueGetter = Callable[[dict, str], "tuple[bool, str, bool]"]
"""`(record, field) -> (known, raw value, numeric)`: how the store reads a (dot-walked) field."""


def _as_number(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _compare(left: str, right: str, numeric: bool) -> int:
    if numeric:
        a, b = _as_number(left), _as_number(right)
        if a is not None and b is not None:
            return (a > b) - (a < b)
    a, b = left.lower(), right.lower()
    return (a > b) - (a < b)


def condition_holds(condition: Condition, record: dict, get_value: ValueGetter) -> bool:
    known, value, numeric = get_value(record, condition.field)
    if not known:
        return False
    operator, wanted = condition.operator, condition.value
    if operator == "ANYTHING":
        return True
    if operator == "ISEMPTY":
        return value == ""
    if operator == "ISNOTEMPTY":
        return value != ""
    if operator in ("IN", "NOTIN"):
        options = {option.strip().lower() for option in wanted.split(",")}
        inside = value.lower() in options
        return inside if operator == "IN" else not inside
    if operator in ("LIKE", "NOTLIKE"):
        found = wanted.lower() in value.lower()
        return found if operator == "LIKE" else not found
    if operator == "STARTSWITH":
        return value.lower().startswith(wanted.lower())
    if operator == "ENDSWITH":
        return value.lower().endswith(wanted.lower())
    if operator == "BETWEEN":
        low, _, high = wanted.partition("@")
        low, high = _literal(low), _literal(high)
        return value != "" and _compare(value, low, numeric) >= 0 and _compare(value, high, numeric) <= 0
    if operator == "=":
        return _compare(value, wanted, numeric) == 0 if value != "" or wanted != "" else True
    if operator == "!=":
        return not (_compare(value, wanted, numeric) == 0 if value != "" or wanted != "" else True)
    if value == "":
        return False  # an empty value is neither before nor after anything
    order = _compare(value, wanted, numeric)
    return {">": order > 0, ">=": order >= 0, "<": order < 0, "<=": order <= 0}[operator]


def matches(query: EncodedQuery, record: dict, get_value: ValueGetter) -> bool:
    for alternative in query.groups:
        if all(any(condition_holds(c, record, get_value) for c in group) for group in alternative):
            return True
    return False


def sort_records(records: Sequence[dict], ordering: Sequence[Ordering],
                 get_value: ValueGetter) -> list[dict]:
    """Records in the requested order; stable, so equal keys keep insertion order."""
    result = list(records)
    for rule in reversed(ordering):
        def key(record, field=rule.field):
            known, value, numeric = get_value(record, field)
            number = _as_number(value) if numeric else None
            return (number is None, number if number is not None else 0, value.lower())
        result.sort(key=key, reverse=rule.descending)
    return result
