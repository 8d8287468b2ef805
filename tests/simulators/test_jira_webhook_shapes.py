"""Each webhook the Jira simulator sends has every key path of the real capture of that kind.

The captures in `../shared/fixtures/jira/` come from real Cloud and Data Center sites. For each
event kind the test makes the change through the REST API, as a client would, receives the
webhook over real HTTP, and checks that nothing the real payload carries is missing. Kinds with
no Data Center capture are checked against the Cloud capture minus the paths only Cloud sends.
"""
from __future__ import annotations

import json

import pytest

from tests.simulators.conftest import WebhookReceiver
from tests.simulators.jira_support import JiraApi, key_paths, start_jira

CAPTURE_PREFIX = "mattermost-plugin-jira__"

# Paths real Cloud sends that Data Center never does (user account ids, JSM's jsdPublic, ...).
CLOUD_ONLY_MARKERS = (".accountId", ".accountType", "jsdPublic", "statuscategorychangedate",
                      "issue.fields.security", "project.simplified", "tmpFromAccountId",
                      "tmpToAccountId", "changelog.items[].fieldId")
# The many-fields capture comes from a software project with released versions; the Service
# Desk project has none, so its fixVersions list is empty and has no element paths.
NOT_IN_A_SERVICE_DESK = ("issue.fields.fixVersions[].",)


@pytest.fixture(scope="module")
def receivers():
    made = {"cloud": WebhookReceiver(), "datacenter": WebhookReceiver()}
    yield made
    for receiver in made.values():
        receiver.stop()


@pytest.fixture(scope="module")
def sims(receivers):
    started = {deployment: start_jira(deployment, webhook_url=receiver.url)
               for deployment, receiver in receivers.items()}
    yield started
    for sim in started.values():
        sim.stop()


def capture(shared_dir, name: str) -> dict:
    path = shared_dir / "fixtures" / "jira" / f"{CAPTURE_PREFIX}{name}.json"
    if not path.exists():
        pytest.skip(f"capture {path.name} is not in ../shared/fixtures/jira")
    return json.loads(path.read_text())


def payloads(receiver: WebhookReceiver, predicate, count: int = 1) -> list[dict]:
    found = receiver.wait_for(lambda d: predicate(json.loads(d["body"])), count=count)
    return [json.loads(d["body"]) for d in found]


def about_issue(issue_id: str, event: str, type_name: str | None = "any"):
    def matches(body: dict) -> bool:
        if body.get("webhookEvent") != event:
            return False
        if type_name != "any" and body.get("issue_event_type_name") != type_name:
            return False
        if "issue" in body:
            return body["issue"]["id"] == issue_id
        return f"/issue/{issue_id}/comment/" in body["comment"]["self"]
    return matches


# -- the events, made through the REST API ---------------------------------------------------------

def make_created(api: JiraApi, receiver) -> dict:
    created = api.new_issue(description="Paper jam on every print job since this morning.",
                            components=[{"name": "Printing"}], labels=["printing"],
                            assignee=api.user_ref(), priority={"name": "High"})
    return payloads(receiver, about_issue(created["id"], "jira:issue_created", "issue_created"))[0]


def make_custom_field_update(api: JiraApi, receiver) -> dict:
    created = api.new_issue(assignee=api.user_ref())
    assert api.put(f"/issue/{created['id']}", json={"fields": {"customfield_10200": 72}}).status_code == 204
    return payloads(receiver, about_issue(created["id"], "jira:issue_updated", "issue_updated"))[0]


def make_assigned(api: JiraApi, receiver) -> dict:
    created = api.new_issue()
    assert api.put(f"/issue/{created['id']}/assignee", json=api.user_ref()).status_code == 204
    return payloads(receiver, about_issue(created["id"], "jira:issue_updated", "issue_assigned"))[0]


def _worked_and_resolved(api: JiraApi, receiver) -> str:
    created = api.new_issue(assignee=api.user_ref(), components=[{"name": "Email"}])
    issue_id = created["id"]
    api.transition_to(issue_id, "Start work")
    logged = api.post(f"/issue/{issue_id}/worklog", json={"timeSpent": "1h 30m", "comment": "Replaced the drum."})
    assert logged.status_code == 201, logged.text
    api.transition_to(issue_id, "Resolve", fields={"resolution": {"name": "Done"}})
    return issue_id


def is_status_change_to(category: str):
    def check(body: dict) -> bool:
        return (any(item["field"] == "status" for item in body.get("changelog", {}).get("items", []))
                and body["issue"]["fields"]["status"]["statusCategory"]["key"] == category)
    return check


def make_resolved(api: JiraApi, receiver) -> dict:
    issue_id = _worked_and_resolved(api, receiver)
    status_done = is_status_change_to("done")
    return payloads(receiver, lambda b: about_issue(issue_id, "jira:issue_updated")(b) and status_done(b))[0]


def make_reopened(api: JiraApi, receiver) -> dict:
    issue_id = _worked_and_resolved(api, receiver)
    api.transition_to(issue_id, "Reopen")
    status_new = is_status_change_to("new")
    return payloads(receiver, lambda b: about_issue(issue_id, "jira:issue_updated")(b) and status_new(b))[0]


def make_closed(api: JiraApi, receiver) -> dict:
    issue_id = _worked_and_resolved(api, receiver)
    api.transition_to(issue_id, "Close")
    return payloads(receiver, about_issue(issue_id, "jira:issue_updated", "issue_closed"))[0]


