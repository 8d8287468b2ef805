"""The HTTP/1.1 request handler the simulators serve with: persistent connections, as the vendors'.

Werkzeug's development server answers every request with `Connection: close` (its handler
cannot tell where one request ends and the next begins once the app has left part of a body
unread), so every client request pays for a new TCP connection and the server for a new
thread. The real vendors keep connections open, and so do the service's HTTP clients.

`KeepAliveRequestHandler` keeps werkzeug's WSGI environ (so `werkzeug.socket`, which the
dropped-connection fault needs, is still there) and replaces how one exchange is run:

- the request body is read through a stream limited to its `Content-Length`; whatever the
  app leaves unread is read and discarded afterwards, so the next request starts where it
  should. A chunked request body, or an app failure after the headers went out, closes the
  connection after the answer instead;
- an answer without `Content-Length` is sent chunked (HTTP/1.1) or ends the connection;
- `Connection: close` is sent only when the connection is about to close (the client asked,
  HTTP/1.0 without keep-alive, or one of the cases above);
- TCP_NODELAY is set: the head and the body are two writes, and Nagle's algorithm would
  otherwise hold the body until the client acknowledged the head, which a client delaying its
  acknowledgements turns into a stall of tens of milliseconds on a reused connection;
- no access log line is formatted (the simulators log nothing per request).
"""
from __future__ import annotations

import logging
import socket

from werkzeug.exceptions import ClientDisconnected
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

log = logging.getLogger("simulators")

NO_BODY_STATUSES = frozenset({204, 304})
MAX_UNREAD_BODY = 10 * 1024 * 1024
"""A request body longer than this closes the connection after the answer instead of being
drained when the app leaves part of it unread."""


class KeepAliveRequestHandler(WSGIRequestHandler):
    """A werkzeug request handler that keeps HTTP/1.1 connections open between requests."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not a TCP socket (a Unix socket): nothing to tune

    def log_request(self, code="-", size="-") -> None:
        """No access log: werkzeug would format a line per request that nobody reads."""

    def run_wsgi(self) -> None:
        # `Expect: 100-continue` was answered by http.server's parse_request already
        self.environ = environ = self.make_environ()
        body = None
        if environ.get("wsgi.input_terminated"):
            self.close_connection = True  # a chunked body: no cheap way to skip what is left
        else:
            try:
                length = max(0, int(environ.get("CONTENT_LENGTH") or 0))
            except ValueError:
                length = 0
                self.close_connection = True
            if length > MAX_UNREAD_BODY:
                self.close_connection = True  # not worth draining if the app leaves it unread
            body = LimitedStream(self.rfile, length)
            environ["wsgi.input"] = body
        exchange = _Exchange(self)
        try:
            result = self.server.app(environ, exchange.start_response)
            try:
                for data in result:
                    exchange.write(data)
                exchange.finish()
            finally:
                if hasattr(result, "close"):
                    result.close()
        except (ConnectionError, socket.timeout, ClientDisconnected):
            self.close_connection = True  # the client (or a dropped-connection fault) left
            return
        except Exception:
            log.exception("simulator.server.request_failed")
            self.close_connection = True
            if not exchange.head_sent:
                exchange.send_plain_error()
            return
        if body is not None and not self.close_connection:
            try:
                body.exhaust()  # what the app left unread, so the next request starts clean
            except (ConnectionError, socket.timeout, ClientDisconnected):
                self.close_connection = True


class _Exchange:
    """The answer side of one request: WSGI `start_response`, the head, the body framing."""

    def __init__(self, handler: KeepAliveRequestHandler) -> None:
        self.handler = handler
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.head_sent = False
        self.chunked = False

    def start_response(self, status: str, headers: list, exc_info=None):
        if exc_info:
            try:
                if self.head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response called twice")
        self.status, self.headers = status, list(headers)
        return self.write

    def write(self, data: bytes) -> None:
        if not self.head_sent:
            self._send_head()
        if not data or self.handler.command == "HEAD":
            return
        if self.chunked:
            data = b"%x\r\n%s\r\n" % (len(data), data)
        self.handler.wfile.write(data)

    def finish(self) -> None:
        if not self.head_sent:
            self._send_head()
        if self.chunked:
            self.handler.wfile.write(b"0\r\n\r\n")

    def _send_head(self) -> None:
        if self.status is None:
            raise AssertionError("the application wrote before start_response")
        handler = self.handler
        code_text, _, reason = self.status.partition(" ")
        code = int(code_text)
        names = {name.lower() for name, _ in self.headers}
        body_allowed = code >= 200 and code not in NO_BODY_STATUSES and handler.command != "HEAD"
        if "content-length" not in names and body_allowed:
            if handler.request_version >= "HTTP/1.1":
                self.chunked = True
            else:
                handler.close_connection = True  # the end of the body is the end of the connection
        handler.send_response(code, reason)
        for name, value in self.headers:
            if name.lower() != "connection":
                handler.send_header(name, value)
        if self.chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        if handler.close_connection:
            handler.send_header("Connection", "close")
        handler.end_headers()
        self.head_sent = True

    def send_plain_error(self) -> None:
        """A bare 500 for an app that failed before answering (the connection then closes)."""
        body = b"Internal Server Error"
        self.status, self.headers = "500 INTERNAL SERVER ERROR", [
            ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
        try:
            self.write(body)
        except (ConnectionError, socket.timeout):
            pass
