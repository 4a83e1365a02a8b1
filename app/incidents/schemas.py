"""Shapes of tickets, actions, comments and ratings in the API (with OpenAPI examples)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate
from webargs.fields import DelimitedList

from app.core.schemas import PageArgs
from app.incidents.lifecycle import Action, Status
from app.incidents.queues import SORTS, VIEWS
from app.incidents.sla import LEVELS, PRIORITIES
from app.incidents.transitions import RESOLUTION_CODES

Level = validate.OneOf(LEVELS)


class PersonSchema(Schema):
    email = fields.Str()
    name = fields.Str()


class SlaSchema(Schema):
    response_due_at = fields.DateTime(allow_none=True)
    resolution_due_at = fields.DateTime(allow_none=True)
    response_breached = fields.Bool()
    resolution_breached = fields.Bool()
    at_risk = fields.Bool()
    paused = fields.Bool()
    resolution_elapsed_seconds = fields.Int(metadata={"description": "business time counted"})
    resolution_remaining_seconds = fields.Int(metadata={"description": "negative once late"})


class SatisfactionSchema(Schema):
    rating = fields.Int(required=True, validate=validate.Range(min=1, max=5))
    comment = fields.Str(allow_none=True, validate=validate.Length(max=2000))
    created_at = fields.DateTime(dump_only=True)


class TicketCreateSchema(Schema):
    title = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    description = fields.Str(required=True, validate=validate.Length(min=1, max=20000))
    module = fields.Str(required=True, metadata={"description": "module code", "example": "FIN"})
    impact = fields.Str(required=True, validate=Level, metadata={"example": "medium"})
    urgency = fields.Str(required=True, validate=Level, metadata={"example": "high"})

    class Meta:
        example = {
            "title": "Cannot post supplier invoice",
            "description": "Posting invoice 4711 fails with 'period closed' since this morning.",
            "module": "FIN",
            "impact": "medium",
            "urgency": "high",
        }


class TicketPatchSchema(Schema):
    title = fields.Str(validate=validate.Length(min=1, max=200))
    description = fields.Str(validate=validate.Length(min=1, max=20000))
    module = fields.Str()
    impact = fields.Str(validate=Level)
    urgency = fields.Str(validate=Level)
    assignee = fields.Str(allow_none=True, metadata={"description": "agent email or null"})
    group = fields.Str(allow_none=True, metadata={"description": "support group code or null"})


class TicketSchema(Schema):
    ref = fields.Str(metadata={"example": "INC-000123"})
    title = fields.Str()
    description = fields.Str()
    module = fields.Str()
    module_name = fields.Str()
    impact = fields.Str()
    urgency = fields.Str()
    priority = fields.Str()
    priority_reason = fields.Str(allow_none=True, metadata={"description": "support team only"})
    status = fields.Str(metadata={"enum": [s.value for s in Status]})
    reporter = fields.Nested(PersonSchema)
    assignee = fields.Nested(PersonSchema, allow_none=True)
    group = fields.Str(allow_none=True)
    suggested_priority = fields.Str(allow_none=True)
    prequalification_note = fields.Str(allow_none=True)
    resolution_code = fields.Str(allow_none=True)
    resolution_note = fields.Str(allow_none=True)
    duplicate_of = fields.Str(allow_none=True)
    reopen_count = fields.Int()
    enhancements = fields.List(fields.Str())
    satisfaction = fields.Nested(SatisfactionSchema, allow_none=True)
    sla = fields.Nested(SlaSchema)
    allowed_actions = fields.List(fields.Str())
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    triaged_at = fields.DateTime(allow_none=True)
    first_response_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    version = fields.Int()


class TicketPage(Schema):
    items = fields.List(fields.Nested(TicketSchema))
    next_cursor = fields.Str(allow_none=True)


def _csv_list(choices: tuple[str, ...] | list[str]):
    return DelimitedList(fields.Str(validate=validate.OneOf(choices)))


class TicketListArgs(PageArgs):
    view = fields.Str(validate=validate.OneOf(VIEWS), metadata={"description": "named queue"})
    status = _csv_list([s.value for s in Status])
    priority = _csv_list(PRIORITIES)
    module = fields.Str(validate=validate.Length(max=16))
    assignee = fields.Str(
        validate=validate.Length(max=320), metadata={"description": "email, 'me' or 'none'"}
    )
    group = fields.Str(validate=validate.Length(max=32))
    breached = fields.Bool()
    q = fields.Str(validate=validate.Length(max=200), metadata={"description": "text search"})
    sort = fields.Str(load_default="due", validate=validate.OneOf(SORTS))


class TransitionSchema(Schema):
    action = fields.Str(required=True, validate=validate.OneOf([a.value for a in Action]))
    resolution_code = fields.Str(validate=validate.OneOf(RESOLUTION_CODES))
    resolution_note = fields.Str(validate=validate.Length(max=20000))
    priority = fields.Str(validate=validate.OneOf(PRIORITIES))
    reason = fields.Str(validate=validate.Length(max=2000))
    assignee = fields.Str(allow_none=True)
    group = fields.Str(allow_none=True)
    duplicate_of = fields.Str(metadata={"example": "INC-000042"})

    class Meta:
        example = {
            "action": "resolve",
            "resolution_code": "configuration",
            "resolution_note": "The posting period was reopened; please post again.",
        }


class CommentCreateSchema(Schema):
    body = fields.Str(required=True, validate=validate.Length(min=1, max=20000))
    public = fields.Bool(load_default=True)


class CommentSchema(Schema):
    id = fields.Int()
    body = fields.Str()
    public = fields.Bool()
    author = fields.Nested(PersonSchema)
    created_at = fields.DateTime()


class CommentList(Schema):
    items = fields.List(fields.Nested(CommentSchema))
    next_cursor = fields.Str(allow_none=True)


class PrequalifySchema(Schema):
    priority = fields.Str(allow_none=True, validate=validate.OneOf(PRIORITIES))
    note = fields.Str(allow_none=True, validate=validate.Length(max=5000))


class LinkSchema(Schema):
    enhancement = fields.Str(required=True, metadata={"example": "ENH-000045"})


class HistoryEventSchema(Schema):
    at = fields.DateTime()
    actor = fields.Str(allow_none=True)
    action = fields.Str()
    changes = fields.Dict()


class HistoryList(Schema):
    items = fields.List(fields.Nested(HistoryEventSchema))
    next_cursor = fields.Str(allow_none=True)


class AttachmentSchema(Schema):
    id = fields.Int()
    filename = fields.Str()
    content_type = fields.Str()
    size = fields.Int()
    sha256 = fields.Str()
    uploaded_by = fields.Str()
    created_at = fields.DateTime()
    url = fields.Str()


class AttachmentList(Schema):
    items = fields.List(fields.Nested(AttachmentSchema))
    next_cursor = fields.Str(allow_none=True)


SUPPORT_ONLY = ("priority_reason", "group")
KEY_USER_FIELDS = ("suggested_priority", "prequalification_note")


def person(user) -> dict | None:
    return {"email": user.email, "name": user.name} if user is not None else None


def ticket_to_dict(session, actor, ticket, now, warning_ratio: float) -> dict:
    """The ticket as ``actor`` may see it: support-only fields are left out for requesters."""
    from app.core.permissions import Permission, can
    from app.incidents import service, sla
    from app.incidents.lifecycle import allowed_actions
    from app.incidents.transitions import can_reopen

    clock = sla.clock_view(ticket, now, warning_ratio)
    data = {
        "ref": ticket.ref,
        "title": ticket.title,
        "description": ticket.description,
        "module": ticket.module.code,
        "module_name": ticket.module.name,
        "impact": ticket.impact,
        "urgency": ticket.urgency,
        "priority": ticket.priority,
        "priority_reason": ticket.priority_reason,
        "status": ticket.status,
        "reporter": person(ticket.reporter),
        "assignee": person(ticket.assignee),
        "group": ticket.group.code if ticket.group else None,
        "suggested_priority": ticket.suggested_priority,
        "prequalification_note": ticket.prequalification_note,
        "resolution_code": ticket.resolution_code,
        "resolution_note": ticket.resolution_note,
        "duplicate_of": ticket.duplicate_of.ref if ticket.duplicate_of_id else None,
        "reopen_count": ticket.reopen_count,
        "enhancements": [link.enhancement_ref for link in ticket.enhancement_links],
        "satisfaction": (
            {
                "rating": ticket.satisfaction.rating,
                "comment": ticket.satisfaction.comment,
                "created_at": ticket.satisfaction.created_at,
            }
            if ticket.satisfaction
            else None
        ),
        "sla": clock.__dict__,
        "allowed_actions": allowed_actions(
            ticket.status, service.parties(actor, ticket), can_reopen=can_reopen(ticket, now)
        ),
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "triaged_at": ticket.triaged_at,
        "first_response_at": ticket.first_response_at,
        "resolved_at": ticket.resolved_at,
        "closed_at": ticket.closed_at,
        "version": ticket.version,
    }
    if not service.sees_internal(actor, ticket):
        for name in SUPPORT_ONLY:
            data.pop(name)
        if not can(actor, Permission.TICKET_PREQUALIFY, ticket.module_id):
            for name in KEY_USER_FIELDS:
                data.pop(name)
    return data


def history_to_dicts(events, internal: bool) -> list[dict]:
    hidden = set() if internal else set(SUPPORT_ONLY) | set(KEY_USER_FIELDS)
    items = []
    for event in events:
        changes = {k: v for k, v in (event.changes or {}).items() if k not in hidden}
        if not changes and event.action == "updated":
            continue
        items.append(
            {
                "at": event.occurred_at,
                "actor": event.actor_email,
                "action": event.action,
                "changes": changes,
            }
        )
    return items