def make_comment_created(api: JiraApi, receiver) -> dict:
    created = api.new_issue()
    assert api.post(f"/issue/{created['id']}/comment", json={"body": "Still jammed."}).status_code == 201
    return payloads(receiver, about_issue(created["id"], "comment_created"))[0]


def make_commented_update(api: JiraApi, receiver) -> dict:
    created = api.new_issue(assignee=api.user_ref())
    assert api.post(f"/issue/{created['id']}/comment", json={"body": "Still jammed."}).status_code == 201
    return payloads(receiver, about_issue(created["id"], "jira:issue_updated", "issue_commented"))[0]


def make_deleted(api: JiraApi, receiver) -> dict:
    created = api.new_issue(assignee=api.user_ref())
    assert api.delete(f"/issue/{created['id']}").status_code == 204
    return payloads(receiver, about_issue(created["id"], "jira:issue_deleted"))[0]


# (deployment, kind, how to make it, capture name, derived from Cloud)
CASES = [
    ("cloud", "created", make_created, "webhook-issue-created", False),
    ("cloud", "created, many fields", make_created, "webhook-cloud-issue-created-many-fields", False),
    ("cloud", "custom field updated", make_custom_field_update, "webhook-cloud-issue-updated-custom-field", False),
    ("cloud", "assigned", make_assigned, "webhook-issue-updated-assigned", False),
    ("cloud", "resolved", make_resolved, "webhook-issue-updated-resolved", False),
    ("cloud", "reopened", make_reopened, "webhook-issue-updated-reopened", False),
    ("cloud", "comment created", make_comment_created, "webhook-cloud-comment-created", False),
    ("cloud", "deleted", make_deleted, "webhook-issue-deleted", False),
    ("datacenter", "resolved", make_resolved, "webhook-server-issue-updated-resolved", False),
    ("datacenter", "closed", make_closed, "webhook-server-issue-updated-closed", False),
    ("datacenter", "comment created", make_comment_created, "webhook-server-comment-created", False),
    ("datacenter", "commented issue update", make_commented_update,
     "webhook-server-old-issue-updated-no-event-type-commented", False),
    ("datacenter", "created", make_created, "webhook-issue-created", True),
    ("datacenter", "custom field updated", make_custom_field_update,
     "webhook-cloud-issue-updated-custom-field", True),
    ("datacenter", "assigned", make_assigned, "webhook-issue-updated-assigned", True),
    ("datacenter", "reopened", make_reopened, "webhook-issue-updated-reopened", True),
    ("datacenter", "deleted", make_deleted, "webhook-issue-deleted", True),
]


@pytest.mark.parametrize("deployment,kind,make,capture_name,derived", CASES,
                         ids=[f"{c[0]}-{c[1].replace(' ', '_').replace(',', '')}" for c in CASES])
def test_webhook_has_every_key_path_of_the_real_capture(shared_dir, sims, receivers, deployment, kind,
                                                        make, capture_name, derived):
    expected = key_paths(capture(shared_dir, capture_name))
    expected = {p for p in expected if not any(p.startswith(prefix) for prefix in NOT_IN_A_SERVICE_DESK)}
    if derived:
        expected = {p for p in expected if not any(marker in p for marker in CLOUD_ONLY_MARKERS)}
    ours = make(JiraApi(sims[deployment]), receivers[deployment])
    missing = sorted(expected - key_paths(ours))
    assert not missing, f"{deployment} {kind} webhook lacks paths the real one has: {missing}"


def test_data_center_comment_created_names_the_issue_only_in_the_comment_link(sims, receivers):
    api = JiraApi(sims["datacenter"])
    created = api.new_issue()
    api.post(f"/issue/{created['id']}/comment", json={"body": "Any update?"})
    body = payloads(receivers["datacenter"], about_issue(created["id"], "comment_created"))[0]
    assert "issue" not in body and "user" not in body and "issue_event_type_name" not in body
    assert body["comment"]["self"].endswith(f"/rest/api/2/issue/{created['id']}/comment/{body['comment']['id']}")


def test_cloud_comment_created_carries_a_minimal_issue_and_jsd_visibility(sims, receivers):
    api = JiraApi(sims["cloud"])
    created = api.new_issue()
    api.post(f"/issue/{created['id']}/comment",
             json={"body": "Checked the spooler.",
                   "properties": [{"key": "sd.public.comment", "value": {"internal": True}}]})
    body = payloads(receivers["cloud"], about_issue(created["id"], "comment_created"))[0]
    assert "user" not in body
    assert set(body["issue"]["fields"]) == {"summary", "issuetype", "project", "assignee", "priority", "status"}
    assert body["comment"]["jsdPublic"] is False


def test_data_center_changelog_items_have_no_field_id_and_cloud_items_do(sims, receivers):
    for deployment in ("cloud", "datacenter"):
        api = JiraApi(sims[deployment])
        created = api.new_issue()
        api.put(f"/issue/{created['id']}", json={"fields": {"customfield_10201": {"value": "Poor"}}})
        body = payloads(receivers[deployment], about_issue(created["id"], "jira:issue_updated", "issue_updated"))[0]
        (item,) = body["changelog"]["items"]
        options = api.get(f"/issue/{created['id']}/editmeta").json()["fields"]["customfield_10201"]["allowedValues"]
        poor = next(option["id"] for option in options if option["value"] == "Poor")
        assert (item["field"], item["fieldtype"], item["to"], item["toString"]) == (
            "Experience Band", "custom", poor, "Poor")
        assert ("fieldId" in item) == (deployment == "cloud")
