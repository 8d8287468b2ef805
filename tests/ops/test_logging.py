"""Logs are JSON with stable keys and context, and never carry a secret."""
from __future__ import annotations

import json
import logging

from ops.logging import configure_logging


def test_json_line_with_key_and_context_and_secrets_scrubbed(monkeypatch, capsys):
    monkeypatch.setenv("XLA_TEST_TOKEN", "s3cr3t-token-value")
    configure_logging("INFO", "json", ("XLA_TEST_TOKEN",))
    log = logging.getLogger("xla.test")
    log.warning("jira.write.failed", extra={"connection": "jira-cloud", "ticket": "10001",
                                            "detail": "sent Authorization: Basic QWxhZGRpbjpvcGVu with s3cr3t-token-value"})
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["message"] == "jira.write.failed"
    assert record["connection"] == "jira-cloud" and record["ticket"] == "10001"
    assert "s3cr3t-token-value" not in line and "QWxhZGRpbjpvcGVu" not in line
    assert record["detail"] == "sent Authorization: Basic [redacted] with [redacted]"


def test_exception_text_is_scrubbed_too(monkeypatch, capsys):
    monkeypatch.setenv("XLA_TEST_TOKEN", "another-secret-value")
    configure_logging("INFO", "json", ("XLA_TEST_TOKEN",))
    try:
        raise RuntimeError("login failed for another-secret-value")
    except RuntimeError:
        logging.getLogger("xla.test").exception("connector.crashed")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "another-secret-value" not in line and "[redacted]" in line
