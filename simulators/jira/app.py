"""The Jira simulator's HTTP face: REST v2 routes, authentication, rate limits, the admin API.

`create_app(options)` builds the Flask app. Each route is thin: authenticate (in `before_request`),
look up the issue, apply the per-issue write limit for writes, call `JiraInstance`, publish the
events it returns as webhooks, and render the answer with `Renderer`. Jira's error envelope
(`{"errorMessages": [...], "errors": {...}}`) comes from one error handler.
"""
from __future__ import annotations

import base64
import hashlib
import json

from flask import Flask, g, jsonify, request

from simulators.common import USER_ENVIRON_KEY, attach_simulator
from simulators.jira.auth import unauthorized_response
from simulators.jira.directory import CLOUD, DATACENTER, user_json
from simulators.jira.instance import PRIORITIES, JiraError
from simulators.jira.issues import LINK_TYPES, PROJECT_ID, jira_datetime
from simulators.jira.jql import JqlError, search
from simulators.jira.limits import too_many_requests
from simulators.jira.representation import Renderer
from simulators.jira.state import JiraOptions, JiraSimulatorState
from simulators.jira.workflow import RESOLUTIONS, STATUSES

API = "/rest/api/2"
SEARCH_CAP = {CLOUD: 100, DATACENTER: 1000}
ANONYMOUS_PATHS = {f"{API}/serverInfo"}
REQUEST_TYPES = {"Incident": "10", "Service Request": "11", "Change": "12"}
SERVER_VERSION = {CLOUD: ("1001.0.0-SNAPSHOT", [1001, 0, 0]), DATACENTER: ("9.12.2", [9, 12, 2])}


