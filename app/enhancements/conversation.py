"""The conversation on a request: public comments from anyone who takes part, and internal
notes of the module's product owner and the committee (seen by them, admins and auditors).

Nothing is said on a withdrawn request any more.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core import audit
from app.core.clock import utcnow
from app.core.errors import Conflict, ValidationFailed
from app.core.permissions import Permission, require
from app.enhancements.lifecycle import Status
from app.enhancements.models import Enhancement, EnhancementComment
from app.enhancements.service import ENTITY, sees_internal
from app.identity.models import User

BODY_MAX = 20_000


def add_comment(
    session: Session, actor: User, enhancement: Enhancement, *, body: str, public: bool = True
) -> EnhancementComment:
    """A public comment, or (product owner of the module, committee) an internal note."""
    if public:
        require(actor, Permission.ENHANCEMENT_CONVERSE)
    else:
        require(actor, Permission.ENHANCEMENT_NOTE_INTERNAL, enhancement.module_id)
    if enhancement.status == Status.WITHDRAWN:
        raise Conflict(
            _l("This request was withdrawn."), current_status=enhancement.status, allowed=[]
        )
    text = (body or "").strip()
    if not text:
        raise ValidationFailed(
            _l("The comment is empty."), errors={"body": [_l("Write something.")]}
        )
    if len(text) > BODY_MAX:
        raise ValidationFailed(
            _l("The comment is too long."),
            errors={"body": [_l("At most %(count)s characters.", count=format(BODY_MAX, ","))]},
        )
    comment = EnhancementComment(
        enhancement_id=enhancement.id,
        author_id=actor.id,
        author=actor,
        body=text,
        public=public,
        created_at=utcnow(),
    )
    session.add(comment)
    session.flush()
    audit.record(
        session,
        actor,
        ENTITY,
        enhancement.ref,
        "commented" if public else "internal_note",
        {"comment": [None, text[:500]]},
        public=public,
        comment_id=comment.id,
    )
    return comment


def comments_for(
    session: Session, actor: User, enhancement: Enhancement
) -> list[EnhancementComment]:
    """The conversation, oldest first; internal notes only for those who see them."""
    stmt = (
        select(EnhancementComment)
        .where(EnhancementComment.enhancement_id == enhancement.id)
        .order_by(EnhancementComment.id)
    )
    if not sees_internal(actor, enhancement):
        stmt = stmt.where(EnhancementComment.public.is_(True))
    return list(session.scalars(stmt))


def history(session: Session, actor: User, enhancement: Enhancement) -> list[audit.AuditEvent]:
    """The request's timeline from the audit log; internal notes only for those who see them."""
    events = session.scalars(
        select(audit.AuditEvent)
        .where(
            audit.AuditEvent.entity_type == ENTITY,
            audit.AuditEvent.entity_id == enhancement.ref,
        )
        .order_by(audit.AuditEvent.id)
    )
    if sees_internal(actor, enhancement):
        return list(events)
    return [e for e in events if (e.context or {}).get("public") is not False]
