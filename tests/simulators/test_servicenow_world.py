"""The seeded world both simulators share, and the ServiceNow records built from it."""
from __future__ import annotations

import collections

import pytest
import requests

from simulators.world import LANGUAGES, SlaPlan, Step, TicketPlan, build_world
from tests.simulators.conftest import SERVICENOW_USERS

INTEGRATION = ("xla.integration", SERVICENOW_USERS["xla.integration"])
INCIDENT_ORDER = ("create", "assign", "resolve", "close")
CHANGE_ORDER = ("create", "assess", "authorize", "schedule", "implement", "review", "close")


@pytest.fixture(scope="module")
def world():
    return build_world(42)


class TestDeterminism:
    def test_same_seed_same_world(self):
        assert build_world(7) == build_world(7)

    def test_other_seed_other_world(self):
        assert build_world(7).tickets != build_world(8).tickets

    def test_same_seed_same_records_in_two_processes(self, start_sim):
        def snapshot(sim):
            return requests.get(f"{sim.url}/api/now/table/incident", auth=INTEGRATION, timeout=10, params={
                "sysparm_fields": "sys_id,number,state,caller_id,reassignment_count",
                "sysparm_exclude_reference_link": "true"}).json()["result"]
        first = snapshot(start_sim("servicenow", seed=7, users=SERVICENOW_USERS))
        second = snapshot(start_sim("servicenow", seed=7, users=SERVICENOW_USERS))
        other = snapshot(start_sim("servicenow", seed=8, users=SERVICENOW_USERS))
        assert first == second and len(first) > 10
        assert first != other


class TestPeople:
    def test_a_realistic_population(self, world):
        employees = world.employees
        assert len(employees) >= 30
        assert {p.language for p in employees} == set(LANGUAGES)
        assert any(p.vip for p in employees) and sum(p.vip for p in employees) < len(employees) / 4
        assert 1 <= sum(p.email is None for p in employees) <= 5
        assert len(world.system_accounts) == 2 and len(world.agents) >= 8
        assert len({p.user_name for p in world.people}) == len(world.people)
        assert all(p.email.endswith("@example.com") for p in world.people if p.email)

    def test_groups_are_staffed_by_agents(self, world):
        agents = {a.id for a in world.agents}
        for group in world.groups:
            assert group.members and set(group.members) <= agents
            assert group.manager in group.members


class TestTicketPlans:
    def test_kinds_and_phases(self, world):
        kinds = collections.Counter(t.kind for t in world.tickets)
        assert kinds["incident"] > kinds["request"] > 0 and kinds["change"] > 0
        open_now = [t for t in world.tickets if t.is_seeded() and t.steps[-1].at_min > 0]
        closed = [t for t in world.tickets if t.steps[-1].at_min <= 0]
        planned = [t for t in world.tickets if not t.is_seeded()]
        assert len(open_now) >= 20 and len(closed) >= 15 and len(planned) >= 20

    def test_lifecycles_run_in_a_sensible_order(self, world):
        for ticket in world.tickets:
            times = [s.at_min for s in ticket.steps]
            assert times == sorted(times), ticket.id
            actions = [s.action for s in ticket.steps]
            order = CHANGE_ORDER if ticket.kind == "change" else INCIDENT_ORDER
            positions = [actions.index(a) for a in order]
            assert positions == sorted(positions), (ticket.id, actions)
            for index, action in enumerate(actions):
                if action == "reopen":
                    assert "resolve" in actions[index + 1:], ticket.id
                if action == "hold":
                    assert actions[index + 1] == "resume", ticket.id
            if ticket.kind == "change":
                assert ticket.steps[-1].code in ("successful", "failed")

    def test_spread_of_reassignments_reopens_and_breaches(self, world):
        incidents = [t for t in world.tickets if t.kind == "incident"]
        reassignments = collections.Counter(sum(s.action == "reassign" for s in t.steps) for t in incidents)
        assert reassignments[0] > 0 and sum(n for k, n in reassignments.items() if k >= 2) > 0
        assert any(s.action == "reopen" for t in incidents for s in t.steps)
        final = [t.sla_status(sla, len(t.steps)) for t in incidents for sla in t.slas]
        breached = sum(s.has_breached for s in final)
        assert 0 < breached < len(final)

    def test_major_incidents_have_children_on_their_ci(self, world):
        majors = [t for t in world.tickets if t.major_incident]
        assert len(majors) == 2
        for major in majors:
            children = [t for t in world.tickets if t.parent == major.id]
            assert len(children) >= 2 and all(c.ci == major.ci for c in children)
            assert major.priority == 1

    def test_changes_touch_cis_that_have_incidents(self, world):
        incident_cis = {t.ci for t in world.tickets if t.kind == "incident" and t.ci}
        assert any(t.ci in incident_cis for t in world.tickets if t.kind == "change")

    def test_pending_steps_are_in_time_order_and_all_after_the_anchor(self, world):
        pending = world.pending_steps()
        times = [plan.steps[index].at_min for plan, index in pending]
        assert times == sorted(times) and all(t > 0 for t in times)


class TestSlaStatus:
    PLAN = TicketPlan(
        id="t", kind="incident", title="x", description="x", caller="p", opened_by="p", service="s",
        ci=None, category="c", channel="phone", impact=3, urgency=3, priority=5,
        slas=(SlaPlan("response", "response", 30), SlaPlan("resolution", "resolution", 100)),
        steps=(Step(0, "create", "p"), Step(20, "assign", "a"), Step(50, "hold", "a"),
               Step(500, "resume", "a"), Step(560, "resolve", "a"), Step(600, "reopen", "p"),
               Step(700, "resolve", "a")))

    def test_response_completes_at_assignment(self):
        status = self.PLAN.sla_status(self.PLAN.slas[0], 2)
        assert (status.stage, status.has_breached, status.elapsed_min) == ("completed", False, 20)

    def test_hold_pauses_the_resolution_clock(self):
        paused = self.PLAN.sla_status(self.PLAN.slas[1], 3)
        assert (paused.stage, paused.elapsed_min) == ("paused", 50)
        resolved = self.PLAN.sla_status(self.PLAN.slas[1], 5)
        assert (resolved.stage, resolved.elapsed_min, resolved.has_breached) == ("completed", 110, True)

    def test_reopen_runs_the_clock_again(self):
        final = self.PLAN.sla_status(self.PLAN.slas[1], 7)
        assert final.elapsed_min == 210 and final.percentage == 210.0