def create_app(options: JiraOptions | None = None) -> Flask:
    """The simulator app for `options` (Cloud, default seed, no users when None)."""
    options = options or JiraOptions()
    state = JiraSimulatorState(options)
    app = Flask(__name__)
    app.json.sort_keys = False
    attach_simulator(app, state)
    app.extensions["jira_state"] = state
    deployment = options.deployment

    def renderer() -> Renderer:
        return Renderer(state.instance, request.host_url)

    def publish(events) -> None:
        state.publish(events, request.host_url)

    def write_limited(issue_ref: str):
        """Resolve the issue of a write and count the write against its per-issue limit.

        Raises JiraError 403 for read-only users and 404 for unknown issues; returns a 429
        response when the issue's write budget is spent, else the issue id.
        """
        if state.is_read_only(g.user):
            raise JiraError(403, ["You do not have permission to edit issues in this project."])
        issue = state.instance.require(issue_ref)
        refusal = state.rate_limits.check_issue_write(issue.id)
        if refusal is not None:
            decision, reason = refusal
            return None, too_many_requests(decision, reason, deployment, state.rate_limits.per_issue.window_s)
        return issue.id, None

    # authentication and request limits ---------------------------------------------------------
    @app.before_request
    def authenticate():
        if not request.path.startswith("/rest/"):
            return None
        user = state.authenticator.authenticate(request.headers.get("Authorization"),
                                                state.instance.directory)
        if user is None:
            if request.path in ANONYMOUS_PATHS:
                g.user, g.login = None, "anonymous"
                return None
            return unauthorized_response(deployment, bool(request.headers.get("Authorization")))
        g.user, g.login = user, user.name
        request.environ[USER_ENVIRON_KEY] = user.name
        refusal = state.rate_limits.check_request(user.handle)
        if refusal is not None:
            decision, reason = refusal
            return too_many_requests(decision, reason, deployment, state.rate_limits.burst.window_s)
        return None

    @app.errorhandler(JiraError)
    def jira_error(exc: JiraError):
        return jsonify(exc.body()), exc.status

    @app.errorhandler(404)
    def no_route(_exc):
        return jsonify({"errorMessages": ["null for uri: " + request.url], "errors": {}}), 404

    @app.errorhandler(405)
    def wrong_method(_exc):
        return jsonify({"errorMessages": [f"Method {request.method} is not allowed here."], "errors": {}}), 405

    # instance ----------------------------------------------------------------------------------
    @app.get(f"{API}/serverInfo")
    def server_info():
        version, numbers = SERVER_VERSION[deployment]
        return jsonify({
            "baseUrl": request.host_url.rstrip("/"),
            "version": version,
            "versionNumbers": numbers,
            "deploymentType": "Cloud" if deployment == CLOUD else "Server",
            "buildNumber": 100000 if deployment == CLOUD else 9120002,
            "buildDate": "2026-01-01T00:00:00.000+0000",
            "serverTime": jira_datetime(state.instance.now()),
            "scmInfo": "0000000000000000000000000000000000000000",
            "serverTitle": "XLA Bridge simulated Jira",
        })

    @app.get(f"{API}/myself")
    def myself():
        body = user_json(g.user, deployment, request.host_url.rstrip("/"))
        body["groups"] = {"size": 1, "items": []}
        body["applicationRoles"] = {"size": 1, "items": []}
        body["locale"] = "en_US"
        return jsonify(body)

    @app.get(f"{API}/user")
    def user_lookup():
        ref = request.args.get("accountId") or request.args.get("username") or request.args.get("key")
        user = state.instance.directory.find(ref)
        if user is None:
            raise JiraError(404, [f"The user with the key '{ref}' does not exist."])
        return jsonify(user_json(user, deployment, request.host_url.rstrip("/")))

    @app.get(f"{API}/field")
    def fields():
        return jsonify(state.instance.catalogue.to_rest())

    @app.get(f"{API}/status")
    def statuses():
        return jsonify([renderer().status(s) for s in STATUSES.values()])

    @app.get(f"{API}/priority")
    def priorities():
        return jsonify([renderer().priority(p) for p in PRIORITIES])

    @app.get(f"{API}/resolution")
    def resolutions():
        return jsonify([renderer().resolution(r) for r in RESOLUTIONS])

    # issues ------------------------------------------------------------------------------------
    @app.post(f"{API}/issue")
    def create_issue():
        if state.is_read_only(g.user):
            raise JiraError(403, ["You do not have permission to create issues in this project."])
        issue, events = state.instance.create_issue(g.user.handle, _json_body())
        publish(events)
        return jsonify({"id": issue.id, "key": issue.key,
                        "self": f"{request.host_url.rstrip('/')}{API}/issue/{issue.id}"}), 201

    @app.post(f"{API}/issueLink")
    def link_issues():
        if state.is_read_only(g.user):
            raise JiraError(403, ["You do not have the permission to link issues."])
        publish(state.instance.link_issues(g.user.handle, _json_body()))
        return "", 201

    @app.get(f"{API}/issueLinkType")
    def issue_link_types():
        shown = renderer()
        return jsonify({"issueLinkTypes": [shown.link_type(link_type) for link_type in LINK_TYPES]})

    @app.get(f"{API}/issue/<ref>")
    def get_issue(ref: str):
        issue = state.instance.require(ref)
        return jsonify(renderer().issue(issue, fields_param=request.args.get("fields"),
                                        expand=request.args.get("expand"),
                                        properties=request.args.get("properties")))

    @app.put(f"{API}/issue/<ref>")
    def edit_issue(ref: str):
        issue_id, refused = write_limited(ref)
        if refused is not None:
            return refused
        events = state.instance.edit_issue(g.user.handle, issue_id, _json_body())
        publish(events)
        if request.args.get("returnIssue") == "true":
            return jsonify(renderer().issue(state.instance.require(issue_id))), 200
        return "", 204

    @app.delete(f"{API}/issue/<ref>")
    def delete_issue(ref: str):
        issue_id, refused = write_limited(ref)
        if refused is not None:
            return refused
        publish(state.instance.delete_issue(g.user.handle, issue_id))
        return "", 204

    @app.put(f"{API}/issue/<ref>/assignee")
    def assign_issue(ref: str):
        issue_id, refused = write_limited(ref)
        if refused is not None:
            return refused
        publish(state.instance.assign(g.user.handle, issue_id, _json_body(allow_null=True)))
        return "", 204

    @app.get(f"{API}/issue/<ref>/editmeta")
    def editmeta(ref: str):
        state.instance.require(ref)
        return jsonify(renderer().editmeta())

    @app.get(f"{API}/issue/<ref>/changelog")
    def changelog(ref: str):
        issue = state.instance.require(ref)
        start_at, max_results = _paging(default_max=100)
        histories = renderer().changelog(issue)["histories"]
        page = histories[start_at:start_at + max_results]
        return jsonify({"self": request.url, "maxResults": max_results, "startAt": start_at,
                        "total": len(histories), "isLast": start_at + len(page) >= len(histories),
                        "values": page})

    @app.get(f"{API}/issue/<ref>/transitions")
    def list_transitions(ref: str):
        _, transitions = state.instance.transitions_for(ref)
        with_fields = "transitions.fields" in (request.args.get("expand") or "")
        wanted = request.args.get("transitionId")
        chosen = [t for t in transitions if wanted is None or t.id == wanted]
        return jsonify({"expand": "transitions",
                        "transitions": [renderer().transition(t, with_fields=with_fields) for t in chosen]})

    @app.post(f"{API}/issue/<ref>/transitions")
    def do_transition(ref: str):
        issue_id, refused = write_limited(ref)
        if refused is not None:
            return refused
        publish(state.instance.transition(g.user.handle, issue_id, _json_body()))
        return "", 204

    # worklogs ----------------------------------------------------------------------------------
    @app.get(f"{API}/issue/<ref>/worklog")
    def list_worklogs(ref: str):
        return jsonify(renderer().worklogs_page(state.instance.require(ref)))

    @app.post(f"{API}/issue/<ref>/worklog")
    def add_worklog(ref: str):
        issue_id, refused = write_limited(ref)
        if refused is not None:
            return refused
        worklog, events = state.instance.log_work(g.user.handle, issue_id, _json_body())
        publish(events)
        return jsonify(renderer().worklog(state.instance.require(issue_id), worklog)), 201

    # comments ----------------------------------------------------------------------------------
    @app.get(f"{API}/issue/<ref>/comment")
    def list_comments(ref: str):
        issue = state.instance.require(ref)
        start_at, max_results = _paging(default_max=5000)
        return jsonify(renderer().comments_page(issue, start_at, max_results,
                                                with_properties=_expands("properties")))

    @app.post(f"{API}/issue/<ref>/comment")
    def add_comment(ref: str):
        issue_id, refused = write_limited(ref)
        if refused is not None:
            return refused
        comment, events = state.instance.add_comment(g.user.handle, issue_id, _json_body())
        publish(events)
        return jsonify(renderer().comment(issue_id, comment, with_properties=_expands("properties"))), 201

    @app.get(f"{API}/issue/<ref>/comment/<comment_id>")
    def get_comment(ref: str, comment_id: str):
        issue, comment = state.instance.comment(ref, comment_id)
        return jsonify(renderer().comment(issue.id, comment, with_properties=_expands("properties")))

    @app.put(f"{API}/issue/<ref>/comment/<comment_id>")
    def update_comment(ref: str, comment_id: str):
        issue_id, refused = write_limited(ref)
        if refused is not None:
            return refused
        comment, events = state.instance.update_comment(g.user.handle, issue_id, comment_id, _json_body())
        publish(events)
        return jsonify(renderer().comment(issue_id, comment))

    @app.delete(f"{API}/issue/<ref>/comment/<comment_id>")
    def delete_comment(ref: str, comment_id: str):
        issue_id, refused = write_limited(ref)
        if refused is not None:
            return refused
        publish(state.instance.delete_comment(g.user.handle, issue_id, comment_id))
        return "", 204

    @app.get(f"{API}/comment/<comment_id>/properties")
    def comment_property_keys(comment_id: str):
        _, comment = state.instance.find_comment_anywhere(comment_id)
        base = f"{request.host_url.rstrip('/')}{API}/comment/{comment_id}/properties"
        return jsonify({"keys": [{"self": f"{base}/{key}", "key": key} for key in comment.properties]})

    @app.get(f"{API}/comment/<comment_id>/properties/<key>")
    def comment_property(comment_id: str, key: str):
        _, comment = state.instance.find_comment_anywhere(comment_id)
        if key not in comment.properties:
            raise JiraError(404, [f"The property with key '{key}' does not exist."])
        return jsonify({"key": key, "value": comment.properties[key]})

    # issue properties --------------------------------------------------------------------------
    @app.get(f"{API}/issue/<ref>/properties")
    def property_keys(ref: str):
        issue = state.instance.require(ref)
        base = f"{request.host_url.rstrip('/')}{API}/issue/{issue.id}/properties"
        return jsonify({"keys": [{"self": f"{base}/{key}", "key": key} for key in issue.properties]})

    @app.get(f"{API}/issue/<ref>/properties/<key>")
    def get_property(ref: str, key: str):
        return jsonify({"key": key, "value": state.instance.get_property(ref, key)})

    @app.put(f"{API}/issue/<ref>/properties/<key>")
    def set_property(ref: str, key: str):
        issue_id, refused = write_limited(ref)
        if refused is not None:
            return refused
        created = state.instance.set_property(issue_id, key, request.get_data())
        return "", 201 if created else 200

    @app.delete(f"{API}/issue/<ref>/properties/<key>")
    def delete_property(ref: str, key: str):
        issue_id, refused = write_limited(ref)
        if refused is not None:
            return refused
        state.instance.delete_property(issue_id, key)
        return "", 204

    # search ------------------------------------------------------------------------------------
    def run_search(params: dict) -> tuple[list, list[str]]:
        try:
            return search(state.instance, str(params.get("jql") or ""), g.user.handle, state.instance.now())
        except JqlError as exc:
            raise JiraError(400, [str(exc)]) from exc

    @app.route(f"{API}/search", methods=["GET", "POST"])
    def classic_search():
        if deployment == CLOUD and options.classic_search_retired:
            raise JiraError(410, ["The requested API has been removed. Please migrate to the "
                                  "/rest/api/2/search/jql API."])
        params = _search_params()
        found, warnings = run_search(params)
        try:
            start_at = max(0, int(params.get("startAt") or 0))
            requested = int(params.get("maxResults") if params.get("maxResults") is not None else 50)
        except (TypeError, ValueError) as exc:
            raise JiraError(400, ["startAt and maxResults must be integers."]) from exc
        max_results = max(0, min(requested, SEARCH_CAP[deployment]))
        page = found[start_at:start_at + max_results]
        shown = renderer()
        body = {"expand": "schema,names", "startAt": start_at, "maxResults": max_results,
                "total": len(found),
                "issues": [shown.issue(i, fields_param=params.get("fields"), default_fields="*navigable",
                                       expand=params.get("expand"), properties=params.get("properties"))
                           for i in page]}
        if warnings:
            body["warningMessages"] = warnings
        return jsonify(body)

    @app.route(f"{API}/search/jql", methods=["GET", "POST"])
    def enhanced_search():
        # Jira Cloud's token-paged search; Data Center does not have it.
        if deployment != CLOUD:
            raise JiraError(404, ["null for uri: " + request.url])
        params = _search_params()
        found, _warnings = run_search(params)
        fingerprint = hashlib.sha256(str(params.get("jql") or "").encode()).hexdigest()[:16]
        start_at = _decode_page_token(params.get("nextPageToken"), fingerprint)
        try:
            max_results = max(1, min(int(params.get("maxResults") or 50), 5000))
        except (TypeError, ValueError) as exc:
            raise JiraError(400, ["maxResults must be an integer."]) from exc
        page = found[start_at:start_at + max_results]
        shown = renderer()
        fields_param = params.get("fields")
        issues = [shown.issue(i, fields_param=fields_param, expand=params.get("expand"),
                              properties=params.get("properties"))
                  if fields_param else {"id": i.id} for i in page]
        body: dict = {"issues": issues, "isLast": start_at + len(page) >= len(found)}
        if not body["isLast"]:
            body["nextPageToken"] = _encode_page_token(start_at + len(page), fingerprint)
        return jsonify(body)

    # Jira Service Management -------------------------------------------------------------------
    @app.get("/rest/servicedeskapi/request/<ref>")
    def service_desk_request(ref: str):
        issue = state.instance.require(ref)
        request_type = REQUEST_TYPES.get(issue.issue_type)
        if request_type is None:  # an agents' task is no customer request
            raise JiraError(404, ["The request does not exist or you do not have permission to see it."])
        shown = renderer()
        status = STATUSES[issue.status_id]
        reporter = state.instance.directory.get(issue.reporter)
        customer = user_json(reporter, deployment, shown.base) if reporter else None
        if customer is not None:
            customer = {k: customer[k] for k in ("accountId", "name", "key", "emailAddress", "displayName",
                                                 "active", "timeZone") if k in customer}
        return jsonify({
            "issueId": issue.id, "issueKey": issue.key, "serviceDeskId": "1",
            "requestTypeId": request_type,
            "createdDate": _service_desk_date(issue.created),
            "reporter": customer,
            "requestFieldValues": [{"fieldId": "summary", "label": "Summary", "value": issue.summary},
                                   {"fieldId": "description", "label": "Description",
                                    "value": issue.description}],
            "currentStatus": {"status": status.name, "statusCategory": status.category.key.upper(),
                              "statusDate": _service_desk_date(issue.updated)},
            "_links": {"web": f"{shown.base}/servicedesk/customer/portal/1/{issue.key}",
                       "self": f"{shown.base}/rest/servicedeskapi/request/{issue.id}"},
        })

    @app.get(f"{API}/project/<ref>")
    def project(ref: str):
        if ref not in (PROJECT_ID, "SD"):
            raise JiraError(404, [f"No project could be found with key '{ref}'."])
        body = renderer().project()
        body["components"] = [renderer().component(c) for c in state.instance.components.values()]
        return jsonify(body)

    return app


