"""XLA Bridge: the Flask application factory and the command line.

    python app.py <command> --config FILE      (or XLA_BRIDGE_CONFIG=FILE)

Commands: serve, worker, scheduler, demo, check-config, migrate, replay, report, preview. `serve` runs
gunicorn on `app:create_app()`. Nothing is created at import time.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from flask import Flask, jsonify

ROOT = Path(__file__).resolve().parent


def create_app(config=None) -> Flask:
    """Build the web app (webhooks, survey pages, health and metrics).

    `config` is a `Settings`, a path to a TOML file, a mapping, or None (then `XLA_BRIDGE_CONFIG`).
    Raises `settings.ConfigError` naming every problem of an invalid configuration.
    """
    from ops.health import blueprint as ops_blueprint
    from ops.logging import configure_logging, secret_env_names
    from runtime import Runtime
    from surveys.web import blueprint as survey_blueprint
    from webhooks.endpoint import SessionsOutsideWebhooks
    from webhooks.endpoint import blueprint as webhook_blueprint

    settings = _settings_from(config)
    app = Flask(__name__)
    app.session_interface = SessionsOutsideWebhooks()
    app.config["MAX_CONTENT_LENGTH"] = settings.webhooks.max_body_bytes
    configure_logging(settings.service.log_level, settings.service.log_format, secret_env_names(settings))
    app.config["SECRET_KEY"] = os.environ.get(settings.service.secret_key_env)
    if not app.config["SECRET_KEY"]:
        # Webhooks still work; survey forms signed by one process would fail in another.
        app.config["SECRET_KEY"] = os.urandom(32)
        logging.getLogger("xla.app").warning("app.secret_key_missing", extra={
            "key": "service.secret_key_env", "env": settings.service.secret_key_env,
            "fix": "export the same random value to every process"})
    app.extensions["xla"] = Runtime.build(settings)
    app.register_blueprint(ops_blueprint)
    app.register_blueprint(webhook_blueprint)
    app.register_blueprint(survey_blueprint)

    @app.errorhandler(404)
    def not_found(_error):
        return jsonify(error="not_found", message="no such endpoint"), 404

    @app.errorhandler(405)
    def method_not_allowed(_error):
        return jsonify(error="method_not_allowed", message="this endpoint does not accept that method"), 405

    return app


def _settings_from(config):
    from settings import Settings, load_settings, load_settings_from_mapping

    if isinstance(config, Settings):
        return config
    if isinstance(config, dict):
        return load_settings_from_mapping(config)
    return load_settings(config)


# ---------------------------------------------------------------------------------------------
# command line


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    from settings import ConfigError

    try:
        return args.handler(args) or 0
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python app.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(title="commands", metavar="<command>")

    def command(name: str, handler, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--config", metavar="FILE",
                         help="TOML configuration file (default: $XLA_BRIDGE_CONFIG)")
        sub.set_defaults(handler=handler)
        return sub

    serve = command("serve", cmd_serve, "Run the web service (webhooks, surveys, health) under gunicorn.")
    serve.add_argument("--bind", help="host:port, overriding [server].bind")
    serve.add_argument("--workers", type=int, help="gunicorn worker processes, overriding [server].workers")

    worker = command("worker", cmd_worker, "Claim and run jobs: process events, write to the ITSMs, send surveys.")
    worker.add_argument("--once", action="store_true", help="run until the queue is empty, then exit")
    worker.add_argument("--id", help="worker name in leases and logs (default: host:pid)")
    worker.add_argument("--metrics-port", type=_port, metavar="PORT",
                        help="serve this process's /metrics on PORT, overriding [worker].metrics_port")

    scheduler = command("scheduler", cmd_scheduler,
                        "Run periodic work on one leader: reaper, reconciliation, survey reminders and expiry, "
                        "rollups.")
    scheduler.add_argument("--metrics-port", type=_port, metavar="PORT",
                           help="serve this process's /metrics on PORT, overriding [scheduler].metrics_port")

    demo = command("demo", cmd_demo,
                   "Start both simulators, the service, a worker and the scheduler on embedded defaults "
                   "and drive ticket lifecycles through them.")
    demo.add_argument("--seconds", type=float, default=0,
                      help="stop by itself after this many seconds (default: run until Ctrl-C)")
    demo.add_argument("--seed", type=int, default=42, help="seed of the simulated world")

    check = command("check-config", cmd_check_config,
                    "Validate the configuration; with --live also every mapping against each instance.")
    check.add_argument("--live", action="store_true",
                       help="connect to every instance and check each mapped field exists, is writable and fits")

    command("migrate", cmd_migrate, "Create or upgrade the database schema to the current version.")

    replay = command("replay", cmd_replay, "Re-queue dead jobs and quarantined payloads.")
    replay.add_argument("--dead", action="store_true", help="re-queue dead jobs")
    replay.add_argument("--quarantined", action="store_true", help="re-run quarantined payloads through parsing")
    replay.add_argument("--job", type=int, action="append", default=[], help="only this job id (repeatable)")

    report = command("report", cmd_report,
                     "Happiness, lost time, hotspots and XLA target attainment from the survey answers.")
    report.add_argument("--by", default="kind,service,month",
                        help="comma-separated grouping: service, group, channel, kind, connection_id, and one period "
                             "(day, week, month, quarter, year); default kind,service,month")
    report.add_argument("--json", action="store_true", help="print JSON instead of text")

    preview = command("preview", cmd_preview,
                      "Show a ticket as the service sees it: canonical fields, context, score, and the writes.")
    preview.add_argument("connection", help="connection id")
    preview.add_argument("ticket", help="ticket number or key (INC0010001, SD-12, or the tool's id)")
    preview.add_argument("--json", action="store_true", help="print JSON instead of text")
    return parser


def _load(args):
    from settings import load_settings

    return load_settings(args.config)


def _port(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"found {value!r}; expected a port from 1 to 65535")
    return int(value)


def _process_metrics(settings, section: str, port_override: int | None):
    """(settings with the command line's port in `section`, the context that serves the
    process's /metrics while the process runs)."""
    import dataclasses

    from ops.logging import configure_logging, secret_env_names
    from ops.metrics import serve_process_metrics

    if port_override is not None:
        changed = dataclasses.replace(getattr(settings, section), metrics_port=port_override)
        settings = dataclasses.replace(settings, **{section: changed})
    # Logging first, so the line saying where metrics are served is formatted like every other.
    configure_logging(settings.service.log_level, settings.service.log_format, secret_env_names(settings))
    chosen = getattr(settings, section)
    return settings, serve_process_metrics(section, chosen.metrics_address, chosen.metrics_port)


def cmd_serve(args) -> int:
    from ops.server import gunicorn_worker_options

    settings = _load(args)
    config_path = os.path.abspath(args.config or os.environ["XLA_BRIDGE_CONFIG"])
    env = dict(os.environ, XLA_BRIDGE_CONFIG=config_path)
    if not env.get("PROMETHEUS_MULTIPROC_DIR"):
        import tempfile

        env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="xla-metrics-")
    command = [sys.executable, "-m", "gunicorn",
               "--bind", args.bind or settings.server.bind,
               *gunicorn_worker_options(settings.server, workers=args.workers),
               "--timeout", str(settings.server.timeout_s),
               "--chdir", str(ROOT),
               "--access-logfile", "-",
               # gunicorn's control socket (in the user's home) is unused here, and two serve
               # processes on one host would take the same path.
               "--no-control-socket",
               "app:create_app()"]
    os.execvpe(command[0], command, env)
    return 0  # pragma: no cover - execvpe does not return


