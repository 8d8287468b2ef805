"""Command line: `python -m simulators.servicenow --port 0 --seed 42 [options]`.

Prints `listening on http://127.0.0.1:<port>` once it accepts connections and serves until
SIGTERM or SIGINT. Passwords and the webhook secret are read from environment variables named
on the command line, never passed as arguments.
"""
from __future__ import annotations

import argparse
import os
import sys

from simulators.common import (add_common_arguments, parse_credentials, parse_delays,
                               read_secret_env, serve)
from simulators.servicenow.app import ServiceNowOptions, create_app
from simulators.servicenow.events import DEFAULT_WEBHOOK_FIELDS


def parse_options(argv: list[str] | None = None) -> tuple[argparse.Namespace, ServiceNowOptions]:
    """Options from the command line and the environment; exits with a message when invalid."""
    parser = argparse.ArgumentParser(prog="python -m simulators.servicenow",
                                     description="A ServiceNow Table API stand-in for tests and demos.")
    add_common_arguments(parser)
    parser.add_argument("--per-hour", type=int, default=5000,
                        help="API requests allowed per user per hour (0: no limit)")
    parser.add_argument("--read-only-users", default="",
                        help="comma-separated users whose writes fail with 403 (ACL)")
    parser.add_argument("--webhook-fields", default=",".join(DEFAULT_WEBHOOK_FIELDS),
                        help="record fields sent in each event")
    args = parser.parse_args(argv)
    try:
        users = parse_credentials(os.environ.get(args.users_env))
        delays = parse_delays(args.webhook_retry_delays)
    except ValueError as exc:
        parser.error(str(exc))
    if not users:
        parser.error(f"no users: set {args.users_env} to user:password[,user2:password2]")
    options = ServiceNowOptions(
        seed=args.seed, tickets=args.tickets, in_progress=args.in_progress, closed=args.closed,
        users=users,
        read_only_users=tuple(u.strip() for u in args.read_only_users.split(",") if u.strip()),
        per_hour=args.per_hour or None, webhook_url=args.webhook_url,
        webhook_secret=read_secret_env(args.webhook_secret_env),
        webhook_fields=tuple(f.strip() for f in args.webhook_fields.split(",") if f.strip()),
        retry_delays_s=delays, webhook_senders=args.webhook_senders)
    return args, options


def main(argv: list[str] | None = None) -> int:
    args, options = parse_options(argv)
    app = create_app(options)
    state = app.extensions["simulator_state"]
    serve(app, args.host, args.port, on_shutdown=state.dispatcher.stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
