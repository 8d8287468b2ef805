"""End to end: ticket lifecycles in both simulators become scores, bands, reasons and notes on the
tickets, once, with no loop, through the real webhook endpoint, queue, connectors and simulators."""
from __future__ import annotations

import re

import pytest
import requests

from tests.stack import JIRA_ID, SN_ID, running_stack


def sn_get(stack, path, **params):
    sim = stack.sim(SN_ID)
    answer = requests.get(sim.url + path, params=params, auth=("admin", stack.secret["agent"]), timeout=10)
    answer.raise_for_status()
    return answer.json()["result"]


def jira_get(stack, path, **params):
    sim = stack.sim(JIRA_ID)
    answer = requests.get(sim.url + path, params=params, auth=("agent@example.com", stack.secret["agent"]), timeout=10)
    answer.raise_for_status()
    return answer.json()


def test_servicenow_tickets_carry_score_band_reasons_and_one_note_per_step(tmp_path, monkeypatch):
    with running_stack(tmp_path, monkeypatch, tools=("servicenow",)) as stack:
        steps = stack.advance(SN_ID, 12)
        stack.drain()
        touched = {step["sys_id"] for step in steps if step.get("table") == "incident"}
        records = sn_get(stack, "/api/now/table/incident", sysparm_query="u_xla_scoreISNOTEMPTY",
                         sysparm_fields="sys_id,number,u_xla_score,u_xla_band,u_xla_reasons,u_xla_model_version")
        scored = {r["sys_id"]: r for r in records}
        assert touched <= set(scored), "every incident that moved carries a score"
        for record in scored.values():
            assert 0 <= int(record["u_xla_score"]) <= 100
            assert record["u_xla_band"] in {"good", "average", "poor"}
            assert record["u_xla_model_version"].startswith("xi-")
        notes = sn_get(stack, "/api/now/table/sys_journal_field", sysparm_query="element=work_notes^sys_created_by=xla.integration")
        per_ticket_step = [(n["element_id"], n["value"].splitlines()[0]) for n in notes]
        assert notes, "context notes were written as work notes"
        assert len(per_ticket_step) == len(set(per_ticket_step)), "no note was written twice"
        comments_by_us = sn_get(stack, "/api/now/table/sys_journal_field",
                                sysparm_query="element=comments^sys_created_by=xla.integration^valueNOT LIKE/s/")
        assert comments_by_us == [], "context never goes into caller-visible comments"


def test_jira_issues_carry_score_fields_and_internal_notes(tmp_path, monkeypatch):
    with running_stack(tmp_path, monkeypatch, tools=("jira",)) as stack:
        steps = stack.advance(JIRA_ID, 10)
        stack.drain()
        fields = {f["name"]: f["id"] for f in jira_get(stack, "/rest/api/2/field")}
        score_field, band_field = fields["Experience Score"], fields["Experience Band"]
        moved = {step["issue_id"] for step in steps if step.get("issue_id")}
        for issue_id in moved:
            issue = jira_get(stack, f"/rest/api/2/issue/{issue_id}")
            assert 0 <= issue["fields"][score_field] <= 100
            assert issue["fields"][band_field]["value"] in {"Good", "Average", "Poor"}
            comments = jira_get(stack, f"/rest/api/2/issue/{issue_id}/comment", expand="properties")["comments"]
            ours = [c for c in comments if c["author"].get("emailAddress") == "xla-bridge@example.com"]
            notes = [c for c in ours if "xla-survey:" not in c["body"]]  # survey invitations are public by design
            for comment in notes:
                internal = [p for p in comment.get("properties", []) if p["key"] == "sd.public.comment"]
                assert internal and internal[0]["value"] == {"internal": True}, "context notes are internal"


