"""Sprint pages: the sprint list, planning (capacity), the board (items and tasks by state), the
sprint page with its burndown chart and critical path, and the release notes.

Every form answers with a redirect (Post/Redirect/Get, ``app.core.forms``). The burndown chart
is an SVG drawn on the server (pygal) and shown as an image, with the same numbers in a table,
so it reads without JavaScript.
"""

from __future__ import annotations

import re
from typing import Any

import pygal
from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import select

from app.catalogue.service import list_modules
from app.core import forms
from app.core.charts import svg_response
from app.core.clock import utcnow
from app.core.db import db
from app.core.display import code_in_words
from app.core.edge import whole_number
from app.core.errors import StewardError, ValidationFailed
from app.core.navigation import (
    EntityPage,
    HomePanel,
    NavItem,
    add_entity_page,
    add_home_panel,
    add_nav,
)
from app.core.pagination import paginate
from app.core.permissions import Permission, can, module_scope, require
from app.enhancements.lifecycle import Status as RequestStatus
from app.enhancements.models import Enhancement
from app.identity.auth import current_actor
from app.sprints import releases, service, tasks
from app.sprints.lifecycle import ItemStatus, SprintStatus, TaskStatus
from app.sprints.models import Sprint, SprintItem
from app.sprints.schemas import (
    ReleaseNotesArgs,
    burndown_to_dict,
    item_to_dict,
    note_to_dict,
    sprint_to_dict,
    task_to_dict,
)

blueprint = Blueprint("sprints", __name__)

add_nav(NavItem(_l("Sprints"), "sprints.sprint_list", Permission.SPRINT_VIEW, order=40))
add_nav(
    NavItem(_l("Release notes"), "sprints.release_notes_page", Permission.SPRINT_VIEW, order=41)
)
add_entity_page(EntityPage("sprint", _l("Sprint"), "sprints.sprint_page", argument="sprint_id"))
add_entity_page(EntityPage("sprint_item", _l("Sprint item")))
add_entity_page(EntityPage("sprint_task", _l("Sprint task")))
add_entity_page(
    EntityPage("release_note", _l("Release note"), "sprints.release_notes_page", anchor=True)
)

STATUS_NAMES = {
    "planned": _l("planned"),
    "active": _l("running"),
    "closed": _l("closed"),
    "in_progress": _l("in progress"),
    "done": _l("done"),
    "released": _l("released"),
    "todo": _l("to do"),
    "doing": _l("doing"),
}
DONE = {
    "start": _l("Started."),
    "close": _l("Sprint closed; velocity and predictability are stored."),
    "done": _l("Marked as done."),
    "release": _l("Released; the release notes were published and announced."),
    "remove": _l("Taken out of the sprint."),
    "finish": _l("Task done."),
    "reopen": _l("Task reopened."),
}
FIELD_LABELS = {
    "name": _l("Name"),
    "goal": _l("Goal"),
    "start_date": _l("Start"),
    "end_date": _l("End"),
    "capacity_points": _l("Capacity (points)"),
    "module": _l("Module"),
    "ref": _l("Request or ticket"),
    "points": _l("Points"),
    "carry_over": _l("Unfinished items go to"),
    "title": _l("Task"),
    "owner": _l("Owner"),
    "estimate_days": _l("Estimate (days)"),
    "blocked_by": _l("Waits for"),
}


def _running_sprints(user) -> dict[str, Any]:
    running = db.session.scalars(
        select(Sprint).where(Sprint.status == SprintStatus.ACTIVE).order_by(Sprint.end_date)
    ).all()
    mine = [s for s in running if service.may_manage(user, s)]
    return {"sprints": [sprint_to_dict(db.session, user, s) for s in mine]}


add_home_panel(
    HomePanel(
        _l("Running sprints"),
        "sprints/_panel_running.html",
        Permission.SPRINT_MANAGE,
        _running_sprints,
        order=30,
    )
)


blueprint.add_app_template_filter(code_in_words(STATUS_NAMES), "sprint_status")


# --- the list, and planning a new sprint -------------------------------------------------------


