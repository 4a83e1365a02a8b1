"""Access rights: finding what a person may see, and the small reads the indicators use.

The use cases live one per module: ``catalogue`` (roles, SoD rules), ``imports`` (CSV),
``requesting`` (submit, SoD check, exception, cancel), ``approvals``, ``grants``
(provisioning, revocation, expiry, leavers, movers, dormant access) and ``campaigns``.

Indicator reads (each a cheap aggregate, documented with its definition):
``pending_requests``, ``approval_seconds``, ``overdue_review_items``,
``open_sod_exceptions``, ``dormant_grants``, ``active_grant_accounts``,
``active_grants_per_module`` and ``grant_activation``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from app.access.lifecycle import UNDECIDED, CampaignStatus, GrantStatus
from app.access.models import (
    AccessGrant,
    AccessRequest,
    AccessRequestRole,
    CampaignItem,
    ErpRole,
    ReviewCampaign,
    SodException,
)
from app.catalogue.models import Module
from app.core.edge import whole_number
from app.core.errors import NotFound, ValidationFailed
from app.core.permissions import Permission, can, module_scope
from app.identity.models import User

ACTIVATION_DAYS = 14
TEXT_MAX = 5000


# --- lookups ----------------------------------------------------------------------------------


def module_by_code(session: Session, code: str, field: str = "module") -> Module:
    """The module of ``code`` (422 naming ``field`` when there is none)."""
    module = session.scalar(select(Module).where(Module.code == code))
    if module is None:
        raise ValidationFailed(
            _l("No ERP module '%(code)s'.", code=code),
            errors={field: [_l("No ERP module '%(code)s'.", code=code)]},
        )
    return module


def role_by_code(session: Session, code: str) -> ErpRole:
    """The ERP role of ``code``, or 404."""
    role = session.scalar(select(ErpRole).where(ErpRole.code == code))
    if role is None:
        raise NotFound(_l("No ERP role '%(code)s'.", code=code))
    return role


def user_by_email(session: Session, email: str, field: str = "user") -> User:
    """The person of ``email`` (422 naming ``field`` when unknown)."""
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise ValidationFailed(
            _l("No such person."), errors={field: [_l("Nobody is '%(email)s'.", email=email)]}
        )
    return user


def request_module_ids(request: AccessRequest) -> set[int]:
    return {item.role.module_id for item in request.items}


def may_see_request(actor: User, request: AccessRequest) -> bool:
    """Its requester and subject, and whoever views access rights of one of its modules."""
    if actor.id in (request.requester_id, request.subject_id):
        return True
    return any(can(actor, Permission.ACCESS_VIEW, m) for m in request_module_ids(request))


def get_request(session: Session, actor: User, ref: str) -> AccessRequest:
    """The request ``ACC-000123`` if ``actor`` may see it, else 404 (existence is not told)."""
    number = whole_number(ref.upper().removeprefix("ACC-"))
    if not number:
        raise NotFound(_l("No such access request."))
    request = session.get(AccessRequest, number)
    if request is None or not may_see_request(actor, request):
        raise NotFound(_l("No such access request."))
    return request


def visible_requests(session: Session, actor: User) -> Select:
    """Requests ``actor`` may see: their own, plus those of the modules they view."""
    stmt = select(AccessRequest)
    scope = module_scope(actor, Permission.ACCESS_VIEW)
    own = or_(AccessRequest.requester_id == actor.id, AccessRequest.subject_id == actor.id)
    if scope is None:
        return stmt
    if not scope:
        return stmt.where(own)
    in_scope = AccessRequest.id.in_(
        select(AccessRequestRole.request_id)
        .join(ErpRole, ErpRole.id == AccessRequestRole.role_id)
        .where(ErpRole.module_id.in_(scope))
    )
    return stmt.where(or_(own, in_scope))


def may_see_grant(actor: User, grant: AccessGrant) -> bool:
    return grant.user_id == actor.id or can(actor, Permission.ACCESS_VIEW, grant.module_id)


def get_grant(session: Session, actor: User, grant_id: int) -> AccessGrant:
    """The grant if ``actor`` may see it (its holder, or a viewer of its module), else 404."""
    grant = session.get(AccessGrant, grant_id)
    if grant is None or not may_see_grant(actor, grant):
        raise NotFound(_l("No such grant."))
    return grant


def visible_grants(session: Session, actor: User) -> Select:
    """Grants ``actor`` may see: their own, plus those of the modules they view."""
    stmt = select(AccessGrant)
    scope = module_scope(actor, Permission.ACCESS_VIEW)
    if scope is None:
        return stmt
    own = AccessGrant.user_id == actor.id
    return stmt.where(or_(own, AccessGrant.module_id.in_(scope)) if scope else own)


def grant_query(session: Session, actor: User, filters: dict) -> Select:
    """The grants ``actor`` may see, filtered by ``user`` (email), ``module`` and ``role``
    (codes), ``status`` and ``dormant`` (the API and the grants page share it)."""
    stmt = visible_grants(session, actor)
    if filters.get("user"):
        emails = select(User.id).where(User.email == filters["user"].strip().lower())
        stmt = stmt.where(AccessGrant.user_id.in_(emails))
    if filters.get("module"):
        codes = select(Module.id).where(Module.code == filters["module"].upper())
        stmt = stmt.where(AccessGrant.module_id.in_(codes))
    if filters.get("role"):
        roles = select(ErpRole.id).where(ErpRole.code == filters["role"].upper())
        stmt = stmt.where(AccessGrant.role_id.in_(roles))
    if filters.get("status"):
        stmt = stmt.where(AccessGrant.status == filters["status"])
    if filters.get("dormant") is not None:
        dormant = AccessGrant.dormant_since.is_not(None) & (AccessGrant.status == "active")
        stmt = stmt.where(dormant if filters["dormant"] else ~dormant)
    return stmt


def held_role_ids(session: Session, user_id: int) -> set[int]:
    """Roles ``user_id`` holds or is about to hold (active or awaiting provisioning)."""
    return set(
        session.scalars(
            select(AccessGrant.role_id).where(
                AccessGrant.user_id == user_id,
                AccessGrant.status.in_(
                    [GrantStatus.PENDING_PROVISIONING.value, GrantStatus.ACTIVE.value]
                ),
            )
        )
    )


def requested_role_ids(session: Session, user_id: int, *, excluding: int | None = None) -> set[int]:
    """Roles asked for ``user_id`` in requests not decided yet (less request ``excluding``)."""
    stmt = (
        select(AccessRequestRole.role_id)
        .join(AccessRequest, AccessRequest.id == AccessRequestRole.request_id)
        .where(AccessRequest.subject_id == user_id, AccessRequest.status.in_(list(UNDECIDED)))
    )
    if excluding is not None:
        stmt = stmt.where(AccessRequest.id != excluding)
    return set(session.scalars(stmt))


def clean_text(value: str | None, field: str, *, required: bool = True) -> str | None:
    """``value`` stripped; 422 naming ``field`` when required and empty, or too long."""
    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationFailed(
                _l("The %(field)s is required.", field=field), errors={field: [_l("Required.")]}
            )
        return None
    if len(text) > TEXT_MAX:
        raise ValidationFailed(
            _l("The %(field)s is too long.", field=field),
            errors={field: [_l("At most %(text_max)s characters.", text_max=TEXT_MAX)]},
        )
    return text


# --- what the indicators read -----------------------------------------------------------------


def pending_requests(session: Session, module_id: int | None = None) -> int:
    """Requests not decided yet (awaiting approval or an SoD exception), optionally touching
    one module."""
    stmt = select(func.count(AccessRequest.id)).where(AccessRequest.status.in_(list(UNDECIDED)))
    if module_id is not None:
        stmt = stmt.where(
            AccessRequest.id.in_(
                select(AccessRequestRole.request_id)
                .join(ErpRole, ErpRole.id == AccessRequestRole.role_id)
                .where(ErpRole.module_id == module_id)
            )
        )
    return session.scalar(stmt) or 0


def approval_seconds(session: Session, since: datetime, until: datetime) -> list[float]:
    """Seconds from submission to full approval of the requests approved in [since, until):
    the median of these is the median approval time."""
    rows = session.execute(
        select(AccessRequest.created_at, AccessRequest.decided_at).where(
            AccessRequest.status == "approved",
            AccessRequest.decided_at >= since,
            AccessRequest.decided_at < until,
        )
    ).all()
    return sorted((decided - created).total_seconds() for created, decided in rows)


def overdue_review_items(session: Session, today: date) -> int:
    """Items of open campaigns still undecided after their campaign's deadline."""
    return (
        session.scalar(
            select(func.count(CampaignItem.id))
            .join(ReviewCampaign, ReviewCampaign.id == CampaignItem.campaign_id)
            .where(
                ReviewCampaign.status == CampaignStatus.OPEN.value,
                ReviewCampaign.deadline < today,
                CampaignItem.decision.is_(None),
            )
        )
        or 0
    )


