"""A Jira simulator driven and read as its people would: agents move issues, callers comment.

Every change goes through the simulator's REST API with the person's own login, so the
simulator records it and sends the same webhooks a Jira site would.
"""
from __future__ import annotations

import requests

EXPERIENCE_FIELDS = ("Experience Score", "Experience Band", "Experience Reasons", "Experience Risk")


class JiraDesk:
    def __init__(self, sim, agent: tuple[str, str]):
        self.sim = sim
        self.agent = agent
        self._field_ids: dict[str, str] | None = None

    def _call(self, method: str, path: str, auth: tuple[str, str], **kwargs):
        answer = requests.request(method, f"{self.sim.url}{path}", auth=auth, timeout=30, **kwargs)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def field_id(self, name: str) -> str:
        if self._field_ids is None:
            self._field_ids = {f["name"]: f["id"] for f in self._call("GET", "/rest/api/2/field", self.agent)}
        return self._field_ids[name]

    def open_incidents(self) -> list[dict]:
        """Open, non-major incidents with their reporter, oldest first."""
        found = self._call("GET", "/rest/api/2/search", self.agent, params={
            "jql": "project = SD AND issuetype = Incident AND statusCategory != Done ORDER BY created ASC",
            "fields": f"reporter,status,{self.field_id('Major Incident')}", "maxResults": 100})
        return [issue for issue in found["issues"]
                if (issue["fields"].get(self.field_id("Major Incident")) or {}).get("value") != "Yes"]

    def assignment_groups(self, issue_id: str) -> list[str]:
        meta = self._call("GET", f"/rest/api/2/issue/{issue_id}/editmeta", self.agent)
        return [option["value"] for option in meta["fields"][self.field_id("Assignment Group")]["allowedValues"]]

    def comment(self, issue_id: str, text: str, person: tuple[str, str]) -> None:
        self._call("POST", f"/rest/api/2/issue/{issue_id}/comment", person, json={"body": text})

    def set_assignment_group(self, issue_id: str, group: str) -> None:
        self._call("PUT", f"/rest/api/2/issue/{issue_id}", self.agent,
                   json={"fields": {self.field_id("Assignment Group"): {"value": group}}})

    def resolve(self, issue_id: str) -> None:
        self._call("POST", f"/rest/api/2/issue/{issue_id}/transitions", self.agent, json={"transition": {"id": "41"}})

    def experience(self, issue_id: str) -> dict:
        """The experience fields the service writes, by display name, as an agent sees them."""
        ids = [self.field_id(name) for name in EXPERIENCE_FIELDS]
        issue = self._call("GET", f"/rest/api/2/issue/{issue_id}", self.agent, params={"fields": ",".join(ids)})
        values = {}
        for name, field_id in zip(EXPERIENCE_FIELDS, ids):
            value = issue["fields"].get(field_id)
            values[name] = value.get("value") if isinstance(value, dict) else value
        return values
