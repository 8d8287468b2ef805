"""Signature matrix for both tools: only correctly signed, fresh deliveries get past the door.

A rejected delivery is answered 401 and leaves nothing behind: no inbox row, no job, no
quarantine entry (nothing is parsed before the signature holds).
"""
from __future__ import annotations

import time

import pytest

from tests.webhooks.helpers import (JIRA_SECRET, JIRA_SECRET_ENV, SNOW_SECRET, SNOW_SECRET_ENV, counted,
                                    fixture_body)
from webhooks.errors import SignatureRejected
from webhooks.jira.verify import sign_jira_body
from webhooks.servicenow.verify import sign_servicenow_delivery, verify_servicenow_signature

JIRA_BODY = fixture_body("jira", "issue_updated__resolved")
SNOW_BODY = fixture_body("servicenow", "incident_update__resolved")
SNOW_ID = "incident.5f1c2b7e9a3d4c60b8e7f2a1d4c3b6a9.7"


def assert_rejected(sender, response, connection: str, reason: str, before: float):
    assert response.status_code == 401
    assert response.get_json() == {"error": "unauthorized", "message": f"signature check failed: {reason}"}
    assert sender.stored_anything() == 0
    assert counted(connection, "unauthorized") == before + 1


# ---------------------------------------------------------------------------------------------- Jira

def test_jira_right_signature_is_accepted(sender):
    assert sender.jira(JIRA_BODY).status_code == 202


@pytest.mark.parametrize("case, reason", [
    ("tampered_body", "signature_mismatch"),
    ("wrong_secret", "signature_mismatch"),
    ("missing", "signature_missing"),
    ("sha1_method", "signature_malformed"),
    ("not_hex", "signature_malformed"),
    ("short_digest", "signature_malformed"),
    ("no_method", "signature_malformed"),
])
def test_jira_bad_signature_is_401_and_nothing_is_stored(sender, case, reason):
    good = sign_jira_body(JIRA_BODY, JIRA_SECRET)
    header = {
        "tampered_body": good,
        "wrong_secret": sign_jira_body(JIRA_BODY, "another-secret"),
        "missing": None,
        "sha1_method": "sha1=" + good[len("sha256="):][:40],
        "not_hex": "sha256=" + "zz" * 32,
        "short_digest": good[:-2],
        "no_method": good[len("sha256="):],
    }[case]
    body = JIRA_BODY.replace(b'"Resolved"', b'"Resolvd"') if case == "tampered_body" else JIRA_BODY
    before = counted("jira", "unauthorized")
    headers = {"X-Hub-Signature": header} if header is not None else {}
    response = sender.jira(body, secret=None, headers=headers)
    assert_rejected(sender, response, "jira", reason, before)


def test_jira_rotation_accepts_the_previous_and_the_new_secret(make_app, monkeypatch):
    from tests.webhooks.helpers import WebhookSender

    monkeypatch.setenv(JIRA_SECRET_ENV, "the-new-secret")
    monkeypatch.setenv(JIRA_SECRET_ENV + "_PREVIOUS", JIRA_SECRET)
    app = make_app()
    sender = WebhookSender(app, app.test_client())
    assert sender.jira(JIRA_BODY, secret=JIRA_SECRET).status_code == 202
    assert sender.jira(fixture_body("jira", "issue_updated__reopened"), secret="the-new-secret").status_code == 202
    assert sender.jira(JIRA_BODY, secret="an-old-old-secret").status_code == 401
    assert len(sender.inbox()) == 2


def test_jira_secret_variable_unset_is_503_so_the_sender_retries(sender, monkeypatch):
    monkeypatch.delenv(JIRA_SECRET_ENV)
    before = counted("jira", "unavailable")
    response = sender.jira(JIRA_BODY)
    assert response.status_code == 503
    assert response.get_json()["error"] == "unavailable"
    assert response.headers["Retry-After"]
    assert sender.stored_anything() == 0
    assert counted("jira", "unavailable") == before + 1


# ----------------------------------------------------------------------------------------- ServiceNow

def test_servicenow_right_signature_is_accepted(sender):
    assert sender.servicenow(SNOW_BODY).status_code == 202


def test_servicenow_timestamp_just_inside_the_tolerance_is_accepted(sender):
    assert sender.servicenow(SNOW_BODY, timestamp=int(time.time()) - 290).status_code == 202


def test_servicenow_several_signatures_one_valid_is_accepted(sender):
    stamp = int(time.time())
    valid = sign_servicenow_delivery(SNOW_BODY, SNOW_ID, stamp, SNOW_SECRET)
    header = " ".join(["v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", "v1a,c2lnbmVkLWVsc2V3aGVyZQ==", valid])
    response = sender.servicenow(SNOW_BODY, secrets=(), timestamp=stamp, headers={"webhook-signature": header})
    assert response.status_code == 202


