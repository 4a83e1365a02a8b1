"""The audit log: one append-only record of every state change, written in the change's transaction.

Services call ``record`` (or ``apply_changes`` + ``record``) in the same session as the change
they make, so a change and its audit event commit or roll back together. Rows are never updated
or deleted: the ORM refuses it here and database triggers refuse it underneath.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import JSON, Index, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core.clock import utcnow
from app.core.db import Base


class Actor(Protocol):
    id: int
    email: str


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_entity", "entity_type", "entity_id", "id"),
        Index("ix_audit_events_occurred_at", "occurred_at", "id"),
        Index("ix_audit_events_actor", "actor_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None]
    actor_email: Mapped[str | None] = mapped_column(String(320))
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    context: Mapped[dict] = mapped_column(JSON, default=dict)


class AuditLogIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete an audit event."""


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_rewrite(mapper, connection, target) -> None:
    raise AuditLogIsAppendOnly("audit events cannot be changed or deleted")


def to_json_value(value: Any) -> Any:
    """A JSON-friendly form of a model attribute, for the before/after of a change."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    return value


def apply_changes(obj: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Set ``values`` on ``obj`` and return ``{field: [before, after]}`` for what really changed."""
    changes: dict[str, list[Any]] = {}
    for name, new in values.items():
        old = getattr(obj, name)
        if old != new:
            changes[name] = [to_json_value(old), to_json_value(new)]
            setattr(obj, name, new)
    return changes


def record(
    session: Session,
    actor: Actor | None,
    entity_type: str,
    entity_id: Any,
    action: str,
    changes: dict[str, list[Any]] | None = None,
    **context: Any,
) -> AuditEvent:
    """Append one audit event to ``session``; it commits with the change it describes."""
    event_row = AuditEvent(
        occurred_at=utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_email=getattr(actor, "email", None),
        entity_type=entity_type,
        entity_id=str(entity_id),
        action=action,
        changes=changes or {},
        context=to_json_value(context),
    )
    session.add(event_row)
    return event_row
