"""What every background process (worker, scheduler) does first: its logging, its runtime, and a
stop event that SIGTERM and SIGINT set."""
from __future__ import annotations

import signal
import threading

from runtime import Runtime


def start_process(settings, stop: threading.Event | None = None) -> tuple[Runtime, threading.Event]:
    """Configure logging from `settings` (secrets masked), build the runtime, and return it with
    `stop` (a new event when None). Signal handlers are set only on the main thread, where Python
    allows them; a caller on another thread (a test) stops the process through the event. The
    caller closes the runtime."""
    from ops.logging import configure_logging, secret_env_names

    configure_logging(settings.service.log_level, settings.service.log_format, secret_env_names(settings))
    runtime = Runtime.build(settings)
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    return runtime, stop
