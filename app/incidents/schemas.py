"""Shapes of tickets, actions, comments and ratings in the API (with OpenAPI examples)."""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate
from webargs.fields import DelimitedList

from app.catalogue.service import CatalogueView
from app.core.permissions import Permission, can
from app.core.schemas import PageArgs
from app.incidents import service, sla
from app.incidents.lifecycle import Action, Status, allowed_actions
from app.incidents.models import format_ref
from app.incidents.queues import SORTS, VIEWS
from app.incidents.service import DESCRIPTION_MAX, TITLE_MAX
from app.incidents.sla import LEVELS, PRIORITIES
from app.incidents.transitions import RESOLUTION_CODES, can_reopen

Level = validate.OneOf(LEVELS)


class PersonSchema(Schema):
    email = fields.Str(metadata={"description": "shown to the support team, and of oneself"})
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
    title = fields.Str(required=True, validate=validate.Length(min=1, max=TITLE_MAX))
    description = fields.Str(required=True, validate=validate.Length(min=1, max=DESCRIPTION_MAX))
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
    title = fields.Str(validate=validate.Length(min=1, max=TITLE_MAX))
    description = fields.Str(validate=validate.Length(min=1, max=DESCRIPTION_MAX))
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
    actor = fields.Str(
        allow_none=True, metadata={"description": "email: for the support team, and of oneself"}
    )
    actor_name = fields.Str(allow_none=True)
    action = fields.Str()
    changes = fields.Dict()


class HistoryList(Schema):
    items = fields.List(fields.Nested(HistoryEventSchema))
    next_cursor = fields.Str(allow_none=True)


class SimilarArgs(Schema):
    module = fields.Str(required=True, validate=validate.Length(min=1, max=16))
    title = fields.Str(required=True, validate=validate.Length(max=TITLE_MAX))
    limit = fields.Int(load_default=5, validate=validate.Range(min=1, max=20))


class SimilarTicketSchema(Schema):
    ref = fields.Str()
    title = fields.Str()
    status = fields.Str()
    updated_at = fields.DateTime()
    watching = fields.Bool(metadata={"description": "you already follow it"})
    mine = fields.Bool(metadata={"description": "you reported it"})


class SimilarList(Schema):
    items = fields.List(fields.Nested(SimilarTicketSchema))


class WatchersSchema(Schema):
    watching = fields.Bool(metadata={"description": "whether you follow the ticket"})
    items = fields.List(fields.Nested(PersonSchema))


class AttachmentSchema(Schema):
    id = fields.Int()
    filename = fields.Str()
    content_type = fields.Str()
    size = fields.Int()
    sha256 = fields.Str()
    public = fields.Bool(metadata={"description": "false: internal, for the support team only"})
    uploaded_by = fields.Str(
        metadata={"description": "email: for the support team, and of oneself"}
    )
    uploaded_by_name = fields.Str()
    created_at = fields.DateTime()
    url = fields.Str()


class AttachmentUploadSchema(Schema):
    """A multipart/form-data upload: the file, and whether it is internal."""

    file = Upload(required=True)
    public = fields.Bool(
        load_default=True, metadata={"description": "false: internal, for the support team only"}
    )


class AttachmentList(Schema):
    items = fields.List(fields.Nested(AttachmentSchema))
    next_cursor = fields.Str(allow_none=True)


SUPPORT_ONLY = ("priority_reason", "group")
KEY_USER_FIELDS = ("suggested_priority", "prequalification_note")


def sees_emails(actor, user) -> bool:
    """People's email addresses are for the support team (``user:view``); others see names,
    except their own address."""
    return user is not None and (user.id == actor.id or can(actor, Permission.USER_VIEW))


def person(user, viewer=None) -> dict | None:
    """Name and (if ``viewer`` may see it, or no viewer is named) email of ``user``."""
    if user is None:
        return None
    if viewer is None or sees_emails(viewer, user):
        return {"email": user.email, "name": user.name}
    return {"name": user.name}


