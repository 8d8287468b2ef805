"""The ServiceNow connector against the ServiceNow simulator, over real HTTP.

Call counts come from the simulator's request journal: what the instance actually received.
"""
from __future__ import annotations

import pytest

from connectors.base import TicketSearch, TicketWrite
from connectors.errors import FieldNotEditable, InvalidRequest, NotFound

SCORE = {"u_xla_score": 72, "u_xla_band": "good"}


def open_incident(connector) -> str:
    return next(iter(connector.search_tickets(TicketSearch(kinds=("incident",), open_only=True, limit=1)))).ticket_key


def test_whoami_names_the_integration_user(servicenow):
    me = servicenow.connector().whoami()
    assert me.key == "xla.integration"
    assert any(len(alias) == 32 for alias in me.aliases)  # the sys_id, as webhooks may name it


def test_reading_a_ticket_is_one_get_with_display_values_and_the_callers_details(servicenow):
    connector = servicenow.connector()
    key = open_incident(connector)
    servicenow.clear_journal()
    ticket = connector.get_ticket(key, fields=("state", "priority", "u_xla_score"))
    calls = servicenow.journal()
    assert [(c["method"], c["path"]) for c in calls] == [("GET", "/api/now/table/incident/" + key.split(":")[1])]
    assert "sysparm_display_value=all" in calls[0]["query"]
    assert ticket.ticket_key == key and ticket.number.startswith("INC") and ticket.table == "incident"
    assert ticket.display["state"] and ticket.display["state"] != ticket.fields["state"]  # label and raw value
    caller = ticket.people["caller_id"]
    assert caller.key == ticket.fields["caller_id"] and "@" in caller.email and caller.language
    assert ticket.version == int(ticket.fields["sys_mod_count"])


def test_reading_every_column_reads_the_caller_from_sys_user(servicenow):
    connector = servicenow.connector()
    key = open_incident(connector)
    servicenow.clear_journal()
    ticket = connector.get_ticket(key)
    assert "u_xla_score" in ticket.fields and "short_description" in ticket.fields
    assert [c["path"].rsplit("/", 2)[-2] for c in servicenow.journal()] == ["incident", "sys_user"]
    assert ticket.people["caller_id"].email


