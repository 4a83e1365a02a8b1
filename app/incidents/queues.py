"""Ticket lists: the named queues of the support team and the filters every list accepts.

All lists are keyset-paginated; the default order is the SLA deadline the team races against
(``coalesce(next_due_at, <never>)``, tickets with no running clock last), and each view's order
is read off an index of its own (see ``models.py``), so a page costs the same at any size. Pages
load the tickets in one query and the people they show in one more; the module, group and
calendar come from the catalogue cache. The text search looks in titles, descriptions, the
comments the caller may read, and takes a reference (``INC-000936``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, false, func, or_, select
from sqlalchemy.orm import Session, defer, lazyload

from app.catalogue.models import SupportGroup, support_group_members
from app.catalogue.service import module_ref_by_code
from app.core.clock import utcnow
from app.core.errors import ValidationFailed
from app.core.pagination import Page, SortKey, paginate
from app.core.permissions import Permission, module_scope
from app.identity.models import User
from app.incidents.lifecycle import Status
from app.incidents.models import NEVER, OPEN_STATUS_VALUES, Comment, Ticket, due_key
from app.incidents.service import visibility_filter

# Statuses written inline (not as bound parameters): the partial indexes on open tickets must
# be provably usable by the planner whatever the values, including in a cached generic plan.
# In one fixed order, as the partial indexes write them (SQLite matches their terms verbatim).
OPEN = list(OPEN_STATUS_VALUES)
RUNNING = [s for s in OPEN if s != Status.WAITING]
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
# many-to-one relations a page does not load with the tickets (see build_query)
LIST_RELATIONS = (Ticket.module, Ticket.reporter, Ticket.assignee, Ticket.group)
TAB_VIEWS = ("unassigned", "mine", "my_group", "breaching_soon", "breached", "waiting")
SORTS = ("due", "created", "-created", "updated")
REF_QUERY = re.compile(r"^\s*INC-?0*(\d{1,12})\s*$", re.IGNORECASE)
# A list shows these columns only (pages of rows, not whole tickets): the long texts stay out.
SUMMARY_ONLY = (
    defer(Ticket.description),
    defer(Ticket.resolution_note),
    defer(Ticket.prequalification_note),
    defer(Ticket.priority_reason),
    lazyload(Ticket.enhancement_links),
    lazyload(Ticket.satisfaction),
)


def _inline(values: list[str]):
    return bindparam(None, values, expanding=True, literal_execute=True)


def is_open():
    return Ticket.status.in_(_inline(OPEN))


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
        and_(is_open(), Ticket.next_due_at.is_not(None), Ticket.next_due_at <= now),
    )


def at_risk_clause(now: datetime):
    return and_(
        is_open(),
        Ticket.response_breached_at.is_(None),
        Ticket.resolution_breached_at.is_(None),
        or_(
            and_(Ticket.first_response_at.is_(None), Ticket.response_warn_at <= now),
            and_(
                Ticket.first_response_at.is_not(None),
                Ticket.status.in_(_inline(RUNNING)),
                Ticket.resolution_warn_at <= now,
            ),
        ),
        # "no deadline, or one still ahead", said as the queue's index key says it
        due_key(Ticket.next_due_at) > now,
    )


def _view_clause(view: str, actor: User, now: datetime):
    mine = Ticket.assignee_id == actor.id
    my_groups = select(support_group_members.c.group_id).where(
        support_group_members.c.user_id == actor.id
    )
    clauses = {
        "open": is_open(),
        "all": and_(True),
        "unassigned": and_(is_open(), Ticket.assignee_id.is_(None)),
        "mine": and_(is_open(), mine),
        "my_group": and_(is_open(), Ticket.group_id.in_(my_groups)),
        "breaching_soon": at_risk_clause(now),
        "breached": and_(is_open(), breached_clause(now)),
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


def search_clause(session: Session, actor: User, text: str):
    """Tickets whose title, description or a comment ``actor`` may read contains ``text``
    (any case, ``%`` and ``_`` literal), or whose reference ``text`` is.

    On PostgreSQL each part is served by a trigram index and the matching comments are
    gathered first, as an array the primary key index looks up, so the planner can combine
    the parts in one bitmap scan instead of testing every ticket.
    """
    pattern = f"%{_escape_like(text.strip())}%"
    comments = select(Comment.ticket_id).where(Comment.body.ilike(pattern, escape="\\"))
    internal = module_scope(actor, Permission.TICKET_VIEW_INTERNAL)
    if internal is None:
        pass
    elif internal:
        comments = comments.join(Ticket, Ticket.id == Comment.ticket_id).where(
            or_(Comment.public.is_(True), Ticket.module_id.in_(internal))
        )
    else:
        comments = comments.where(Comment.public.is_(True))
    if session.get_bind().dialect.name == "postgresql":
        in_comments = Ticket.id == func.any(func.array(comments.scalar_subquery()))
    else:
        in_comments = Ticket.id.in_(comments)
    parts = [
        Ticket.title.ilike(pattern, escape="\\"),
        Ticket.description.ilike(pattern, escape="\\"),
        in_comments,
    ]
    reference = REF_QUERY.match(text)
    if reference:
        parts.append(Ticket.id == int(reference.group(1)))
    return or_(*parts)


def build_query(session: Session, actor: User, query: TicketQuery) -> Select:
    """The visible tickets matching ``query`` (unordered).

    The many-to-one relations are not loaded with the page: lists read the module and group
    from the catalogue cache and the people with :func:`people_of`, one query per page.
    """
    now = utcnow()
    stmt = (
        select(Ticket)
        .where(visibility_filter(actor))
        .options(*(lazyload(r) for r in LIST_RELATIONS))
    )
    if query.view:
        stmt = stmt.where(_view_clause(query.view, actor, now))
    if query.status:
        stmt = stmt.where(Ticket.status.in_(query.status))
    if query.priority:
        stmt = stmt.where(Ticket.priority.in_(query.priority))
    if query.module:
        module = module_ref_by_code(session, query.module)
        stmt = stmt.where(Ticket.module_id == module.id if module else false())
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
    if query.q and query.q.strip():
        stmt = stmt.where(search_clause(session, actor, query.q))
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
    return [
        SortKey(due_key(Ticket.next_due_at), lambda t: t.next_due_at or NEVER),
        SortKey(Ticket.id, lambda t: t.id),
    ]


def list_tickets(
    session: Session,
    actor: User,
    query: TicketQuery,
    *,
    cursor: str | None,
    limit: int,
    summary: bool = False,
) -> Page:
    """One page of the tickets ``actor`` may see, filtered and sorted.

    With ``summary`` the page holds what a list of rows shows (no long texts, links or rating).
    """
    if query.view and query.view not in VIEWS:
        raise ValidationFailed("Unknown queue.", errors={"view": [f"One of: {', '.join(VIEWS)}."]})
    if query.sort not in SORTS:
        raise ValidationFailed("Unknown sort.", errors={"sort": [f"One of: {', '.join(SORTS)}."]})
    stmt = build_query(session, actor, query)
    if summary:
        stmt = stmt.options(*SUMMARY_ONLY)
    return paginate(session, stmt, sort_keys(query.sort), cursor, limit)


def people_of(session: Session, tickets: list[Ticket]) -> dict[int, User]:
    """The reporters and assignees of ``tickets``, in one query (already loaded ones reused)."""
    wanted = {t.reporter_id for t in tickets} | {t.assignee_id for t in tickets}
    wanted.discard(None)
    if not wanted:
        return {}
    users = session.scalars(select(User).where(User.id.in_(sorted(wanted))).options(lazyload("*")))
    return {user.id: user for user in users}


def queue_counts(session: Session, actor: User) -> dict[str, Any]:
    """How many tickets sit in each of the support team's queues, in one query over the open
    tickets (every tab is a part of them)."""
    now = utcnow()
    counts = [
        func.count(Ticket.id).filter(_view_clause(view, actor, now)).label(view)
        for view in TAB_VIEWS
    ]
    row = session.execute(select(*counts).where(visibility_filter(actor)).where(is_open())).one()
    return dict(zip(TAB_VIEWS, row, strict=True))
