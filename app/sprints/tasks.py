"""Tasks of sprint items, their dependencies, and the sprint's critical path.

A task estimated over ``GOOD_TASK_DAYS`` days is flagged (good practice: tasks of 1 to 3 days).
Dependencies (``blocked_by``) stay within one sprint and never form a cycle (422). The critical
path is the longest chain of remaining estimates through the dependencies (done tasks weigh
nothing); it fits when it is no longer than the working days left before the sprint ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from app.core import audit
from app.core.clock import utcnow
from app.core.edge import fits_db_id
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.identity.models import User
from app.sprints.lifecycle import TASK, SprintStatus, TaskAction, TaskStatus
from app.sprints.models import Sprint, SprintItem, Task
from app.sprints.service import parties, require_manage, working_days

TITLE_MAX = 200
GOOD_TASK_DAYS = Decimal(3)
MAX_ESTIMATE = Decimal(100)
MAX_DEPENDENCIES = 50


def is_oversized(task: Task) -> bool:
    """Estimated over 3 days: worth splitting."""
    return Decimal(task.estimate_days) > GOOD_TASK_DAYS


def tasks_of(session: Session, sprint: Sprint) -> list[Task]:
    stmt = select(Task).where(Task.sprint_id == sprint.id).order_by(Task.id)
    return list(session.scalars(stmt))


def get_task(session: Session, sprint: Sprint, task_id: int) -> Task:
    task = session.get(Task, task_id) if fits_db_id(task_id) else None
    if task is None or task.sprint_id != sprint.id:
        raise NotFound(_l("No task %(task_id)s in this sprint.", task_id=task_id))
    return task


def _estimate(value: Any) -> Decimal:
    try:
        days = Decimal(str(value)).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError, TypeError):
        days = Decimal(-1)
    if isinstance(value, bool) or not days.is_finite() or not 0 < days <= MAX_ESTIMATE:
        raise ValidationFailed(
            _l("An estimate is a number of days."),
            errors={
                "estimate_days": [
                    _l("More than 0, at most %(max_estimate)s.", max_estimate=MAX_ESTIMATE)
                ]
            },
        )
    return days


def _owner(session: Session, email: Any) -> User | None:
    if email in (None, ""):
        return None
    owner = (
        session.scalars(select(User).where(User.email == email.strip().lower())).first()
        if isinstance(email, str)
        else None
    )
    if owner is None or not owner.active:
        raise ValidationFailed(
            _l("No such person."), errors={"owner": [_l("The email of an active user.")]}
        )
    return owner


def _blockers(session: Session, sprint: Sprint, ids: Any) -> list[Task]:
    ids = list(dict.fromkeys(ids or []))
    if len(ids) > MAX_DEPENDENCIES:
        raise ValidationFailed(
            _l("Too many dependencies."),
            errors={
                "blocked_by": [
                    _l("At most %(max_dependencies)s.", max_dependencies=MAX_DEPENDENCIES)
                ]
            },
        )
    found = []
    for task_id in ids:
        task = (
            session.get(Task, task_id) if isinstance(task_id, int) and fits_db_id(task_id) else None
        )
        if task is None or task.sprint_id != sprint.id:
            raise ValidationFailed(
                _l("A task depends on tasks of the same sprint."),
                errors={"blocked_by": [_l("No task %(task_id)s in this sprint.", task_id=task_id)]},
            )
        found.append(task)
    return found


def _check_open(sprint: Sprint) -> None:
    if sprint.status == SprintStatus.CLOSED:
        raise Conflict(
            _l("A closed sprint is history; it does not change."), current_status="closed"
        )


def add_task(
    session: Session,
    actor: User,
    sprint: Sprint,
    item: SprintItem,
    *,
    title: str,
    estimate_days: Any,
    owner: str | None = None,
    blocked_by: list[int] | None = None,
) -> Task:
    """Break an item into a task; a new task cannot close a cycle (nothing depends on it yet)."""
    require_manage(actor, sprint.module_id)
    _check_open(sprint)
    if not item.in_scope:
        raise Conflict(_l("This item left the sprint."))
    title = (title or "").strip()
    if not title or len(title) > TITLE_MAX:
        raise ValidationFailed(
            _l("A task needs a title."),
            errors={"title": [_l("1 to %(title_max)s.", title_max=TITLE_MAX)]},
        )
    task = Task(
        sprint_id=sprint.id,
        item_id=item.id,
        title=title,
        estimate_days=_estimate(estimate_days),
        owner=_owner(session, owner),
        status=TaskStatus.TODO.value,
        created_at=utcnow(),
    )
    task.blocked_by = _blockers(session, sprint, blocked_by)
    session.add(task)
    session.flush()
    audit.record(
        session,
        actor,
        "sprint_task",
        task.id,
        "created",
        {
            "title": [None, title],
            "estimate_days": [None, str(task.estimate_days)],
            "blocked_by": [None, [t.id for t in task.blocked_by]],
        },
        sprint=sprint.id,
        item=item.ref,
    )
    return task


def _reaches(start: Task, goal: Task) -> bool:
    """Whether ``goal`` is among the tasks ``start`` waits for, directly or not."""
    seen, stack = set(), list(start.blocked_by)
    while stack:
        task = stack.pop()
        if task.id == goal.id:
            return True
        if task.id not in seen:
            seen.add(task.id)
            stack.extend(task.blocked_by)
    return False


def update_task(
    session: Session, actor: User, sprint: Sprint, task: Task, values: dict[str, Any]
) -> Task:
    """Change title, owner, estimate or dependencies; a dependency cycle is refused (422)."""
    require_manage(actor, sprint.module_id)
    _check_open(sprint)
    changes: dict[str, list[Any]] = {}
    if "title" in values:
        title = (values["title"] or "").strip()
        if not title or len(title) > TITLE_MAX:
            raise ValidationFailed(
                _l("A task needs a title."),
                errors={"title": [_l("1 to %(title_max)s.", title_max=TITLE_MAX)]},
            )
        changes |= audit.apply_changes(task, {"title": title})
    if "estimate_days" in values:
        changes |= audit.apply_changes(task, {"estimate_days": _estimate(values["estimate_days"])})
    if "owner" in values:
        owner = _owner(session, values["owner"])
        changes |= audit.apply_changes(task, {"owner_id": owner.id if owner else None})
    if "blocked_by" in values:
        blockers = _blockers(session, sprint, values["blocked_by"])
        for blocker in blockers:
            if blocker.id == task.id or _reaches(blocker, task):
                raise ValidationFailed(
                    _l("These dependencies would make a cycle."),
                    errors={
                        "blocked_by": [_l("Task %(id)s already waits for this one.", id=blocker.id)]
                    },
                )
        before = [t.id for t in task.blocked_by]
        task.blocked_by = blockers
        if before != [t.id for t in blockers]:
            changes["blocked_by"] = [before, [t.id for t in blockers]]
    if changes:
        # the dependencies live in their own table: touch the row so its version (ETag) moves
        task.updated_at = utcnow()
        flag_modified(task, "updated_at")
        session.flush()
        audit.record(session, actor, "sprint_task", task.id, "updated", changes, sprint=sprint.id)
    return task


def move_task(
    session: Session, actor: User | None, sprint: Sprint, task: Task, action: str
) -> Task:
    """Start, finish or reopen a task (409 with the allowed actions otherwise)."""
    who = parties(actor, sprint)
    if not who:
        require_manage(actor, sprint.module_id)
    _check_open(sprint)
    transition = TASK.transition_for(task.status, action, who)
    now = utcnow()
    before = task.status
    if transition.action == TaskAction.START or task.started_at is None:
        task.started_at = task.started_at or now
    task.done_at = now if transition.target == TaskStatus.DONE else None
    task.status = transition.target.value
    task.updated_at = now
    session.flush()
    audit.record(
        session,
        actor,
        "sprint_task",
        task.id,
        transition.action.value,
        {"status": [before, task.status]},
        sprint=sprint.id,
    )
    return task


def remaining_days(task: Task) -> Decimal:
    return Decimal(0) if task.status == TaskStatus.DONE else Decimal(task.estimate_days)


@dataclass
class CriticalPath:
    tasks: list[Task]
    remaining_days: Decimal
    working_days_left: int

    @property
    def fits(self) -> bool:
        return self.remaining_days <= self.working_days_left


def critical_path(session: Session, sprint: Sprint, today: date | None = None) -> CriticalPath:
    """The longest chain of remaining estimates through the dependencies of the sprint's
    tasks (those of items still in it), and the working days left to its end (today included).
    """
    today = today or utcnow().date()
    tasks = [t for t in tasks_of(session, sprint) if t.item.in_scope]
    by_id = {t.id: t for t in tasks}
    # longest[t] = the heaviest chain ending with t; dependencies were kept acyclic on write
    longest: dict[int, tuple[Decimal, list[int]]] = {}

    def chain(task: Task) -> tuple[Decimal, list[int]]:
        if task.id in longest:
            return longest[task.id]
        best: tuple[Decimal, list[int]] = (Decimal(0), [])
        for blocker in task.blocked_by:
            if blocker.id in by_id:
                candidate = chain(blocker)
                if candidate[0] > best[0]:
                    best = candidate
        found = (best[0] + remaining_days(task), [*best[1], task.id])
        longest[task.id] = found
        return found

    heaviest: tuple[Decimal, list[int]] = (Decimal(0), [])
    for task in tasks:
        candidate = chain(task)
        if candidate[0] > heaviest[0]:
            heaviest = candidate
    path = [by_id[i] for i in heaviest[1] if remaining_days(by_id[i]) > 0]
    left = 0
    if sprint.status != SprintStatus.CLOSED:
        left = working_days(max(today, sprint.start_date), sprint.end_date)
    return CriticalPath(tasks=path, remaining_days=heaviest[0], working_days_left=left)
