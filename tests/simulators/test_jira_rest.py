"""The Jira simulator's REST v2 answers as Jira does: catalogue, edits, transitions, comments, auth."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
from jira import JIRA

from simulators.world import build_world
from tests.simulators.jira_support import (AGENT_LOGIN, DC_TOKENS, INTEGRATION_LOGIN, PASSWORDS,
                                           READ_ONLY_LOGIN, JiraApi, start_jira)

ARCHITECTURE = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
NOT_ON_SCREEN = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."
INTERNAL = [{"key": "sd.public.comment", "value": {"internal": True}}]


@pytest.fixture(scope="module")
def processes():
    started = {deployment: start_jira(deployment) for deployment in ("cloud", "datacenter")}
    yield started
    for process in started.values():
        process.stop()


@pytest.fixture
def cloud(processes):
    processes["cloud"].admin("POST", "/reset")
    return processes["cloud"]


@pytest.fixture
def datacenter(processes):
    processes["datacenter"].admin("POST", "/reset")
    return processes["datacenter"]


@pytest.fixture(params=["cloud", "datacenter"])
def sim(request, processes):
    processes[request.param].admin("POST", "/reset")
    return processes[request.param]


def documented_jira_fields() -> list[tuple[str, str, bool]]:
    """(name, type, on edit screen) rows of the Jira table in docs/architecture.md."""
    text = ARCHITECTURE.read_text()
    table = text.split("Jira (custom fields", 1)[1].split("###", 1)[0]
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("name", "---"):
            rows.append((cells[0], cells[1], cells[2].startswith("yes")))
    return rows


# -- instance --------------------------------------------------------------------------------------

def test_server_info_names_the_deployment(cloud, datacenter):
    assert requests.get(f"{cloud.url}/rest/api/2/serverInfo", timeout=10).json()["deploymentType"] == "Cloud"
    assert requests.get(f"{datacenter.url}/rest/api/2/serverInfo", timeout=10).json()["deploymentType"] == "Server"


def test_myself_is_an_account_id_on_cloud_and_a_user_name_on_data_center(cloud, datacenter):
    on_cloud = JiraApi(cloud).myself()
    assert re.fullmatch(r"[0-9a-f]{24}", on_cloud["accountId"])
    on_dc = JiraApi(datacenter, bearer=DC_TOKENS["xla-bridge"]).myself()
    assert "accountId" not in on_dc and on_dc["name"] == on_dc["key"] == "xla-bridge"


def test_field_catalogue_and_edit_screen_match_the_documented_contract(sim):
    api = JiraApi(sim)
    catalogue = {f["name"]: f for f in api.get("/field").json()}
    issue = api.search("project = SD", maxResults=1)["issues"][0]
    editable = api.get(f"/issue/{issue['id']}/editmeta").json()["fields"]
    documented = documented_jira_fields()
    assert len(documented) == 11
    for number, (name, kind, on_screen) in enumerate(documented, start=10200):
        field = catalogue[name]
        assert field["id"] == f"customfield_{number}" and field["custom"] is True
        assert field["schema"]["customId"] == number
        assert field["schema"]["type"] == {"number": "number", "textarea": "string", "text": "string"}.get(
            kind, "option")
        assert (field["id"] in editable) == on_screen, name
        if kind.startswith("select"):
            choices = kind[kind.index("(") + 1:kind.index(")")].split(", ")
            assert [v["value"] for v in editable[field["id"]]["allowedValues"]] == choices
    assert {"Assignment Group", "Configuration Item"} <= set(catalogue)
    assert catalogue["Summary"]["custom"] is False


# -- editing ---------------------------------------------------------------------------------------

def test_field_not_on_the_screen_gives_jiras_error_and_changes_nothing(sim):
    api = JiraApi(sim)
    created = api.new_issue()
    response = api.put(f"/issue/{created['id']}", json={"fields": {"customfield_10200": 50,
                                                                   "customfield_10210": 50}})
    assert response.status_code == 400
    assert response.json() == {"errorMessages": [],
                               "errors": {"customfield_10210": NOT_ON_SCREEN.format("customfield_10210")}}
    assert api.issue(created["id"])["fields"]["customfield_10200"] is None


def test_fields_and_update_operations_are_applied_and_recorded(sim):
    api = JiraApi(sim)
    created = api.new_issue(labels=["printing"])
    response = api.put(f"/issue/{created['id']}", json={
        "fields": {"customfield_10200": 72, "customfield_10201": {"value": "Good"},
                   "customfield_10202": "Quick fix; kept informed"},
        "update": {"labels": [{"add": "xla-scored"}]}})
    assert response.status_code == 204, response.text
    issue = api.issue(created["id"], expand="changelog")
    fields = issue["fields"]
    assert fields["customfield_10200"] == 72
    assert fields["customfield_10201"]["value"] == "Good"
    assert fields["customfield_10202"] == "Quick fix; kept informed"
    assert fields["labels"] == ["printing", "xla-scored"]
    last = issue["changelog"]["histories"][-1]
    assert {i["fieldId"] for i in last["items"]} == {"customfield_10200", "customfield_10201",
                                                      "customfield_10202", "labels"}


def test_setting_the_values_already_held_records_no_change(sim):
    api = JiraApi(sim)
    created = api.new_issue()
    api.put(f"/issue/{created['id']}", json={"fields": {"customfield_10200": 64}})
    before = api.issue(created["id"], expand="changelog")
    assert api.put(f"/issue/{created['id']}", json={"fields": {"customfield_10200": 64}}).status_code == 204
    after = api.issue(created["id"], expand="changelog")
    assert after["changelog"]["total"] == before["changelog"]["total"]
    assert after["fields"]["updated"] == before["fields"]["updated"]


def test_values_a_field_cannot_hold_are_reported_per_field(sim):
    api = JiraApi(sim)
    created = api.new_issue()
    response = api.put(f"/issue/{created['id']}", json={"fields": {"customfield_10201": {"value": "Great"},
                                                                   "customfield_10200": "high"}})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"customfield_10201", "customfield_10200"}


def test_status_changes_only_through_transitions(sim):
    api = JiraApi(sim)
    created = api.new_issue()
    refused = api.put(f"/issue/{created['id']}", json={"fields": {"status": {"name": "Resolved"}}})
    assert refused.status_code == 400 and refused.json()["errors"] == {"status": NOT_ON_SCREEN.format("status")}
    bad = api.post(f"/issue/{created['id']}/transitions", json={"transition": {"id": "999"}})
    assert bad.status_code == 400
    assert bad.json()["errorMessages"] == ["Transition id '999' is not valid for this issue."]

    api.transition_to(created["id"], "Resolve", fields={"resolution": {"name": "Cannot Reproduce"}})
    resolved = api.issue(created["id"])["fields"]
    assert resolved["status"]["statusCategory"]["key"] == "done"
    assert resolved["resolution"]["name"] == "Cannot Reproduce" and resolved["resolutiondate"]

    api.transition_to(created["id"], "Reopen")
    reopened = api.issue(created["id"])["fields"]
    assert reopened["status"]["statusCategory"]["key"] == "new"
    assert reopened["resolution"] is None and reopened["resolutiondate"] is None


def test_transitions_offer_only_what_the_current_status_allows(sim):
    api = JiraApi(sim)
    created = api.new_issue()
    names = {t["name"] for t in api.get(f"/issue/{created['id']}/transitions").json()["transitions"]}
    assert "Resolve" in names and "Reopen" not in names and "Close" not in names
    api.transition_to(created["id"], "Resolve")
    listed = api.get(f"/issue/{created['id']}/transitions", params={"expand": "transitions.fields"}).json()
    names = {t["name"] for t in listed["transitions"]}
    assert names == {"Reopen", "Close"}
    assert all(t["to"]["statusCategory"]["key"] in ("new", "done") for t in listed["transitions"])


def test_create_answers_201_and_the_caller_is_the_reporter(sim):
    api = JiraApi(sim)
    created = api.new_issue()
    assert set(created) == {"id", "key", "self"} and created["key"].startswith("SD-")
    assert created["self"].endswith(f"/rest/api/2/issue/{created['id']}")
    issue = api.issue(created["key"])
    assert issue["id"] == created["id"]
    assert issue["fields"]["reporter"]["displayName"] == api.myself()["displayName"]
    assert issue["fields"]["status"]["statusCategory"]["key"] == "new"
    missing = api.post("/issue", json={"fields": {"project": {"key": "SD"}, "issuetype": {"name": "Incident"}}})
    assert missing.status_code == 400 and "summary" in missing.json()["errors"]


def test_unknown_issue_answers_jiras_404(sim):
    response = JiraApi(sim).get("/issue/SD-99999")
    assert response.status_code == 404
    assert response.json() == {"errorMessages": ["Issue does not exist or you do not have permission to see it."],
                               "errors": {}}


# -- comments and properties -----------------------------------------------------------------------

def test_internal_comment_carries_the_jsm_property_and_is_not_public(cloud):
    api = JiraApi(cloud)
    created = api.new_issue()
    internal = api.post(f"/issue/{created['id']}/comment", json={"body": "Score 42; follow up.",
                                                                 "properties": INTERNAL}).json()
    public = api.post(f"/issue/{created['id']}/comment", json={"body": "We are on it."}).json()
    assert internal["jsdPublic"] is False and public["jsdPublic"] is True
    stored = api.get(f"/comment/{internal['id']}/properties/sd.public.comment").json()
    assert stored == {"key": "sd.public.comment", "value": {"internal": True}}
    listed = api.get(f"/issue/{created['id']}/comment", params={"expand": "properties"}).json()
    by_id = {c["id"]: c for c in listed["comments"]}
    assert by_id[internal["id"]]["properties"] == INTERNAL
    assert by_id[public["id"]]["properties"] == []


def test_issue_properties_round_trip(sim):
    api = JiraApi(sim)
    created = api.new_issue()
    path = f"/issue/{created['id']}/properties/xla.score"
    assert api.put(path, json={"score": 55, "version": 3}).status_code == 201
    assert api.put(path, json={"score": 61, "version": 4}).status_code == 200
    assert api.get(path).json() == {"key": "xla.score", "value": {"score": 61, "version": 4}}
    assert [k["key"] for k in api.get(f"/issue/{created['id']}/properties").json()["keys"]] == ["xla.score"]
    assert api.delete(path).status_code == 204
    gone = api.get(path)
    assert gone.status_code == 404
    assert gone.json()["errorMessages"] == ["The property with key 'xla.score' does not exist."]


# -- authentication and permissions -----------------------------------------------------------------

def test_cloud_accepts_email_and_api_token_only(cloud):
    url = f"{cloud.url}/rest/api/2/myself"
    assert requests.get(url, auth=(AGENT_LOGIN, PASSWORDS[AGENT_LOGIN]), timeout=10).status_code == 200
    wrong = requests.get(url, auth=(AGENT_LOGIN, "not-the-token"), timeout=10)
    assert wrong.status_code == 401 and wrong.text == "Client must be authenticated to access this resource."
    assert wrong.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
    anonymous = requests.get(url, timeout=10)
    assert anonymous.status_code == 401 and "X-Seraph-LoginReason" not in anonymous.headers
    bearer = requests.get(url, headers={"Authorization": f"Bearer {PASSWORDS[AGENT_LOGIN]}"}, timeout=10)
    assert bearer.status_code == 401


def test_data_center_accepts_a_personal_access_token(datacenter):
    url = f"{datacenter.url}/rest/api/2/myself"
    good = requests.get(url, headers={"Authorization": f"Bearer {DC_TOKENS['xla-bridge']}"}, timeout=10)
    assert good.status_code == 200 and good.json()["name"] == "xla-bridge"
    wrong = requests.get(url, headers={"Authorization": "Bearer not-a-token"}, timeout=10)
    assert wrong.status_code == 401
    assert wrong.json() == {"errorMessages": ["You are not authenticated. Authentication required to perform "
                                              "this operation."], "errors": {}}
    basic = requests.get(url, auth=(INTEGRATION_LOGIN, PASSWORDS[INTEGRATION_LOGIN]), timeout=10)
    assert basic.status_code == 200 and basic.json()["name"] == "xla-bridge"


def test_read_only_user_reads_but_cannot_write(sim):
    reader = JiraApi(sim, READ_ONLY_LOGIN)
    issue = reader.search("project = SD", maxResults=1)["issues"][0]
    refused = reader.put(f"/issue/{issue['id']}", json={"fields": {"customfield_10200": 1}})
    assert refused.status_code == 403 and refused.json()["errorMessages"]
    assert JiraApi(sim).issue(issue["id"])["fields"]["customfield_10200"] is None


def test_journal_names_the_user_and_never_the_credentials(cloud):
    api = JiraApi(cloud)
    cloud.admin("DELETE", "/journal")
    api.myself()
    (entry,) = [e for e in cloud.journal() if e["path"] == "/rest/api/2/myself"]
    assert entry["user"] == "xla-bridge" and entry["status"] == 200
    assert PASSWORDS[INTEGRATION_LOGIN] not in str(cloud.journal())


# -- the official client library ---------------------------------------------------------------------

def test_the_jira_client_library_works_against_both_deployments(cloud, datacenter):
    clients = {
        "cloud": JIRA(server=cloud.url, basic_auth=(INTEGRATION_LOGIN, PASSWORDS[INTEGRATION_LOGIN]),
                      max_retries=0),
        "datacenter": JIRA(server=datacenter.url, token_auth=DC_TOKENS["xla-bridge"], max_retries=0),
    }
    for deployment, client in clients.items():
        assert client.deploymentType == ("Cloud" if deployment == "cloud" else "Server")
        field_ids = {f["name"]: f["id"] for f in client.fields()}
        issue = client.create_issue(project="SD", summary="Laptop will not dock", issuetype={"name": "Incident"})
        issue.update(fields={field_ids["Experience Score"]: 33})
        client.add_comment(issue.key, "Experience risk high.", is_internal=True)
        client.transition_issue(issue, "Resolve")
        fresh = client.issue(issue.key)
        assert fresh.raw["fields"][field_ids["Experience Score"]] == 33
        assert fresh.fields.status.statusCategory.key == "done"
        found = client.search_issues(f"key = {issue.key}", maxResults=5)
        assert [i.key for i in found] == [issue.key]


def test_service_desk_request_shows_the_customer_and_status(cloud):
    api = JiraApi(cloud)
    created = api.new_issue()
    response = requests.get(f"{cloud.url}/rest/servicedeskapi/request/{created['key']}",
                            auth=(INTEGRATION_LOGIN, PASSWORDS[INTEGRATION_LOGIN]), timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert body["issueKey"] == created["key"] and body["currentStatus"]["statusCategory"] == "NEW"
    assert body["reporter"]["accountId"] == api.myself()["accountId"]


def test_properties_sent_with_an_edit_are_stored_without_a_field_change(sim):
    api = JiraApi(sim)
    created = api.new_issue()
    before = api.issue(created["id"], expand="changelog")
    response = api.put(f"/issue/{created['id']}",
                       json={"fields": {}, "properties": [{"key": "xla-bridge.last-write", "value": {"v": 3}}]})
    assert response.status_code == 204, response.text
    stored = api.get(f"/issue/{created['id']}/properties/xla-bridge.last-write").json()
    assert stored["value"] == {"v": 3}
    after = api.issue(created["id"], expand="changelog")
    assert after["changelog"]["total"] == before["changelog"]["total"]
    both = api.put(f"/issue/{created['id']}", json={"fields": {"customfield_10200": 12},
                                                    "properties": [{"key": "xla-bridge.last-write", "value": {"v": 4}}]})
    assert both.status_code == 204
    assert api.get(f"/issue/{created['id']}/properties/xla-bridge.last-write").json()["value"] == {"v": 4}
    assert api.issue(created["id"])["fields"]["customfield_10200"] == 12


def test_cloud_can_answer_the_retired_classic_search_with_410():
    process = start_jira("cloud", extra_args=("--retire-classic-search",))
    try:
        api = JiraApi(process)
        gone = api.get("/search", params={"jql": "project = SD"})
        assert gone.status_code == 410 and "/search/jql" in gone.json()["errorMessages"][0]
        assert api.get("/search/jql", params={"jql": "project = SD"}).status_code == 200
    finally:
        process.stop()


def test_seeded_issues_carry_their_lifecycle_in_the_changelog(sim):
    api = JiraApi(sim)
    issues = api.search("project = SD", maxResults=1000, expand="changelog", fields="status,resolution")["issues"]
    group_moves, reopens = 0, 0
    for issue in issues:
        histories = issue["changelog"]["histories"]
        assert [h["created"] for h in histories] == sorted(h["created"] for h in histories), issue["key"]
        items = [item for h in histories for item in h["items"]]
        status_items = [i for i in items if i["field"] == "status"]
        if issue["fields"]["status"]["statusCategory"]["key"] == "done":
            assert issue["fields"]["resolution"] and status_items, issue["key"]
            assert status_items[-1]["toString"] == issue["fields"]["status"]["name"]
        group_moves += sum(1 for i in items if i["field"] == "Assignment Group" and i["fromString"] and i["toString"])
        reopens += sum(1 for i in items if i["field"] == "resolution" and i["from"] and not i["to"])
    assert group_moves > 0, "some seeded tickets were passed from one group to another"
    assert all(i["changelog"]["histories"] for i in issues
               if i["fields"]["status"]["statusCategory"]["key"] != "new")
    world = build_world(42)  # the seed start_jira uses
    planned_reopens = sum(1 for plan in world.tickets if plan.is_seeded()
                          for step in plan.history() if step.action == "reopen")
    assert reopens == planned_reopens > 0
