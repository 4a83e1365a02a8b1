"""Raw usage events (kept ``USAGE_RETENTION_DAYS``) and the daily rollup everyone else reads.

An ERP account is an email or an external id, stored lower-cased so that it compares
case-insensitively; it counts as an active user whether or not Steward knows it. The rollup
holds one row per account, module and UTC day.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.db import Base


class UsageEvent(Base):
    __tablename__ = "usage_events"
    __table_args__ = (
        Index("ix_usage_events_occurred_at", "occurred_at"),
        Index("ix_usage_events_module_occurred", "module_id", "occurred_at"),
    )

    # 64-bit on PostgreSQL (billions of events); SQLite's rowid is INTEGER
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    event_id: Mapped[str] = mapped_column(String(128), unique=True)
    account: Mapped[str] = mapped_column(String(320))
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id"))
    action: Mapped[str] = mapped_column(String(120))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class UsageDaily(Base):
    """Events of one account in one module on one UTC day (maintained incrementally)."""

    __tablename__ = "usage_daily"
    __table_args__ = (
        Index("ix_usage_daily_module_day", "module_id", "day"),
        Index("ix_usage_daily_account_module_day", "account", "module_id", "day"),
    )

    day: Mapped[date] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id"), primary_key=True)
    account: Mapped[str] = mapped_column(String(320), primary_key=True)
    events: Mapped[int] = mapped_column(default=0)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]


class UsageAccount(Base):
    """One ERP account as the usage feed knows it: when first and last seen, how many events.

    Maintained with the rollup, so that the accounts Steward does not know (a finding for
    admins) are listed without aggregating the rollup at request time.
    """

    __tablename__ = "usage_accounts"
    __table_args__ = (Index("ix_usage_accounts_last_seen", "last_seen_at", "account"),)

    account: Mapped[str] = mapped_column(String(320), primary_key=True)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    events: Mapped[int] = mapped_column(BigInteger, default=0)


class UsageChangedDay(Base):
    """A UTC day whose rollup changed and that readers of the rollup have not consumed yet.

    ``version`` grows with every change of the day, so a reader that consumes what it read
    leaves the mark in place when the day changed again meanwhile (see ``service.consume``).
    """

    __tablename__ = "usage_changed_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=1)
    changed_at: Mapped[datetime]


class UsageImport(Base):
    """One CSV back-fill: who sent which file, what came of it, and the rejected lines."""

    __tablename__ = "usage_imports"
    __table_args__ = (Index("ix_usage_imports_created_at", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    lines: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    rejected_count: Mapped[int] = mapped_column(default=0)
    # the first REJECTS_KEPT rejected lines: [{"line": n, "reason": "..."}]
    rejected: Mapped[list] = mapped_column(JSON, default=list)