def ticket_to_dict(
    session,
    actor,
    ticket,
    now,
    warning_ratio: float,
    *,
    people: dict | None = None,
    links: dict | None = None,
    ratings: dict | None = None,
    summary: bool = False,
    catalogue=None,
) -> dict:
    """The ticket (an ORM object, or a row of ``queues.list_ticket_rows``) as ``actor`` may
    see it: support-only fields are left out for requesters.

    Reads nothing it can avoid: the module, group and calendar come from the catalogue cache,
    the SLA from the stored deadlines; for a page of rows, the people, enhancement links and
    ratings come from ``people``, ``links`` and ``ratings`` (by id, loaded once per page).
    With ``summary``, only what a list row shows (no long texts, enhancement links or rating).
    A page passes one ``catalogue`` (``ListContext``) for all its tickets.
    """

    catalogue = catalogue or ListContext(session)
    module = catalogue.module(ticket.module_id) or ticket.module
    group = catalogue.group(ticket.group_id)
    if people is None:
        reporter, assignee = ticket.reporter, ticket.assignee if ticket.assignee_id else None
    else:
        reporter, assignee = people.get(ticket.reporter_id), people.get(ticket.assignee_id)
    clock = sla.clock_view(ticket, now, warning_ratio, sla.calendar_of(ticket, session, catalogue))
    data = {
        "ref": format_ref(ticket.id),
        "title": ticket.title,
        "module": module.code,
        "module_name": module.name,
        "impact": ticket.impact,
        "urgency": ticket.urgency,
        "priority": ticket.priority,
        "status": ticket.status,
        "reporter": person(reporter),  # whoever sees a ticket may contact its reporter
        "assignee": person(assignee, actor),
        "group": group.code if group else None,
        "suggested_priority": ticket.suggested_priority,
        "resolution_code": ticket.resolution_code,
        "duplicate_of": format_ref(ticket.duplicate_of_id) if ticket.duplicate_of_id else None,
        "reopen_count": ticket.reopen_count,
        "sla": clock.__dict__,
        "allowed_actions": _actions(catalogue, actor, ticket, now),
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "triaged_at": ticket.triaged_at,
        "first_response_at": ticket.first_response_at,
        "resolved_at": ticket.resolved_at,
        "closed_at": ticket.closed_at,
        "version": ticket.version,
    }
    if not summary:
        if links is None:
            enhancements = [link.enhancement_ref for link in ticket.enhancement_links]
            rating = ticket.satisfaction
        else:
            enhancements, rating = links.get(ticket.id, []), (ratings or {}).get(ticket.id)
        data |= {
            "description": ticket.description,
            "priority_reason": ticket.priority_reason,
            "prequalification_note": ticket.prequalification_note,
            "resolution_note": ticket.resolution_note,
            "enhancements": enhancements,
            "satisfaction": (
                {
                    "rating": rating.rating,
                    "comment": rating.comment,
                    "created_at": rating.created_at,
                }
                if rating
                else None
            ),
        }
    internal, prequalifies = _grants(catalogue, actor, ticket)
    if not internal:
        for name in SUPPORT_ONLY:
            data.pop(name, None)
        if not prequalifies:
            for name in KEY_USER_FIELDS:
                data.pop(name, None)
    return data


class ListContext(CatalogueView):
    """What the tickets of one page (one viewer) share: the catalogue, and the answers of the
    permission policy, which depend on the module (and on being the reporter), not the ticket."""

    def __init__(self, session) -> None:
        super().__init__(session)
        self.grants: dict[int, tuple[bool, bool]] = {}
        self.actions: dict[tuple, list[str]] = {}


def _grants(context: ListContext, actor, ticket) -> tuple[bool, bool]:
    """(sees internal fields, may pre-qualify) in the ticket's module."""

    found = context.grants.get(ticket.module_id)
    if found is None:
        found = context.grants[ticket.module_id] = (
            service.sees_internal(actor, ticket),
            can(actor, Permission.TICKET_PREQUALIFY, ticket.module_id),
        )
    return found


def _actions(context: ListContext, actor, ticket, now) -> list[str]:
    """The actions ``actor`` may take on ``ticket`` (the state machine asked once per module,
    reporter, status and reopen window)."""

    reopenable = can_reopen(ticket, now)
    key = (ticket.module_id, ticket.reporter_id == actor.id, ticket.status, reopenable)
    found = context.actions.get(key)
    if found is None:
        found = allowed_actions(
            ticket.status, service.parties(actor, ticket), can_reopen=reopenable
        )
        context.actions[key] = found
    return list(found)


PERSON_FIELDS = ("assignee",)  # changes whose values are people's emails


def history_to_dicts(session, actor, events, internal: bool) -> list[dict]:
    """The timeline as ``actor`` may see it: who acted by name, and people in the changes by
    name too, unless ``actor`` may see their emails (the support team, or one's own)."""
    from sqlalchemy import or_, select

    from app.identity.models import User

    events = list(events)
    ids = {e.actor_id for e in events if e.actor_id is not None}
    emails = {
        value
        for e in events
        for name in PERSON_FIELDS
        for value in (e.changes or {}).get(name) or []
        if isinstance(value, str)
    }
    found = (
        session.scalars(select(User).where(or_(User.id.in_(ids), User.email.in_(emails)))).all()
        if ids or emails
        else []
    )
    by_id, by_email = {u.id: u for u in found}, {u.email: u for u in found}

    def shown(email):
        who = by_email.get(email)
        return email if who is None or sees_emails(actor, who) else who.name

    hidden = set() if internal else set(SUPPORT_ONLY) | set(KEY_USER_FIELDS)
    items = []
    for event in events:
        changes = {k: v for k, v in (event.changes or {}).items() if k not in hidden}
        if not changes and event.action == "updated":
            continue
        for name in PERSON_FIELDS:
            if isinstance(changes.get(name), list):
                changes[name] = [shown(value) for value in changes[name]]
        who = by_id.get(event.actor_id)
        items.append(
            {
                "at": event.occurred_at,
                "actor": event.actor_email if who is not None and sees_emails(actor, who) else None,
                "actor_name": who.name if who is not None else None,
                "action": event.action,
                "changes": changes,
            }
        )
    return items


