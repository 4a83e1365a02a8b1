"""The agents' desk in the API: assign to me, bulk actions, saved views, canned responses,
round-robin per group, and the small reads that keep a page live (counts, a ticket's version)."""

from __future__ import annotations

from dataclasses import asdict

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from app.catalogue.models import SupportGroup
from app.catalogue.service import module_ref
from app.core.db import db
from app.core.etag import check_if_match, etag_for
from app.core.permissions import Permission, require
from app.identity.auth import current_actor
from app.identity.models import User
from app.incidents import assignment, bulk, canned, live, queues, saved_views, service
from app.incidents.api import commit_and_respond, ticket_etag
from app.incidents.schemas import (
    BulkResultSchema,
    BulkSchema,
    CannedList,
    CannedListArgs,
    CannedPatchSchema,
    CannedRenderedSchema,
    CannedSchema,
    QueueCountsSchema,
    RotationList,
    RotationSchema,
    SavedViewList,
    SavedViewSchema,
    TicketCountSchema,
    TicketListArgs,
    TicketSchema,
    TicketVersionSchema,
)

blp = Blueprint("desk_api", __name__, description="The support desk: bulk, views, canned")


@blp.route("/tickets/<ref>/assign-to-me")
class AssignToMe(MethodView):
    @blp.response(200, TicketSchema)
    def post(self, ref: str):
        """Take the ticket: you become its assignee (support team)."""
        actor = current_actor()
        ticket = service.get_ticket(db.session, actor, ref)
        if request.headers.get("If-Match"):
            check_if_match(request.headers["If-Match"], ticket_etag(ticket))
        assignment.assign_to_me(db.session, actor, ticket)
        return commit_and_respond(ticket)


@blp.route("/tickets/<ref>/version")
class TicketVersion(MethodView):
    @blp.response(200, TicketVersionSchema)
    def get(self, ref: str):
        """The ticket's version and who changed it last: poll it to see others' changes."""
        actor = current_actor()
        ticket = service.get_ticket(db.session, actor, ref)
        return live.ticket_version(db.session, ticket, ticket_etag(ticket))


@blp.route("/tickets/bulk")
class Bulk(MethodView):
    @blp.arguments(BulkSchema, example=BulkSchema.Meta.example)
    @blp.response(200, BulkResultSchema)
    def post(self, body: dict):
        """One action on many tickets; each is done or refused on its own, with the reason."""
        actor = current_actor()
        action, refs = body.pop("action"), body.pop("tickets")
        outcomes = bulk.apply_bulk(db.session, actor, refs, action, **body)
        db.session.commit()
        return bulk_result(outcomes)


def bulk_result(outcomes: list[bulk.RowOutcome]) -> dict:
    done = sum(1 for o in outcomes if o.done)
    return {
        "done": done,
        "refused": len(outcomes) - done,
        "items": [asdict(o) for o in outcomes],
    }


@blp.route("/tickets/count")
class TicketCount(MethodView):
    @blp.arguments(TicketListArgs, location="query")
    @blp.response(200, TicketCountSchema)
    def get(self, args: dict):
        """How many tickets a list holds (the same filters as `GET /tickets`, every page)."""
        return {"total": queues.count_tickets(db.session, current_actor(), list_query(args))}


def list_query(args: dict) -> queues.TicketQuery:
    keys = ("view", "status", "priority", "module", "assignee", "group", "breached", "q")
    return queues.TicketQuery(**{k: args.get(k) for k in keys}, sort=args.get("sort") or "due")


@blp.route("/queues/counts")
class QueueCounts(MethodView):
    @blp.response(200, QueueCountsSchema)
    def get(self):
        """How many tickets sit in each of the support team's queues now."""
        actor = current_actor()
        require(actor, Permission.TICKET_WORK)
        return {"counts": queues.queue_counts(db.session, actor)}


# --- saved views ------------------------------------------------------------------------------


def dump_view(view, actor) -> dict:
    group = db.session.get(SupportGroup, view.group_id) if view.group_id else None
    owner = db.session.get(User, view.owner_id)
    return {
        "id": view.id,
        "name": view.name,
        "filters": view.filters,
        "group": group.code if group else None,
        "mine": view.owner_id == actor.id,
        "owner": owner.name if owner else None,
        "created_at": view.created_at,
    }


@blp.route("/saved-views")
class SavedViews(MethodView):
    @blp.response(200, SavedViewList)
    def get(self):
        """Your saved views, then those shared with your groups."""
        actor = current_actor()
        views = saved_views.list_views(db.session, actor)
        return {"items": [dump_view(v, actor) for v in views], "next_cursor": None}

    @blp.arguments(SavedViewSchema)
    @blp.response(201, SavedViewSchema)
    def post(self, body: dict):
        """Save a set of queue filters under a name, private or shared with one of your groups."""
        actor = current_actor()
        view = saved_views.create_view(db.session, actor, **body)
        db.session.commit()
        return dump_view(view, actor), 201


