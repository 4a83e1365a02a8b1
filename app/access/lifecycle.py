"""The state machines of access rights, defined once: requests, grants and review campaigns.

Request: submitted into ``pending_approval``, or ``needs_exception`` when it would create an
SoD conflict; filing an exception moves it on to ``pending_approval``; the last approval
needed makes it ``approved`` (one approval at a time is recorded without a change of state);
any approver may reject it; its requester may cancel it while undecided.

Grant: ``pending_provisioning`` until the ERP (or an admin) confirms it, then ``active``; it
ends ``expired`` (its end date passed) or ``revoked`` (an admin, a review decision, a leaver).

Campaign: ``open`` until closed (which applies its revocations).

Every change anywhere (API, pages, jobs) asks ``transition_for``; a forbidden one raises
``InvalidTransition`` (409) listing the actions allowed now.
"""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from app.core.lifecycle import StateMachine, Transition
from app.core.lifecycle import transition as _t


class RequestStatus(StrEnum):
    NEEDS_EXCEPTION = "needs_exception"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


UNDECIDED = frozenset({RequestStatus.NEEDS_EXCEPTION, RequestStatus.PENDING_APPROVAL})


class RequestAction(StrEnum):
    FILE_EXCEPTION = "file_exception"
    APPROVE = "approve"
    REJECT = "reject"
    CANCEL = "cancel"


class RequestParty(StrEnum):
    """Who acts on a request: who asked, an approver of its modules, an admin."""

    REQUESTER = "requester"
    APPROVER = "approver"
    ADMIN = "admin"


_RQ, _AP, _AD = RequestParty.REQUESTER, RequestParty.APPROVER, RequestParty.ADMIN
REQUEST_TRANSITIONS: tuple[Transition, ...] = (
    _t(
        RequestAction.FILE_EXCEPTION,
        {RequestStatus.NEEDS_EXCEPTION},
        RequestStatus.PENDING_APPROVAL,
        _RQ,
        _AD,
    ),
    _t(RequestAction.APPROVE, {RequestStatus.PENDING_APPROVAL}, RequestStatus.APPROVED, _AP, _AD),
    _t(RequestAction.REJECT, UNDECIDED, RequestStatus.REJECTED, _AP, _AD),
    _t(RequestAction.CANCEL, UNDECIDED, RequestStatus.CANCELLED, _RQ),
)
REQUEST_MACHINE = StateMachine(
    _l("access request"),
    REQUEST_TRANSITIONS,
    states={
        RequestStatus.NEEDS_EXCEPTION: _l("needs exception"),
        RequestStatus.PENDING_APPROVAL: _l("pending approval"),
        RequestStatus.APPROVED: _l("approved"),
        RequestStatus.REJECTED: _l("rejected"),
        RequestStatus.CANCELLED: _l("cancelled"),
    },
)


class GrantStatus(StrEnum):
    PENDING_PROVISIONING = "pending_provisioning"
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


# grants that count as held: for SoD checks, reviews and licence utilisation (active only)
HELD = frozenset({GrantStatus.PENDING_PROVISIONING, GrantStatus.ACTIVE})


class GrantAction(StrEnum):
    PROVISION = "provision"
    EXPIRE = "expire"
    REVOKE = "revoke"


class GrantParty(StrEnum):
    """Who acts on a grant: an admin, the ERP (service token), a reviewer, the system (jobs)."""

    ADMIN = "admin"
    PROVISIONER = "provisioner"
    REVIEWER = "reviewer"
    SYSTEM = "system"


_GA, _GP, _GR, _GS = (
    GrantParty.ADMIN,
    GrantParty.PROVISIONER,
    GrantParty.REVIEWER,
    GrantParty.SYSTEM,
)
GRANT_TRANSITIONS: tuple[Transition, ...] = (
    _t(
        GrantAction.PROVISION,
        {GrantStatus.PENDING_PROVISIONING},
        GrantStatus.ACTIVE,
        _GA,
        _GP,
    ),
    _t(GrantAction.EXPIRE, HELD, GrantStatus.EXPIRED, _GS),
    _t(GrantAction.REVOKE, HELD, GrantStatus.REVOKED, _GA, _GR, _GS),
)
GRANT_MACHINE = StateMachine(
    _l("grant"),
    GRANT_TRANSITIONS,
    states={
        GrantStatus.PENDING_PROVISIONING: _l("pending provisioning"),
        GrantStatus.ACTIVE: _l("active"),
        GrantStatus.EXPIRED: _l("expired"),
        GrantStatus.REVOKED: _l("revoked"),
    },
)


class CampaignStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CampaignAction(StrEnum):
    CLOSE = "close"


class CampaignParty(StrEnum):
    ADMIN = "admin"
    SYSTEM = "system"


CAMPAIGN_TRANSITIONS: tuple[Transition, ...] = (
    _t(
        CampaignAction.CLOSE,
        {CampaignStatus.OPEN},
        CampaignStatus.CLOSED,
        CampaignParty.ADMIN,
        CampaignParty.SYSTEM,
    ),
)
CAMPAIGN_MACHINE = StateMachine(
    _l("campaign"),
    CAMPAIGN_TRANSITIONS,
    states={CampaignStatus.OPEN: _l("open"), CampaignStatus.CLOSED: _l("closed")},
)
