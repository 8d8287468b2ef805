"""The subset of JQL the service and its tests use, parsed and evaluated against stored issues.

Supported: clauses `field op value` joined by AND / OR / NOT and parentheses; operators
`= != > >= < <= ~ !~ IN (...) NOT IN (...) IS [NOT] EMPTY|NULL`; fields project, key/id/issuekey,
created, updated, resolved/resolutiondate, due, reporter, assignee, creator, status,
statusCategory, priority, issuetype/type, resolution, component, labels, summary, description,
and custom fields by `cf[NNNNN]` or display name; values as words, quoted strings, numbers,
dates (`"yyyy/MM/dd HH:mm"`, `"yyyy-MM-dd"`, ...), relative periods (`-5m`, `"-1w 2d"`),
`now()`, `startOfDay()`, `endOfDay()`, `currentUser()`, `EMPTY`; and `ORDER BY f [ASC|DESC], ...`.

Dates are read in UTC (the simulated users' time zone). Errors carry Jira's wording, raised as
`JqlError`; a key that names no issue is an error on Data Center and a warning on Cloud, as the
two deployments answer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Callable

from simulators.jira.directory import CLOUD
from simulators.jira.instance import ISSUE_TYPES, PRIORITIES, JiraInstance
from simulators.jira.issues import PROJECT_ID, PROJECT_KEY, PROJECT_NAME, Issue
from simulators.jira.workflow import RESOLUTIONS, STATUS_CATEGORIES, STATUSES

KEYWORDS = {"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"}
DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
PERIOD = re.compile(r"^\s*([+-]?)\s*((?:\d+\s*[wdhm]\s*)+)$", re.IGNORECASE)
PERIOD_PART = re.compile(r"(\d+)\s*([wdhm])", re.IGNORECASE)
UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}


class JqlError(ValueError):
    """The query is malformed or names something that does not exist (HTTP 400)."""


# ------------------------------------------------------------------------------------------------
# Tokens
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Token:
    kind: str      # "word", "string", "op", "(", ")", ",", "end"
    text: str
    position: int

    def is_keyword(self, word: str) -> bool:
        return self.kind == "word" and self.text.lower() == word


_OPERATORS = ("!=", ">=", "<=", "!~", "=", ">", "<", "~")
_WORD_BREAK = set(" \t\r\n()=!<>~,\"'")


def tokenize(text: str) -> list[Token]:
    """Split a query into tokens; raises JqlError on an unterminated string."""
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if char in "(),":
            tokens.append(Token(char, char, i))
            i += 1
            continue
        operator = next((op for op in _OPERATORS if text.startswith(op, i)), None)
        if operator:
            tokens.append(Token("op", operator, i))
            i += len(operator)
            continue
        if char in "\"'":
            start, i, chars = i, i + 1, []
            while i < len(text) and text[i] != char:
                if text[i] == "\\" and i + 1 < len(text):
                    i += 1
                chars.append(text[i])
                i += 1
            if i >= len(text):
                raise JqlError(f"Error in the JQL Query: The quoted string '{text[start + 1:]}' has not "
                               f"been completed. (line 1, character {start + 1})")
            tokens.append(Token("string", "".join(chars), start))
            i += 1
            continue
        start = i
        while i < len(text) and text[i] not in _WORD_BREAK:
            i += 1
        tokens.append(Token("word", text[start:i], start))
    tokens.append(Token("end", "", len(text)))
    return tokens


# ------------------------------------------------------------------------------------------------
# Syntax tree
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Value:
    kind: str          # "literal", "empty", "function"
    text: str = ""
    args: tuple[str, ...] = ()
    quoted: bool = False


@dataclass(frozen=True)
class Clause:
    field: str
    operator: str      # "=", "!=", ">", ">=", "<", "<=", "~", "!~", "in", "not in", "is", "is not"
    values: tuple[Value, ...]
    position: int


@dataclass(frozen=True)
class Junction:
    operator: str      # "and", "or"
    parts: tuple


@dataclass(frozen=True)
class Negation:
    part: object


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool


@dataclass(frozen=True)
class Query:
    where: object | None
    order: tuple[SortKey, ...] = ()


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, expected: str) -> JqlError:
        token = self.current
        got = token.text if token.kind != "end" else "the end of the query"
        return JqlError(f"Error in the JQL Query: Expecting {expected} but got '{got}'. "
                        f"(line 1, character {token.position + 1})")

    def parse(self) -> Query:
        where = None
        if not (self.current.kind == "end" or self.current.is_keyword("order")):
            where = self.parse_or()
        order: list[SortKey] = []
        if self.current.is_keyword("order"):
            self.advance()
            if not self.current.is_keyword("by"):
                raise self.fail("'by'")
            self.advance()
            while True:
                name = self.parse_field_name()
                descending = False
                if self.current.is_keyword("asc") or self.current.is_keyword("desc"):
                    descending = self.advance().text.lower() == "desc"
                order.append(SortKey(name, descending))
                if self.current.kind != ",":
                    break
                self.advance()
        if self.current.kind != "end":
            raise self.fail("either 'OR' or 'AND'" if where is not None else "a field name")
        return Query(where, tuple(order))

    def parse_or(self):
        parts = [self.parse_and()]
        while self.current.is_keyword("or"):
            self.advance()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else Junction("or", tuple(parts))

    def parse_and(self):
        parts = [self.parse_not()]
        while self.current.is_keyword("and"):
            self.advance()
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else Junction("and", tuple(parts))

    def parse_not(self):
        if self.current.is_keyword("not"):
            self.advance()
            return Negation(self.parse_not())
        if self.current.kind == "(":
            self.advance()
            inner = self.parse_or()
            if self.current.kind != ")":
                raise self.fail("')'")
            self.advance()
            return inner
        return self.parse_clause()

    def parse_field_name(self) -> str:
        token = self.current
        if token.kind not in ("word", "string") or (token.kind == "word" and token.text.lower() in KEYWORDS):
            raise self.fail("a field name")
        self.advance()
        return token.text

    def parse_clause(self) -> Clause:
        position = self.current.position
        name = self.parse_field_name()
        token = self.current
        if token.kind == "op":
            self.advance()
            return Clause(name, token.text, (self.parse_value(),), position)
        if token.is_keyword("in"):
            self.advance()
            return Clause(name, "in", self.parse_list(), position)
        if token.is_keyword("not"):
            self.advance()
            if not self.current.is_keyword("in"):
                raise self.fail("'IN'")
            self.advance()
            return Clause(name, "not in", self.parse_list(), position)
        if token.is_keyword("is"):
            self.advance()
            operator = "is"
            if self.current.is_keyword("not"):
                self.advance()
                operator = "is not"
            if not (self.current.is_keyword("empty") or self.current.is_keyword("null")):
                raise self.fail("'EMPTY' or 'NULL'")
            self.advance()
            return Clause(name, operator, (Value("empty"),), position)
        raise self.fail("operator")

    def parse_list(self) -> tuple[Value, ...]:
        if self.current.kind != "(":
            raise self.fail("'('")
        self.advance()
        values = [self.parse_value()]
        while self.current.kind == ",":
            self.advance()
            values.append(self.parse_value())
        if self.current.kind != ")":
            raise self.fail("')'")
        self.advance()
        return tuple(values)

    def parse_value(self) -> Value:
        token = self.current
        if token.kind == "string":
            self.advance()
            return Value("literal", token.text, quoted=True)
        if token.kind != "word":
            raise self.fail("either a value, 'EMPTY' or a function")
        self.advance()
        if token.text.lower() in ("empty", "null"):
            return Value("empty")
        if self.current.kind == "(":
            self.advance()
            args = []
            while self.current.kind != ")":
                if self.current.kind not in ("word", "string"):
                    raise self.fail("')'")
                args.append(self.advance().text)
                if self.current.kind == ",":
                    self.advance()
            self.advance()
            return Value("function", token.text, tuple(args))
        return Value("literal", token.text)


def parse(text: str) -> Query:
    """Parse a JQL string; raises JqlError with Jira's wording and the character position."""
    return _Parser(text or "").parse()


