"""Webhook ingestion: the first hop of every ticket event.

One sub-package per tool (`jira/`, `servicenow/`) knows that tool's signature scheme
(`verify.py`) and payload shapes (`parse.py`); nothing outside them reads a vendor payload.
`endpoint.py` is the HTTP face, `inbox.py` the durable store (inbox row and processing job in one
transaction, committed before the 202), `quarantine.py` keeps what could not be recognised.
"""
