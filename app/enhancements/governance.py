"""The product owner's and the committee's work on requests: actions, qualification (WSJF),
decisions and the hand-made rank in the backlog; and what each caller may do now.

Every change goes through ``transitions.perform`` (state changes, decisions) or is audited here
with its before and after, in the caller's transaction.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core import audit
from app.core.clock import utcnow
from app.core.errors import Conflict, PermissionDenied, ValidationFailed
from app.core.permissions import Permission, can, require
from app.enhancements import service
from app.enhancements.lifecycle import (
    DECISIONS,
    TRANSITIONS,
    Action,
    Party,
    Status,
    allowed_actions,
)
from app.enhancements.models import Enhancement
from app.enhancements.transitions import parties, perform
from app.identity.models import User

ENTITY = service.ENTITY
# the modified Fibonacci scale of the three parts of the cost of delay
SCALE = (1, 2, 3, 5, 8, 13, 20)
JOB_SIZE_MAX = 1000
# the actions of the transitions endpoint (decisions have their own, with a rationale;
# planning belongs to sprints)
ENDPOINT_ACTIONS = (
    Action.REVIEW,
    Action.START,
    Action.DONE,
    Action.RELEASE,
    Action.WITHDRAW,
    Action.RECONSIDER,
)
DECISION_ACTIONS = {name: action for action, name in DECISIONS.items()}
# what else a caller may do, named in ``allowed_actions`` beside the state machine's actions
EDIT, VOTE, UNVOTE, COMMENT, NOTE = "edit", "vote", "unvote", "comment", "note"
QUALIFY, RANK = "qualify", "rank"


def _may_ever(action: str, who: set[Party]) -> bool:
    """Whether any of ``who`` takes ``action`` from some state (else it is not theirs: 403)."""
    return any(t.action == action and t.parties & who for t in TRANSITIONS)


def act(session: Session, actor: User, enhancement: Enhancement, action: str) -> Enhancement:
    """Take a lifecycle action: 403 if it is never the caller's, 409 with ``allowed`` if not
    now."""
    if action not in {a.value for a in ENDPOINT_ACTIONS}:
        raise ValidationFailed(
            _l("Unknown action."),
            errors={
                "action": [
                    _l("One of: %(value)s.", value=", ".join(a.value for a in ENDPOINT_ACTIONS))
                ]
            },
        )
    who = parties(actor, enhancement)
    if not _may_ever(action, who):
        raise PermissionDenied(
            _l("Your role does not allow you to %(action)s a request.", action=action)
        )
    return perform(session, actor, enhancement, action)


# --- qualification ---------------------------------------------------------------------------


def wsjf_of(value: int, criticality: int, risk: int, size: int) -> Decimal:
    """Weighted shortest job first: the cost of delay over the job size, to 2 decimals."""
    cost_of_delay = Decimal(value + criticality + risk)
    return (cost_of_delay / Decimal(size)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _scores(values: dict[str, Any]) -> dict[str, int]:
    errors: dict[str, list[str]] = {}
    clean: dict[str, int] = {}
    for name in ("business_value", "time_criticality", "risk_reduction"):
        score = values.get(name)
        if isinstance(score, bool) or score not in SCALE:
            errors[name] = [_l("One of %(value)s.", value=", ".join(str(s) for s in SCALE))]
        else:
            clean[name] = int(score)
    size = values.get("job_size")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= JOB_SIZE_MAX:
        errors["job_size"] = [
            _l("A whole number of points from 1 to %(job_size_max)s.", job_size_max=JOB_SIZE_MAX)
        ]
    else:
        clean["job_size"] = size
    if errors:
        raise ValidationFailed(_l("The qualification is not valid."), errors=errors)
    return clean


def qualify(
    session: Session,
    actor: User,
    enhancement: Enhancement,
    *,
    business_value: int,
    time_criticality: int,
    risk_reduction: int,
    job_size: int,
) -> Enhancement:
    """The module's product owner scores the request under review; WSJF is computed.

    Scoring again is allowed while it is under review, audited with the old and new scores.
    """
    require(actor, Permission.ENHANCEMENT_QUALIFY, enhancement.module_id)
    if enhancement.status != Status.UNDER_REVIEW:
        raise Conflict(
            _l("A request is qualified while it is under review."),
            current_status=enhancement.status,
            allowed=allowed_actions(enhancement.status, parties(actor, enhancement)),
        )
    scores = _scores(
        {
            "business_value": business_value,
            "time_criticality": time_criticality,
            "risk_reduction": risk_reduction,
            "job_size": job_size,
        }
    )
    again = enhancement.qualified_at is not None
    scores_wsjf: dict[str, Any] = dict(scores)
    scores_wsjf["wsjf"] = wsjf_of(
        scores["business_value"],
        scores["time_criticality"],
        scores["risk_reduction"],
        scores["job_size"],
    )
    changes = audit.apply_changes(enhancement, scores_wsjf)
    now = utcnow()
    enhancement.qualified_at = now
    enhancement.updated_at = now
    session.flush()
    audit.record(
        session, actor, ENTITY, enhancement.ref, "requalified" if again else "qualified", changes
    )
    return enhancement


# --- decisions -------------------------------------------------------------------------------


def decide(
    session: Session, actor: User, enhancement: Enhancement, *, decision: str, rationale: str
) -> Enhancement:
    """The committee approves, rejects or defers a request under review, saying why."""
    require(actor, Permission.ENHANCEMENT_DECIDE)
    action = DECISION_ACTIONS.get(decision)
    if action is None:
        raise ValidationFailed(
            _l("Unknown decision."), errors={"decision": [_l("One of: approve, reject, defer.")]}
        )
    return perform(session, actor, enhancement, action.value, rationale=rationale)


# --- the backlog's hand-made order -----------------------------------------------------------


def _module_backlog(session: Session, module_id: int) -> list[Enhancement]:
    """The approved requests of a module in backlog order: by hand first, then by WSJF."""
    return list(
        session.scalars(
            select(Enhancement)
            .where(Enhancement.status == Status.APPROVED, Enhancement.module_id == module_id)
            .order_by(
                func.coalesce(Enhancement.manual_rank, 2**31 - 1),
                func.coalesce(Enhancement.wsjf, -1).desc(),
                Enhancement.id,
            )
        )
    )


def move(session: Session, actor: User, enhancement: Enhancement, position: int) -> Enhancement:
    """Put an approved request at ``position`` (1 = top) of its module's backlog, by hand.

    The module's backlog takes the order shown, numbered from 1, so the hand-made order holds
    from then on; requests approved later come after it, by WSJF. The move is audited.
    """
    require(actor, Permission.ENHANCEMENT_QUALIFY, enhancement.module_id)
    if enhancement.status != Status.APPROVED:
        raise Conflict(
            _l("Only approved requests waiting in the backlog are ranked."),
            current_status=enhancement.status,
            allowed=allowed_actions(enhancement.status, parties(actor, enhancement)),
        )
    if isinstance(position, bool) or not isinstance(position, int) or position < 1:
        raise ValidationFailed(_l("Invalid position."), errors={"position": [_l("1 is the top.")]})
    order = [e for e in _module_backlog(session, enhancement.module_id) if e.id != enhancement.id]
    before = enhancement.manual_rank
    order.insert(min(position, len(order) + 1) - 1, enhancement)
    now = utcnow()
    for rank, item in enumerate(order, start=1):
        if item.manual_rank != rank:
            item.manual_rank = rank
            item.updated_at = now
    session.flush()
    audit.record(
        session,
        actor,
        ENTITY,
        enhancement.ref,
        "ranked",
        {"manual_rank": [before, enhancement.manual_rank]},
    )
    return enhancement


def reset_ranks(session: Session, actor: User, module_id: int) -> int:
    """Forget the hand-made order of a module's backlog: WSJF decides again."""
    require(actor, Permission.ENHANCEMENT_QUALIFY, module_id)
    count = 0
    for item in _module_backlog(session, module_id):
        if item.manual_rank is not None:
            before, item.manual_rank = item.manual_rank, None
            item.updated_at = utcnow()
            session.flush()
            audit.record(
                session, actor, ENTITY, item.ref, "ranked", {"manual_rank": [before, None]}
            )
            count += 1
    return count


# --- what the caller may do now --------------------------------------------------------------


def actions_for(actor: User, enhancement: Enhancement, *, voted: bool) -> list[str]:
    """Everything ``actor`` may do with the request now: the state machine's actions, and
    editing, voting, commenting, qualifying and ranking."""
    who = parties(actor, enhancement)
    found = set(allowed_actions(enhancement.status, who))
    if service.editable_fields(actor, enhancement):
        found.add(EDIT)
    if service.may_vote(actor, enhancement):
        found.add(UNVOTE if voted else VOTE)
    open_to_comments = enhancement.status != Status.WITHDRAWN
    if open_to_comments and can(actor, Permission.ENHANCEMENT_CONVERSE):
        found.add(COMMENT)
    if open_to_comments and can(actor, Permission.ENHANCEMENT_NOTE_INTERNAL, enhancement.module_id):
        found.add(NOTE)
    product_owner = service.is_product_owner(actor, enhancement)
    if product_owner and enhancement.status == Status.UNDER_REVIEW:
        found.add(QUALIFY)
    if product_owner and enhancement.status == Status.APPROVED:
        found.add(RANK)
    return sorted(found)
