"""The webhook side of each tool, by slug: how its deliveries are verified and parsed.

Adding a tool means adding one entry here and a sub-package beside `jira/` and `servicenow/`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from webhooks.jira.parse import jira_actor_ids, parse_jira_event
from webhooks.jira.verify import verify_jira_signature
from webhooks.outcomes import ParseOutcome
from webhooks.servicenow.parse import parse_servicenow_event, servicenow_actor_ids
from webhooks.servicenow.verify import verify_servicenow_signature

# Headers worth keeping with a quarantined payload: enough to parse it again (delivery ids),
# never credentials or signatures.
KEPT_HEADERS = ("Content-Type", "User-Agent", "X-Atlassian-Webhook-Identifier", "X-Atlassian-Webhook-Retry",
                "X-Atlassian-Webhook-Flow", "webhook-id", "webhook-timestamp")


@dataclass(frozen=True)
class WebhookTool:
    # verify(body, headers, secrets, now=..., tolerance_s=...) -> None, raises SignatureRejected
    verify: Callable[..., None]
    # parse(connection_id, headers, payload) -> TicketEvent | Ignored | Unsupported | Unrecognised
    parse: Callable[[str, Mapping[str, str], Any], ParseOutcome]
    # actor_ids(payload, deployment) -> every spelling naming who made the change (the loop guard's actor)
    actor_ids: Callable[[Any, str], tuple[str, ...]]


TOOLS: dict[str, WebhookTool] = {
    "jira": WebhookTool(verify=verify_jira_signature, parse=parse_jira_event, actor_ids=jira_actor_ids),
    "servicenow": WebhookTool(verify=verify_servicenow_signature, parse=parse_servicenow_event,
                              actor_ids=servicenow_actor_ids),
}


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The subset of `headers` stored beside a quarantined body (see KEPT_HEADERS)."""
    kept = {}
    for name in KEPT_HEADERS:
        value = headers.get(name)
        if value:
            kept[name] = value.replace("\x00", "")[:500]
    return kept

