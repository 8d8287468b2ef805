"""Jira Service Management (Cloud and Data Center) over REST v2, through the `jira` library.

The library builds the URLs and decodes the resources; every byte goes through our
`HttpClient.session` (the library's own `ResilientSession` is replaced right after
construction, and its retries are off: it would retry a POST and post a comment twice).
Three calls bypass the library and use the client directly, each for a reason noted where it
happens: editing fields (the library re-reads the issue after every edit), searching (the
library first downloads the whole field list to translate JQL names, and on Cloud it needs a
server-info call to choose the endpoint) and reading SLA fields (only raw JSON is needed).

Auth: Cloud uses basic auth with the integration user's email and an API token; Data Center
uses a personal access token as a bearer token (`ConnectionSettings.auth.kind`).

Write-back is exactly-once in effect: one read shows the current values, the comments and the
`xla-bridge.last-write` issue property; only changed fields are sent, in one PUT that also
records the property; a comment is posted only when its marker is not already on the issue.
"""
from __future__ import annotations

import contextlib
import logging
import math
import re
import threading
import time
from datetime import datetime, timezone
from typing import Iterator, Mapping, Sequence

import requests
from jira import JIRA
from jira.exceptions import JIRAError

from connectors import errors
from connectors.base import FieldInfo, Identity, SlaState, TaskKey, TicketConnector, TicketSearch, TicketWrite
from connectors.http import HttpClient, auth_for
from connectors.writeback import appends_of, fields_digest, marker_line, same_value
from domain.ticket import Person, RawTicket
from settings.model import ConnectionSettings

log = logging.getLogger("xla.connectors.jira")

SLA_FIELD_PLUGIN = "com.atlassian.servicedesk:sd-sla-field"
INTERNAL_COMMENT_PROPERTY = "sd.public.comment"
SCREEN_PROBLEM = re.compile(r"(?i)not on the appropriate screen|cannot be set|is not on the screen")


def _jira_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _display_of(value: object) -> str | None:
    if isinstance(value, Mapping):
        for key in ("displayName", "name", "value", "key"):
            if isinstance(value.get(key), str):
                return value[key]
    return None


