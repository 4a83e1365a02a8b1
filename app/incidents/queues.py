"""Ticket lists: the named queues of the support team and the filters every list accepts.

All lists are keyset-paginated on indexed columns; the default order is the SLA deadline the
team races against (``next_due_at``), tickets with no running clock last.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, func, literal, or_, select
from sqlalchemy.orm import Session, selectinload

from app.catalogue.models import Module, SupportGroup, support_group_members
from app.core.clock import utcnow
from app.core.db import UTCDateTime
from app.core.errors import ValidationFailed
from app.core.pagination import Page, SortKey, paginate
from app.identity.models import User
from app.incidents.lifecycle import OPEN_STATUSES, Status
from app.incidents.models import Ticket
from app.incidents.service import visibility_filter

NEVER = datetime(9999, 12, 31, tzinfo=UTC)
# a page loads these with one IN query each rather than joining them into the keyset scan
LIST_RELATIONS = (Ticket.module, Ticket.reporter, Ticket.assignee, Ticket.group)
VIEWS = (
    "open",
    "all",
    "unassigned",
    "mine",
    "my_group",
    "breaching_soon",
    "breached",
    "waiting",
    "reported_by_me",
    "resolved",
)
SORTS = ("due", "created", "-created", "updated")
OPEN = [s.value for s in OPEN_STATUSES]
RUNNING = [s.value for s in OPEN_STATUSES if s != Status.WAITING]


@dataclass
class TicketQuery:
    view: str | None = None
    status: list[str] | None = None
    priority: list[str] | None = None
    module: str | None = None
    assignee: str | None = None
    group: str | None = None
    breached: bool | None = None
    q: str | None = None
    sort: str = "due"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def breached_clause(now: datetime):
    return or_(
        Ticket.response_breached_at.is_not(None),
        Ticket.resolution_breached_at.is_not(None),
        # next_due_at is NULL while no clock runs: say so, or NOT(...) would drop those rows
        and_(Ticket.status.in_(OPEN), Ticket.next_due_at.is_not(None), Ticket.next_due_at <= now),
    )


def at_risk_clause(now: datetime):
    return and_(
        Ticket.status.in_(OPEN),
        Ticket.response_breached_at.is_(None),
        Ticket.resolution_breached_at.is_(None),
        or_(
            and_(Ticket.first_response_at.is_(None), Ticket.response_warn_at <= now),
            and_(
                Ticket.first_response_at.is_not(None),
                Ticket.status.in_(RUNNING),
                Ticket.resolution_warn_at <= now,
            ),
        ),
        or_(Ticket.next_due_at.is_(None), Ticket.next_due_at > now),
    )


def _view_clause(view: str, actor: User, now: datetime):
    mine = Ticket.assignee_id == actor.id
    my_groups = select(support_group_members.c.group_id).where(
        support_group_members.c.user_id == actor.id
    )
    clauses = {
        "open": Ticket.status.in_(OPEN),
        "all": and_(True),
        "unassigned": and_(Ticket.status.in_(OPEN), Ticket.assignee_id.is_(None)),
        "mine": and_(Ticket.status.in_(OPEN), mine),
        "my_group": and_(Ticket.status.in_(OPEN), Ticket.group_id.in_(my_groups)),
        "breaching_soon": at_risk_clause(now),
        "breached": and_(Ticket.status.in_(OPEN), breached_clause(now)),
        "waiting": Ticket.status == Status.WAITING,
        "reported_by_me": Ticket.reporter_id == actor.id,
        "resolved": Ticket.status == Status.RESOLVED,
    }
    return clauses[view]


def _people_clause(session: Session, value: str, actor: User):
    if value == "me":
        return Ticket.assignee_id == actor.id
    if value == "none":
        return Ticket.assignee_id.is_(None)
    user_id = session.scalar(select(User.id).where(User.email == value.strip().lower()))
    return Ticket.assignee_id == (user_id or -1)


def build_query(session: Session, actor: User, query: TicketQuery) -> Select:
    """The visible tickets matching ``query`` (unordered)."""
    now = utcnow()
    stmt = (
        select(Ticket)
        .where(visibility_filter(actor))
        .options(*(selectinload(r) for r in LIST_RELATIONS))
    )
    if query.view:
        stmt = stmt.where(_view_clause(query.view, actor, now))
    if query.status:
        stmt = stmt.where(Ticket.status.in_(query.status))
    if query.priority:
        stmt = stmt.where(Ticket.priority.in_(query.priority))
    if query.module:
        module_id = session.scalar(select(Module.id).where(Module.code == query.module.upper()))
        stmt = stmt.where(Ticket.module_id == (module_id or -1))
    if query.group:
        group_id = session.scalar(
            select(SupportGroup.id).where(SupportGroup.code == query.group.upper())
        )
        stmt = stmt.where(Ticket.group_id == (group_id or -1))
    if query.assignee:
        stmt = stmt.where(_people_clause(session, query.assignee, actor))
    if query.breached is True:
        stmt = stmt.where(breached_clause(now))
    elif query.breached is False:
        stmt = stmt.where(~breached_clause(now))
    if query.q:
        pattern = f"%{_escape_like(query.q.strip())}%"
        stmt = stmt.where(
            or_(
                Ticket.title.ilike(pattern, escape="\\"),
                Ticket.description.ilike(pattern, escape="\\"),
            )
        )
    return stmt


def sort_keys(sort: str) -> list[SortKey]:
    if sort == "created":
        return [
            SortKey(Ticket.created_at, lambda t: t.created_at),
            SortKey(Ticket.id, lambda t: t.id),
        ]
    if sort == "-created":
        return [SortKey(Ticket.id, lambda t: t.id, descending=True)]
    if sort == "updated":
        return [
            SortKey(Ticket.updated_at, lambda t: t.updated_at, descending=True),
            SortKey(Ticket.id, lambda t: t.id, descending=True),
        ]
    due = func.coalesce(Ticket.next_due_at, literal(NEVER, UTCDateTime()))
    return [SortKey(due, lambda t: t.next_due_at or NEVER), SortKey(Ticket.id, lambda t: t.id)]


def list_tickets(
    session: Session, actor: User, query: TicketQuery, *, cursor: str | None, limit: int
) -> Page:
    """One page of the tickets ``actor`` may see, filtered and sorted."""
    if query.view and query.view not in VIEWS:
        raise ValidationFailed("Unknown queue.", errors={"view": [f"One of: {', '.join(VIEWS)}."]})
    if query.sort not in SORTS:
        raise ValidationFailed("Unknown sort.", errors={"sort": [f"One of: {', '.join(SORTS)}."]})
    return paginate(
        session, build_query(session, actor, query), sort_keys(query.sort), cursor, limit
    )


def queue_counts(session: Session, actor: User) -> dict[str, Any]:
    """How many tickets sit in each of the support team's queues (for the home page)."""
    now = utcnow()
    counts = {}
    for view in ("unassigned", "mine", "my_group", "breaching_soon", "breached", "waiting"):
        stmt = (
            select(func.count(Ticket.id))
            .where(visibility_filter(actor))
            .where(_view_clause(view, actor, now))
        )
        counts[view] = session.scalar(stmt)
    return counts
