"""Issue links on the Jira simulator: made through `POST /issueLink`, shown in `issuelinks` on both
issues, announced by an `issuelink_created` webhook, and gone with a deleted issue."""
from __future__ import annotations

import json

import pytest

from tests.simulators.conftest import WebhookReceiver
from tests.simulators.jira_support import READ_ONLY_LOGIN, JiraApi, start_jira


@pytest.fixture(scope="module", params=["cloud", "datacenter"])
def deployment(request):
    """A simulator of each deployment with a webhook receiver of its own."""
    receiver = WebhookReceiver()
    started = start_jira(request.param, webhook_url=receiver.url)
    yield started, receiver
    started.stop()
    receiver.stop()


@pytest.fixture
def sim(deployment):
    started, receiver = deployment
    started.admin("POST", "/reset")
    receiver.clear()
    return started


@pytest.fixture
def receiver(deployment):
    return deployment[1]


@pytest.fixture
def api(sim):
    return JiraApi(sim)


def link(api: JiraApi, type_name: str, inward: str, outward: str):
    return api.post("/issueLink", json={"type": {"name": type_name}, "inwardIssue": {"key": inward},
                                        "outwardIssue": {"key": outward}})


def links_of(api: JiraApi, ref: str) -> list[dict]:
    return api.issue(ref, fields="issuelinks")["fields"]["issuelinks"]


def test_a_link_shows_on_both_issues_and_is_announced_by_a_webhook(api, receiver):
    ticket, task = api.new_issue(summary="VPN drops every hour"), api.new_issue(summary="Call the caller back")
    answer = link(api, "Blocks", task["key"], ticket["key"])
    assert (answer.status_code, answer.content) == (201, b"")

    [on_task] = links_of(api, task["key"])
    assert on_task["type"]["name"] == "Blocks"
    assert on_task["outwardIssue"]["key"] == ticket["key"]
    assert on_task["outwardIssue"]["fields"]["summary"] == "VPN drops every hour"
    [on_ticket] = links_of(api, ticket["key"])
    assert on_ticket["id"] == on_task["id"]
    assert on_ticket["inwardIssue"]["key"] == task["key"]
    assert "outwardIssue" not in on_ticket

    [delivery] = receiver.wait_for(lambda d: json.loads(d["body"]).get("webhookEvent") == "issuelink_created"
                                   and json.loads(d["body"])["issueLink"]["id"] == int(on_task["id"]))
    announced = json.loads(delivery["body"])["issueLink"]
    assert (announced["sourceIssueId"], announced["destinationIssueId"]) == (int(task["id"]), int(ticket["id"]))
    assert (announced["issueLinkType"]["name"], announced["issueLinkType"]["outwardName"]) == ("Blocks", "blocks")


def test_a_link_type_is_found_by_id_or_by_name_in_any_case(api):
    first, second = api.new_issue(), api.new_issue()
    types = {entry["name"]: entry for entry in api.get("/issueLinkType").json()["issueLinkTypes"]}
    assert {"Blocks", "Cloners", "Duplicate", "Relates"} <= set(types)
    assert types["Relates"]["inward"] == types["Relates"]["outward"] == "relates to"
    assert link(api, "relates", first["key"], second["key"]).status_code == 201
    by_id = api.post("/issueLink", json={"type": {"id": types["Duplicate"]["id"]}, "inwardIssue": {"id": first["id"]},
                                         "outwardIssue": {"id": second["id"]}})
    assert by_id.status_code == 201
    assert sorted(entry["type"]["name"] for entry in links_of(api, second["key"])) == ["Duplicate", "Relates"]


def test_link_requests_are_refused_as_jira_refuses_them(api, sim):
    first, second = api.new_issue(), api.new_issue()
    unknown_type = link(api, "Follows up", first["key"], second["key"])
    assert unknown_type.status_code == 404
    assert "Follows up" in unknown_type.json()["errorMessages"][0]
    assert link(api, "Relates", first["key"], "SD-99999").status_code == 404
    missing = api.post("/issueLink", json={"type": {"name": "Relates"}, "inwardIssue": {"key": first["key"]}})
    assert missing.status_code == 400 and "outwardIssue" in missing.json()["errors"]
    assert link(JiraApi(sim, READ_ONLY_LOGIN), "Relates", first["key"], second["key"]).status_code == 403
    assert links_of(api, first["key"]) == [] and links_of(api, second["key"]) == []


def test_a_deleted_issue_takes_its_links_with_it(api):
    kept, deleted = api.new_issue(), api.new_issue()
    assert link(api, "Relates", kept["key"], deleted["key"]).status_code == 201
    assert api.delete(f"/issue/{deleted['key']}").status_code == 204
    assert links_of(api, kept["key"]) == []
