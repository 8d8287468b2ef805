"""The simulator's Table API answers as ServiceNow's documentation and official samples show."""
from __future__ import annotations

import json

import pytest
import requests

from tests.simulators.conftest import SERVICENOW_READ_ONLY_USER, SERVICENOW_USERS

INTEGRATION = ("xla.integration", SERVICENOW_USERS["xla.integration"])
ADMIN = ("admin", SERVICENOW_USERS["admin"])
FIXTURES = {
    "list": "ServiceNow__ServiceNowDocs__c_TableAPI__sample_GET_list_0.json",
    "single": "ServiceNow__ServiceNowDocs__c_TableAPI__sample_GET_single_0.json",
    "patch": "ServiceNow__ServiceNowDocs__c_TableAPI__sample_PATCH_single_0.json",
    "post": "ServiceNow__ServiceNowDocs__c_TableAPI__sample_POST_0.json",
    "put": "ServiceNow__ServiceNowDocs__c_TableAPI__sample_PUT_single_0.json",
}


def api(sim, method, path, auth=INTEGRATION, **kwargs):
    return requests.request(method, f"{sim.url}/api/now/table/{path}", auth=auth, timeout=10, **kwargs)


def one_incident(sim, query="caller_idISNOTEMPTY^assigned_toISNOTEMPTY^cmdb_ciISNOTEMPTY^active=true"):
    response = api(sim, "GET", "incident", params={"sysparm_query": query, "sysparm_limit": 1})
    assert response.status_code == 200, response.text
    return response.json()["result"][0]


def official_sample(shared_dir, name):
    path = shared_dir / "fixtures" / "servicenow" / FIXTURES[name]
    if not path.exists():
        pytest.skip(f"official ServiceNow sample {FIXTURES[name]} is not in ../shared/fixtures")
    return json.loads(path.read_text())


def assert_same_shape(sample: dict, ours: dict) -> None:
    """Every key of the sample is ours too, strings stay strings, references keep their shape."""
    missing = sorted(set(sample) - set(ours))
    assert not missing, f"keys of the official sample missing from the simulator: {missing}"
    for key, value in sample.items():
        mine = ours[key]
        if isinstance(value, dict):
            # an empty reference is "" on a real instance too; a set one has the sample's keys
            assert mine == "" or (isinstance(mine, dict) and set(mine) == set(value)), (key, mine)
        elif value == "" and isinstance(mine, dict):
            # the sample left this reference empty; ours is set, so it must look like one
            assert set(mine) == {"link", "value"}, (key, mine)
        else:
            assert isinstance(mine, str), (key, mine)


class TestShapesMatchOfficialSamples:
    def test_get_single(self, servicenow, shared_dir):
        sample = official_sample(shared_dir, "single")["result"]
        incident = one_incident(servicenow)
        mine = api(servicenow, "GET", f"incident/{incident['sys_id']}").json()["result"]
        assert_same_shape(sample, mine)
        for reference in ("caller_id", "assigned_to", "assignment_group", "cmdb_ci", "opened_by"):
            assert set(mine[reference]) == {"link", "value"}, reference
            assert mine[reference]["link"].endswith("/" + mine[reference]["value"])

    def test_get_list(self, servicenow, shared_dir):
        sample = official_sample(shared_dir, "list")
        assert set(sample) == {"result"} and isinstance(sample["result"], list)
        mine = api(servicenow, "GET", "incident", params={"sysparm_limit": 3}).json()
        assert set(mine) == {"result"} and len(mine["result"]) == 3
        for record in mine["result"]:
            assert_same_shape(sample["result"][0], record)

    @pytest.mark.parametrize("sample_name,method", [("patch", "PATCH"), ("put", "PUT")])
    def test_update(self, servicenow, shared_dir, sample_name, method):
        sample = official_sample(shared_dir, sample_name)["result"]
        incident = one_incident(servicenow)
        response = api(servicenow, method, f"incident/{incident['sys_id']}", json={"urgency": "1"})
        assert response.status_code == 200
        assert_same_shape(sample, response.json()["result"])

    def test_post(self, servicenow, shared_dir):
        sample = official_sample(shared_dir, "post")["result"]
        response = api(servicenow, "POST", "incident",
                       json={"short_description": "Unable to connect to office wifi", "urgency": "2"})
        assert response.status_code == 201
        assert_same_shape(sample, response.json()["result"])