def open_sod_exceptions(session: Session, today: date) -> int:
    """Approved SoD exceptions not yet expired (accepted conflicts living in the ERP)."""
    return (
        session.scalar(
            select(func.count(SodException.id)).where(
                SodException.status == "approved", SodException.expires_on >= today
            )
        )
        or 0
    )


def dormant_grants(session: Session, module_id: int | None = None) -> int:
    """Active grants flagged dormant by the last detection run (``grants.detect_dormant``)."""
    stmt = select(func.count(AccessGrant.id)).where(
        AccessGrant.status == GrantStatus.ACTIVE.value, AccessGrant.dormant_since.is_not(None)
    )
    if module_id is not None:
        stmt = stmt.where(AccessGrant.module_id == module_id)
    return session.scalar(stmt) or 0


def active_grant_accounts(session: Session, module_id: int) -> set[str]:
    """The ERP accounts (lower-cased emails, as usage events name them) holding at least one
    active grant in ``module_id``: the denominator of licence utilisation."""
    return {
        email.lower()
        for email in session.scalars(
            select(User.email)
            .join(AccessGrant, AccessGrant.user_id == User.id)
            .where(
                AccessGrant.module_id == module_id,
                AccessGrant.status == GrantStatus.ACTIVE.value,
            )
            .distinct()
        )
    }


