"""ERP modules, the support groups that serve them, and the business calendars they run on."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import JSON, Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.db import Base, VersionedMixin

# A calendar whose holidays end sooner than this is flagged (page, /metrics): past its last
# holiday, SLA clocks count public holidays as working days.
HOLIDAYS_NOTICE = timedelta(days=60)

support_group_members = Table(
    "support_group_members",
    Base.metadata,
    Column("group_id", ForeignKey("support_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class BusinessCalendar(VersionedMixin, Base):
    """Working hours per weekday (local time), a time zone and holidays: what SLA clocks count."""

    __tablename__ = "business_calendars"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64))
    # {"0": [["09:00", "12:30"], ["13:30", "17:30"]], ...}: weekday 0 = Monday
    working_hours: Mapped[dict] = mapped_column(JSON, default=dict)
    country: Mapped[str | None] = mapped_column(String(8))

    holidays: Mapped[list[Holiday]] = relationship(
        back_populates="calendar",
        cascade="all, delete-orphan",
        order_by="Holiday.day",
        lazy="selectin",
    )

    @property
    def holidays_until(self) -> date | None:
        """The last holiday this calendar knows of (None without any)."""
        return self.holidays[-1].day if self.holidays else None

    @property
    def holidays_ending_soon(self) -> bool:
        """Its holidays end within HOLIDAYS_NOTICE (or, following a country, it has none)."""
        until = self.holidays_until
        if until is None:
            return self.country is not None
        return until < utcnow().date() + HOLIDAYS_NOTICE


class Holiday(Base):
    __tablename__ = "holidays"
    __table_args__ = (UniqueConstraint("calendar_id", "day", name="uq_holiday_calendar_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(
        ForeignKey("business_calendars.id", ondelete="CASCADE")
    )
    day: Mapped[date]
    name: Mapped[str] = mapped_column(String(120))

    calendar: Mapped[BusinessCalendar] = relationship(back_populates="holidays")


class SupportGroup(VersionedMixin, Base):
    __tablename__ = "support_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(320))

    members = relationship("User", secondary=support_group_members, lazy="selectin")


class Module(VersionedMixin, Base):
    """An ERP module (Finance, Sales, ...): who owns it, who supports it, which calendar."""

    __tablename__ = "modules"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    support_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("support_groups.id", ondelete="SET NULL")
    )
    calendar_id: Mapped[int | None] = mapped_column(
        ForeignKey("business_calendars.id", ondelete="SET NULL")
    )

    owner = relationship("User", foreign_keys=[owner_id], lazy="joined")
    support_group: Mapped[SupportGroup | None] = relationship(lazy="joined")
    calendar: Mapped[BusinessCalendar | None] = relationship(lazy="joined")


class SlaPolicy(VersionedMixin, Base):
    """Targets for one ticket priority: first response and resolution, in business minutes.

    With ``business_hours`` false the clock runs 24x7 (P1 by default); otherwise it counts
    only the working time of the ticket's module calendar. A business day is 8 hours.
    """

    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    priority: Mapped[str] = mapped_column(String(2), unique=True)
    response_minutes: Mapped[int]
    resolution_minutes: Mapped[int]
    business_hours: Mapped[bool] = mapped_column(default=True)
