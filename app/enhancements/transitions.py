"""Taking an action on an enhancement request: the state machine decides, this module does it.

Every state change (review, the committee's decision, planning, delivery, release, withdrawal)
stamps its time, records the decision when there is one, and writes the audit event in the
caller's transaction; a decision is added to the decision log; the requester (and, for a
decision or a release, the voters) are notified through the outbox. Sprints move their items
through here too.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.core import audit
from app.core.clock import utcnow
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.permissions import Permission, can
from app.enhancements import notifications
from app.enhancements.lifecycle import DECISIONS, Action, Party, Status, transition_for
from app.enhancements.models import Enhancement, EnhancementDecision
from app.identity.models import User

ENTITY = "enhancement"
# the timestamp each action sets (kept the first time, except the latest decision)
STAMPS = {
    Action.REVIEW: "review_started_at",
    Action.APPROVE: "approved_at",
    Action.PLAN: "planned_at",
    Action.START: "started_at",
    Action.DONE: "done_at",
    Action.RELEASE: "released_at",
    Action.WITHDRAW: "withdrawn_at",
}
RATIONALE_MAX = 5000


def parties(actor: User | None, enhancement: Enhancement) -> set[Party]:
    """The roles ``actor`` plays on this request, for the state machine."""
    if actor is None:
        return {Party.SYSTEM}
    found: set[Party] = set()
    if enhancement.requester_id == actor.id:
        found.add(Party.REQUESTER)
    if can(actor, Permission.ENHANCEMENT_QUALIFY, enhancement.module_id):
        found.add(Party.PRODUCT_OWNER)
    if can(actor, Permission.ENHANCEMENT_DECIDE):
        found.add(Party.COMMITTEE)
    return found


def perform(
    session: Session,
    actor: User | None,
    enhancement: Enhancement,
    action: str,
    *,
    rationale: str | None = None,
    **context: Any,
) -> Enhancement:
    """Apply ``action`` for ``actor`` (None = the system); 409 with the allowed ones if refused.

    A decision (approve, reject, defer) needs a ``rationale``; it is stored with who decided
    and when. Someone who plays no part in the request is refused with 403.
    """
    who = parties(actor, enhancement)
    if not who:
        raise PermissionDenied(_l("You take no part in this request."))
    transition = transition_for(enhancement.status, action, who)
    now = utcnow()
    changes: dict[str, list[Any]] = {"status": [enhancement.status, transition.target.value]}
    if transition.action in DECISIONS:
        text = (rationale or "").strip()
        if not text:
            raise ValidationFailed(
                _l("A decision needs its rationale."),
                errors={"rationale": [_l("Say why, for the requester and the decision log.")]},
            )
        if len(text) > RATIONALE_MAX:
            raise ValidationFailed(
                _l("The rationale is too long."),
                errors={
                    "rationale": [
                        _l("At most %(rationale_max)s characters.", rationale_max=RATIONALE_MAX)
                    ]
                },
            )
        changes |= audit.apply_changes(
            enhancement,
            {
                "decision": DECISIONS[transition.action],
                "decision_rationale": text,
                "decided_by_id": actor.id if actor else None,
                "decided_at": now,
            },
        )
        session.add(
            EnhancementDecision(
                enhancement_id=enhancement.id,
                module_id=enhancement.module_id,
                decision=DECISIONS[transition.action],
                rationale=text,
                decided_by_id=actor.id if actor else None,
                decided_at=now,
            )
        )
    stamp = STAMPS.get(transition.action)
    if stamp and getattr(enhancement, stamp) is None:
        setattr(enhancement, stamp, now)
    enhancement.status = transition.target.value
    enhancement.updated_at = now
    session.flush()
    audit.record(
        session, actor, ENTITY, enhancement.ref, transition.action.value, changes, **context
    )
    notifications.after_transition(
        session, enhancement, transition.action, actor_id=actor.id if actor else None
    )
    return enhancement


def is_decided(enhancement: Enhancement) -> bool:
    """Decided and not reconsidered since (a deferred request is decided until reconsidered)."""
    return enhancement.status not in (Status.SUBMITTED, Status.UNDER_REVIEW)