# ------------------------------------------------------------------------------------------------
# Evaluation
# ------------------------------------------------------------------------------------------------

@dataclass
class SearchContext:
    instance: JiraInstance
    caller: str | None          # user handle of the searcher (currentUser())
    now: datetime
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FieldAccess:
    """How one JQL field reads an issue and understands literals."""

    name: str
    kind: str                                  # "string", "number", "date", "text", "key"
    values: Callable[[Issue], list]            # the issue's values (empty list when empty)
    literal: Callable[[Value, SearchContext, str], object]  # a query value in the same terms
    sort_value: Callable[[Issue], object] | None = None


def _choice(name: str, allowed: dict[str, str], *, extra: Callable[[str], object] | None = None):
    """A literal reader for a fixed vocabulary: id or name -> canonical id."""
    def read(value: Value, context: SearchContext, field_name: str) -> object:
        text = _plain(value, context)
        for key, label in allowed.items():
            if text.lower() in (key.lower(), label.lower()):
                return key
        if extra is not None:
            found = extra(text)
            if found is not None:
                return found
        raise JqlError(f"The value '{text}' does not exist for the field '{field_name}'.")
    return read


def _plain(value: Value, context: SearchContext) -> str:
    if value.kind == "function":
        raise JqlError(f"Unable to find JQL function '{value.text}({', '.join(value.args)})'.")
    return value.text


