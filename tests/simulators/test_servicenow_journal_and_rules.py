"""Journal fields and the business rules a stock instance runs, as an API client sees them."""
from __future__ import annotations

import requests

from tests.simulators.conftest import SERVICENOW_USERS

INTEGRATION = ("xla.integration", SERVICENOW_USERS["xla.integration"])
ADMIN = ("admin", SERVICENOW_USERS["admin"])


def call(sim, method, path, auth=INTEGRATION, **kwargs):
    response = requests.request(method, f"{sim.url}/api/now/table/{path}", auth=auth, timeout=10, **kwargs)
    assert response.status_code in (200, 201), response.text
    return response.json()["result"]


def new_incident(sim, **values):
    return call(sim, "POST", "incident", json={"short_description": "Laptop will not boot", **values})


def group_ids(sim):
    return [g["sys_id"] for g in call(sim, "GET", "sys_user_group", params={"sysparm_fields": "sys_id"})]


class TestJournalFields:
    def test_work_note_becomes_a_journal_row_and_reads_back_empty(self, servicenow):
        incident = new_incident(servicenow)
        updated = call(servicenow, "PATCH", f"incident/{incident['sys_id']}",
                       json={"work_notes": "xla: score 42 (marker xla:1)"})
        assert updated["work_notes"] == ""
        assert updated["sys_mod_count"] == "1"
        entries = call(servicenow, "GET", "sys_journal_field", params={
            "sysparm_query": f"element_id={incident['sys_id']}^element=work_notes"})
        assert len(entries) == 1
        entry = entries[0]
        assert entry["value"] == "xla: score 42 (marker xla:1)"
        assert entry["name"] == "incident" and entry["sys_created_by"] == "xla.integration"
        assert entry["sys_created_on"] == updated["sys_updated_on"]

    def test_comments_and_work_notes_are_kept_apart(self, servicenow):
        incident = new_incident(servicenow)
        call(servicenow, "PATCH", f"incident/{incident['sys_id']}",
             json={"comments": "How did we do? Tell us.", "work_notes": "internal only"})
        public = call(servicenow, "GET", "sys_journal_field", params={
            "sysparm_query": f"element_id={incident['sys_id']}^element=comments"})
        assert [e["value"] for e in public] == ["How did we do? Tell us."]

    def test_each_append_is_a_new_row_even_with_the_same_text(self, servicenow):
        incident = new_incident(servicenow)
        for _ in range(2):
            call(servicenow, "PATCH", f"incident/{incident['sys_id']}", json={"work_notes": "same text"})
        entries = call(servicenow, "GET", "sys_journal_field", params={
            "sysparm_query": f"element_id={incident['sys_id']}^element=work_notes"})
        assert len(entries) == 2

    def test_display_value_shows_the_history_newest_first(self, servicenow):
        incident = new_incident(servicenow)
        call(servicenow, "PATCH", f"incident/{incident['sys_id']}", json={"comments": "first"})
        call(servicenow, "PATCH", f"incident/{incident['sys_id']}", json={"comments": "second"})
        shown = call(servicenow, "GET", f"incident/{incident['sys_id']}",
                     params={"sysparm_display_value": "true", "sysparm_fields": "comments"})
        assert shown["comments"].index("second") < shown["comments"].index("first")
        assert "(Additional comments)" in shown["comments"]

    def test_seeded_tickets_carry_their_history(self, servicenow):
        entries = call(servicenow, "GET", "sys_journal_field", params={
            "sysparm_query": "name=incident^element=comments", "sysparm_limit": 5})
        assert entries and all(e["value"] for e in entries)