def active_grants_per_module(session: Session) -> dict[int, int]:
    """Active grants per module id (a person with two roles in a module counts twice)."""
    rows = session.execute(
        select(AccessGrant.module_id, func.count(AccessGrant.id))
        .where(AccessGrant.status == GrantStatus.ACTIVE.value)
        .group_by(AccessGrant.module_id)
    ).all()
    return {module_id: count for module_id, count in rows}


def grant_activation(
    session: Session, since: datetime, until: datetime, within_days: int = ACTIVATION_DAYS
) -> tuple[int, int]:
    """(activated, started): grants provisioned in [since, until), and those of them first
    used within ``within_days`` of provisioning (``first_used_at``, kept by the dormant scan)."""
    rows = session.execute(
        select(AccessGrant.provisioned_at, AccessGrant.first_used_at).where(
            AccessGrant.provisioned_at >= since, AccessGrant.provisioned_at < until
        )
    ).all()
    window = timedelta(days=within_days)
    activated = sum(1 for start, first in rows if first is not None and first - start <= window)
    return activated, len(rows)


# --- what governance reads ------------------------------------------------------------------


def _undecided_items(session: Session) -> dict[int, int]:
    """Undecided items per open campaign id."""
    rows = session.execute(
        select(CampaignItem.campaign_id, func.count(CampaignItem.id))
        .join(ReviewCampaign, ReviewCampaign.id == CampaignItem.campaign_id)
        .where(
            ReviewCampaign.status == CampaignStatus.OPEN.value,
            CampaignItem.decision.is_(None),
        )
        .group_by(CampaignItem.campaign_id)
    ).all()
    return {campaign_id: count for campaign_id, count in rows}


def late_campaigns(session: Session, today: date) -> list[dict]:
    """Open review campaigns whose deadline is before ``today``, oldest deadline first: one
    ``{"title", "source": "access_campaign:<id>", ...}`` each, for a meeting's agenda.
    Read-only."""
    undecided = _undecided_items(session)
    campaigns = session.scalars(
        select(ReviewCampaign)
        .where(ReviewCampaign.status == CampaignStatus.OPEN.value, ReviewCampaign.deadline < today)
        .order_by(ReviewCampaign.deadline, ReviewCampaign.id)
    )

    def title(c: ReviewCampaign) -> str:
        n = undecided.get(c.id, 0)
        return (
            f"Access review {c.name} is late: deadline {c.deadline.isoformat()}, "
            f"{n} item{'s' if n != 1 else ''} undecided"
        )

    return [
        {
            "title": title(c),
            "source": f"access_campaign:{c.id}",
            "deadline": c.deadline.isoformat(),
            "undecided_items": undecided.get(c.id, 0),
        }
        for c in campaigns
    ]


def review_status(session: Session, as_of: date) -> dict[str, int]:
    """Where access reviews stand on ``as_of`` (deadlines and exception expiries judged on
    that day; campaigns and items as they are stored now): the access section of a
    governance report. Read-only."""
    open_campaigns = session.scalar(
        select(func.count(ReviewCampaign.id)).where(
            ReviewCampaign.status == CampaignStatus.OPEN.value
        )
    )
    late = session.scalar(
        select(func.count(ReviewCampaign.id)).where(
            ReviewCampaign.status == CampaignStatus.OPEN.value, ReviewCampaign.deadline < as_of
        )
    )
    return {
        "open_campaigns": open_campaigns or 0,
        "late_campaigns": late or 0,
        "undecided_items": sum(_undecided_items(session).values()),
        "overdue_review_items": overdue_review_items(session, as_of),
        "open_sod_exceptions": open_sod_exceptions(session, as_of),
    }
