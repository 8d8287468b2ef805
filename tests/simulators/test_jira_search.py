"""JQL search in the Jira simulator: the clauses the service uses, ordering, paging, errors.

The oracle is the REST representation itself: every expected result set is computed in Python
from the issues' fields as `GET /search` returns them, so the JQL evaluator is checked against
an independent path through the simulator.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.simulators.jira_support import JiraApi, start_jira


@pytest.fixture(scope="module", params=["cloud", "datacenter"])
def sim(request):
    process = start_jira(request.param)
    yield process
    process.stop()


@pytest.fixture
def api(sim) -> JiraApi:
    """A client of the module's simulator, reset to its seeded issues for each test."""
    sim.admin("POST", "/reset")
    return JiraApi(sim)


@pytest.fixture
def everything(api) -> list[dict]:
    """All seeded issues with all navigable fields."""
    result = api.search("project = SD", maxResults=1000)
    assert result["total"] == len(result["issues"]) > 20
    return result["issues"]


def moment(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def person_ref(api: JiraApi, user: dict) -> str:
    return user["accountId"] if "accountId" in user else user["name"]


def keys(issues: list[dict]) -> set[str]:
    return {i["key"] for i in issues}


def test_paging_visits_every_issue_once_in_updated_order(api, everything):
    seen, start = [], 0
    while True:
        page = api.search("project = SD ORDER BY updated ASC", startAt=start, maxResults=7, fields="updated")
        assert page["total"] == len(everything) and page["maxResults"] == 7
        seen += page["issues"]
        start += len(page["issues"])
        if not page["issues"] or start >= page["total"]:
            break
    assert [i["key"] for i in seen] == sorted(keys(everything), key=lambda k: moment(
        next(i["fields"]["updated"] for i in seen if i["key"] == k)))
    assert len(seen) == len(keys(seen)) == len(everything)
    stamps = [moment(i["fields"]["updated"]) for i in seen]
    assert stamps == sorted(stamps)


def test_updated_since_an_absolute_minute(api, everything):
    stamps = sorted(moment(i["fields"]["updated"]) for i in everything)
    threshold = stamps[len(stamps) // 2].astimezone(timezone.utc).replace(second=0, microsecond=0)
    found = api.search(f'updated >= "{threshold:%Y/%m/%d %H:%M}"', maxResults=1000)["issues"]
    assert keys(found) == {i["key"] for i in everything if moment(i["fields"]["updated"]) >= threshold}
    assert 0 < len(found) < len(everything)


def test_updated_within_the_last_minutes_finds_what_just_changed(api, everything):
    old = min(everything, key=lambda i: moment(i["fields"]["updated"]))
    touched = max(everything, key=lambda i: moment(i["fields"]["created"]))
    assert api.put(f"/issue/{touched['id']}", json={"fields": {"customfield_10204": "model-7"}}).status_code == 204
    found = keys(api.search("updated >= -5m ORDER BY updated DESC", maxResults=1000)["issues"])
    assert touched["key"] in found and old["key"] not in found
    assert api.search("updated >= -5m ORDER BY updated DESC", maxResults=1)["issues"][0]["key"] == touched["key"]


def clause_cases(api: JiraApi, issues: list[dict]) -> list[tuple[str, callable]]:
    """(jql, predicate over a REST issue) pairs built from values that occur in the data."""
    with_assignee = next(i for i in issues if i["fields"]["assignee"])
    reporter = with_assignee["fields"]["reporter"]
    assignee = with_assignee["fields"]["assignee"]
    group = with_assignee["fields"]["customfield_10100"]["value"]
    component = with_assignee["fields"]["components"][0]["name"]
    status = with_assignee["fields"]["status"]["name"]
    reporter_ref, assignee_ref = person_ref(api, reporter), person_ref(api, assignee)

    def who(issue, field):
        value = issue["fields"][field]
        return value and person_ref(api, value)

    def group_of(issue):
        return (issue["fields"]["customfield_10100"] or {}).get("value")

    return [
        (f'reporter = "{reporter_ref}"', lambda i: who(i, "reporter") == reporter_ref),
        (f"assignee = {assignee_ref}", lambda i: who(i, "assignee") == assignee_ref),
        ("assignee IS EMPTY", lambda i: i["fields"]["assignee"] is None),
        (f'status = "{status}"', lambda i: i["fields"]["status"]["name"] == status),
        ("statusCategory = done", lambda i: i["fields"]["status"]["statusCategory"]["key"] == "done"),
        ("statusCategory != Done", lambda i: i["fields"]["status"]["statusCategory"]["key"] != "done"),
        (f'component = "{component}"', lambda i: component in [c["name"] for c in i["fields"]["components"]]),
        (f'"Assignment Group" = "{group}"', lambda i: group_of(i) == group),
        (f'cf[10100] = "{group}"', lambda i: group_of(i) == group),
        (f'cf[10100] IN ("{group}", "Network")', lambda i: group_of(i) in (group, "Network")),
        (f'cf[10100] NOT IN ("{group}")', lambda i: group_of(i) not in (None, group)),
        ("issuetype = Change OR priority = Highest",
         lambda i: i["fields"]["issuetype"]["name"] == "Change" or i["fields"]["priority"]["name"] == "Highest"),
        (f'project = SD AND statusCategory = indeterminate AND "Assignment Group" = "{group}"',
         lambda i: i["fields"]["status"]["statusCategory"]["key"] == "indeterminate" and group_of(i) == group),
        (f'NOT (component = "{component}") AND resolution = Unresolved',
         lambda i: component not in [c["name"] for c in i["fields"]["components"]] and not i["fields"]["resolution"]),
    ]


def test_clauses_select_exactly_the_issues_their_fields_say(api, everything):
    for jql, predicate in clause_cases(api, everything):
        found = api.search(jql, maxResults=1000)["issues"]
        expected = {i["key"] for i in everything if predicate(i)}
        assert keys(found) == expected, jql
        assert 0 < len(found) < len(everything), f"{jql} should split the seeded issues"


def test_key_and_id_equality(api, everything):
    chosen = everything[3]
    assert keys(api.search(f"key = {chosen['key']}")["issues"]) == {chosen["key"]}
    assert keys(api.search(f"id = {chosen['id']}")["issues"]) == {chosen["key"]}
    pair = everything[4]
    assert keys(api.search(f"key IN ({chosen['key']}, {pair['key']})")["issues"]) == {chosen["key"], pair["key"]}


def test_a_key_that_names_no_issue(api, sim):
    response = api.get("/search", params={"jql": "key = SD-99999"})
    if api.myself().get("accountId"):
        assert response.status_code == 200 and response.json()["total"] == 0
        assert response.json()["warningMessages"] == ["An issue with key 'SD-99999' does not exist for field 'key'."]
    else:
        assert response.status_code == 400
        assert response.json()["errorMessages"] == ["An issue with key 'SD-99999' does not exist for field 'key'."]


def test_order_by_updated_descending(api):
    found = api.search("statusCategory != done ORDER BY updated DESC", maxResults=1000)["issues"]
    stamps = [moment(i["fields"]["updated"]) for i in found]
    assert stamps == sorted(stamps, reverse=True) and len(stamps) > 1


@pytest.mark.parametrize("jql,message", [
    ("nonsense = 1", "Field 'nonsense' does not exist or you do not have permission to view it."),
    ('updated >= "last tuesday"', "Date value 'last tuesday' for field 'updated' is invalid."),
    ("status = NoSuchStatus", "The value 'NoSuchStatus' does not exist for the field 'status'."),
    ("summary = printer", "The operator '=' is not supported by the 'summary' field."),
    ('project = "SD', "The quoted string"),
    ("project = SD AND", "Expecting a field name"),
])
def test_bad_queries_answer_400_with_jiras_message(api, jql, message):
    response = api.get("/search", params={"jql": jql})
    assert response.status_code == 400
    assert message in response.json()["errorMessages"][0]


def test_post_search_takes_a_json_body_and_field_list(api, everything):
    response = api.post("/search", json={"jql": "project = SD ORDER BY created ASC", "startAt": 2,
                                         "maxResults": 3, "fields": ["summary", "customfield_10100"]})
    assert response.status_code == 200
    page = response.json()
    assert page["startAt"] == 2 and len(page["issues"]) == 3
    assert all(set(i["fields"]) == {"summary", "customfield_10100"} for i in page["issues"])


def test_enhanced_search_pages_with_tokens_on_cloud(api, sim, everything):
    response = api.get("/search/jql", params={"jql": "project = SD ORDER BY key ASC", "maxResults": 9,
                                              "fields": "summary"})
    if not api.myself().get("accountId"):
        assert response.status_code == 404  # Data Center has only the classic search
        return
    seen = []
    while True:
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [i["key"] for i in page["issues"]]
        if page["isLast"]:
            break
        response = api.get("/search/jql", params={"jql": "project = SD ORDER BY key ASC", "maxResults": 9,
                                                  "fields": "summary", "nextPageToken": page["nextPageToken"]})
    assert len(seen) == len(set(seen)) == len(everything)


def test_recently_resolved_by_relative_and_function_dates(api, everything):
    now = datetime.now(timezone.utc)
    week_ago = now - timedelta(days=7)
    found = keys(api.search("resolved >= -1w", maxResults=1000)["issues"])
    expected = {i["key"] for i in everything
                if i["fields"]["resolutiondate"] and moment(i["fields"]["resolutiondate"]) >= week_ago + timedelta(minutes=1)}
    maybe = {i["key"] for i in everything
             if i["fields"]["resolutiondate"] and abs(moment(i["fields"]["resolutiondate"]) - week_ago) <= timedelta(minutes=1)}
    assert expected <= found <= expected | maybe
    assert keys(api.search("created <= now()", maxResults=1000)["issues"]) >= keys(everything)
