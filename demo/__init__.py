"""`python app.py demo`: the whole loop on this machine, in a minute.

Starts the ServiceNow and Jira simulators, the web service (gunicorn), a worker and the scheduler
on embedded defaults (SQLite in a temporary folder, throwaway secrets in the environment), drives
seeded ticket lifecycles through both simulators, lets simulated end users answer part of the
surveys, and prints what happens. Ctrl-C (or --seconds) stops every process it started.
"""
from demo.orchestrator import run_demo

__all__ = ["run_demo"]