class JiraConnector(TicketConnector):
    """Read and write Jira issues of one connection. Ticket key: the numeric issue id."""

    tool = "jira"

    ISSUE_PATH = "/rest/api/2/issue/{key}"
    SEARCH_PATH = "/rest/api/2/search"          # Data Center: offset paging with startAt
    SEARCH_JQL_PATH = "/rest/api/2/search/jql"  # Cloud: the old /search answers 410 since 2025
    FIELD_PATH = "/rest/api/2/field"
    HEALTH_PATH = "/rest/api/2/myself"          # the circuit breaker's probe
    PROPERTY_KEY = "xla-bridge.last-write"
    PAGE_SIZE = 50
    MARKERS_KEPT = 50
    CATALOGUE_TTL_S = 3600.0

    # JQL for the canonical search criteria; the issue type names are JSM's defaults.
    KIND_ISSUE_TYPES = {
        "incident": ("Incident",),
        "request": ("Service Request", "Service Request with Approvals"),
        "change": ("Change",),
    }
    CI_CLAUSE = '"Configuration Item"'
    SERVICE_CLAUSE = "component"
    MAJOR_INCIDENT_JQL = '"Major Incident" = "Yes"'
    DONE_JQL = "statusCategory != Done"

    def __init__(self, connection: ConnectionSettings, *, http: HttpClient | None = None, **http_options):
        """Raises `settings.errors.ConfigError` when the token's environment variable is not set."""
        self.connection = connection
        self.connection_id = connection.id
        self.cloud = connection.deployment == "cloud"
        if http is None:
            auth, secrets = auth_for(connection)
            http = HttpClient(connection, tool=self.tool, auth=auth, secrets=secrets,
                              headers={"Content-Type": "application/json", "X-Atlassian-Token": "no-check"},
                              classify_error=self._classify_error, health_path=self.HEALTH_PATH, **http_options)
        self._http = http
        # get_server_info=False: no call at construction; max_retries=0: the library never retries.
        self._jira = JIRA(server=connection.base_url, get_server_info=False, max_retries=0,
                          timeout=connection.limits.timeout_s,
                          options={"check_update": False, "rest_api_version": "2"})
        self._jira._session.close()
        self._jira._session = self._http.session
        self._catalogue_lock = threading.Lock()
        self._catalogue: list[dict] | None = None
        self._catalogue_at = float("-inf")

    # -- reading -------------------------------------------------------------------------------

    def whoami(self) -> Identity:
        """The integration user (`/myself`): Cloud accountId, Data Center user name."""
        with self._translating("GET /rest/api/2/myself"):
            me = self._jira.myself()
        aliases = tuple(str(me[k]) for k in ("accountId", "name", "key", "emailAddress", "displayName")
                        if me.get(k))
        key = me.get("accountId") if self.cloud and me.get("accountId") else (me.get("name") or me.get("accountId")
                                                                             or me.get("key"))
        return Identity(key=str(key), name=me.get("displayName"),
                        aliases=tuple(a for a in dict.fromkeys(aliases) if a != key))

    def get_ticket(self, ticket_key: str, fields: Sequence[str] = ()) -> RawTicket:
        """One GET: the issue with its changelog and our `xla-bridge.last-write` property.

        `fields` empty reads every field. Raises `NotFound`, `PermissionDenied`, ... (connectors.errors).
        """
        wanted = None
        if fields:
            wanted = ",".join(dict.fromkeys([*fields, "reporter", "assignee", "updated", "created"]))
        with self._translating(f"GET issue {ticket_key}"):
            issue = self._jira.issue(str(ticket_key), fields=wanted, expand="changelog",
                                     properties=self.PROPERTY_KEY)
        return self._raw_ticket(issue.raw)

    def search_tickets(self, criteria: TicketSearch) -> Iterator[RawTicket]:
        """Issues matching `criteria`, oldest update first, paged transparently (one GET per page).

        Uses our client directly: the library's search first downloads `/field` to translate JQL
        names, and on Cloud it needs a server-info call to pick the endpoint.
        """
        jql = self.jql_for(criteria)
        remaining = max(0, criteria.limit)
        start_at, token = 0, None
        while remaining > 0:
            page_size = min(self.PAGE_SIZE, remaining)
            params: dict[str, object] = {"jql": jql, "maxResults": page_size, "fields": "*navigable",
                                         "expand": "changelog"}
            if self.cloud:
                path = self.SEARCH_JQL_PATH
                if token:
                    params["nextPageToken"] = token
            else:
                path = self.SEARCH_PATH
                params["startAt"] = start_at
            page = self._http.get_json(path, params=params) or {}
            issues = page.get("issues") or []
            for raw in issues[:remaining]:
                yield self._raw_ticket(raw)
            remaining -= min(len(issues), remaining)
            start_at += len(issues)
            token = page.get("nextPageToken")
            total = page.get("total")
            exhausted = (not issues or (self.cloud and (not token or page.get("isLast")))
                         or (not self.cloud and isinstance(total, int) and start_at >= total))
            if exhausted:
                return

    def jql_for(self, criteria: TicketSearch) -> str:
        """The JQL for `criteria`, ordered by `updated` ascending."""
        clauses: list[str] = []
        if criteria.kinds:
            names = [name for kind in criteria.kinds for name in self.KIND_ISSUE_TYPES.get(kind, ())]
            if names:
                clauses.append("issuetype in (" + ", ".join(_quote(n) for n in names) + ")")
        if criteria.updated_since is not None:
            # Relative minutes: JQL reads absolute dates in the integration user's time zone.
            since = criteria.updated_since
            if since.tzinfo is None:
                since = since.replace(tzinfo=timezone.utc)
            minutes = max(1, math.ceil((datetime.now(timezone.utc) - since).total_seconds() / 60) + 1)
            clauses.append(f'updated >= "-{minutes}m"')
        if criteria.number:
            clauses.append(f"key = {_quote(criteria.number)}")
        if criteria.caller:
            clauses.append(f"reporter = {_quote(criteria.caller)}")
        if criteria.ci:
            clauses.append(f"{self.CI_CLAUSE} = {_quote(criteria.ci)}")
        if criteria.service:
            clauses.append(f"{self.SERVICE_CLAUSE} = {_quote(criteria.service)}")
        if criteria.open_only:
            clauses.append(self.DONE_JQL)
        if criteria.major_incident_only:
            clauses.append(self.MAJOR_INCIDENT_JQL)
        return " AND ".join(clauses) + (" " if clauses else "") + "ORDER BY updated ASC"

    def field_catalogue(self, table: str | None = None) -> list[FieldInfo]:
        """Every field (`/field`); with `table` naming an issue (id or key), `on_edit_screen` and
        allowed values come from that issue's `editmeta` (one more GET)."""
        catalogue = self._fields(refresh=True)
        editmeta: dict | None = None
        if table:
            with self._translating(f"GET editmeta {table}"):
                editmeta = (self._jira.editmeta(str(table)) or {}).get("fields") or {}
        out = []
        for entry in catalogue:
            schema = entry.get("schema") or {}
            meta = editmeta.get(entry["id"]) if editmeta is not None else None
            allowed = tuple(v for v in (_display_of(a) for a in (meta or {}).get("allowedValues") or []) if v)
            on_screen = None if editmeta is None else meta is not None
            out.append(FieldInfo(
                id=entry["id"], name=entry.get("name") or entry["id"], type=_field_type(schema),
                writable=on_screen if on_screen is not None else bool(entry.get("orderable", True)),
                on_edit_screen=on_screen, allowed_values=allowed))
        return out

    def sla_state(self, ticket_key: str) -> list[SlaState]:
        """The JSM SLA fields of the issue; empty when the instance has none (not a JSM project)."""
        sla_fields = [f["id"] for f in self._fields() if (f.get("schema") or {}).get("custom") == SLA_FIELD_PLUGIN]
        if not sla_fields:
            return []
        # Our client directly: only the raw JSON of a few fields is needed, no resource objects.
        issue = self._http.get_json(self.ISSUE_PATH.format(key=ticket_key), params={"fields": ",".join(sla_fields)})
        states = []
        for field_id in sla_fields:
            value = ((issue or {}).get("fields") or {}).get(field_id)
            if isinstance(value, Mapping):
                state = _sla_state(value)
                if state is not None:
                    states.append(state)
        return states

    # -- writing -------------------------------------------------------------------------------

    def write(self, ticket_key: str, change: TicketWrite) -> bool:
        """Apply `change` with at most one read, one PUT and one comment POST per append.

        On a `first_attempt` there is no read at all. Otherwise the read shows current values, comments and our property; unchanged fields are not sent;
        a comment whose marker is already on the issue (in a comment or in the property) is not
        posted again. Comments go first, then the PUT that records their markers in the property,
        so a failure between the two repeats a comment at worst and never loses one.
        Returns False when nothing needed writing. Raises `FieldNotEditable` (naming the field and
        saying it is not on the edit screen), `NotFound`, `PermissionDenied`, ...
        """
        ticket_key = str(ticket_key)
        desired = dict(change.fields)
        appends = appends_of(change)
        if not desired and not appends:
            return False
        if change.first_attempt:
            # Nothing of this write can be on the issue yet, and the pipeline compared the fields
            # with its own fresh read: no check read (one read per lifecycle step in all).
            current = {}
        else:
            read_fields = list(desired) + (["comment"] if appends else [])
            current = self._http.get_json(self.ISSUE_PATH.format(key=ticket_key),
                                          params={"fields": ",".join(read_fields) or "updated",
                                                  "properties": self.PROPERTY_KEY}) or {}
        held = current.get("fields") or {}
        record = ((current.get("properties") or {}).get(self.PROPERTY_KEY)) or {}
        if not isinstance(record, Mapping):
            record = {}  # someone else's value under our key: ignore it, ours replaces it
        known_markers = [m for m in record.get("markers") or [] if isinstance(m, str)]
        comment_bodies = [c.get("body") or "" for c in ((held.get("comment") or {}).get("comments") or [])
                          if isinstance(c, Mapping)]

        changed = {k: v for k, v in desired.items() if not (k in held and same_value(held[k], v))}
        if changed and not change.first_attempt and all(k not in held for k in changed) \
                and record.get("fields_digest") == fields_digest(desired):
            # fields the read did not show us (hidden from the integration user), but our own
            # record says these exact values were the last we wrote: a repeat
            changed = {}
        new_appends = [a for a in appends
                       if a.marker not in known_markers and not any(marker_line(a.marker) in b for b in comment_bodies)]
        if not changed and not new_appends:
            log.info("jira.write.unchanged", extra={"connection": self.connection_id, "ticket": ticket_key})
            return False

        for append in new_appends:
            with self._http.ticket_scope(ticket_key), self._translating(f"POST comment on {ticket_key}"):
                self._jira.add_comment(ticket_key, append.body, is_internal=append.internal)

        if changed:
            # The property rides on the same PUT; a comment-only write needs no PUT, because the
            # comment text itself carries the marker the next read looks for.
            markers = [m for m in known_markers if m not in {a.marker for a in new_appends}]
            markers = (markers + [a.marker for a in new_appends])[-self.MARKERS_KEPT:]
            body = {"fields": changed, "properties": [{"key": self.PROPERTY_KEY, "value": {
                "fields_digest": fields_digest(desired),
                "fields": sorted(desired),
                "markers": markers,
                "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            }}]}
            try:
                self._http.request("PUT", self.ISSUE_PATH.format(key=ticket_key), json=body,
                                   idempotent=True, ticket_key=ticket_key)
            except errors.FieldNotEditable as exc:
                raise self._explain_not_editable(exc, ticket_key) from exc
        log.info("jira.write.applied", extra={"connection": self.connection_id, "ticket": ticket_key,
                                              "fields": sorted(changed), "comments": len(new_appends)})
        return True

    CREATE_ISSUE_PATH = "/rest/api/2/issue"
    CREATE_LINK_PATH = "/rest/api/2/issueLink"
    FOLLOWUP_ISSUE_TYPE = "Task"
    FOLLOWUP_LABEL = "xla-followup-{ticket}-{tag}"
    # Every new Jira site has this link type; agents see the task under the ticket's linked issues.
    FOLLOWUP_LINK_TYPE = "Relates"

    def create_followup_task(self, ticket_key: str, summary: str, description: str, marker: str,
                             group: str | None = None, *, number: str | None = None,
                             first_attempt: bool = False) -> str:
        """One POST of a `Task` issue in the ticket's project, labelled for this follow-up, then
        one POST of a "Relates" link between the task and the ticket.

        The project comes from `number` (the ticket's key, "SD-12"); without it one GET of the
        issue finds it. On a retry one JQL search for the label comes first and an existing task
        is returned instead, linked first if an earlier attempt stopped before its link. Jira has
        no assignment group, so `group` is named in the description. Returns the task's key.
        Raises the usual typed errors, except that a link Jira refuses with 400, 403 or 404 (a
        site without the link type answers 404) is logged and leaves the labelled task unlinked.
        """
        ticket_key = str(ticket_key)
        label = self.followup_label(ticket_key, marker)
        if not first_attempt:
            found = self._http.get_json(self.SEARCH_JQL_PATH if self.cloud else self.SEARCH_PATH, params={
                "jql": f"labels = {_quote(label)}", "maxResults": 1, "fields": "summary,issuelinks"}) or {}
            for issue in found.get("issues") or []:
                task = TaskKey.found(str(issue.get("key") or issue.get("id")))
                log.info("jira.followup_task.already_there", extra={"connection": self.connection_id,
                                                                   "ticket": ticket_key})
                if not _links_to(issue, ticket_key):
                    self._link_followup_task(task, ticket_key)
                return task
        project = number.rsplit("-", 1)[0] if number and "-" in number else None
        if project is None:
            issue = self._http.get_json(self.ISSUE_PATH.format(key=ticket_key), params={"fields": "project"}) or {}
            project = (((issue.get("fields") or {}).get("project")) or {}).get("key")
        if not project:
            raise errors.UnexpectedResponse(
                f"jira connection {self.connection_id}: issue {ticket_key} shows no project, so no follow-up task "
                "can be created beside it", connection_id=self.connection_id)
        text = description if not group else f"{description}\n\nAssignment group: {group}"
        body = {"fields": {"project": {"key": project}, "issuetype": {"name": self.FOLLOWUP_ISSUE_TYPE},
                           "summary": summary[:250], "description": text, "labels": [label]}}
        response = self._http.request("POST", self.CREATE_ISSUE_PATH, json=body,
                                      # a second POST would open a second task; the retry searches first
                                      idempotent=False, ticket_key=ticket_key)
        created = self._http.decode_json(response, "POST", self.CREATE_ISSUE_PATH) or {}
        key = created.get("key") or created.get("id")
        if not key:
            raise errors.UnexpectedResponse(
                f"jira connection {self.connection_id}: POST issue answered without the new issue's key",
                connection_id=self.connection_id)
        log.info("jira.followup_task.created", extra={"connection": self.connection_id, "ticket": ticket_key,
                                                      "task": key})
        self._link_followup_task(str(key), ticket_key)
        return TaskKey(str(key))

    def _link_followup_task(self, task_key: str, ticket_key: str) -> None:
        """Link the task to the ticket. A refusal that no retry changes (400, 403, 404) is logged
        and swallowed: the task exists and its label still finds it. Retryable errors propagate,
        and the job's retry finds the task by its label and links it then."""
        body = {"type": {"name": self.FOLLOWUP_LINK_TYPE}, "inwardIssue": {"key": task_key},
                "outwardIssue": {"id": ticket_key}}
        try:
            # Not retried here: a second POST after a lost answer would add a second link.
            self._http.request("POST", self.CREATE_LINK_PATH, json=body, idempotent=False, ticket_key=ticket_key)
        except (errors.InvalidRequest, errors.PermissionDenied, errors.NotFound) as exc:
            log.warning("jira.followup_task.not_linked", extra={"connection": self.connection_id, "ticket": ticket_key,
                                                                "task": task_key, "error": type(exc).__name__,
                                                                "link_type": self.FOLLOWUP_LINK_TYPE})

    @classmethod
    def followup_label(cls, ticket_key: str, marker: str) -> str:
        """The label that finds a follow-up task again: labels hold no spaces, so only safe characters."""
        tag = re.sub(r"[^A-Za-z0-9_.-]+", "-", marker.rsplit(":", 1)[-1]).strip("-") or "0"
        return cls.FOLLOWUP_LABEL.format(ticket=re.sub(r"[^A-Za-z0-9]+", "", ticket_key), tag=tag)[:255]

    @property
    def call_hooks(self) -> list:
        """`on_call(connection_id, method, status, seconds)` callables run after every HTTP attempt."""
        return self._http.on_call

    def close(self) -> None:
        self._http.close()

    # -- helpers -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _translating(self, what: str):
        """Let our typed errors through; turn anything the library raises into one of them."""
        try:
            yield
        except errors.ConnectorError:
            raise
        except JIRAError as exc:
            raise errors.UnexpectedResponse(
                self._http.redact(f"jira connection {self.connection_id}: {what} failed in the jira library: "
                                  f"{exc.text or 'no detail'}"),
                connection_id=self.connection_id, status=exc.status_code) from exc
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            raise errors.UnexpectedResponse(
                f"jira connection {self.connection_id}: {what} returned something the connector cannot read "
                f"({type(exc).__name__})", connection_id=self.connection_id) from exc

    def _fields(self, refresh: bool = False) -> list[dict]:
        """`GET /rest/api/2/field`, cached for `CATALOGUE_TTL_S`."""
        with self._catalogue_lock:
            fresh = self._catalogue is not None and time.monotonic() < self._catalogue_at + self.CATALOGUE_TTL_S
            if fresh and not refresh:
                return self._catalogue
        with self._translating("GET /rest/api/2/field"):
            catalogue = list(self._jira.fields())
        with self._catalogue_lock:
            self._catalogue, self._catalogue_at = catalogue, time.monotonic()
        return catalogue

    def _classify_error(self, response: requests.Response, method: str, path: str):
        """A 400 that names fields which cannot be set becomes `FieldNotEditable`."""
        if response.status_code != 400:
            return None
        try:
            problems = (response.json() or {}).get("errors") or {}
        except ValueError:
            return None
        if not isinstance(problems, Mapping):
            return None
        unsettable = sorted(k for k, v in problems.items() if SCREEN_PROBLEM.search(str(v)))
        if not unsettable:
            return None
        exc = errors.FieldNotEditable(
            f"jira connection {self.connection_id}: {method} {path} refused field(s) {', '.join(unsettable)}: "
            "not on the edit screen", connection_id=self.connection_id, status=400, body=response.text)
        exc.fields = tuple(unsettable)
        exc.jira_said = "; ".join(str(problems[k]) for k in unsettable)
        return exc

    def _explain_not_editable(self, exc: errors.FieldNotEditable, ticket_key: str) -> errors.FieldNotEditable:
        names: dict[str, str] = {}
        try:
            names = {f["id"]: f.get("name") or f["id"] for f in self._fields()}
        except errors.ConnectorError:
            pass  # the message still names the field id
        fields = getattr(exc, "fields", ()) or ()
        described = ", ".join(f"{fid} ({names[fid]})" if fid in names else fid for fid in fields)
        plural = "are" if len(fields) > 1 else "is"
        error = errors.FieldNotEditable(
            f"jira connection {self.connection_id}: field {described} {plural} not on the edit screen of issue "
            f"{ticket_key}, so the service cannot write it; add the field to the project's edit screen or map "
            f"the value to a field that is on it (Jira said: {getattr(exc, 'jira_said', '')})",
            connection_id=self.connection_id, status=exc.status, body=exc.body)
        error.fields = tuple(fields)
        return error

    def _person(self, value: object) -> Person | None:
        if not isinstance(value, Mapping):
            return None
        key = value.get("accountId") if self.cloud and value.get("accountId") else (
            value.get("name") or value.get("accountId") or value.get("key"))
        if not key:
            return None
        return Person(key=str(key), name=value.get("displayName"), email=value.get("emailAddress"),
                      language=value.get("locale"), active=bool(value.get("active", True)))

    def _raw_ticket(self, raw: Mapping) -> RawTicket:
        fields = dict(raw.get("fields") or {})
        histories = ((raw.get("changelog") or {}).get("histories")) or []
        changelog = []
        for history in sorted(histories, key=lambda h: h.get("created") or ""):
            author = self._person(history.get("author"))
            changelog.append({
                "at": history.get("created"),
                "author": author.key if author else None,
                "items": [{k: item.get(k) for k in ("field", "fieldId", "from", "fromString", "to", "toString")}
                          for item in history.get("items") or []],
            })
        people = {name: person for name in ("reporter", "assignee")
                  if (person := self._person(fields.get(name))) is not None}
        display = {k: d for k, v in fields.items() if (d := _display_of(v)) is not None}
        updated = _jira_time(fields.get("updated"))
        properties = raw.get("properties") or {}
        if properties:
            fields.setdefault("properties", properties)
        return RawTicket(connection_id=self.connection_id, tool=self.tool, ticket_key=str(raw.get("id")),
                         number=str(raw.get("key") or raw.get("id")), table=None, fields=fields, display=display,
                         changelog=changelog, people=people,
                         version=int(updated.timestamp() * 1000) if updated else None)


def _links_to(issue: dict, ticket_id: str) -> bool:
    """Whether a search result's `issuelinks` holds a link to the issue with id `ticket_id`."""
    for link in (issue.get("fields") or {}).get("issuelinks") or []:
        for side in ("inwardIssue", "outwardIssue"):
            if str(((link or {}).get(side) or {}).get("id")) == ticket_id:
                return True
    return False


def _quote(value: str) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _field_type(schema: Mapping) -> str:
    kind = schema.get("type")
    custom = str(schema.get("custom") or "")
    if custom.endswith(":textarea"):
        return "text"
    if custom == SLA_FIELD_PLUGIN:
        return "sla"
    return {"number": "number", "string": "string", "option": "select", "datetime": "datetime",
            "date": "date", "user": "reference", "array": "array", "priority": "select",
            "issuetype": "select", "status": "select", "resolution": "select", "project": "reference",
            }.get(kind, kind or "unknown")


def _sla_state(value: Mapping) -> SlaState | None:
    name = str(value.get("name") or value.get("id") or "SLA")
    ongoing = value.get("ongoingCycle")
    if isinstance(ongoing, Mapping):
        goal = ((ongoing.get("goalDuration") or {}).get("millis"))
        elapsed = ((ongoing.get("elapsedTime") or {}).get("millis"))
        left = ((ongoing.get("remainingTime") or {}).get("millis"))
        percentage = (100.0 * elapsed / goal) if goal and elapsed is not None else None
        return SlaState(name=name, stage="paused" if ongoing.get("paused") else "in_progress",
                        has_breached=bool(ongoing.get("breached")), percentage=percentage,
                        business_time_left_s=int(left // 1000) if isinstance(left, (int, float)) else None)
    cycles = [c for c in value.get("completedCycles") or [] if isinstance(c, Mapping)]
    if cycles:
        last = cycles[-1]
        goal = ((last.get("goalDuration") or {}).get("millis"))
        elapsed = ((last.get("elapsedTime") or {}).get("millis"))
        return SlaState(name=name, stage="completed", has_breached=bool(last.get("breached")),
                        percentage=(100.0 * elapsed / goal) if goal and elapsed is not None else None)
    return None