@pytest.mark.parametrize("case, reason", [
    ("tampered_body", "signature_mismatch"),
    ("wrong_secret", "signature_mismatch"),
    ("other_id", "signature_mismatch"),
    ("missing_signature", "signature_missing"),
    ("missing_id", "id_missing"),
    ("missing_timestamp", "timestamp_missing"),
    ("timestamp_not_a_number", "timestamp_malformed"),
    ("timestamp_in_milliseconds", "timestamp_malformed"),
    ("stale_timestamp", "timestamp_too_old"),
    ("future_timestamp", "timestamp_too_new"),
    ("no_version_prefix", "signature_malformed"),
    ("not_base64", "signature_malformed"),
    ("only_other_versions", "signature_malformed"),
])
def test_servicenow_bad_signature_is_401_and_nothing_is_stored(sender, case, reason):
    now = int(time.time())
    good = sign_servicenow_delivery(SNOW_BODY, SNOW_ID, now, SNOW_SECRET)
    body, headers = SNOW_BODY, {"webhook-signature": good, "webhook-id": SNOW_ID, "webhook-timestamp": str(now)}
    if case == "tampered_body":
        body = SNOW_BODY.replace(b'"6"', b'"7"')
    elif case == "wrong_secret":
        headers["webhook-signature"] = sign_servicenow_delivery(SNOW_BODY, SNOW_ID, now, "whsec_d3JvbmctZW50aXJlbHk=")
    elif case == "other_id":
        headers["webhook-id"] = SNOW_ID.replace(".7", ".8")
    elif case == "missing_signature":
        headers["webhook-signature"] = None
    elif case == "missing_id":
        headers["webhook-id"] = None
    elif case == "missing_timestamp":
        headers["webhook-timestamp"] = None
    elif case == "timestamp_not_a_number":
        headers["webhook-timestamp"] = "yesterday"
    elif case == "timestamp_in_milliseconds":
        headers["webhook-timestamp"] = str(now * 1000)
    elif case == "stale_timestamp":
        headers["webhook-timestamp"] = str(now - 301)
        headers["webhook-signature"] = sign_servicenow_delivery(SNOW_BODY, SNOW_ID, now - 301, SNOW_SECRET)
    elif case == "future_timestamp":
        headers["webhook-timestamp"] = str(now + 301)
        headers["webhook-signature"] = sign_servicenow_delivery(SNOW_BODY, SNOW_ID, now + 301, SNOW_SECRET)
    elif case == "no_version_prefix":
        headers["webhook-signature"] = good[len("v1,"):]
    elif case == "not_base64":
        headers["webhook-signature"] = "v1,***not-base64***"
    elif case == "only_other_versions":
        headers["webhook-signature"] = good.replace("v1,", "v2,")
    before = counted("snow", "unauthorized")
    # Sent raw: the sender helper would sign again.
    sent = {"Content-Type": "application/json", **{k: v for k, v in headers.items() if v is not None}}
    response = sender.client.post("/webhooks/snow", data=body, headers=sent)
    assert_rejected(sender, response, "snow", reason, before)


def test_servicenow_rotation_accepts_the_previous_and_the_new_secret(make_app, monkeypatch):
    from tests.webhooks.helpers import WebhookSender

    new_secret = "a plain secret (no whsec_ prefix) used as its UTF-8 bytes"
    monkeypatch.setenv(SNOW_SECRET_ENV, new_secret)
    monkeypatch.setenv(SNOW_SECRET_ENV + "_PREVIOUS", SNOW_SECRET)
    app = make_app()
    sender = WebhookSender(app, app.test_client())
    assert sender.servicenow(SNOW_BODY, secrets=(SNOW_SECRET,)).status_code == 202
    other = fixture_body("servicenow", "incident_update__closed")
    assert sender.servicenow(other, secrets=(new_secret,)).status_code == 202
    # During the switch the Business Rule may send both signatures at once.
    third = fixture_body("servicenow", "incident_update__reopened")
    assert sender.servicenow(third, secrets=(SNOW_SECRET, new_secret)).status_code == 202
    assert sender.servicenow(fixture_body("servicenow", "incident_insert"),
                             secrets=("whsec_b2xkLW9sZC1zZWNyZXQ=",)).status_code == 401
    assert len(sender.inbox()) == 3


def test_servicenow_secret_that_is_not_base64_after_whsec_is_503(sender, monkeypatch):
    monkeypatch.setenv(SNOW_SECRET_ENV, "whsec_***")
    response = sender.servicenow(SNOW_BODY, secrets=(), headers={"webhook-signature": "v1,AAAA"})
    assert response.status_code == 503
    assert sender.stored_anything() == 0


def test_standard_webhooks_published_test_vector():
    """The vector of standard-webhooks/standard-webhooks (libraries/python/tests/test_webhooks.py)."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    msg_id, timestamp, payload = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert sign_servicenow_delivery(payload, msg_id, timestamp, secret) == expected
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": expected}
    verify_servicenow_signature(payload, headers, [secret], now=timestamp + 10, tolerance_s=300)
    # Without the prefix the same secret is a different key (UTF-8 bytes), so the vector must fail.
    with pytest.raises(SignatureRejected):
        verify_servicenow_signature(payload, headers, [secret[len("whsec_"):]], now=timestamp, tolerance_s=300)
    with pytest.raises(SignatureRejected, match="timestamp_too_old"):
        verify_servicenow_signature(payload, headers, [secret], now=timestamp + 301, tolerance_s=300)
