"""The conversation on a ticket: public answers, internal notes, and what they set in motion.

A public answer from the support team is the first response (SLA); the requester's answer to a
ticket waiting on them resumes it. Built on ``service`` and ``transitions``; neither imports it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core import audit
from app.core.clock import utcnow
from app.core.errors import Conflict, PermissionDenied, ValidationFailed
from app.identity.models import User
from app.incidents import notifications
from app.incidents.lifecycle import Party, Status
from app.incidents.models import Comment, Ticket
from app.incidents.service import ENTITY, parties, sees_internal, touch
from app.incidents.transitions import perform, record_first_response


def add_comment(
    session: Session, actor: User, ticket: Ticket, *, body: str, public: bool = True
) -> Comment:
    """A public answer or an internal note; the requester's answer resumes a waiting ticket."""
    body = (body or "").strip()
    if not body:
        raise ValidationFailed("The comment is empty.", errors={"body": ["Write something."]})
    who = parties(actor, ticket)
    is_support = Party.AGENT in who
    if not public and not sees_internal(actor, ticket):
        raise PermissionDenied("Only the support team writes internal notes.")
    if ticket.status in (Status.CLOSED, Status.CANCELLED):
        raise Conflict("This ticket is closed; open a new one.", current_status=ticket.status)
    comment = Comment(ticket_id=ticket.id, author_id=actor.id, body=body, public=public)
    session.add(comment)
    now = utcnow()
    if public and is_support and ticket.first_response_at is None:
        record_first_response(session, ticket, now)
    touch(ticket)
    session.flush()
    audit.record(
        session,
        actor,
        ENTITY,
        ticket.ref,
        "commented" if public else "internal_note",
        {"comment": [None, body[:500]]},
        public=public,
        comment_id=comment.id,
    )
    if public and Party.REQUESTER in who and ticket.status == Status.WAITING and not is_support:
        perform(session, actor, ticket, "resume")
    elif public and is_support and actor.id != ticket.reporter_id:
        notifications.public_comment(session, ticket, comment)
    return comment


def comments_for(session: Session, actor: User, ticket: Ticket) -> list[Comment]:
    stmt = select(Comment).where(Comment.ticket_id == ticket.id).order_by(Comment.id)
    if not sees_internal(actor, ticket):
        stmt = stmt.where(Comment.public.is_(True))
    return list(session.scalars(stmt))
