"""The end-to-end latency benchmark runs end to end at a tiny size and its record holds together.

Only structure and the no-loss accounting are checked, never a time: figures depend on the machine.
"""
from __future__ import annotations

import json
import subprocess
import sys

from bench.common import ROOT, histogram_quantile, histogram_summary, percentile
from bench.e2e_latency import pair_changes_with_writes

RATE, SECONDS = 5, 2


def run_benchmark(tmp_path) -> tuple[subprocess.CompletedProcess, dict]:
    target = tmp_path / "record.json"
    finished = subprocess.run(
        [sys.executable, "bench/e2e_latency.py", "--rate", str(RATE), "--seconds", str(SECONDS),
         "--tickets", "5", "--baseline-seconds", "1", "--settle-timeout", "90", "--json", str(target)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    record = json.loads(target.read_text()) if target.exists() else {}
    return finished, record


def test_tiny_run_reports_latency_for_both_stacks_and_loses_nothing(tmp_path):
    finished, record = run_benchmark(tmp_path)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert set(record["results"]) == {"bare_endpoint", "xla_bridge"}
    for result in record["results"].values():
        assert result["answered"] + result["unanswered"] == result["changes"]
        assert result["sending"]["errors"] == 0
        latency = result["latency"]
        assert latency["count"] == result["answered"]
        if latency["count"]:
            assert 0 <= latency["p50_ms"] <= latency["p95_ms"] <= latency["p99_ms"] <= latency["max_ms"]
    service = record["results"]["xla_bridge"]
    assert service["changes"] == RATE * SECONDS
    assert service["settled"] and service["journal_complete"]
    # a change followed by the next one before its write landed is counted unanswered, never lost
    assert service["answered"] > 0
    integrity = service["integrity"]
    assert integrity["lost"] == 0
    # The events of the service's own writes are answered 200 at the endpoint and never stored.
    assert integrity["ignored_own_writes"] > 0
    assert integrity["deliveries"] == integrity["distinct_delivery_ids"] == (integrity["inbox_rows"]
                                                                             + integrity["ignored_own_writes"])
    assert integrity["delivery_statuses"] == {"delivered": integrity["deliveries"]}
    assert service["pipeline_histogram"]["count"] >= service["answered"]
    assert set(service["stages"]) == {"delivery", "process_event", "write_back"}
    assert set(record["latency_ratio_service_to_bare"]) <= {"p50", "p95", "p99"}
    assert "xla_bridge" in finished.stdout and "record written to" in finished.stdout


def journal_entry(entry_id, user, ticket, at, method="PATCH", status=200):
    return {"id": entry_id, "at": at, "method": method, "path": f"/api/now/table/incident/{ticket}",
            "status": status, "user": user}


def test_a_change_is_paired_with_the_first_write_before_the_next_change():
    entries = [
        journal_entry(1, "admin", "a", 10.0),
        journal_entry(2, "xla.integration", "a", 10.4),
        journal_entry(3, "xla.integration", "a", 10.9),   # a second write of the same change: not counted
        journal_entry(4, "admin", "b", 11.0),
        journal_entry(5, "admin", "b", 12.0),             # b's first change has no write before this one
        journal_entry(6, "xla.integration", "b", 12.5),
        journal_entry(7, "admin", "c", 13.0),             # never written
        journal_entry(8, "xla.integration", "c", 13.1, method="GET"),
    ]
    paired = pair_changes_with_writes(entries)
    assert (paired["changes"], paired["answered"], paired["unanswered"]) == (4, 2, 2)
    assert paired["latency"]["max_ms"] == 500.0 and paired["latency"]["p50_ms"] == 400.0


def test_histogram_quantiles_interpolate_inside_the_bucket_as_prometheus_does():
    buckets = {0.1: 50.0, 0.5: 90.0, 1.0: 100.0, float("inf"): 100.0}
    assert histogram_quantile(buckets, 0.5) == 0.1
    assert abs(histogram_quantile(buckets, 0.7) - 0.3) < 1e-9
    assert histogram_quantile({float("inf"): 0.0}, 0.5) is None
    summary = histogram_summary(buckets)
    assert summary["count"] == 100 and summary["share_within_1s"] == 1.0
    assert percentile([1, 2, 3, 4], 0.5) == 2 and percentile([], 0.5) is None