def test_search_pages_through_link_headers_oldest_update_first(servicenow):
    connector = servicenow.connector()
    everything = list(connector.search_tickets(TicketSearch(kinds=("incident",), limit=1000)))
    connector.PAGE_SIZE = 7
    servicenow.clear_journal()
    paged = list(connector.search_tickets(TicketSearch(kinds=("incident",), limit=1000)))
    assert [t.ticket_key for t in paged] == [t.ticket_key for t in everything]
    updated = [t.fields["sys_updated_on"] for t in paged]
    assert updated == sorted(updated)
    pages = servicenow.requests("GET", "/api/now/table/incident")
    assert len(pages) == -(-len(paged) // 7)
    assert "sysparm_offset=7" in pages[1]["query"]


def test_search_combines_tables_and_honours_criteria_and_limit(servicenow):
    connector = servicenow.connector()
    some = list(connector.search_tickets(TicketSearch(limit=5)))
    assert len(some) == 5
    caller = connector.get_ticket(open_incident(connector), fields=("caller_id",)).fields["caller_id"]
    mine = list(connector.search_tickets(TicketSearch(kinds=("incident",), caller=caller, limit=100)))
    assert mine and all(t.fields["caller_id"] == caller for t in mine)
    open_ones = list(connector.search_tickets(TicketSearch(open_only=True, limit=100)))
    assert open_ones and all(t.fields["active"] == "true" for t in open_ones)
    tables = {t.table for t in connector.search_tickets(TicketSearch(limit=1000))}
    assert tables == {"incident", "sc_req_item", "change_request"}


def test_field_catalogue_shows_the_service_columns_their_choices_and_read_only_ones(servicenow):
    catalogue = {f.id: f for f in servicenow.connector().field_catalogue("incident")}
    assert catalogue["u_xla_band"].type == "select"
    assert set(catalogue["u_xla_band"].allowed_values) == {"good", "average", "poor"}
    assert catalogue["u_xla_score"].type == "number" and catalogue["u_xla_score"].writable
    assert catalogue["u_xla_legacy_score"].writable is False
    assert catalogue["short_description"].table == "task"  # inherited columns come along


def test_sla_state_comes_from_task_sla(servicenow):
    connector = servicenow.connector()
    states = connector.sla_state(open_incident(connector))
    assert states and all(s.stage in ("in_progress", "paused", "completed", "cancelled", "breached") for s in states)
    assert all(isinstance(s.has_breached, bool) for s in states)


def test_fields_and_work_note_go_in_one_patch_after_one_marker_check(servicenow):
    connector = servicenow.connector()
    key = open_incident(connector)
    servicenow.clear_journal()
    assert connector.write(key, TicketWrite(fields=SCORE, internal_note="Experience score 72 (good)",
                                            marker="xla:test:score:1"))
    calls = servicenow.journal()
    assert [(c["method"], c["path"].split("/")[4]) for c in calls] == [("GET", "sys_journal_field"),
                                                                       ("PATCH", "incident")]
    patch = calls[1]["body"]
    assert patch["u_xla_score"] == 72 and patch["work_notes"].endswith("[xla-bridge ref: xla:test:score:1]")
    assert "comments" not in patch
    ticket = connector.get_ticket(key, fields=("u_xla_score", "u_xla_band", "work_notes"))
    assert ticket.fields["u_xla_score"] == "72" and ticket.fields["u_xla_band"] == "good"
    assert "Experience score 72" in ticket.display["work_notes"]


def test_a_repeated_write_is_recognised_and_not_sent_again(servicenow):
    connector = servicenow.connector()
    key = open_incident(connector)
    change = TicketWrite(fields=SCORE, internal_note="Experience score 72", marker="xla:test:score:2")
    assert connector.write(key, change)
    servicenow.clear_journal()
    assert connector.write(key, change) is False
    assert [c["method"] for c in servicenow.journal()] == ["GET"]
    notes = connector.get_ticket(key, fields=("work_notes",)).display["work_notes"]
    assert notes.count("xla:test:score:2") == 1


def test_fields_alone_are_one_patch_without_a_read_and_safe_to_repeat(servicenow):
    connector = servicenow.connector()
    key = open_incident(connector)
    servicenow.clear_journal()
    servicenow.fault(status=503, count=1, method="PATCH")
    assert connector.write(key, TicketWrite(fields=SCORE, first_attempt=True))
    assert [(c["method"], c["status"]) for c in servicenow.journal()] == [("PATCH", 503), ("PATCH", 200)]
    assert servicenow.journal()[-1]["body"] == SCORE
    assert connector.get_ticket(key, fields=tuple(SCORE)).fields["u_xla_score"] == "72"


def test_a_retried_fields_write_reads_first_and_sets_no_value_twice(servicenow):
    connector = servicenow.connector()
    key = open_incident(connector)
    assert connector.write(key, TicketWrite(fields=SCORE, first_attempt=True))
    servicenow.clear_journal()
    # The job's next attempt (its worker died before recording the first): nothing to write.
    assert connector.write(key, TicketWrite(fields=SCORE)) is False
    assert [c["method"] for c in servicenow.journal()] == ["GET"]
    assert connector.write(key, TicketWrite(fields={**SCORE, "u_xla_score": 40})) is True
    assert servicenow.requests("PATCH")[-1]["body"] == {"u_xla_score": 40}


def test_public_comment_goes_to_comments(servicenow):
    connector = servicenow.connector()
    key = open_incident(connector)
    assert connector.add_public_comment(key, "Thanks for your feedback!", marker="xla:test:thanks")
    body = servicenow.requests("PATCH")[-1]["body"]
    assert set(body) == {"comments"} and body["comments"].startswith("Thanks for your feedback!")


@pytest.mark.parametrize("fields, says", [
    ({"u_xla_legacy_score": 5}, "did not keep the value written"),
    ({"u_xla_no_such_column": 1}, "does not exist on table incident"),
])
def test_a_field_that_cannot_be_written_is_named_in_the_error(servicenow, fields, says):
    connector = servicenow.connector()
    key = open_incident(connector)
    with pytest.raises(FieldNotEditable) as raised:
        connector.set_fields(key, fields)
    assert says in str(raised.value) and next(iter(fields)) in str(raised.value)


def test_unknown_and_malformed_ticket_keys(servicenow):
    connector = servicenow.connector()
    with pytest.raises(NotFound, match="404"):
        connector.get_ticket("incident:" + "0" * 32)
    with pytest.raises(InvalidRequest, match="not '<table>:<32-hex sys_id>'"):
        connector.get_ticket("INC0010001")
