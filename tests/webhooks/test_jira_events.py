"""Every Jira event and variant the service meets, one fixture each, through `check_webhook`."""
from __future__ import annotations

import json

import pytest

from tests.webhooks.helpers import check_webhook, counted, fixture_body, fixture_names
from webhooks.jira.parse import EVENT_HANDLERS, IGNORED_EVENT_PREFIXES, IGNORED_EVENTS, UNSUPPORTED_EVENTS

AGENT = "712020:8b1c2d3e-4f50-4a6b-9c7d-0e1f2a3b4c5d"
AGENT2 = "712020:1a2b3c4d-5e6f-4071-8293-a4b5c6d7e8f9"
CUSTOMER = "qm:0f9e8d7c-6b5a-4f3e-2d1c-0b9a8f7e6d5c:5c4b3a29-1807-4f6e-5d4c-3b2a1f0e9d8c"

# fixture -> what the stored event must say
STORED = {
    "issue_created": dict(ticket_key="10042", number="SD-42", lifecycle=["created"], actor=CUSTOMER,
                          version=1763888043512, changed_fields=["summary", "priority", "reporter", "status"]),
    "issue_created__with_assignee": dict(ticket_key="10043", lifecycle=["created", "assigned"], actor=AGENT),
    "issue_updated__assigned": dict(ticket_key="10042", lifecycle=["assigned"], changed_fields=["assignee"]),
    "issue_updated__reassigned": dict(lifecycle=["reassigned"], actor=AGENT),
    "issue_updated__unassigned": dict(lifecycle=["updated"], changed_fields=["assignee"]),
    "issue_updated__resolved": dict(lifecycle=["resolved"], changed_fields=["resolution", "status"],
                                    occurred_at_ms=1763892000400),
    "issue_updated__canceled": dict(ticket_key="10044", lifecycle=["canceled"], actor=CUSTOMER),
    "issue_updated__reopened": dict(lifecycle=["reopened"], actor=CUSTOMER),
    "issue_updated__done_without_resolution": dict(ticket_key="10045", lifecycle=["resolved"]),
    "issue_updated__custom_field": dict(lifecycle=["updated"], changed_fields=["customfield_10210"]),
    "issue_updated__commented": dict(lifecycle=["commented"], comment_text="Still broken after the restart.",
                                     comment_author=CUSTOMER, comment_public=True, changed_fields=["comment"]),
    "issue_updated__datacenter_resolved": dict(ticket_key="20117", number="HELP-117", lifecycle=["resolved"],
                                               actor="jdoe", changed_fields=["status", "resolution"]),
    "issue_updated__datacenter_closed": dict(ticket_key="20117", lifecycle=["closed"], actor="jdoe"),
    "issue_updated__datacenter_assignment_group": dict(ticket_key="20118", lifecycle=["reassigned"],
                                                       changed_fields=["Assignment Group"]),
    "issue_updated__old_server_commented": dict(ticket_key="20118", lifecycle=["commented"], actor="jdoe",
                                                comment_author="jdoe", comment_public=None),
    "issue_deleted": dict(ticket_key="10046", number="SD-46", lifecycle=["deleted"], actor=AGENT),
    "comment_created__public": dict(ticket_key="10042", lifecycle=["commented"], actor=AGENT2, comment_public=True,
                                    comment_text="I have reset your VPN profile, please try again."),
    "comment_created__internal": dict(ticket_key="10042", lifecycle=["commented"], comment_public=False,
                                      comment_author=AGENT2),
    "comment_created__datacenter_no_issue": dict(ticket_key="20117", number=None, lifecycle=["commented"],
                                                 actor="jdoe", comment_public=False,
                                                 comment_text="Checked the switch port, it is up again."),
}
IGNORED = ["issue_property_set", "worklog_created", "sprint_started", "board_updated", "user_created"]
UNSUPPORTED = ["comment_updated"]


@pytest.mark.parametrize("fixture", sorted(STORED))
def test_jira_event_is_stored_with_its_meaning(sender, fixture):
    response = sender.jira(fixture_body("jira", fixture))
    check_webhook(sender, response, dict(STORED[fixture], connection_id="jira"))


@pytest.mark.parametrize("fixture", IGNORED)
def test_jira_event_deliberately_ignored_is_answered_200_and_not_stored(sender, fixture):
    before = counted("jira", "ignored")
    response = sender.jira(fixture_body("jira", fixture))
    assert response.status_code == 200
    assert response.get_json()["status"] == "ignored"
    assert response.get_json()["reason"].startswith("jira.event_ignored.")
    assert sender.stored_anything() == 0
    assert counted("jira", "ignored") == before + 1


@pytest.mark.parametrize("fixture", UNSUPPORTED)
def test_jira_event_known_but_unsupported_is_answered_200_and_counted_apart(sender, fixture, caplog):
    before = counted("jira", "unsupported")
    with caplog.at_level("INFO", logger="xla.webhooks.jira.unsupported"):
        response = sender.jira(fixture_body("jira", fixture))
    assert response.status_code == 200
    assert response.get_json() == {"status": "unsupported", "reason": "jira.event_unsupported.comment_updated"}
    assert sender.stored_anything() == 0
    assert counted("jira", "unsupported") == before + 1
    assert any(record.getMessage() == "webhook.unsupported" for record in caplog.records)


