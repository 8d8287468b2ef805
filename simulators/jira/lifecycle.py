"""The seeded world in Jira terms: its people as users, its tickets as Service Desk issues.

`build_instance` turns a `simulators.world.World` into a `JiraInstance` (users, components,
the field catalogue) and replays every ticket's history through the same `JiraInstance` methods
the REST API uses, with the planned past timestamps, so seeded issues carry real changelogs,
comments and worklogs. `LifecyclePlayer.play` maps one world `Step` to Jira operations; the
scenario uses it to move tickets forward at the current time, and its events become webhooks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from simulators.jira.directory import JiraUser, UserDirectory
from simulators.jira.fields import (ASSIGNMENT_GROUP, CONFIGURATION_ITEM, MAJOR_INCIDENT,
                                    REQUEST_CHANNEL, FieldCatalogue)
from simulators.jira.instance import (INTERNAL_COMMENT_PROPERTY, Component, IssueEvent, JiraError,
                                      JiraInstance)
from simulators.jira.issues import PROJECT_KEY
from simulators.jira.workflow import STATUSES, transition_to
from simulators.world import Step, TicketPlan, World, at_minutes

ISSUE_TYPE_OF_KIND = {"incident": "Incident", "request": "Service Request", "change": "Change"}
TIME_ZONES = {"GB": "Europe/London", "DE": "Europe/Berlin", "FR": "Europe/Paris",
              "ES": "Europe/Madrid", "NL": "Europe/Amsterdam"}
CHANNEL_NAMES = {"self-service": "Portal", "email": "Email", "phone": "Phone", "chat": "Chat",
                 "walk-in": "Walk-in", "monitoring": "Email"}
# Where each world action leads, by issue type: the status to reach (None: no status change).
TARGET_STATUS = {
    "Incident": {"hold": "10011", "resume": "10010", "resolve": "5", "reopen": "1", "close": "6"},
    "Service Request": {"hold": "10014", "resume": "3", "resolve": "5", "reopen": "10013", "close": "6"},
    "Change": {"authorize": "10017", "implement": "10018", "review": "10021"},
}
START_WORK = {"Incident": "10010", "Service Request": "3"}
NOT_REPRODUCIBLE = "Not Solved (Not Reproducible)"
# Texts of these actions are customer-visible unless the step says otherwise; the rest
# (work notes, reassignment notes) are internal comments.
PUBLIC_BY_DEFAULT = ("comment", "hold", "resolve", "reopen")


def person_to_user(person) -> JiraUser:
    """A world person as a Jira user (agents and automation accounts are licensed agents)."""
    return JiraUser(handle=person.id, name=person.user_name, display_name=person.name or person.user_name,
                    email=person.email, time_zone=TIME_ZONES.get(person.country, "Etc/UTC"),
                    active=person.active, agent=person.kind in ("agent", "system"))


def build_catalogue(world: World) -> FieldCatalogue:
    return FieldCatalogue.build([g.name for g in world.groups], [ci.name for ci in world.cis])


def build_components(world: World) -> list[Component]:
    return [Component(str(10000 + index), service.name,
                      f"{service.name} (criticality {service.criticality})")
            for index, service in enumerate(world.services)]


@dataclass
class LifecyclePlayer:
    """Plays world steps on a `JiraInstance`; remembers which issue each ticket plan became."""

    world: World
    instance: JiraInstance
    anchor: datetime
    issue_of_plan: dict[str, str] = field(default_factory=dict)

    def play(self, plan: TicketPlan, step: Step, at: datetime | None = None) -> list[IssueEvent]:
        """Apply one step (at `at`, or now) and return the events it caused.

        Raises JiraError when the issue has moved on in a way the step cannot follow (deleted,
        or already in a status the plan did not expect); the scenario reports that as skipped.
        """
        if step.action == "create":
            return self._create(plan, step, at)
        issue_id = self.issue_of_plan.get(plan.id)
        if issue_id is None:
            raise JiraError(404, [f"ticket {plan.id} has no issue"])
        issue = self.instance.require(issue_id)
        actor = step.actor or plan.opened_by
        events: list[IssueEvent] = []
        if step.action in ("assign", "reassign", "assess"):
            events += self._assign(issue_id, actor, step, at)
            if step.action == "assess":
                events += self._move(issue_id, actor, "10016", at)
            elif STATUSES[issue.status_id].category.key == "new" and issue.issue_type in START_WORK:
                events += self._move(issue_id, actor, START_WORK[issue.issue_type], at)
        elif step.action == "schedule":
            start = plan.planned_start_min if plan.planned_start_min is not None else step.at_min
            due = at_minutes(self.anchor, start).date().isoformat()
            events += self.instance.edit_issue(actor, issue_id, {"fields": {"duedate": due}}, at=at)
        elif step.action == "close" and issue.issue_type == "Change":
            target = "10020" if step.code == "failed" else "10019"
            events += self._move(issue_id, actor, target, at)
        elif step.action in ("comment", "work_note"):
            pass  # the text is added below
        else:
            target = TARGET_STATUS.get(issue.issue_type, {}).get(step.action)
            if target is not None:
                if step.action == "resolve" and issue.status_id != target:
                    # refuse before logging work, so a skipped step leaves no trace
                    if transition_to(issue.issue_type, issue.status_id, target) is None:
                        raise JiraError(400, [f"no transition from {STATUSES[issue.status_id].name} "
                                              f"to {STATUSES[target].name}"])
                    events += self._log_work(issue_id, actor, plan, at)
                resolution = "Cannot Reproduce" if step.code == NOT_REPRODUCIBLE else "Done"
                events += self._move(issue_id, actor, target, at, resolution=resolution)
        if step.text:
            public = step.public if step.public is not None else step.action in PUBLIC_BY_DEFAULT
            body: dict = {"body": step.text}
            if not public:
                body["properties"] = [{"key": INTERNAL_COMMENT_PROPERTY, "value": {"internal": True}}]
            _, comment_events = self.instance.add_comment(actor, issue_id, body, at=at)
            events += comment_events
        return events

    def _create(self, plan: TicketPlan, step: Step, at: datetime | None) -> list[IssueEvent]:
        world = self.world
        issue_type = ISSUE_TYPE_OF_KIND[plan.kind]
        fields: dict = {
            "project": {"key": PROJECT_KEY},
            "issuetype": {"name": issue_type},
            "summary": plan.title,
            "description": plan.description,
            "priority": {"id": str(plan.priority)},
            "reporter": {"name": world.person(plan.caller).user_name},
            "labels": [plan.category.replace(" ", "-")],
            "components": [{"name": world.get(plan.service).name}],
            REQUEST_CHANNEL: {"value": CHANNEL_NAMES.get(plan.channel, "Portal")},
        }
        if step.group:
            fields[ASSIGNMENT_GROUP] = {"value": world.group(step.group).name}
        if plan.ci:
            fields[CONFIGURATION_ITEM] = {"value": world.get(plan.ci).name}
        if plan.kind == "incident":
            fields[MAJOR_INCIDENT] = {"value": "Yes" if plan.major_incident else "No"}
        issue, events = self.instance.create_issue(step.actor or plan.opened_by, {"fields": fields},
                                                   at=at, plan_id=plan.id)
        self.issue_of_plan[plan.id] = issue.id
        return events

    def _assign(self, issue_id: str, actor: str, step: Step, at: datetime | None) -> list[IssueEvent]:
        """Group first, then the person: two edits, as an agent does it in the UI (and as the
        reassignment counters of real desks see it)."""
        events: list[IssueEvent] = []
        if step.group:
            events += self.instance.edit_issue(
                actor, issue_id, {"fields": {ASSIGNMENT_GROUP: {"value": self.world.group(step.group).name}}},
                at=at)
        if step.assignee:
            assignee = {"name": self.world.person(step.assignee).user_name}
            events += self.instance.edit_issue(actor, issue_id, {"fields": {"assignee": assignee}}, at=at)
        return events

    def _move(self, issue_id: str, actor: str, target_status: str, at: datetime | None,
              resolution: str | None = None) -> list[IssueEvent]:
        issue = self.instance.require(issue_id)
        if issue.status_id == target_status:
            return []
        transition = transition_to(issue.issue_type, issue.status_id, target_status)
        if transition is None:
            raise JiraError(400, [f"no transition from {STATUSES[issue.status_id].name} to "
                                  f"{STATUSES[target_status].name}"])
        body: dict = {"transition": {"id": transition.id}}
        if resolution and STATUSES[target_status].category.key == "done" and transition.default_resolution == "10000":
            body["fields"] = {"resolution": {"name": resolution}}
        return self.instance.transition(actor, issue_id, body, at=at)

    def _log_work(self, issue_id: str, actor: str, plan: TicketPlan, at: datetime | None) -> list[IssueEvent]:
        """Agents log their time before resolving (a stable, plan-derived amount)."""
        minutes = 30 + (int(plan.id.rsplit("-", 1)[-1]) * 17) % 150
        _, events = self.instance.log_work(actor, issue_id, {"timeSpentSeconds": minutes * 60,
                                                             "comment": "Diagnosis and fix."}, at=at)
        return events


def build_instance(world: World, deployment: str, anchor: datetime,
                   api_users: list[JiraUser]) -> tuple[JiraInstance, LifecyclePlayer]:
    """A fresh instance for `world`, with every ticket's history (steps at or before the anchor)
    already applied at its planned time. `api_users` are the accounts of XLA_SIM_USERS/TOKENS."""
    directory = UserDirectory()
    for person in world.people:
        directory.add(person_to_user(person))
    for user in api_users:
        # a configured login that names a world person logs in as that person
        if directory.find(user.name) is None and directory.find(user.email or "") is None:
            directory.add(user)
    instance = JiraInstance(deployment, build_catalogue(world), directory, build_components(world))
    player = LifecyclePlayer(world, instance, anchor)
    history = sorted(((at_minutes(anchor, step.at_min), plan.id, index, plan, step)
                      for plan in world.tickets if plan.is_seeded()
                      for index, step in enumerate(plan.steps) if step.at_min <= 0),
                     key=lambda entry: entry[:3])
    for moment, _, _, plan, step in history:
        player.play(plan, step, at=moment)
    return instance, player