def _user_literal(value: Value, context: SearchContext, field_name: str) -> object:
    if value.kind == "function":
        if value.text.lower() == "currentuser":
            return context.caller
        raise JqlError(f"Unable to find JQL function '{value.text}()'.")
    user = context.instance.directory.find(value.text)
    if user is None:
        raise JqlError(f"The value '{value.text}' does not exist for the field '{field_name}'.")
    return user.handle


def _date_literal(value: Value, context: SearchContext, field_name: str) -> datetime:
    if value.kind == "function":
        name = value.text.lower()
        today = datetime.combine(context.now.date(), time(0, 0), tzinfo=timezone.utc)
        offset = _period(value.args[0]) if value.args else timedelta(0)
        if offset is None:
            raise JqlError(f"Invalid period '{value.args[0]}' in function '{value.text}'.")
        if name == "now":
            return context.now
        if name == "startofday":
            return today + offset
        if name == "endofday":
            return today + timedelta(days=1) - timedelta(milliseconds=1) + offset
        raise JqlError(f"Unable to find JQL function '{value.text}()'.")
    text = value.text.strip()
    period = _period(text)
    if period is not None:
        return context.now + period
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    raise JqlError(f"Date value '{text}' for field '{field_name}' is invalid. Valid formats include: "
                   "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
                   "format e.g. '-5d', '4w 2d'.")


def _period(text: str) -> timedelta | None:
    match = PERIOD.match(text)
    if not match:
        return None
    seconds = sum(int(n) * UNIT_SECONDS[unit.lower()] for n, unit in PERIOD_PART.findall(match.group(2)))
    return timedelta(seconds=-seconds if match.group(1) == "-" else seconds)


def _number_literal(value: Value, context: SearchContext, field_name: str) -> float:
    text = _plain(value, context)
    try:
        return float(text)
    except ValueError as exc:
        raise JqlError(f"The value '{text}' is not a valid number for the field '{field_name}'.") from exc


def _key_literal(value: Value, context: SearchContext, field_name: str) -> object:
    text = _plain(value, context).upper()
    issue = context.instance.store.find(text)
    if issue is None:
        message = f"An issue with key '{text}' does not exist for field '{field_name}'."
        if context.instance.deployment == CLOUD:
            context.warnings.append(message)
            return None
        raise JqlError(message)
    return issue.id


def _text_literal(value: Value, context: SearchContext, field_name: str) -> str:
    return _plain(value, context).lower()


