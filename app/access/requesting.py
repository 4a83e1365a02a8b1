"""Asking for access: the SoD check, submitting a request, filing an exception, cancelling.

A person asks for themself; asking for someone else takes an admin, or an approver of every
module of the roles asked (the module's manager). A request that would let its subject hold
the roles of an SoD rule together (counting what they hold, what awaits provisioning and what
other open requests ask) waits in ``needs_exception`` until an exception is filed.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import notifications
from app.access.catalogue import roles_by_codes
from app.access.lifecycle import (
    REQUEST_MACHINE,
    RequestAction,
    RequestParty,
    RequestStatus,
)
from app.access.models import (
    AccessRequest,
    AccessRequestRole,
    ErpRole,
    SodException,
    SodRule,
)
from app.access.service import (
    clean_text,
    held_role_ids,
    requested_role_ids,
    user_by_email,
)
from app.core import audit
from app.core.clock import utcnow
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.permissions import Permission, can, module_scope, require
from app.identity.models import User

MAX_ROLES = 50
MAX_END_YEARS = 5


def covered_rule_ids(session: Session, subject_id: int, today: date) -> set[int]:
    """SoD rules ``subject_id`` may break under an approved exception not yet expired."""
    covered: set[int] = set()
    for conflicts in session.scalars(
        select(AccessRequest.sod_conflicts)
        .join(SodException, SodException.request_id == AccessRequest.id)
        .where(
            SodException.subject_id == subject_id,
            SodException.status == "approved",
            SodException.expires_on >= today,
        )
    ):
        covered.update(c.get("rule_id") for c in conflicts or [])
    return covered


def sod_conflicts(
    session: Session,
    subject: User,
    roles: list[ErpRole],
    *,
    excluding_request: int | None = None,
) -> list[dict[str, Any]]:
    """The SoD rules ``subject`` would break by also holding ``roles``.

    A rule counts when all its roles would be held together and at least one of them is among
    ``roles`` (what the subject already holds was checked when it was granted), unless an
    approved exception still covers it.
    """
    asked = {r.id for r in roles}
    together = asked | held_role_ids(session, subject.id)
    together |= requested_role_ids(session, subject.id, excluding=excluding_request)
    covered = covered_rule_ids(session, subject.id, utcnow().date())
    conflicts = []
    for rule in session.scalars(select(SodRule).where(SodRule.active.is_(True))):
        ids = {r.id for r in rule.roles}
        if ids <= together and ids & asked and rule.id not in covered:
            conflicts.append(
                {
                    "rule_id": rule.id,
                    "roles": [r.code for r in rule.roles],
                    "severity": rule.severity,
                    "description": rule.description,
                }
            )
    return conflicts


def check_roles(session: Session, actor: User, subject_email: str | None, codes: list[str]):
    """The subject and the roles of a prospective request, with its SoD conflicts."""
    require(actor, Permission.ACCESS_REQUEST)
    subject = user_by_email(session, subject_email) if subject_email else actor
    roles = roles_by_codes(session, codes) if codes else []
    # what someone else holds is told only to those who may ask on their behalf
    if subject.id != actor.id and not (
        can(actor, Permission.ACCESS_MANAGE)
        or module_scope(actor, Permission.ACCESS_APPROVE) != set()
    ):
        raise PermissionDenied(_l("Only an admin or an approver checks someone else's access."))
    return subject, roles, sod_conflicts(session, subject, roles)


def _may_request_for(actor: User, subject: User, roles: list[ErpRole]) -> bool:
    if subject.id == actor.id or can(actor, Permission.ACCESS_MANAGE):
        return True
    return all(can(actor, Permission.ACCESS_APPROVE, r.module_id) for r in roles)


def _check_end_date(end_date: date | None) -> None:
    if end_date is None:
        return
    today = utcnow().date()
    if end_date <= today:
        raise ValidationFailed(
            _l("The end date must be in the future."), errors={"end_date": [_l("After today.")]}
        )
    if end_date > today + timedelta(days=366 * MAX_END_YEARS):
        raise ValidationFailed(
            _l("The end date is too far away."),
            errors={
                "end_date": [_l("Within %(max_end_years)s years.", max_end_years=MAX_END_YEARS)]
            },
        )


def _check_not_held(session: Session, subject: User, roles: list[ErpRole]) -> None:
    already = held_role_ids(session, subject.id) | requested_role_ids(session, subject.id)
    taken = [r.code for r in roles if r.id in already]
    if taken:
        raise ValidationFailed(
            _l("Some roles are held or asked for already."),
            errors={"roles": [f"{subject.email} holds or awaits {c} already." for c in taken]},
        )
    inactive = [r.code for r in roles if not r.active]
    if inactive:
        raise ValidationFailed(
            _l("Some roles can no longer be requested."),
            errors={"roles": [f"{c} is withdrawn from the catalogue." for c in inactive]},
        )


def submit_request(
    session: Session,
    actor: User,
    *,
    roles: list[str],
    justification: str,
    user: str | None = None,
    end_date: date | None = None,
) -> AccessRequest:
    """Ask for ``roles`` for ``user`` (default: the actor); checked against the SoD rules."""
    require(actor, Permission.ACCESS_REQUEST)
    if not roles or len(roles) > MAX_ROLES:
        raise ValidationFailed(
            _l("Ask for at least one role."),
            errors={"roles": [_l("Between 1 and %(max_roles)s roles.", max_roles=MAX_ROLES)]},
        )
    subject = user_by_email(session, user) if user else actor
    found = roles_by_codes(session, roles)
    if not _may_request_for(actor, subject, found):
        raise PermissionDenied(_l("Only an admin or the modules' approvers ask for someone else."))
    if not subject.active or subject.is_service_account:
        raise ValidationFailed(
            _l("This person cannot hold ERP roles."), errors={"user": [_l("Not an active person.")]}
        )
    text = clean_text(justification, "justification")
    _check_end_date(end_date)
    _check_not_held(session, subject, found)
    conflicts = sod_conflicts(session, subject, found)
    now = utcnow()
    status = RequestStatus.NEEDS_EXCEPTION if conflicts else RequestStatus.PENDING_APPROVAL
    request = AccessRequest(
        requester_id=actor.id,
        subject_id=subject.id,
        justification=text,
        end_date=end_date,
        status=status.value,
        sod_conflicts=conflicts,
        created_at=now,
        updated_at=now,
        items=[AccessRequestRole(role_id=r.id) for r in found],
    )
    session.add(request)
    session.flush()
    audit.record(
        session,
        actor,
        "access_request",
        request.ref,
        "submit",
        {"status": [None, status.value]},
        subject=subject.email,
        roles=[r.code for r in found],
        sod_conflicts=len(conflicts),
    )
    notifications.request_event(session, request, status.value)
    return request


def request_parties(actor: User, request: AccessRequest) -> set[RequestParty]:
    """The parts ``actor`` plays on ``request`` (approvers of any of its modules approve)."""
    found: set[RequestParty] = set()
    if actor.id in (request.requester_id, request.subject_id):
        found.add(RequestParty.REQUESTER)
    if can(actor, Permission.ACCESS_MANAGE):
        found.add(RequestParty.ADMIN)
    if any(can(actor, Permission.ACCESS_APPROVE, item.role.module_id) for item in request.items):
        found.add(RequestParty.APPROVER)
    return found


def file_exception(
    session: Session,
    actor: User,
    request: AccessRequest,
    *,
    mitigating_control: str,
    expires_on: date,
) -> SodException:
    """Accept the request's SoD conflicts under a mitigating control until ``expires_on``;
    an admin still has to approve it, on top of the normal approvals."""
    who = request_parties(actor, request) & {RequestParty.REQUESTER, RequestParty.ADMIN}
    if not who:
        raise PermissionDenied(_l("Only the requester or an admin files an exception."))
    transition = REQUEST_MACHINE.transition_for(request.status, RequestAction.FILE_EXCEPTION, who)
    control = clean_text(mitigating_control, "mitigating_control")
    if expires_on <= utcnow().date():
        raise ValidationFailed(
            _l("The exception must end in the future."), errors={"expires_on": [_l("After today.")]}
        )
    now = utcnow()
    exception = SodException(
        request_id=request.id,
        subject_id=request.subject_id,
        mitigating_control=control,
        expires_on=expires_on,
        status="pending",
        filed_by_id=actor.id,
        filed_at=now,
    )
    request.exception = exception
    before = request.status
    request.status = transition.target.value
    request.updated_at = now
    session.flush()
    audit.record(
        session,
        actor,
        "access_request",
        request.ref,
        RequestAction.FILE_EXCEPTION.value,
        {"status": [before, request.status]},
        mitigating_control=control,
        expires_on=expires_on,
    )
    notifications.request_event(session, request, "exception_filed")
    return exception


def cancel_request(session: Session, actor: User, request: AccessRequest) -> AccessRequest:
    """The requester (or subject) withdraws an undecided request."""
    who = request_parties(actor, request) & {RequestParty.REQUESTER}
    if not who:
        raise PermissionDenied(_l("Only the requester cancels a request."))
    transition = REQUEST_MACHINE.transition_for(request.status, RequestAction.CANCEL, who)
    before = request.status
    request.status = transition.target.value
    request.updated_at = request.decided_at = utcnow()
    if request.exception is not None and request.exception.status == "pending":
        request.exception.status = "withdrawn"
    session.flush()
    audit.record(
        session,
        actor,
        "access_request",
        request.ref,
        "cancel",
        {"status": [before, request.status]},
    )
    return request