# --- the agents' desk ----------------------------------------------------------------------------


class BulkSchema(Schema):
    action = fields.Str(
        required=True,
        validate=validate.OneOf(
            ("assign_to_me", "assign", "group", "priority", "duplicate", "close")
        ),
    )
    tickets = fields.List(
        fields.Str(validate=validate.Length(min=1, max=20)),
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"example": ["INC-000001", "INC-000002"]},
    )
    assignee = fields.Str(validate=validate.Length(max=320), metadata={"description": "assign"})
    group = fields.Str(validate=validate.Length(max=32), metadata={"description": "group"})
    priority = fields.Str(validate=validate.OneOf(PRIORITIES))
    reason = fields.Str(validate=validate.Length(max=2000), metadata={"description": "priority"})
    duplicate_of = fields.Str(validate=validate.Length(max=20), metadata={"example": "INC-000042"})

    class Meta:
        example = {"action": "assign", "tickets": ["INC-000001"], "assignee": "alex@example.com"}


class BulkOutcomeSchema(Schema):
    ref = fields.Str()
    done = fields.Bool()
    message = fields.Str()
    code = fields.Str(allow_none=True, metadata={"description": "the error's code when refused"})
    errors = fields.Dict(keys=fields.Str(), values=fields.List(fields.Str()))


class BulkResultSchema(Schema):
    done = fields.Int()
    refused = fields.Int()
    items = fields.List(fields.Nested(BulkOutcomeSchema))


_FILTER_DOC = "queue filters: view, status, priority, module, assignee, group, breached, q, sort"


class SavedViewSchema(Schema):
    id = fields.Int(dump_only=True)
    name = fields.Str(required=True, validate=validate.Length(min=1, max=80))
    filters = fields.Dict(
        keys=fields.Str(validate=validate.Length(max=40)),
        values=fields.Raw(allow_none=True),
        load_default=dict,
        metadata={"description": _FILTER_DOC, "example": {"view": "open", "priority": "P1"}},
    )
    group = fields.Str(
        allow_none=True,
        validate=validate.Length(max=32),
        metadata={"description": "support group it is shared with (null: private)"},
    )
    mine = fields.Bool(dump_only=True, metadata={"description": "the caller owns it"})
    owner = fields.Str(dump_only=True, metadata={"description": "owner's name"})
    created_at = fields.DateTime(dump_only=True)


class SavedViewList(Schema):
    items = fields.List(fields.Nested(SavedViewSchema))
    next_cursor = fields.Str(allow_none=True)


class CannedSchema(Schema):
    id = fields.Int(dump_only=True)
    title = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    body = fields.Str(
        required=True,
        validate=validate.Length(min=1, max=10_000),
        metadata={"example": "Hello {{requester_name}}, about {{ticket_ref}} ({{module}}): ..."},
    )
    module = fields.Str(
        allow_none=True,
        validate=validate.Length(max=16),
        metadata={"description": "module code; null for every module"},
    )
    version = fields.Int(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class CannedPatchSchema(Schema):
    title = fields.Str(validate=validate.Length(min=1, max=120))
    body = fields.Str(validate=validate.Length(min=1, max=10_000))
    module = fields.Str(allow_none=True, validate=validate.Length(max=16))


class CannedList(Schema):
    items = fields.List(fields.Nested(CannedSchema))
    next_cursor = fields.Str(allow_none=True)


class CannedListArgs(Schema):
    module = fields.Str(validate=validate.Length(max=16), metadata={"description": "module code"})


class CannedRenderedSchema(Schema):
    id = fields.Int()
    title = fields.Str()
    text = fields.Str(metadata={"description": "the body, placeholders filled for the ticket"})


class RotationSchema(Schema):
    group = fields.Str(dump_only=True)
    name = fields.Str(dump_only=True)
    enabled = fields.Bool(required=True)


class RotationList(Schema):
    items = fields.List(fields.Nested(RotationSchema))
    next_cursor = fields.Str(allow_none=True)


class QueueCountsSchema(Schema):
    counts = fields.Dict(keys=fields.Str(), values=fields.Int())


class TicketVersionSchema(Schema):
    ref = fields.Str()
    version = fields.Int()
    etag = fields.Str()
    updated_at = fields.DateTime()
    changed_by = fields.Str(allow_none=True, metadata={"description": "who made the last change"})


class TicketCountSchema(Schema):
    total = fields.Int()
