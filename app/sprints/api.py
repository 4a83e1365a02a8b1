"""Sprints API: plan (items, capacity), start, move items and tasks, close, the burndown and
the critical path, releasing, and the release notes."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from sqlalchemy import select

from app.catalogue.service import module_ref_by_code
from app.core.db import db
from app.core.errors import ValidationFailed
from app.core.etag import check_if_match, etag_for
from app.core.pagination import SortKey, paginate
from app.core.permissions import Permission, guard_writes, require
from app.core.schemas import PageArgs
from app.identity.auth import current_actor
from app.sprints import releases, service, tasks
from app.sprints.models import Sprint, SprintItem, Task
from app.sprints.schemas import (
    BurndownSchema,
    CloseSchema,
    CriticalPathSchema,
    ItemCreateSchema,
    ItemPage,
    ItemTransitionSchema,
    ReleaseNotePage,
    ReleaseNotesArgs,
    ReleaseResultSchema,
    SprintCreateSchema,
    SprintItemSchema,
    SprintListArgs,
    SprintPage,
    SprintPatchSchema,
    SprintSchema,
    TaskCreateSchema,
    TaskPage,
    TaskPatchSchema,
    TaskSchema,
    TaskTransitionSchema,
    burndown_to_dict,
    critical_path_to_dict,
    item_to_dict,
    note_to_dict,
    sprint_to_dict,
    task_to_dict,
)

blp = Blueprint("sprints_api", __name__, description="Sprints, tasks and release notes")
guard_writes(blp, (Permission.SPRINT_MANAGE,))


def blueprints() -> list[Blueprint]:
    return [blp]


def sprint_etag(sprint: Sprint) -> str:
    return etag_for("sprint", sprint.id, sprint.version)


def task_etag(task: Task) -> str:
    return etag_for("task", task.id, task.version)


def _sprint_answer(sprint: Sprint, status: int = 200):
    return (
        sprint_to_dict(db.session, current_actor(), sprint),
        status,
        {"ETag": sprint_etag(sprint)},
    )


def _module_id(code: str | None, field: str = "module") -> int | None:
    if not code:
        return None
    ref = module_ref_by_code(db.session, code)
    if ref is None:
        raise ValidationFailed(_l("No such module."), errors={field: [_l("Unknown module code.")]})
    return ref.id


BY_ID_ITEM = [SortKey(SprintItem.id, lambda i: i.id)]
BY_ID_TASK = [SortKey(Task.id, lambda t: t.id)]


@blp.route("/sprints")
class Sprints(MethodView):
    @blp.arguments(SprintListArgs, location="query")
    @blp.response(200, SprintPage)
    def get(self, args: dict):
        """Sprints, the latest planned first; filter by status and module."""
        actor = current_actor()
        require(actor, Permission.SPRINT_VIEW)
        stmt = select(Sprint)
        if args.get("status"):
            stmt = stmt.where(Sprint.status == args["status"])
        if args.get("module"):
            stmt = stmt.where(Sprint.module_id == _module_id(args["module"]))
        page = paginate(db.session, stmt, service.SPRINT_ORDER, args["cursor"], args["limit"])
        items = [sprint_to_dict(db.session, actor, s) for s in page.items]
        return {"items": items, "next_cursor": page.next_cursor}

    @blp.arguments(SprintCreateSchema, example=SprintCreateSchema.Meta.example)
    @blp.response(201, SprintSchema)
    @blp.alt_response(409, description="Overlaps an open sprint of the same scope")
    def post(self, body: dict):
        """Plan a sprint (the product owner of its module; none: a team sprint)."""
        sprint = service.create_sprint(db.session, current_actor(), **body)
        db.session.commit()
        return _sprint_answer(sprint, 201)


@blp.route("/sprints/<int:sprint_id>")
class SprintResource(MethodView):
    @blp.response(200, SprintSchema)
    def get(self, sprint_id: int):
        """One sprint with its points, velocity and predictability."""
        return _sprint_answer(service.get_sprint(db.session, current_actor(), sprint_id))

    @blp.arguments(SprintPatchSchema)
    @blp.response(200, SprintSchema)
    def patch(self, body: dict, sprint_id: int):
        """Change name, goal, dates or capacity; needs If-Match (428 without, 412 if stale)."""
        actor = current_actor()
        sprint = service.get_sprint(db.session, actor, sprint_id)
        check_if_match(request.headers.get("If-Match"), sprint_etag(sprint))
        service.update_sprint(db.session, actor, sprint, body)
        db.session.commit()
        return _sprint_answer(sprint)


@blp.route("/sprints/<int:sprint_id>/start")
class SprintStart(MethodView):
    @blp.response(200, SprintSchema)
    @blp.alt_response(409, description="Not planned, or another sprint of its scope runs")
    def post(self, sprint_id: int):
        """Start the sprint: what it holds now is the committed scope."""
        actor = current_actor()
        sprint = service.get_sprint(db.session, actor, sprint_id, for_update=True)
        service.start_sprint(db.session, actor, sprint)
        db.session.commit()
        return _sprint_answer(sprint)


@blp.route("/sprints/<int:sprint_id>/close")
class SprintClose(MethodView):
    @blp.arguments(CloseSchema)
    @blp.response(200, SprintSchema)
    @blp.alt_response(409, description="Not running, or no next sprint to carry over to")
    def post(self, body: dict, sprint_id: int):
        """Close: velocity and predictability stored; unfinished items to the next sprint or
        back to the backlog."""
        actor = current_actor()
        sprint = service.get_sprint(db.session, actor, sprint_id, for_update=True)
        service.close_sprint(db.session, actor, sprint, carry_over=body["carry_over"])
        db.session.commit()
        return _sprint_answer(sprint)


@blp.route("/sprints/<int:sprint_id>/release")
class SprintRelease(MethodView):
    @blp.response(200, ReleaseResultSchema)
    @blp.alt_response(409, description="Nothing done to release")
    def post(self, sprint_id: int):
        """Release every done item: release notes per module, announced to requesters and
        voters (email) and the channel (webhook)."""
        actor = current_actor()
        sprint = service.get_sprint(db.session, actor, sprint_id, for_update=True)
        notes = releases.release_sprint(db.session, actor, sprint)
        db.session.commit()
        return {"notes": [note_to_dict(n) for n in notes]}


@blp.route("/sprints/<int:sprint_id>/items")
class SprintItems(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, ItemPage)
    def get(self, args: dict, sprint_id: int):
        """The sprint's items, removed and carried ones included (see their flags)."""
        actor = current_actor()
        sprint = service.get_sprint(db.session, actor, sprint_id)
        stmt = select(SprintItem).where(SprintItem.sprint_id == sprint.id)
        page = paginate(db.session, stmt, BY_ID_ITEM, args["cursor"], args["limit"])
        over = service.over_committed(db.session, sprint)
        items = [item_to_dict(actor, sprint, i, over) for i in page.items]
        return {"items": items, "next_cursor": page.next_cursor}

    @blp.arguments(ItemCreateSchema, example=ItemCreateSchema.Meta.example)
    @blp.response(201, SprintItemSchema)
    def post(self, body: dict, sprint_id: int):
        """Plan an approved request or a ticket needing a fix; `over_committed` warns when the
        sprint's points pass its capacity. After start, recorded as scope change."""
        actor = current_actor()
        sprint = service.get_sprint(db.session, actor, sprint_id, for_update=True)
        item = service.add_item(db.session, actor, sprint, **body)
        db.session.commit()
        over = service.over_committed(db.session, sprint)
        return item_to_dict(actor, sprint, item, over), 201, {"ETag": sprint_etag(sprint)}


