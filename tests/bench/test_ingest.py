"""The ingest benchmark runs end to end at a tiny size and its record holds together.

Only structure and the no-loss accounting are checked, never a rate: figures depend on the machine.
"""
from __future__ import annotations

import json
import subprocess
import sys
from statistics import median

from bench.common import ROOT

REQUESTS, WARMUP, ROUNDS = 120, 10, 2


def test_tiny_run_alternates_the_servers_and_every_acknowledged_delivery_is_stored(tmp_path):
    target = tmp_path / "record.json"
    finished = subprocess.run(
        [sys.executable, "-m", "bench.ingest", "--requests", str(REQUESTS), "--warmup", str(WARMUP),
         "--rounds", str(ROUNDS), "--workers", "2", "--threads", "2", "--clients", "4", "--json", str(target)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    record = json.loads(target.read_text())

    order = [(result["target"], result["round"]) for result in record["rounds"]]
    assert order == [("bare_flask", 1), ("xla_bridge", 1), ("bare_flask", 2), ("xla_bridge", 2), ("naive_inbox", 1)]
    for result in record["rounds"]:
        assert (result["answered"], result["errors"]) == (REQUESTS, 0)
        assert result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"]
        assert result["worker_cpu_ms_per_delivery"] > 0
        assert 0.5 <= result["busiest_worker_share"] <= 1.0
        # Measured (from /proc), not left out; a busy gevent worker may not switch at all.
        assert isinstance(result["switches_per_delivery"], float) and result["switches_per_delivery"] >= 0

    rates = {label: [r["throughput_per_s"] for r in record["rounds"] if r["target"] == label]
             for label in ("bare_flask", "xla_bridge")}
    assert record["ratio"] == round(median(rates["xla_bridge"]) / median(rates["bare_flask"]), 3)
    assert record["ratio_by_round"] == [round(service / bare, 3) for service, bare in zip(rates["xla_bridge"],
                                                                                          rates["bare_flask"])]
    # Both inbox servers write one database: every 202 of theirs, warm-up included, is one inbox row.
    assert record["answered_202_by_service"] == (ROUNDS + 1) * (REQUESTS + WARMUP)
    assert record["inbox_rows"] == record["answered_202_by_service"]
