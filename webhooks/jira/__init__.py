"""Jira Cloud and Data Center webhooks: `verify.py` checks `X-Hub-Signature`, `parse.py` reads payloads."""
