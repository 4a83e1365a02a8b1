"""Access work the workers run: messages, the ERP's provisioning calls and the periodic scans.

Each function takes the job's session and plain arguments; the runner commits. Every scan is
idempotent: expiry ends only what is still held, leavers and movers are handled once, dormant
flags are set once and cleared on use, campaign reminders carry a dedupe key per day and
escalation is stamped on the campaign.
"""

from __future__ import annotations

import os
from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import campaigns, grants, notifications
from app.access.lifecycle import CampaignStatus
from app.access.models import AccessGrant, AccessRequest, CampaignItem, ReviewCampaign
from app.core import audit
from app.core.clock import utcnow
from app.core.mail import send_email
from app.core.permissions import Permission, can
from app.core.schedule import Periodic
from app.core.webhook import post_json
from app.identity.models import RoleAssignment, User

REMIND_DAYS_BEFORE = 3

SUBJECTS = {
    "pending_approval": "{ref}: access request awaiting approval",
    "needs_exception": "{ref}: access request blocked by a segregation-of-duties conflict",
    "exception_filed": "{ref}: SoD exception filed, awaiting approval",
    "approved": "{ref}: access approved",
    "rejected": "{ref}: access request rejected",
    "active": "Your ERP role {role} is active",
    "expired": "Your ERP role {role} has expired",
    "revoked": "Your ERP role {role} was revoked",
    "opened": "Access review '{name}' is open until {deadline}",
    "reminder": "Access review '{name}': decisions due by {deadline}",
    "escalated": "Access review '{name}' is past its deadline",
}


def _setting(name: str, default: str | None = None) -> str | None:
    return current_app.config.get(name) or os.environ.get(name) or default


def dormant_days() -> int:
    """``ACCESS_DORMANT_DAYS`` (90 unless set)."""
    try:
        return max(1, int(_setting("ACCESS_DORMANT_DAYS", str(grants.DEFAULT_DORMANT_DAYS))))
    except ValueError:
        return grants.DEFAULT_DORMANT_DAYS


def _admins(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.role == "admin", User.active.is_(True))
            .distinct()
        )
    )


def _approvers_of(session: Session, module_ids: set[int], permission: Permission) -> list[User]:
    people = session.scalars(
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role.in_(["approver", "admin"]), User.active.is_(True))
        .distinct()
    )
    return [p for p in people if any(can(p, permission, m) for m in module_ids)]


def _request_recipients(session: Session, request: AccessRequest, event: str) -> list[str]:
    if event == "pending_approval":
        modules = {i.role.module_id for i in request.items}
        people = _approvers_of(session, modules, Permission.ACCESS_APPROVE)
        return [p.email for p in people if p.id not in (request.requester_id, request.subject_id)]
    if event == "exception_filed":
        return [
            a.email
            for a in _admins(session)
            if a.id not in (request.requester_id, request.subject_id)
        ]
    people = {request.requester, request.subject}
    return sorted(p.email for p in people if p.active)


def _campaign_recipients(session: Session, campaign: ReviewCampaign, event: str) -> list[str]:
    if event == "escalated":
        return [a.email for a in _admins(session)]
    items = list(session.scalars(campaigns.items_query(campaign)))
    if event == "reminder":
        items = [i for i in items if i.decision is None]
    if campaign.reviewer_ids:
        people = [session.get(User, i) for i in campaign.reviewer_ids]
        return sorted(p.email for p in people if p is not None and p.active)
    people = _approvers_of(session, {i.module_id for i in items}, Permission.ACCESS_REVIEW)
    return sorted(p.email for p in people)


def send_access_email(
    session: Session,
    *,
    event: str,
    request_id: int | None = None,
    grant_id: int | None = None,
    campaign_id: int | None = None,
) -> list[str]:
    """Email about a request, a grant or a campaign; returns the recipients."""
    subject_line = SUBJECTS.get(event, "Access rights: {event}")
    if request_id is not None:
        request = session.get(AccessRequest, request_id)
        if request is None:
            return []
        recipients = _request_recipients(session, request, event)
        title = subject_line.format(ref=request.ref, event=event)
        roles = ", ".join(r.code for r in request.roles)
        body = f"{request.ref} for {request.subject.name}: {roles}.\nStatus: {request.status}."
    elif grant_id is not None:
        grant = session.get(AccessGrant, grant_id)
        if grant is None:
            return []
        recipients = [grant.user.email] if grant.user.active else []
        title = subject_line.format(role=grant.role.code, event=event)
        body = f"{grant.role.code} ({grant.role.name}) in {grant.role.module.code}: {grant.status}."
    else:
        campaign = session.get(ReviewCampaign, campaign_id)
        if campaign is None:
            return []
        recipients = _campaign_recipients(session, campaign, event)
        title = subject_line.format(name=campaign.name, deadline=campaign.deadline, event=event)
        body = f"Access review '{campaign.name}', deadline {campaign.deadline.isoformat()}."
    send_email(current_app.config, recipients, title, body)
    return recipients


