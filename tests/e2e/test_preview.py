"""`preview` explains any ticket: what the service sees, why it scores it so, and what it would write."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.stack import JIRA_ID, ROOT_DIR, SN_ID, running_stack


def preview(config, connection, ticket, *extra):
    return subprocess.run([sys.executable, "app.py", "preview", connection, ticket, "--config", str(config), *extra],
                          cwd=ROOT_DIR, capture_output=True, text=True, timeout=120)


def test_preview_matches_what_was_written_and_would_write_nothing_more(tmp_path, monkeypatch):
    with running_stack(tmp_path, monkeypatch) as stack:
        sn_step = next(s for s in stack.advance(SN_ID, 6) if s.get("table") == "incident")
        jira_step = next(s for s in stack.advance(JIRA_ID, 6) if s.get("issue_key"))
        stack.drain()
        config = tmp_path / "config.toml"
        config.write_text(stack.toml())

        as_json = preview(config, SN_ID, sn_step["number"], "--json")
        assert as_json.returncode == 0, as_json.stderr
        report = json.loads(as_json.stdout)
        state = {t.number: t for t in _tickets(stack)}[sn_step["number"]]
        assert report["ticket"]["number"] == sn_step["number"]
        assert round(report["score"]["score"]) == round(state.score) and report["score"]["band"] == state.band
        assert report["would_write"] == {"fields": {}, "internal_note": None}

        text = preview(config, JIRA_ID, jira_step["issue_key"])
        assert text.returncode == 0, text.stderr
        assert text.stdout.startswith(jira_step["issue_key"])
        assert "would write: nothing (the ticket already holds every value)" in text.stdout


def test_preview_of_a_ticket_never_seen_shows_the_planned_writes(tmp_path, monkeypatch):
    with running_stack(tmp_path, monkeypatch, tools=("servicenow",)) as stack:
        config = tmp_path / "config.toml"
        config.write_text(stack.toml())
        journal_before = len(stack.sim(SN_ID).journal())
        result = preview(config, SN_ID, "INC0010001")
        assert result.returncode == 0, result.stderr
        assert "would write:" in result.stdout and "u_xla_score = " in result.stdout
        writes = [e for e in stack.sim(SN_ID).journal()[journal_before:] if e["method"] != "GET"]
        assert writes == [], "preview writes nothing"


def test_preview_says_when_a_ticket_does_not_exist(tmp_path, monkeypatch):
    with running_stack(tmp_path, monkeypatch, tools=("servicenow",)) as stack:
        config = tmp_path / "config.toml"
        config.write_text(stack.toml())
        result = preview(config, SN_ID, "INC9999999")
    assert result.returncode == 1 and result.stdout.strip() == f"{SN_ID} has no ticket 'INC9999999'"


def _tickets(stack):
    from sqlalchemy import select

    from storage.models import TicketState

    with stack.runtime.sessions() as session:
        return list(session.scalars(select(TicketState)))