def cmd_worker(args) -> int:
    from jobs.worker import run_worker

    settings, metrics = _process_metrics(_load(args), "worker", args.metrics_port)
    with metrics:
        return run_worker(settings, once=args.once, worker_id=args.id)


def cmd_scheduler(args) -> int:
    from jobs.scheduler import run_scheduler

    settings, metrics = _process_metrics(_load(args), "scheduler", args.metrics_port)
    with metrics:
        return run_scheduler(settings)


def cmd_demo(args) -> int:
    from demo import run_demo

    return run_demo(seconds=args.seconds, seed=args.seed, config_path=args.config)


def cmd_check_config(args) -> int:
    from checks import check_configuration

    return check_configuration(_load(args), live=args.live)


def cmd_migrate(args) -> int:
    from storage.migrate import upgrade

    settings = _load(args)
    upgrade(settings.service.database_url)
    print("database schema is current")
    return 0


def cmd_replay(args) -> int:
    from jobs.replay import replay

    return replay(_load(args), dead=args.dead, quarantined=args.quarantined, job_ids=args.job)


def cmd_report(args) -> int:
    from reporting.xla import print_report

    return print_report(_load(args), tuple(part.strip() for part in args.by.split(",") if part.strip()),
                        as_json=args.json)


def cmd_preview(args) -> int:
    from pipeline.preview import preview_ticket

    return preview_ticket(_load(args), args.connection, args.ticket, as_json=args.json)


if __name__ == "__main__":
    sys.exit(main())
