"""Enhancement work the workers run: the notification emails.

A job takes the job's session and plain arguments; it reads the request as it is when the
message is sent and mails the audience it was enqueued for.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.mail import send_email
from app.core.schedule import Periodic
from app.enhancements.models import Enhancement, EnhancementVote
from app.identity.models import User

PERIODIC: list[Periodic] = []

SUBJECTS = {
    "review": "{ref} is under review: {title}",
    "approve": "{ref} was approved: {title}",
    "reject": "{ref} was not approved: {title}",
    "defer": "{ref} was deferred: {title}",
    "reconsider": "{ref} is under review again: {title}",
    "plan": "{ref} is planned in a sprint: {title}",
    "unplan": "{ref} is back in the backlog: {title}",
    "start": "Work started on {ref}: {title}",
    "done": "{ref} is done: {title}",
    "release": "{ref} is released: {title}",
}
DECIDED = {"approve": "approved", "reject": "rejected", "defer": "deferred"}


def _url(enhancement: Enhancement) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/enhancements/{enhancement.ref}"


def _voters(session: Session, enhancement: Enhancement) -> list[str]:
    return list(
        session.scalars(
            select(User.email)
            .join(EnhancementVote, EnhancementVote.user_id == User.id)
            .where(EnhancementVote.enhancement_id == enhancement.id, User.active.is_(True))
            .order_by(User.email)
        )
    )


def _body(enhancement: Enhancement, event: str) -> str:
    lines = [
        f"{enhancement.ref} — {enhancement.title}",
        f"Module: {enhancement.module.name}   Status: {enhancement.status.replace('_', ' ')}",
        "",
    ]
    if event in DECIDED and enhancement.decision_rationale:
        lines += [f"The steering committee {DECIDED[event]} it:", enhancement.decision_rationale]
        lines += [""]
    if event == "release":
        lines += ["It is now available in the ERP.", ""]
    lines += [f"Open the request: {_url(enhancement)}"]
    return "\n".join(lines)


def send_enhancement_email(
    session: Session, *, enhancement_id: int, event: str, audience: str
) -> list[str]:
    """Email the requester or the voters about ``event``; returns the recipients."""
    enhancement = session.get(Enhancement, enhancement_id)
    if enhancement is None:
        return []
    if audience == "requester":
        requester = enhancement.requester
        recipients = [requester.email] if requester.active else []
    else:
        recipients = [e for e in _voters(session, enhancement) if e != enhancement.requester.email]
    subject = SUBJECTS.get(event, "{ref}: {title}").format(
        ref=enhancement.ref, title=enhancement.title
    )
    send_email(current_app.config, recipients, subject, _body(enhancement, event))
    return recipients
