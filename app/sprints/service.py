"""Sprints: create and plan them, start (freeze the commitment), move items, close.

Services take a session and the acting user, check the permission of the action, write the
audit event in the caller's transaction and flush; the caller commits. Requests (ENH-) move
through their own state machine (``app.enhancements.transitions``) as their items move here;
tickets (INC-) keep their support lifecycle and only their item moves.

Who may act: the product owner of the sprint's module (``sprint:manage`` there), and for a team
sprint without a module, a product owner of every module (or an admin). Adding an item also
needs ``sprint:manage`` in the item's module. Everyone with ``sprint:view`` reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from app.catalogue.service import module_ref_by_code
from app.core import audit
from app.core.clock import utcnow
from app.core.edge import fits_db_id
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.pagination import SortKey
from app.core.permissions import Permission, can, module_scope, require
from app.enhancements import transitions as enhancement_transitions
from app.enhancements.lifecycle import Status as RequestStatus
from app.enhancements.models import Enhancement
from app.identity.models import User
from app.incidents.lifecycle import OPEN_STATUSES as TICKET_OPEN
from app.incidents.models import Ticket
from app.sprints.lifecycle import (
    FINISHED,
    ITEM,
    SPRINT,
    UNFINISHED,
    CarryOver,
    ItemAction,
    ItemStatus,
    Party,
    SprintAction,
    SprintStatus,
)
from app.sprints.models import BurndownPoint, Sprint, SprintItem

NAME_MAX = 120
GOAL_MAX = 5000
MAX_POINTS = 100
MAX_CAPACITY = 10_000
MAX_SPRINT_DAYS = 92
REF_PATTERN = re.compile(r"^(ENH|INC)-(\d{1,12})$", re.IGNORECASE)
# a resolved or closed ticket still needs a fix when support only worked around it
FIX_PENDING_RESOLUTIONS = frozenset({"workaround", "known_error"})


# --- who may do what ------------------------------------------------------------------------


def may_manage(actor: User | None, sprint: Sprint) -> bool:
    """Whether ``actor`` plans and runs ``sprint`` (its module's product owner)."""
    if sprint.module_id is not None:
        return can(actor, Permission.SPRINT_MANAGE, sprint.module_id)
    return can(actor, Permission.SPRINT_MANAGE) and (
        module_scope(actor, Permission.SPRINT_MANAGE) is None
    )


def require_manage(actor: User | None, module_id: int | None) -> None:
    """403 unless ``actor`` manages sprints of ``module_id`` (None: of every module)."""
    if module_id is not None:
        require(actor, Permission.SPRINT_MANAGE, module_id)
        return
    require(actor, Permission.SPRINT_MANAGE)
    if module_scope(actor, Permission.SPRINT_MANAGE) is not None:
        raise PermissionDenied(
            _l("A team sprint across every module needs a product owner of all.")
        )


def parties(actor: User | None, sprint: Sprint) -> set[Party]:
    if actor is None:
        return {Party.SYSTEM}
    return {Party.PRODUCT_OWNER} if may_manage(actor, sprint) else set()


def sprint_actions(actor: User | None, sprint: Sprint) -> list[str]:
    return SPRINT.allowed(sprint.status, parties(actor, sprint))


def item_actions(actor: User | None, sprint: Sprint, item: SprintItem) -> list[str]:
    if not item.in_scope:
        return []
    without: set[str] = set()
    if sprint.status != SprintStatus.ACTIVE:
        without |= {ItemAction.START, ItemAction.DONE}
    actions = ITEM.allowed(item.status, parties(actor, sprint), without=without)
    if actions and sprint.status != SprintStatus.CLOSED and item.status in UNFINISHED:
        actions.append("remove")
    return sorted(actions)


# --- reading ----------------------------------------------------------------------------------


def get_sprint(
    session: Session, actor: User, sprint_id: int, *, for_update: bool = False
) -> Sprint:
    """The sprint ``sprint_id`` (404 when there is none)."""
    require(actor, Permission.SPRINT_VIEW)
    sprint = None
    if fits_db_id(sprint_id):
        stmt = select(Sprint).where(Sprint.id == sprint_id)
        if for_update:  # the sprint row only, not the outer-joined module
            stmt = stmt.with_for_update(of=Sprint)
        sprint = session.scalars(stmt).first()
    if sprint is None:
        raise NotFound(_l("No sprint %(sprint_id)s.", sprint_id=sprint_id))
    return sprint


def get_item(session: Session, sprint: Sprint, item_id: int) -> SprintItem:
    """The item ``item_id`` of ``sprint`` (404 otherwise)."""
    item = session.get(SprintItem, item_id) if fits_db_id(item_id) else None
    if item is None or item.sprint_id != sprint.id:
        raise NotFound(_l("No item %(item_id)s in this sprint.", item_id=item_id))
    return item


def items_of(session: Session, sprint: Sprint, *, include_out: bool = False) -> list[SprintItem]:
    """The sprint's items in the order they were added (with removed and carried ones)."""
    stmt = select(SprintItem).where(SprintItem.sprint_id == sprint.id).order_by(SprintItem.id)
    found = list(session.scalars(stmt))
    return found if include_out else [i for i in found if i.in_scope]


@dataclass(frozen=True)
class Totals:
    """The points of a sprint as they stand (``scope`` = what is in it now)."""

    scope: int
    done: int
    items: int
    done_items: int

    @property
    def remaining(self) -> int:
        return self.scope - self.done


def totals(session: Session, sprint: Sprint) -> Totals:
    items = items_of(session, sprint)
    done = [i for i in items if i.status in FINISHED]
    return Totals(
        scope=sum(i.points for i in items),
        done=sum(i.points for i in done),
        items=len(items),
        done_items=len(done),
    )


def over_committed(session: Session, sprint: Sprint) -> bool:
    return totals(session, sprint).scope > sprint.capacity_points


def predictability_of(done: int, committed: int) -> Decimal:
    """Done / committed points, 4 decimals; 0 when nothing was committed or done."""
    if committed <= 0 or done <= 0:
        return Decimal("0")
    return (Decimal(done) / Decimal(committed)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def velocity_history(session: Session, module_id: int | None, last: int = 6) -> list[Sprint]:
    """The ``last`` closed sprints of a scope, newest first (their stored velocity)."""
    stmt = (
        select(Sprint)
        .where(Sprint.status == SprintStatus.CLOSED, _same_scope(module_id))
        .order_by(Sprint.closed_at.desc(), Sprint.id.desc())
        .limit(last)
    )
    return list(session.scalars(stmt))


# the latest planned first (sprints are planned in the order they run)
SPRINT_ORDER = [SortKey(Sprint.id, lambda s: s.id, descending=True)]


# --- creating and changing a sprint ---------------------------------------------------------


def _same_scope(module_id: int | None):
    return Sprint.module_id.is_(None) if module_id is None else Sprint.module_id == module_id


def _check_dates(start: date, end: date) -> None:
    if end < start:
        raise ValidationFailed(
            _l("A sprint ends after it starts."),
            errors={"end_date": [_l("On or after the start date.")]},
        )
    if (end - start).days > MAX_SPRINT_DAYS:
        raise ValidationFailed(
            _l("A sprint lasts at most three months."),
            errors={
                "end_date": [
                    _l(
                        "At most %(max_sprint_days)s days after the start.",
                        max_sprint_days=MAX_SPRINT_DAYS,
                    )
                ]
            },
        )


def _check_overlap(
    session: Session, module_id: int | None, start: date, end: date, *, ignore: int | None = None
) -> None:
    """Two open sprints (planned or active) of one scope never share a day: 409."""
    stmt = select(Sprint).where(
        _same_scope(module_id),
        Sprint.status != SprintStatus.CLOSED,
        and_(Sprint.start_date <= end, Sprint.end_date >= start),
    )
    if ignore is not None:
        stmt = stmt.where(Sprint.id != ignore)
    clash = session.scalars(stmt.order_by(Sprint.start_date).limit(1)).first()
    if clash is not None:
        raise Conflict(
            _l(
                "These dates overlap sprint '%(name)s' (%(start)s to %(end)s) of the same scope.",
                name=clash.name,
                start=clash.start_date.isoformat(),
                end=clash.end_date.isoformat(),
            ),
            errors={"start_date": [_l("Choose dates after the other sprint of this scope.")]},
            sprint=clash.id,
        )


def _clean_text(value: Any, field: str, maximum: int, *, required: bool) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None:
        raise ValidationFailed(_l("Text expected."), errors={field: [_l("Text expected.")]})
    if required and not text:
        raise ValidationFailed(_l("A value is missing."), errors={field: [_l("Required.")]})
    if len(text) > maximum:
        raise ValidationFailed(
            _l("The text is too long."),
            errors={field: [_l("At most %(maximum)s.", maximum=maximum)]},
        )
    return text


def _check_capacity(capacity: Any) -> int:
    if (
        isinstance(capacity, bool)
        or not isinstance(capacity, int)
        or not 0 < capacity <= MAX_CAPACITY
    ):
        raise ValidationFailed(
            _l("The capacity is a whole number of points."),
            errors={
                "capacity_points": [
                    _l("Between 1 and %(max_capacity)s.", max_capacity=MAX_CAPACITY)
                ]
            },
        )
    return capacity


def create_sprint(
    session: Session,
    actor: User,
    *,
    name: str,
    start_date: date,
    end_date: date,
    capacity_points: int,
    goal: str | None = None,
    module: str | None = None,
) -> Sprint:
    """Plan a new sprint; 409 when it overlaps an open sprint of the same scope."""
    module_id = None
    if module:
        ref = module_ref_by_code(session, module)
        if ref is None:
            raise ValidationFailed(
                _l("No such module."), errors={"module": [_l("Unknown module code.")]}
            )
        module_id = ref.id
    require_manage(actor, module_id)
    name = _clean_text(name, "name", NAME_MAX, required=True)
    goal = _clean_text(goal, "goal", GOAL_MAX, required=False)
    _check_dates(start_date, end_date)
    capacity_points = _check_capacity(capacity_points)
    _check_overlap(session, module_id, start_date, end_date)
    now = utcnow()
    sprint = Sprint(
        name=name,
        goal=goal,
        start_date=start_date,
        end_date=end_date,
        capacity_points=capacity_points,
        module_id=module_id,
        status=SprintStatus.PLANNED.value,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    session.add(sprint)
    session.flush()
    audit.record(
        session,
        actor,
        "sprint",
        sprint.id,
        "created",
        {
            "name": [None, name],
            "start_date": [None, start_date.isoformat()],
            "end_date": [None, end_date.isoformat()],
            "capacity_points": [None, capacity_points],
            "module": [None, module.upper() if module else None],
        },
    )
    return sprint


EDITABLE = ("name", "goal", "start_date", "end_date", "capacity_points")


def update_sprint(session: Session, actor: User, sprint: Sprint, values: dict[str, Any]) -> Sprint:
    """Change name, goal, dates or capacity (dates only while planned); audited."""
    if not may_manage(actor, sprint):
        require_manage(actor, sprint.module_id)
    if sprint.status == SprintStatus.CLOSED:
        raise Conflict(
            _l("A closed sprint is history; it does not change."), current_status="closed"
        )
    wanted = {k: v for k, v in values.items() if k in EDITABLE}
    if "name" in wanted:
        wanted["name"] = _clean_text(wanted["name"], "name", NAME_MAX, required=True)
    if "goal" in wanted:
        wanted["goal"] = _clean_text(wanted["goal"], "goal", GOAL_MAX, required=False)
    if "capacity_points" in wanted:
        wanted["capacity_points"] = _check_capacity(wanted["capacity_points"])
    start = wanted.get("start_date", sprint.start_date)
    end = wanted.get("end_date", sprint.end_date)
    if (start, end) != (sprint.start_date, sprint.end_date):
        if sprint.status != SprintStatus.PLANNED and start != sprint.start_date:
            raise Conflict(
                _l("A started sprint keeps its start date."), current_status=sprint.status
            )
        _check_dates(start, end)
        _check_overlap(session, sprint.module_id, start, end, ignore=sprint.id)
    changes = audit.apply_changes(sprint, wanted)
    if changes:
        sprint.updated_at = utcnow()
        session.flush()
        audit.record(session, actor, "sprint", sprint.id, "updated", changes)
    return sprint


# --- planning: items in and out ---------------------------------------------------------------


def parse_item_ref(ref: Any) -> tuple[str, int]:
    """("enhancement" | "ticket", id) from ``ENH-000001`` or ``INC-000001``; 422 otherwise."""
    match = REF_PATTERN.match(ref.strip()) if isinstance(ref, str) else None
    if not match or not fits_db_id(int(match.group(2))):
        raise ValidationFailed(
            _l("Name an enhancement request or a ticket."),
            errors={"ref": [_l("An ENH-000000 or INC-000000 reference.")]},
        )
    kind = "enhancement" if match.group(1).upper() == "ENH" else "ticket"
    return kind, int(match.group(2))


def _in_a_sprint(session: Session, column, value: int) -> SprintItem | None:
    stmt = select(SprintItem).where(
        column == value,
        SprintItem.removed_at.is_(None),
        SprintItem.carried_over.is_(None),
        SprintItem.status.in_([s.value for s in UNFINISHED | {ItemStatus.DONE}]),
    )
    return session.scalars(stmt.limit(1)).first()


def _check_points(points: Any) -> int:
    if isinstance(points, bool) or not isinstance(points, int) or not 0 < points <= MAX_POINTS:
        raise ValidationFailed(
            _l("Points are a whole number."),
            errors={"points": [_l("Between 1 and %(max_points)s.", max_points=MAX_POINTS)]},
        )
    return points


def _planned_target(session: Session, kind: str, number: int) -> Enhancement | Ticket:
    unknown = ValidationFailed(
        _l("No such request or ticket."), errors={"ref": [_l("Unknown reference.")]}
    )
    if kind == "enhancement":
        request = session.get(Enhancement, number)
        if request is None:
            raise unknown
        if request.status != RequestStatus.APPROVED:
            raise Conflict(
                _l("Only an approved request can be planned."),
                errors={"ref": [_l("Approved requests from the backlog only.")]},
                current_status=request.status,
            )
        if _in_a_sprint(session, SprintItem.enhancement_id, number):
            raise Conflict(_l("This request is already in a sprint."))
        return request
    ticket = session.get(Ticket, number)
    if ticket is None:
        raise unknown
    if ticket.status not in TICKET_OPEN and ticket.resolution_code not in FIX_PENDING_RESOLUTIONS:
        raise Conflict(
            _l("This ticket needs no development fix."),
            errors={"ref": [_l("Open tickets, or ones worked around or known errors.")]},
            current_status=ticket.status,
        )
    if _in_a_sprint(session, SprintItem.ticket_id, number):
        raise Conflict(_l("This ticket is already in a sprint."))
    return ticket


def add_item(session: Session, actor: User, sprint: Sprint, *, ref: str, points: int) -> SprintItem:
    """Plan a request or a ticket in ``sprint`` with its points.

    The request becomes ``planned``. In a started sprint the item is recorded as scope change.
    Over capacity the item is still added: the sprint answers ``over_committed``.
    """
    require_manage(actor, sprint.module_id)
    kind, number = parse_item_ref(ref)
    points = _check_points(points)
    if sprint.status == SprintStatus.CLOSED:
        raise Conflict(_l("A closed sprint takes no more items."), current_status=sprint.status)
    target = _planned_target(session, kind, number)
    if sprint.module_id is not None and target.module_id != sprint.module_id:
        raise ValidationFailed(
            _l("This sprint plans one module only."),
            errors={"ref": [_l("A request or ticket of the sprint's module.")]},
        )
    require(actor, Permission.SPRINT_MANAGE, target.module_id)
    started = sprint.status == SprintStatus.ACTIVE
    item = SprintItem(
        sprint_id=sprint.id,
        kind=kind,
        enhancement_id=number if kind == "enhancement" else None,
        ticket_id=number if kind == "ticket" else None,
        module_id=target.module_id,
        points=points,
        status=ItemStatus.PLANNED.value,
        added_after_start=started,
        added_at=utcnow(),
    )
    session.add(item)
    if kind == "enhancement":
        enhancement_transitions.perform(session, actor, target, "plan", sprint=sprint.id)
    if started:
        sprint.added_points += points
        sprint.added_items += 1
    _touch(sprint)
    session.flush()
    audit.record(
        session,
        actor,
        "sprint",
        sprint.id,
        "item_added",
        {"item": [None, item.ref], "points": [None, points]},
        scope_change=started,
    )
    return item


def remove_item(session: Session, actor: User, sprint: Sprint, item: SprintItem) -> SprintItem:
    """Take an unfinished item out; its request goes back to the backlog (``approved``)."""
    require_manage(actor, sprint.module_id)
    if sprint.status == SprintStatus.CLOSED:
        raise Conflict(
            _l("A closed sprint is history; it does not change."), current_status="closed"
        )
    if not item.in_scope or item.status not in UNFINISHED:
        raise Conflict(
            _l("Only an item still to be done can be taken out."), current_status=item.status
        )
    started = sprint.status == SprintStatus.ACTIVE
    item.removed_at = utcnow()
    item.removed_after_start = started
    if started:
        sprint.removed_points += item.points
        sprint.removed_items += 1
    if item.kind == "enhancement" and item.enhancement.status in (
        RequestStatus.PLANNED,
        RequestStatus.IN_PROGRESS,
    ):
        enhancement_transitions.perform(
            session, actor, item.enhancement, "unplan", sprint=sprint.id
        )
    _touch(sprint)
    session.flush()
    audit.record(
        session,
        actor,
        "sprint",
        sprint.id,
        "item_removed",
        {"item": [item.ref, None], "points": [item.points, None]},
        scope_change=started,
    )
    return item


def _touch(sprint: Sprint) -> None:
    # bump the version: a change of the items changes what the sprint answers (its ETag)
    sprint.updated_at = utcnow()
    flag_modified(sprint, "updated_at")


# --- moving items -----------------------------------------------------------------------------


def _sync_request(session: Session, actor: User | None, item: SprintItem, action: str) -> None:
    """Move the item's request along (a ticket's lifecycle stays with the support team)."""
    if item.kind != "enhancement":
        return
    request = item.enhancement
    steps = {
        ItemAction.START: [("start", RequestStatus.PLANNED)],
        ItemAction.DONE: [
            ("start", RequestStatus.PLANNED),
            ("done", RequestStatus.IN_PROGRESS),
        ],
        ItemAction.RELEASE: [("release", RequestStatus.DONE)],
    }[ItemAction(action)]
    for step, source in steps:
        if request.status == source:
            enhancement_transitions.perform(session, actor, request, step, sprint=item.sprint_id)


def move_item(
    session: Session, actor: User | None, sprint: Sprint, item: SprintItem, action: str
) -> SprintItem:
    """Start, finish or release an item (409 with the allowed actions otherwise).

    Work happens while the sprint runs; a done item may be released after the close too.
    Releasing goes through ``releases.release_items`` (it writes the release notes).
    """
    who = parties(actor, sprint)
    if not who:
        require_manage(actor, sprint.module_id)
    if not item.in_scope:
        raise Conflict(_l("This item left the sprint."), current_status=item.status)
    transition = ITEM.transition_for(item.status, action, who)
    if transition.action != ItemAction.RELEASE and sprint.status != SprintStatus.ACTIVE:
        raise Conflict(
            _l("Work on items happens while the sprint runs."),
            allowed=item_actions(actor, sprint, item),
            current_status=sprint.status,
        )
    now = utcnow()
    before = item.status
    _sync_request(session, actor, item, transition.action.value)
    if transition.action in (ItemAction.START, ItemAction.DONE) and item.started_at is None:
        item.started_at = now
    if transition.action == ItemAction.DONE:
        item.done_at = now
        sprint.done_points += item.points
        sprint.done_items += 1
    if transition.action == ItemAction.RELEASE:
        item.released_at = now
    item.status = transition.target.value
    _touch(sprint)
    session.flush()
    audit.record(
        session,
        actor,
        "sprint_item",
        item.id,
        transition.action.value,
        {"status": [before, item.status]},
        sprint=sprint.id,
        ref=item.ref,
    )
    return item


# --- start and close --------------------------------------------------------------------------


def start_sprint(session: Session, actor: User | None, sprint: Sprint) -> Sprint:
    """Start: the items in it now are the committed scope (points and count frozen)."""
    who = parties(actor, sprint)
    if not who:
        require_manage(actor, sprint.module_id)
    SPRINT.transition_for(sprint.status, SprintAction.START, who)
    running = session.scalars(
        select(Sprint).where(
            _same_scope(sprint.module_id),
            Sprint.status == SprintStatus.ACTIVE,
            Sprint.id != sprint.id,
        )
    ).first()
    if running is not None:
        raise Conflict(
            _l(
                "Sprint '%(name)s' of the same scope is still running; close it first.",
                name=running.name,
            ),
            sprint=running.id,
        )
    items = items_of(session, sprint)
    for item in items:
        item.committed = True
    now = utcnow()
    sprint.committed_points = sum(i.points for i in items)
    sprint.committed_items = len(items)
    sprint.status = SprintStatus.ACTIVE.value
    sprint.started_at = now
    sprint.updated_at = now
    session.flush()
    audit.record(
        session,
        actor,
        "sprint",
        sprint.id,
        "start",
        {
            "status": ["planned", "active"],
            "committed_points": [None, sprint.committed_points],
            "committed_items": [None, sprint.committed_items],
        },
    )
    record_burndown_point(session, sprint, now.date())
    return sprint


def next_sprint_of(session: Session, sprint: Sprint) -> Sprint | None:
    """The planned sprint of the same scope that comes next (by start date)."""
    stmt = (
        select(Sprint)
        .where(
            _same_scope(sprint.module_id),
            Sprint.status == SprintStatus.PLANNED,
            Sprint.id != sprint.id,
            Sprint.start_date >= sprint.start_date,
        )
        .order_by(Sprint.start_date, Sprint.id)
        .limit(1)
    )
    return session.scalars(stmt).first()


def close_sprint(
    session: Session, actor: User | None, sprint: Sprint, *, carry_over: str
) -> Sprint:
    """Close: store velocity and predictability, carry unfinished items over.

    ``carry_over="next"`` moves them (with their open tasks) into the next planned sprint of
    the same scope (409 when there is none); ``"backlog"`` sends their requests back to
    ``approved``.
    """
    who = parties(actor, sprint)
    if not who:
        require_manage(actor, sprint.module_id)
    if carry_over not in {c.value for c in CarryOver}:
        raise ValidationFailed(
            _l("Say where unfinished items go."), errors={"carry_over": [_l("next or backlog.")]}
        )
    SPRINT.transition_for(sprint.status, SprintAction.CLOSE, who)
    now = utcnow()
    record_burndown_point(session, sprint, now.date())
    current = totals(session, sprint)
    unfinished = [i for i in items_of(session, sprint) if i.status in UNFINISHED]
    target = None
    if unfinished and carry_over == CarryOver.NEXT:
        target = next_sprint_of(session, sprint)
        if target is None:
            raise Conflict(
                _l(
                    "There is no next sprint to carry the unfinished items to; plan one first "
                    "or send them back to the backlog."
                ),
                errors={"carry_over": [_l("Plan the next sprint, or choose backlog.")]},
            )
    for item in unfinished:
        _carry(session, actor, item, carry_over, target, now)
    sprint.velocity = current.done
    sprint.done_points = current.done
    sprint.done_items = current.done_items
    sprint.predictability = predictability_of(current.done, sprint.committed_points)
    sprint.carry_over = carry_over
    sprint.carried_points = sum(i.points for i in unfinished)
    sprint.carried_items = len(unfinished)
    sprint.status = SprintStatus.CLOSED.value
    sprint.closed_at = now
    sprint.updated_at = now
    if target is not None:
        _touch(target)
    session.flush()
    audit.record(
        session,
        actor,
        "sprint",
        sprint.id,
        "close",
        {
            "status": ["active", "closed"],
            "velocity": [None, sprint.velocity],
            "predictability": [None, str(sprint.predictability)],
            "carried_items": [None, sprint.carried_items],
        },
        carry_over=carry_over,
        next_sprint=target.id if target else None,
    )
    return sprint


def _carry(
    session: Session,
    actor: User | None,
    item: SprintItem,
    carry_over: str,
    target: Sprint | None,
    now: datetime,
) -> None:
    item.carried_over = carry_over
    item.carried_at = now
    if carry_over == CarryOver.BACKLOG:
        if item.kind == "enhancement":
            enhancement_transitions.perform(
                session, actor, item.enhancement, "unplan", sprint=item.sprint_id
            )
        return
    assert target is not None
    moved = SprintItem(
        sprint_id=target.id,
        kind=item.kind,
        enhancement_id=item.enhancement_id,
        ticket_id=item.ticket_id,
        module_id=item.module_id,
        points=item.points,
        status=item.status,
        started_at=item.started_at,
        added_after_start=target.status == SprintStatus.ACTIVE,
        added_at=now,
    )
    session.add(moved)
    session.flush()
    item.carried_to_id = moved.id
    for task in item.tasks:
        if task.status != "done":
            task.item_id = moved.id
            task.sprint_id = target.id


# --- burndown ---------------------------------------------------------------------------------


def record_burndown_point(session: Session, sprint: Sprint, day: date) -> BurndownPoint:
    """The sprint's remaining, done and scope points on ``day``: one row per day, rewritten
    when recorded again the same day (so the daily job may run any number of times)."""
    current = totals(session, sprint)
    point = session.scalars(
        select(BurndownPoint).where(BurndownPoint.sprint_id == sprint.id, BurndownPoint.day == day)
    ).first()
    if point is None:
        point = BurndownPoint(sprint_id=sprint.id, day=day)
        session.add(point)
    point.remaining = current.remaining
    point.done = current.done
    point.scope = current.scope
    point.recorded_at = utcnow()
    session.flush()
    return point


def burndown(session: Session, sprint: Sprint) -> list[BurndownPoint]:
    stmt = (
        select(BurndownPoint)
        .where(BurndownPoint.sprint_id == sprint.id)
        .order_by(BurndownPoint.day)
    )
    return list(session.scalars(stmt))


def working_days(start: date, end: date) -> int:
    """Monday-to-Friday days from ``start`` to ``end``, both included (0 if end < start)."""
    days, day = 0, start
    while day <= end:
        if day.weekday() < 5:
            days += 1
        day += timedelta(days=1)
    return days


def ideal_line(sprint: Sprint, committed: int) -> list[tuple[date, float]]:
    """The straight burn from the committed points to zero across the sprint's working days."""
    total = working_days(sprint.start_date, sprint.end_date)
    points, day, left = [], sprint.start_date, float(committed)
    step = committed / total if total else committed
    while day <= sprint.end_date:
        points.append((day, round(max(left, 0.0), 2)))
        if day.weekday() < 5:
            left -= step
        day += timedelta(days=1)
    return points


# --- what governance reads ------------------------------------------------------------------


def _outcome(sprint: Sprint) -> dict[str, Any]:
    scope = sprint.module.code if sprint.module is not None else "team"
    committed = sprint.committed_points
    share = f" ({100 * sprint.done_points / committed:.0f}%)" if committed else ""
    title = (
        f"Sprint {sprint.name} ({scope}) closed: {sprint.done_points} of "
        f"{sprint.committed_points} committed points done{share}"
    )
    if sprint.carried_items:
        plural = "s" if sprint.carried_items != 1 else ""
        title += f", {sprint.carried_items} item{plural} carried over"
    return {
        "title": title,
        "source": f"sprint:{sprint.id}",
        "module": sprint.module.code if sprint.module is not None else None,
        "closed_at": sprint.closed_at.isoformat() if sprint.closed_at else None,
        "committed_points": sprint.committed_points,
        "done_points": sprint.done_points,
        "carried_items": sprint.carried_items,
    }


def _closed_outcomes(session: Session, *where) -> list[dict[str, Any]]:
    stmt = (
        select(Sprint)
        .where(Sprint.status == SprintStatus.CLOSED, Sprint.closed_at.is_not(None), *where)
        .order_by(Sprint.closed_at, Sprint.id)
    )
    return [_outcome(s) for s in session.scalars(stmt)]


def outcomes_since(session: Session, since: datetime | None) -> list[dict[str, Any]]:
    """Sprints closed after ``since`` (every closed sprint when None), oldest first: one
    ``{"title", "source": "sprint:<id>", ...}`` each, for a meeting's agenda. Read-only."""
    return _closed_outcomes(session, *([Sprint.closed_at > since] if since else []))


def outcomes_between(session: Session, start: date, end: date) -> list[dict[str, Any]]:
    """Sprints closed on the UTC days ``start`` to ``end`` (both included), oldest first, in
    the shape of ``outcomes_since``: the sprints section of a governance report. Read-only."""
    begin = datetime.combine(start, datetime.min.time(), UTC)
    finish = datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC)
    return _closed_outcomes(session, Sprint.closed_at >= begin, Sprint.closed_at < finish)
