"""The reference the desk is measured against: a minimal Flask + SQLAlchemy Core application.

It does what the framework does for a ticket desk and nothing more: ``POST /tickets`` validates
a small JSON body, inserts one row and answers it as JSON; ``GET /tickets?limit=50&cursor=``
answers a keyset page of rows ordered by deadline then id, read through an index. No ORM,
authentication, audit, outbox or templates: the distance to Steward is what those cost.

Served by gunicorn exactly as Steward is (``reference_app:create_app()``, same config file, same
workers); ``REFERENCE_DATABASE_URL`` names its database (its table is created if missing).
"""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import Flask, jsonify, request

metadata = sa.MetaData()
tickets = sa.Table(
    "reference_tickets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("module", sa.String(16), nullable=False),
    sa.Column("priority", sa.String(2), nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_reference_tickets_due", "due_at", "id"),
)
LEVELS = ("high", "medium", "low")
PRIORITY = {("high", "high"): "P1", ("medium", "medium"): "P3", ("low", "low"): "P5"}


def _row(row) -> dict:
    return {
        "ref": f"INC-{row.id:06d}",
        "title": row.title,
        "description": row.description,
        "module": row.module,
        "priority": row.priority,
        "status": row.status,
        "due_at": row.due_at.isoformat(),
        "created_at": row.created_at.isoformat(),
    }


def _cursor(row) -> str:
    raw = json.dumps([row.due_at.isoformat(), row.id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def create_app(url: str | None = None) -> Flask:
    app = Flask(__name__)
    engine = sa.create_engine(url or os.environ["REFERENCE_DATABASE_URL"], pool_pre_ping=True)
    metadata.create_all(engine)
    app.extensions["reference.engine"] = engine

    @app.post("/tickets")
    def create_ticket():
        body = request.get_json(silent=True) or {}
        title, description = body.get("title"), body.get("description")
        impact, urgency = body.get("impact"), body.get("urgency")
        if not title or not description or impact not in LEVELS or urgency not in LEVELS:
            return jsonify({"status": 422, "code": "validation_failed"}), 422
        now = datetime.now(UTC)
        values = {
            "title": title[:200],
            "description": description,
            "module": str(body.get("module", ""))[:16],
            "priority": PRIORITY.get((impact, urgency), "P4"),
            "status": "new",
            "due_at": now + timedelta(hours=24),
            "created_at": now,
        }
        with engine.begin() as conn:
            row = conn.execute(tickets.insert().values(values).returning(*tickets.c)).one()
        return jsonify(_row(row)), 201

    @app.get("/tickets")
    def list_tickets():
        limit = min(max(int(request.args.get("limit", 25)), 1), 200)
        stmt = sa.select(tickets).order_by(tickets.c.due_at, tickets.c.id).limit(limit + 1)
        cursor = request.args.get("cursor")
        if cursor:
            due, last_id = json.loads(base64.urlsafe_b64decode(cursor))
            key = sa.tuple_(tickets.c.due_at, tickets.c.id)
            stmt = stmt.where(key > sa.tuple_(sa.literal(datetime.fromisoformat(due)), last_id))
        with engine.connect() as conn:
            rows = conn.execute(stmt).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return jsonify(
            {
                "items": [_row(r) for r in rows],
                "next_cursor": _cursor(rows[-1]) if more and rows else None,
            }
        )

    return app


def seed(url: str, n: int) -> None:
    """``n`` rows over the last two years, due in creation order (the index serves the page)."""
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO reference_tickets "
                "(title, description, module, priority, status, due_at, created_at) "
                "SELECT 'Invoice posting fails (' || g || ')', "
                "'The screen shows an error and nothing is saved. Reference ' || md5(g::text), "
                "'FIN', 'P3', 'new', now() - (:n - g) * interval '1 hour' + interval '1 day', "
                "now() - (:n - g) * interval '1 hour' FROM generate_series(1, :n) AS g"
            ),
            {"n": n},
        )
        conn.execute(sa.text("ANALYZE reference_tickets"))
    engine.dispose()
