"""`create_followup_task` against both simulators over real HTTP: one task related to the ticket,
created with one POST on a first attempt, found again (not created twice) on a retry.

What exists is read back from the simulators' own APIs; call counts from their request journals.
"""
from __future__ import annotations

import pytest
import requests

from connectors.base import TicketSearch
from connectors.errors import InvalidRequest, ServerError

MARKER = "xla-bridge:{number}:followup:41"


def _first(connector, kind: str):
    return next(iter(connector.search_tickets(TicketSearch(kinds=(kind,), limit=1))))


def _sn_rows(servicenow, table: str, query: str) -> list[dict]:
    from tests.connectors.conftest import SN_USER

    response = requests.get(f"{servicenow.sim.url}/api/now/table/{table}", auth=(SN_USER, servicenow.secret),
                            params={"sysparm_query": query, "sysparm_exclude_reference_link": "true"}, timeout=5)
    response.raise_for_status()
    return response.json()["result"]


@pytest.mark.parametrize("kind, task_table, reference, prefix", [
    ("incident", "incident_task", "incident", "TASK"),
    ("request", "sc_task", "request_item", "SCTASK"),
    ("change", "change_task", "change_request", "CTASK"),
])
def test_servicenow_task_goes_to_the_tickets_task_table_in_one_post(servicenow, kind, task_table, reference,
                                                                    prefix):
    connector = servicenow.connector()
    ticket = _first(connector, kind)
    sys_id = ticket.ticket_key.split(":")[1]
    marker = MARKER.format(number=ticket.number)
    servicenow.clear_journal()
    number = connector.create_followup_task(ticket.ticket_key, "Call the caller back", f"Rated 2/10.\n[{marker}]",
                                            marker, "0123456789abcdef0123456789abcdef", first_attempt=True)
    assert [(c["method"], c["path"]) for c in servicenow.journal()] == [("POST", f"/api/now/table/{task_table}")]
    assert number.startswith(prefix) and not number.existed
    rows = _sn_rows(servicenow, task_table, f"{reference}={sys_id}")
    assert [row["number"] for row in rows] == [number]
    assert marker in rows[0]["description"] and rows[0]["short_description"] == "Call the caller back"
    assert rows[0]["assignment_group"] == "0123456789abcdef0123456789abcdef"


def test_servicenow_retry_finds_the_earlier_task_instead_of_creating_another(servicenow):
    connector = servicenow.connector()
    ticket = _first(connector, "incident")
    sys_id = ticket.ticket_key.split(":")[1]
    marker = MARKER.format(number=ticket.number)
    created = connector.create_followup_task(ticket.ticket_key, "Call back", f"[{marker}]", marker,
                                             first_attempt=True)
    servicenow.clear_journal()
    again = connector.create_followup_task(ticket.ticket_key, "Call back", f"[{marker}]", marker,
                                           first_attempt=False)
    assert again == created and again.existed
    assert [c["method"] for c in servicenow.journal()] == ["GET"]
    assert len(_sn_rows(servicenow, "incident_task", f"incident={sys_id}")) == 1
    other = MARKER.format(number=ticket.number).replace(":41", ":42")
    fresh = connector.create_followup_task(ticket.ticket_key, "Call back", f"[{other}]", other)
    assert fresh != created and not fresh.existed  # another survey's follow-up is another task


def test_servicenow_tables_without_a_task_table_are_refused(servicenow):
    with pytest.raises(InvalidRequest):
        servicenow.connector().create_followup_task("problem:" + "a" * 32, "s", "d [m]", "m")


def _jira_get(jira, path: str, **params):
    if jira.deployment == "cloud":
        options = {"auth": ("xla-bridge@example.com", jira.secret)}
    else:
        options = {"headers": {"Authorization": f"Bearer {jira.secret}"}}
    response = requests.get(jira.sim.url + path, params=params, timeout=5, **options)
    response.raise_for_status()
    return response.json()


def _jira_tasks(jira, label: str) -> list[dict]:
    found = _jira_get(jira, "/rest/api/2/search", jql=f'issuetype = Task AND labels = "{label}"',
                      fields="summary,description,labels,project,issuetype")
    return found["issues"]