def _item(sprint_id: int, item_id: int, *, for_update: bool = False):
    actor = current_actor()
    sprint = service.get_sprint(db.session, actor, sprint_id, for_update=for_update)
    return actor, sprint, service.get_item(db.session, sprint, item_id)


@blp.route("/sprints/<int:sprint_id>/items/<int:item_id>")
class SprintItemResource(MethodView):
    @blp.response(200, SprintItemSchema)
    def get(self, sprint_id: int, item_id: int):
        """One item of the sprint."""
        actor, sprint, item = _item(sprint_id, item_id)
        return item_to_dict(actor, sprint, item, service.over_committed(db.session, sprint))

    @blp.response(200, SprintItemSchema)
    def delete(self, sprint_id: int, item_id: int):
        """Take an unfinished item out (its request goes back to `approved`); after start,
        recorded as scope change. The item stays listed with `removed_at`."""
        actor, sprint, item = _item(sprint_id, item_id, for_update=True)
        service.remove_item(db.session, actor, sprint, item)
        db.session.commit()
        return item_to_dict(actor, sprint, item, service.over_committed(db.session, sprint))


@blp.route("/sprints/<int:sprint_id>/items/<int:item_id>/transitions")
class SprintItemTransitions(MethodView):
    @blp.arguments(ItemTransitionSchema)
    @blp.response(200, SprintItemSchema)
    @blp.alt_response(409, description="Not allowed now; the body lists `allowed` actions")
    def post(self, body: dict, sprint_id: int, item_id: int):
        """Start, finish (`done`) or `release` an item; releasing writes its release note."""
        actor, sprint, item = _item(sprint_id, item_id, for_update=True)
        if body["action"] == "release":
            releases.release_items(db.session, actor, sprint, [item])
        else:
            service.move_item(db.session, actor, sprint, item, body["action"])
        db.session.commit()
        return item_to_dict(actor, sprint, item, service.over_committed(db.session, sprint))


