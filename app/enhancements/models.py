"""Enhancement requests and the timestamps that make delivery indicators exact.

Each state the request reaches is stamped once (``review_started_at`` ... ``released_at``), so
lead time (submitted -> released), time to decision and backlog age are read, not guessed.
WSJF is stored (computed from the qualification, never typed) so the backlog sorts on an index.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.db import Base, VersionedMixin


class Enhancement(VersionedMixin, Base):
    __tablename__ = "enhancements"
    __table_args__ = (
        Index("ix_enhancements_status_wsjf", "status", "wsjf", "id"),
        Index("ix_enhancements_module_status", "module_id", "status", "id"),
        Index("ix_enhancements_created_at", "created_at", "id"),
        Index("ix_enhancements_votes", "vote_count", "id"),
        Index("ix_enhancements_requester", "requester_id", "id"),
        Index("ix_enhancements_decided_at", "decided_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    problem: Mapped[str] = mapped_column(Text)
    benefit: Mapped[str] = mapped_column(Text)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(24), default="submitted")

    # qualification by the module's product owner (scale 1, 2, 3, 5, 8, 13, 20; size in points)
    business_value: Mapped[int | None]
    time_criticality: Mapped[int | None]
    risk_reduction: Mapped[int | None]
    job_size: Mapped[int | None]
    wsjf: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    qualified_at: Mapped[datetime | None]
    # a product owner's hand-made place in the backlog (1 = top); None follows WSJF
    manual_rank: Mapped[int | None]
    vote_count: Mapped[int] = mapped_column(default=0)

    # the committee's latest decision (approve / reject / defer), who took it, when and why
    decision: Mapped[str | None] = mapped_column(String(16))
    decision_rationale: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    review_started_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    planned_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]

    module = relationship("Module", lazy="joined")
    requester = relationship("User", foreign_keys=[requester_id], lazy="joined")
    decided_by = relationship("User", foreign_keys=[decided_by_id], lazy="select")

    @property
    def ref(self) -> str:
        return format_ref(self.id)


def format_ref(number: int) -> str:
    return f"ENH-{number:06d}"


class EnhancementVote(Base):
    """One person's vote for a request (one per person; voting again changes nothing)."""

    __tablename__ = "enhancement_votes"
    __table_args__ = (
        UniqueConstraint("enhancement_id", "user_id", name="uq_enhancement_vote"),
        Index("ix_enhancement_votes_user", "user_id", "enhancement_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enhancement_id: Mapped[int] = mapped_column(ForeignKey("enhancements.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EnhancementComment(Base):
    """A public comment on a request, or an internal note of the product owner / committee."""

    __tablename__ = "enhancement_comments"
    __table_args__ = (Index("ix_enhancement_comments_enhancement", "enhancement_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enhancement_id: Mapped[int] = mapped_column(ForeignKey("enhancements.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author = relationship("User", lazy="joined")


class EnhancementDecision(Base):
    """One decision of the steering committee, kept for good: the committee's memory.

    The request carries only its latest decision; a deferred request that is reconsidered and
    decided again keeps both decisions here. The module is copied so that the log filters on an
    index without a join, and stays right if the request later moves to another module.
    """

    __tablename__ = "enhancement_decisions"
    __table_args__ = (
        Index("ix_enhancement_decisions_decided_at", "decided_at", "id"),
        Index("ix_enhancement_decisions_module", "module_id", "decided_at", "id"),
        Index("ix_enhancement_decisions_enhancement", "enhancement_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enhancement_id: Mapped[int] = mapped_column(ForeignKey("enhancements.id", ondelete="CASCADE"))
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id"))
    decision: Mapped[str] = mapped_column(String(16))
    rationale: Mapped[str] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)

    enhancement = relationship("Enhancement", lazy="joined")
    decided_by = relationship("User", lazy="joined")
