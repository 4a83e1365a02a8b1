"""Tickets and what hangs off them: comments, attachments, satisfaction, watchers, enhancement
links.

SLA due and warning instants are stored on the ticket (recomputed on every clock event) so
that queues sort and filter on indexed columns and the SLA scan is a cheap indexed query.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, func, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import ColumnElement

from app.core.clock import utcnow
from app.core.db import Base, UTCDateTime, VersionedMixin

NEVER = datetime(9999, 12, 31, tzinfo=UTC)
# Statuses in which a ticket is open (the lifecycle's OPEN_STATUSES, spelled out for the
# partial indexes below, which cannot import the lifecycle without a cycle).
OPEN_STATUS_VALUES = ("new", "triaged", "in_progress", "waiting_on_requester")


class NeverDue(ColumnElement[datetime]):
    """The deadline of a ticket with no running clock: later than any real one.

    Written inline, never as a bound parameter, so that the due-order indexes on
    ``coalesce(next_due_at, <never>)`` match the queue queries word for word.
    """

    type = UTCDateTime()
    # a constant: no state to traverse, so statements using it stay in the compiled cache
    _traverse_internals: ClassVar[list] = []
    inherit_cache = True


@compiles(NeverDue)
def _never_due_sqlite(element, compiler, **kw) -> str:
    return "'9999-12-31 00:00:00.000000'"


@compiles(NeverDue, "postgresql")
def _never_due_postgresql(element, compiler, **kw) -> str:
    return "'9999-12-31 00:00:00+00'::timestamptz"


def due_key(column) -> ColumnElement[datetime]:
    """The queue order: the deadline the team races against, tickets without one last."""
    return func.coalesce(column, NeverDue())


def _open_only(table_args_column):
    clause = table_args_column.in_(OPEN_STATUS_VALUES)
    return {"postgresql_where": clause, "sqlite_where": clause}


class Ticket(VersionedMixin, Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_next_due", "next_due_at", "id"),
        Index("ix_tickets_assignee_status", "assignee_id", "status", "next_due_at"),
        Index("ix_tickets_group_status", "group_id", "status", "next_due_at"),
        Index("ix_tickets_module_status", "module_id", "status", "next_due_at"),
        Index("ix_tickets_reporter", "reporter_id", "id"),
        Index("ix_tickets_response_scan", "response_warn_at", "status"),
        Index("ix_tickets_resolution_scan", "resolution_warn_at", "status"),
        Index("ix_tickets_resolved_at", "status", "resolved_at"),
        Index("ix_tickets_created_at", "created_at", "id"),
        Index("ix_tickets_updated_at", "updated_at", "id"),
        Index("ix_tickets_reporter_updated", "reporter_id", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("support_groups.id"))
    impact: Mapped[str] = mapped_column(String(8))
    urgency: Mapped[str] = mapped_column(String(8))
    priority: Mapped[str] = mapped_column(String(2))
    priority_reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24), default="new")
    suggested_priority: Mapped[str | None] = mapped_column(String(2))
    prequalification_note: Mapped[str | None] = mapped_column(Text)
    resolution_code: Mapped[str | None] = mapped_column(String(32))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    reopen_count: Mapped[int] = mapped_column(default=0)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    triaged_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    # SLA clock: targets are copied at (re)prioritisation so a later policy change is explicit.
    response_target_minutes: Mapped[int]
    resolution_target_minutes: Mapped[int]
    sla_business_hours: Mapped[bool] = mapped_column(default=True)
    paused_seconds: Mapped[int] = mapped_column(default=0)
    paused_since: Mapped[datetime | None]
    response_due_at: Mapped[datetime | None]
    response_warn_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    resolution_warn_at: Mapped[datetime | None]
    next_due_at: Mapped[datetime | None]
    response_warned_at: Mapped[datetime | None]
    resolution_warned_at: Mapped[datetime | None]
    response_breached_at: Mapped[datetime | None]
    resolution_breached_at: Mapped[datetime | None]

    module = relationship("Module", lazy="joined")
    reporter = relationship("User", foreign_keys=[reporter_id], lazy="joined")
    assignee = relationship("User", foreign_keys=[assignee_id], lazy="joined")
    group = relationship("SupportGroup", lazy="joined")
    duplicate_of: Mapped[Ticket | None] = relationship(remote_side=[id], lazy="select")
    # loaded with the ticket (one IN query per page of tickets, not one query per ticket)
    enhancement_links: Mapped[list[EnhancementLink]] = relationship(
        order_by="EnhancementLink.id", cascade="all, delete-orphan", lazy="selectin"
    )
    satisfaction: Mapped[Satisfaction | None] = relationship(
        back_populates="ticket", uselist=False, lazy="selectin"
    )

    @property
    def ref(self) -> str:
        return format_ref(self.id)


# Each queue's default order (by deadline, then id) read straight off an index, so a page costs
# the same at any number of tickets: the open queue and the views within it, every ticket, one
# status, one reporter, one module.
_DUE = due_key(Ticket.__table__.c.next_due_at)
_ID = Ticket.__table__.c.id
_STATUS = Ticket.__table__.c.status
Index("ix_tickets_open_due", _DUE, _ID, **_open_only(_STATUS))
_UNASSIGNED = _STATUS.in_(OPEN_STATUS_VALUES) & Ticket.__table__.c.assignee_id.is_(None)
Index(
    "ix_tickets_unassigned_due", _DUE, _ID, postgresql_where=_UNASSIGNED, sqlite_where=_UNASSIGNED
)
Index("ix_tickets_due", _DUE, _ID)
Index("ix_tickets_status_due_key", _STATUS, _DUE, _ID)
Index(
    "ix_tickets_assignee_open_due", Ticket.__table__.c.assignee_id, _DUE, _ID, **_open_only(_STATUS)
)
Index("ix_tickets_group_open_due", Ticket.__table__.c.group_id, _DUE, _ID, **_open_only(_STATUS))
Index("ix_tickets_reporter_due", Ticket.__table__.c.reporter_id, _DUE, _ID)
Index("ix_tickets_module_due", Ticket.__table__.c.module_id, _DUE, _ID)


def format_ref(number: int) -> str:
    return f"INC-{number:06d}"


class Comment(Base):
    __tablename__ = "ticket_comments"
    __table_args__ = (Index("ix_ticket_comments_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author = relationship("User", lazy="joined")


class Attachment(Base):
    __tablename__ = "ticket_attachments"
    __table_args__ = (Index("ix_ticket_attachments_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # internal files are seen by the support team only, like internal notes
    public: Mapped[bool] = mapped_column(default=True, server_default=true())

    uploaded_by = relationship("User", lazy="joined")


class Satisfaction(Base):
    __tablename__ = "ticket_satisfaction"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), unique=True
    )
    rating: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text)
    rated_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="satisfaction")


class Watcher(Base):
    """Someone following a ticket they did not report: they hear of its public updates and may
    read its public side (not its internal notes) even when their role would not show it."""

    __tablename__ = "ticket_watchers"
    __table_args__ = (Index("ix_ticket_watchers_user", "user_id", "ticket_id"),)

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user = relationship("User", lazy="joined")


class EnhancementLink(Base):
    """A ticket that an enhancement request (ENH-...) would fix for good.

    ``enhancement_id`` is the real reference; the ref is kept beside it as it was typed. Links
    recorded before requests existed in Steward and naming no request keep their ref alone.
    """

    __tablename__ = "ticket_enhancement_links"
    __table_args__ = (
        UniqueConstraint("ticket_id", "enhancement_ref", name="uq_ticket_enh"),
        Index("ix_ticket_enhancement_links_enhancement", "enhancement_id", "ticket_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    enhancement_ref: Mapped[str] = mapped_column(String(16))
    enhancement_id: Mapped[int | None] = mapped_column(ForeignKey("enhancements.id"))
    linked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- the agents' desk: saved views, canned responses, round-robin -----------------------------


class SavedView(Base):
    """A named set of queue filters: private to its owner, or shared with a support group."""

    __tablename__ = "saved_views"
    __table_args__ = (
        UniqueConstraint("owner_id", "name", name="uq_saved_views_owner_name"),
        Index("ix_saved_views_group", "group_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    filters: Mapped[dict] = mapped_column(JSON, default=dict)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("support_groups.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CannedResponse(VersionedMixin, Base):
    """A ready answer an agent inserts in the reply box; global, or for one module."""

    __tablename__ = "canned_responses"
    __table_args__ = (Index("ix_canned_responses_module", "module_id", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    module_id: Mapped[int | None] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupRotation(Base):
    """Round-robin assignment of a support group's new tickets, when the group wants it.

    ``last_user_id`` is who got the last ticket: the next one goes to the member after them.
    """

    __tablename__ = "group_rotations"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("support_groups.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(default=False)
    last_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
