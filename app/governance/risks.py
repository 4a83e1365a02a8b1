"""The risk register: probability x impact, owner, mitigation, review dates, score history.

A risk whose score reaches the alert threshold (``GOVERNANCE_RISK_THRESHOLD``, 15 by default)
or whose review date has passed needs attention: its owner is told (``jobs.alert_risks``), it
goes on the next agenda and it is counted in ``/metrics``.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.core import audit
from app.core.clock import utcnow
from app.core.errors import NotFound
from app.core.pagination import Page, SortKey, paginate
from app.core.permissions import Permission, require
from app.governance.models import Risk, RiskScoreChange
from app.governance.service import user_by_email
from app.identity.models import User

ENTITY = "risk"
DEFAULT_THRESHOLD = 15


class RiskStatus(StrEnum):
    OPEN = "open"
    MITIGATING = "mitigating"
    CLOSED = "closed"
    ACCEPTED = "accepted"


# risks still being watched: an accepted risk stays in the register but raises no alert
LIVE = (RiskStatus.OPEN, RiskStatus.MITIGATING)


def alert_threshold() -> int:
    """The score from which a live risk raises an alert (configurable)."""
    if has_app_context():
        return int(current_app.config.get("GOVERNANCE_RISK_THRESHOLD", DEFAULT_THRESHOLD))
    return DEFAULT_THRESHOLD


def _assess(session: Session, actor: User | None, risk: Risk) -> None:
    risk.score = risk.probability * risk.impact
    session.add(
        RiskScoreChange(
            risk=risk,
            probability=risk.probability,
            impact=risk.impact,
            score=risk.score,
            changed_at=utcnow(),
            changed_by_id=actor.id if actor else None,
        )
    )


def create_risk(
    session: Session,
    actor: User,
    *,
    title: str,
    category: str,
    probability: int,
    impact: int,
    owner: str,
    description: str | None = None,
    mitigation: str | None = None,
    review_by: date | None = None,
    status: str = RiskStatus.OPEN,
) -> Risk:
    """Record a risk; its score is probability x impact and starts its history."""
    require(actor, Permission.GOVERNANCE_MANAGE)
    now = utcnow()
    risk = Risk(
        title=title.strip(),
        description=description,
        category=category.strip(),
        probability=probability,
        impact=impact,
        owner=user_by_email(session, owner),
        mitigation=mitigation,
        review_by=review_by,
        status=status,
        created_at=now,
        updated_at=now,
        last_reviewed_at=now,
    )
    _assess(session, actor, risk)
    session.add(risk)
    session.flush()
    audit.record(
        session,
        actor,
        ENTITY,
        risk.id,
        "create",
        {"title": [None, risk.title], "score": [None, risk.score]},
    )
    return risk


def update_risk(session: Session, actor: User, risk: Risk, values: dict[str, Any]) -> Risk:
    """Change a risk. Any change is a review; a new probability or impact is a new score."""
    require(actor, Permission.GOVERNANCE_MANAGE)
    fields = (
        "title",
        "description",
        "category",
        "probability",
        "impact",
        "mitigation",
        "status",
        "review_by",
    )
    plain = {k: values[k] for k in fields if k in values}
    if "owner" in values:
        plain["owner_id"] = user_by_email(session, values["owner"]).id
    changes = audit.apply_changes(risk, plain)
    if "probability" in changes or "impact" in changes:
        before = risk.score
        _assess(session, actor, risk)
        changes["score"] = [before, risk.score]
    now = utcnow()
    risk.last_reviewed_at = now
    risk.updated_at = now
    session.flush()
    audit.record(session, actor, ENTITY, risk.id, "update" if changes else "review", changes)
    return risk


def get_risk(session: Session, actor: User, risk_id: int) -> Risk:
    require(actor, Permission.GOVERNANCE_VIEW)
    risk = session.get(Risk, risk_id)
    if risk is None:
        raise NotFound(_l("No such risk."))
    return risk


def list_risks(
    session: Session,
    actor: User,
    *,
    status: list[str] | None = None,
    min_score: int | None = None,
    cursor: str | None = None,
    limit: int = 25,
) -> Page[Risk]:
    """The register, highest score first."""
    require(actor, Permission.GOVERNANCE_VIEW)
    stmt = select(Risk)
    if status:
        stmt = stmt.where(Risk.status.in_(status))
    if min_score is not None:
        stmt = stmt.where(Risk.score >= min_score)
    keys = [
        SortKey(Risk.score, lambda r: r.score, descending=True),
        SortKey(Risk.id, lambda r: r.id, descending=True),
    ]
    return paginate(session, stmt, keys, cursor, limit)


def attention_clause(today: date, threshold: int):
    """Live risks at or above the threshold, or past their review date."""
    return Risk.status.in_(LIVE) & or_(Risk.score >= threshold, Risk.review_by < today)


def needing_attention(session: Session, today: date, threshold: int) -> list[Risk]:
    return list(
        session.scalars(
            select(Risk)
            .where(attention_clause(today, threshold))
            .order_by(Risk.score.desc(), Risk.id)
        )
    )


def heat_map(session: Session) -> list[list[int]]:
    """Counts of live risks: rows are impact 5..1, columns probability 1..5."""
    grid = [[0] * 5 for _ in range(5)]
    rows = session.execute(
        select(Risk.probability, Risk.impact, func.count(Risk.id))
        .where(Risk.status.in_(LIVE))
        .group_by(Risk.probability, Risk.impact)
    )
    for probability, impact, count in rows:
        grid[5 - impact][probability - 1] = count
    return grid
