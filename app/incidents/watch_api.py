"""Following tickets in the API: the open tickets like one about to be reported, and watchers."""

from __future__ import annotations

from dataclasses import asdict

from flask.views import MethodView
from flask_smorest import Blueprint

from app.core.db import db
from app.identity.auth import current_actor
from app.incidents import watchers
from app.incidents.schemas import SimilarArgs, SimilarList, WatchersSchema, person

blp = Blueprint("watchers_api", __name__, description="Following tickets (watchers)")


def blueprints() -> list[Blueprint]:
    return [blp]


@blp.route("/tickets/similar")
class SimilarTickets(MethodView):
    @blp.arguments(SimilarArgs, location="query")
    @blp.response(200, SimilarList)
    def get(self, args: dict):
        """Open tickets of `module` whose titles share words with `title` (follow one instead
        of reporting the same incident again)."""
        found = watchers.similar_open_tickets(
            db.session, current_actor(), args["module"], args["title"], limit=args["limit"]
        )
        return {"items": [asdict(t) for t in found]}


def watchers_body(ticket) -> dict:
    actor = current_actor()
    return {
        "watching": watchers.is_watching(db.session, actor, ticket),
        "items": [person(u, actor) for u in watchers.watchers_of(db.session, ticket)],
    }


@blp.route("/tickets/<ref>/watchers")
class TicketWatchers(MethodView):
    @blp.response(200, WatchersSchema)
    def get(self, ref: str):
        """Who follows the ticket (names; emails for the support team)."""
        ticket = watchers.ticket_to_follow(db.session, current_actor(), ref)
        return watchers_body(ticket)


@blp.route("/tickets/<ref>/watchers/me")
class MyWatch(MethodView):
    @blp.response(200, WatchersSchema)
    def put(self, ref: str):
        """Follow the ticket: hear of its public updates (following twice is harmless)."""
        actor = current_actor()
        ticket = watchers.ticket_to_follow(db.session, actor, ref)
        watchers.follow(db.session, actor, ticket)
        db.session.commit()
        return watchers_body(ticket)

    @blp.response(204)
    def delete(self, ref: str):
        """Stop following the ticket."""
        actor = current_actor()
        ticket = watchers.ticket_to_follow(db.session, actor, ref)
        watchers.unfollow(db.session, actor, ticket)
        db.session.commit()
