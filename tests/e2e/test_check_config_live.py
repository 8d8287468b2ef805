"""An admin who gets a mapping wrong hears about every mistake from `check-config --live`, one
precise line each, checked against the real field catalogues of both simulators."""
from __future__ import annotations

import subprocess
import sys

from checks import check_configuration
from tests.stack import ROOT_DIR, running_stack

MISTAKES = {
    "servicenow": {"mapping": {"outbound": {"score": "u_xla_scor", "band": "u_xla_legacy_score",
                                            "reasons": "u_xla_score"}}},
    "jira": {"mapping": {"outbound": {"score": "Experiance Score", "band": "Experience Score",
                                      "lost_hours": "Experience Legacy Score"}}},
}


def test_every_mapping_mistake_gets_one_line_with_its_fix(tmp_path, monkeypatch):
    with running_stack(tmp_path, monkeypatch, extra_config=MISTAKES) as stack:
        lines: list[str] = []
        assert check_configuration(stack.settings, live=True, out=lines.append) == 1
    assert lines[:-1] == [
        "connections[0].mapping.outbound.score: ServiceNow table incident has no column 'u_xla_scor'; "
        "did you mean 'u_xla_score'?",
        "connections[0].mapping.outbound.band: ServiceNow field 'Experience legacy score' (u_xla_legacy_score) is "
        "read-only for the integration user; grant write access to it or map this output to another field",
        "connections[0].mapping.outbound.band: band needs a choice (select) or text field, but 'Experience legacy "
        "score' (u_xla_legacy_score) is a number field; map band to a choice (select) or text field",
        "connections[0].mapping.outbound.reasons: reasons needs a text field, but 'Experience score' (u_xla_score) "
        "is a number field; map reasons to a text field",
        "connections[1].mapping.outbound.score: Jira has no field named 'Experiance Score'; did you mean "
        "'Experience Score'?",
        "connections[1].mapping.outbound.band: band needs a choice (select) or text field, but 'Experience Score' "
        "(customfield_10200) is a number field; map band to a choice (select) or text field",
        "connections[1].mapping.outbound.lost_hours: Jira field 'Experience Legacy Score' (customfield_10210) is "
        "not on the edit screen, so Jira rejects writes to it; add it to the edit screen of the project's issue types",
    ]
    assert lines[-1] == "7 problem(s) found"


def test_the_default_mappings_fit_both_simulators_from_the_command_line(tmp_path, monkeypatch):
    with running_stack(tmp_path, monkeypatch) as stack:
        config = tmp_path / "config.toml"
        config.write_text(stack.toml())
        result = subprocess.run([sys.executable, "app.py", "check-config", "--live", "--config", str(config)],
                                cwd=ROOT_DIR, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "configuration OK: 2 connection(s) checked live" in result.stdout
    assert "every mapping fits" in result.stdout


def test_wrong_credentials_are_reported_per_connection(tmp_path, monkeypatch):
    with running_stack(tmp_path, monkeypatch) as stack:
        monkeypatch.setenv("XLA_T_JIRA_TOKEN", "not-the-token")
        lines: list[str] = []
        assert check_configuration(stack.settings, live=True, out=lines.append) == 1
    assert len(lines) == 2 and lines[0].startswith(f"connections[1]: cannot use {stack.sim('jira').url} as "
                                                   "xla-bridge@example.com: ")
