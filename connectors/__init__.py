"""Connectors: the only code that speaks HTTP to an ITSM. One interface, one module per tool."""

from connectors.factory import make_connector  # noqa: E402  (the one entry point the service needs)

__all__ = ["make_connector"]
