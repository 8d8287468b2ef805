"""Whatever a field holds, mapping a record never fails: odd values become unknown, and are reported."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.ticket import Stage, Ticket, TicketKind
from mappers import default_mapping, map_ticket

from tests.mappers.conftest import jira_raw, load_fixture, servicenow_raw

SERVICENOW = default_mapping("servicenow")
JIRA = default_mapping("jira")

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=30), st.sampled_from(["", "2026-13-45 99:00:00", "-1", "6", "7 - Closed"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(["value", "display_value", "name", "key", "accountId", "id", "link",
                                     "statusCategory", "completedCycles", "ongoingCycle", "breached"]),
                    inner, max_size=4)), max_leaves=8)

SERVICENOW_FIELDS = ["state", "priority", "caller_id", "caller_id.vip", "assigned_to", "contact_type", "opened_at",
                     "resolved_at", "reassignment_count", "reopen_count", "made_sla", "location", "sys_mod_count"]
JIRA_FIELDS = ["issuetype", "status", "priority", "reporter", "assignee", "created", "resolutiondate", "labels",
               "components"]


def assert_is_a_ticket(ticket: Ticket) -> None:
    assert isinstance(ticket.kind, TicketKind) and isinstance(ticket.stage, Stage)
    assert ticket.priority in (None, 1, 2, 3, 4, 5)
    assert ticket.reassignment_count >= 0 and ticket.reopen_count >= 0
    assert all(isinstance(line, str) for line in ticket.unknown_values)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(SERVICENOW_FIELDS), values, min_size=1))
def test_servicenow_records_with_odd_values_still_map(odd):
    record = load_fixture("servicenow", "incident__resolved_after_reassignment")["result"]
    record.update(odd)
    assert_is_a_ticket(map_ticket(servicenow_raw(record, "incident"), SERVICENOW))


history_items = st.lists(st.fixed_dictionaries({
    "field": st.sampled_from(["status", "assignee", "resolution", "Assignment group", "labels"]),
    "fieldId": st.one_of(st.none(), st.sampled_from(["status", "assignee", "resolution", "customfield_10040"])),
    "from": scalars, "fromString": scalars, "to": scalars, "toString": scalars}), max_size=3)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(JIRA_FIELDS), values, min_size=1),
       st.lists(st.fixed_dictionaries({"created": scalars, "items": history_items}), max_size=4))
def test_jira_issues_with_odd_values_and_histories_still_map(odd, histories):
    issue = load_fixture("jira", "issue__incident_reassigned_reopened")
    issue["fields"].update(odd)
    issue["changelog"] = {"histories": histories}
    assert_is_a_ticket(map_ticket(jira_raw(issue), JIRA))
