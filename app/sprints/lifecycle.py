"""The sprint, sprint item and task state machines, defined once.

A sprint is planned, then active (start freezes its committed scope), then closed (unfinished
items carried over, velocity and predictability stored). An item in a sprint is planned, in
progress, done, then released; a task is to do, doing, then done (and may be reopened). Every
change of state anywhere goes through ``transition_for`` of its machine (``app.core.lifecycle``).
"""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from app.core.lifecycle import StateMachine, Transition
from app.core.lifecycle import transition as _t


class Party(StrEnum):
    """Who acts: the product owner of the sprint's scope, or the system (jobs, demo)."""

    PRODUCT_OWNER = "product_owner"
    SYSTEM = "system"


P, S = Party.PRODUCT_OWNER, Party.SYSTEM


class SprintStatus(StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    CLOSED = "closed"


class SprintAction(StrEnum):
    START = "start"
    CLOSE = "close"


SPRINT_TRANSITIONS: tuple[Transition, ...] = (
    _t(SprintAction.START, {SprintStatus.PLANNED}, SprintStatus.ACTIVE, P, S),
    _t(SprintAction.CLOSE, {SprintStatus.ACTIVE}, SprintStatus.CLOSED, P, S),
)
SPRINT = StateMachine(
    _l("sprint"),
    SPRINT_TRANSITIONS,
    states={
        SprintStatus.PLANNED: _l("planned"),
        SprintStatus.ACTIVE: _l("active"),
        SprintStatus.CLOSED: _l("closed"),
    },
)


class ItemStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    RELEASED = "released"


# what still has to be delivered, and what counts as delivered (velocity)
UNFINISHED = frozenset({ItemStatus.PLANNED, ItemStatus.IN_PROGRESS})
FINISHED = frozenset({ItemStatus.DONE, ItemStatus.RELEASED})


class ItemAction(StrEnum):
    START = "start"
    DONE = "done"
    RELEASE = "release"


ITEM_TRANSITIONS: tuple[Transition, ...] = (
    _t(ItemAction.START, {ItemStatus.PLANNED}, ItemStatus.IN_PROGRESS, P, S),
    # finishing a planned item passes through "in progress" (the request's machine wants it)
    _t(ItemAction.DONE, {ItemStatus.PLANNED, ItemStatus.IN_PROGRESS}, ItemStatus.DONE, P, S),
    _t(ItemAction.RELEASE, {ItemStatus.DONE}, ItemStatus.RELEASED, P, S),
)
ITEM = StateMachine(
    _l("sprint item"),
    ITEM_TRANSITIONS,
    states={
        ItemStatus.PLANNED: _l("planned"),
        ItemStatus.IN_PROGRESS: _l("in progress"),
        ItemStatus.DONE: _l("done"),
        ItemStatus.RELEASED: _l("released"),
    },
)


class TaskStatus(StrEnum):
    TODO = "todo"
    DOING = "doing"
    DONE = "done"


class TaskAction(StrEnum):
    START = "start"
    FINISH = "finish"
    REOPEN = "reopen"


TASK_TRANSITIONS: tuple[Transition, ...] = (
    _t(TaskAction.START, {TaskStatus.TODO}, TaskStatus.DOING, P, S),
    _t(TaskAction.FINISH, {TaskStatus.TODO, TaskStatus.DOING}, TaskStatus.DONE, P, S),
    _t(TaskAction.REOPEN, {TaskStatus.DONE}, TaskStatus.DOING, P, S),
)
TASK = StateMachine(
    _l("task"),
    TASK_TRANSITIONS,
    states={
        TaskStatus.TODO: _l("todo"),
        TaskStatus.DOING: _l("doing"),
        TaskStatus.DONE: _l("done"),
    },
)


class CarryOver(StrEnum):
    """Where a closing sprint sends its unfinished items."""

    NEXT = "next"
    BACKLOG = "backlog"
