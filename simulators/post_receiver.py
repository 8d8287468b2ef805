"""A loopback HTTP/1.1 server that takes POSTs and answers each with a status and an empty body.

It stands where a simulator's webhooks go when only their sending is under test or measured:
`answer(headers, body)` gives each request's status. Connections are kept alive, as the
service's endpoint keeps them, and every request runs in a thread of its own.
"""
from __future__ import annotations

import threading
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


class PostReceiver:
    """Listens on 127.0.0.1 (an ephemeral port) at `url` from creation until `close()`."""

    def __init__(self, answer: Callable[[Message, bytes], int], path: str = "/hook") -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - the http.server naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(answer(self.headers, body))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}{path}"
        threading.Thread(target=self._server.serve_forever, name="post-receiver", daemon=True).start()

    def close(self) -> None:
        """Stop serving and release the port (requests still running finish on their own threads)."""
        self._server.shutdown()
        self._server.server_close()