def _json_body(allow_null: bool = False) -> object:
    raw = request.get_data()
    if not raw:
        if allow_null:
            return None
        raise JiraError(400, ["No content to map due to end-of-input"])
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise JiraError(400, ["Unexpected character in the request body: it is not valid JSON."]) from exc


def _search_params() -> dict:
    if request.method == "POST":
        body = _json_body()
        if not isinstance(body, dict):
            raise JiraError(400, ["The search request must be a JSON object."])
        return body
    params = request.args.to_dict()
    return params


def _paging(default_max: int) -> tuple[int, int]:
    try:
        return (max(0, int(request.args.get("startAt", 0))),
                max(0, int(request.args.get("maxResults", default_max))))
    except ValueError as exc:
        raise JiraError(400, ["startAt and maxResults must be integers."]) from exc


def _expands(name: str) -> bool:
    return name in (request.args.get("expand") or "").split(",")


def _encode_page_token(offset: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "q": fingerprint}).encode()).decode()


def _decode_page_token(token: str | None, fingerprint: str) -> int:
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        if data["q"] != fingerprint:
            raise ValueError("token of another query")
        return int(data["o"])
    except (ValueError, KeyError, TypeError) as exc:
        raise JiraError(400, ["The provided next page token is invalid or expired."]) from exc


def _service_desk_date(moment) -> dict:
    return {"iso8601": jira_datetime(moment), "jira": jira_datetime(moment),
            "friendly": moment.strftime("%d/%b/%y %I:%M %p"), "epochMillis": int(moment.timestamp() * 1000)}