def _managed_modules(actor) -> list:
    """The modules whose sprints ``actor`` plans (all of them for a global product owner)."""
    scope = module_scope(actor, Permission.SPRINT_MANAGE)
    modules = list_modules(db.session, include_inactive=False)
    return modules if scope is None else [m for m in modules if m.id in scope]


@blueprint.get("/sprints")
def sprint_list():
    actor = current_actor()
    require(actor, Permission.SPRINT_VIEW)
    cursor = request.args.get("cursor") or None
    try:
        page = paginate(db.session, select(Sprint), service.SPRINT_ORDER, cursor, 25)
    except ValidationFailed:
        page = paginate(db.session, select(Sprint), service.SPRINT_ORDER, None, 25)
    draft = forms.draft()
    return render_template(
        "sprints/list.html",
        sprints=[sprint_to_dict(db.session, actor, s) for s in page.items],
        page=page,
        can_plan=can(actor, Permission.SPRINT_MANAGE),
        may_plan_team=module_scope(actor, Permission.SPRINT_MANAGE) is None,
        modules=_managed_modules(actor),
        draft=draft,
        values=draft.values if draft else {},
        errors=draft.errors if draft else {},
        labels=FIELD_LABELS,
    )


def _whole(name: str) -> int | None:
    return whole_number(request.form.get(name, "").strip())


@blueprint.post("/sprints/new")
@forms.returns_to("sprints.sprint_list")
def new_sprint():
    from datetime import date

    actor = current_actor()
    errors: dict[str, list[str]] = {}
    dates = {}
    for name in ("start_date", "end_date"):
        try:
            dates[name] = date.fromisoformat(request.form.get(name, "").strip())
        except ValueError:
            errors[name] = [_("A date, as year-month-day.")]
    capacity = _whole("capacity_points")
    if capacity is None:
        errors["capacity_points"] = [_("A whole number of points.")]
    try:
        if errors:
            raise ValidationFailed(_("The sprint was not planned."), errors=errors)
        sprint = service.create_sprint(
            db.session,
            actor,
            name=request.form.get("name", ""),
            goal=request.form.get("goal", ""),
            module=request.form.get("module") or None,
            capacity_points=capacity,
            **dates,
        )
        db.session.commit()
    except StewardError as exc:
        db.session.rollback()
        return forms.refuse(exc, form="new")
    return forms.accepted(
        url_for("sprints.planning", sprint_id=sprint.id), _("Sprint planned: add its items.")
    )


# --- one sprint: page, planning, board ---------------------------------------------------------


def _context(sprint: Sprint) -> dict[str, Any]:
    actor = current_actor()
    session = db.session
    totals = service.totals(session, sprint)
    over = totals.scope > sprint.capacity_points
    items = service.items_of(session, sprint, include_out=True)
    draft = forms.draft()
    return {
        "s": sprint_to_dict(session, actor, sprint, totals),
        "sprint": sprint,
        "items": [item_to_dict(actor, sprint, i, over) for i in items],
        "tasks": [task_to_dict(actor, sprint, t) for t in tasks.tasks_of(session, sprint)],
        "manage": service.may_manage(actor, sprint),
        "draft": draft,
        "errors": draft.errors if draft else {},
        "values": draft.values if draft else {},
        "labels": FIELD_LABELS,
    }


@blueprint.get("/sprints/<int:sprint_id>")
def sprint_page(sprint_id: int):
    sprint = service.get_sprint(db.session, current_actor(), sprint_id)
    context = _context(sprint)
    path = tasks.critical_path(db.session, sprint)
    return render_template(
        "sprints/sprint.html",
        burndown=burndown_to_dict(sprint, service.burndown(db.session, sprint))["points"],
        path=path,
        path_tasks=[task_to_dict(current_actor(), sprint, t) for t in path.tasks],
        history=service.velocity_history(db.session, sprint.module_id),
        **context,
    )


