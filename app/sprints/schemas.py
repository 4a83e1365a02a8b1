"""Shapes of sprints, items, tasks, the burndown, the critical path and release notes in the
API (with OpenAPI examples), and the functions that turn models into those shapes."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from app.core.permissions import Permission, can
from app.core.schemas import PageArgs
from app.sprints import service
from app.sprints.lifecycle import (
    CarryOver,
    ItemAction,
    ItemStatus,
    SprintStatus,
    TaskAction,
    TaskStatus,
)
from app.sprints.models import BurndownPoint, ReleaseNote, Sprint, SprintItem, Task
from app.sprints.releases import plain_words
from app.sprints.tasks import TITLE_MAX, CriticalPath, is_oversized

Name = validate.Length(min=1, max=service.NAME_MAX)
Goal = validate.Length(max=service.GOAL_MAX)
Capacity = validate.Range(min=1, max=service.MAX_CAPACITY)
Points = validate.Range(min=1, max=service.MAX_POINTS)
Estimate = validate.Range(min=0, min_inclusive=False, max=100)
TaskIds = fields.List(
    fields.Int(validate=validate.Range(min=1, max=2**31 - 1)),
    validate=validate.Length(max=50),
    metadata={"description": "ids of tasks of the same sprint this one waits for"},
)


# --- input ------------------------------------------------------------------------------------


class SprintCreateSchema(Schema):
    name = fields.Str(required=True, validate=Name)
    goal = fields.Str(load_default="", validate=Goal)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    capacity_points = fields.Int(required=True, validate=Capacity)
    module = fields.Str(
        allow_none=True,
        validate=validate.Length(max=16),
        metadata={"description": "module code; none: a team sprint across modules"},
    )

    class Meta:
        example = {
            "name": "Sprint 14",
            "goal": "Faster month-end closing",
            "start_date": "2026-03-02",
            "end_date": "2026-03-13",
            "capacity_points": 30,
            "module": "FIN",
        }


class SprintPatchSchema(Schema):
    name = fields.Str(validate=Name)
    goal = fields.Str(validate=Goal)
    start_date = fields.Date()
    end_date = fields.Date()
    capacity_points = fields.Int(validate=Capacity)


class SprintListArgs(PageArgs):
    status = fields.Str(validate=validate.OneOf([s.value for s in SprintStatus]))
    module = fields.Str(validate=validate.Length(max=16), metadata={"description": "module code"})


class ItemCreateSchema(Schema):
    ref = fields.Str(
        required=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "an approved ENH- request or an INC- ticket needing a fix"},
    )
    points = fields.Int(required=True, validate=Points)

    class Meta:
        example = {"ref": "ENH-000001", "points": 5}


class ItemTransitionSchema(Schema):
    action = fields.Str(required=True, validate=validate.OneOf([a.value for a in ItemAction]))


class CloseSchema(Schema):
    carry_over = fields.Str(required=True, validate=validate.OneOf([c.value for c in CarryOver]))


class TaskCreateSchema(Schema):
    title = fields.Str(required=True, validate=validate.Length(min=1, max=TITLE_MAX))
    owner = fields.Str(
        allow_none=True, validate=validate.Length(max=320), metadata={"description": "email"}
    )
    estimate_days = fields.Float(required=True, validate=Estimate)
    blocked_by = TaskIds

    class Meta:
        example = {"title": "Write the posting rule", "owner": None, "estimate_days": 2}


class TaskPatchSchema(Schema):
    title = fields.Str(validate=validate.Length(min=1, max=TITLE_MAX))
    owner = fields.Str(allow_none=True, validate=validate.Length(max=320))
    estimate_days = fields.Float(validate=Estimate)
    blocked_by = TaskIds


class TaskTransitionSchema(Schema):
    action = fields.Str(required=True, validate=validate.OneOf([a.value for a in TaskAction]))


class ReleaseNotesArgs(PageArgs):
    sprint = fields.Int(validate=validate.Range(min=1, max=2**31 - 1))
    module = fields.Str(validate=validate.Length(max=16), metadata={"description": "module code"})


# --- output -----------------------------------------------------------------------------------


class OwnerSchema(Schema):
    email = fields.Str(metadata={"description": "shown to those who may view users"})
    name = fields.Str()


class SprintSchema(Schema):
    id = fields.Int()
    name = fields.Str()
    goal = fields.Str()
    start_date = fields.Date()
    end_date = fields.Date()
    capacity_points = fields.Int()
    module = fields.Str(allow_none=True)
    module_name = fields.Str(allow_none=True)
    status = fields.Str(metadata={"enum": [s.value for s in SprintStatus]})
    committed_points = fields.Int(
        metadata={"description": "frozen at start; before, what is planned"}
    )
    committed_items = fields.Int()
    scope_points = fields.Int(metadata={"description": "points of the items in it now"})
    done_points = fields.Int()
    remaining_points = fields.Int()
    added_points = fields.Int(metadata={"description": "scope added after start"})
    added_items = fields.Int()
    removed_points = fields.Int(metadata={"description": "scope removed after start"})
    removed_items = fields.Int()
    velocity = fields.Int(metadata={"description": "done points (stored at close)"})
    predictability = fields.Float(metadata={"description": "done / committed; 0 if none done"})
    over_committed = fields.Bool()
    carry_over = fields.Str(allow_none=True)
    carried_points = fields.Int()
    carried_items = fields.Int()
    allowed_actions = fields.List(fields.Str())
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    version = fields.Int()


class SprintPage(Schema):
    items = fields.List(fields.Nested(SprintSchema))
    next_cursor = fields.Str(allow_none=True)


class SprintItemSchema(Schema):
    id = fields.Int()
    sprint = fields.Int()
    ref = fields.Str(metadata={"example": "ENH-000001"})
    kind = fields.Str(metadata={"enum": ["enhancement", "ticket"]})
    title = fields.Str()
    module = fields.Str()
    points = fields.Int()
    status = fields.Str(metadata={"enum": [s.value for s in ItemStatus]})
    request_status = fields.Str(allow_none=True, metadata={"description": "of an ENH- request"})
    committed = fields.Bool()
    added_after_start = fields.Bool()
    removed_after_start = fields.Bool()
    removed_at = fields.DateTime(allow_none=True)
    carried_over = fields.Str(allow_none=True)
    tasks = fields.Int(metadata={"description": "how many tasks"})
    over_committed = fields.Bool(metadata={"description": "the sprint is over its capacity"})
    allowed_actions = fields.List(fields.Str())
    added_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    done_at = fields.DateTime(allow_none=True)
    released_at = fields.DateTime(allow_none=True)


class ItemPage(Schema):
    items = fields.List(fields.Nested(SprintItemSchema))
    next_cursor = fields.Str(allow_none=True)


class TaskSchema(Schema):
    id = fields.Int()
    sprint = fields.Int()
    item = fields.Int()
    item_ref = fields.Str()
    title = fields.Str()
    owner = fields.Nested(OwnerSchema, allow_none=True)
    estimate_days = fields.Float()
    oversized = fields.Bool(metadata={"description": "estimated over 3 days: split it"})
    status = fields.Str(metadata={"enum": [s.value for s in TaskStatus]})
    blocked_by = fields.List(fields.Int())
    blocked = fields.Bool(metadata={"description": "waits for a task not done yet"})
    allowed_actions = fields.List(fields.Str())
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    done_at = fields.DateTime(allow_none=True)
    version = fields.Int()


class TaskPage(Schema):
    items = fields.List(fields.Nested(TaskSchema))
    next_cursor = fields.Str(allow_none=True)


class BurndownPointSchema(Schema):
    date = fields.Date()
    remaining = fields.Int()
    done = fields.Int()
    scope = fields.Int()


class BurndownSchema(Schema):
    sprint = fields.Int()
    committed_points = fields.Int()
    points = fields.List(fields.Nested(BurndownPointSchema))


class CriticalPathSchema(Schema):
    tasks = fields.List(fields.Nested(TaskSchema))
    remaining_days = fields.Float()
    working_days_left = fields.Int(metadata={"description": "Monday to Friday, today included"})
    fits = fields.Bool()


class ReleaseNoteItemSchema(Schema):
    ref = fields.Str()
    title = fields.Str()
    summary = fields.Str()


class ReleaseNoteSchema(Schema):
    id = fields.Int()
    sprint = fields.Int()
    sprint_name = fields.Str()
    module = fields.Str()
    module_name = fields.Str()
    title = fields.Str()
    body = fields.Str()
    released_at = fields.DateTime()
    items = fields.List(fields.Nested(ReleaseNoteItemSchema))


class ReleaseNotePage(Schema):
    items = fields.List(fields.Nested(ReleaseNoteSchema))
    next_cursor = fields.Str(allow_none=True)


class ReleaseResultSchema(Schema):
    notes = fields.List(fields.Nested(ReleaseNoteSchema))


# --- models to answers ------------------------------------------------------------------------


def person(user, viewer) -> dict | None:
    if user is None:
        return None
    if user.id == viewer.id or can(viewer, Permission.USER_VIEW):
        return {"email": user.email, "name": user.name}
    return {"name": user.name}


def sprint_to_dict(session, actor, sprint: Sprint, totals: service.Totals | None = None) -> dict:
    current = totals or service.totals(session, sprint)
    started = sprint.status != SprintStatus.PLANNED
    committed = sprint.committed_points if started else current.scope
    done = sprint.velocity if sprint.status == SprintStatus.CLOSED else current.done
    return {
        "id": sprint.id,
        "name": sprint.name,
        "goal": sprint.goal,
        "start_date": sprint.start_date,
        "end_date": sprint.end_date,
        "capacity_points": sprint.capacity_points,
        "module": sprint.module.code if sprint.module else None,
        "module_name": sprint.module.name if sprint.module else None,
        "status": sprint.status,
        "committed_points": committed,
        "committed_items": sprint.committed_items if started else current.items,
        "scope_points": current.scope,
        "done_points": done,
        "remaining_points": current.remaining,
        "added_points": sprint.added_points,
        "added_items": sprint.added_items,
        "removed_points": sprint.removed_points,
        "removed_items": sprint.removed_items,
        "velocity": done,
        "predictability": float(
            sprint.predictability
            if sprint.predictability is not None
            else service.predictability_of(done, committed)
        ),
        "over_committed": current.scope > sprint.capacity_points,
        "carry_over": sprint.carry_over,
        "carried_points": sprint.carried_points,
        "carried_items": sprint.carried_items,
        "allowed_actions": service.sprint_actions(actor, sprint),
        "created_at": sprint.created_at,
        "started_at": sprint.started_at,
        "closed_at": sprint.closed_at,
        "version": sprint.version,
    }


def item_to_dict(actor, sprint: Sprint, item: SprintItem, over: bool | None = None) -> dict:
    return {
        "id": item.id,
        "sprint": item.sprint_id,
        "ref": item.ref,
        "kind": item.kind,
        "title": item.title,
        "module": item.module.code,
        "points": item.points,
        "status": item.status,
        "request_status": item.enhancement.status if item.kind == "enhancement" else None,
        "committed": item.committed,
        "added_after_start": item.added_after_start,
        "removed_after_start": item.removed_after_start,
        "removed_at": item.removed_at,
        "carried_over": item.carried_over,
        "tasks": len(item.tasks),
        "over_committed": bool(over),
        "allowed_actions": service.item_actions(actor, sprint, item),
        "added_at": item.added_at,
        "started_at": item.started_at,
        "done_at": item.done_at,
        "released_at": item.released_at,
    }


def task_to_dict(actor, sprint: Sprint, task: Task) -> dict:
    from app.sprints.lifecycle import TASK

    closed = sprint.status == SprintStatus.CLOSED
    return {
        "id": task.id,
        "sprint": task.sprint_id,
        "item": task.item_id,
        "item_ref": task.item.ref,
        "title": task.title,
        "owner": person(task.owner, actor),
        "estimate_days": float(task.estimate_days),
        "oversized": is_oversized(task),
        "status": task.status,
        "blocked_by": [t.id for t in task.blocked_by],
        "blocked": any(t.status != TaskStatus.DONE for t in task.blocked_by),
        "allowed_actions": []
        if closed
        else TASK.allowed(task.status, service.parties(actor, sprint)),
        "created_at": task.created_at,
        "started_at": task.started_at,
        "done_at": task.done_at,
        "version": task.version,
    }


def burndown_to_dict(sprint: Sprint, points: list[BurndownPoint]) -> dict:
    return {
        "sprint": sprint.id,
        "committed_points": sprint.committed_points,
        "points": [
            {"date": p.day, "remaining": p.remaining, "done": p.done, "scope": p.scope}
            for p in points
        ],
    }


def critical_path_to_dict(actor, sprint: Sprint, path: CriticalPath) -> dict:
    return {
        "tasks": [task_to_dict(actor, sprint, t) for t in path.tasks],
        "remaining_days": float(path.remaining_days),
        "working_days_left": path.working_days_left,
        "fits": path.fits,
    }


def note_to_dict(note: ReleaseNote) -> dict[str, Any]:
    return {
        "id": note.id,
        "sprint": note.sprint_id,
        "sprint_name": note.sprint.name,
        "module": note.module.code,
        "module_name": note.module.name,
        "title": note.title,
        "body": note.body,
        "released_at": note.released_at,
        "items": [{"ref": i.ref, "title": i.title, "summary": plain_words(i)} for i in note.items],
    }
