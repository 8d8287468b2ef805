"""Waiting without stopping the other requests of a gevent worker.

Under gunicorn's gevent worker (the default, ops/server.py) every request of a process runs on
one OS thread, so a call that waits in the kernel or in C (a file lock another process holds,
SQLite's busy handler) stops them all until it returns. Code that may wait long asks
`cooperative()` and then waits in a way gevent can interleave: `run_blocking` for a call that
must block, `time.sleep` (patched by gevent) between tries of one that can give up at once. In
any other process (gthread workers, the job worker, tests) only the calling thread waits, and
both behave as plain calls.
"""
from __future__ import annotations

import sys
from typing import Callable, TypeVar

T = TypeVar("T")


def cooperative() -> bool:
    """Whether this process runs gevent's patched threading (a gevent gunicorn worker)."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("threading")


def run_blocking(call: Callable[..., T], *args) -> T:
    """`call(*args)`, with only the calling greenlet (or thread) waiting for it to return.

    Exceptions propagate as raised. For waits, not for work: under gevent the call runs on a
    native thread of gevent's pool, so it must not touch the process's patched objects (locks,
    queues, loggers), which belong to the main thread's loop.
    """
    if cooperative():
        import gevent

        return gevent.get_hub().threadpool.apply(call, args)
    return call(*args)
