"""Governance records: objectives and their indicators, committees, meetings and their minutes,
decisions, action items, risks with their score history, the run budget and pulse surveys.

Minutes are drafted on the meeting and frozen into numbered ``MinutesVersion`` rows when
published; a correction is a new version, and every version is kept. Pulse answers carry no
user: who answered (to answer once) and what was answered are kept in two unrelated tables.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.db import Base, VersionedMixin


class Objective(VersionedMixin, Base):
    """A business objective of the product, judged by the indicators linked to it."""

    __tablename__ = "governance_objectives"
    __table_args__ = (Index("ix_governance_objectives_due", "due_date", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    due_date: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner = relationship("User", lazy="joined")
    indicators: Mapped[list[ObjectiveIndicator]] = relationship(
        back_populates="objective",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="ObjectiveIndicator.id",
    )


class ObjectiveIndicator(Base):
    """One indicator (overall, or of one module) an objective is measured by."""

    __tablename__ = "governance_objective_indicators"
    __table_args__ = (
        UniqueConstraint("objective_id", "key", "module_id", name="uq_governance_objective_kpi"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    objective_id: Mapped[int] = mapped_column(
        ForeignKey("governance_objectives.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(64))
    module_id: Mapped[int | None] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"))

    objective: Mapped[Objective] = relationship(back_populates="indicators")
    module = relationship("Module", lazy="joined")


class Committee(VersionedMixin, Base):
    __tablename__ = "governance_committees"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="steering")
    cadence: Mapped[str] = mapped_column(String(16))
    chair_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    next_meeting_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    chair = relationship("User", lazy="joined")
    members: Mapped[list[CommitteeMember]] = relationship(
        back_populates="committee",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="CommitteeMember.id",
    )


class CommitteeMember(Base):
    __tablename__ = "governance_committee_members"
    __table_args__ = (
        UniqueConstraint("committee_id", "user_id", name="uq_governance_committee_member"),
        Index("ix_governance_committee_members_user", "user_id", "committee_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(
        ForeignKey("governance_committees.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))

    committee: Mapped[Committee] = relationship(back_populates="members")
    user = relationship("User", lazy="joined")


class Meeting(VersionedMixin, Base):
    """One meeting of a committee: its agenda, the minutes being drafted, then published."""

    __tablename__ = "governance_meetings"
    __table_args__ = (
        Index("ix_governance_meetings_committee", "committee_id", "scheduled_at", "id"),
        Index("ix_governance_meetings_scheduled", "scheduled_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("governance_committees.id"))
    scheduled_at: Mapped[datetime]
    # draft (agenda being prepared, minutes being written) or published (minutes sent)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    # the minutes being written: who attended (emails) and the general notes
    attendees: Mapped[list] = mapped_column(JSON, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    committee: Mapped[Committee] = relationship(lazy="joined")
    points: Mapped[list[AgendaPoint]] = relationship(
        back_populates="meeting",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="(AgendaPoint.position, AgendaPoint.id)",
    )
    decisions: Mapped[list[Decision]] = relationship(
        back_populates="meeting", lazy="selectin", order_by="Decision.id"
    )
    versions: Mapped[list[MinutesVersion]] = relationship(
        back_populates="meeting", lazy="selectin", order_by="MinutesVersion.number"
    )


class AgendaPoint(Base):
    """A point of a meeting's agenda; ``source`` names what it comes from (``risk:12``)."""

    __tablename__ = "governance_agenda_points"
    __table_args__ = (Index("ix_governance_agenda_points_meeting", "meeting_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("governance_meetings.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    source: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)

    meeting: Mapped[Meeting] = relationship(back_populates="points")


class MinutesVersion(Base):
    """Published minutes, frozen: what was sent to the members, as it was sent."""

    __tablename__ = "governance_minutes_versions"
    __table_args__ = (
        UniqueConstraint("meeting_id", "number", name="uq_governance_minutes_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("governance_meetings.id"))
    number: Mapped[int]
    content: Mapped[dict] = mapped_column(JSON, default=dict)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    meeting: Mapped[Meeting] = relationship(back_populates="versions")


class Decision(Base):
    """What a committee decided in a meeting; on an enhancement request, its outcome too."""

    __tablename__ = "governance_decisions"
    __table_args__ = (
        Index("ix_governance_decisions_meeting", "meeting_id", "id"),
        Index("ix_governance_decisions_decided_at", "decided_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("governance_meetings.id"))
    agenda_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("governance_agenda_points.id", ondelete="SET NULL")
    )
    text: Mapped[str] = mapped_column(Text)
    enhancement_id: Mapped[int | None] = mapped_column(ForeignKey("enhancements.id"))
    # approve / reject / defer when the decision is on an enhancement request
    outcome: Mapped[str | None] = mapped_column(String(16))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    meeting: Mapped[Meeting] = relationship(back_populates="decisions")
    enhancement = relationship("Enhancement", lazy="joined")


class ActionItem(VersionedMixin, Base):
    __tablename__ = "governance_actions"
    __table_args__ = (
        Index("ix_governance_actions_owner", "owner_id", "status", "due_date", "id"),
        Index("ix_governance_actions_due", "status", "due_date", "id"),
        Index("ix_governance_actions_meeting", "meeting_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    due_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default="open")
    # where it comes from: "meeting:3", "point:14", "risk:2", "objective:5" (or nothing)
    source: Mapped[str | None] = mapped_column(String(64))
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("governance_meetings.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]

    owner = relationship("User", foreign_keys=[owner_id], lazy="joined")
    meeting = relationship("Meeting", lazy="select")


class Risk(VersionedMixin, Base):
    __tablename__ = "governance_risks"
    __table_args__ = (
        CheckConstraint("probability BETWEEN 1 AND 5", name="probability_range"),
        CheckConstraint("impact BETWEEN 1 AND 5", name="impact_range"),
        Index("ix_governance_risks_score", "status", "score", "id"),
        Index("ix_governance_risks_review", "status", "review_by", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(64))
    probability: Mapped[int]
    impact: Mapped[int]
    # probability x impact, stored so the register sorts and filters on an index
    score: Mapped[int]
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    mitigation: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    review_by: Mapped[date | None]
    last_reviewed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner = relationship("User", lazy="joined")
    history: Mapped[list[RiskScoreChange]] = relationship(
        back_populates="risk", lazy="select", order_by="RiskScoreChange.id"
    )


class RiskScoreChange(Base):
    """One assessment of a risk: its probability, impact and score from that moment."""

    __tablename__ = "governance_risk_scores"
    __table_args__ = (Index("ix_governance_risk_scores_risk", "risk_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("governance_risks.id", ondelete="CASCADE"))
    probability: Mapped[int]
    impact: Mapped[int]
    score: Mapped[int]
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    risk: Mapped[Risk] = relationship(back_populates="history")


class BudgetPlan(VersionedMixin, Base):
    """The run budget of one category for one year (its months are ``BudgetMonth`` rows)."""

    __tablename__ = "governance_budget_plans"
    __table_args__ = (UniqueConstraint("year", "category", name="uq_governance_budget_plan"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    category: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    months: Mapped[list[BudgetMonth]] = relationship(
        back_populates="plan",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="BudgetMonth.month",
    )


class BudgetMonth(Base):
    __tablename__ = "governance_budget_months"
    __table_args__ = (
        UniqueConstraint("plan_id", "month", name="uq_governance_budget_month"),
        CheckConstraint("month BETWEEN 1 AND 12", name="month_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("governance_budget_plans.id", ondelete="CASCADE")
    )
    month: Mapped[int]
    planned: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    # None until entered (or imported): a month without actuals is not a month that cost 0
    actual: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))

    plan: Mapped[BudgetPlan] = relationship(back_populates="months")


class PulseSurvey(VersionedMixin, Base):
    """A product satisfaction survey: a few 1-5 questions and a free comment."""

    __tablename__ = "governance_pulse_surveys"
    __table_args__ = (Index("ix_governance_pulse_surveys_status", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    questions: Mapped[list] = mapped_column(JSON, default=list)
    # "all" (every user), "key_users", or "module" (the users of ``module_id``)
    audience: Mapped[str] = mapped_column(String(16), default="all")
    module_id: Mapped[int | None] = mapped_column(ForeignKey("modules.id"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closes_on: Mapped[date | None]
    closed_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PulseParticipation(Base):
    """That a user answered a survey (and nothing of what they answered)."""

    __tablename__ = "governance_pulse_participations"
    __table_args__ = (
        UniqueConstraint("survey_id", "user_id", name="uq_governance_pulse_participation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        ForeignKey("governance_pulse_surveys.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class PulseAnswer(Base):
    """One anonymous answer: scores and comment, with the module it speaks of, no person."""

    __tablename__ = "governance_pulse_answers"
    __table_args__ = (Index("ix_governance_pulse_answers_survey", "survey_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        ForeignKey("governance_pulse_surveys.id", ondelete="CASCADE")
    )
    module_id: Mapped[int | None] = mapped_column(ForeignKey("modules.id", ondelete="SET NULL"))
    scores: Mapped[list] = mapped_column(JSON, default=list)
    # the mean of the scores, stored so that results aggregate in SQL
    average: Mapped[float]
    comment: Mapped[str | None] = mapped_column(Text)
