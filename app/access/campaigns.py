"""Review campaigns (recertification): every active grant in scope becomes an item that a
reviewer certifies or revokes; closing applies the revocations and leaves the evidence.

Reviewers are the campaign's named reviewers, or by default the reviewers (approvers) of each
item's module; admins review everything. Nobody reviews their own grant. Undecided items are
revoked at closing when the campaign says ``auto_revoke``.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import grants, notifications
from app.access.lifecycle import (
    CAMPAIGN_MACHINE,
    CampaignAction,
    CampaignParty,
    CampaignStatus,
    GrantStatus,
)
from app.access.models import (
    SENSITIVITIES,
    AccessGrant,
    CampaignItem,
    ErpRole,
    ReviewCampaign,
    SodRule,
)
from app.access.service import clean_text, held_role_ids, module_by_code, user_by_email
from app.core import audit
from app.core.clock import utcnow
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.permissions import Permission, can, require
from app.identity.models import User

ENTITY = "access_campaign"
ITEM_DECISIONS = ("certify", "revoke")


def open_campaign(
    session: Session,
    actor: User,
    *,
    name: str,
    deadline: date,
    modules: list[str] | None = None,
    sensitivities: list[str] | None = None,
    reviewers: list[str] | None = None,
    auto_revoke: bool = False,
) -> ReviewCampaign:
    """Open a campaign over the active grants of ``modules`` (all if empty) and
    ``sensitivities`` (all if empty), one item per grant."""
    require(actor, Permission.ACCESS_MANAGE)
    title = clean_text(name, "name")[:200]
    if deadline < utcnow().date():
        raise ValidationFailed(
            _l("The deadline has passed."), errors={"deadline": [_l("Not before today.")]}
        )
    codes = list(dict.fromkeys(modules or []))
    module_ids = [module_by_code(session, c, "modules").id for c in codes]
    levels = list(dict.fromkeys(sensitivities or []))
    wrong = [s for s in levels if s not in SENSITIVITIES]
    if wrong:
        raise ValidationFailed(
            _l("Unknown sensitivity."),
            errors={"sensitivities": [_l("One of: %(value)s.", value=", ".join(SENSITIVITIES))]},
        )
    reviewer_ids = []
    for email in dict.fromkeys(reviewers or []):
        person = user_by_email(session, email, "reviewers")
        if not can(person, Permission.ACCESS_REVIEW):
            raise ValidationFailed(
                _l("A reviewer must be able to review access."),
                errors={"reviewers": [_l("%(email)s does not review access rights.", email=email)]},
            )
        reviewer_ids.append(person.id)
    campaign = ReviewCampaign(
        name=title,
        modules=codes,
        sensitivities=levels,
        reviewer_ids=reviewer_ids,
        deadline=deadline,
        auto_revoke=auto_revoke,
        status=CampaignStatus.OPEN.value,
        created_by_id=actor.id,
        created_at=utcnow(),
    )
    session.add(campaign)
    session.flush()
    stmt = (
        select(AccessGrant)
        .join(ErpRole, ErpRole.id == AccessGrant.role_id)
        .where(AccessGrant.status == GrantStatus.ACTIVE.value)
    )
    if module_ids:
        stmt = stmt.where(AccessGrant.module_id.in_(module_ids))
    if levels:
        stmt = stmt.where(ErpRole.sensitivity.in_(levels))
    count = 0
    for grant in session.scalars(stmt.order_by(AccessGrant.id)):
        session.add(
            CampaignItem(
                campaign_id=campaign.id,
                grant_id=grant.id,
                user_id=grant.user_id,
                module_id=grant.module_id,
                dormant=grant.dormant_since is not None,
            )
        )
        count += 1
    session.flush()
    audit.record(
        session,
        actor,
        ENTITY,
        campaign.id,
        "open",
        {"status": [None, campaign.status]},
        items=count,
        modules=codes,
        sensitivities=levels,
    )
    notifications.campaign_event(session, campaign, "opened")
    return campaign


def get_campaign(session: Session, actor: User, campaign_id: int) -> ReviewCampaign:
    """A campaign, for those who view access rights or review them (404 otherwise)."""
    campaign = session.get(ReviewCampaign, campaign_id)
    if campaign is None or not (
        can(actor, Permission.ACCESS_VIEW) or can(actor, Permission.ACCESS_REVIEW)
    ):
        raise NotFound(_l("No such campaign."))
    return campaign


def may_review(actor: User, campaign: ReviewCampaign, item: CampaignItem) -> bool:
    """Whether ``actor`` decides on ``item`` (never on their own grant)."""
    if item.user_id == actor.id or not can(actor, Permission.ACCESS_REVIEW):
        return False
    if can(actor, Permission.ACCESS_MANAGE):
        return True
    if campaign.reviewer_ids:
        return actor.id in campaign.reviewer_ids
    return can(actor, Permission.ACCESS_REVIEW, item.module_id)


def items_query(campaign: ReviewCampaign):
    return select(CampaignItem).where(CampaignItem.campaign_id == campaign.id)


def reviewable_ids(session: Session, actor: User, campaign: ReviewCampaign) -> set[int]:
    return {
        item.id
        for item in session.scalars(items_query(campaign))
        if may_review(actor, campaign, item)
    }


def decide_items(
    session: Session,
    actor: User,
    campaign: ReviewCampaign,
    item_ids: list[int],
    *,
    decision: str,
    comment: str | None = None,
) -> list[CampaignItem]:
    """Certify or revoke items (one, or many at once: all or none). Revoking needs a comment;
    a decision can be changed until the campaign closes, and is applied at closing."""
    require(actor, Permission.ACCESS_REVIEW)
    if campaign.status != CampaignStatus.OPEN.value:
        raise Conflict(_l("The campaign is closed."), current_status=campaign.status)
    if decision not in ITEM_DECISIONS:
        raise ValidationFailed(
            _l("Unknown decision."), errors={"decision": [_l("certify or revoke.")]}
        )
    text = clean_text(comment, "comment", required=decision == "revoke")
    wanted = list(dict.fromkeys(item_ids))
    items = list(session.scalars(items_query(campaign).where(CampaignItem.id.in_(wanted))))
    if not wanted or len(items) != len(wanted):
        raise NotFound(_l("No such item in this campaign."))
    for item in items:
        if item.user_id == actor.id:
            raise PermissionDenied(_l("Nobody reviews their own access."))
        if not may_review(actor, campaign, item):
            raise PermissionDenied(_l("You do not review this item."))
    now = utcnow()
    for item in items:
        changes = audit.apply_changes(
            item,
            {"decision": decision, "comment": text, "decided_by_id": actor.id, "decided_at": now},
        )
        audit.record(
            session, actor, "access_campaign_item", item.id, decision, changes, campaign=campaign.id
        )
    session.flush()
    return items


def close_campaign(
    session: Session, actor: User | None, campaign: ReviewCampaign
) -> ReviewCampaign:
    """Close: apply every revocation (and, with ``auto_revoke``, revoke what is undecided)."""
    if actor is not None:
        require(actor, Permission.ACCESS_MANAGE)
    party = CampaignParty.SYSTEM if actor is None else CampaignParty.ADMIN
    transition = CAMPAIGN_MACHINE.transition_for(campaign.status, CampaignAction.CLOSE, {party})
    now = utcnow()
    revoked = 0
    for item in session.scalars(items_query(campaign).order_by(CampaignItem.id)):
        undecided_revoke = item.decision is None and campaign.auto_revoke
        if item.decision != "revoke" and not undecided_revoke:
            continue
        if item.grant.status in (GrantStatus.ACTIVE.value, GrantStatus.PENDING_PROVISIONING.value):
            reason = (
                f"review '{campaign.name}': {item.comment}"
                if item.decision == "revoke"
                else f"review '{campaign.name}': not certified by the deadline"
            )
            grants.revoke(
                session, actor or item.decided_by, item.grant, reason=reason, as_reviewer=True
            )
            revoked += 1
        item.applied_at = now
    before = campaign.status
    campaign.status = transition.target.value
    campaign.closed_at = now
    campaign.closed_by_id = actor.id if actor is not None else None
    session.flush()
    audit.record(
        session,
        actor,
        ENTITY,
        campaign.id,
        "close",
        {"status": [before, campaign.status]},
        revoked=revoked,
    )
    return campaign


def progress(session: Session, campaign: ReviewCampaign) -> dict[str, Any]:
    """Items decided / total, and decisions per reviewer (email -> count)."""
    items = list(session.scalars(items_query(campaign)))
    by_reviewer = Counter(i.decided_by.email for i in items if i.decided_by is not None)
    return {
        "total": len(items),
        "decided": sum(1 for i in items if i.decision is not None),
        "certified": sum(1 for i in items if i.decision == "certify"),
        "revoked": sum(1 for i in items if i.decision == "revoke"),
        "by_reviewer": dict(sorted(by_reviewer.items())),
    }


def item_conflicts(session: Session, item: CampaignItem) -> list[dict[str, Any]]:
    """The SoD rules the holder breaks through this item's role, with what they hold now."""
    held = held_role_ids(session, item.user_id)
    found = []
    for rule in session.scalars(select(SodRule).where(SodRule.active.is_(True))):
        ids = {r.id for r in rule.roles}
        if item.grant.role_id in ids and ids <= held:
            found.append(
                {
                    "roles": [r.code for r in rule.roles],
                    "severity": rule.severity,
                    "description": rule.description,
                }
            )
    return found