def _field_accesses(instance: JiraInstance) -> dict[str, FieldAccess]:
    def user_values(attribute: str) -> Callable[[Issue], list]:
        return lambda issue: [getattr(issue, attribute)] if getattr(issue, attribute) else []

    def date_values(attribute: str) -> Callable[[Issue], list]:
        return lambda issue: [getattr(issue, attribute)] if getattr(issue, attribute) else []

    components = {cid: c.name for cid, c in instance.components.items()}
    accesses = [
        FieldAccess("project", "string", lambda issue: [PROJECT_ID],
                    lambda v, c, n: PROJECT_ID if _plain(v, c).lower() in (
                        PROJECT_ID, PROJECT_KEY.lower(), PROJECT_NAME.lower()) else _no_value(v, n),
                    lambda issue: PROJECT_KEY),
        FieldAccess("key", "key", lambda issue: [issue.id], _key_literal,
                    lambda issue: int(issue.id)),
        FieldAccess("created", "date", date_values("created"), _date_literal, lambda i: i.created),
        FieldAccess("updated", "date", date_values("updated"), _date_literal, lambda i: i.updated),
        FieldAccess("resolved", "date", date_values("resolutiondate"), _date_literal,
                    lambda i: i.resolutiondate),
        FieldAccess("statusCategoryChangedDate", "date", date_values("status_category_changed"),
                    _date_literal, lambda i: i.status_category_changed),
        FieldAccess("due", "date",
                    lambda i: [datetime.fromisoformat(i.duedate).replace(tzinfo=timezone.utc)] if i.duedate else [],
                    _date_literal, lambda i: i.duedate),
        FieldAccess("reporter", "string", user_values("reporter"), _user_literal, lambda i: i.reporter),
        FieldAccess("assignee", "string", user_values("assignee"), _user_literal, lambda i: i.assignee),
        FieldAccess("creator", "string", user_values("creator"), _user_literal, lambda i: i.creator),
        FieldAccess("status", "string", lambda i: [i.status_id],
                    _choice("status", {s.id: s.name for s in STATUSES.values()}),
                    lambda i: STATUSES[i.status_id].name),
        FieldAccess("statusCategory", "string", lambda i: [STATUSES[i.status_id].category.key],
                    _choice("statusCategory", {c.key: c.name for c in STATUS_CATEGORIES},
                            extra=lambda t: next((c.key for c in STATUS_CATEGORIES if t == str(c.id)), None)),
                    lambda i: STATUSES[i.status_id].category.id),
        FieldAccess("priority", "string", lambda i: [i.priority_id] if i.priority_id else [],
                    _choice("priority", PRIORITIES), lambda i: -int(i.priority_id or 99)),
        FieldAccess("issuetype", "string",
                    lambda i: [tid for tid, name in ISSUE_TYPES.items() if name == i.issue_type],
                    _choice("issuetype", ISSUE_TYPES), lambda i: i.issue_type),
        FieldAccess("resolution", "string", lambda i: [i.resolution_id] if i.resolution_id else [],
                    _choice("resolution", {r.id: r.name for r in RESOLUTIONS.values()},
                            extra=lambda t: _EMPTY if t.lower() == "unresolved" else None),
                    lambda i: i.resolution_id or ""),
        FieldAccess("component", "string", lambda i: list(i.components), _choice("component", components),
                    lambda i: ",".join(sorted(components[c] for c in i.components))),
        FieldAccess("labels", "string", lambda i: [label.lower() for label in i.labels],
                    lambda v, c, n: _plain(v, c).lower(), lambda i: ",".join(sorted(i.labels))),
        FieldAccess("summary", "text", lambda i: [i.summary], _text_literal, lambda i: i.summary.lower()),
        FieldAccess("description", "text", lambda i: [i.description] if i.description else [],
                    _text_literal, lambda i: (i.description or "").lower()),
    ]
    by_name = {access.name.lower(): access for access in accesses}
    for alias, target in (("id", "key"), ("issue", "key"), ("issuekey", "key"), ("type", "issuetype"),
                          ("resolutiondate", "resolved"), ("createddate", "created"),
                          ("updateddate", "updated"), ("duedate", "due"), ("components", "component")):
        by_name[alias] = by_name[target]
    return by_name


class _Empty:
    """Marker for `resolution = Unresolved` (the same as EMPTY)."""


_EMPTY = _Empty()


def _no_value(value: Value, field_name: str):
    raise JqlError(f"The value '{value.text}' does not exist for the field '{field_name}'.")


def _custom_access(instance: JiraInstance, field_name: str) -> FieldAccess | None:
    definition = instance.catalogue.by_clause(field_name)
    if definition is None or not definition.custom:
        return None
    if definition.kind == "option":
        allowed = {o.id: o.value for o in definition.options}
        return FieldAccess(field_name, "string",
                           lambda i: [i.custom[definition.id]] if definition.id in i.custom else [],
                           _choice(field_name, allowed),
                           lambda i: allowed.get(i.custom.get(definition.id), ""))
    if definition.kind == "number":
        return FieldAccess(field_name, "number",
                           lambda i: [float(i.custom[definition.id])] if definition.id in i.custom else [],
                           _number_literal, lambda i: i.custom.get(definition.id))
    return FieldAccess(field_name, "text",
                       lambda i: [i.custom[definition.id]] if definition.id in i.custom else [],
                       _text_literal, lambda i: str(i.custom.get(definition.id) or "").lower())


