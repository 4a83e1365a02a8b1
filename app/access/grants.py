"""Grants: created by a full approval, provisioned by the ERP, ended by expiry or revocation.

Provisioning is confirmed by an admin or by the ERP itself (a service token scoped
``access:provision``). Ending a grant (expiry, revocation by an admin or a review, a leaver)
asks the ERP to deprovision it, through the outbox. The periodic scans here are idempotent:
expiry, leavers, movers, and dormant access (from the usage rollup).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.access import notifications
from app.access.lifecycle import (
    GRANT_MACHINE,
    HELD,
    GrantAction,
    GrantParty,
    GrantStatus,
)
from app.access.models import AccessGrant, AccessRequest
from app.access.service import clean_text
from app.core import audit
from app.core.clock import utcnow
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.permissions import Permission, can
from app.identity.models import User
from app.usage.models import UsageDaily

DEFAULT_DORMANT_DAYS = 90
ENTITY = "access_grant"


def create_grants(
    session: Session, actor: User | None, request: AccessRequest
) -> list[AccessGrant]:
    """One grant per role of an approved request, awaiting provisioning; the ERP is told."""
    now = utcnow()
    created = []
    for item in request.items:
        grant = AccessGrant(
            user_id=request.subject_id,
            role_id=item.role_id,
            module_id=item.role.module_id,
            request_id=request.id,
            status=GrantStatus.PENDING_PROVISIONING.value,
            granted_at=now,
            expires_on=request.end_date,
            holder_department=request.subject.department,
        )
        session.add(grant)
        created.append(grant)
    session.flush()
    for grant in created:
        audit.record(
            session,
            actor,
            ENTITY,
            grant.id,
            "grant",
            {"status": [None, grant.status]},
            request=request.ref,
            role=grant.role.code,
            user=request.subject.email,
        )
        notifications.erp_change(session, grant, "provision")
    return created


def _apply(
    session: Session,
    actor: User | None,
    grant: AccessGrant,
    action: GrantAction,
    parties: set[GrantParty],
    **context,
) -> AccessGrant:
    transition = GRANT_MACHINE.transition_for(grant.status, action, parties)
    before = grant.status
    grant.status = transition.target.value
    session.flush()
    audit.record(
        session,
        actor,
        ENTITY,
        grant.id,
        action.value,
        {"status": [before, grant.status]},
        **context,
    )
    return grant


def provision(session: Session, actor: User, grant: AccessGrant) -> AccessGrant:
    """The ERP (or an admin) confirms the grant exists there: it becomes active, from now."""
    parties = set()
    if can(actor, Permission.ACCESS_MANAGE):
        parties.add(GrantParty.ADMIN)
    if can(actor, Permission.ACCESS_PROVISION):
        parties.add(GrantParty.PROVISIONER)
    if not parties:
        raise PermissionDenied(_l("Only an admin or the ERP confirms provisioning."))
    grant.provisioned_at = utcnow()
    _apply(session, actor, grant, GrantAction.PROVISION, parties)
    notifications.grant_event(session, grant, "active")
    return grant


def _end(
    session: Session,
    actor: User | None,
    grant: AccessGrant,
    action: GrantAction,
    parties: set[GrantParty],
    reason: str,
) -> AccessGrant:
    now = utcnow()
    _apply(session, actor, grant, action, parties, reason=reason)
    grant.ended_at = now
    grant.end_reason = reason
    grant.ended_by_id = actor.id if actor is not None else None
    grant.deprovision_requested_at = now
    grant.dormant_since = None
    session.flush()
    notifications.erp_change(session, grant, "deprovision")
    notifications.grant_event(session, grant, grant.status)
    return grant


def revoke(
    session: Session,
    actor: User | None,
    grant: AccessGrant,
    *,
    reason: str | None,
    as_reviewer: bool = False,
) -> AccessGrant:
    """End a grant now (an admin; a review decision; None: the system, for leavers)."""
    if actor is None:
        parties = {GrantParty.SYSTEM}
    elif as_reviewer:
        parties = {GrantParty.REVIEWER}
    elif can(actor, Permission.ACCESS_MANAGE):
        parties = {GrantParty.ADMIN}
    else:
        raise PermissionDenied(_l("Only an admin revokes a grant outside a review."))
    text = clean_text(reason, "reason")
    return _end(session, actor, grant, GrantAction.REVOKE, parties, text)


def revoke_many(
    session: Session, actor: User, grant_ids: list[int], *, reason: str | None
) -> list[AccessGrant]:
    """Revoke several grants at once (e.g. every dormant one): all of them, or none."""
    if not can(actor, Permission.ACCESS_MANAGE):
        raise PermissionDenied(_l("Only an admin revokes grants."))
    found = list(session.scalars(select(AccessGrant).where(AccessGrant.id.in_(grant_ids))))
    if not grant_ids or len(found) != len(set(grant_ids)):
        raise ValidationFailed(
            _l("Some grants do not exist."), errors={"ids": [_l("Unknown grant.")]}
        )
    return [revoke(session, actor, grant, reason=reason) for grant in found]


# --- periodic scans (idempotent) --------------------------------------------------------------


def expire_due(session: Session, now: datetime | None = None) -> int:
    """End the grants whose end date has passed (``expired``), asking for deprovisioning."""
    today = (now or utcnow()).date()
    due = list(
        session.scalars(
            select(AccessGrant).where(
                AccessGrant.status.in_([s.value for s in HELD]),
                AccessGrant.expires_on < today,
            )
        )
    )
    for grant in due:
        _end(session, None, grant, GrantAction.EXPIRE, {GrantParty.SYSTEM}, "end date passed")
    return len(due)


def deprovision_leavers(session: Session) -> int:
    """Revoke every grant held by a deactivated person (a leaver)."""
    held = list(
        session.scalars(
            select(AccessGrant)
            .join(User, User.id == AccessGrant.user_id)
            .where(AccessGrant.status.in_([s.value for s in HELD]), User.active.is_(False))
        )
    )
    for grant in held:
        revoke(session, None, grant, reason="holder left (account deactivated)")
    return len(held)


def flag_movers(session: Session) -> int:
    """Flag for review the grants of people whose department changed since the grant."""
    now = utcnow()
    moved = list(
        session.scalars(
            select(AccessGrant)
            .join(User, User.id == AccessGrant.user_id)
            .where(
                AccessGrant.status.in_([s.value for s in HELD]),
                AccessGrant.review_flagged_at.is_(None),
                func.coalesce(User.department, "")
                != func.coalesce(AccessGrant.holder_department, ""),
            )
        )
    )
    for grant in moved:
        before, after = grant.holder_department or "-", grant.user.department or "-"
        reason = f"department changed from {before} to {after}"
        grant.review_flagged_at = now
        grant.review_reason = reason[:200]
        audit.record(session, None, ENTITY, grant.id, "flag_for_review", reason=reason)
    session.flush()
    return len(moved)


def _usage_of(session: Session, grant: AccessGrant) -> tuple[datetime | None, datetime | None]:
    """(first use since provisioning, last use) of the grant's module by its holder."""
    account = grant.user.email.lower()
    start = grant.provisioned_at
    rows = UsageDaily.account == account, UsageDaily.module_id == grant.module_id
    last = session.scalar(select(func.max(UsageDaily.last_at)).where(*rows))
    first = None
    if start is not None:
        first = session.scalar(
            select(func.min(UsageDaily.first_at)).where(*rows, UsageDaily.last_at >= start)
        )
        if first is not None:
            first = max(first, start)  # a day's first event may predate the grant that day
    return first, last


def detect_dormant(session: Session, days: int = DEFAULT_DORMANT_DAYS) -> int:
    """Refresh first/last use of every active grant and flag those unused for ``days``.

    A grant never used counts from its provisioning. Returns how many are dormant now.
    """
    now = utcnow()
    window = timedelta(days=days)
    dormant = 0
    for grant in session.scalars(
        select(AccessGrant).where(AccessGrant.status == GrantStatus.ACTIVE.value)
    ):
        first, last = _usage_of(session, grant)
        if first is not None and grant.first_used_at is None:
            grant.first_used_at = first
        if last is not None and (grant.last_used_at is None or last > grant.last_used_at):
            grant.last_used_at = last
        since = grant.last_used_at or grant.provisioned_at or grant.granted_at
        if now - since >= window:
            dormant += 1
            if grant.dormant_since is None:
                grant.dormant_since = since + window
                audit.record(session, None, ENTITY, grant.id, "dormant", days=days)
        elif grant.dormant_since is not None:
            grant.dormant_since = None
            audit.record(session, None, ENTITY, grant.id, "in_use_again")
    session.flush()
    return dormant