def tell_erp(session: Session, *, grant_id: int, action: str) -> str:
    """Ask the ERP to provision or deprovision a grant: the ``ACCESS_WEBHOOK_URL`` webhook,
    or else an email to the ERP administrators (``ACCESS_ERP_EMAIL``, else Steward's admins)."""
    grant = session.get(AccessGrant, grant_id)
    if grant is None:
        return "gone"
    payload = {
        "action": action,
        "grant_id": grant.id,
        "user": grant.user.email,
        "role": grant.role.code,
        "module": grant.role.module.code,
        "expires_on": grant.expires_on.isoformat() if grant.expires_on else None,
        "confirm_url": f"/api/v1/access/grants/{grant.id}/provisioned",
    }
    if post_json(_setting("ACCESS_WEBHOOK_URL"), payload):
        return "webhook"
    fixed = _setting("ACCESS_ERP_EMAIL")
    recipients = [fixed] if fixed else [a.email for a in _admins(session)]
    verb = "Create" if action == "provision" else "Remove"
    send_email(
        current_app.config,
        recipients,
        f"{verb} ERP role {grant.role.code} for {grant.user.email}",
        f"{verb} the role {grant.role.code} ({grant.role.module.code}) for {grant.user.email}."
        + ("\nConfirm in Steward once done." if action == "provision" else ""),
    )
    return "email"


# --- periodic ---------------------------------------------------------------------------------


def expire_grants(session: Session) -> int:
    """End the grants whose end date has passed."""
    return grants.expire_due(session)


def leavers_and_movers(session: Session) -> dict[str, int]:
    """Deprovision the grants of deactivated people; flag the grants of people who moved."""
    return {
        "leavers": grants.deprovision_leavers(session),
        "movers": grants.flag_movers(session),
    }


def detect_dormant_grants(session: Session) -> int:
    """Flag the grants unused for ``ACCESS_DORMANT_DAYS``."""
    return grants.detect_dormant(session, dormant_days())


def campaign_deadlines(session: Session) -> dict[str, int]:
    """Remind reviewers before a deadline (once a day), escalate to admins after it (once),
    and close campaigns with ``auto_revoke`` once their deadline has passed."""
    today = utcnow().date()
    counts = {"reminded": 0, "escalated": 0, "closed": 0}
    for campaign in session.scalars(
        select(ReviewCampaign).where(ReviewCampaign.status == CampaignStatus.OPEN.value)
    ):
        undecided = session.scalar(
            select(CampaignItem.id)
            .where(CampaignItem.campaign_id == campaign.id, CampaignItem.decision.is_(None))
            .limit(1)
        )
        if today <= campaign.deadline:
            if undecided and campaign.deadline - today <= timedelta(days=REMIND_DAYS_BEFORE):
                key = f"access-campaign:{campaign.id}:reminder:{today.isoformat()}"
                notifications.campaign_event(session, campaign, "reminder", dedupe_key=key)
                counts["reminded"] += 1
            continue
        if campaign.auto_revoke:
            campaigns.close_campaign(session, None, campaign)
            counts["closed"] += 1
        elif undecided and campaign.escalated_at is None:
            campaign.escalated_at = utcnow()
            audit.record(session, None, campaigns.ENTITY, campaign.id, "escalate")
            notifications.campaign_event(
                session,
                campaign,
                "escalated",
                dedupe_key=f"access-campaign:{campaign.id}:escalated",
            )
            counts["escalated"] += 1
    session.flush()
    return counts


PERIODIC = (
    Periodic("app.access.jobs.expire_grants", 3600),
    Periodic("app.access.jobs.leavers_and_movers", 900),
    Periodic("app.access.jobs.detect_dormant_grants", 6 * 3600, timeout=1200),
    Periodic("app.access.jobs.campaign_deadlines", 3600),
)
