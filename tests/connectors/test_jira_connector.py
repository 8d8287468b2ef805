"""The Jira connector against the Jira simulator over real HTTP: Cloud (email + API token, basic)
and Data Center (personal access token, bearer), every test on both.

Call counts come from the simulator's request journal: what the instance actually received.
"""
from __future__ import annotations

import pytest

from connectors.base import TicketSearch, TicketWrite
from connectors.errors import FieldNotEditable, NotFound, ServerError

SCORE_ID, BAND_ID, LEGACY_ID = "customfield_10200", "customfield_10201", "customfield_10210"
SCORE = {SCORE_ID: 72, BAND_ID: {"value": "Good"}}


def open_incident(connector) -> str:
    return next(iter(connector.search_tickets(TicketSearch(kinds=("incident",), open_only=True, limit=1)))).ticket_key


def comments_of(jira, key):
    return _get(jira, f"/rest/api/2/issue/{key}/comment?expand=properties")["comments"]


def _get(jira, path):
    import requests

    if jira.deployment == "cloud":
        response = requests.get(jira.sim.url + path, auth=("xla-bridge@example.com", jira.secret), timeout=5)
    else:
        response = requests.get(jira.sim.url + path, headers={"Authorization": f"Bearer {jira.secret}"}, timeout=5)
    response.raise_for_status()
    return response.json()


def test_whoami_is_the_account_id_on_cloud_and_the_user_name_on_data_center(jira):
    me = jira.connector().whoami()
    if jira.deployment == "cloud":
        assert me.key != "xla-bridge" and "xla-bridge@example.com" in me.aliases
    else:
        assert me.key == "xla-bridge"
    assert me.name


def test_reading_a_ticket_is_one_get_with_changelog_and_people(jira):
    connector = jira.connector()
    key = open_incident(connector)
    jira.clear_journal()
    ticket = connector.get_ticket(key)
    calls = jira.journal()
    assert [(c["method"], c["path"]) for c in calls] == [("GET", f"/rest/api/2/issue/{key}")]
    assert "expand=changelog" in calls[0]["query"]
    assert ticket.ticket_key == key and ticket.number.startswith("SD-") and ticket.version
    assert ticket.changelog and {"at", "author", "items"} <= set(ticket.changelog[0])
    reporter = ticket.people["reporter"]
    assert reporter.email and reporter.name
    if jira.deployment == "datacenter":
        assert reporter.key == ticket.fields["reporter"]["name"]
    else:
        assert reporter.key == ticket.fields["reporter"]["accountId"]


