"""Audit log API: read-only, filterable, cursor-paginated (admins and auditors)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from app.core.actor import current_actor
from app.core.audit import AuditEvent
from app.core.db import db
from app.core.pagination import SortKey, paginate
from app.core.permissions import Permission, require
from app.core.schemas import Instant, PageArgs, page_schema

blp = Blueprint("audit_api", __name__, description="The append-only audit log")


def blueprints() -> list[Blueprint]:
    return [blp]


class AuditEventSchema(Schema):
    id = fields.Int()
    occurred_at = fields.DateTime()
    actor = fields.Str(attribute="actor_email", allow_none=True)
    entity_type = fields.Str()
    entity_id = fields.Str()
    action = fields.Str()
    changes = fields.Dict()
    context = fields.Dict()


class AuditArgs(PageArgs):
    entity_type = fields.Str(validate=validate.Length(max=64))
    entity_id = fields.Str(validate=validate.Length(max=64))
    actor = fields.Str(validate=validate.Length(max=320), metadata={"description": "actor email"})
    action = fields.Str(validate=validate.Length(max=64))
    since = Instant()
    until = Instant()


def audit_query(args: dict):
    """The filtered audit statement shared by the API and the page."""
    stmt = select(AuditEvent)
    for key, column in (
        ("entity_type", AuditEvent.entity_type),
        ("entity_id", AuditEvent.entity_id),
        ("action", AuditEvent.action),
        ("actor", AuditEvent.actor_email),
    ):
        if args.get(key):
            stmt = stmt.where(column == args[key])
    if args.get("since"):
        stmt = stmt.where(AuditEvent.occurred_at >= args["since"])
    if args.get("until"):
        stmt = stmt.where(AuditEvent.occurred_at < args["until"])
    return stmt


# newest first by time (the id breaks ties): events may be recorded late or back-dated
AUDIT_ORDER = [
    SortKey(AuditEvent.occurred_at, lambda e: e.occurred_at, descending=True),
    SortKey(AuditEvent.id, lambda e: e.id, descending=True),
]


@blp.route("/audit-events")
class AuditEvents(MethodView):
    @blp.arguments(AuditArgs, location="query")
    @blp.response(200, page_schema(AuditEventSchema))
    def get(self, args: dict):
        """Audit events, newest first. There is no way to change or delete one."""
        require(current_actor(), Permission.AUDIT_VIEW)
        page = paginate(db.session, audit_query(args), AUDIT_ORDER, args["cursor"], args["limit"])
        return {"items": page.items, "next_cursor": page.next_cursor}
