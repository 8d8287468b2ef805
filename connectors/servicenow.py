"""ServiceNow over the Table API, with a thin client of our own (docs/decisions/0002-servicenow-client.md).

One method per endpoint, paths as class constants, every call through `HttpClient` (safety,
pacing, breaker, retries of idempotent calls, typed errors). Ticket key: `"<table>:<sys_id>"`.

Reads ask for `sysparm_display_value=all` (value and display value of every field in one
answer) and `sysparm_exclude_reference_link=true`, and dot-walk the caller's `sys_user` details
(email, VIP, language, location) into the same GET. A write is one PATCH carrying the fields
and the work note (internal) or comment (caller-visible); before appending, `sys_journal_field`
is checked for the note's marker so a retried write never posts twice.

Dates in encoded queries are read by the instance in the integration user's time zone: give
that user the UTC time zone (docs/connectors.md).
"""
from __future__ import annotations

import heapq
import logging
import re
from datetime import datetime, timezone
from typing import Iterator, Mapping, Sequence
from urllib.parse import urlsplit

from connectors import errors
from connectors.base import FieldInfo, Identity, SlaState, TaskKey, TicketConnector, TicketSearch, TicketWrite
from connectors.http import HttpClient, auth_for
from connectors.safety import origin_of
from connectors.writeback import appends_of, marker_line, same_value
from domain.ticket import Person, RawTicket
from settings.model import ConnectionSettings

log = logging.getLogger("xla.connectors.servicenow")

TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,79}$")
SYS_ID = re.compile(r"^[0-9a-f]{32}$")


