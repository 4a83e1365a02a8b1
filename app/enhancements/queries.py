"""Lists of requests: browse and search, the backlog in its ranked order, the decision log.

Every list is keyset-paginated (``cursor``, ``limit``). The backlog computes each request's
place by WSJF and its place in the backlog (the hand-made rank first) in the database, with
window functions, so a page never loads the whole backlog.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from app.catalogue.service import module_ref_by_code
from app.core.errors import ValidationFailed
from app.core.pagination import Page, SortKey, paginate
from app.core.permissions import Permission, require
from app.enhancements.lifecycle import Status
from app.enhancements.models import Enhancement, EnhancementDecision
from app.identity.models import User

SORTS = ("created", "votes", "wsjf", "rank")
LAST_RANK = 2**31 - 1
NO_WSJF = -1


def _wsjf_key(row: Any) -> float:
    return float(row.wsjf) if row.wsjf is not None else float(NO_WSJF)


def _rank_key(row: Any) -> int:
    return row.manual_rank if row.manual_rank is not None else LAST_RANK


WSJF = func.coalesce(Enhancement.wsjf, NO_WSJF)
RANK = func.coalesce(Enhancement.manual_rank, LAST_RANK)
ORDERS: dict[str, list[SortKey]] = {
    "created": [
        SortKey(Enhancement.created_at, lambda e: e.created_at, descending=True),
        SortKey(Enhancement.id, lambda e: e.id, descending=True),
    ],
    "votes": [
        SortKey(Enhancement.vote_count, lambda e: e.vote_count, descending=True),
        SortKey(Enhancement.id, lambda e: e.id, descending=True),
    ],
    "wsjf": [
        SortKey(WSJF, _wsjf_key, descending=True),
        SortKey(Enhancement.id, lambda e: e.id, descending=True),
    ],
    "rank": [
        SortKey(RANK, _rank_key),
        SortKey(WSJF, _wsjf_key, descending=True),
        SortKey(Enhancement.id, lambda e: e.id),
    ],
}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _module_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    module = module_ref_by_code(session, code)
    if module is None:
        raise ValidationFailed(
            _l("Unknown module."), errors={"module": [_l("No module %(code)s.", code=repr(code))]}
        )
    return module.id


@dataclass
class EnhancementQuery:
    status: list[str] | None = None
    module: str | None = None
    q: str | None = None
    sort: str = "created"
    requester_id: int | None = None


def _filtered(session: Session, query: EnhancementQuery) -> Select:
    stmt = select(Enhancement)
    if query.status:
        stmt = stmt.where(Enhancement.status.in_(query.status))
    module_id = _module_id(session, query.module)
    if module_id is not None:
        stmt = stmt.where(Enhancement.module_id == module_id)
    if query.requester_id is not None:
        stmt = stmt.where(Enhancement.requester_id == query.requester_id)
    if query.q and query.q.strip():
        pattern = f"%{_escape_like(query.q.strip())}%"
        clauses: list[ColumnElement[bool]] = [
            Enhancement.title.ilike(pattern, escape="\\"),
            Enhancement.problem.ilike(pattern, escape="\\"),
        ]
        stmt = stmt.where(or_(*clauses))
    return stmt


def list_enhancements(
    session: Session, actor: User, query: EnhancementQuery, *, cursor: str | None, limit: int
) -> Page:
    """Requests matching ``query``, in its order (newest first by default)."""
    require(actor, Permission.ENHANCEMENT_VIEW)
    return paginate(session, _filtered(session, query), ORDERS[query.sort], cursor, limit)


# --- the backlog -----------------------------------------------------------------------------


@dataclass
class BacklogRow:
    enhancement: Enhancement
    position: int  # place in the backlog shown (hand-made rank first, then WSJF)
    wsjf_rank: int  # place the request would have by WSJF alone


def backlog(
    session: Session, actor: User, *, module: str | None, cursor: str | None, limit: int
) -> Page:
    """Approved requests not yet planned, in backlog order, with their places.

    For one module, the order is the product owner's (by hand, then WSJF); over every module,
    each module's hand-made ranks interleave, then WSJF decides.
    """
    require(actor, Permission.ENHANCEMENT_VIEW)
    stmt = select(
        Enhancement.id.label("id"),
        func.row_number().over(order_by=(RANK, WSJF.desc(), Enhancement.id)).label("position"),
        func.row_number().over(order_by=(WSJF.desc(), Enhancement.id)).label("wsjf_rank"),
    ).where(Enhancement.status == Status.APPROVED)
    module_id = _module_id(session, module)
    if module_id is not None:
        stmt = stmt.where(Enhancement.module_id == module_id)
    places = stmt.subquery()
    rows = select(Enhancement, places.c.position, places.c.wsjf_rank).join(
        places, places.c.id == Enhancement.id
    )
    keys = [SortKey(places.c.position, lambda r: r.position)]
    page = paginate(session, rows, keys, cursor, limit, rows=True)
    return Page(
        items=[BacklogRow(r[0], r.position, r.wsjf_rank) for r in page.items],
        next_cursor=page.next_cursor,
    )


# --- the decision log ------------------------------------------------------------------------


@dataclass
class DecisionQuery:
    module: str | None = None
    decision: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    decided_by: str | None = None


def _utc(moment: datetime, name: str) -> datetime:
    """The instant in UTC; one at the edge of the calendar cannot be, and is a 422."""
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ValidationFailed(
            _l("The date is out of range."), errors={name: [_l("Not a date Steward can use.")]}
        ) from exc


DECISION_ORDER = [
    SortKey(EnhancementDecision.decided_at, lambda d: d.decided_at, descending=True),
    SortKey(EnhancementDecision.id, lambda d: d.id, descending=True),
]


def decisions(
    session: Session, actor: User, query: DecisionQuery, *, cursor: str | None, limit: int
) -> Page:
    """The committee's decisions, newest first: who decided what, when and why."""
    require(actor, Permission.ENHANCEMENT_VIEW)
    stmt = select(EnhancementDecision)
    module_id = _module_id(session, query.module)
    if module_id is not None:
        stmt = stmt.where(EnhancementDecision.module_id == module_id)
    if query.decision:
        stmt = stmt.where(EnhancementDecision.decision == query.decision)
    if query.since:
        stmt = stmt.where(EnhancementDecision.decided_at >= _utc(query.since, "since"))
    if query.until:
        stmt = stmt.where(EnhancementDecision.decided_at < _utc(query.until, "until"))
    if query.decided_by:
        who = select(User.id).where(User.email == query.decided_by.strip().lower())
        stmt = stmt.where(EnhancementDecision.decided_by_id.in_(who))
    return paginate(session, stmt, DECISION_ORDER, cursor, limit)
