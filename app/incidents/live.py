"""What a page polls to show changes made by others without a reload: a ticket's version and
who changed it last (one indexed read of the audit log), and the queue counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.audit import AuditEvent
from app.identity.models import User
from app.incidents.models import Ticket
from app.incidents.service import ENTITY


def last_changed_by(session: Session, ticket: Ticket) -> str | None:
    """The name of whoever made the ticket's latest recorded change (None: the system)."""
    row = session.execute(
        select(User.name)
        .select_from(AuditEvent)
        .join(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.entity_type == ENTITY, AuditEvent.entity_id == ticket.ref)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    return row.name if row else None


def ticket_version(session: Session, ticket: Ticket, etag: str) -> dict[str, Any]:
    return {
        "ref": ticket.ref,
        "version": ticket.version,
        "etag": etag,
        "updated_at": ticket.updated_at,
        "changed_by": last_changed_by(session, ticket),
    }
