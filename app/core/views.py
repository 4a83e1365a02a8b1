"""Health probes, the Prometheus endpoint and the audit log page."""

from __future__ import annotations

from contextlib import suppress
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_babel import get_timezone
from marshmallow import ValidationError
from sqlalchemy import select, text

from app.core.actor import current_actor
from app.core.api import AUDIT_ORDER, AuditArgs, audit_query
from app.core.audit import AuditEvent
from app.core.clock import utcnow
from app.core.db import db
from app.core.display import plain_name, plain_value
from app.core.metrics import render_metrics
from app.core.navigation import entity_label, entity_types, entity_url
from app.core.pagination import paginate
from app.core.permissions import Permission, require
from app.core.queue import redis_status

blueprint = Blueprint("core", __name__)
blueprint.add_app_template_filter(plain_value, "plain")
blueprint.add_app_template_filter(plain_name, "plain_name")

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


# The filter choices come from the most recent events (an index range, however long the log).
RECENT_FOR_CHOICES = 5000
AUDIT_FILTERS = ("entity_type", "entity_id", "actor", "action", "cursor", "limit")


def _recent_values(column) -> list[str]:
    recent = (
        select(column.label("value"))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(RECENT_FOR_CHOICES)
        .subquery()
    )
    return [v for v in db.session.scalars(select(recent.c.value).distinct()) if v]


def _day_start(day: date) -> datetime:
    """Midnight of ``day`` in the viewer's zone (the page's dates are the viewer's days)."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(str(get_timezone())))


def _audit_args(raw: dict[str, str]) -> tuple[dict, dict[str, list[str]]]:
    """The page's filters as the API's arguments; what cannot be read is named and dropped."""
    errors: dict[str, list[str]] = {}
    args = {k: raw[k] for k in AUDIT_FILTERS if raw.get(k)}
    for name, shift in (("since", 0), ("until", 1)):
        if not raw.get(name):
            continue
        try:
            day = date.fromisoformat(raw[name])
        except ValueError:
            errors[name] = ["Not a date."]
            continue
        args[name] = (_day_start(day) + timedelta(days=shift)).isoformat()
    try:
        return AuditArgs().load(args), errors
    except ValidationError as exc:
        errors.update(exc.messages)
        clean = {k: v for k, v in args.items() if k not in exc.messages}
        return AuditArgs().load(clean), errors


@blueprint.get("/audit")
def audit_log():
    """The audit log, newest first, filtered by entity, actor, action and dates."""
    actor = current_actor()
    require(actor, Permission.AUDIT_VIEW)
    raw = {k: v for k, v in request.args.items() if v}
    args, errors = _audit_args(raw)
    page = paginate(db.session, audit_query(args), AUDIT_ORDER, args["cursor"], args["limit"])
    types = sorted(set(entity_types()) | set(_recent_values(AuditEvent.entity_type)))
    return render_template(
        "audit/list.html",
        page=page,
        filters=raw,
        errors=errors,
        entity_types=[(t, entity_label(t)) for t in types],
        actions=sorted(set(_recent_values(AuditEvent.action)) | {raw.get("action", "")} - {""}),
        actors=sorted(set(_recent_values(AuditEvent.actor_email)) | {raw.get("actor", "")} - {""}),
        link_of=lambda e: entity_url(actor, e.entity_type, e.entity_id),
        label_of=entity_label,
    )
