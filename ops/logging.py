"""Structured JSON logs with stable message keys, scrubbed of secrets.

Every log call uses a stable key as its message (`webhook.stored`, `jira.write.unchanged`) and
puts context in `extra` (`connection`, `ticket`, ...), so logs can be searched by key. The
formatter replaces every configured secret value, and anything shaped like an Authorization
header, with `[redacted]` in the finished line (message, extras and traceback alike).
"""
from __future__ import annotations

import logging
import os
import re
import sys

from pythonjsonlogger.json import JsonFormatter

AUTH_HEADER = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(basic|bearer)\s+[A-Za-z0-9+/=._\-]+")
REDACTED = "[redacted]"


class ScrubbingFormatter(logging.Formatter):
    """Wraps a formatter and removes secrets from everything it produced (message, extras, traceback)."""

    def __init__(self, inner: logging.Formatter, secrets: set[str] | None = None):
        super().__init__()
        self.inner = inner
        self.secrets = sorted({s for s in (secrets or set()) if s and len(s) >= 4}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return AUTH_HEADER.sub(lambda m: m.group(1) + m.group(2) + " " + REDACTED, text)

    def format(self, record: logging.LogRecord) -> str:
        return self.scrub(self.inner.format(record))


def configure_logging(level: str = "INFO", fmt: str = "json", secret_env_names: tuple[str, ...] = ()) -> None:
    """Route the root logger to stderr in JSON (or text), scrubbing the values of the named env vars."""
    secrets = {os.environ[name] for name in secret_env_names if os.environ.get(name)}
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        inner = JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                              rename_fields={"levelname": "level", "asctime": "time"})
    else:
        inner = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    handler.setFormatter(ScrubbingFormatter(inner, secrets))
    handler.set_name("xla-bridge")
    root = logging.getLogger()
    # Replace only our own handler, so test harnesses and embedding code keep theirs.
    root.handlers[:] = [h for h in root.handlers if h.get_name() != "xla-bridge"] + [handler]
    root.setLevel(level)
    for noisy in ("urllib3", "werkzeug", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def secret_env_names(settings) -> tuple[str, ...]:
    """Every environment variable the configuration names as holding a secret."""
    names = [settings.service.secret_key_env, settings.mail.password_env]
    for conn in settings.connections:
        names += [conn.auth.token_env, conn.webhook_secret_env]
    return tuple(n for n in names if n)
