"""Health probes, the Prometheus endpoint and the audit log page."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_babel import get_timezone
from marshmallow import ValidationError
from sqlalchemy import select, text

from app.core.actor import current_actor
from app.core.api import AUDIT_ORDER, AuditArgs, audit_query
from app.core.audit import AuditEvent
from app.core.db import db
from app.core.display import plain_name, plain_value
from app.core.metrics import render_metrics
from app.core.navigation import entity_label, entity_types, entity_url
from app.core.pagination import paginate
from app.core.permissions import Permission, require
from app.core.queue import redis_for

blueprint = Blueprint("core", __name__)
blueprint.add_app_template_filter(plain_value, "plain")
blueprint.add_app_template_filter(plain_name, "plain_name")


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
