"""The incident log replay runs end to end on a few real incidents, and loses nothing.

The log lives in ../shared/data beside the repository and is never copied here: without it the
end-to-end test skips, and the script itself says so and exits 0. No time is asserted.
"""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from bench.common import ROOT
from bench.replay_log import LOG_FILE, LogIncident, ReplayClock, impact_and_urgency, read_log

INCIDENTS = 10


def test_a_few_incidents_replay_with_one_event_per_row_and_one_consistent_score(tmp_path):
    if not LOG_FILE.is_file():
        pytest.skip("the incident log is not in ../shared/data beside the repository")
    target = tmp_path / "record.json"
    finished = subprocess.run(
        [sys.executable, "bench/replay_log.py", "--incidents", str(INCIDENTS), "--settle-timeout", "120",
         "--json", str(target)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    record = json.loads(target.read_text())
    rows = sum(len(incident.rows) for incident in read_log(LOG_FILE, INCIDENTS))
    assert record["settings"] == {**record["settings"], "incidents": INCIDENTS, "log_rows": rows}
    assert record["simulator_only"]["rows"] == record["with_service"]["rows"] == rows
    integrity = record["integrity"]
    assert integrity["every_row_one_event"] and integrity["agent_deliveries"] == rows
    assert integrity["every_delivery_stored_once"] and integrity["delivery_ids_repeated"] == 0
    assert integrity["every_event_processed"] and integrity["events_finished"] == integrity["inbox_rows"]
    written = record["written"]
    assert written["scored"] == written["incidents"] == INCIDENTS
    assert written["score_mismatches"] == 0 and written["notes_written_twice"] == 0
    scores = record["scores"]
    assert sum(band["count"] for band in scores["bands"].values()) == INCIDENTS
    assert sum(scores["histogram_by_10"].values()) == INCIDENTS
    assert 0 <= scores["percentiles"]["p10"] <= scores["percentiles"]["p50"] <= scores["percentiles"]["p90"] <= 100
    assert scores["fidelity"] == {"reassignment_count_differs_from_log": 0, "reopen_count_differs_from_log": 0,
                                  "priority_differs_from_log": 0}
    assert record["ratio_service_to_simulator_only"] > 0


def test_without_the_log_the_script_says_so_and_exits_cleanly(tmp_path):
    finished = subprocess.run([sys.executable, "bench/replay_log.py", "--log", str(tmp_path / "absent.csv"),
                               "--json", str(tmp_path / "record.json")],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0
    assert "skipped" in finished.stderr and "nothing was replayed" in finished.stderr
    assert not (tmp_path / "record.json").exists()


@pytest.mark.parametrize(("impact", "urgency", "priority", "expected"), [
    ("2 - Medium", "2 - Medium", "3 - Moderate", ("2", "2", False)),   # the stock matrix agrees
    ("3 - Low", "3 - Low", "4 - Low", ("3", "2", True)),               # the logged instance's own matrix
    ("1 - High", "1 - High", "1 - Critical", ("1", "1", False)),
])
def test_impact_and_urgency_give_the_logged_priority_under_the_stock_matrix(impact, urgency, priority, expected):
    assert impact_and_urgency({"impact": impact, "urgency": urgency, "priority": priority}) == expected


def test_the_replay_clock_puts_the_latest_opening_at_the_start_and_keeps_durations():
    def incident(number, opened):
        return LogIncident(number, ({"opened_at": opened},))

    start = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
    clock = ReplayClock([incident("INC1", "29-02-2016 01:16"), incident("INC2", "02-03-2016 15:33")], start)
    assert clock.shifted(datetime(2016, 3, 2, 15, 33, tzinfo=timezone.utc)) == "2026-11-23 12:00:00"
    assert clock.shifted(datetime(2016, 3, 2, 17, 33, tzinfo=timezone.utc)) == "2026-11-23 14:00:00"
    assert clock.shifted(None) == ""
