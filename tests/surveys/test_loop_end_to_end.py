"""The survey loop closed end to end on both simulators: a resolved ticket gets a survey comment,
the caller answers from the link in that comment, and the answer lands on the ticket.

Everything real: signed webhooks into the app on loopback HTTP, the queue and workers, the
connectors, the simulators' REST APIs (read here as the caller's agent would), and the page.
"""
from __future__ import annotations

import requests

from surveys.respondents import SimulatedRespondents, find_survey_links

from tests.stack import JIRA_ID, SN_ID, running_stack


def _survey_links_on(stack, connection_id: str) -> dict[str, str]:
    """Survey links found in customer-visible comments, by ticket key, read through the ITSM's API."""
    sim = stack.sim(connection_id)
    links: dict[str, str] = {}
    for job in stack.jobs("send_survey"):
        if job.connection_id != connection_id or job.outcome != "sent":
            continue
        if connection_id == SN_ID:
            sys_id = job.ticket_key.split(":", 1)[1]
            rows = requests.get(sim.url + "/api/now/table/sys_journal_field", timeout=10,
                                params={"sysparm_query": f"element=comments^element_id={sys_id}"},
                                auth=("admin", stack.secret["agent"])).json()["result"]
            texts = [row["value"] for row in rows]
        else:
            comments = requests.get(f"{sim.url}/rest/api/2/issue/{job.ticket_key}/comment", timeout=10,
                                    auth=("agent@example.com", stack.secret["agent"])).json()["comments"]
            texts = [comment["body"] for comment in comments]
        found = [link for text in texts for link in find_survey_links(text)]
        if found:
            links[job.ticket_key] = found[0]
    return links


def _advance_until_surveyed(stack, connection_id: str, rounds: int = 8) -> dict[str, str]:
    for _ in range(rounds):
        stack.advance(connection_id, 6)
        stack.drain()
        links = _survey_links_on(stack, connection_id)
        if links:
            return links
    raise AssertionError(f"no survey comment appeared on {connection_id} after {rounds} rounds")


def test_servicenow_detractor_answer_reaches_the_incident(tmp_path, monkeypatch):
    with running_stack(tmp_path, monkeypatch, tools=("servicenow",)) as stack:
        links = _advance_until_surveyed(stack, SN_ID)
        ticket_key, link = next(iter(links.items()))
        answer = SimulatedRespondents(seed=3).answer(link, mood="bad")
        assert answer.status == "answered"
        stack.drain()
        table, sys_id = ticket_key.split(":", 1)
        record = requests.get(f"{stack.sim(SN_ID).url}/api/now/table/{table}/{sys_id}", timeout=10,
                              auth=("admin", stack.secret["agent"])).json()["result"]
        assert int(record["u_xla_survey_rating"]) == answer.rating
        assert str(record["u_xla_followup"]).lower() == "true"
        assert stack.jobs("create_followup_task") == []  # a follow-up task only when configured
        assert SimulatedRespondents(seed=4).answer(link).status == "already_answered"


def test_jira_answer_reaches_the_issue(tmp_path, monkeypatch):
    with running_stack(tmp_path, monkeypatch, tools=("jira",)) as stack:
        links = _advance_until_surveyed(stack, JIRA_ID)
        issue_id, link = next(iter(links.items()))
        answer = SimulatedRespondents(seed=5).answer(link, mood="good")
        assert answer.status == "answered"
        stack.drain()
        sim, auth = stack.sim(JIRA_ID), ("agent@example.com", stack.secret["agent"])
        fields = {field["name"]: field["id"] for field in requests.get(f"{sim.url}/rest/api/2/field", auth=auth,
                                                                       timeout=10).json()}
        issue = requests.get(f"{sim.url}/rest/api/2/issue/{issue_id}", auth=auth, timeout=10).json()
        assert issue["fields"][fields["Survey Rating"]] == answer.rating
