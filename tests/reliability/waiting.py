"""Wait for a condition with a deadline, instead of sleeping and hoping.

Every wait in the reliability suite polls a real observable (a database row, a simulator
journal, a log line, a process state) and fails with a message naming what never happened.
"""
from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")

POLL_S = 0.1


class NeverHappened(AssertionError):
    """A condition stayed false until its deadline."""


def wait_for(condition: Callable[[], T], *, timeout_s: float, what: str,
             describe: Callable[[], str] | None = None, poll_s: float = POLL_S) -> T:
    """Return the first truthy value of `condition()`, polling until `timeout_s` has passed.

    Raises NeverHappened naming `what` (and `describe()`, the state at the deadline, if given).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            detail = f"; state at the deadline: {describe()}" if describe else ""
            raise NeverHappened(f"{what}: not within {timeout_s:g} s{detail}")
        time.sleep(poll_s)  # a polling interval, not a stand-in for synchronisation
