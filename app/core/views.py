"""Health probes, the Prometheus endpoint and the audit log page."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request
from marshmallow import ValidationError
from sqlalchemy import text

from app.core.actor import current_actor
from app.core.api import AUDIT_ORDER, AuditArgs, audit_query
from app.core.db import db
from app.core.metrics import render_metrics
from app.core.pagination import paginate
from app.core.permissions import Permission, require
from app.core.queue import redis_for

blueprint = Blueprint("core", __name__)


@blueprint.get("/healthz")
def healthz():
    """The process is alive (no dependency is checked)."""
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz():
    """Ready to serve: the database and the job queue answer. 503 names what failed."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"failed: {type(exc).__name__}"
    try:
        redis_for(current_app).ping()
        checks["redis"] = "ok" if current_app.config.get("REDIS_URL") else "ok (embedded)"
    except Exception as exc:
        checks["redis"] = f"failed: {type(exc).__name__}"
    ready = all(v.startswith("ok") for v in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503


@blueprint.get("/metrics")
def metrics():
    """Prometheus exposition (aggregated over gunicorn workers in multiprocess mode)."""
    return render_metrics(current_app._get_current_object())


@blueprint.get("/audit")
def audit_log():
    """The audit log with filters, newest first."""
    require(current_actor(), Permission.AUDIT_VIEW)
    raw = {k: v for k, v in request.args.items() if v}
    try:
        args = AuditArgs().load(raw)
        error = None
    except ValidationError as exc:
        args, error = AuditArgs().load({}), exc.messages
    page = paginate(db.session, audit_query(args), AUDIT_ORDER, args["cursor"], args["limit"])
    return render_template("audit/list.html", page=page, filters=raw, error=error)
