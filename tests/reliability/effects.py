"""What the service visibly did to the tickets, read back from a ServiceNow simulator.

Two kinds of duplicate effect are looked for:
- an append twice: two work notes or comments by the integration user carrying the same marker
  (one note per ticket and lifecycle step is the contract), or the same survey link twice;
- a field write that changed nothing: a PATCH by the integration user setting a field to the
  value the integration user last wrote there (only the service writes its `u_xla_*` fields, so
  that value is what the ticket held).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import requests

from connectors.writeback import MARKER_PREFIX

MARKER = re.compile(re.escape(f"[{MARKER_PREFIX} ") + r"([^\]]+)\]")
SURVEY_LINK = re.compile(r"/s/[A-Za-z0-9_\-]{20,}")
RECORD_PATH = re.compile(r"^/api/now/(?:v2/)?table/(incident|change_request|sc_req_item)/([0-9a-f]{32})$")
APPENDS = ("work_notes", "comments")


@dataclass(frozen=True)
class FieldWrite:
    ticket: str
    field: str
    value: str
    at: float


class ServiceNowView:
    """Reads a ServiceNow simulator as an agent would, plus its request journal."""

    def __init__(self, sim, agent: tuple[str, str], integration_user: str):
        self.sim = sim
        self.agent = agent
        self.integration_user = integration_user

    def table(self, table: str, **params) -> list[dict]:
        answer = requests.get(f"{self.sim.url}/api/now/table/{table}", auth=self.agent, timeout=30,
                              params={"sysparm_limit": 10000, **params})
        answer.raise_for_status()
        return answer.json()["result"]

    def open_tickets(self) -> list[tuple[str, dict]]:
        """(table, record) of every incident, request item and change not closed yet."""
        tickets = []
        for table, closed_states in (("incident", "6,7,8"), ("sc_req_item", "3,4,7"), ("change_request", "3,4")):
            tickets += [(table, record) for record in self.table(table, sysparm_query=f"stateNOTIN{closed_states}")]
        return tickets

    def our_appends(self) -> list[tuple[str, str, str]]:
        """(ticket sys_id, element, text) of every work note and comment the integration user wrote."""
        rows = self.table("sys_journal_field", sysparm_query=f"sys_created_by={self.integration_user}",
                          sysparm_fields="element_id,element,value")
        return [(row["element_id"], row["element"], row["value"]) for row in rows]

    def repeated_appends(self) -> dict[tuple[str, str], int]:
        """(ticket, marker or survey link) seen more than once among our appends."""
        seen: Counter = Counter()
        for ticket, element, text in self.our_appends():
            for marker in MARKER.findall(text):
                seen[(ticket, f"{element}:{marker}")] += 1
            for link in set(SURVEY_LINK.findall(text)):
                seen[(ticket, f"survey:{link}")] += 1
        return {key: count for key, count in seen.items() if count > 1}

    def notes_per_step(self) -> Counter:
        """How many context notes carry each (ticket, step) marker."""
        found: Counter = Counter()
        for ticket, element, text in self.our_appends():
            if element == "work_notes":
                for marker in MARKER.findall(text):
                    found[(ticket, marker)] += 1
        return found

    def journal(self) -> list[dict]:
        return self.sim.journal()

    def field_writes(self, journal: list[dict] | None = None) -> list[FieldWrite]:
        """Every field value the integration user's successful PATCHes set, in journal order."""
        writes = []
        for entry in journal if journal is not None else self.journal():
            match = RECORD_PATH.match(entry["path"])
            if (entry["method"] != "PATCH" or entry.get("user") != self.integration_user or not match
                    or entry.get("status") != 200 or not isinstance(entry.get("body"), dict)):
                continue
            for name, value in entry["body"].items():
                if name not in APPENDS:
                    writes.append(FieldWrite(match.group(2), name, str(value), entry["at"]))
        return writes

    def identical_value_writes(self, journal: list[dict] | None = None) -> list[FieldWrite]:
        """Field writes that set the value the integration user had already written there."""
        last: dict[tuple[str, str], str] = {}
        repeated = []
        for write in self.field_writes(journal):
            key = (write.ticket, write.field)
            if last.get(key) == write.value:
                repeated.append(write)
            last[key] = write.value
        return repeated

    def record(self, table: str, sys_id: str, fields: str) -> dict:
        answer = requests.get(f"{self.sim.url}/api/now/table/{table}/{sys_id}", auth=self.agent, timeout=30,
                              params={"sysparm_fields": fields})
        answer.raise_for_status()
        return answer.json()["result"]


def calls_by(journal: list[dict], user: str) -> list[dict]:
    """Journal entries of requests made as `user`, plus faults (a fault answers before any login)."""
    return [entry for entry in journal if entry.get("user") == user or entry.get("fault") is not None]