def test_own_writes_fire_webhooks_that_cause_no_further_writes(tmp_path, monkeypatch):
    with running_stack(tmp_path, monkeypatch) as stack:
        stack.advance(SN_ID, 6)
        stack.advance(JIRA_ID, 6)
        stack.drain()
        writes_before = len(stack.jobs("write_back"))
        queued = {(job.connection_id, job.payload["event"]["delivery_id"]) for job in stack.jobs("process_event")}
        for sim_id in (SN_ID, JIRA_ID):
            own = [d for d in stack.sim(sim_id).deliveries() if _by_integration_user(sim_id, d["event"])]
            assert own, f"the {sim_id} simulator fired webhooks for the service's own writes"
            # The endpoint knows the integration user from the configuration: answered, never queued.
            assert {d["http_status"] for d in own} == {200}
            assert not {(sim_id, d["delivery_id"]) for d in own} & queued
            others = {(sim_id, d["delivery_id"]) for d in stack.sim(sim_id).deliveries() if d["http_status"] == 202}
            assert others and others <= queued, "the agents' changes were stored and queued"
        stack.drain()
        assert len(stack.jobs("write_back")) == writes_before, "no write was caused by our own writes"


def _by_integration_user(sim_id: str, payload: dict) -> bool:
    if sim_id == SN_ID:
        return payload.get("sys_updated_by") == "xla.integration"
    # Jira Cloud names the actor in `user`, or for a comment (our notes are comments) its author.
    actor = payload.get("user") or (payload.get("comment") or {}).get("author") or {}
    return actor.get("emailAddress") == "xla-bridge@example.com"


def test_redelivered_webhooks_change_nothing_on_the_tickets(tmp_path, monkeypatch):
    with running_stack(tmp_path, monkeypatch) as stack:
        stack.advance(SN_ID, 5)
        stack.advance(JIRA_ID, 5)
        stack.drain()
        jobs_before = len(stack.jobs())
        writes_seen = {sim_id: _write_calls(stack, sim_id) for sim_id in (SN_ID, JIRA_ID)}
        for sim_id in (SN_ID, JIRA_ID):
            for delivery in stack.sim(sim_id).deliveries():
                stack.sim(sim_id).admin("POST", f"/deliveries/{delivery['id']}/redeliver")
        stack.drain()
        assert len(stack.jobs()) == jobs_before, "a redelivery is recognised and not queued again"
        for sim_id in (SN_ID, JIRA_ID):
            assert _write_calls(stack, sim_id) == writes_seen[sim_id]


TICKET_READ = {
    SN_ID: re.compile(r"/api/now/table/(incident|change_request|sc_req_item)/[0-9a-f]{32}"),
    JIRA_ID: re.compile(r"/rest/api/2/issue/\d+"),
}
INTEGRATION_USER = {SN_ID: "xla.integration", JIRA_ID: "xla-bridge"}  # as the simulators' journals name them


@pytest.mark.parametrize("connection_id", [SN_ID, JIRA_ID])
def test_one_read_per_lifecycle_step_and_no_other_reads(tmp_path, monkeypatch, connection_id):
    tool = "servicenow" if connection_id == SN_ID else "jira"
    with running_stack(tmp_path, monkeypatch, tools=(tool,)) as stack:
        stack.runtime.identity(connection_id)  # who-am-I and the field catalogue are asked once per
        stack.runtime.mapping(connection_id)   # process, not per step: leave them out of the count
        stack.sim(connection_id).admin("DELETE", "/journal")
        stack.advance(connection_id, 8)
        stack.drain()
        calls = [e for e in stack.sim(connection_id).journal() if e.get("user") == INTEGRATION_USER[connection_id]]
        processed = [j for j in stack.jobs("process_event") if j.outcome in ("decided", "unchanged")]
        writes = [j for j in stack.jobs("write_back") if j.outcome == "written"]
        reads = [c for c in calls if c["method"] == "GET"]
        ticket_reads = [c for c in reads if TICKET_READ[connection_id].fullmatch(c["path"])]
        assert len(ticket_reads) >= len(processed), "each lifecycle step reads the ticket"
        # Beyond one read per step, only a survey comment's delivery checks once for its own marker.
        survey_sends = stack.jobs("send_survey")
        assert len(reads) <= len(processed) + len(survey_sends), [c["path"] for c in reads]
        field_writes = [c for c in calls if c["method"] in ("PUT", "PATCH") and "comments" not in (c["body"] or {})]
        assert len(field_writes) <= len(writes), "fields travel in one PUT or PATCH per write"


def _write_calls(stack, sim_id) -> int:
    return sum(1 for e in stack.sim(sim_id).journal() if e["method"] in ("PUT", "PATCH", "POST")
               and e.get("user") == INTEGRATION_USER[sim_id])
