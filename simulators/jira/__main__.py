"""`python -m simulators.jira`: run the Jira simulator until SIGTERM/SIGINT.

Prints `listening on http://127.0.0.1:<port>` once the port accepts connections. Passwords,
tokens and the webhook secret are read from the environment variables the options name.
"""
from __future__ import annotations

import argparse
import os
import sys

from simulators.common import (DEFAULT_TOKENS_ENV, add_common_arguments, parse_credentials,
                               parse_delays, read_secret_env, serve)
from simulators.jira.app import create_app
from simulators.jira.directory import CLOUD, DATACENTER
from simulators.jira.state import JiraOptions


def parse_options(argv: list[str]) -> tuple[argparse.Namespace, JiraOptions]:
    """Command line plus environment -> (arguments, options). Exits with a message on bad input."""
    parser = argparse.ArgumentParser(prog="python -m simulators.jira",
                                     description="Jira Service Management stand-in (REST v2, webhooks)")
    add_common_arguments(parser)
    parser.add_argument("--deployment", choices=(CLOUD, DATACENTER), default=CLOUD,
                        help="answer and send webhooks as Jira Cloud or Jira Data Center")
    parser.add_argument("--tokens-env", default=DEFAULT_TOKENS_ENV,
                        help="environment variable with Data Center personal access tokens user:token,...")
    parser.add_argument("--read-only-users", default="",
                        help="comma-separated logins that may read but not write (403 on writes)")
    parser.add_argument("--per-issue-writes", type=int, default=20,
                        help="writes allowed per issue within --per-issue-window-s (0: no limit)")
    parser.add_argument("--per-issue-window-s", type=float, default=2.0)
    parser.add_argument("--burst", type=int, default=100, help="requests per second per user (0: no limit)")
    parser.add_argument("--per-hour", type=int, default=0, help="requests per hour per user (0: no limit)")
    parser.add_argument("--retire-classic-search", action="store_true",
                        help="Cloud only: answer GET/POST /rest/api/2/search with 410, as Jira Cloud now does")
    args = parser.parse_args(argv)
    try:
        options = JiraOptions(
            deployment=args.deployment, seed=args.seed, tickets=args.tickets,
            in_progress=args.in_progress, closed=args.closed, webhook_url=args.webhook_url,
            webhook_secret=read_secret_env(args.webhook_secret_env),
            users=parse_credentials(os.environ.get(args.users_env)),
            tokens=parse_credentials(os.environ.get(args.tokens_env)),
            read_only_users=tuple(u.strip() for u in args.read_only_users.split(",") if u.strip()),
            retry_delays_s=parse_delays(args.webhook_retry_delays),
            webhook_senders=args.webhook_senders,
            burst=args.burst or None, per_hour=args.per_hour or None,
            per_issue_writes=args.per_issue_writes or None, per_issue_window_s=args.per_issue_window_s,
            classic_search_retired=args.retire_classic_search,
        )
    except ValueError as exc:
        parser.error(str(exc))
    return args, options


def main(argv: list[str] | None = None) -> None:
    args, options = parse_options(sys.argv[1:] if argv is None else argv)
    app = create_app(options)
    state = app.extensions["jira_state"]
    state.dispatcher.start()
    serve(app, args.host, args.port, on_shutdown=state.dispatcher.stop)


if __name__ == "__main__":
    main()
