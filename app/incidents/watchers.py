"""Following tickets: watchers, and the open tickets like the one a person is about to report.

A requester about to report an incident someone already reported follows that ticket instead
of filing a duplicate; an agent follows a ticket they care about without being its assignee.
A watcher hears of the ticket's public updates (answers, work started, resolved, reopened,
closed) through the outbox, and reads its public side even where their role would not show it.

Who may follow: anyone holding ``ticket:watch`` (everyone who may report; never the read-only
auditor), on a ticket they may see or on any open ticket of a module (the ones suggested while
reporting). The similar tickets show only a reference, a title and a state: enough to recognise
one's own problem, nothing of its conversation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from app.catalogue.service import module_ref_by_code
from app.core import audit
from app.core.clock import utcnow
from app.core.errors import NotFound
from app.core.permissions import Permission, can, require
from app.identity.models import User
from app.incidents.lifecycle import OPEN_STATUSES
from app.incidents.models import Ticket, Watcher, format_ref
from app.incidents.service import ENTITY, can_see, parse_ref

SIMILAR_LIMIT = 5
# words too common to tell one incident from another
_STOP = frozenset(
    {
        *("the", "and", "for", "with", "not", "does", "cannot", "can't", "when", "from"),
        *("this", "that", "into", "after", "before"),
        *("les", "des", "une", "pas", "est", "dans", "pour", "avec", "sur", "qui", "que"),
    }
)
_WORD = re.compile(r"[^\W_]{3,}", re.UNICODE)
_OPEN = [s.value for s in OPEN_STATUSES]


@dataclass(frozen=True)
class SimilarTicket:
    """An open ticket as the report form suggests it: what it is, not what was said on it."""

    ref: str
    title: str
    status: str
    updated_at: datetime
    watching: bool
    mine: bool


def _may_follow(actor: User, ticket: Ticket) -> bool:
    if not can(actor, Permission.TICKET_WATCH):
        return False
    if can_see(actor, ticket):
        return True
    # an open ticket of a module one reports in: the similar tickets offered while reporting
    return ticket.status in _OPEN and can(actor, Permission.TICKET_CREATE, ticket.module_id)


def ticket_to_follow(session: Session, actor: User, ref: str) -> Ticket:
    """The ticket ``ref`` if ``actor`` may follow (or stop following) it; 404 otherwise."""
    require(actor, Permission.TICKET_WATCH)
    ticket = session.get(Ticket, parse_ref(ref))
    if ticket is None or not _may_follow(actor, ticket):
        raise NotFound(_l("No ticket %(ref)s.", ref=repr(ref)))
    return ticket


def is_watching(session: Session, user: User, ticket: Ticket) -> bool:
    return (
        session.scalar(
            select(Watcher.user_id).where(
                Watcher.ticket_id == ticket.id, Watcher.user_id == user.id
            )
        )
        is not None
    )


def follow(session: Session, actor: User, ticket: Ticket) -> bool:
    """Make ``actor`` a watcher of ``ticket``; returns False if they already were.

    The requester of a ticket hears of it anyway, so they are not added twice.
    """
    if not _may_follow(actor, ticket):
        require(actor, Permission.TICKET_WATCH)
        raise NotFound(_l("No ticket %(ref)s.", ref=repr(ticket.ref)))
    if ticket.reporter_id == actor.id or is_watching(session, actor, ticket):
        return False
    session.add(Watcher(ticket_id=ticket.id, user_id=actor.id, created_at=utcnow()))
    session.flush()
    # a follower is support-side bookkeeping: other requesters do not read who follows
    audit.record(
        session,
        actor,
        ENTITY,
        ticket.ref,
        "followed",
        {"watcher": [None, actor.name]},
        public=False,
    )
    return True


def unfollow(session: Session, actor: User, ticket: Ticket) -> bool:
    """Stop ``actor`` following ``ticket``; returns False if they were not following it."""
    require(actor, Permission.TICKET_WATCH)
    done = session.execute(
        delete(Watcher).where(Watcher.ticket_id == ticket.id, Watcher.user_id == actor.id)
    )
    if not done.rowcount:
        return False
    audit.record(
        session,
        actor,
        ENTITY,
        ticket.ref,
        "unfollowed",
        {"watcher": [actor.name, None]},
        public=False,
    )
    return True


def watchers_of(session: Session, ticket: Ticket) -> list[User]:
    """The people following ``ticket``, by name."""
    rows = session.scalars(
        select(Watcher).where(Watcher.ticket_id == ticket.id).order_by(Watcher.created_at)
    ).all()
    return sorted((w.user for w in rows), key=lambda u: u.name.lower())


def followed_by(session: Session, user: User) -> set[int]:
    """The ids of the tickets ``user`` follows."""
    return set(session.scalars(select(Watcher.ticket_id).where(Watcher.user_id == user.id)))


def title_words(title: str) -> list[str]:
    """The words of a title worth matching on, lower-cased, longest first (at most 8)."""
    words = {w.lower() for w in _WORD.findall(title or "")} - _STOP
    return sorted(words, key=lambda w: (-len(w), w))[:8]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def similar_open_tickets(
    session: Session, actor: User, module: str, title: str, *, limit: int = SIMILAR_LIMIT
) -> list[SimilarTicket]:
    """Open tickets of ``module`` whose titles share words with ``title``: most shared words
    first, then the most recently updated."""
    require(actor, Permission.TICKET_CREATE)
    words = title_words(title)
    found = module_ref_by_code(session, (module or "").strip().upper()) if module else None
    if not words or found is None or not can(actor, Permission.TICKET_CREATE, found.id):
        return []
    lowered = func.lower(Ticket.title)
    rows = session.execute(
        select(Ticket.id, Ticket.title, Ticket.status, Ticket.updated_at, Ticket.reporter_id)
        .where(
            Ticket.module_id == found.id,
            Ticket.status.in_(_OPEN),
            or_(*(lowered.like(f"%{_escape_like(w)}%", escape="\\") for w in words)),
        )
        .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
        .limit(100)
    ).all()
    followed = followed_by(session, actor) if rows else set()

    def shared(row) -> int:
        text = row.title.lower()
        return sum(1 for w in words if w in text)

    ranked = sorted(rows, key=lambda r: (-shared(r), -r.updated_at.timestamp(), -r.id))
    return [
        SimilarTicket(
            ref=format_ref(r.id),
            title=r.title,
            status=r.status,
            updated_at=r.updated_at,
            watching=r.id in followed,
            mine=r.reporter_id == actor.id,
        )
        for r in ranked[: max(1, min(limit, 20))]
    ]
