"""A Jira Service Management stand-in (Cloud and Data Center, REST v2) for the demo and the tests.

It answers the REST calls the service makes (issues, fields, editmeta, transitions, comments,
properties, JQL search), enforces Jira's authentication and rate limits, and posts webhooks shaped
like real Jira's for every change, including the service's own. Seeded from `simulators.world`.
Run it with `python -m simulators.jira`; build it in-process with `simulators.jira.app.create_app`.
"""
