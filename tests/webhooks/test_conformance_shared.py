"""Conformance with payloads captured from real Jira instances (../shared/fixtures/jira).

Nobody on the project wrote these files, so they check the parser against Jira rather than
against its authors' idea of Jira. Every file must be stored with the meaning below; a new file
appearing there fails `test_every_shared_capture_has_an_expectation` until it is classified.
"""
from __future__ import annotations

import pytest

from tests.webhooks.helpers import check_webhook

PREFIX = "mattermost-plugin-jira__"
EXPECTED = {
    "webhook-issue-created": dict(ticket_key="10040", number="TES-41", lifecycle=["created"],
                                  actor="5c5f880629be9642ba529340", version=1550286113023),
    "webhook-cloud-issue-created-many-fields": dict(ticket_key="10509", lifecycle=["created", "assigned"]),
    "webhook-issue-updated-resolved": dict(ticket_key="10040", lifecycle=["resolved"],
                                           changed_fields=["resolution", "status"]),
    "webhook-issue-updated-reopened": dict(ticket_key="10040", lifecycle=["reopened"]),
    "webhook-issue-updated-assigned": dict(ticket_key="10040", lifecycle=["assigned"], changed_fields=["assignee"]),
    "webhook-cloud-issue-updated-custom-field": dict(ticket_key="10368", lifecycle=["updated"],
                                                     changed_fields=["customfield_10072"]),
    "webhook-cloud-comment-created": dict(ticket_key="10040", lifecycle=["commented"], comment_public=True,
                                          actor="5c5f880629be9642ba529340", comment_text="Added a comment"),
    "webhook-issue-deleted": dict(ticket_key="10303", lifecycle=["deleted"]),
    "webhook-server-issue-updated-resolved": dict(ticket_key="10300", lifecycle=["resolved"], actor="admin"),
    "webhook-server-issue-updated-closed": dict(ticket_key="10300", lifecycle=["closed"], actor="admin"),
    "webhook-server-comment-created": dict(ticket_key="10013", number=None, lifecycle=["commented"],
                                           actor="levbrouk", comment_author="levbrouk", comment_text="unik"),
    "webhook-server-old-issue-updated-no-event-type-commented": dict(ticket_key="10013", lifecycle=["commented"],
                                                                     actor="levbrouk", number="PRJX-14"),
}


@pytest.fixture
def jira_captures(shared_dir):
    folder = shared_dir / "fixtures" / "jira"
    if not folder.is_dir():
        pytest.skip("../shared/fixtures/jira (real Jira captures) is not present")
    return folder


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_jira_capture_is_stored_with_its_meaning(sender, jira_captures, name):
    path = jira_captures / f"{PREFIX}{name}.json"
    if not path.exists():
        pytest.skip(f"{path.name} is not among the shared captures")
    check_webhook(sender, sender.jira(path.read_bytes()), dict(EXPECTED[name], connection_id="jira"))


def test_every_shared_capture_has_an_expectation(jira_captures):
    names = sorted(path.stem.removeprefix(PREFIX) for path in jira_captures.glob("*.json"))
    assert names, "the shared Jira folder holds no captures"
    unclassified = [name for name in names if name not in EXPECTED]
    assert not unclassified, f"classify these real captures in EXPECTED: {unclassified}"
