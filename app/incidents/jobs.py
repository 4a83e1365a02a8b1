"""Ticket work the workers run: notifications, the SLA scan and auto-close.

Each function takes the job's session and plain arguments; the runner commits. Running one twice
changes nothing more: the SLA scan records each warning and breach once (timestamps + outbox
dedupe keys), auto-close only closes what is still resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session, joinedload, lazyload

from app.core import audit
from app.core.clock import utcnow
from app.core.i18n import language_of, local_dt, speaking_to, zone_of
from app.core.mail import send_email
from app.core.schedule import Periodic
from app.core.webhook import post_json
from app.identity.models import User
from app.incidents import assignment, notifications
from app.incidents.lifecycle import OPEN_STATUSES, STATUS_NAMES, Status
from app.incidents.models import Comment, Ticket, Watcher

SUBJECTS = {
    "created": _l("{ref} received: {title}"),
    "new_in_group": _l("[{priority}] New ticket {ref} for {group}: {title}"),
    "assigned": _l("[{priority}] {ref} assigned to you: {title}"),
    "public_comment": _l("New answer on {ref}: {title}"),
    "waiting_on_you": _l("{ref} needs your answer: {title}"),
    "resolved": _l("{ref} is resolved: {title}"),
    "resume": _l("{ref}: the requester answered"),
    "reopen": _l("{ref} was reopened by the requester"),
    "response_warning": _l("[{priority}] {ref} is close to its first-response deadline"),
    "resolution_warning": _l("[{priority}] {ref} is close to its resolution deadline"),
    "response_breach": _l("[{priority}] {ref} breached its first-response SLA"),
    "resolution_breach": _l("[{priority}] {ref} breached its resolution SLA"),
}
DEFAULT_SUBJECT = _l("{ref}: {title}")


@dataclass(frozen=True)
class Reader:
    """Who an email is for: its address, and the language and zone it is written in."""

    email: str
    language: str
    zone: str


def _reader(user: User) -> Reader:
    return Reader(user.email, language_of(user), zone_of(user))


# What a watcher (someone following a ticket they did not report) reads in the subject.
WATCHER_SUBJECTS = {
    "public_comment": _l("New answer on {ref}, which you follow: {title}"),
    "started": _l("{ref}, which you follow: work started"),
    "resolved": _l("{ref}, which you follow, is resolved: {title}"),
    "reopened": _l("{ref}, which you follow, was reopened: {title}"),
    "closed": _l("{ref}, which you follow, is closed: {title}"),
    "cancelled": _l("{ref}, which you follow, was cancelled: {title}"),
    "duplicate": _l("{ref}, which you follow, was closed as a duplicate: {title}"),
}


# The ticket with what a message shows (module, people, group) in one query, and nothing
# more: its default eager loads (calendars, roles, links) would cost a mail five queries.
# Built once: every notification job runs it.
_TICKET_FOR_MESSAGE = (
    select(Ticket)
    .where(Ticket.id == bindparam("ticket_id"))
    .options(
        lazyload("*"),
        joinedload(Ticket.module).lazyload("*"),
        joinedload(Ticket.reporter).lazyload("*"),
        joinedload(Ticket.assignee).lazyload("*"),
        joinedload(Ticket.group).lazyload("*"),
    )
)


def _ticket_for_message(session: Session, ticket_id: int) -> Ticket | None:
    return session.scalar(_TICKET_FOR_MESSAGE, {"ticket_id": ticket_id})


def _ticket_url(ticket: Ticket) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/tickets/{ticket.ref}"


def _team_recipients(ticket: Ticket) -> list[Reader]:
    """The assignee if there is one, else the group."""
    if ticket.assignee is not None and ticket.assignee.active:
        return [_reader(ticket.assignee)]
    return _group_recipients(ticket)


def _group_recipients(ticket: Ticket) -> list[Reader]:
    if ticket.group is None:
        return []
    if ticket.group.email:  # a shared mailbox: the installation's language and zone
        return [Reader(ticket.group.email, language_of(None), zone_of(None))]
    return [_reader(u) for u in ticket.group.members if u.active]


def _watcher_recipients(session: Session, ticket: Ticket, comment_id: int | None) -> list[Reader]:
    """Active watchers, except the requester (told anyway) and the author of the answer."""
    author_id = (
        session.scalar(select(Comment.author_id).where(Comment.id == comment_id))
        if comment_id is not None
        else None
    )
    rows = session.scalars(
        select(User)
        .options(lazyload("*"))
        .join(Watcher, Watcher.user_id == User.id)
        .where(
            Watcher.ticket_id == ticket.id,
            User.active.is_(True),
            User.id != ticket.reporter_id,
            User.id != (author_id or 0),
        )
        .order_by(User.email)
    )
    return [_reader(user) for user in rows]


def _body(session: Session, ticket: Ticket, event: str, comment_id: int | None) -> str:
    lines = [
        f"{ticket.ref} — {ticket.title}",
        gettext(
            "Module: %(module)s   Priority: %(priority)s   Status: %(status)s",
            module=ticket.module.name,
            priority=ticket.priority,
            status=STATUS_NAMES.get(ticket.status, ticket.status),
        ),
        "",
    ]
    if comment_id is not None:
        comment = session.get(
            Comment, comment_id, options=[joinedload(Comment.author).lazyload("*")]
        )
        if comment is not None and comment.public:
            lines += [gettext("%(name)s wrote:", name=comment.author.name), comment.body, ""]
    if event == "resolved":
        lines += [gettext("Resolution:"), ticket.resolution_note or "", ""]
        lines += [
            gettext("If the problem is not solved you can reopen the ticket; please rate our help.")
        ]
    if event == "waiting_on_you":
        lines += [gettext("The support team needs information from you to continue.")]
    if ticket.resolution_due_at and event.endswith(("warning", "breach")):
        due = local_dt(ticket.resolution_due_at, zone=True)
        lines += [gettext("Resolution due: %(due)s", due=due)]
    lines += ["", gettext("Open the ticket: %(url)s", url=_ticket_url(ticket))]
    return "\n".join(lines)


def send_ticket_email(
    session: Session,
    *,
    ticket_id: int,
    event: str,
    audience: str,
    comment_id: int | None = None,
    assignee_id: int | None = None,
) -> list[str]:
    """Email the requester or the support team about ``event``; returns the recipients.

    Each reader gets the message in their own language, with times in their own zone (one
    email per language and zone)."""
    ticket = _ticket_for_message(session, ticket_id)
    if ticket is None:
        return []
    if audience == "requester":
        readers = [_reader(ticket.reporter)] if ticket.reporter.active else []
    elif audience == "watchers":
        readers = _watcher_recipients(session, ticket, comment_id)
    elif audience == "group":
        readers = _group_recipients(ticket)
    elif assignee_id is not None:
        assignee = session.get(User, assignee_id, options=[lazyload("*")])
        readers = [_reader(assignee)] if assignee and assignee.active else []
    else:
        readers = _team_recipients(ticket)
    subjects = WATCHER_SUBJECTS if audience == "watchers" else SUBJECTS
    by_tongue: dict[tuple[str, str], list[str]] = {}
    for reader in readers:
        by_tongue.setdefault((reader.language, reader.zone), []).append(reader.email)
    for (language, zone), addresses in sorted(by_tongue.items()):
        with speaking_to(language, zone):
            subject = str(subjects.get(event, DEFAULT_SUBJECT)).format(
                ref=ticket.ref,
                title=ticket.title,
                priority=ticket.priority,
                group=ticket.group.name if ticket.group else gettext("support"),
            )
            body = _body(session, ticket, event, comment_id)
        send_email(current_app.config, addresses, subject, body)
    return [reader.email for reader in readers]


def post_ticket_webhook(session: Session, *, ticket_id: int, event: str) -> bool:
    """Tell the configured channel (chat) about a P1 or a breach."""
    ticket = _ticket_for_message(session, ticket_id)
    if ticket is None:
        return False
    payload = {
        "event": event,
        "ticket": ticket.ref,
        "title": ticket.title,
        "priority": ticket.priority,
        "module": ticket.module.code,
        "status": ticket.status,
        "url": _ticket_url(ticket),
        "text": f"[{ticket.priority}] {ticket.ref} {event.replace('_', ' ')}: {ticket.title}",
    }
    return post_json(
        current_app.config.get("WEBHOOK_URL"),
        payload,
        timeout=current_app.config.get("WEBHOOK_TIMEOUT", 5),
    )


def scan_sla(session: Session) -> dict[str, int]:
    """Record warnings and breaches that are due, each exactly once, and notify."""
    now = utcnow()
    counts = {
        "response_warning": 0,
        "resolution_warning": 0,
        "response_breach": 0,
        "resolution_breach": 0,
    }
    running = [s.value for s in OPEN_STATUSES if s != Status.WAITING]
    responding = [s.value for s in OPEN_STATUSES]
    due = (
        select(Ticket)
        .where(
            or_(
                (Ticket.status.in_(responding))
                & Ticket.first_response_at.is_(None)
                & (
                    (Ticket.response_warned_at.is_(None) & (Ticket.response_warn_at <= now))
                    | (Ticket.response_breached_at.is_(None) & (Ticket.response_due_at <= now))
                ),
                (Ticket.status.in_(running))
                & Ticket.paused_since.is_(None)
                & (
                    (Ticket.resolution_warned_at.is_(None) & (Ticket.resolution_warn_at <= now))
                    | (Ticket.resolution_breached_at.is_(None) & (Ticket.resolution_due_at <= now))
                ),
            )
        )
        .order_by(Ticket.id)
        .limit(5000)
        .with_for_update(skip_locked=True, of=Ticket)  # not the eager-loaded outer joins
    )
    for ticket in session.scalars(due):
        for clock, kind in _due_events(ticket, now):
            counts[f"{clock}_{kind}"] += 1
            if kind == "breach":  # the breach happened at the deadline, not at scan time
                setattr(ticket, f"{clock}_breached_at", getattr(ticket, f"{clock}_due_at"))
            # a breach implies the warning: never warn after the fact
            if getattr(ticket, f"{clock}_warned_at") is None:
                setattr(ticket, f"{clock}_warned_at", now)
            audit.record(
                session, None, "ticket", ticket.ref, f"sla_{kind}", {"clock": [None, clock]}
            )
            notifications.sla_event(session, ticket, clock, kind)
    return counts


def _due_events(ticket: Ticket, now) -> list[tuple[str, str]]:
    events = []
    if ticket.first_response_at is None:
        if ticket.response_breached_at is None and ticket.response_due_at <= now:
            events.append(("response", "breach"))
        elif ticket.response_warned_at is None and ticket.response_warn_at <= now:
            events.append(("response", "warning"))
    if ticket.status != Status.WAITING and ticket.paused_since is None:
        if ticket.resolution_breached_at is None and ticket.resolution_due_at <= now:
            events.append(("resolution", "breach"))
        elif ticket.resolution_warned_at is None and ticket.resolution_warn_at <= now:
            events.append(("resolution", "warning"))
    return events


def auto_close_resolved(session: Session) -> int:
    """Close tickets resolved more than TICKET_AUTO_CLOSE_DAYS ago that nobody reopened."""
    from app.incidents.transitions import perform

    days = int(current_app.config.get("TICKET_AUTO_CLOSE_DAYS", 7))
    cutoff = utcnow() - timedelta(days=days)
    stale = session.scalars(
        select(Ticket)
        .where(Ticket.status == Status.RESOLVED, Ticket.resolved_at <= cutoff)
        .order_by(Ticket.id)
        .limit(1000)
    )
    closed = 0
    for ticket in stale:
        perform(session, None, ticket, "close")
        closed += 1
    return closed


def assign_round_robin(session: Session) -> int:
    """Hand the unassigned tickets of round-robin groups to their members, oldest first."""
    return assignment.rotate_all(session)


PERIODIC = [
    Periodic("app.incidents.jobs.scan_sla", 60, queue="high", timeout=120),
    Periodic("app.incidents.jobs.assign_round_robin", 60, queue="high", timeout=120),
    Periodic("app.incidents.jobs.auto_close_resolved", 3600),
]
