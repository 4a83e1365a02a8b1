"""The ticket state machine, defined once: states, actions, who may take them, and from where.

Every transition anywhere in Steward (API, pages, jobs) goes through ``transition_for``; a
forbidden one raises ``InvalidTransition`` listing the actions allowed from the current state
(the mechanism is ``app.core.lifecycle``).

One window for second thoughts: a resolved ticket closes by itself after
``TICKET_AUTO_CLOSE_DAYS``, and its requester (or an agent) may reopen it, resolved or already
closed, until ``TICKET_REOPEN_DAYS`` after its resolution (``transitions.can_reopen``). A ticket
closed without a resolution (a duplicate) is never reopened.
"""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from app.core.lifecycle import StateMachine, Transition
from app.core.lifecycle import transition as _t


class Status(StrEnum):
    NEW = "new"
    TRIAGED = "triaged"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting_on_requester"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


# the state in words, for messages written outside the pages (emails)
STATUS_NAMES = {
    Status.NEW: _l("new"),
    Status.TRIAGED: _l("triaged"),
    Status.IN_PROGRESS: _l("in progress"),
    Status.WAITING: _l("waiting on requester"),
    Status.RESOLVED: _l("resolved"),
    Status.CLOSED: _l("closed"),
    Status.CANCELLED: _l("cancelled"),
}

OPEN_STATUSES = frozenset({Status.NEW, Status.TRIAGED, Status.IN_PROGRESS, Status.WAITING})
FINAL_STATUSES = frozenset({Status.CLOSED, Status.CANCELLED})


class Action(StrEnum):
    TRIAGE = "triage"
    START = "start"
    WAIT = "wait"
    RESUME = "resume"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    CANCEL = "cancel"
    DUPLICATE = "duplicate"


class Party(StrEnum):
    """Who acts: the support team, the ticket's requester, or the system (periodic jobs)."""

    AGENT = "agent"
    REQUESTER = "requester"
    SYSTEM = "system"


A, R, S = Party.AGENT, Party.REQUESTER, Party.SYSTEM
TRANSITIONS: tuple[Transition, ...] = (
    _t(Action.TRIAGE, {Status.NEW}, Status.TRIAGED, A),
    _t(Action.START, {Status.NEW, Status.TRIAGED}, Status.IN_PROGRESS, A),
    _t(Action.WAIT, {Status.IN_PROGRESS}, Status.WAITING, A),
    _t(Action.RESUME, {Status.WAITING}, Status.IN_PROGRESS, A, R),
    _t(
        Action.RESOLVE,
        {Status.NEW, Status.TRIAGED, Status.IN_PROGRESS, Status.WAITING},
        Status.RESOLVED,
        A,
    ),
    _t(Action.CLOSE, {Status.RESOLVED}, Status.CLOSED, A, R, S),
    _t(Action.REOPEN, {Status.RESOLVED, Status.CLOSED}, Status.IN_PROGRESS, A, R),
    _t(Action.CANCEL, {Status.NEW, Status.TRIAGED}, Status.CANCELLED, A, R),
    _t(Action.CANCEL, {Status.IN_PROGRESS, Status.WAITING}, Status.CANCELLED, A),
    _t(Action.DUPLICATE, set(OPEN_STATUSES), Status.CLOSED, A),
)


MACHINE = StateMachine(_l("ticket"), TRANSITIONS, states=STATUS_NAMES)


def allowed_actions(
    status: str, parties: set[Party] | frozenset[Party], *, can_reopen: bool = True
) -> list[str]:
    """The actions any of ``parties`` may take from ``status``, sorted; without ``can_reopen``
    (the reopen window has passed, or the ticket was never resolved) no reopen."""
    return MACHINE.allowed(status, parties, without=() if can_reopen else (Action.REOPEN,))


def transition_for(status: str, action: str, parties: set[Party] | frozenset[Party]) -> Transition:
    """The transition ``action`` from ``status`` for ``parties``, or ``InvalidTransition``."""
    return MACHINE.transition_for(status, action, parties)