@blp.route("/sprints/<int:sprint_id>/items/<int:item_id>/tasks")
class ItemTasks(MethodView):
    @blp.arguments(TaskCreateSchema, example=TaskCreateSchema.Meta.example)
    @blp.response(201, TaskSchema)
    def post(self, body: dict, sprint_id: int, item_id: int):
        """Break the item into a task (over 3 days is flagged `oversized`)."""
        actor, sprint, item = _item(sprint_id, item_id)
        task = tasks.add_task(db.session, actor, sprint, item, **body)
        db.session.commit()
        return task_to_dict(actor, sprint, task), 201, {"ETag": task_etag(task)}


@blp.route("/sprints/<int:sprint_id>/tasks")
class SprintTasks(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, TaskPage)
    def get(self, args: dict, sprint_id: int):
        """Every task of the sprint."""
        actor = current_actor()
        sprint = service.get_sprint(db.session, actor, sprint_id)
        stmt = select(Task).where(Task.sprint_id == sprint.id)
        page = paginate(db.session, stmt, BY_ID_TASK, args["cursor"], args["limit"])
        items = [task_to_dict(actor, sprint, t) for t in page.items]
        return {"items": items, "next_cursor": page.next_cursor}


def _task(sprint_id: int, task_id: int):
    actor = current_actor()
    sprint = service.get_sprint(db.session, actor, sprint_id)
    return actor, sprint, tasks.get_task(db.session, sprint, task_id)


@blp.route("/sprints/<int:sprint_id>/tasks/<int:task_id>")
class SprintTask(MethodView):
    @blp.response(200, TaskSchema)
    def get(self, sprint_id: int, task_id: int):
        """One task."""
        actor, sprint, task = _task(sprint_id, task_id)
        return task_to_dict(actor, sprint, task), 200, {"ETag": task_etag(task)}

    @blp.arguments(TaskPatchSchema)
    @blp.response(200, TaskSchema)
    @blp.alt_response(422, description="A dependency cycle, or a task of another sprint")
    def patch(self, body: dict, sprint_id: int, task_id: int):
        """Change title, owner, estimate or `blocked_by`; needs If-Match."""
        actor, sprint, task = _task(sprint_id, task_id)
        check_if_match(request.headers.get("If-Match"), task_etag(task))
        tasks.update_task(db.session, actor, sprint, task, body)
        db.session.commit()
        return task_to_dict(actor, sprint, task), 200, {"ETag": task_etag(task)}


@blp.route("/sprints/<int:sprint_id>/tasks/<int:task_id>/transitions")
class SprintTaskTransitions(MethodView):
    @blp.arguments(TaskTransitionSchema)
    @blp.response(200, TaskSchema)
    @blp.alt_response(409, description="Not allowed now; the body lists `allowed` actions")
    def post(self, body: dict, sprint_id: int, task_id: int):
        """Start, finish or reopen a task."""
        actor, sprint, task = _task(sprint_id, task_id)
        tasks.move_task(db.session, actor, sprint, task, body["action"])
        db.session.commit()
        return task_to_dict(actor, sprint, task), 200, {"ETag": task_etag(task)}


@blp.route("/sprints/<int:sprint_id>/burndown")
class SprintBurndown(MethodView):
    @blp.response(200, BurndownSchema)
    def get(self, sprint_id: int):
        """One point per day: remaining, done and scope points."""
        sprint = service.get_sprint(db.session, current_actor(), sprint_id)
        return burndown_to_dict(sprint, service.burndown(db.session, sprint))


@blp.route("/sprints/<int:sprint_id>/critical-path")
class SprintCriticalPath(MethodView):
    @blp.response(200, CriticalPathSchema)
    def get(self, sprint_id: int):
        """The longest chain of remaining estimates through the dependencies, and whether it
        fits in the working days left."""
        actor = current_actor()
        sprint = service.get_sprint(db.session, actor, sprint_id)
        return critical_path_to_dict(actor, sprint, tasks.critical_path(db.session, sprint))


@blp.route("/release-notes")
class ReleaseNotes(MethodView):
    @blp.arguments(ReleaseNotesArgs, location="query")
    @blp.response(200, ReleaseNotePage)
    def get(self, args: dict):
        """Release notes, newest first; filter by sprint id and module code."""
        stmt = releases.notes_query(
            current_actor(),
            sprint_id=args.get("sprint"),
            module_id=_module_id(args.get("module")),
        )
        page = paginate(db.session, stmt, releases.NOTES_ORDER, args["cursor"], args["limit"])
        return {"items": [note_to_dict(n) for n in page.items], "next_cursor": page.next_cursor}
