"""Approving or rejecting an access request.

Each role's module needs an approval by one of its approvers; a module where a ``sensitive``
or ``critical`` role is asked needs two, by different people. A request with an SoD exception
also needs an admin's approval (an admin approving it approves the exception too). Nobody
approves a request they made or that gives them access, whatever their roles, on every path:
this module is the only place that records an approval. The last approval needed makes the
request ``approved`` and creates one grant per role, awaiting provisioning.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.access import grants, notifications
from app.access.lifecycle import REQUEST_MACHINE, RequestAction, RequestParty
from app.access.models import TWO_APPROVERS, AccessApproval, AccessRequest
from app.access.requesting import request_parties
from app.access.service import clean_text
from app.core import audit
from app.core.clock import utcnow
from app.core.errors import Conflict, PermissionDenied
from app.core.permissions import Permission, can
from app.identity.models import User

DECISIONS = ("approve", "reject")


def approvals_needed(request: AccessRequest) -> dict[int, int]:
    """Module id -> how many different approvers it needs (2 for sensitive/critical roles)."""
    needed: dict[int, int] = {}
    for item in request.items:
        count = 2 if item.role.sensitivity in TWO_APPROVERS else 1
        needed[item.role.module_id] = max(needed.get(item.role.module_id, 0), count)
    return needed


def missing_approvals(request: AccessRequest) -> dict[int, int]:
    """Module id -> approvals still missing (modules fully approved are left out)."""
    approvers = [a.approver for a in request.approvals if a.decision == "approve"]
    missing = {}
    for module_id, count in approvals_needed(request).items():
        given = sum(1 for a in approvers if can(a, Permission.ACCESS_APPROVE, module_id))
        if given < count:
            missing[module_id] = count - given
    return missing


def exception_pending(request: AccessRequest) -> bool:
    return request.exception is not None and request.exception.status == "pending"


def fully_approved(request: AccessRequest) -> bool:
    return not missing_approvals(request) and not exception_pending(request)


def may_decide(actor: User, request: AccessRequest) -> bool:
    """Whether ``actor`` could approve or reject ``request`` now (pages offer the form)."""
    if actor.id in (request.requester_id, request.subject_id):
        return False
    who = request_parties(actor, request) & {RequestParty.APPROVER, RequestParty.ADMIN}
    if not who or not REQUEST_MACHINE.allowed(request.status, who):
        return False
    return all(a.approver_id != actor.id for a in request.approvals)


def _refuse_self(actor: User, request: AccessRequest) -> None:
    if actor.id in (request.requester_id, request.subject_id):
        raise PermissionDenied(_l("Nobody approves their own access, nor a request they made."))


def decide(
    session: Session,
    actor: User,
    request: AccessRequest,
    *,
    decision: str,
    comment: str | None = None,
) -> AccessApproval:
    """Record ``actor``'s decision; the last approval needed approves the request."""
    _refuse_self(actor, request)
    who = request_parties(actor, request) & {RequestParty.APPROVER, RequestParty.ADMIN}
    if not who:
        raise PermissionDenied(_l("You approve none of the modules of this request."))
    action = RequestAction.APPROVE if decision == "approve" else RequestAction.REJECT
    transition = REQUEST_MACHINE.transition_for(request.status, action, who)
    if any(a.approver_id == actor.id for a in request.approvals):
        raise Conflict(
            _l("You decided on this request already; a second approval needs someone else."),
            current_status=request.status,
        )
    text = clean_text(comment, "comment", required=decision == "reject")
    now = utcnow()
    approval = AccessApproval(
        request_id=request.id,
        approver_id=actor.id,
        decision=decision,
        comment=text,
        decided_at=now,
        approves_exception=decision == "approve"
        and exception_pending(request)
        and RequestParty.ADMIN in who,
    )
    request.approvals.append(approval)
    if approval.approves_exception:
        request.exception.status = "approved"
        request.exception.approved_by_id = actor.id
        request.exception.approved_at = now
    session.flush()
    audit.record(
        session,
        actor,
        "access_request",
        request.ref,
        f"{decision}_vote",
        comment=text,
        approves_exception=approval.approves_exception,
    )
    if decision == "reject":
        _close(session, actor, request, transition.target.value, now)
        if request.exception is not None and request.exception.status == "pending":
            request.exception.status = "rejected"
        notifications.request_event(session, request, "rejected")
    elif fully_approved(request):
        _close(session, actor, request, transition.target.value, now)
        grants.create_grants(session, actor, request)
        notifications.request_event(session, request, "approved")
    request.updated_at = now
    session.flush()
    return approval


def _close(session: Session, actor: User, request: AccessRequest, status: str, now) -> None:
    before = request.status
    request.status = status
    request.decided_at = now
    audit.record(
        session, actor, "access_request", request.ref, status, {"status": [before, status]}
    )
