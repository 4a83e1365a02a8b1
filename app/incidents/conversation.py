"""The conversation on a ticket: public answers, internal notes, files, and what they set in
motion.

Who may take part is the permission policy's rule (``app/core/permissions.py``): the requester
on their own ticket, the support team and the module's key users on any ticket they see, and
only the support team in private (internal notes and files). Comments and files follow the same
rule, and neither is accepted once the ticket is closed or cancelled.

A public answer from the support team is the first response (SLA); the requester's answer to a
ticket waiting on them resumes it. Built on ``service`` and ``transitions``; neither imports it.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core import audit
from app.core.clock import utcnow
from app.core.errors import Conflict, PermissionDenied, StewardError, ValidationFailed
from app.core.permissions import Permission, can, require
from app.identity.models import User
from app.incidents import notifications
from app.incidents.lifecycle import Party, Status
from app.incidents.models import Comment, Ticket
from app.incidents.service import ENTITY, parties, sees_internal, touch
from app.incidents.transitions import perform, record_first_response

ENDED = (Status.CLOSED, Status.CANCELLED)


def check_may_converse(actor: User, ticket: Ticket, *, public: bool = True) -> None:
    """Raise unless ``actor`` may add a comment or a file (``public`` or internal) now."""
    if not public:
        if not can(actor, Permission.TICKET_NOTE_INTERNAL, ticket.module_id):
            require(actor, Permission.TICKET_NOTE_INTERNAL, ticket.module_id)  # names the scope
    elif ticket.reporter_id == actor.id and not can(
        actor, Permission.TICKET_CONVERSE, ticket.module_id
    ):
        require(actor, Permission.TICKET_CONVERSE_OWN)
    else:
        require(actor, Permission.TICKET_CONVERSE, ticket.module_id)
    if ticket.status in ENDED:
        raise Conflict(_l("This ticket is closed; open a new one."), current_status=ticket.status)


def may_converse(actor: User, ticket: Ticket, *, public: bool = True) -> bool:
    """Whether ``check_may_converse`` lets ``actor`` through (for showing the forms)."""
    try:
        check_may_converse(actor, ticket, public=public)
    except StewardError:
        return False
    return True


def add_comment(
    session: Session, actor: User, ticket: Ticket, *, body: str, public: bool = True
) -> Comment:
    """A public answer or an internal note; the requester's answer resumes a waiting ticket."""
    try:
        check_may_converse(actor, ticket, public=public)
    except PermissionDenied as exc:
        if public or exc.code != "forbidden":
            raise
        raise PermissionDenied(_l("Only the support team writes internal notes.")) from exc
    body = (body or "").strip()
    if not body:
        raise ValidationFailed(
            _l("The comment is empty."), errors={"body": [_l("Write something.")]}
        )
    who = parties(actor, ticket)
    is_support = Party.AGENT in who
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