def test_search_pages_in_the_deployments_own_way_oldest_update_first(jira):
    connector = jira.connector()
    everything = list(connector.search_tickets(TicketSearch(limit=1000)))
    connector.PAGE_SIZE = 7
    jira.clear_journal()
    paged = list(connector.search_tickets(TicketSearch(limit=1000)))
    assert [t.ticket_key for t in paged] == [t.ticket_key for t in everything]
    assert [t.version for t in paged] == sorted(t.version for t in paged)
    pages = jira.requests("GET", "/search")
    assert len(pages) == -(-len(paged) // 7)
    if jira.deployment == "cloud":
        assert all(p["path"] == "/rest/api/2/search/jql" for p in pages) and "nextPageToken" in pages[1]["query"]
    else:
        assert all(p["path"] == "/rest/api/2/search" for p in pages) and "startAt=7" in pages[1]["query"]


def test_search_criteria_become_jql(jira):
    connector = jira.connector()
    incidents = list(connector.search_tickets(TicketSearch(kinds=("incident",), open_only=True, limit=100)))
    assert incidents
    assert all(t.fields["issuetype"]["name"] == "Incident" for t in incidents)
    assert all(t.fields["status"]["statusCategory"]["key"] != "done" for t in incidents)
    reporter = incidents[0].people["reporter"].key
    theirs = list(connector.search_tickets(TicketSearch(caller=reporter, limit=100)))
    assert theirs and all(t.people["reporter"].key == reporter for t in theirs)
    assert len(list(connector.search_tickets(TicketSearch(limit=3)))) == 3


def test_field_catalogue_knows_which_fields_are_on_the_edit_screen(jira):
    connector = jira.connector()
    catalogue = {f.id: f for f in connector.field_catalogue(open_incident(connector))}
    assert catalogue[SCORE_ID].name == "Experience Score" and catalogue[SCORE_ID].on_edit_screen is True
    assert catalogue[LEGACY_ID].on_edit_screen is False and catalogue[LEGACY_ID].writable is False
    assert catalogue[BAND_ID].type == "select" and set(catalogue[BAND_ID].allowed_values) == {"Good", "Average", "Poor"}
    without_issue = {f.id: f for f in connector.field_catalogue()}
    assert without_issue[SCORE_ID].on_edit_screen is None


def test_fields_go_in_one_put_and_an_internal_note_in_one_comment(jira):
    connector = jira.connector()
    key = open_incident(connector)
    jira.clear_journal()
    assert connector.write(key, TicketWrite(fields=SCORE, internal_note="Experience score 72 (Good)",
                                            marker="xla:test:score:1"))
    calls = [(c["method"], c["path"]) for c in jira.journal()]
    issue = f"/rest/api/2/issue/{key}"
    assert calls == [("GET", issue), ("POST", issue + "/comment"), ("PUT", issue)]
    put = jira.requests("PUT")[0]["body"]
    assert put["fields"] == SCORE
    ticket = connector.get_ticket(key, fields=(SCORE_ID, BAND_ID))
    assert ticket.fields[SCORE_ID] == 72 and ticket.fields[BAND_ID]["value"] == "Good"
    note = comments_of(jira, key)[-1]
    assert note["body"].startswith("Experience score 72") and "[xla-bridge ref: xla:test:score:1]" in note["body"]
    assert {"key": "sd.public.comment", "value": {"internal": True}} in note["properties"]


def test_a_repeated_write_costs_one_read_and_changes_nothing(jira):
    connector = jira.connector()
    key = open_incident(connector)
    change = TicketWrite(fields=SCORE, internal_note="Experience score 72", marker="xla:test:score:2")
    assert connector.write(key, change)
    before = len(comments_of(jira, key))
    jira.clear_journal()
    assert connector.write(key, change) is False
    assert [c["method"] for c in jira.journal()] == ["GET"]
    assert len(comments_of(jira, key)) == before


def test_a_comment_only_when_there_is_something_new(jira):
    connector = jira.connector()
    key = open_incident(connector)
    assert connector.set_fields(key, SCORE)
    jira.clear_journal()
    assert connector.write(key, TicketWrite(fields=SCORE, internal_note="Survey answered: 9/10", marker="xla:t:survey"))
    assert [c["method"] for c in jira.journal()] == ["GET", "POST"]  # fields held: no PUT
    jira.clear_journal()
    assert connector.set_fields(key, {SCORE_ID: 80, BAND_ID: {"value": "Good"}})
    assert jira.requests("PUT")[0]["body"]["fields"] == {SCORE_ID: 80}  # only what changed


def test_public_comment_is_a_plain_comment(jira):
    connector = jira.connector()
    key = open_incident(connector)
    assert connector.add_public_comment(key, "Thanks for your feedback!", marker="xla:t:thanks")
    posted = jira.requests("POST", "/comment")[0]["body"]
    assert posted["body"].startswith("Thanks for your feedback!") and "properties" not in posted


def test_the_last_write_is_recorded_in_an_issue_property(jira):
    connector = jira.connector()
    key = open_incident(connector)
    assert connector.write(key, TicketWrite(fields=SCORE, internal_note="Experience score 72", marker="xla:t:prop"))
    record = _get(jira, f"/rest/api/2/issue/{key}/properties/xla-bridge.last-write")["value"]
    assert record["fields"] == sorted(SCORE) and record["fields_digest"] and record["markers"] == ["xla:t:prop"]
    assert len(jira.requests("PUT")) == 1  # recorded by the same PUT that set the fields


def test_a_field_not_on_the_edit_screen_is_named_in_the_error(jira):
    connector = jira.connector()
    key = open_incident(connector)
    with pytest.raises(FieldNotEditable) as raised:
        connector.set_fields(key, {LEGACY_ID: 50})
    message = str(raised.value)
    assert LEGACY_ID in message and "Experience Legacy Score" in message and "not on the edit screen" in message


def test_the_library_never_repeats_a_comment_after_a_503(jira):
    connector = jira.connector()
    key = open_incident(connector)
    jira.fault(status=503, method="POST", path_prefix="/rest/api/2/issue/", count=1)
    with pytest.raises(ServerError):
        connector.add_internal_note(key, "Experience score 72", marker="xla:t:once")
    assert len(jira.requests("POST", "/comment")) == 1


def test_sla_state_is_empty_without_service_management_sla_fields(jira):
    connector = jira.connector()
    assert connector.sla_state(open_incident(connector)) == []


def test_an_unknown_issue_is_not_found(jira):
    with pytest.raises(NotFound):
        jira.connector().get_ticket("99999999")
