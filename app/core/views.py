"""Health probes, the Prometheus endpoint and the audit log page."""

from __future__ import annotations

from contextlib import suppress

from flask import Blueprint, current_app, jsonify, render_template, request
from marshmallow import ValidationError
from sqlalchemy import text

from app.core.actor import current_actor
from app.core.api import AUDIT_ORDER, AuditArgs, audit_query
from app.core.clock import utcnow
from app.core.db import db
from app.core.metrics import render_metrics
from app.core.pagination import paginate
from app.core.permissions import Permission, require
from app.core.queue import redis_status

blueprint = Blueprint("core", __name__)
# the outbox is late when its oldest row waits longer than this (the sweep runs every minute)
OUTBOX_LATE_SECONDS = 300


@blueprint.get("/healthz")
def healthz():
    """The process is alive (no dependency is checked)."""
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz():
    """Ready to serve requests: the database answers (503 naming it if not).

    Redis and the job backlog do not decide readiness (the web tier serves every request
    without them: jobs wait in the outbox); they are reported under ``jobs``, and a problem
    there makes the status ``degraded``, still 200. Every check is bounded.
    """
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"failed: {type(exc).__name__}"
        with suppress(Exception):  # nothing to undo, but the session must not stay failed
            db.session.rollback()
    jobs: dict[str, object] = {"redis": redis_status(current_app._get_current_object())}
    degraded = [] if jobs["redis"].startswith("ok") else ["redis"]
    if checks["database"] == "ok":
        pending, age = _outbox_backlog()
        jobs.update(outbox_pending=pending, outbox_oldest_pending_age_seconds=round(age, 1))
        if age > OUTBOX_LATE_SECONDS:
            degraded.append("outbox")
    if checks["database"] != "ok":
        status, code = "unavailable", 503
    else:
        status, code = ("degraded" if degraded else "ok"), 200
    return jsonify(status=status, checks=checks, degraded=degraded, jobs=jobs), code


def _outbox_backlog() -> tuple[int, float]:
    """How many outbox rows wait to be handed over, and for how long the oldest has."""
    from sqlalchemy import func, select

    from app.core.outbox import OutboxMessage

    count, oldest = db.session.execute(
        select(func.count(OutboxMessage.id), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.dispatched_at.is_(None),
            OutboxMessage.completed_at.is_(None),
            OutboxMessage.gave_up_at.is_(None),
        )
    ).one()
    if oldest is None:
        return count, 0.0
    return count, (utcnow() - oldest).total_seconds()


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