def test_every_fixture_is_declared_and_every_handled_event_has_a_fixture():
    """The event table is the documentation: a fixture of an undeclared event fails here."""
    seen = set()
    for name in fixture_names("jira"):
        event = json.loads(fixture_body("jira", name))["webhookEvent"]
        declared = (event in EVENT_HANDLERS or event in IGNORED_EVENTS or event in UNSUPPORTED_EVENTS
                    or event.startswith(IGNORED_EVENT_PREFIXES))
        assert declared, f"{name}.json sends {event!r}, which the parser's event tables do not declare"
        seen.add(event)
        expected_kind = ("stored" if name in STORED else "ignored" if name in IGNORED
                         else "unsupported" if name in UNSUPPORTED else None)
        assert expected_kind, f"{name}.json has no expectation in this test module"
        if expected_kind == "stored":
            assert event in EVENT_HANDLERS, f"{name}.json should be stored but {event!r} has no handler"
    assert set(EVENT_HANDLERS) <= seen, f"handled events without a fixture: {set(EVENT_HANDLERS) - seen}"


def test_redelivery_with_the_same_identifier_is_stored_once(sender):
    body = fixture_body("jira", "issue_updated__resolved")
    first = sender.jira(body, identifier="0b6a2c9e-redelivered", headers={"X-Atlassian-Webhook-Retry": "0"})
    again = sender.jira(body, identifier="0b6a2c9e-redelivered", headers={"X-Atlassian-Webhook-Retry": "1"})
    assert first.status_code == again.status_code == 202
    assert again.get_json() == {"status": "duplicate", "delivery_id": "0b6a2c9e-redelivered"}
    rows = sender.inbox("jira")
    assert len(rows) == 1 and rows[0].duplicates == 1
    assert len(sender.jobs()) == 1


def test_delivery_without_identifier_gets_a_stable_derived_key(sender):
    """Jira Automation's "Send web request" sends no identifier: its retries must still dedupe."""
    body = fixture_body("jira", "issue_updated__reopened")
    first = sender.jira(body, identifier=None)
    again = sender.jira(body, identifier=None)
    other = sender.jira(fixture_body("jira", "issue_updated__resolved"), identifier=None)
    assert first.status_code == again.status_code == other.status_code == 202
    assert first.get_json()["delivery_id"].startswith("sha256:")
    assert again.get_json() == {"status": "duplicate", "delivery_id": first.get_json()["delivery_id"]}
    assert other.get_json()["delivery_id"] != first.get_json()["delivery_id"]
    assert len(sender.inbox("jira")) == 2


def test_identifier_with_unexpected_characters_is_hashed_not_stored_raw(sender):
    weird = "id with spaces/and;semicolons" + "x" * 300
    response = sender.jira(fixture_body("jira", "issue_updated__assigned"), identifier=weird)
    assert response.status_code == 202
    assert response.get_json()["delivery_id"].startswith("sha256:")
    assert sender.jira(fixture_body("jira", "issue_updated__assigned"), identifier=weird).get_json()["status"] \
        == "duplicate"


@pytest.mark.parametrize("payload, reason", [
    ({"timestamp": 1, "webhookEvent": "jira:issue_teleported", "issue": {"id": "1"}}, "jira.event_unknown."),
    ({"timestamp": 1, "issue": {"id": "1"}}, "jira.webhook_event_missing"),
    ({"timestamp": 1, "webhookEvent": "jira:issue_updated"}, "jira.issue_missing"),
    ({"timestamp": 1, "webhookEvent": "jira:issue_updated", "issue": {"key": "SD-1"}}, "jira.issue_id_missing"),
    ({"timestamp": 1, "webhookEvent": "comment_created", "comment": {"id": "5", "body": "x"}},
     "jira.comment_issue_missing"),
    ([{"webhookEvent": "jira:issue_created"}], "jira.payload_not_an_object"),
])
def test_jira_payload_that_cannot_be_recognised_is_400_and_quarantined(sender, payload, reason):
    response = sender.jira(payload)
    assert response.status_code == 400
    assert response.get_json()["error"] == "unrecognised"
    assert reason in response.get_json()["message"]
    kept = sender.quarantine()
    assert len(kept) == 1 and kept[0].reason.startswith(reason) and kept[0].connection_id == "jira"
    assert json.loads(kept[0].body) == payload
    assert sender.inbox() == []


def test_unsigned_connection_accepts_deliveries_without_signature(sender):
    response = sender.jira(fixture_body("jira", "issue_updated__datacenter_resolved"), connection="jira-open",
                           secret=None)
    check_webhook(sender, response, dict(connection_id="jira-open", ticket_key="20117", lifecycle=["resolved"]))
