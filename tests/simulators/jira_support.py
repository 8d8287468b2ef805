"""Helpers of the Jira simulator tests: start a simulator, call it as a user would, list JSON shapes."""
from __future__ import annotations

import re
import secrets

import requests

from simulators.common import SimulatorProcess, start_simulator

AGENT_LOGIN = "agent@example.com"
INTEGRATION_LOGIN = "xla-bridge@example.com"
READ_ONLY_LOGIN = "auditor@example.com"
# Throwaway credentials, new for every test session.
PASSWORDS = {AGENT_LOGIN: secrets.token_urlsafe(12), INTEGRATION_LOGIN: secrets.token_urlsafe(12),
             READ_ONLY_LOGIN: secrets.token_urlsafe(12)}
DC_TOKENS = {"xla-bridge": secrets.token_urlsafe(16)}
WEBHOOK_SECRET = secrets.token_urlsafe(16)
FAST_RETRIES = ("--webhook-retry-delays", "0.05,0.1,0.2")


def start_jira(deployment: str, *, webhook_url: str | None = None, secret: str | None = WEBHOOK_SECRET,
               extra_args: tuple[str, ...] = (), seed: int = 42) -> SimulatorProcess:
    """A Jira simulator process of the given deployment (`cloud` or `datacenter`)."""
    return start_simulator(
        "jira", seed=seed, users=PASSWORDS, tokens=DC_TOKENS if deployment == "datacenter" else None,
        webhook_url=webhook_url, webhook_secret=secret if webhook_url else None,
        extra_args=("--deployment", deployment, "--read-only-users", READ_ONLY_LOGIN, *FAST_RETRIES,
                    *extra_args))


class JiraApi:
    """REST v2 calls as one user: Cloud basic auth, or a Data Center bearer token."""

    def __init__(self, sim: SimulatorProcess, login: str = INTEGRATION_LOGIN, *, bearer: str | None = None):
        self.sim = sim
        self.base = f"{sim.url}/rest/api/2"
        self.session = requests.Session()
        if bearer is not None:
            self.session.headers["Authorization"] = f"Bearer {bearer}"
        else:
            self.session.auth = (login, PASSWORDS[login])

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, self.base + path, timeout=10, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def put(self, path: str, **kwargs) -> requests.Response:
        return self.call("PUT", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.call("POST", path, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.call("DELETE", path, **kwargs)

    def myself(self) -> dict:
        response = self.get("/myself")
        assert response.status_code == 200, response.text
        return response.json()

    def user_ref(self) -> dict:
        """How this deployment names the caller in a user field."""
        me = self.myself()
        return {"accountId": me["accountId"]} if "accountId" in me else {"name": me["name"]}

    def new_issue(self, summary: str = "Printer on the third floor jams", **fields) -> dict:
        """Create an incident (for the Printing service unless told otherwise); returns `{id, key, self}`."""
        fields.setdefault("components", [{"name": "Printing"}])
        body = {"project": {"key": "SD"}, "issuetype": {"name": "Incident"}, "summary": summary, **fields}
        response = self.post("/issue", json={"fields": body})
        assert response.status_code == 201, response.text
        return response.json()

    def issue(self, ref: str, **params) -> dict:
        response = self.get(f"/issue/{ref}", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def transition_to(self, ref: str, name: str, **body) -> None:
        """Take the available transition called `name` (asserting it is available)."""
        listed = self.get(f"/issue/{ref}/transitions").json()["transitions"]
        chosen = [t for t in listed if t["name"] == name]
        assert chosen, f"no transition {name!r} from here; available: {[t['name'] for t in listed]}"
        response = self.post(f"/issue/{ref}/transitions", json={"transition": {"id": chosen[0]["id"]}, **body})
        assert response.status_code == 204, response.text

    def search(self, jql: str, **params) -> dict:
        response = self.get("/search", params={"jql": jql, **params})
        assert response.status_code == 200, response.text
        return response.json()


def key_paths(value: object, prefix: str = "") -> set[str]:
    """Every key path of nested JSON: `a.b`, list elements as `a[]`.

    Custom field ids are instance configuration (`customfield_10072` on one site is another
    field elsewhere), so they collapse to `customfield_*` and are not descended into.
    """
    paths: set[str] = set()
    if isinstance(value, dict):
        for key, child in value.items():
            name = "customfield_*" if re.fullmatch(r"customfield_\d+", key) else key
            path = f"{prefix}.{name}" if prefix else name
            paths.add(path)
            if name != "customfield_*":
                paths |= key_paths(child, path)
    elif isinstance(value, list):
        for child in value:
            paths |= key_paths(child, prefix + "[]")
    return paths
