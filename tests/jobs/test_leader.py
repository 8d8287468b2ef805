"""The scheduler leader: one per installation, and an installation is a PostgreSQL schema.

Two installations may share one PostgreSQL database in two schemas (as every test run here
does). Each must elect its own leader: a lock shared across schemas would leave one of them
with no scheduler at all (no reaper, no reconciliation, no reminders).
"""
from __future__ import annotations

import os

import pytest

from jobs.leader import LeaderLock
from storage.db import make_engine
from tests.reliability.config_file import write_config
from tests.reliability.processes import AppProcess
from tests.reliability.waiting import wait_for

pytestmark = pytest.mark.postgres


def test_one_lock_per_schema_held_by_one_process(postgres_schemas):
    first, second = postgres_schemas(), postgres_schemas()
    engines = [make_engine(url) for url in (first, first, second)]
    locks = [LeaderLock(engine) for engine in engines]
    try:
        assert [lock.try_acquire() for lock in locks] == [True, False, True]
        locks[0].release()
        assert locks[1].try_acquire() is True, "the standby of the first schema takes over once it is free"
    finally:
        for lock in locks:
            lock.release()
        for engine in engines:
            engine.dispose()


def test_two_schedulers_per_schema_elect_one_leader_in_each(postgres_schemas, tmp_path):
    urls = {"a": postgres_schemas(), "b": postgres_schemas()}
    schedulers: dict[str, list[AppProcess]] = {"a": [], "b": []}
    try:
        for name, url in urls.items():
            config = write_config(tmp_path / f"{name}.toml", {
                "service": {"database_url": url, "log_format": "json"},
                "scheduler": {"reaper_interval_s": 3600.0, "reconcile_interval_s": 3600.0,
                              "surveys_interval_s": 3600.0}})
            for index in range(2):
                schedulers[name].append(AppProcess(
                    f"{name}{index}", ["scheduler", "--config", str(config)], dict(os.environ),
                    tmp_path / f"scheduler-{name}{index}.log"))
        every = [process for group in schedulers.values() for process in group]

        def decided() -> bool:
            for process in every:
                if not process.alive():
                    raise AssertionError(f"{process.name} exited:\n{process.log_text()[-2000:]}")
            return all(process.logged("scheduler.leader") or process.logged("scheduler.standby") for process in every)

        wait_for(decided, timeout_s=90, what="every scheduler leading or standing by",
                 describe=lambda: {p.name: p.log_text()[-300:] for p in every})
        leaders = {name: [p.name for p in group if p.logged("scheduler.leader")] for name, group in schedulers.items()}
        assert {name: len(found) for name, found in leaders.items()} == {"a": 1, "b": 1}, leaders
        for name, group in schedulers.items():
            [record] = [r for p in group for r in p.logged("scheduler.leader")]
            schema = urls[name].rsplit("%3D", 1)[1]
            assert f".{schema} (advisory lock " in record["lock"], "the log names the schema the lock covers"
    finally:
        for group in schedulers.values():
            for process in group:
                process.stop()
