"""Tickets API: submit, list and filter, read, change (If-Match), act, comment, rate, attach."""

from __future__ import annotations

from flask import request, send_file, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import EXCLUDE

from app.core.clock import utcnow
from app.core.db import db
from app.core.etag import check_if_match, etag_for
from app.core.jsonio import json_response
from app.identity.auth import current_actor
from app.incidents import (
    assignment,
    attachments,
    conversation,
    queues,
    service,
    transitions,
    watch_api,
)
from app.incidents.schemas import (
    AttachmentList,
    AttachmentSchema,
    AttachmentUploadSchema,
    CommentCreateSchema,
    CommentList,
    CommentSchema,
    HistoryList,
    LinkSchema,
    ListContext,
    PrequalifySchema,
    SatisfactionSchema,
    TicketCreateSchema,
    TicketListArgs,
    TicketPage,
    TicketPatchSchema,
    TicketSchema,
    TransitionSchema,
    history_to_dicts,
    person,
    ticket_to_dict,
)

blp = Blueprint("tickets_api", __name__, description="Incident tickets (INC-...)")


def blueprints() -> list[Blueprint]:
    from app.incidents import desk_api  # builds on this module's helpers

    return [watch_api.blp, blp, desk_api.blp]


def ticket_etag(ticket) -> str:
    return etag_for("ticket", ticket.ref, ticket.version)


def respond(ticket, status: int = 200):
    data = ticket_to_dict(db.session, current_actor(), ticket, utcnow(), service.warning_ratio())
    return json_response(data, status, {"ETag": ticket_etag(ticket)})


def commit_and_respond(ticket, status: int = 200):
    """Commit, then answer with the ticket as it was just written, without reading it back.

    The flush gave the ticket its id and version and nothing changes it in the database
    afterwards, so the session's objects are kept as they are instead of being expired (which
    would reload the ticket and everything it shows).
    """
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
    return respond(ticket, status)


@blp.route("/tickets")
class Tickets(MethodView):
    @blp.arguments(TicketListArgs, location="query")
    @blp.response(200, TicketPage)
    def get(self, args: dict):
        """List the tickets you may see; named queues, filters, sorted by SLA deadline."""
        actor = current_actor()
        query = queues.TicketQuery(
            **{
                k: args.get(k)
                for k in (
                    "view",
                    "status",
                    "priority",
                    "module",
                    "assignee",
                    "group",
                    "breached",
                    "q",
                )
            },
            sort=args["sort"],
        )
        rows = queues.list_ticket_rows(
            db.session, actor, query, cursor=args["cursor"], limit=args["limit"]
        )
        now, ratio = utcnow(), service.warning_ratio()
        session = db.session()
        catalogue = ListContext(session)
        items = [
            ticket_to_dict(
                session,
                actor,
                t,
                now,
                ratio,
                people=rows.people,
                links=rows.links,
                ratings=rows.ratings,
                catalogue=catalogue,
            )
            for t in rows.page.items
        ]
        return json_response({"items": items, "next_cursor": rows.page.next_cursor})

    @blp.arguments(TicketCreateSchema, example=TicketCreateSchema.Meta.example)
    @blp.response(201, TicketSchema)
    def post(self, body: dict):
        """Report an incident; the priority follows the ITIL impact x urgency matrix."""
        ticket = service.create_ticket(db.session, current_actor(), **body)
        assignment.assign_on_arrival(db.session, ticket)
        return commit_and_respond(ticket, 201)


@blp.route("/tickets/<ref>")
class TicketItem(MethodView):
    @blp.response(200, TicketSchema)
    def get(self, ref: str):
        """One ticket (404 if you may not see it)."""
        return respond(service.get_ticket(db.session, current_actor(), ref))

    @blp.arguments(TicketPatchSchema)
    @blp.response(200, TicketSchema)
    def patch(self, body: dict, ref: str):
        """Change fields; needs If-Match with the ticket's ETag (428 without, 412 if stale)."""
        actor = current_actor()
        ticket = service.get_ticket(db.session, actor, ref)
        check_if_match(request.headers.get("If-Match"), ticket_etag(ticket))
        service.update_ticket(db.session, actor, ticket, body)
        return commit_and_respond(ticket)


@blp.route("/tickets/<ref>/transitions")
class TicketTransitions(MethodView):
    @blp.arguments(TransitionSchema, example=TransitionSchema.Meta.example)
    @blp.response(200, TicketSchema)
    @blp.alt_response(409, description="Not allowed now; the body lists `allowed` actions")
    def post(self, body: dict, ref: str):
        """Take an action: triage, start, wait, resume, resolve, close, reopen, cancel, duplicate.

        An optional If-Match guards against acting on a ticket that changed meanwhile.
        """
        actor = current_actor()
        ticket = service.get_ticket(db.session, actor, ref)
        if request.headers.get("If-Match"):
            check_if_match(request.headers["If-Match"], ticket_etag(ticket))
        action = body.pop("action")
        transitions.perform(db.session, actor, ticket, action, **body)
        return commit_and_respond(ticket)


def dump_comment(comment, viewer) -> dict:
    return {
        "id": comment.id,
        "body": comment.body,
        "public": comment.public,
        "author": person(comment.author, viewer),
        "created_at": comment.created_at,
    }