class TestBusinessRules:
    def test_reassignment_count_grows_when_the_group_changes(self, servicenow):
        first, second, third = group_ids(servicenow)[:3]
        incident = new_incident(servicenow, assignment_group=first)
        assert incident["reassignment_count"] == "0"
        path = f"incident/{incident['sys_id']}"
        assert call(servicenow, "PATCH", path, json={"assignment_group": second})["reassignment_count"] == "1"
        assert call(servicenow, "PATCH", path, json={"assignment_group": third})["reassignment_count"] == "2"
        assert call(servicenow, "PATCH", path, json={"urgency": "1"})["reassignment_count"] == "2"

    def test_reopen_counts_and_clears_resolution(self, servicenow):
        incident = new_incident(servicenow)
        path = f"incident/{incident['sys_id']}"
        resolved = call(servicenow, "PATCH", path, json={
            "state": "6", "close_code": "Solved (Permanently)", "close_notes": "rebooted"})
        assert resolved["resolved_at"] != "" and resolved["resolved_by"] != ""
        assert resolved["incident_state"] == "6"
        reopened = call(servicenow, "PATCH", path, json={"state": "2", "comments": "still broken"})
        assert reopened["reopen_count"] == "1"
        assert reopened["resolved_at"] == ""
        call(servicenow, "PATCH", path, json={"state": "6"})
        closed = call(servicenow, "PATCH", path, json={"state": "7"})
        assert closed["active"] == "false" and closed["closed_at"] != ""
        assert call(servicenow, "PATCH", path, json={"state": "2"})["reopen_count"] == "2"

    def test_priority_follows_impact_and_urgency(self, servicenow):
        incident = new_incident(servicenow, impact="3", urgency="3")
        assert incident["priority"] == "5"
        updated = call(servicenow, "PATCH", f"incident/{incident['sys_id']}", json={"impact": "1", "urgency": "2"})
        assert updated["priority"] == "2"

    def test_new_incident_gets_response_and_resolution_slas(self, servicenow):
        incident = new_incident(servicenow)
        slas = call(servicenow, "GET", "task_sla", params={
            "sysparm_query": f"task={incident['sys_id']}", "sysparm_display_value": "all"})
        names = sorted(s["sla"]["display_value"] for s in slas)
        assert len(slas) == 2 and "response" in names[1] and "resolution" in names[0]
        assert all(s["stage"]["value"] == "in_progress" and s["has_breached"]["value"] == "false" for s in slas)
        call(servicenow, "PATCH", f"incident/{incident['sys_id']}", json={"state": "3", "hold_reason": "1"})
        resolution = call(servicenow, "GET", "task_sla", params={
            "sysparm_query": f"task={incident['sys_id']}^sla.target=resolution"})
        assert [s["stage"] for s in resolution] == ["paused"]

    def test_seeded_world_has_breached_slas_and_made_sla_agrees(self, servicenow):
        breached = call(servicenow, "GET", "task_sla", params={
            "sysparm_query": "has_breached=true^task.sys_class_name=incident",
            "sysparm_fields": "task,percentage", "sysparm_exclude_reference_link": "true"})
        assert breached
        assert all(float(row["percentage"]) > 100 for row in breached)
        for row in breached[:5]:
            incident = call(servicenow, "GET", f"incident/{row['task']}", params={"sysparm_fields": "made_sla"})
            assert incident["made_sla"] == "false"

    def test_changes_follow_their_state_model(self, servicenow):
        changes = call(servicenow, "GET", "change_request", params={"sysparm_fields": "state,close_code,active"})
        states = {c["state"] for c in changes}
        assert states <= {"-5", "-4", "-3", "-2", "-1", "0", "3", "4"}
        closed = [c for c in changes if c["state"] == "3"]
        assert closed and all(c["close_code"] in ("successful", "unsuccessful") and c["active"] == "false"
                              for c in closed)

    def test_a_major_incident_is_open_with_children_on_its_ci(self, servicenow):
        majors = call(servicenow, "GET", "incident", params={
            "sysparm_query": "major_incident_state=accepted^active=true", "sysparm_exclude_reference_link": "true"})
        assert majors
        major = majors[0]
        children = call(servicenow, "GET", "incident", params={
            "sysparm_query": f"parent_incident={major['sys_id']}", "sysparm_exclude_reference_link": "true"})
        assert children and all(child["cmdb_ci"] == major["cmdb_ci"] for child in children)
