"""Requester portal pages: following a ticket (watchers) and the similar open tickets the report
form suggests while a title is typed (a small JSON answer for ``static/similar.js``).

Following works without JavaScript: the buttons are forms that redirect (Post/Redirect/Get).
"""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, jsonify, request, url_for
from flask_babel import gettext as _

from app.core import forms
from app.core.db import db
from app.core.errors import StewardError
from app.identity.auth import current_actor
from app.incidents import watchers
from app.incidents.service import TITLE_MAX, can_see

blueprint = Blueprint("portal", __name__)


@blueprint.get("/tickets/new/similar")
def similar():
    """Open tickets like the one being typed: ``?module=FIN&title=...`` (JSON)."""
    module = (request.args.get("module") or "")[:16]
    title = (request.args.get("title") or "")[:TITLE_MAX]
    found = watchers.similar_open_tickets(db.session, current_actor(), module, title)
    items = [
        {
            **asdict(t),
            "updated_at": t.updated_at.isoformat(),
            "url": url_for("incidents.ticket_page", ref=t.ref),
            "follow_url": url_for("incidents.portal.follow", ref=t.ref),
        }
        for t in found
    ]
    return jsonify(items=items)


def _back(ref: str) -> str:
    return url_for("incidents.ticket_page", ref=ref)


@blueprint.post("/tickets/<ref>/follow")
@forms.returns_to("incidents.ticket_page")
def follow(ref: str):
    actor = current_actor()
    ticket = watchers.ticket_to_follow(db.session, actor, ref)
    try:
        added = watchers.follow(db.session, actor, ticket)
        db.session.commit()
    except StewardError as exc:
        db.session.rollback()
        return forms.refuse(exc, errors={}, form="")
    if ticket.reporter_id == actor.id:
        message = _("You reported %(ref)s: you hear of its updates already.", ref=ticket.ref)
    elif added:
        message = _(
            "You follow %(ref)s now: you will hear of its public updates by email.",
            ref=ticket.ref,
        )
    else:
        message = _("You already follow %(ref)s.", ref=ticket.ref)
    return forms.accepted(_back(ticket.ref), message, page=_back(ticket.ref))


@blueprint.post("/tickets/<ref>/unfollow")
@forms.returns_to("incidents.ticket_page")
def unfollow(ref: str):
    actor = current_actor()
    ticket = watchers.ticket_to_follow(db.session, actor, ref)
    try:
        watchers.unfollow(db.session, actor, ticket)
        db.session.commit()
    except StewardError as exc:
        db.session.rollback()
        return forms.refuse(exc, errors={}, form="")
    message = _("You no longer follow %(ref)s.", ref=ticket.ref)
    if not can_see(actor, ticket):
        # no longer a follower, the ticket is not theirs to read any more
        return forms.accepted(url_for("incidents.my_tickets"), message, page=_back(ticket.ref))
    return forms.accepted(_back(ticket.ref), message, page=_back(ticket.ref))