class ServiceNowConnector(TicketConnector):
    """Read and write ServiceNow task records of one connection."""

    tool = "servicenow"

    TABLE_PATH = "/api/now/table/{table}"
    RECORD_PATH = "/api/now/table/{table}/{sys_id}"
    PAGE_SIZE = 100
    # The circuit breaker's probe: one user row, readable whenever the instance serves anything.
    HEALTH_PATH = "/api/now/table/sys_user?sysparm_limit=1&sysparm_fields=sys_id"

    KIND_TABLES = {"incident": "incident", "request": "sc_req_item", "change": "change_request"}
    TASK_TABLES = frozenset({"incident", "change_request", "sc_req_item", "problem", "sc_task", "sc_request",
                             "change_task"})
    # The field naming the person served, and who works on it, per table.
    CALLER_FIELD = {"incident": "caller_id", "sc_req_item": "requested_for", "sc_request": "requested_for",
                    "change_request": "requested_by"}
    ASSIGNEE_FIELD = "assigned_to"
    CALLER_DETAILS = ("user_name", "name", "email", "vip", "preferred_language", "location", "country", "active")
    ALWAYS_READ = ("sys_id", "number", "sys_mod_count", "sys_updated_on", "sys_updated_by", "assigned_to")
    SLA_STAGES = {"in_progress": "in_progress", "paused": "paused", "completed": "completed",
                  "achieved": "completed", "cancelled": "cancelled", "breached": "breached"}

    def __init__(self, connection: ConnectionSettings, *, http: HttpClient | None = None, **http_options):
        """Raises `settings.errors.ConfigError` when the password's environment variable is not set."""
        self.connection = connection
        self.connection_id = connection.id
        if http is None:
            auth, secrets = auth_for(connection)
            http = HttpClient(connection, tool=self.tool, auth=auth, secrets=secrets,
                              headers={"Content-Type": "application/json"},
                              health_path=self.HEALTH_PATH, **http_options)
        self._http = http

    # -- keys ----------------------------------------------------------------------------------

    def split_key(self, ticket_key: str) -> tuple[str, str]:
        """`"incident:<sys_id>"` -> ("incident", sys_id). Raises `InvalidRequest` for anything else."""
        table, _, sys_id = str(ticket_key).partition(":")
        if not TABLE_NAME.match(table) or not SYS_ID.match(sys_id):
            raise errors.InvalidRequest(
                f"servicenow connection {self.connection_id}: ticket key {ticket_key!r} is not "
                "'<table>:<32-hex sys_id>'", connection_id=self.connection_id)
        return table, sys_id

    # -- reading -------------------------------------------------------------------------------

    def whoami(self) -> Identity:
        """The integration user's `sys_user` record, found by its user_name."""
        user = self.connection.auth.user
        query = f"user_name={user}" if user else "sys_id=javascript:gs.getUserID()"
        rows = self._http.get_json(self.TABLE_PATH.format(table="sys_user"), params={
            "sysparm_query": query, "sysparm_fields": "sys_id,user_name,name,email", "sysparm_limit": 1,
            "sysparm_exclude_reference_link": "true"})
        result = (rows or {}).get("result") or []
        if not result:
            raise errors.NotFound(
                f"servicenow connection {self.connection_id}: no sys_user with user_name {user!r} is visible to "
                "the integration user; check auth.user and the user's read access to sys_user",
                connection_id=self.connection_id, status=200)
        me = result[0]
        key = me.get("user_name") or user or me.get("sys_id")
        aliases = tuple(dict.fromkeys(str(me[k]) for k in ("sys_id", "name", "email") if me.get(k)))
        return Identity(key=str(key), name=me.get("name"), aliases=aliases)

    def get_ticket(self, ticket_key: str, fields: Sequence[str] = ()) -> RawTicket:
        """One GET of the record with values and display values, and the caller's details.

        With `fields`, the caller's `sys_user` details are dot-walked into that same GET. With
        `fields` empty every column is read, and since the Table API dot-walks only fields it is
        asked for by name, the caller is then read from `sys_user` with a second GET (as it is
        when the instance withholds the dot-walked values, e.g. by an ACL).
        """
        table, sys_id = self.split_key(ticket_key)
        caller_field = self.CALLER_FIELD.get(table, "opened_by")
        params = {"sysparm_display_value": "all", "sysparm_exclude_reference_link": "true"}
        if fields:
            walked = [f"{caller_field}.{detail}" for detail in self.CALLER_DETAILS]
            params["sysparm_fields"] = ",".join(dict.fromkeys([*self.ALWAYS_READ, caller_field, *fields, *walked]))
        record = self._record(table, sys_id, params)
        return self._raw_ticket(table, record, resolve_people=True)

    def search_tickets(self, criteria: TicketSearch) -> Iterator[RawTicket]:
        """Records of the tables `criteria.kinds` names (all three when empty), oldest update first,
        paged with `sysparm_limit`/`sysparm_offset` following `Link` and `X-Total-Count`."""
        tables = [self.KIND_TABLES[k] for k in criteria.kinds if k in self.KIND_TABLES] or list(
            self.KIND_TABLES.values())
        streams = []
        for table in dict.fromkeys(tables):
            query = self.query_for(table, criteria)
            if query is None:
                continue
            streams.append(self._tagged(table, self._pages(self.TABLE_PATH.format(table=table), {
                "sysparm_query": query, "sysparm_display_value": "all",
                "sysparm_exclude_reference_link": "true"}, limit=criteria.limit)))
        merged = heapq.merge(*streams, key=lambda pair: _field_value(pair[1], "sys_updated_on") or "")
        for count, (table, record) in enumerate(merged):
            if count >= criteria.limit:
                return
            yield self._raw_ticket(table, record, resolve_people=False)

    def query_for(self, table: str, criteria: TicketSearch) -> str | None:
        """The encoded query for `criteria` on `table`, ordered by `sys_updated_on`; None when the
        criteria cannot match that table (major incidents exist only on `incident`)."""
        parts: list[str] = []
        if criteria.updated_since is not None:
            since = criteria.updated_since
            if since.tzinfo is not None:
                since = since.astimezone(timezone.utc)
            parts.append(f"sys_updated_on>={since:%Y-%m-%d %H:%M:%S}")
        if criteria.number:
            parts.append(f"number={criteria.number}")
        if criteria.caller:
            parts.append(f"{self.CALLER_FIELD.get(table, 'opened_by')}={criteria.caller}")
        if criteria.ci:
            parts.append(f"cmdb_ci={criteria.ci}")
        if criteria.service:
            parts.append(f"business_service={criteria.service}")
        if criteria.open_only:
            parts.append("active=true")
        if criteria.major_incident_only:
            if table != "incident":
                return None
            parts.append("major_incident_state=accepted")
        for part in parts:
            if "^" in part.split("=", 1)[-1]:
                raise errors.InvalidRequest(f"servicenow connection {self.connection_id}: search value "
                                            f"{part!r} contains '^'", connection_id=self.connection_id)
        parts.append("ORDERBYsys_updated_on")
        return "^".join(parts)

    def field_catalogue(self, table: str | None = None) -> list[FieldInfo]:
        """Columns of `table` (default incident) and, for task tables, of `task`, from `sys_dictionary`;
        allowed values of choice columns from `sys_choice`."""
        table = table or "incident"
        if not TABLE_NAME.match(table):
            raise errors.InvalidRequest(f"servicenow connection {self.connection_id}: {table!r} is not a table name",
                                        connection_id=self.connection_id)
        tables = [table, "task"] if table in self.TASK_TABLES else [table]
        names = ",".join(tables)
        rows = list(self._pages(self.TABLE_PATH.format(table="sys_dictionary"), {
            "sysparm_query": f"nameIN{names}^elementISNOTEMPTY^ORDERBYelement",
            "sysparm_fields": "name,element,column_label,internal_type,max_length,read_only,choice,active",
            "sysparm_exclude_reference_link": "true"}))
        by_column: dict[str, dict] = {}
        for row in rows:
            element = _field_value(row, "element")
            if not element or _field_value(row, "active") == "false":
                continue
            # the table's own definition wins over the one inherited from task
            if element not in by_column or _field_value(row, "name") == table:
                by_column[element] = row
        choices: dict[str, list[str]] = {}
        if any(_field_value(r, "choice") not in (None, "", "0") for r in by_column.values()):
            for row in self._pages(self.TABLE_PATH.format(table="sys_choice"), {
                    "sysparm_query": f"nameIN{names}^inactive=false^ORDERBYsequence",
                    "sysparm_fields": "name,element,value,label", "sysparm_exclude_reference_link": "true"}):
                element, value = _field_value(row, "element"), _field_value(row, "value")
                if element and value is not None and value not in choices.setdefault(element, []):
                    choices[element].append(value)
        out = []
        for element, row in sorted(by_column.items()):
            internal = _field_value(row, "internal_type") or "string"
            is_choice = _field_value(row, "choice") not in (None, "", "0")
            length = _field_value(row, "max_length")
            out.append(FieldInfo(
                id=element, name=_field_value(row, "column_label") or element,
                type="select" if is_choice else _column_type(internal),
                writable=_field_value(row, "read_only") != "true",
                table=_field_value(row, "name") or table,
                allowed_values=tuple(choices.get(element, ())) if is_choice else (),
                max_length=int(length) if length and str(length).isdigit() else None))
        return out

    def sla_state(self, ticket_key: str) -> list[SlaState]:
        """The record's `task_sla` rows (one GET)."""
        _, sys_id = self.split_key(ticket_key)
        rows = self._pages(self.TABLE_PATH.format(table="task_sla"), {
            "sysparm_query": f"task={sys_id}^ORDERBYsys_created_on",
            "sysparm_fields": "sla,stage,has_breached,percentage,business_percentage,business_time_left,active",
            "sysparm_display_value": "all", "sysparm_exclude_reference_link": "true"})
        states = []
        for row in rows:
            stage = str(_field_value(row, "stage") or "").lower()
            percentage = _float(_field_value(row, "business_percentage")) or _float(_field_value(row, "percentage"))
            states.append(SlaState(
                name=str(_display(row, "sla") or _field_value(row, "sla") or "SLA"),
                stage=self.SLA_STAGES.get(stage, stage or "in_progress"),
                has_breached=str(_field_value(row, "has_breached")).lower() == "true",
                percentage=percentage,
                business_time_left_s=_duration_s(_field_value(row, "business_time_left"))))
        return states

    # -- writing -------------------------------------------------------------------------------

    def write(self, ticket_key: str, change: TicketWrite) -> bool:
        """One PATCH with the fields and the note/comment together.

        With an append on a retry (not `first_attempt`), one GET of `sys_journal_field` first
        looks for its marker: found, the
        whole change was applied by an earlier attempt (fields and note share one PATCH) and
        nothing is sent. Fields alone go straight into the PATCH on a first attempt (absolute
        values; the caller has compared them with its own fresh read); on a retry one GET of those
        fields first leaves out the values an earlier attempt already set. The PATCH
        answer is checked: a column the table does not have, or a value the instance did not
        keep (read-only, ACL, business rule), raises `FieldNotEditable` naming the field.
        Returns False when the marker or the read showed the change was already applied.
        """
        table, sys_id = self.split_key(ticket_key)
        desired = dict(change.fields)
        appends = appends_of(change)
        if not desired and not appends:
            return False
        body: dict[str, object] = {}
        if appends:
            present = set() if change.first_attempt else self._markers_present(sys_id, [a.marker for a in appends])
            if all(a.marker in present for a in appends):
                # The append and the fields travel in one PATCH, so finding the marker means this
                # very change was applied before (an earlier attempt whose answer was lost).
                log.info("servicenow.write.already_applied", extra={"connection": self.connection_id,
                                                                   "ticket": ticket_key})
                return False
            for append in appends:
                if append.marker not in present:
                    body["work_notes" if append.internal else "comments"] = append.body
            body.update(desired)
        elif change.first_attempt:
            # No read first: the pipeline compared these values with the record it has just read.
            body.update(desired)
        else:
            # A retry: an earlier attempt may have landed (its worker died before recording it).
            # One read of these fields, and values already held are not written again.
            held = self._record(table, sys_id, {"sysparm_fields": ",".join(desired),
                                                "sysparm_exclude_reference_link": "true"})
            body.update({k: v for k, v in desired.items() if not (k in held and same_value(held[k], v))})
            if not body:
                log.info("servicenow.write.already_applied", extra={"connection": self.connection_id,
                                                                   "ticket": ticket_key})
                return False
        appending = "work_notes" in body or "comments" in body
        sent_fields = [k for k in body if k not in ("work_notes", "comments")]
        response = self._http.request(
            "PATCH", self.RECORD_PATH.format(table=table, sys_id=sys_id), json=body,
            params={"sysparm_fields": ",".join(["sys_id", "sys_mod_count", *sent_fields]),
                    "sysparm_exclude_reference_link": "true"},
            # setting absolute values may be repeated; an append may not (the marker check guards the next try)
            idempotent=not appending, ticket_key=ticket_key)
        result = (self._http.decode_json(response, "PATCH", urlsplit(response.url or "").path) or {}).get("result") or {}
        self._check_kept(table, ticket_key, {k: body[k] for k in sent_fields}, result)
        log.info("servicenow.write.applied", extra={"connection": self.connection_id, "ticket": ticket_key,
                                                    "fields": sorted(sent_fields), "appended": appending})
        return True

    # The task table ServiceNow uses for work belonging to a ticket of each table, and its
    # reference back to the ticket.
    FOLLOWUP_TABLES = {"incident": ("incident_task", "incident"), "sc_req_item": ("sc_task", "request_item"),
                       "change_request": ("change_task", "change_request")}

    def create_followup_task(self, ticket_key: str, summary: str, description: str, marker: str,
                             group: str | None = None, *, number: str | None = None,
                             first_attempt: bool = False) -> str:
        """One POST of a task record related to the ticket (`incident_task`, `sc_task`,
        `change_task`); on a retry one GET first looks for a task whose description holds
        `marker`. Returns the task's number. Raises `InvalidRequest` for a table with no task
        table, and the usual typed errors.
        """
        table, sys_id = self.split_key(ticket_key)
        if table not in self.FOLLOWUP_TABLES:
            raise errors.InvalidRequest(
                f"servicenow connection {self.connection_id}: table {table} has no task table for a follow-up "
                f"task (only {', '.join(self.FOLLOWUP_TABLES)})", connection_id=self.connection_id)
        task_table, reference = self.FOLLOWUP_TABLES[table]
        path = self.TABLE_PATH.format(table=task_table)
        if not first_attempt:
            rows = self._http.get_json(path, params={
                "sysparm_query": f"{reference}={sys_id}^descriptionLIKE{marker}",
                "sysparm_fields": "sys_id,number,description", "sysparm_limit": 10,
                "sysparm_exclude_reference_link": "true"})
            for row in (rows or {}).get("result") or []:
                if marker in str(_field_value(row, "description") or ""):
                    log.info("servicenow.followup_task.already_there",
                             extra={"connection": self.connection_id, "ticket": ticket_key})
                    return TaskKey.found(str(_field_value(row, "number") or _field_value(row, "sys_id")))
        body: dict[str, object] = {reference: sys_id, "parent": sys_id, "short_description": summary[:160],
                                   "description": description}
        if group:
            body["assignment_group"] = group
        response = self._http.request(
            "POST", path, json=body, params={"sysparm_fields": "sys_id,number",
                                             "sysparm_exclude_reference_link": "true"},
            # a second POST would open a second task; the job layer retries after looking for the marker
            idempotent=False, ticket_key=ticket_key)
        result = (self._http.decode_json(response, "POST", path) or {}).get("result") or {}
        created = _field_value(result, "number") or _field_value(result, "sys_id")
        if not created:
            raise errors.UnexpectedResponse(
                f"servicenow connection {self.connection_id}: POST {task_table} answered without the new "
                "record's number or sys_id", connection_id=self.connection_id)
        log.info("servicenow.followup_task.created", extra={"connection": self.connection_id, "ticket": ticket_key,
                                                            "task": created})
        return TaskKey(str(created))

    @property
    def call_hooks(self) -> list:
        """`on_call(connection_id, method, status, seconds)` callables run after every HTTP attempt."""
        return self._http.on_call

    def close(self) -> None:
        self._http.close()

    # -- helpers -------------------------------------------------------------------------------

    def _record(self, table: str, sys_id: str, params: Mapping[str, object]) -> dict:
        body = self._http.get_json(self.RECORD_PATH.format(table=table, sys_id=sys_id), params=dict(params))
        result = (body or {}).get("result")
        if not isinstance(result, dict):
            raise errors.UnexpectedResponse(
                f"servicenow connection {self.connection_id}: GET {table}/{sys_id} answered without a result "
                "object", connection_id=self.connection_id)
        return result

    def _markers_present(self, sys_id: str, markers: list[str]) -> set[str]:
        """Which of `markers` already appear in the record's work notes or comments (one GET)."""
        likes = "^OR".join(f"valueLIKE{marker_line(m)}" for m in markers)
        rows = self._http.get_json(self.TABLE_PATH.format(table="sys_journal_field"), params={
            "sysparm_query": f"element_id={sys_id}^elementINwork_notes,comments^{likes}",
            "sysparm_fields": "element,value", "sysparm_limit": 50, "sysparm_exclude_reference_link": "true"})
        values = [str(_field_value(r, "value") or "") for r in (rows or {}).get("result") or []]
        return {m for m in markers if any(marker_line(m) in v for v in values)}

    def _check_kept(self, table: str, ticket_key: str, sent: Mapping[str, object], result: Mapping) -> None:
        for name, value in sent.items():
            if name not in result:
                raise errors.FieldNotEditable(
                    f"servicenow connection {self.connection_id}: field {name} does not exist on table {table} "
                    f"(or the integration user cannot read it), so {ticket_key} was not given a value for it; "
                    "check the field mapping and sys_dictionary", connection_id=self.connection_id)
            kept = result[name]
            kept = kept.get("value") if isinstance(kept, Mapping) else kept
            if same_value(kept, value):
                continue
            if isinstance(value, str) and isinstance(kept, str) and kept and value.startswith(kept):
                log.warning("servicenow.write.truncated", extra={"connection": self.connection_id,
                                                                 "ticket": ticket_key, "field": name})
                continue
            raise errors.FieldNotEditable(
                f"servicenow connection {self.connection_id}: field {name} of {ticket_key} did not keep the value "
                "written (read-only, an ACL, or a business rule changed it back); give the integration user write "
                "access to the column or map the value to another field", connection_id=self.connection_id)

    def _pages(self, path: str, params: Mapping[str, object], limit: int | None = None) -> Iterator[dict]:
        """Every record of a list query, page by page (one GET each), following `Link: rel="next"`."""
        page_size = self.PAGE_SIZE if limit is None else max(1, min(self.PAGE_SIZE, limit))
        query = dict(params, sysparm_limit=page_size, sysparm_offset=0)
        url, yielded = path, 0
        while True:
            response = self._http.request("GET", url, params=query)
            records = ((self._http.decode_json(response, "GET", path) or {}).get("result")) or []
            for record in records:
                yield record
                yielded += 1
                if limit is not None and yielded >= limit:
                    return
            total = response.headers.get("X-Total-Count")
            # An instance whose glide.servlet.uri names another address writes that address in
            # its links; rather than follow it (refused) we page on by offset.
            next_link = (response.links.get("next") or {}).get("url")
            offset = int(query.get("sysparm_offset", 0)) + len(records) if query else yielded
            if not records or (total and total.isdigit() and offset >= int(total)):
                return
            if next_link and origin_of(next_link) == self._http.destination.origin:
                url, query = next_link, None  # the link carries every parameter
            elif len(records) < page_size:
                return
            else:
                url, query = path, dict(params, sysparm_limit=page_size, sysparm_offset=offset)

    @staticmethod
    def _tagged(table: str, records: Iterator[dict]) -> Iterator[tuple[str, dict]]:
        for record in records:
            yield table, record

    def _user(self, sys_id: str) -> dict:
        return self._record("sys_user", sys_id, {
            "sysparm_fields": ",".join(("sys_id", *self.CALLER_DETAILS)), "sysparm_display_value": "all",
            "sysparm_exclude_reference_link": "true"})

    def _person(self, sys_id: str, details: Mapping[str, object]) -> Person:
        return Person(
            key=sys_id, name=_display(details, "name") or _field_value(details, "user_name"),
            email=_field_value(details, "email") or None,
            vip=str(_field_value(details, "vip")).lower() == "true",
            language=_field_value(details, "preferred_language") or None,
            country=_field_value(details, "country") or None,
            active=str(_field_value(details, "active") or "true").lower() != "false")

    def _raw_ticket(self, table: str, record: Mapping, *, resolve_people: bool) -> RawTicket:
        """The record as a RawTicket. Dot-walked caller details stay in `fields`/`display` under
        their dotted names (`caller_id.location`) for the mappers, and become `people[caller]`."""
        record = dict(record)
        people: dict[str, Person] = {}
        caller_field = self.CALLER_FIELD.get(table, "opened_by")
        caller_id = _field_value(record, caller_field)
        if resolve_people and caller_id:
            prefix = f"{caller_field}."
            walked = {k[len(prefix):]: v for k, v in record.items() if k.startswith(prefix)}
            if not any(_field_value(walked, d) not in (None, "") for d in ("email", "user_name", "name")):
                walked = self._user(str(caller_id))
                record.update({prefix + k: v for k, v in walked.items() if k != "sys_id"})
            people[caller_field] = self._person(str(caller_id), walked)
        values = {k: _field_value(record, k) for k in record}
        display = {k: _display(record, k) for k in record}
        if values.get(self.ASSIGNEE_FIELD):
            people[self.ASSIGNEE_FIELD] = Person(key=str(values[self.ASSIGNEE_FIELD]),
                                                 name=display.get(self.ASSIGNEE_FIELD))
        version = values.get("sys_mod_count")
        return RawTicket(connection_id=self.connection_id, tool=self.tool,
                         ticket_key=f"{table}:{values.get('sys_id')}", number=str(values.get("number") or ""),
                         table=table, fields=values, display=display, changelog=[], people=people,
                         version=int(version) if str(version or "").isdigit() else None)


def _field_value(record: Mapping, name: str):
    """The raw value of a field whether the answer used display_value=all ({value, display_value}) or not."""
    value = record.get(name)
    if isinstance(value, Mapping):
        return value.get("value")
    return value


def _display(record: Mapping, name: str):
    value = record.get(name)
    if isinstance(value, Mapping):
        return value.get("display_value")
    return value


def _float(text) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _duration_s(text) -> int | None:
    """A glide duration ("1970-01-03 04:05:06" = 2 days 4 h 5 min 6 s) in seconds."""
    if not text:
        return None
    try:
        moment = datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return int(moment.timestamp())


def _column_type(internal_type: str) -> str:
    return {"integer": "number", "decimal": "number", "float": "number", "longint": "number",
            "currency": "number", "percent_complete": "number", "string": "string", "translated_text": "string",
            "boolean": "boolean", "glide_date_time": "datetime", "due_date": "datetime",
            "glide_date": "date", "reference": "reference", "journal": "journal", "journal_input": "journal",
            "glide_duration": "duration", "html": "text", "translated_html": "text"}.get(internal_type,
                                                                                      internal_type)