EVIDENCE_COLUMNS = (
    "campaign",
    "item",
    "holder",
    "role",
    "module",
    "sensitivity",
    "dormant",
    "granted_at",
    "request",
    "decision",
    "reviewer",
    "decided_at",
    "comment",
    "applied_at",
)


def evidence_rows(session: Session, campaign: ReviewCampaign) -> list[dict[str, Any]]:
    """Every item with its decision, reviewer, time and comment: what auditors keep."""
    rows = []
    for item in session.scalars(items_query(campaign).order_by(CampaignItem.id)):
        grant = item.grant
        rows.append(
            {
                "campaign": campaign.name,
                "item": item.id,
                "holder": item.user.email,
                "role": grant.role.code,
                "module": grant.role.module.code,
                "sensitivity": grant.role.sensitivity,
                "dormant": "yes" if item.dormant else "no",
                "granted_at": grant.granted_at.isoformat(),
                "request": grant.request.ref if grant.request else "",
                "decision": item.decision or "undecided",
                "reviewer": item.decided_by.email if item.decided_by else "",
                "decided_at": item.decided_at.isoformat() if item.decided_at else "",
                "comment": item.comment or "",
                "applied_at": item.applied_at.isoformat() if item.applied_at else "",
            }
        )
    return rows


def _csv_safe(value: Any) -> str:
    """Cells a spreadsheet would run as a formula get a leading quote."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def evidence_csv(session: Session, campaign: ReviewCampaign) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EVIDENCE_COLUMNS)
    writer.writeheader()
    for row in evidence_rows(session, campaign):
        writer.writerow({k: _csv_safe(v) for k, v in row.items()})
    return out.getvalue()
