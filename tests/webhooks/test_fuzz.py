"""Fuzzed bodies and headers: the endpoint never answers 5xx, and stores nothing it did not verify."""
from __future__ import annotations

import base64
import json
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.webhooks.helpers import JIRA_SECRET, SNOW_SECRET
from webhooks.jira.verify import sign_jira_body
from webhooks.servicenow.verify import sign_servicenow_delivery

FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=120)
signature_like = st.one_of(
    header_text,
    st.binary(min_size=32, max_size=32).map(lambda raw: "sha256=" + raw.hex()),
    st.binary(min_size=32, max_size=32).map(lambda raw: "v1," + base64.b64encode(raw).decode()),
)
headers_strategy = st.fixed_dictionaries({}, optional={
    "Content-Type": st.sampled_from(["application/json", "text/plain", "application/json; charset=utf-8",
                                     "application/x+json", "multipart/form-data"]) | header_text,
    "X-Hub-Signature": signature_like,
    "X-Atlassian-Webhook-Identifier": header_text,
    "webhook-id": header_text,
    "webhook-timestamp": st.integers(min_value=-10, max_value=10 ** 13).map(str) | header_text,
    "webhook-signature": signature_like,
})

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(scalars, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.text(max_size=12), children, max_size=4), max_leaves=20)

# Payloads that look like each tool's, with every member free to have the wrong type.
jira_like = st.fixed_dictionaries({}, optional={
    "webhookEvent": st.sampled_from(["jira:issue_created", "jira:issue_updated", "jira:issue_deleted",
                                     "comment_created", "comment_updated", "sprint_started"]) | json_values,
    "timestamp": st.integers() | json_values,
    "user": st.fixed_dictionaries({}, optional={"accountId": json_values, "name": json_values}) | json_values,
    "issue": st.fixed_dictionaries({}, optional={
        "id": st.integers(min_value=0).map(str) | json_values, "key": json_values, "self": json_values,
        "fields": st.fixed_dictionaries({}, optional={
            "status": st.fixed_dictionaries({}, optional={"statusCategory": st.fixed_dictionaries(
                {}, optional={"key": st.sampled_from(["new", "done", "indeterminate"]) | json_values})}),
            "resolution": json_values})}) | json_values,
    "changelog": st.fixed_dictionaries({}, optional={
        "id": json_values,
        "items": st.lists(st.fixed_dictionaries({}, optional={
            "field": st.sampled_from(["status", "resolution", "assignee", "Assignment Group"]) | json_values,
            "fieldId": json_values, "from": json_values, "fromString": json_values,
            "to": json_values, "toString": json_values}) | json_values, max_size=4)}) | json_values,
    "comment": st.fixed_dictionaries({}, optional={
        "self": st.just("https://x/rest/api/2/issue/10/comment/3") | json_values, "body": json_values,
        "author": json_values, "jsdPublic": json_values, "properties": json_values}) | json_values,
})
servicenow_like = st.fixed_dictionaries({}, optional={
    "event_version": st.just(1) | json_values,
    "table": st.sampled_from(["incident", "change_request", "sc_req_item", "problem"]) | json_values,
    "sys_id": st.just("5f1c2b7e9a3d4c60b8e7f2a1d4c3b6a9") | json_values,
    "operation": st.sampled_from(["insert", "update", "delete"]) | json_values,
    "sys_mod_count": st.integers() | json_values,
    "sys_updated_by": json_values,
    "sys_updated_on": st.just("2026-11-23 10:00:00") | json_values,
    "changed_fields": st.lists(st.sampled_from(["state", "assigned_to", "reopen_count", "comments"])) | json_values,
    "record": st.dictionaries(st.sampled_from(["state", "assigned_to", "close_code", "number"]), json_values)
    | json_values,
    "previous": json_values,
    "comment": json_values,
})


@FUZZ
@given(body=st.binary(max_size=2000) | json_values.map(lambda value: json.dumps(value).encode()),
       headers=headers_strategy, connection=st.sampled_from(["jira", "snow"]))
def test_unverified_deliveries_are_refused_without_storing_anything(sender, body, headers, connection):
    response = sender.client.post(f"/webhooks/{connection}", data=body, headers=headers)
    assert response.status_code in (401, 413, 415), response.get_data(as_text=True)
    assert response.get_json()["error"] in ("unauthorized", "too_large", "unsupported_media")
    assert sender.stored_anything() == 0


@FUZZ
@given(payload=jira_like | json_values, identifier=header_text)
def test_signed_jira_shaped_payloads_never_cause_a_server_error(sender, payload, identifier):
    body = json.dumps(payload).encode()
    response = sender.client.post("/webhooks/jira", data=body, headers={
        "Content-Type": "application/json", "X-Atlassian-Webhook-Identifier": identifier,
        "X-Hub-Signature": sign_jira_body(body, JIRA_SECRET)})
    assert response.status_code in (200, 202, 400), response.get_data(as_text=True)


@FUZZ
@given(payload=servicenow_like | json_values, delivery_id=header_text.filter(lambda text: text.strip() != ""))
def test_signed_servicenow_shaped_payloads_never_cause_a_server_error(sender, payload, delivery_id):
    body = json.dumps(payload).encode()
    stamp = int(time.time())
    response = sender.client.post("/webhooks/snow", data=body, headers={
        "Content-Type": "application/json", "webhook-id": delivery_id, "webhook-timestamp": str(stamp),
        "webhook-signature": sign_servicenow_delivery(body, delivery_id, stamp, SNOW_SECRET)})
    assert response.status_code in (200, 202, 400), response.get_data(as_text=True)
