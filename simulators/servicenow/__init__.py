"""A ServiceNow instance stand-in: the Table API, the project's signed event, a seeded desk.

Run it with `python -m simulators.servicenow --port 0` (see docs/simulators.md); tests start it
with `simulators.common.start_simulator("servicenow")`.
"""
