"""Who hears about access rights, and the ERP's provisioning calls. Only decides and enqueues
(through the outbox, in the change's transaction); ``jobs.py`` sends, with retries.

Messages about one request share an ordering key, so "approved" never overtakes "submitted";
the ERP hears about one grant in order too (provision before deprovision).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.access.models import AccessGrant, AccessRequest, ReviewCampaign
from app.core.outbox import enqueue

EMAIL_JOB = "app.access.jobs.send_access_email"
ERP_JOB = "app.access.jobs.tell_erp"


def request_event(session: Session, request: AccessRequest, event: str) -> None:
    """``event`` (submitted, needs_exception, exception_filed, approved, rejected, ...)."""
    enqueue(
        session,
        EMAIL_JOB,
        ordering_key=f"access-request:{request.id}",
        event=event,
        request_id=request.id,
    )


def grant_event(session: Session, grant: AccessGrant, event: str) -> None:
    """Tell the holder (active, expired, revoked)."""
    enqueue(
        session,
        EMAIL_JOB,
        ordering_key=f"access-grant:{grant.id}",
        event=event,
        grant_id=grant.id,
    )


def erp_change(session: Session, grant: AccessGrant, action: str) -> None:
    """Ask the ERP side to ``provision`` or ``deprovision`` the grant (once per action)."""
    enqueue(
        session,
        ERP_JOB,
        queue="high",
        dedupe_key=f"access-erp:{grant.id}:{action}",
        ordering_key=f"access-erp:{grant.id}",
        grant_id=grant.id,
        action=action,
    )


def campaign_event(
    session: Session, campaign: ReviewCampaign, event: str, dedupe_key: str | None = None
) -> None:
    """opened (to reviewers), reminder (to reviewers with items left), escalated (admins)."""
    enqueue(
        session,
        EMAIL_JOB,
        dedupe_key=dedupe_key,
        event=event,
        campaign_id=campaign.id,
    )