def _backlog(sprint: Sprint) -> list[Enhancement]:
    """Approved requests of the sprint's scope, not planned yet, best WSJF first."""
    stmt = select(Enhancement).where(Enhancement.status == RequestStatus.APPROVED)
    if sprint.module_id is not None:
        stmt = stmt.where(Enhancement.module_id == sprint.module_id)
    stmt = stmt.order_by(
        Enhancement.manual_rank.is_(None), Enhancement.manual_rank, Enhancement.wsjf.desc()
    )
    return list(db.session.scalars(stmt.order_by(Enhancement.id).limit(100)))


@blueprint.get("/sprints/<int:sprint_id>/plan")
def planning(sprint_id: int):
    sprint = service.get_sprint(db.session, current_actor(), sprint_id)
    return render_template("sprints/planning.html", backlog=_backlog(sprint), **_context(sprint))


BOARD_ITEM_COLUMNS = [s.value for s in ItemStatus]
BOARD_TASK_COLUMNS = [s.value for s in TaskStatus]


@blueprint.get("/sprints/<int:sprint_id>/board")
def board(sprint_id: int):
    sprint = service.get_sprint(db.session, current_actor(), sprint_id)
    return render_template(
        "sprints/board.html",
        item_columns=BOARD_ITEM_COLUMNS,
        task_columns=BOARD_TASK_COLUMNS,
        **_context(sprint),
    )


@blueprint.get("/sprints/<int:sprint_id>/burndown.svg")
def burndown_chart(sprint_id: int):
    sprint = service.get_sprint(db.session, current_actor(), sprint_id)
    points = service.burndown(db.session, sprint)
    committed = (
        sprint.committed_points
        if sprint.status != SprintStatus.PLANNED
        else service.totals(db.session, sprint).scope
    )
    ideal = service.ideal_line(sprint, committed)
    recorded = {p.day: p for p in points}
    chart = pygal.Line(
        js=[],
        disable_xml_declaration=False,
        width=720,
        height=320,
        show_dots=True,
        x_label_rotation=30,
        title=_("Burndown of %(name)s", name=sprint.name),
        y_title=_("points"),
        include_x_axis=True,
    )
    chart.x_labels = [day.strftime("%d %b") for day, _left in ideal]
    chart.add(_("Ideal"), [left for _day, left in ideal])
    chart.add(_("Remaining"), [recorded[d].remaining if d in recorded else None for d, _ in ideal])
    chart.add(_("Scope"), [recorded[d].scope if d in recorded else None for d, _ in ideal])
    return svg_response(chart, cache_control="no-store")


# --- forms --------------------------------------------------------------------------------------


def _act(sprint_id: int, change, back: str = "sprints.sprint_page") -> Response:
    """Run ``change(actor, sprint)``, commit, and come back to the page either way."""
    actor = current_actor()
    sprint = service.get_sprint(db.session, actor, sprint_id, for_update=True)
    # a form may ask to come back to the page it sits on (the board, planning, the sprint)
    page = request.form.get("back")
    target = url_for(page if page in PAGES else back, sprint_id=sprint.id)
    return forms.commit_change(lambda: change(actor, sprint), target=target, page=target)


PAGES = ("sprints.sprint_page", "sprints.planning", "sprints.board")


@blueprint.post("/sprints/<int:sprint_id>/act")
@forms.returns_to("sprints.sprint_page")
def sprint_act(sprint_id: int):
    def change(actor, sprint):
        action = request.form.get("action", "")
        if action == "start":
            service.start_sprint(db.session, actor, sprint)
        elif action == "close":
            service.close_sprint(
                db.session, actor, sprint, carry_over=request.form.get("carry_over", "")
            )
        elif action == "release":
            releases.release_sprint(db.session, actor, sprint)
        else:
            raise ValidationFailed(_("Choose an action."), errors={"action": [_("Unknown.")]})
        return DONE.get(action, _("Done."))

    return _act(sprint_id, change)


@blueprint.post("/sprints/<int:sprint_id>/items")
@forms.returns_to("sprints.planning")
def add_item(sprint_id: int):
    def change(actor, sprint):
        points = _whole("points")
        if points is None:
            raise ValidationFailed(
                _("The item was not planned."), errors={"points": [_("A whole number.")]}
            )
        item = service.add_item(
            db.session, actor, sprint, ref=request.form.get("ref", ""), points=points
        )
        if service.over_committed(db.session, sprint):
            return _("%(ref)s planned. The sprint is now over its capacity.", ref=item.ref)
        return _("%(ref)s planned.", ref=item.ref)

    return _act(sprint_id, change, "sprints.planning")


