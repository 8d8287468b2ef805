"""Sentiment at the point of experience: the caller's own comments are read as they arrive."""
from __future__ import annotations

import requests

from simulators.world import build_world
from storage.models import TicketState
from tests.stack import SN_ID, running_stack

CALLER_PASSWORD = "caller-sim-password"


def test_an_angry_caller_comment_lowers_the_tone_the_service_records(tmp_path, monkeypatch):
    callers = {p.user_name: CALLER_PASSWORD for p in build_world(42).people if p.kind == "employee"}
    with running_stack(tmp_path, monkeypatch, tools=("servicenow",), sim_users={"servicenow": callers}) as stack:
        sim = stack.sim(SN_ID)
        answer = requests.get(f"{sim.url}/api/now/table/incident", auth=("admin", stack.secret["agent"]), timeout=10,
                              params={"sysparm_query": "active=true^caller_idISNOTEMPTY", "sysparm_limit": 1,
                                      "sysparm_fields": "sys_id,number,caller_id.user_name"})
        incident = answer.json()["result"][0]
        caller = incident["caller_id.user_name"]
        update = requests.patch(f"{sim.url}/api/now/table/incident/{incident['sys_id']}", timeout=10,
                                auth=(caller, CALLER_PASSWORD),
                                json={"comments": "Terrible service. Nobody answers and I am still waiting, "
                                                  "this is really frustrating."})
        assert update.status_code == 200
        stack.drain()
        with stack.runtime.sessions() as session:
            state = session.get(TicketState, (SN_ID, f"incident:{incident['sys_id']}"))
        assert state is not None and state.caller_sentiment is not None and state.caller_sentiment < -0.3
