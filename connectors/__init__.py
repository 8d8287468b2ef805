"""Connectors: the only code that speaks HTTP to an ITSM. One interface, one module per tool."""
