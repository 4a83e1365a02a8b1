"""The enhancement request state machine, defined once: states, actions, who takes them.

submitted -> under_review (review) -> approved / rejected / deferred (the committee's
decision) -> planned (in a sprint) -> in_progress -> done -> released. A deferred request can
come back under review (reconsider); the requester may withdraw theirs before a decision; a
planned or started request carried back to the backlog is approved again (unplan). Every
transition anywhere (API, pages, sprints, jobs) goes through ``transition_for``; a forbidden
one raises ``InvalidTransition`` listing the actions allowed from the current state (the
mechanism is ``app.core.lifecycle``).
"""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from app.core.lifecycle import StateMachine, Transition
from app.core.lifecycle import transition as _t


class Status(StrEnum):
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    DEFERRED = "deferred"
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    RELEASED = "released"
    WITHDRAWN = "withdrawn"


# waiting for the committee; then in the backlog (approved and not yet planned); then delivery
AWAITING_DECISION = frozenset({Status.SUBMITTED, Status.UNDER_REVIEW})
DELIVERY = frozenset({Status.PLANNED, Status.IN_PROGRESS, Status.DONE})
CLOSED = frozenset({Status.REJECTED, Status.RELEASED, Status.WITHDRAWN})


class Action(StrEnum):
    REVIEW = "review"
    APPROVE = "approve"
    REJECT = "reject"
    DEFER = "defer"
    RECONSIDER = "reconsider"
    WITHDRAW = "withdraw"
    PLAN = "plan"
    UNPLAN = "unplan"
    START = "start"
    DONE = "done"
    RELEASE = "release"


DECISIONS = {Action.APPROVE: "approve", Action.REJECT: "reject", Action.DEFER: "defer"}


class Party(StrEnum):
    """Who acts: the requester, the module's product owner, the committee, or the system."""

    REQUESTER = "requester"
    PRODUCT_OWNER = "product_owner"
    COMMITTEE = "committee"
    SYSTEM = "system"


R, P, C, S = Party.REQUESTER, Party.PRODUCT_OWNER, Party.COMMITTEE, Party.SYSTEM
TRANSITIONS: tuple[Transition, ...] = (
    _t(Action.REVIEW, {Status.SUBMITTED}, Status.UNDER_REVIEW, P),
    _t(Action.APPROVE, {Status.UNDER_REVIEW}, Status.APPROVED, C),
    _t(Action.REJECT, {Status.UNDER_REVIEW}, Status.REJECTED, C),
    _t(Action.DEFER, {Status.UNDER_REVIEW}, Status.DEFERRED, C),
    _t(Action.RECONSIDER, {Status.DEFERRED}, Status.UNDER_REVIEW, P, C),
    _t(Action.WITHDRAW, {Status.SUBMITTED, Status.UNDER_REVIEW}, Status.WITHDRAWN, R),
    _t(Action.PLAN, {Status.APPROVED}, Status.PLANNED, P, S),
    _t(Action.UNPLAN, {Status.PLANNED, Status.IN_PROGRESS}, Status.APPROVED, P, S),
    _t(Action.START, {Status.PLANNED}, Status.IN_PROGRESS, P, S),
    _t(Action.DONE, {Status.IN_PROGRESS}, Status.DONE, P, S),
    _t(Action.RELEASE, {Status.DONE}, Status.RELEASED, P, S),
)


MACHINE = StateMachine(
    _l("request"),
    TRANSITIONS,
    states={
        Status.SUBMITTED: _l("submitted"),
        Status.UNDER_REVIEW: _l("under review"),
        Status.APPROVED: _l("approved"),
        Status.REJECTED: _l("rejected"),
        Status.DEFERRED: _l("deferred"),
        Status.PLANNED: _l("planned"),
        Status.IN_PROGRESS: _l("in progress"),
        Status.DONE: _l("done"),
        Status.RELEASED: _l("released"),
        Status.WITHDRAWN: _l("withdrawn"),
    },
)


def allowed_actions(status: str, parties: set[Party] | frozenset[Party]) -> list[str]:
    """The actions any of ``parties`` may take from ``status``, sorted."""
    return MACHINE.allowed(status, parties)


def transition_for(status: str, action: str, parties: set[Party] | frozenset[Party]) -> Transition:
    """The transition ``action`` from ``status`` for ``parties``, or ``InvalidTransition``."""
    return MACHINE.transition_for(status, action, parties)