@blp.route("/tickets/<ref>/comments")
class TicketComments(MethodView):
    @blp.response(200, CommentList)
    def get(self, ref: str):
        """The conversation; internal notes only for the support team."""
        actor = current_actor()
        ticket = service.get_ticket(db.session, actor, ref)
        items = [
            dump_comment(c, actor) for c in conversation.comments_for(db.session, actor, ticket)
        ]
        return {"items": items, "next_cursor": None}

    @blp.arguments(CommentCreateSchema)
    @blp.response(201, CommentSchema)
    def post(self, body: dict, ref: str):
        """Answer publicly, or (support team) add an internal note."""
        actor = current_actor()
        ticket = service.get_ticket(db.session, actor, ref)
        comment = conversation.add_comment(db.session, actor, ticket, **body)
        db.session.commit()
        return dump_comment(comment, actor), 201, {"ETag": ticket_etag(ticket)}


@blp.route("/tickets/<ref>/satisfaction")
class TicketSatisfaction(MethodView):
    @blp.arguments(SatisfactionSchema)
    @blp.response(201, SatisfactionSchema)
    def post(self, body: dict, ref: str):
        """Rate the support (1-5 stars, optional comment) once the ticket is resolved."""
        actor = current_actor()
        ticket = service.get_ticket(db.session, actor, ref)
        satisfaction = service.rate(db.session, actor, ticket, **body)
        db.session.commit()
        return satisfaction


@blp.route("/tickets/<ref>/prequalification")
class TicketPrequalification(MethodView):
    @blp.arguments(PrequalifySchema)
    @blp.response(200, TicketSchema)
    def post(self, body: dict, ref: str):
        """Key users of the module suggest a priority and add context before triage."""
        actor = current_actor()
        ticket = service.get_ticket(db.session, actor, ref)
        service.prequalify(db.session, actor, ticket, **body)
        db.session.commit()
        return respond(ticket)


@blp.route("/tickets/<ref>/enhancements")
class TicketEnhancements(MethodView):
    @blp.arguments(LinkSchema)
    @blp.response(200, TicketSchema)
    def post(self, body: dict, ref: str):
        """Link the incident to the enhancement request that would remove its cause."""
        actor = current_actor()
        ticket = service.get_ticket(db.session, actor, ref)
        service.link_enhancement(db.session, actor, ticket, body["enhancement"])
        db.session.commit()
        return respond(ticket)


@blp.route("/tickets/<ref>/history")
class TicketHistory(MethodView):
    @blp.response(200, HistoryList)
    def get(self, ref: str):
        """Every change of the ticket, oldest first, from the audit log."""
        actor = current_actor()
        ticket = service.get_ticket(db.session, actor, ref)
        events = service.history(db.session, actor, ticket)
        items = history_to_dicts(db.session, actor, events, service.sees_internal(actor, ticket))
        return {"items": items, "next_cursor": None}


def dump_attachment(ticket, attachment, viewer) -> dict:
    uploader = person(attachment.uploaded_by, viewer)
    return {
        "id": attachment.id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "public": attachment.public,
        "uploaded_by": uploader.get("email"),
        "uploaded_by_name": uploader["name"],
        "created_at": attachment.created_at,
        "url": url_for(
            "tickets_api.TicketAttachmentItem", ref=ticket.ref, attachment_id=attachment.id
        ),
    }


@blp.route("/tickets/<ref>/attachments")
class TicketAttachments(MethodView):
    @blp.response(200, AttachmentList)
    def get(self, ref: str):
        """Files attached to the ticket (internal ones only for the support team)."""
        actor = current_actor()
        ticket = service.get_ticket(db.session, actor, ref)
        files = attachments.attachments_of(db.session, actor, ticket)
        return {"items": [dump_attachment(ticket, a, actor) for a in files], "next_cursor": None}

    @blp.arguments(AttachmentUploadSchema, location="files")
    @blp.response(201, AttachmentSchema)
    def post(self, upload: dict, ref: str):
        """Upload one file as multipart/form-data field `file` (size and type checked).

        The form field `public=false` makes it internal, seen by the support team only.
        """
        actor = current_actor()
        ticket = service.get_ticket(db.session, actor, ref)
        # webargs reads a "files" schema from the files part only; `public` is a form field
        form = blp.ARGUMENTS_PARSER.parse(
            AttachmentUploadSchema(only=("public",)), request, location="form", unknown=EXCLUDE
        )
        attachment = attachments.store_attachment(
            db.session,
            actor,
            ticket,
            stream=upload["file"].stream,
            filename=upload["file"].filename or "",
            content_type=upload["file"].mimetype,
            public=form["public"],
        )
        db.session.commit()
        return dump_attachment(ticket, attachment, actor)


@blp.route("/tickets/<ref>/attachments/<int:attachment_id>")
class TicketAttachmentItem(MethodView):
    @blp.response(200, description="The file, as an attachment download")
    def get(self, ref: str, attachment_id: int):
        """Download a file (only if you can see the ticket)."""
        actor = current_actor()
        ticket = service.get_ticket(db.session, actor, ref)
        attachment, path = attachments.attachment_path(db.session, actor, ticket, attachment_id)
        return send_file(
            path,
            mimetype=attachment.content_type,
            as_attachment=True,
            download_name=attachment.filename,
            max_age=0,
        )