class TestRecordLifecycle:
    def test_post_creates_numbered_record_owned_by_the_caller(self, servicenow):
        response = api(servicenow, "POST", "incident",
                       json={"short_description": "Printer on fire", "impact": 1, "urgency": 1})
        assert response.status_code == 201
        created = response.json()["result"]
        assert created["number"].startswith("INC") and len(created["number"]) == 10
        assert created["sys_mod_count"] == "0"
        assert created["priority"] == "1"  # impact 1 x urgency 1, the default matrix
        assert created["sys_created_by"] == "xla.integration"
        assert response.headers["Location"].endswith(f"/api/now/table/incident/{created['sys_id']}")
        again = api(servicenow, "GET", f"incident/{created['sys_id']}").json()["result"]
        assert again["short_description"] == "Printer on fire"

    def test_patch_counts_the_update_and_names_the_user(self, servicenow):
        incident = one_incident(servicenow)
        before = int(incident["sys_mod_count"])
        updated = api(servicenow, "PATCH", f"incident/{incident['sys_id']}",
                      json={"u_xla_score": 72, "u_xla_band": "average"}).json()["result"]
        assert updated["u_xla_score"] == "72" and updated["u_xla_band"] == "average"
        assert int(updated["sys_mod_count"]) == before + 1
        assert updated["sys_updated_by"] == "xla.integration"
        assert updated["sys_updated_on"] >= incident["sys_updated_on"]

    def test_patch_with_values_already_held_changes_nothing(self, servicenow):
        incident = one_incident(servicenow)
        again = api(servicenow, "PATCH", f"incident/{incident['sys_id']}",
                    json={"urgency": incident["urgency"]}).json()["result"]
        assert again["sys_mod_count"] == incident["sys_mod_count"]
        assert again["sys_updated_by"] == incident["sys_updated_by"]

    def test_put_updates_only_the_fields_given(self, servicenow):
        incident = one_incident(servicenow)
        updated = api(servicenow, "PUT", f"incident/{incident['sys_id']}",
                      json={"u_xla_risk": "high"}).json()["result"]
        assert updated["u_xla_risk"] == "high"
        assert updated["short_description"] == incident["short_description"]

    def test_delete_then_404(self, servicenow):
        created = api(servicenow, "POST", "incident", json={"short_description": "temp"}).json()["result"]
        response = api(servicenow, "DELETE", f"incident/{created['sys_id']}")
        assert response.status_code == 204 and response.content == b""
        gone = api(servicenow, "GET", f"incident/{created['sys_id']}")
        assert gone.status_code == 404
        assert gone.json() == {"error": {"message": "No Record found",
                                         "detail": "Record doesn't exist or ACL restricts the record retrieval"},
                               "status": "failure"}

    def test_values_are_coerced_and_truncated_like_the_dictionary_says(self, servicenow):
        incident = one_incident(servicenow)
        updated = api(servicenow, "PATCH", f"incident/{incident['sys_id']}", json={
            "u_xla_survey_sentiment": -0.456, "u_xla_followup": True, "u_xla_lost_hours": 2.5,
            "u_xla_model_version": "m" * 60, "u_xla_survey_comment": "x" * 600,
        }).json()["result"]
        assert updated["u_xla_survey_sentiment"] == "-0.46"
        assert updated["u_xla_followup"] == "true"
        assert updated["u_xla_lost_hours"] == "2.50"
        assert updated["u_xla_model_version"] == "m" * 40
        assert len(updated["u_xla_survey_comment"]) == 500

    def test_read_only_and_unknown_fields_are_ignored_silently(self, servicenow):
        incident = one_incident(servicenow)
        response = api(servicenow, "PATCH", f"incident/{incident['sys_id']}", json={
            "number": "INC9999999", "u_xla_legacy_score": 5, "no_such_field": "x", "u_xla_score": 10})
        assert response.status_code == 200
        record = response.json()["result"]
        assert record["number"] == incident["number"]
        assert record["u_xla_legacy_score"] == ""
        assert "no_such_field" not in record
        assert record["u_xla_score"] == "10"

    def test_reset_restores_the_seeded_records(self, servicenow):
        incident = one_incident(servicenow)
        api(servicenow, "PATCH", f"incident/{incident['sys_id']}", json={"u_xla_score": 3, "work_notes": "n"})
        created = api(servicenow, "POST", "incident", json={"short_description": "new"}).json()["result"]
        servicenow.admin("POST", "/reset")
        again = api(servicenow, "GET", f"incident/{incident['sys_id']}").json()["result"]
        assert again["u_xla_score"] == "" and again["sys_mod_count"] == incident["sys_mod_count"]
        assert api(servicenow, "GET", f"incident/{created['sys_id']}").status_code == 404
        recreated = api(servicenow, "POST", "incident", json={"short_description": "new"}).json()["result"]
        assert recreated["number"] == created["number"]

    def test_v2_path_is_the_same_api(self, servicenow):
        incident = one_incident(servicenow)
        response = requests.get(f"{servicenow.url}/api/now/v2/table/incident/{incident['sys_id']}",
                                auth=INTEGRATION, timeout=10)
        assert response.json()["result"]["number"] == incident["number"]