class Matcher:
    """A parsed query bound to one instance and caller: filter and sort issues."""

    def __init__(self, query: Query, context: SearchContext) -> None:
        self.query = query
        self.context = context
        self._accesses = _field_accesses(context.instance)
        # Resolve every literal once, up front, so unknown values fail before any matching.
        self._compiled = self._compile(query.where) if query.where is not None else None
        self._sorters = [(self._access(k.field), k.descending) for k in query.order]

    def _access(self, name: str) -> FieldAccess:
        access = self._accesses.get(name.lower()) or _custom_access(self.context.instance, name)
        if access is None:
            raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
        return access

    def _compile(self, node) -> Callable[[Issue], bool]:
        if isinstance(node, Junction):
            parts = [self._compile(p) for p in node.parts]
            if node.operator == "and":
                return lambda issue: all(p(issue) for p in parts)
            return lambda issue: any(p(issue) for p in parts)
        if isinstance(node, Negation):
            inner = self._compile(node.part)
            return lambda issue: not inner(issue)
        return self._compile_clause(node)

    def _compile_clause(self, clause: Clause) -> Callable[[Issue], bool]:
        access = self._access(clause.field)
        operator = clause.operator
        if operator in ("is", "is not"):
            wants_empty = operator == "is"
            return lambda issue: (not access.values(issue)) == wants_empty
        if access.kind == "text" and operator not in ("~", "!~"):
            raise JqlError(f"The operator '{operator}' is not supported by the '{clause.field}' field.")
        if access.kind != "text" and operator in ("~", "!~"):
            raise JqlError(f"The operator '{operator}' is not supported by the '{clause.field}' field.")
        if operator in (">", ">=", "<", "<=") and access.kind not in ("date", "number", "key"):
            raise JqlError(f"The operator '{operator}' is not supported by the '{clause.field}' field.")
        literals = []
        for value in clause.values:
            if value.kind == "empty":
                literals.append(_EMPTY)
            else:
                literals.append(access.literal(value, self.context, clause.field))
        if access.kind == "text":
            needle = literals[0]
            contains = lambda issue: any(needle in str(v).lower() for v in access.values(issue))  # noqa: E731
            return contains if operator == "~" else (lambda issue: not contains(issue))
        if access.kind == "date" and operator in ("=", "!="):
            minute = lambda d: d.replace(second=0, microsecond=0)  # noqa: E731
            literals = [minute(v) if isinstance(v, datetime) else v for v in literals]
            values_of = lambda issue: [minute(v) for v in access.values(issue)]  # noqa: E731
        else:
            values_of = access.values
        if access.kind == "key" and operator in (">", ">=", "<", "<="):
            literals = [int(v) for v in literals if v is not None]
            values_of = lambda issue: [int(issue.id)]  # noqa: E731
        return _comparison(operator, literals, values_of)

    def matches(self, issue: Issue) -> bool:
        return self._compiled is None or self._compiled(issue)

    def sort(self, issues: list[Issue]) -> list[Issue]:
        """Issues in ORDER BY order (no ORDER BY: newest key first, as Jira's default)."""
        ordered = sorted(issues, key=lambda i: int(i.id), reverse=not self._sorters)
        for access, descending in reversed(self._sorters):
            present = [i for i in ordered if access.sort_value(i) not in (None, "")]
            absent = [i for i in ordered if access.sort_value(i) in (None, "")]
            present.sort(key=access.sort_value, reverse=descending)
            # Jira lists empty values last in ascending order and first in descending order.
            ordered = absent + present if descending else present + absent
        return ordered


def _comparison(operator: str, literals: list, values_of: Callable[[Issue], list]) -> Callable[[Issue], bool]:
    wants_empty = any(v is _EMPTY for v in literals)
    wanted = [v for v in literals if v is not _EMPTY and v is not None]

    def equal(issue: Issue) -> bool:
        values = values_of(issue)
        if not values:
            return wants_empty
        return any(v in wanted for v in values)

    if operator in ("=", "in"):
        return equal
    if operator in ("!=", "not in"):
        # Jira's != and NOT IN never match an empty field (unless EMPTY is named explicitly).
        return lambda issue: bool(values_of(issue)) and not equal(issue) if not wants_empty else not equal(issue)
    bound = wanted[0] if wanted else None
    compare = {">": lambda a: a > bound, ">=": lambda a: a >= bound,
               "<": lambda a: a < bound, "<=": lambda a: a <= bound}[operator]
    return lambda issue: bound is not None and any(compare(v) for v in values_of(issue))


def search(instance: JiraInstance, jql: str, caller: str | None, now: datetime) -> tuple[list[Issue], list[str]]:
    """All issues matching `jql`, ordered; plus any warning messages. Raises JqlError."""
    context = SearchContext(instance, caller, now)
    matcher = Matcher(parse(jql), context)
    found = [issue for issue in instance.store.all() if matcher.matches(issue)]
    return matcher.sort(found), context.warnings
