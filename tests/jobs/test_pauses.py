"""The pause an ITSM asked for, as every process of one installation sees it (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from jobs.pauses import ConnectionPauses
from storage.db import make_engine, make_session_factory

START = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self):
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["sqlite_url", "postgres_url"])
def two_processes(request):
    """Two `ConnectionPauses` on engines of their own (as two processes have) over one database,
    and the clock both read."""
    url = request.getfixturevalue(request.param)
    clock = Clock()
    engines = [make_engine(url), make_engine(url)]
    yield [ConnectionPauses(make_session_factory(engine), now=clock) for engine in engines], clock
    for engine in engines:
        engine.dispose()


def test_a_pause_written_by_one_process_holds_the_other_until_it_ends(two_processes):
    (first, second), clock = two_processes
    assert second.remaining_s("snow") == 0.0
    first.pause("snow", 30)
    assert second.remaining_s("snow") == 30.0
    assert second.remaining_s("jira") == 0.0, "a pause is about one connection"
    clock.now += timedelta(seconds=29.5)
    assert second.remaining_s("snow") == 0.5
    clock.now += timedelta(seconds=1)
    assert second.remaining_s("snow") == 0.0


def test_a_shorter_wait_never_cuts_a_longer_one_short_and_a_later_one_extends_it(two_processes):
    (first, second), clock = two_processes
    first.pause("snow", 60)
    second.pause("snow", 5)
    assert first.remaining_s("snow") == 60.0
    clock.now += timedelta(seconds=50)
    second.pause("snow", 20)
    assert first.remaining_s("snow") == 20.0
