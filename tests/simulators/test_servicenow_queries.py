"""Encoded queries, field selection, display values and paging, seen from a Table API client."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
import requests

from tests.simulators.conftest import SERVICENOW_USERS

INTEGRATION = ("xla.integration", SERVICENOW_USERS["xla.integration"])


def table(sim, name, **params):
    response = requests.get(f"{sim.url}/api/now/table/{name}", params=params, auth=INTEGRATION, timeout=10)
    assert response.status_code == 200, response.text
    return response


def rows(sim, name, query, fields="number,state,priority,reassignment_count,opened_at,short_description,caller_id"):
    return table(sim, name, sysparm_query=query, sysparm_fields=fields).json()["result"]


@pytest.fixture
def incidents(servicenow):
    """Every seeded incident's raw values, to check query results against."""
    return table(servicenow, "incident", sysparm_exclude_reference_link="true").json()["result"]


def numbers(records):
    return sorted(record["number"] for record in records)


class TestOperators:
    @pytest.mark.parametrize("query,keep", [
        ("state=2", lambda r: r["state"] == "2"),
        ("state!=2", lambda r: r["state"] != "2"),
        ("priority<=3", lambda r: int(r["priority"]) <= 3),
        ("priority>3", lambda r: int(r["priority"]) > 3),
        ("priority<3", lambda r: int(r["priority"]) < 3),
        ("reassignment_count>=2", lambda r: int(r["reassignment_count"]) >= 2),
        ("stateIN6,7", lambda r: r["state"] in ("6", "7")),
        ("stateNOTIN6,7", lambda r: r["state"] not in ("6", "7")),
        ("short_descriptionLIKEvpn", lambda r: "vpn" in r["short_description"].lower()),
        ("short_descriptionSTARTSWITHcannot", lambda r: r["short_description"].lower().startswith("cannot")),
        ("assigned_toISEMPTY", lambda r: r["assigned_to"] == ""),
        ("assigned_toISNOTEMPTY", lambda r: r["assigned_to"] != ""),
        ("state=2^priority<=3", lambda r: r["state"] == "2" and int(r["priority"]) <= 3),
        ("state=1^ORstate=3", lambda r: r["state"] in ("1", "3")),
        ("state=7^NQstate=1", lambda r: r["state"] in ("7", "1")),
    ])
    def test_operator_selects_the_right_records(self, servicenow, incidents, query, keep):
        expected = numbers(r for r in incidents if keep(r))
        assert expected, f"the seeded world should give {query!r} something to find"
        assert numbers(rows(servicenow, "incident", query)) == expected

    def test_dates_compare_as_servicenow_strings(self, servicenow, incidents):
        middle = sorted(r["opened_at"] for r in incidents)[len(incidents) // 2]
        date, time_of_day = middle.split(" ")
        after = rows(servicenow, "incident", f"opened_at>={middle}")
        generated = rows(servicenow, "incident",
                         f"opened_at>=javascript:gs.dateGenerate('{date}','{time_of_day}')")
        assert numbers(after) == numbers(generated) == numbers(r for r in incidents if r["opened_at"] >= middle)
        assert 0 < len(after) < len(incidents)

    def test_dot_walk_through_a_reference(self, servicenow, incidents):
        vip_callers = {u["sys_id"] for u in table(servicenow, "sys_user", sysparm_query="vip=true").json()["result"]}
        expected = numbers(r for r in incidents if r["caller_id"] in vip_callers)
        assert expected
        assert numbers(rows(servicenow, "incident", "caller_id.vip=true")) == expected

    def test_unknown_field_matches_nothing(self, servicenow):
        assert rows(servicenow, "incident", "no_such_field=1") == []

    def test_orderby_and_orderbydesc(self, servicenow, incidents):
        ascending = rows(servicenow, "incident", "ORDERBYpriority^ORDERBYDESCopened_at")
        keys = [(int(r["priority"]), r["opened_at"]) for r in ascending]
        assert keys == sorted(keys, key=lambda k: (k[0], [-ord(c) for c in k[1]]))
        assert numbers(ascending) == numbers(incidents)
        descending = [r["opened_at"] for r in rows(servicenow, "incident", "ORDERBYDESCopened_at")]
        assert descending == sorted(descending, reverse=True)

    def test_journal_rows_are_queryable(self, servicenow, incidents):
        commented = table(servicenow, "sys_journal_field", sysparm_query="name=incident^element=comments",
                          sysparm_fields="element_id").json()["result"]
        target = commented[0]["element_id"]
        entries = table(servicenow, "sys_journal_field",
                        sysparm_query=f"element_id={target}^element=comments^ORDERBYsys_created_on").json()["result"]
        assert entries and all(e["element_id"] == target and e["element"] == "comments" for e in entries)
        assert [e["sys_created_on"] for e in entries] == sorted(e["sys_created_on"] for e in entries)


class TestFieldsAndDisplayValues:
    def test_sysparm_fields_limits_the_keys(self, servicenow):
        record = table(servicenow, "incident", sysparm_fields="number,state", sysparm_limit=1).json()["result"][0]
        assert set(record) == {"number", "state"}

    def test_dot_walked_field_is_returned_under_its_path(self, servicenow):
        record = table(servicenow, "incident", sysparm_query="caller_id.emailISNOTEMPTY",
                       sysparm_fields="number,caller_id.email", sysparm_limit=1).json()["result"][0]
        assert record["caller_id.email"].endswith("@example.com")

    def test_display_value_modes(self, servicenow):
        query = "assigned_toISNOTEMPTY^state=2"
        raw = table(servicenow, "incident", sysparm_query=query, sysparm_limit=1,
                    sysparm_fields="sys_id,state,assigned_to,priority").json()["result"][0]
        sys_id = raw["sys_id"]
        assert raw["state"] == "2"
        assert set(raw["assigned_to"]) == {"link", "value"}
        user = table(servicenow, f"sys_user/{raw['assigned_to']['value']}").json()["result"]

        shown = table(servicenow, "incident", sysparm_query=f"sys_id={sys_id}", sysparm_display_value="true",
                      sysparm_fields="state,assigned_to,priority").json()["result"][0]
        assert shown["state"] == "In Progress"
        assert shown["assigned_to"] == {"display_value": user["name"],
                                        "link": raw["assigned_to"]["link"]}
        assert shown["priority"].startswith(raw["priority"] + " - ")

        both = table(servicenow, "incident", sysparm_query=f"sys_id={sys_id}", sysparm_display_value="all",
                     sysparm_fields="state,assigned_to").json()["result"][0]
        assert both["state"] == {"display_value": "In Progress", "value": "2"}
        assert both["assigned_to"]["value"] == raw["assigned_to"]["value"]
        assert both["assigned_to"]["display_value"] == user["name"]

        flat = table(servicenow, "incident", sysparm_query=f"sys_id={sys_id}", sysparm_display_value="all",
                     sysparm_exclude_reference_link="true", sysparm_fields="assigned_to").json()["result"][0]
        assert flat["assigned_to"] == {"display_value": user["name"], "value": raw["assigned_to"]["value"]}

        plain = table(servicenow, "incident", sysparm_query=f"sys_id={sys_id}",
                      sysparm_exclude_reference_link="true", sysparm_fields="assigned_to").json()["result"][0]
        assert plain["assigned_to"] == raw["assigned_to"]["value"]

    def test_reference_link_leads_to_the_record(self, servicenow):
        record = table(servicenow, "incident", sysparm_query="caller_idISNOTEMPTY", sysparm_limit=1,
                       sysparm_fields="caller_id").json()["result"][0]
        caller = requests.get(record["caller_id"]["link"], auth=INTEGRATION, timeout=10).json()["result"]
        assert caller["sys_id"] == record["caller_id"]["value"]


class TestPaging:
    def test_link_and_total_count_walk_every_record_once(self, servicenow):
        total = int(table(servicenow, "sys_user", sysparm_limit=1).headers["X-Total-Count"])
        seen, url, pages = [], f"{servicenow.url}/api/now/table/sys_user?sysparm_limit=7&sysparm_query=ORDERBYuser_name", 0
        while url:
            response = requests.get(url, auth=INTEGRATION, timeout=10)
            assert response.headers["X-Total-Count"] == str(total)
            seen += [r["user_name"] for r in response.json()["result"]]
            url = response.links.get("next", {}).get("url")
            pages += 1
        assert len(seen) == total == len(set(seen)) and seen == sorted(seen)
        assert pages == -(-total // 7)

    def test_link_relations_as_servicenow_sends_them(self, servicenow):
        response = table(servicenow, "sys_user", sysparm_limit=5, sysparm_offset=10, sysparm_fields="user_name")
        total = int(response.headers["X-Total-Count"])
        offsets = {rel: int(parse_qs(urlparse(link["url"]).query)["sysparm_offset"][0])
                   for rel, link in response.links.items()}
        assert offsets["first"] == 0 and offsets["prev"] == 5 and offsets["next"] == 15
        assert offsets["last"] == ((total - 1) // 5) * 5
        assert parse_qs(urlparse(response.links["next"]["url"]).query)["sysparm_fields"] == ["user_name"]
        first_page = table(servicenow, "sys_user", sysparm_limit=5)
        assert "prev" not in first_page.links
        last_page = table(servicenow, "sys_user", sysparm_limit=5, sysparm_offset=offsets["last"])
        assert "next" not in last_page.links
