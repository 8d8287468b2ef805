"""Structured JSON logs with stable message keys, scrubbed of secrets.

Every log call uses a stable key as its message (`webhook.stored`, `jira.write.unchanged`) and
puts context in `extra` (`connection`, `ticket`, ...), so logs can be searched by key. A filter
replaces any configured secret value, and anything shaped like an Authorization header, with
`[redacted]` before a record is written.
"""
from __future__ import annotations

import logging
import os
import re
import sys

from pythonjsonlogger.json import JsonFormatter

AUTH_HEADER = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(basic|bearer)\s+[A-Za-z0-9+/=._\-]+")
REDACTED = "[redacted]"


class SecretScrubber(logging.Filter):
    """Remove secret values from messages, arguments and extra fields of every record."""

    def __init__(self, secrets: set[str] | None = None):
        super().__init__()
        self.secrets = {s for s in (secrets or set()) if s and len(s) >= 4}

    def scrub(self, value):
        if isinstance(value, str):
            for secret in self.secrets:
                if secret in value:
                    value = value.replace(secret, REDACTED)
            return AUTH_HEADER.sub(lambda m: m.group(1) + m.group(2) + " " + REDACTED, value)
        if isinstance(value, dict):
            return {k: self.scrub(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.scrub(v) for v in value)
        return value

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        record.msg = self.scrub(record.msg) if isinstance(record.msg, str) else record.msg
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS:
                record.__dict__[key] = self.scrub(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
        return True


_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def configure_logging(level: str = "INFO", fmt: str = "json", secret_env_names: tuple[str, ...] = ()) -> None:
    """Route the root logger to stderr in JSON (or text), scrubbing the values of the named env vars."""
    secrets = {os.environ[name] for name in secret_env_names if os.environ.get(name)}
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                           rename_fields={"levelname": "level", "asctime": "time"}))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(SecretScrubber(secrets))
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
