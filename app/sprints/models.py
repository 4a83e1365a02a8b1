"""Sprints, what they plan, the tasks of each item, the daily burndown and the release notes.

The counts that indicators read are stored, not recomputed: the committed scope frozen at
start (points and items), the scope added and removed after start, the points done, velocity
and predictability at close, and each item's timestamps (added, started, done, released,
removed, carried over). Velocity over the last N sprints, predictability and scope change are
read from these columns exactly.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.db import Base, VersionedMixin


class Sprint(VersionedMixin, Base):
    __tablename__ = "sprints"
    __table_args__ = (
        Index("ix_sprints_scope_status", "module_id", "status", "start_date"),
        Index("ix_sprints_start_date", "start_date", "id"),
        Index("ix_sprints_closed_at", "closed_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    goal: Mapped[str] = mapped_column(Text, default="")
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    capacity_points: Mapped[int]
    # None: a team sprint across every module
    module_id: Mapped[int | None] = mapped_column(ForeignKey("modules.id"))
    status: Mapped[str] = mapped_column(String(16), default="planned")

    # frozen at start: what the team committed to
    committed_points: Mapped[int] = mapped_column(default=0)
    committed_items: Mapped[int] = mapped_column(default=0)
    # scope change after start (added / removed items and their points)
    added_points: Mapped[int] = mapped_column(default=0)
    added_items: Mapped[int] = mapped_column(default=0)
    removed_points: Mapped[int] = mapped_column(default=0)
    removed_items: Mapped[int] = mapped_column(default=0)
    # kept current as items are finished; velocity and predictability are set at close
    done_points: Mapped[int] = mapped_column(default=0)
    done_items: Mapped[int] = mapped_column(default=0)
    velocity: Mapped[int | None]
    predictability: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    carry_over: Mapped[str | None] = mapped_column(String(16))
    carried_points: Mapped[int] = mapped_column(default=0)
    carried_items: Mapped[int] = mapped_column(default=0)

    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    module = relationship("Module", lazy="joined")


class SprintItem(Base):
    """An approved request (ENH-) or a ticket needing a development fix (INC-) in a sprint."""

    __tablename__ = "sprint_items"
    __table_args__ = (
        Index("ix_sprint_items_sprint", "sprint_id", "id"),
        Index("ix_sprint_items_enhancement", "enhancement_id"),
        Index("ix_sprint_items_ticket", "ticket_id"),
        Index("ix_sprint_items_release_note", "release_note_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sprint_id: Mapped[int] = mapped_column(ForeignKey("sprints.id"))
    kind: Mapped[str] = mapped_column(String(16))  # enhancement | ticket
    enhancement_id: Mapped[int | None] = mapped_column(ForeignKey("enhancements.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id"))
    points: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="planned")
    # part of the scope frozen at start, or added later (scope change)
    committed: Mapped[bool] = mapped_column(Boolean, default=False)
    added_after_start: Mapped[bool] = mapped_column(Boolean, default=False)
    removed_after_start: Mapped[bool] = mapped_column(Boolean, default=False)
    # carried out of this sprint at its close: "next" or "backlog", and where it went
    carried_over: Mapped[str | None] = mapped_column(String(16))
    carried_to_id: Mapped[int | None] = mapped_column(ForeignKey("sprint_items.id"))
    release_note_id: Mapped[int | None] = mapped_column(ForeignKey("release_notes.id"))

    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]
    removed_at: Mapped[datetime | None]
    carried_at: Mapped[datetime | None]

    sprint = relationship("Sprint", lazy="select")
    enhancement = relationship("Enhancement", lazy="joined")
    ticket = relationship("Ticket", lazy="select")
    module = relationship("Module", lazy="joined")
    tasks = relationship(
        "Task",
        back_populates="item",
        lazy="select",
        order_by="Task.id",
        foreign_keys="Task.item_id",
    )

    @property
    def ref(self) -> str:
        prefix = "ENH" if self.kind == "enhancement" else "INC"
        number = self.enhancement_id if self.kind == "enhancement" else self.ticket_id
        return f"{prefix}-{number:06d}"

    @property
    def title(self) -> str:
        return self.enhancement.title if self.kind == "enhancement" else self.ticket.title

    @property
    def in_scope(self) -> bool:
        """Still part of the sprint: neither removed nor carried out at close."""
        return self.removed_at is None and self.carried_over is None


task_dependencies = Table(
    "sprint_task_dependencies",
    Base.metadata,
    Column(
        "task_id",
        ForeignKey("sprint_tasks.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "blocked_by_id",
        ForeignKey("sprint_tasks.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)


class Task(VersionedMixin, Base):
    """A piece of work on an item: 1 to 3 days is good practice, more is flagged."""

    __tablename__ = "sprint_tasks"
    __table_args__ = (
        Index("ix_sprint_tasks_sprint", "sprint_id", "id"),
        Index("ix_sprint_tasks_item", "item_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sprint_id: Mapped[int] = mapped_column(ForeignKey("sprints.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("sprint_items.id"))
    title: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    estimate_days: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    status: Mapped[str] = mapped_column(String(16), default="todo")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]

    item = relationship("SprintItem", back_populates="tasks", foreign_keys=[item_id])
    owner = relationship("User", lazy="joined")
    blocked_by = relationship(
        "Task",
        secondary=task_dependencies,
        primaryjoin=lambda: Task.id == task_dependencies.c.task_id,
        secondaryjoin=lambda: Task.id == task_dependencies.c.blocked_by_id,
        lazy="selectin",
        order_by=lambda: Task.id,
    )


class BurndownPoint(Base):
    """The state of a sprint on one day (one row per sprint and day, rewritten the same day)."""

    __tablename__ = "sprint_burndown"
    __table_args__ = (UniqueConstraint("sprint_id", "day", name="uq_sprint_burndown_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sprint_id: Mapped[int] = mapped_column(ForeignKey("sprints.id"))
    day: Mapped[date] = mapped_column(Date)
    remaining: Mapped[int]
    done: Mapped[int]
    scope: Mapped[int]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReleaseNote(Base):
    """What one release changed in one module, in plain words, for business users."""

    __tablename__ = "release_notes"
    __table_args__ = (
        Index("ix_release_notes_released_at", "released_at", "id"),
        Index("ix_release_notes_sprint", "sprint_id", "id"),
        Index("ix_release_notes_module", "module_id", "released_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sprint_id: Mapped[int] = mapped_column(ForeignKey("sprints.id"))
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[datetime] = mapped_column(default=utcnow)

    sprint = relationship("Sprint", lazy="joined")
    module = relationship("Module", lazy="joined")
    items = relationship(
        "SprintItem",
        lazy="selectin",
        order_by="SprintItem.id",
        foreign_keys=[SprintItem.release_note_id],
    )
