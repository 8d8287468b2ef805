"""A detractor's follow-up task, end to end on both simulators: with `followup_task = true` a
detractor's answer opens exactly one task related to the ticket, a promoter's none, and the job run
again (a retry) finds that task instead of opening a second one. With the default no task is opened.

Everything real: the survey comment, the answer on the page, the queue and workers, the
connectors, and the simulators' own APIs to see what exists.
"""
from __future__ import annotations

import pytest
import requests

from jobs.queue import ClaimedJob
from jobs.registry import handler_for
from surveys.respondents import SimulatedRespondents

from tests.stack import JIRA_ID, SN_ID, running_stack
from tests.surveys.test_loop_end_to_end import _survey_links_on

TASK_TABLES = {"incident": ("incident_task", "incident"), "sc_req_item": ("sc_task", "request_item"),
               "change_request": ("change_task", "change_request")}


def _tasks_of(stack, connection_id: str, ticket_key: str) -> list[str]:
    """Numbers or keys of the follow-up tasks related to the ticket, as the ITSM shows them."""
    sim = stack.sim(connection_id)
    auth = ("admin", stack.secret["agent"]) if connection_id == SN_ID else ("agent@example.com", stack.secret["agent"])
    if connection_id == SN_ID:
        table, sys_id = ticket_key.split(":", 1)
        task_table, reference = TASK_TABLES[table]
        rows = requests.get(f"{sim.url}/api/now/table/{task_table}", auth=auth, timeout=10,
                            params={"sysparm_query": f"{reference}={sys_id}"}).json()["result"]
        return [row["number"] for row in rows]
    # Jira: the tasks under the ticket's linked issues, each also carrying the ticket's follow-up label.
    links = requests.get(f"{sim.url}/rest/api/2/issue/{ticket_key}", auth=auth, timeout=10,
                         params={"fields": "issuelinks"}).json()["fields"]["issuelinks"]
    linked = [link.get("inwardIssue") or link.get("outwardIssue") for link in links]
    tasks = [issue["key"] for issue in linked if issue["fields"]["issuetype"]["name"] == "Task"]
    for key in tasks:
        labels = requests.get(f"{sim.url}/rest/api/2/issue/{key}", auth=auth, timeout=10,
                              params={"fields": "labels"}).json()["fields"]["labels"]
        assert any(label.startswith(f"xla-followup-{ticket_key}-") for label in labels), (key, labels)
    return tasks


def _two_surveyed_tickets(stack, connection_id: str, rounds: int = 10) -> list[tuple[str, str]]:
    for _ in range(rounds):
        stack.advance(connection_id, 6)
        stack.drain()
        links = _survey_links_on(stack, connection_id)
        if len(links) >= 2:
            return list(links.items())[:2]
    raise AssertionError(f"fewer than two survey comments on {connection_id} after {rounds} rounds")


def _run_again(stack, job) -> str:
    """Run a finished job's handler once more as its second attempt (what a retry after a lost
    answer does), returning the outcome."""
    retry = ClaimedJob(id=job.id, kind=job.kind, payload=dict(job.payload), connection_id=job.connection_id,
                       ticket_key=job.ticket_key, attempt=2, max_attempts=job.max_attempts, created_at=job.created_at)
    return handler_for(job.kind)(stack.runtime, retry).outcome


@pytest.mark.parametrize("connection_id, tool", [(SN_ID, "servicenow"), (JIRA_ID, "jira")])
def test_a_detractor_gets_exactly_one_followup_task_and_a_promoter_none(tmp_path, monkeypatch, connection_id, tool):
    config = {tool: {"surveys": {"followup_task": True, "followup_task_group": "Service Desk"}}}
    with running_stack(tmp_path, monkeypatch, tools=(tool,), extra_config=config) as stack:
        (unhappy_key, unhappy_link), (happy_key, happy_link) = _two_surveyed_tickets(stack, connection_id)
        assert SimulatedRespondents(seed=3).answer(unhappy_link, mood="bad").status == "answered"
        assert SimulatedRespondents(seed=5).answer(happy_link, mood="good").status == "answered"
        stack.drain()

        tasks = _tasks_of(stack, connection_id, unhappy_key)
        assert len(tasks) == 1
        assert _tasks_of(stack, connection_id, happy_key) == []
        [job] = stack.jobs("create_followup_task")
        assert job.ticket_key == unhappy_key and job.outcome == "created"

        assert _run_again(stack, job) == "already_there"
        assert _run_again(stack, job) == "already_there"
        assert _tasks_of(stack, connection_id, unhappy_key) == tasks


def test_by_default_a_detractor_gets_the_note_and_flag_but_no_task(tmp_path, monkeypatch):
    with running_stack(tmp_path, monkeypatch, tools=("jira",)) as stack:
        (issue_id, link), _ = _two_surveyed_tickets(stack, JIRA_ID)
        assert SimulatedRespondents(seed=3).answer(link, mood="bad").status == "answered"
        stack.drain()
        assert [job.outcome for job in stack.jobs("rescore")] == ["rescored_detractor"]
        assert stack.jobs("create_followup_task") == []
        assert _tasks_of(stack, JIRA_ID, issue_id) == []
