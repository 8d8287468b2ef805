"""Jira REST v2 issues with their changelog -> canonical tickets (kind, stage, history counts)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from domain.ticket import Stage, TicketKind
from mappers import default_mapping, load_mapping_section, map_ticket, resolve_field_names

from tests.mappers.conftest import jira_raw, load_fixture


@pytest.fixture
def mapping(jira_catalogue):
    """The default mapping with "Assignment group" as the group field, resolved like at start-up."""
    configured, problems = load_mapping_section({"inbound": {"group": "Assignment group"}}, tool="jira")
    assert problems == []
    resolved, problems = resolve_field_names(configured, jira_catalogue)
    assert problems == []
    return resolved


def issue(name: str = "issue__incident_reassigned_reopened", **fields) -> dict:
    data = load_fixture("jira", name)
    data["fields"].update(fields)
    return data


class TestIncidentWithHistory:
    def test_every_attribute_is_read(self, mapping):
        ticket = map_ticket(jira_raw(issue()), mapping)
        assert (ticket.number, ticket.ticket_key) == ("ITSM-42", "10231")
        assert (ticket.kind, ticket.stage, ticket.priority) == (TicketKind.INCIDENT, Stage.IN_PROGRESS, 2)
        assert ticket.caller.key == "5b10ac8d82e05b22cc7d4ef5"
        assert (ticket.caller.name, ticket.caller.email) == ("Mia Krystof", "mia@example.com")
        assert ticket.assignee == "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"
        assert ticket.assignment_group == "Messaging"
        assert ticket.service == "Email"
        assert ticket.category == "Mail"
        assert ticket.opened_at == datetime(2026, 11, 18, 8, 12, 33, 120000, tzinfo=timezone.utc)
        assert ticket.resolved_at is None and ticket.closed_at is None
        assert ticket.vip is True  # the "VIP" label
        assert ticket.sla_breached is True  # the ongoing "Time to resolution" cycle breached
        assert ticket.unknown_values == ()

    def test_reassignments_count_group_moves_and_agent_handovers_not_the_first_assignment(self, mapping):
        # history: first assignment (no), group + assignee in one entry (1), agent to agent (2),
        # resolve, reopen, group move (3)
        assert map_ticket(jira_raw(issue()), mapping).reassignment_count == 3

    def test_a_reopen_is_a_move_out_of_a_done_status_counted_once_per_entry(self, mapping):
        assert map_ticket(jira_raw(issue()), mapping).reopen_count == 1

    def test_without_a_group_field_only_agent_handovers_count(self):
        ticket = map_ticket(jira_raw(issue()), default_mapping("jira"))
        assert ticket.reassignment_count == 2

    def test_no_changelog_means_counts_unknown_and_zero(self, mapping):
        data = issue()
        data["changelog"] = {"histories": []}
        ticket = map_ticket(jira_raw(data), mapping)
        assert (ticket.reassignment_count, ticket.reopen_count) == (0, 0)

    def test_all_sla_cycles_met_means_not_breached(self, mapping):
        met = {"completedCycles": [{"breached": False}], "ongoingCycle": {"breached": False}}
        assert map_ticket(jira_raw(issue(customfield_10030=met)), mapping).sla_breached is False

    def test_no_sla_field_means_sla_unknown(self, mapping):
        data = issue()
        del data["fields"]["customfield_10030"], data["fields"]["customfield_10031"]
        assert map_ticket(jira_raw(data), mapping).sla_breached is None


class TestStagesAndKinds:
    def test_waiting_for_customer_is_on_hold(self, mapping):
        ticket = map_ticket(jira_raw(issue("issue__service_request_waiting_for_customer")), mapping)
        assert (ticket.kind, ticket.stage, ticket.priority) == (TicketKind.REQUEST, Stage.ON_HOLD, 3)
        assert ticket.assignee is None and ticket.vip is False
        assert ticket.sla_breached is False

    def test_change_implementing(self, mapping):
        ticket = map_ticket(jira_raw(issue("issue__change_implementing")), mapping)
        assert (ticket.kind, ticket.stage, ticket.priority) == (TicketKind.CHANGE, Stage.IMPLEMENTING, 4)

    def test_an_unlisted_status_falls_back_to_its_category(self, mapping):
        status = {"name": "Triage", "statusCategory": {"key": "indeterminate"}}
        ticket = map_ticket(jira_raw(issue(status=status)), mapping)
        assert ticket.stage is Stage.IN_PROGRESS and ticket.unknown_values == ()

    def test_an_unknown_category_is_reported(self, mapping):
        status = {"name": "Limbo", "statusCategory": {"key": "undefined"}}
        ticket = map_ticket(jira_raw(issue(status=status)), mapping)
        assert ticket.stage is Stage.IN_PROGRESS
        assert ticket.unknown_values == (
            "stage (status): 'Limbo' is a status (category 'undefined') with no entry in statuses or "
            "status_categories",)

    def test_an_unknown_issue_type_is_other_and_reported(self, mapping):
        ticket = map_ticket(jira_raw(issue(issuetype={"name": "Story"})), mapping)
        assert ticket.kind is TicketKind.OTHER
        assert ticket.unknown_values == ("kind (issuetype): 'Story' is an issue type with no entry in issue_types",)

    def test_admin_value_maps(self, jira_catalogue):
        configured, _ = load_mapping_section({"issue_types": {"Story": "request"},
                                              "statuses": {"Triage": "new"}, "priorities": {"Urgent": 1}},
                                             tool="jira")
        resolved, _ = resolve_field_names(configured, jira_catalogue)
        data = issue(issuetype={"name": "Story"}, status={"name": "triage", "statusCategory": {"key": "new"}},
                     priority={"name": "Urgent"})
        ticket = map_ticket(jira_raw(data), resolved)
        assert (ticket.kind, ticket.stage, ticket.priority) == (TicketKind.REQUEST, Stage.NEW, 1)


class TestDataCenter:
    def test_closed_issue_reads_close_time_from_the_changelog(self, jira_catalogue):
        configured, _ = load_mapping_section({"inbound": {"group": "customfield_12000"}}, tool="jira")
        catalogue = jira_catalogue + [type(jira_catalogue[0])("customfield_12000", "Assignment group", "select")]
        resolved, problems = resolve_field_names(configured, [f for f in catalogue if f.id != "customfield_10040"])
        assert problems == []
        ticket = map_ticket(jira_raw(issue("issue__datacenter_closed")), resolved)
        berlin = timezone(timedelta(hours=1))
        assert (ticket.kind, ticket.stage, ticket.priority) == (TicketKind.INCIDENT, Stage.CLOSED, 1)
        assert ticket.caller.key == "k.weber"  # Data Center users have a name, no accountId
        assert ticket.assignee == "svc.desk2"
        assert ticket.resolved_at == datetime(2026, 11, 2, 15, 30, tzinfo=berlin)
        assert ticket.closed_at == datetime(2026, 11, 4, 15, 30, tzinfo=berlin)
        # Data Center changelog items carry the field's display name only
        assert ticket.reassignment_count == 1 and ticket.reopen_count == 0


CAPTURES = {
    "webhook-issue-created": Stage.NEW,
    "webhook-issue-updated-resolved": Stage.RESOLVED,
    "webhook-issue-updated-reopened": Stage.NEW,
    "webhook-server-issue-updated-resolved": Stage.RESOLVED,
    "webhook-server-issue-updated-closed": None,
    "webhook-cloud-issue-created-many-fields": Stage.NEW,
}


@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_issues_of_real_webhook_captures_map(shared_dir, name):
    path = shared_dir / "fixtures" / "jira" / f"mattermost-plugin-jira__{name}.json"
    if not path.exists():
        pytest.skip(f"{path.name} is not in ../shared/fixtures/jira")
    payload = json.loads(path.read_text())
    raw = jira_raw({"id": payload["issue"]["id"], "key": payload["issue"]["key"], "fields": payload["issue"]["fields"],
                    "changelog": {"histories": [{"created": payload["issue"]["fields"].get("updated"),
                                                 "items": (payload.get("changelog") or {}).get("items", [])}]}})
    ticket = map_ticket(raw, default_mapping("jira"))
    if CAPTURES[name] is not None:
        assert ticket.stage is CAPTURES[name]
    assert ticket.priority in (1, 2, 3, 4, 5)
    assert ticket.opened_at is not None
    if name.endswith("reopened"):
        assert ticket.reopen_count == 1
    if name.endswith("resolved"):
        assert ticket.resolved_at is not None
