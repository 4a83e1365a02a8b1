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

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Integer,
    Select,
    String,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    false,
    func,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, defer, lazyload

from app.catalogue.models import SupportGroup, support_group_members
from app.catalogue.service import module_ref_by_code
from app.core.clock import utcnow
from app.core.db import UTCDateTime
from app.core.errors import ValidationFailed
from app.core.pagination import Page, SortKey, paginate
from app.core.permissions import Permission, module_scope
from app.identity.models import User
from app.incidents.lifecycle import Status
from app.incidents.models import (
    NEVER,
    OPEN_STATUS_VALUES,
    Comment,
    EnhancementLink,
    Satisfaction,
    Ticket,
    due_key,
)
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
SORTS = ("due", "created", "-created", "updated", "priority")
MAX_ID = 2**31 - 1  # ids are 32-bit integers: a longer "reference" cannot name a ticket
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
    """Tickets with a breach recorded, or past their running deadline.

    ``next_due_at`` is set only while a clock runs on an open ticket (``sla.next_due``), so a
    deadline in the past means an open ticket; said through the queue's index key, the
    planner reads the open queue in order and stops at the page, instead of sorting every
    breached ticket first.
    """
    return or_(
        Ticket.response_breached_at.is_not(None),
        Ticket.resolution_breached_at.is_not(None),
        due_key(Ticket.next_due_at) <= now,
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


def _my_groups(actor: User):
    return select(support_group_members.c.group_id).where(
        support_group_members.c.user_id == actor.id
    )


# Each view's condition, built only for the view asked for.
_VIEW_CLAUSES = {
    "open": lambda actor, now: is_open(),
    "all": lambda actor, now: and_(True),
    "unassigned": lambda actor, now: and_(is_open(), Ticket.assignee_id.is_(None)),
    "mine": lambda actor, now: and_(is_open(), Ticket.assignee_id == actor.id),
    "my_group": lambda actor, now: and_(is_open(), Ticket.group_id.in_(_my_groups(actor))),
    "breaching_soon": lambda actor, now: at_risk_clause(now),
    "breached": lambda actor, now: and_(is_open(), breached_clause(now)),
    "waiting": lambda actor, now: Ticket.status == Status.WAITING,
    "reported_by_me": lambda actor, now: Ticket.reporter_id == actor.id,
    "resolved": lambda actor, now: Ticket.status == Status.RESOLVED,
}


def _view_clause(view: str, actor: User, now: datetime):
    return _VIEW_CLAUSES[view](actor, now)


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
    if reference and int(reference.group(1)) <= MAX_ID:
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
    return _filtered(session, actor, query, stmt, now)


def _filtered(session: Session, actor: User, query: TicketQuery, stmt: Select, now: datetime):
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
    if sort == "priority":
        return [
            SortKey(Ticket.priority, lambda t: t.priority),
            SortKey(due_key(Ticket.next_due_at), lambda t: t.next_due_at or NEVER),
            SortKey(Ticket.id, lambda t: t.id),
        ]
    if sort == "updated":
        return [
            SortKey(Ticket.updated_at, lambda t: t.updated_at, descending=True),
            SortKey(Ticket.id, lambda t: t.id, descending=True),
        ]
    return [
        SortKey(due_key(Ticket.next_due_at), lambda t: t.next_due_at or NEVER),
        SortKey(Ticket.id, lambda t: t.id),
    ]


def _check(query: TicketQuery) -> None:
    if query.view and query.view not in VIEWS:
        raise ValidationFailed(
            _l("Unknown queue."),
            errors={"view": [_l("One of: %(value)s.", value=", ".join(VIEWS))]},
        )
    if query.sort not in SORTS:
        raise ValidationFailed(
            _l("Unknown sort."), errors={"sort": [_l("One of: %(value)s.", value=", ".join(SORTS))]}
        )


def list_tickets(
    session: Session,
    actor: User,
    query: TicketQuery,
    *,
    cursor: str | None,
    limit: int,
    summary: bool = False,
) -> Page:
    """One page of the tickets ``actor`` may see, filtered and sorted, as ORM objects.

    With ``summary`` the page holds what a list of rows shows (no long texts, links or rating).
    """
    _check(query)
    stmt = build_query(session, actor, query)
    if summary:
        stmt = stmt.options(*SUMMARY_ONLY)
    return paginate(session, stmt, sort_keys(query.sort), cursor, limit)


_TICKETS = Ticket.__table__.c
ROW_COLUMNS = tuple(_TICKETS)
SUMMARY_COLUMNS = tuple(
    c
    for c in _TICKETS
    if c.name not in {"description", "resolution_note", "prequalification_note", "priority_reason"}
)


# built once: a select of 38 columns costs more to construct than to look up in the cache
_ROW_SELECT = select(*ROW_COLUMNS)
_SUMMARY_SELECT = select(*SUMMARY_COLUMNS)


@dataclass
class TicketRows:
    """A page of tickets as plain rows (attribute access like a ticket's), and what they show
    from other tables, each loaded in one query for the whole page."""

    page: Page
    people: dict[int, Any]
    links: dict[int, list[str]]
    ratings: dict[int, Any]


def list_ticket_rows(
    session: Session,
    actor: User,
    query: TicketQuery,
    *,
    cursor: str | None,
    limit: int,
    summary: bool = False,
) -> TicketRows:
    """One page of the tickets ``actor`` may see, read as rows (no ORM objects to build): one
    query for the page, one for its people, and (unless ``summary``) one each for its
    enhancement links and ratings. The module, group and calendar come from the cache."""
    _check(query)
    base = _SUMMARY_SELECT if summary else _ROW_SELECT
    stmt = _filtered(session, actor, query, base.where(visibility_filter(actor)), utcnow())
    page = paginate(session, stmt, sort_keys(query.sort), cursor, limit, rows=True)
    ids = [row.id for row in page.items]
    links: dict[int, list[str]] = {}
    ratings: dict[int, Any] = {}
    if ids and not summary:
        # links and ratings in one round trip: a row is one or the other
        links_part = select(
            EnhancementLink.ticket_id,
            EnhancementLink.id.label("link_id"),
            EnhancementLink.enhancement_ref,
            cast(null(), Integer).label("rating"),
            cast(null(), Text).label("comment"),
            cast(null(), UTCDateTime()).label("created_at"),
        ).where(_among(session, EnhancementLink.ticket_id, ids))
        ratings_part = select(
            Satisfaction.ticket_id,
            cast(null(), Integer),
            cast(null(), String),
            Satisfaction.rating,
            Satisfaction.comment,
            Satisfaction.created_at,
        ).where(_among(session, Satisfaction.ticket_id, ids))
        both = union_all(links_part, ratings_part).subquery()
        for row in session.execute(select(both).order_by(both.c.link_id)):
            if row.enhancement_ref is not None:
                links.setdefault(row.ticket_id, []).append(row.enhancement_ref)
            else:
                ratings[row.ticket_id] = row
    return TicketRows(page, people_of(session, page.items), links, ratings)


def _among(session: Session, column, ids: list[int]):
    """``column IN ids``; on PostgreSQL as ``= ANY(:array)``, one parameter whatever the
    count, so the driver's parsed-statement cache keeps the query (it skips those with more
    than 50 parameters)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("ids", list(ids), type_=ARRAY(Integer), unique=True))
    return column.in_(ids)


def people_of(session: Session, tickets: list) -> dict[int, Any]:
    """The reporters and assignees of ``tickets`` (id, email, name), in one query."""
    wanted = {t.reporter_id for t in tickets} | {t.assignee_id for t in tickets}
    wanted.discard(None)
    if not wanted:
        return {}
    rows = session.execute(
        select(User.id, User.email, User.name).where(_among(session, User.id, sorted(wanted)))
    )
    return {row.id: row for row in rows}


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


def count_tickets(session: Session, actor: User, query: TicketQuery) -> int:
    """How many tickets ``actor`` may see match ``query`` (every page of it): one count."""
    _check(query)
    stmt = _filtered(
        session,
        actor,
        query,
        select(func.count(Ticket.id)).where(visibility_filter(actor)),
        utcnow(),
    )
    return session.scalar(stmt) or 0
