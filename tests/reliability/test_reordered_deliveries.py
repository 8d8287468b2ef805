"""Scenario 3: duplicated and reordered deliveries end in the same ticket state as in-order ones.

Two Jira simulators built from the same seed hold the same issues. The same changes are made on
both, in the same order, by the same people: a caller complains in a comment, an agent
reassigns, the caller thanks in a second comment, the agent resolves. The `ordered` simulator
delivers its webhooks as they happen and each round is processed before the next (in-order
processing, the reference). The `shuffled` one keeps its deliveries until the end and then sends
them all in a random order, a third of them twice. Both connections belong to one service (its
knowledge of other tickets is per connection), and afterwards the experience fields of every
issue must be the same on both simulators.

Jira's events carry the comment text, which the service reads for the caller's tone: the one
thing a fresh read of the issue cannot put back in order. Resolution targets are set far
away for this scenario, so that two issues resolved a few milliseconds apart on two simulators
started a second apart score the same.
"""
from __future__ import annotations

import random
import secrets

from simulators.world import build_world
from tests.reliability.deployment import SimulatorSpec
from tests.reliability.jira_desk import JiraDesk

ORDERED, SHUFFLED = "ordered", "shuffled"
COMPLAINT = "This is terrible. Nothing works, I lost a whole day of work and I am really angry."
THANKS = "Thank you so much, everything works perfectly now. Great help, I am very happy!"
FAR_TARGETS = {"indicators": {"resolution_time": {"target_hours": {
    kind: {str(priority): 1_000_000.0 for priority in range(1, 6)} for kind in ("incident", "request")}}}}
ISSUES = 5


def test_shuffled_and_repeated_deliveries_end_as_in_order_processing(deployment_factory):
    rng = random.Random(3)
    password = secrets.token_urlsafe(12)
    employees = [person for person in build_world(42).employees if person.email]
    callers = {person.email: password for person in employees}
    quiet = {"surveys": {"enabled": False}}  # a survey comment is not what this scenario compares
    deployment = deployment_factory(
        [SimulatorSpec(ORDERED, "jira", extra_users=callers, connection=quiet),
         SimulatorSpec(SHUFFLED, "jira", send_webhooks=False, extra_users=callers, connection=quiet)],
        config={"scoring": FAR_TARGETS})
    deployment.serve()
    deployment.worker("worker-1")
    desks = {connection: JiraDesk(deployment.sims[connection], deployment.agent(connection))
             for connection in (ORDERED, SHUFFLED)}

    by_name = {person.name: person for person in employees}
    chosen, reporters = [], set()
    for issue in desks[ORDERED].open_incidents():
        reporter = by_name.get((issue["fields"].get("reporter") or {}).get("displayName"))
        if reporter is not None and reporter.id not in reporters:
            reporters.add(reporter.id)
            chosen.append((issue["id"], (reporter.email, password)))
    chosen = chosen[:ISSUES]
    assert len(chosen) == ISSUES
    groups = desks[ORDERED].assignment_groups(chosen[0][0])

    rounds = [
        lambda desk, issue, caller: desk.comment(issue, COMPLAINT, caller),
        lambda desk, issue, caller: desk.set_assignment_group(issue, rng_groups[issue]),
        lambda desk, issue, caller: desk.comment(issue, THANKS, caller),
        lambda desk, issue, caller: desk.resolve(issue),
    ]
    rng_groups = {issue: rng.choice(groups) for issue, _ in chosen}
    for change in rounds:
        for issue, caller in chosen:
            for desk in desks.values():          # the same change on both, one right after the other
                change(desk, issue, caller)
        deployment.wait_settled(timeout_s=120)   # the ordered side is processed round by round

    held = deployment.sims[SHUFFLED].deliveries()
    assert held and all(delivery["status"] == "no_url" for delivery in held)
    deployment.point_webhooks_at_service(SHUFFLED)
    resend = [delivery["id"] for delivery in held] + [d["id"] for d in rng.sample(held, k=len(held) // 3)]
    rng.shuffle(resend)
    for number in resend:
        deployment.sims[SHUFFLED].admin("POST", f"/deliveries/{number}/redeliver")
    deployment.wait_settled(timeout_s=120)

    differences = {}
    for issue, _ in chosen:
        in_order, shuffled = desks[ORDERED].experience(issue), desks[SHUFFLED].experience(issue)
        assert in_order["Experience Score"] is not None, f"issue {issue} was scored"
        if in_order != shuffled:
            differences[issue] = {"in order": in_order, "shuffled": shuffled}
    print(f"\nreorder figures: issues {ISSUES}, changes {len(rounds) * ISSUES} per simulator, deliveries "
          f"{len(held)} resent {len(resend)} times in random order, differing issues {len(differences)}")
    assert differences == {}, differences
