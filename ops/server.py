"""How `python app.py serve` runs gunicorn: the worker model chosen in `[server]`.

`gevent` (the default) serves each request on a greenlet of one OS thread per worker process. A
webhook request spends most of its life waiting for the inbox commit it shares with others
(webhooks/inbox_writer.py), and a waiting greenlet costs neither an OS thread nor a turn at the
interpreter lock: on two CPUs this takes about 1.5 times the deliveries per second that
`gthread` does (docs/benchmarks.md, "Webhook ingest"). `gthread` serves each request on one of
`threads` OS threads per worker, with nothing patched; it is there for sites that cannot run
gevent next to other code of theirs.
"""
from __future__ import annotations

from settings.model import ServerSettings


def gunicorn_worker_options(server: ServerSettings, *, workers: int | None = None) -> list[str]:
    """The gunicorn flags for `server`'s worker class, process count and concurrency.

    `workers` overrides `server.workers` (the `serve --workers` option). The same flags start the
    service and the ingest benchmark's bare baseline, so both run under one server model.
    """
    options = ["--workers", str(workers or server.workers), "--worker-class", server.worker_class]
    if server.worker_class == "gevent":
        return options + ["--worker-connections", str(server.worker_connections)]
    return options + ["--threads", str(server.threads)]
