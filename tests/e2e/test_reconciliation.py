"""Missed webhooks are caught by the reconciliation poll, and the overlap with webhooks is harmless."""
from __future__ import annotations

import pytest

from jobs.reconcile import reconcile_connection
from tests.stack import JIRA_ID, SN_ID, running_stack


@pytest.mark.parametrize("connection_id", [SN_ID, JIRA_ID])
def test_changes_whose_webhooks_were_lost_are_found_and_scored(tmp_path, monkeypatch, connection_id):
    tool = "servicenow" if connection_id == SN_ID else "jira"
    with running_stack(tmp_path, monkeypatch, tools=(tool,)) as stack:
        sim = stack.sim(connection_id)
        sim.admin("PUT", "/webhook", json={"url": None, "secret": None})  # the ITSM stops sending
        moved = stack.advance(connection_id, 4)
        stack.drain()
        assert stack.jobs("process_event") == [], "no webhook arrived"

        stored = reconcile_connection(stack.runtime, connection_id)
        assert stored >= 1
        stack.drain()
        scored = {t.number for t in _tickets(stack) if t.score is not None}
        numbers = {step.get("number") or step.get("issue_key") for step in moved}
        assert numbers - {None} <= scored

        writes = len(stack.jobs("write_back"))
        reconcile_connection(stack.runtime, connection_id)  # sees the service's own writes, and webhooks' overlap
        stack.drain()
        assert len(stack.jobs("write_back")) == writes, "a second poll causes no further write"


def _tickets(stack):
    from sqlalchemy import select

    from storage.models import TicketState

    with stack.runtime.sessions() as session:
        return list(session.scalars(select(TicketState)))
