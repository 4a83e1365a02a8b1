"""ERP access rights: the role catalogue, SoD rules, requests, approvals, grants and reviews.

Grants keep the timestamps the indicators read: ``granted_at`` (fully approved),
``provisioned_at`` (active in the ERP: the start of the grant), ``first_used_at`` (the first
use of the grant's module on or after that start, for activation), ``last_used_at`` (for
dormant access) and ``ended_at``. Requests keep ``created_at`` and ``decided_at`` (approval
time). A grant carries its module id so that per-module counts never join the catalogue.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.db import Base, VersionedMixin

SENSITIVITIES = ("standard", "sensitive", "critical")
# a role of these sensitivities needs a second, different approver
TWO_APPROVERS = frozenset({"sensitive", "critical"})
SEVERITIES = ("low", "medium", "high", "critical")

sod_rule_roles = Table(
    "access_sod_rule_roles",
    Base.metadata,
    Column("rule_id", ForeignKey("access_sod_rules.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("access_roles.id", ondelete="CASCADE"), primary_key=True),
)


class ErpRole(VersionedMixin, Base):
    """A role of the ERP, in one module, with how much harm it can do in the wrong hands."""

    __tablename__ = "access_roles"
    __table_args__ = (Index("ix_access_roles_module", "module_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id"))
    sensitivity: Mapped[str] = mapped_column(String(16), default="standard")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    module = relationship("Module", lazy="joined")


class SodRule(VersionedMixin, Base):
    """Roles that must not be held together by one person (create supplier + approve payment).

    ``role_key`` (the sorted role ids) makes one rule per set of roles, so an import updates a
    rule rather than repeating it.
    """

    __tablename__ = "access_sod_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    role_key: Mapped[str] = mapped_column(String(400), unique=True)
    severity: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    roles: Mapped[list[ErpRole]] = relationship(
        secondary=sod_rule_roles, lazy="selectin", order_by=ErpRole.code
    )


class AccessRequest(VersionedMixin, Base):
    """``ACC-000001``: roles asked for one person (``subject``) by ``requester``."""

    __tablename__ = "access_requests"
    __table_args__ = (
        Index("ix_access_requests_status", "status", "id"),
        Index("ix_access_requests_subject", "subject_id", "id"),
        Index("ix_access_requests_requester", "requester_id", "id"),
        Index("ix_access_requests_created_at", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    justification: Mapped[str] = mapped_column(Text)
    end_date: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(24))
    # the conflicts found at submission: [{"roles": [...], "severity", "description"}]
    sod_conflicts: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]

    requester = relationship("User", foreign_keys=[requester_id], lazy="joined")
    subject = relationship("User", foreign_keys=[subject_id], lazy="joined")
    items: Mapped[list[AccessRequestRole]] = relationship(
        back_populates="request", lazy="selectin", cascade="all, delete-orphan"
    )
    approvals: Mapped[list[AccessApproval]] = relationship(
        lazy="selectin", order_by="AccessApproval.id", cascade="all, delete-orphan"
    )
    exception: Mapped[SodException | None] = relationship(
        lazy="selectin", uselist=False, cascade="all, delete-orphan"
    )

    @property
    def ref(self) -> str:
        return format_ref(self.id)

    @property
    def roles(self) -> list[ErpRole]:
        return [item.role for item in self.items]


def format_ref(number: int) -> str:
    return f"ACC-{number:06d}"


class AccessRequestRole(Base):
    __tablename__ = "access_request_roles"
    __table_args__ = (UniqueConstraint("request_id", "role_id", name="uq_access_request_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("access_requests.id", ondelete="CASCADE"))
    role_id: Mapped[int] = mapped_column(ForeignKey("access_roles.id"))

    request: Mapped[AccessRequest] = relationship(back_populates="items")
    role: Mapped[ErpRole] = relationship(lazy="joined")


class AccessApproval(Base):
    """One approver's decision on a request (one per person and request)."""

    __tablename__ = "access_approvals"
    __table_args__ = (
        UniqueConstraint("request_id", "approver_id", name="uq_access_approval"),
        Index("ix_access_approvals_approver", "approver_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("access_requests.id", ondelete="CASCADE"))
    approver_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    # approving as an administrator also approves the request's SoD exception
    approves_exception: Mapped[bool] = mapped_column(default=False)

    approver = relationship("User", lazy="joined")


class SodException(Base):
    """An accepted SoD conflict: the control that mitigates it, until when, approved by whom."""

    __tablename__ = "access_sod_exceptions"
    __table_args__ = (Index("ix_access_sod_exceptions_status", "status", "expires_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("access_requests.id", ondelete="CASCADE"), unique=True
    )
    subject_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    mitigating_control: Mapped[str] = mapped_column(Text)
    expires_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]

    filed_by = relationship("User", foreign_keys=[filed_by_id], lazy="joined")
    approved_by = relationship("User", foreign_keys=[approved_by_id], lazy="joined")


class AccessGrant(VersionedMixin, Base):
    """One role held by one person, from approval to its end (expiry or revocation)."""

    __tablename__ = "access_grants"
    __table_args__ = (
        Index("ix_access_grants_user_status", "user_id", "status"),
        Index("ix_access_grants_module_status", "module_id", "status"),
        Index("ix_access_grants_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role_id: Mapped[int] = mapped_column(ForeignKey("access_roles.id"))
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("access_requests.id"))
    status: Mapped[str] = mapped_column(String(24))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    provisioned_at: Mapped[datetime | None]
    expires_on: Mapped[date | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(Text)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deprovision_requested_at: Mapped[datetime | None]
    first_used_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    dormant_since: Mapped[datetime | None]
    # the holder's department when granted: a change (a mover) flags the grant for review
    holder_department: Mapped[str | None] = mapped_column(String(120))
    review_flagged_at: Mapped[datetime | None]
    review_reason: Mapped[str | None] = mapped_column(String(200))

    user = relationship("User", foreign_keys=[user_id], lazy="joined")
    role: Mapped[ErpRole] = relationship(lazy="joined")
    request: Mapped[AccessRequest | None] = relationship(lazy="select")
    ended_by = relationship("User", foreign_keys=[ended_by_id], lazy="select")

    @property
    def dormant(self) -> bool:
        return self.dormant_since is not None and self.status == "active"


class ReviewCampaign(VersionedMixin, Base):
    """A recertification: every active grant in scope becomes an item to certify or revoke."""

    __tablename__ = "access_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    modules: Mapped[list] = mapped_column(JSON, default=list)  # module codes; empty: all
    sensitivities: Mapped[list] = mapped_column(JSON, default=list)
    reviewer_ids: Mapped[list] = mapped_column(JSON, default=list)  # empty: module approvers
    deadline: Mapped[date]
    auto_revoke: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    escalated_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    created_by = relationship("User", foreign_keys=[created_by_id], lazy="joined")


class CampaignItem(Base):
    """One grant to certify or revoke in a campaign, with what the reviewer decided."""

    __tablename__ = "access_campaign_items"
    __table_args__ = (
        UniqueConstraint("campaign_id", "grant_id", name="uq_access_campaign_item"),
        Index("ix_access_campaign_items_module", "campaign_id", "module_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("access_campaigns.id", ondelete="CASCADE"))
    grant_id: Mapped[int] = mapped_column(ForeignKey("access_grants.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id"))
    dormant: Mapped[bool] = mapped_column(default=False)
    decision: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    # set when closing applied the decision (or the deadline's auto-revoke)
    applied_at: Mapped[datetime | None]

    grant: Mapped[AccessGrant] = relationship(lazy="joined")
    user = relationship("User", foreign_keys=[user_id], lazy="joined")
    decided_by = relationship("User", foreign_keys=[decided_by_id], lazy="joined")