class TestErrors:
    @pytest.mark.parametrize("auth", [None, ("xla.integration", "wrong"), ("nobody", "x")])
    def test_bad_credentials_get_401_with_failure_envelope(self, servicenow, auth):
        response = requests.get(f"{servicenow.url}/api/now/table/incident", auth=auth, timeout=10)
        assert response.status_code == 401
        assert response.json()["status"] == "failure"
        assert response.json()["error"]["message"] == "User Not Authenticated"
        assert response.headers["WWW-Authenticate"].startswith("Basic")

    def test_read_only_user_reads_but_cannot_write(self, servicenow):
        auditor = (SERVICENOW_READ_ONLY_USER, SERVICENOW_USERS[SERVICENOW_READ_ONLY_USER])
        incident = one_incident(servicenow)
        assert api(servicenow, "GET", f"incident/{incident['sys_id']}", auth=auditor).status_code == 200
        response = api(servicenow, "PATCH", f"incident/{incident['sys_id']}", auth=auditor,
                       json={"u_xla_score": 1})
        assert response.status_code == 403
        assert response.json()["error"] == {
            "message": "Operation Failed", "detail": "ACL Exception Update Failed due to security constraints"}
        assert api(servicenow, "GET", f"incident/{incident['sys_id']}").json()["result"]["u_xla_score"] == ""

    def test_system_tables_refuse_writes_from_integration_user(self, servicenow):
        response = api(servicenow, "POST", "sys_dictionary", json={"name": "incident", "element": "u_hack"})
        assert response.status_code == 403

    def test_unknown_table_is_400(self, servicenow):
        response = api(servicenow, "GET", "no_such_table")
        assert response.status_code == 400
        assert response.json() == {"error": {"message": "Invalid table no_such_table", "detail": None},
                                   "status": "failure"}

    def test_body_that_is_not_json_is_400(self, servicenow):
        response = api(servicenow, "POST", "incident", data=b"{not json",
                       headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert response.json()["status"] == "failure"

    def test_unknown_sys_id_on_patch_is_404(self, servicenow):
        response = api(servicenow, "PATCH", "incident/0123456789abcdef0123456789abcdef", json={"urgency": 1})
        assert response.status_code == 404


class TestCatalogue:
    def test_xla_columns_are_described_on_every_ticket_table(self, servicenow):
        response = api(servicenow, "GET", "sys_dictionary", params={
            "sysparm_query": "elementSTARTSWITHu_xla_^nameINincident,change_request,sc_req_item",
            "sysparm_fields": "name,element,internal_type,max_length,read_only"})
        rows = response.json()["result"]
        by_table: dict[str, dict] = {}
        for row in rows:
            by_table.setdefault(row["name"], {})[row["element"]] = row
        assert set(by_table) == {"incident", "change_request", "sc_req_item"}
        for table, columns in by_table.items():
            assert {"u_xla_score", "u_xla_band", "u_xla_reasons", "u_xla_risk", "u_xla_model_version",
                    "u_xla_survey_rating", "u_xla_survey_sentiment", "u_xla_survey_comment",
                    "u_xla_lost_hours", "u_xla_followup"} <= set(columns), table
            assert columns["u_xla_score"]["internal_type"] == "integer"
            assert columns["u_xla_reasons"]["max_length"] == "1000"
            assert columns["u_xla_survey_comment"]["max_length"] == "500"
            assert columns["u_xla_legacy_score"]["read_only"] == "true"
            assert columns["u_xla_score"]["read_only"] == "false"

    def test_band_choices_are_listed(self, servicenow):
        rows = api(servicenow, "GET", "sys_choice", params={
            "sysparm_query": "name=incident^element=u_xla_band^ORDERBYsequence"}).json()["result"]
        assert [row["value"] for row in rows] == ["good", "average", "poor"]

    def test_every_served_table_answers_a_list(self, servicenow):
        for table in ("incident", "change_request", "sc_req_item", "sys_user", "sys_user_group",
                      "cmdb_ci", "task_sla", "sys_dictionary", "sys_journal_field", "sys_choice"):
            response = api(servicenow, "GET", table, params={"sysparm_limit": 1})
            assert response.status_code == 200, table
            assert int(response.headers["X-Total-Count"]) >= 1, table

    def test_integration_user_exists_as_a_sys_user(self, servicenow):
        rows = api(servicenow, "GET", "sys_user", params={"sysparm_query": "user_name=xla.integration"}).json()
        assert len(rows["result"]) == 1
        assert rows["result"][0]["web_service_access_only"] == "true"
