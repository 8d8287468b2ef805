"""`/healthz` (the process answers), `/readyz` (database reachable, migrations current), `/metrics`."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import text

from ops.metrics import render_metrics
from storage.migrate import is_current

blueprint = Blueprint("ops", __name__)


@blueprint.get("/healthz")
def healthz():
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz():
    services = current_app.extensions["xla"]
    try:
        with services.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not ready"; the body says which
        return jsonify(status="unavailable", database="unreachable", error=type(exc).__name__), 503
    if not is_current(services.engine):
        return jsonify(status="unavailable", database="ok", migrations="pending; run: python app.py migrate"), 503
    return jsonify(status="ok", database="ok", migrations="current")


@blueprint.get("/metrics")
def metrics():
    body, content_type = render_metrics(current_app.extensions["xla"].sessions)
    return Response(body, content_type=content_type)
