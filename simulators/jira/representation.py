"""REST v2 representations of the simulated records: issues, fields, comments, changelog, transitions.

One function per resource shape, shared by the REST endpoints and the webhook payloads so both
always agree. Cloud and Data Center differ in small ways that real clients trip over, and those
are kept here: users by accountId vs name, `jsdPublic` on Cloud comments, `comment`/`worklog`
inside Data Center webhook issues, `statuscategorychangedate` and `security` only on Cloud.
"""
from __future__ import annotations

from simulators.jira.directory import CLOUD, user_json
from simulators.jira.fields import editmeta_entry, render_custom_value
from simulators.jira.instance import (ISSUE_TYPE_DESCRIPTIONS, ISSUE_TYPES, PRIORITIES, Component,
                                      JiraInstance, link_type_by)
from simulators.jira.issues import (ChangeItem, Comment, History, Issue, LinkType, PROJECT_ID, PROJECT_KEY,
                                    PROJECT_NAME, Worklog, jira_datetime)
from simulators.jira.workflow import RESOLUTIONS, STATUSES, Status, StatusCategory, Transition

# Fields `*navigable` leaves out (Jira returns them only when asked or with *all).
NOT_NAVIGABLE = {"comment", "worklog"}
ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"


class Renderer:
    """Builds the JSON of one instance's records for a given base URL."""

    def __init__(self, instance: JiraInstance, base_url: str) -> None:
        self.instance = instance
        self.base = base_url.rstrip("/")
        self.deployment = instance.deployment

    # small shapes ------------------------------------------------------------------------------
    def user(self, handle: str | None) -> dict | None:
        return user_json(self.instance.directory.get(handle), self.deployment, self.base)

    def status_category(self, category: StatusCategory) -> dict:
        return {"self": f"{self.base}/rest/api/2/statuscategory/{category.id}", "id": category.id,
                "key": category.key, "colorName": category.color, "name": category.name}

    def status(self, status: Status) -> dict:
        return {"self": f"{self.base}/rest/api/2/status/{status.id}", "description": status.description,
                "iconUrl": f"{self.base}/images/icons/statuses/generic.png", "name": status.name,
                "id": status.id, "statusCategory": self.status_category(status.category)}

    def priority(self, priority_id: str | None) -> dict | None:
        if priority_id is None:
            return None
        name = PRIORITIES[priority_id]
        return {"self": f"{self.base}/rest/api/2/priority/{priority_id}",
                "iconUrl": f"{self.base}/images/icons/priorities/{name.lower()}.svg",
                "name": name, "id": priority_id}

    def issue_type(self, name: str) -> dict:
        type_id = next(tid for tid, tname in ISSUE_TYPES.items() if tname == name)
        return {"self": f"{self.base}/rest/api/2/issuetype/{type_id}", "id": type_id,
                "description": ISSUE_TYPE_DESCRIPTIONS[name],
                "iconUrl": f"{self.base}/secure/viewavatar?size=xsmall&avatarId={type_id}&avatarType=issuetype",
                "name": name, "subtask": False, "avatarId": int(type_id)}

    def project(self) -> dict:
        project = {"self": f"{self.base}/rest/api/2/project/{PROJECT_ID}", "id": PROJECT_ID,
                   "key": PROJECT_KEY, "name": PROJECT_NAME, "projectTypeKey": "service_desk",
                   "avatarUrls": {size: f"{self.base}/secure/projectavatar?size={size}&avatarId=10324"
                                  for size in ("48x48", "24x24", "16x16", "32x32")}}
        if self.deployment == CLOUD:
            project["simplified"] = False
        return project

    def resolution(self, resolution_id: str | None) -> dict | None:
        resolution = RESOLUTIONS.get(resolution_id or "")
        if resolution is None:
            return None
        return {"self": f"{self.base}/rest/api/2/resolution/{resolution.id}", "id": resolution.id,
                "description": resolution.description, "name": resolution.name}

    def component(self, component: Component) -> dict:
        return {"self": f"{self.base}/rest/api/2/component/{component.id}", "id": component.id,
                "name": component.name, "description": component.description}

    # comments and worklogs ---------------------------------------------------------------------
    def comment(self, issue_id: str, comment: Comment, *, with_properties: bool = False) -> dict:
        body = {
            "self": f"{self.base}/rest/api/2/issue/{issue_id}/comment/{comment.id}",
            "id": comment.id,
            "author": self.user(comment.author),
            "body": comment.body,
            "updateAuthor": self.user(comment.update_author),
            "created": jira_datetime(comment.created),
            "updated": jira_datetime(comment.updated),
        }
        if self.deployment == CLOUD:
            body["jsdPublic"] = not comment.internal
        if with_properties:
            body["properties"] = [{"key": k, "value": v} for k, v in comment.properties.items()]
        return body

    def comments_page(self, issue: Issue, start_at: int = 0, max_results: int = 5000,
                      *, with_properties: bool = False) -> dict:
        chosen = issue.comments[start_at:start_at + max_results]
        page = {"comments": [self.comment(issue.id, c, with_properties=with_properties) for c in chosen],
                "maxResults": max_results if max_results < 5000 else len(issue.comments),
                "total": len(issue.comments), "startAt": start_at}
        if self.deployment == CLOUD:
            page["self"] = f"{self.base}/rest/api/2/issue/{issue.id}/comment"
        return page

    def worklog(self, issue: Issue, worklog: Worklog) -> dict:
        return {
            "self": f"{self.base}/rest/api/2/issue/{issue.id}/worklog/{worklog.id}",
            "author": self.user(worklog.author),
            "updateAuthor": self.user(worklog.author),
            "comment": worklog.comment,
            "created": jira_datetime(worklog.created),
            "updated": jira_datetime(worklog.updated),
            "started": jira_datetime(worklog.started),
            "timeSpent": _duration_text(worklog.time_spent_seconds),
            "timeSpentSeconds": worklog.time_spent_seconds,
            "id": worklog.id,
            "issueId": issue.id,
        }

    def worklogs_page(self, issue: Issue) -> dict:
        return {"startAt": 0, "maxResults": 20, "total": len(issue.worklogs),
                "worklogs": [self.worklog(issue, w) for w in issue.worklogs[:20]]}

    def link_type(self, link_type: LinkType) -> dict:
        return {"id": link_type.id, "name": link_type.name, "inward": link_type.inward,
                "outward": link_type.outward, "self": f"{self.base}/rest/api/2/issueLinkType/{link_type.id}"}

    def issue_links(self, issue: Issue) -> list[dict]:
        """The `issuelinks` field: each link with the issue at its other end in brief."""
        shown = []
        for end in issue.links:
            other = self.instance.store.find(end.other_issue_id)
            link_type = link_type_by(type_id=end.type_id)
            if other is None or link_type is None:
                continue
            side = "outwardIssue" if end.direction == "outward" else "inwardIssue"
            shown.append({"id": end.link_id, "self": f"{self.base}/rest/api/2/issueLink/{end.link_id}",
                          "type": self.link_type(link_type),
                          side: {"id": other.id, "key": other.key, "self": f"{self.base}/rest/api/2/issue/{other.id}",
                                 "fields": {"summary": other.summary, "status": self.status(STATUSES[other.status_id]),
                                            "priority": self.priority(other.priority_id),
                                            "issuetype": self.issue_type(other.issue_type)}}})
        return shown

    # issue -------------------------------------------------------------------------------------
    def issue_fields(self, issue: Issue, wanted: set[str] | None = None) -> dict:
        """All fields of an issue (or those in `wanted`), valued as REST v2 shows them."""
        spent = sum(w.time_spent_seconds for w in issue.worklogs) or None
        remaining = 0 if spent else None
        progress = {"progress": spent or 0, "total": spent or 0}
        if spent:
            progress["percent"] = 100
        status = STATUSES[issue.status_id]
        values: dict = {
            "statuscategorychangedate": jira_datetime(issue.status_category_changed),
            "issuetype": self.issue_type(issue.issue_type),
            "timespent": spent,
            "project": self.project(),
            "fixVersions": [],
            "aggregatetimespent": spent,
            "resolution": self.resolution(issue.resolution_id),
            "resolutiondate": jira_datetime(issue.resolutiondate),
            "workratio": -1,
            "lastViewed": None,
            "watches": {"self": f"{self.base}/rest/api/2/issue/{issue.key}/watchers",
                        "watchCount": 1, "isWatching": False},
            "created": jira_datetime(issue.created),
            "priority": self.priority(issue.priority_id),
            "labels": list(issue.labels),
            "timeestimate": remaining,
            "aggregatetimeoriginalestimate": None,
            "versions": [],
            "issuelinks": self.issue_links(issue),
            "assignee": self.user(issue.assignee),
            "updated": jira_datetime(issue.updated),
            "status": self.status(status),
            "components": [self.component(self.instance.components[c]) for c in issue.components],
            "timeoriginalestimate": None,
            "description": issue.description,
            "timetracking": ({"remainingEstimate": "0m", "timeSpent": _duration_text(spent),
                              "remainingEstimateSeconds": 0, "timeSpentSeconds": spent}
                             if spent else {}),
            "security": None,
            "attachment": [],
            "aggregatetimeestimate": remaining,
            "summary": issue.summary,
            "creator": self.user(issue.creator),
            "subtasks": [],
            "reporter": self.user(issue.reporter),
            "aggregateprogress": dict(progress),
            "environment": issue.environment,
            "duedate": issue.duedate,
            "progress": dict(progress),
            "votes": {"self": f"{self.base}/rest/api/2/issue/{issue.key}/votes", "votes": 0,
                      "hasVoted": False},
            "comment": self.comments_page(issue),
            "worklog": self.worklogs_page(issue),
        }
        if self.deployment != CLOUD:
            # Data Center issues carry neither of these (see the Data Center captures).
            del values["statuscategorychangedate"]
            del values["security"]
        for definition in self.instance.catalogue.custom_fields():
            values[definition.id] = render_custom_value(definition, issue.custom.get(definition.id),
                                                        self.base)
        if wanted is None:
            return values
        return {k: v for k, v in values.items() if k in wanted}

    def wanted_fields(self, fields_param: str | list | None, default: str) -> set[str]:
        """Resolve a `fields` parameter (`*all`, `*navigable`, ids, `-id` exclusions)."""
        if isinstance(fields_param, list):
            parts = [str(p).strip() for p in fields_param]
        else:
            parts = [p.strip() for p in (fields_param or default).split(",")]
        parts = [p for p in parts if p]
        everything = set(self.issue_fields_names())
        chosen: set[str] = set()
        exclusions = {p[1:] for p in parts if p.startswith("-")}
        includes = [p for p in parts if not p.startswith("-")]
        if not includes:
            includes = [default]
        for part in includes:
            if part == "*all":
                chosen |= everything
            elif part == "*navigable":
                chosen |= everything - NOT_NAVIGABLE
            else:
                definition = self.instance.catalogue.get(part) or self.instance.catalogue.by_name(part)
                chosen.add(definition.id if definition else part)
        return chosen - exclusions

    def issue_fields_names(self) -> list[str]:
        names = ["statuscategorychangedate", "issuetype", "timespent", "project", "fixVersions",
                 "aggregatetimespent", "resolution", "resolutiondate", "workratio", "lastViewed",
                 "watches", "created", "priority", "labels", "timeestimate",
                 "aggregatetimeoriginalestimate", "versions", "issuelinks", "assignee", "updated",
                 "status", "components", "timeoriginalestimate", "description", "timetracking",
                 "security", "attachment", "aggregatetimeestimate", "summary", "creator", "subtasks",
                 "reporter", "aggregateprogress", "environment", "duedate", "progress", "votes",
                 "comment", "worklog"]
        return names + [d.id for d in self.instance.catalogue.custom_fields()]

    def issue(self, issue: Issue, *, fields_param: str | list | None = None, default_fields: str = "*all",
              expand: str | list | None = None, properties: str | list | None = None) -> dict:
        """`GET /rest/api/2/issue/{id}` (also each entry of a search)."""
        expansions = _split(expand)
        wanted = self.wanted_fields(fields_param, default_fields)
        body: dict = {"expand": ISSUE_EXPAND, "id": issue.id,
                      "self": f"{self.base}/rest/api/2/issue/{issue.id}", "key": issue.key,
                      "fields": self.issue_fields(issue, wanted)}
        if "renderedFields" in expansions:
            body["renderedFields"] = self.rendered_fields(issue, wanted)
        if "names" in expansions:
            body["names"] = {fid: self._field_name(fid) for fid in body["fields"]}
        if "schema" in expansions:
            body["schema"] = {fid: dict(d.schema) for fid in body["fields"]
                              if (d := self.instance.catalogue.get(fid)) is not None}
        if "changelog" in expansions:
            body["changelog"] = self.changelog(issue)
        if "editmeta" in expansions:
            body["editmeta"] = self.editmeta()
        requested_properties = _split(properties)
        if requested_properties:
            keys = issue.properties if "*all" in requested_properties else requested_properties
            body["properties"] = {k: issue.properties[k] for k in keys if k in issue.properties}
        return body

    def _field_name(self, field_id: str) -> str:
        definition = self.instance.catalogue.get(field_id)
        if definition is not None:
            return definition.name
        return {"timespent": "Time Spent", "fixVersions": "Fix Version/s", "watches": "Watchers",
                "lastViewed": "Last Viewed", "versions": "Affects Version/s"}.get(field_id, field_id)

    def rendered_fields(self, issue: Issue, wanted: set[str]) -> dict:
        """HTML/human forms of the text and date fields (what the Jira UI shows)."""
        rendered: dict = {}
        for field_id in wanted:
            if field_id in ("description", "environment"):
                text = getattr(issue, field_id)
                rendered[field_id] = f"<p>{_escape(text)}</p>" if text else None
            elif field_id in ("created", "updated", "resolutiondate"):
                moment = getattr(issue, field_id)
                rendered[field_id] = moment.strftime("%d/%b/%y %I:%M %p") if moment else None
            elif field_id == "comment":
                page = self.comments_page(issue)
                for entry in page["comments"]:
                    entry["body"] = f"<p>{_escape(entry['body'])}</p>"
                rendered[field_id] = page
        return rendered

    # changelog ---------------------------------------------------------------------------------
    def change_item(self, item: ChangeItem, *, for_webhook: bool = False) -> dict:
        """One changelog item. Data Center webhooks carry no `fieldId` (as the DC captures show)."""
        out = {"field": item.field, "fieldtype": item.fieldtype, "fieldId": item.field_id,
               "from": item.from_value, "fromString": item.from_string,
               "to": item.to_value, "toString": item.to_string}
        if self.deployment == CLOUD and item.user_field:
            if for_webhook:
                out["tmpFromAccountId"] = item.from_account
                out["tmpToAccountId"] = item.to_account
            else:
                out["from"], out["to"] = item.from_account, item.to_account
        if for_webhook and self.deployment != CLOUD:
            del out["fieldId"]
        return out

    def history(self, history: History) -> dict:
        return {"id": history.id, "author": self.user(history.author),
                "created": jira_datetime(history.created),
                "items": [self.change_item(item) for item in history.items]}

    def changelog(self, issue: Issue) -> dict:
        histories = [self.history(h) for h in issue.histories]
        return {"startAt": 0, "maxResults": len(histories), "total": len(histories),
                "histories": histories}

    # transitions and editmeta ------------------------------------------------------------------
    def transition(self, transition: Transition, *, with_fields: bool) -> dict:
        target = STATUSES[transition.to_status]
        body = {"id": transition.id, "name": transition.name, "to": self.status(target),
                "hasScreen": target.category.key == "done", "isGlobal": False, "isInitial": False,
                "isAvailable": True, "isConditional": False, "looped": False}
        if with_fields:
            fields = {}
            if target.category.key == "done":
                resolution = self.instance.catalogue.get("resolution")
                fields["resolution"] = editmeta_entry(resolution, self.base, allowed=[
                    self.resolution(rid) for rid in RESOLUTIONS])
                fields["resolution"]["required"] = False
            body["fields"] = fields
        return body

    def editmeta(self) -> dict:
        """Fields on the edit screen. Fields not on the screen are absent, as in Jira."""
        out = {}
        for definition in self.instance.catalogue.edit_screen():
            allowed = None
            if definition.id == "priority":
                allowed = [self.priority(pid) for pid in PRIORITIES]
            elif definition.id == "components":
                allowed = [self.component(c) for c in self.instance.components.values()]
            out[definition.id] = editmeta_entry(definition, self.base, allowed)
        return {"fields": out}


def _split(value: str | list | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _duration_text(seconds: int | None) -> str | None:
    if not seconds:
        return None
    hours, minutes = divmod(seconds // 60, 60)
    parts = ([f"{hours}h"] if hours else []) + ([f"{minutes}m"] if minutes else [])
    return " ".join(parts) or "0m"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br/>")