@blueprint.post("/sprints/<int:sprint_id>/items/<int:item_id>/act")
@forms.returns_to("sprints.board")
def item_act(sprint_id: int, item_id: int):
    def change(actor, sprint):
        item = service.get_item(db.session, sprint, item_id)
        action = request.form.get("action", "")
        if action == "remove":
            service.remove_item(db.session, actor, sprint, item)
        elif action == "release":
            releases.release_items(db.session, actor, sprint, [item])
        else:
            service.move_item(db.session, actor, sprint, item, action)
        return DONE.get(action, _("Done."))

    return _act(sprint_id, change, "sprints.board")


def _task_ids(raw: list[str]) -> list[int]:
    ids = [whole_number(v.strip()) for v in raw if v.strip()]
    if any(i is None for i in ids):
        raise ValidationFailed(_("The task was not saved."), errors={"blocked_by": [_("Tasks.")]})
    return [i for i in ids if i is not None]


@blueprint.post("/sprints/<int:sprint_id>/tasks")
@forms.returns_to("sprints.board")
def add_task(sprint_id: int):
    def change(actor, sprint):
        item_id = whole_number(request.form.get("item", "").strip())
        if item_id is None:
            raise ValidationFailed(_("The task was not saved."), errors={"item": [_("Choose.")]})
        item = service.get_item(db.session, sprint, item_id)
        estimate = request.form.get("estimate_days", "").strip().replace(",", ".")
        if not re.fullmatch(r"\d{1,3}(\.\d)?", estimate):
            raise ValidationFailed(
                _("The task was not saved."), errors={"estimate_days": [_("A number of days.")]}
            )
        tasks.add_task(
            db.session,
            actor,
            sprint,
            item,
            title=request.form.get("title", ""),
            estimate_days=estimate,
            owner=request.form.get("owner") or None,
            blocked_by=_task_ids(request.form.getlist("blocked_by")),
        )
        return _("Task added.")

    return _act(sprint_id, change, "sprints.board")


@blueprint.post("/sprints/<int:sprint_id>/tasks/<int:task_id>/act")
@forms.returns_to("sprints.board")
def task_act(sprint_id: int, task_id: int):
    def change(actor, sprint):
        task = tasks.get_task(db.session, sprint, task_id)
        action = request.form.get("action", "")
        tasks.move_task(db.session, actor, sprint, task, action)
        return DONE.get(action, _("Done."))

    return _act(sprint_id, change, "sprints.board")


# --- release notes ------------------------------------------------------------------------------


@blueprint.get("/release-notes")
def release_notes_page():
    actor = current_actor()
    raw = {k: v for k, v in request.args.items() if v not in ("", None) and k != "draft"}
    try:
        args = ReleaseNotesArgs().load(raw)
        module = args.get("module")
        module_id = None
        if module:
            found = [m for m in list_modules(db.session) if m.code == module.upper()]
            module_id = found[0].id if found else -1
        stmt = releases.notes_query(actor, sprint_id=args.get("sprint"), module_id=module_id)
        page = paginate(db.session, stmt, releases.NOTES_ORDER, args["cursor"], 20)
    except (ValidationError, ValidationFailed):
        stmt = releases.notes_query(actor)
        page = paginate(db.session, stmt, releases.NOTES_ORDER, None, 20)
        args = {}
    sprints = db.session.scalars(
        select(Sprint)
        .where(
            Sprint.id.in_(
                select(SprintItem.sprint_id).where(SprintItem.release_note_id.is_not(None))
            )
        )
        .order_by(Sprint.id.desc())
        .limit(50)
    ).all()
    return render_template(
        "sprints/release_notes.html",
        notes=[note_to_dict(n) for n in page.items],
        page=page,
        filters=args,
        sprints=sprints,
        modules=list_modules(db.session),
        now=utcnow(),
    )
