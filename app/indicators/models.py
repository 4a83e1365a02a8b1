"""Daily indicator snapshots and the targets they are judged against.

A snapshot is one value of one indicator for one UTC day and one dimension: overall (no module,
no priority), per module, or per priority. Ratios and means keep their numerator and
denominator so that longer periods (a week, a month, a meeting) are aggregated exactly.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.db import Base, VersionedMixin
from app.incidents.models import Ticket

# The days' computations select tickets by the instant of their first response and of their
# resolution: without these, each day of each indicator would read every ticket ever filed.
Index("ix_tickets_first_response_at", Ticket.__table__.c.first_response_at)
Index("ix_tickets_resolved_at_only", Ticket.__table__.c.resolved_at)


def dimension_of(module_id: int | None = None, priority: int | None = None) -> str:
    """The dimension key of a point: overall, one module, or one priority."""
    if module_id is not None:
        return f"module:{module_id}"
    if priority is not None:
        return f"priority:{priority}"
    return "overall"


class IndicatorSnapshot(Base):
    __tablename__ = "indicator_snapshots"
    __table_args__ = (
        UniqueConstraint("key", "day", "dimension", name="uq_indicator_snapshots_point"),
        Index("ix_indicator_snapshots_key_module_day", "key", "module_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    day: Mapped[date]
    # "overall", "module:<id>" or "priority:<n>" (see ``dimension_of``): one portable unique key
    dimension: Mapped[str] = mapped_column(String(24))
    module_id: Mapped[int | None] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"))
    priority: Mapped[int | None] = mapped_column(Integer)
    value: Mapped[float | None] = mapped_column(Float)
    numerator: Mapped[float | None] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class IndicatorTarget(VersionedMixin, Base):
    """What good looks like for an indicator, overall or for one module.

    ``direction`` is ``at_least`` or ``at_most``; a value within ``amber`` of the target on the
    wrong side is amber, further is red.
    """

    __tablename__ = "indicator_targets"
    __table_args__ = (UniqueConstraint("key", "dimension", name="uq_indicator_targets_scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    dimension: Mapped[str] = mapped_column(String(24))
    module_id: Mapped[int | None] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"))
    target: Mapped[float] = mapped_column(Float)
    amber: Mapped[float] = mapped_column(Float, default=0.0)
    direction: Mapped[str] = mapped_column(String(8))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class IndicatorRun(Base):
    """One computation run: which days it recomputed, why, and when it finished.

    The incremental job reads the start of the last finished run to find what changed since.
    """

    __tablename__ = "indicator_runs"
    __table_args__ = (Index("ix_indicator_runs_finished_at", "finished_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reason: Mapped[str] = mapped_column(String(16))
    first_day: Mapped[date]
    last_day: Mapped[date]
    days: Mapped[int] = mapped_column(Integer, default=0)
    snapshots: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class CalendarSpan(Base):
    """One working interval of a business calendar, in epoch seconds, with the working time
    before it: business seconds between two instants become a subtraction in SQL.

    ``before_seconds`` counts from the first span of the calendar; only differences matter.
    """

    __tablename__ = "indicator_calendar_spans"
    __table_args__ = (Index("ix_indicator_calendar_spans_start", "calendar_id", "start_epoch"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(
        ForeignKey("business_calendars.id", ondelete="CASCADE")
    )
    start_epoch: Mapped[float] = mapped_column(Float)
    end_epoch: Mapped[float] = mapped_column(Float)
    before_seconds: Mapped[float] = mapped_column(Float)


class CalendarCoverage(Base):
    """Which local days the spans of a calendar cover, and of which calendar definition."""

    __tablename__ = "indicator_calendar_coverage"

    calendar_id: Mapped[int] = mapped_column(
        ForeignKey("business_calendars.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(String(64))
    first_day: Mapped[date]
    last_day: Mapped[date]
