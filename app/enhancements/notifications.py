"""Who hears about what happens to an enhancement request. Only decides and enqueues (through
the outbox, in the change's transaction); ``jobs.py`` does the sending, retried with backoff.

The requester hears of every change of status made by someone else (review, the committee's
decision with its rationale, planning, delivery, release); the voters hear of the decision and
of the release. The messages of one request to one audience share an ordering key, so they
arrive in the order they were written.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.core.outbox import enqueue
from app.enhancements.lifecycle import DECISIONS, Action
from app.enhancements.models import Enhancement

EMAIL_JOB = "app.enhancements.jobs.send_enhancement_email"
REQUESTER, VOTERS = "requester", "voters"


def _email(session: Session, enhancement: Enhancement, event: str, audience: str) -> None:
    enqueue(
        session,
        EMAIL_JOB,
        ordering_key=f"enhancement:{enhancement.id}:{audience}",
        enhancement_id=enhancement.id,
        event=event,
        audience=audience,
    )


def after_transition(
    session: Session, enhancement: Enhancement, action: Action, *, actor_id: int | None
) -> None:
    """Tell the requester (unless they acted themself) and, for decisions and releases, the
    voters (who learn of it once, each, in one message per audience)."""
    if actor_id != enhancement.requester_id:
        _email(session, enhancement, action.value, REQUESTER)
    if (action in DECISIONS or action == Action.RELEASE) and enhancement.vote_count:
        _email(session, enhancement, action.value, VOTERS)
