"""Who hears about what happens to a ticket. Only decides and enqueues (through the outbox);
the sending itself is ``jobs.py``, retried with backoff, so a failing mail server never fails
the change that caused the notification.

Watchers (people following a ticket they did not report) hear of its public updates: an
answer, work started, resolved, reopened, closed or cancelled; never an internal note.

Each ticket's messages to one audience (its requester, its support team, its watchers, the chat
webhook)
share an outbox ordering key: after an outage they still arrive in the order they were
written ("needs your answer" before "resolved").
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.outbox import enqueue
from app.incidents.lifecycle import Action
from app.incidents.models import Comment, Ticket, Watcher

EMAIL_JOB = "app.incidents.jobs.send_ticket_email"
WEBHOOK_JOB = "app.incidents.jobs.post_ticket_webhook"


def ordering_key(ticket: Ticket, audience: str) -> str:
    """One line of messages per ticket and audience: the requester, the support team, chat."""
    line = {"requester": "requester", "webhook": "webhook", "watchers": "watchers"}.get(
        audience, "support"
    )
    return f"ticket:{ticket.id}:{line}"


def _email(session: Session, ticket: Ticket, event: str, audience: str, **extra) -> None:
    enqueue(
        session,
        EMAIL_JOB,
        ordering_key=ordering_key(ticket, audience),
        ticket_id=ticket.id,
        event=event,
        audience=audience,
        **extra,
    )


def _webhook(session: Session, ticket: Ticket, event: str, dedupe_key: str | None = None) -> None:
    enqueue(
        session,
        WEBHOOK_JOB,
        queue="high",
        dedupe_key=dedupe_key,
        ordering_key=ordering_key(ticket, "webhook"),
        ticket_id=ticket.id,
        event=event,
    )


def ticket_created(session: Session, ticket: Ticket) -> None:
    _email(session, ticket, "created", "requester")
    if ticket.group_id is not None:
        _email(session, ticket, "new_in_group", "group")
    if ticket.priority == "P1":
        _webhook(session, ticket, "p1_created", dedupe_key=f"webhook:p1:{ticket.id}")


def ticket_assigned(session: Session, ticket: Ticket) -> None:
    _email(session, ticket, "assigned", "team", assignee_id=ticket.assignee_id)


# What watchers hear of: the public milestones of a ticket (the event names the mail uses).
WATCHED_ACTIONS = {
    Action.START: "started",
    Action.RESOLVE: "resolved",
    Action.REOPEN: "reopened",
    Action.CLOSE: "closed",
    Action.CANCEL: "cancelled",
    Action.DUPLICATE: "duplicate",
}


def _has_watchers(session: Session, ticket: Ticket) -> bool:
    found = session.scalar(select(Watcher.user_id).where(Watcher.ticket_id == ticket.id).limit(1))
    return found is not None


def _watchers(session: Session, ticket: Ticket, event: str, **extra) -> None:
    """Tell the ticket's watchers about a public update, if it has any."""
    if ticket.id is not None and _has_watchers(session, ticket):
        _email(session, ticket, event, "watchers", **extra)


def public_comment(session: Session, ticket: Ticket, comment: Comment) -> None:
    _email(session, ticket, "public_comment", "requester", comment_id=comment.id)
    _watchers(session, ticket, "public_comment", comment_id=comment.id)


def after_transition(
    session: Session, ticket: Ticket, action: Action, *, by_requester: bool = False
) -> None:
    if action == Action.WAIT:
        _email(session, ticket, "waiting_on_you", "requester")
    elif action == Action.RESOLVE:
        _email(session, ticket, "resolved", "requester")
    elif action in (Action.RESUME, Action.REOPEN) and by_requester and ticket.assignee_id:
        # "the requester answered" / "reopened by the requester": only when they did; the
        # team resuming or reopening a ticket itself has nothing to tell its assignee
        _email(session, ticket, action.value, "team")
    if action in WATCHED_ACTIONS:
        _watchers(session, ticket, WATCHED_ACTIONS[action])


def sla_event(session: Session, ticket: Ticket, clock: str, kind: str) -> None:
    """A warning or breach of one clock: the team hears once; a breach also goes to the webhook."""
    key = f"{kind}:{clock}:{ticket.id}"
    enqueue(
        session,
        EMAIL_JOB,
        queue="high",
        dedupe_key=f"mail:{key}",
        ordering_key=ordering_key(ticket, "team"),
        ticket_id=ticket.id,
        event=f"{clock}_{kind}",
        audience="team",
    )
    if kind == "breach":
        _webhook(session, ticket, f"{clock}_breach", dedupe_key=f"webhook:{key}")