def _linked_keys(jira, ticket_id: str) -> list[str]:
    """Keys of the issues linked to the ticket, as its `issuelinks` field shows them."""
    links = _jira_get(jira, f"/rest/api/2/issue/{ticket_id}", fields="issuelinks")["fields"]["issuelinks"]
    return [(link.get("inwardIssue") or link.get("outwardIssue"))["key"] for link in links]


def test_jira_task_is_created_in_the_tickets_project_in_one_post(jira):
    connector = jira.connector()
    ticket = _first(connector, "incident")
    marker = MARKER.format(number=ticket.number)
    jira.clear_journal()
    key = connector.create_followup_task(ticket.ticket_key, "Call the caller back", f"Rated 3/10.\n[{marker}]",
                                         marker, "Service Desk Team", number=ticket.number, first_attempt=True)
    assert [(c["method"], c["path"]) for c in jira.journal()] == [("POST", "/rest/api/2/issue"),
                                                                   ("POST", "/rest/api/2/issueLink")]
    assert key.startswith(ticket.number.rsplit("-", 1)[0] + "-") and not key.existed
    assert _linked_keys(jira, ticket.ticket_key) == [key]
    tasks = _jira_tasks(jira, connector.followup_label(ticket.ticket_key, marker))
    assert [t["key"] for t in tasks] == [key]
    fields = tasks[0]["fields"]
    assert fields["issuetype"]["name"] == "Task" and marker in fields["description"]
    assert "Service Desk Team" in fields["description"]


def test_jira_retry_finds_the_earlier_task_and_without_the_number_reads_the_project(jira):
    connector = jira.connector()
    ticket = _first(connector, "incident")
    marker = MARKER.format(number=ticket.number)
    jira.clear_journal()
    created = connector.create_followup_task(ticket.ticket_key, "Call back", f"[{marker}]", marker)
    assert [c["method"] for c in jira.journal()] == ["GET", "GET", "POST", "POST"]  # search, project, create, link
    jira.clear_journal()
    again = connector.create_followup_task(ticket.ticket_key, "Call back", f"[{marker}]", marker,
                                           number=ticket.number)
    assert again == created and again.existed
    assert [c["method"] for c in jira.journal()] == ["GET"]
    assert len(_jira_tasks(jira, connector.followup_label(ticket.ticket_key, marker))) == 1


def test_jira_retry_links_the_task_an_earlier_attempt_left_unlinked(jira):
    connector = jira.connector()
    ticket = _first(connector, "incident")
    marker = MARKER.format(number=ticket.number)
    jira.fault(status=503, count=1, method="POST", path_prefix="/rest/api/2/issueLink")
    with pytest.raises(ServerError):
        connector.create_followup_task(ticket.ticket_key, "Call back", f"[{marker}]", marker,
                                       number=ticket.number, first_attempt=True)
    [task] = _jira_tasks(jira, connector.followup_label(ticket.ticket_key, marker))
    assert _linked_keys(jira, ticket.ticket_key) == []
    jira.clear_journal()
    again = connector.create_followup_task(ticket.ticket_key, "Call back", f"[{marker}]", marker,
                                           number=ticket.number)
    assert again == task["key"] and again.existed
    assert [(c["method"], c["path"]) for c in jira.journal()] == [("GET", "/rest/api/2/search/jql")
                                                                   if jira.deployment == "cloud" else
                                                                   ("GET", "/rest/api/2/search"),
                                                                   ("POST", "/rest/api/2/issueLink")]
    assert _linked_keys(jira, ticket.ticket_key) == [task["key"]]


def test_jira_link_refused_for_good_leaves_the_labelled_task_and_says_so(jira, caplog):
    caplog.set_level("WARNING", logger="xla.connectors")
    connector = jira.connector()
    ticket = _first(connector, "incident")
    marker = MARKER.format(number=ticket.number)
    # A site whose "Relates" type was renamed answers 404 for the type, as for any unknown one.
    connector.FOLLOWUP_LINK_TYPE = "Relates to"
    key = connector.create_followup_task(ticket.ticket_key, "Call back", f"[{marker}]", marker,
                                         number=ticket.number, first_attempt=True)
    assert [t["key"] for t in _jira_tasks(jira, connector.followup_label(ticket.ticket_key, marker))] == [key]
    assert _linked_keys(jira, ticket.ticket_key) == []
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == ["jira.followup_task.not_linked"]