@blp.route("/saved-views/<int:view_id>")
class SavedViewItem(MethodView):
    @blp.response(200, SavedViewSchema)
    def get(self, view_id: int):
        """One saved view."""
        actor = current_actor()
        return dump_view(saved_views.get_view(db.session, actor, view_id), actor)

    @blp.response(204)
    def delete(self, view_id: int):
        """Delete a view you own."""
        actor = current_actor()
        saved_views.delete_view(db.session, actor, saved_views.get_view(db.session, actor, view_id))
        db.session.commit()
        return "", 204


# --- canned responses ---------------------------------------------------------------------


def canned_etag(item) -> str:
    return etag_for("canned", item.id, item.version)


def dump_canned(item) -> dict:
    module = module_ref(db.session, item.module_id) if item.module_id else None
    return {
        "id": item.id,
        "title": item.title,
        "body": item.body,
        "module": module.code if module else None,
        "version": item.version,
        "updated_at": item.updated_at,
    }


@blp.route("/canned-responses")
class CannedResponses(MethodView):
    @blp.arguments(CannedListArgs, location="query")
    @blp.response(200, CannedList)
    def get(self, args: dict):
        """Canned responses (support team): every module's, and with `module` that module's."""
        items = canned.list_canned(db.session, current_actor(), module=args.get("module"))
        return {"items": [dump_canned(c) for c in items], "next_cursor": None}

    @blp.arguments(CannedSchema)
    @blp.response(201, CannedSchema)
    def post(self, body: dict):
        """Write a canned response (admins); placeholders: {{requester_name}}, {{ticket_ref}},
        {{ticket_title}}, {{module}}, {{agent_name}}."""
        item = canned.create_canned(db.session, current_actor(), **body)
        db.session.commit()
        return dump_canned(item), 201, {"ETag": canned_etag(item)}


@blp.route("/canned-responses/<int:canned_id>")
class CannedItem(MethodView):
    @blp.response(200, CannedSchema)
    def get(self, canned_id: int):
        """One canned response."""
        item = canned.get_canned(db.session, current_actor(), canned_id)
        return dump_canned(item), 200, {"ETag": canned_etag(item)}

    @blp.arguments(CannedPatchSchema)
    @blp.response(200, CannedSchema)
    def patch(self, body: dict, canned_id: int):
        """Rewrite a canned response (admins; If-Match)."""
        actor = current_actor()
        item = canned.get_canned(db.session, actor, canned_id)
        require(actor, Permission.CATALOGUE_MANAGE)
        check_if_match(request.headers.get("If-Match"), canned_etag(item))
        canned.update_canned(db.session, actor, item, body)
        db.session.commit()
        return dump_canned(item), 200, {"ETag": canned_etag(item)}

    @blp.response(204)
    def delete(self, canned_id: int):
        """Delete a canned response (admins)."""
        actor = current_actor()
        canned.delete_canned(db.session, actor, canned.get_canned(db.session, actor, canned_id))
        db.session.commit()
        return "", 204


@blp.route("/tickets/<ref>/canned-responses/<int:canned_id>")
class CannedForTicket(MethodView):
    @blp.response(200, CannedRenderedSchema)
    def get(self, ref: str, canned_id: int):
        """A canned response's text for this ticket, placeholders filled (to insert in a reply)."""
        actor = current_actor()
        ticket = service.get_ticket(db.session, actor, ref)
        item = canned.get_canned(db.session, actor, canned_id)
        text = canned.render_for(db.session, actor, item, ticket)
        return {"id": item.id, "title": item.title, "text": text}


# --- round-robin ------------------------------------------------------------------------------


@blp.route("/support-groups/rotation")
class Rotations(MethodView):
    @blp.response(200, RotationList)
    def get(self):
        """Which support groups hand out new tickets round-robin."""
        items = [
            {"group": g.code, "name": g.name, "enabled": on}
            for g, on in assignment.rotations(db.session, current_actor())
        ]
        return {"items": items, "next_cursor": None}


@blp.route("/support-groups/<code>/rotation")
class Rotation(MethodView):
    @blp.arguments(RotationSchema)
    @blp.response(200, RotationSchema)
    def post(self, body: dict, code: str):
        """Turn round-robin on or off for a group (admins)."""
        actor = current_actor()
        enabled = assignment.set_rotation(db.session, actor, code, enabled=body["enabled"])
        group = db.session.scalar(select(SupportGroup).where(SupportGroup.code == code.upper()))
        db.session.commit()
        return {"group": group.code, "name": group.name, "enabled": enabled}
