"""Action items: who does what by when, from which meeting point, risk or objective.

The committee creates and changes them; an owner closes (or reopens) their own. Reminders before
the due date and the escalation after it are sent by ``jobs.remind_and_escalate_actions``.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core import audit
from app.core.clock import utcnow
from app.core.edge import whole_number
from app.core.errors import NotFound, PermissionDenied
from app.core.pagination import Page, SortKey, paginate
from app.core.permissions import Permission, can, require, require_any
from app.governance.models import (
    ActionItem,
    AgendaPoint,
    Meeting,
    Objective,
    Risk,
)
from app.governance.service import invalid, user_by_email
from app.identity.models import User

ENTITY = "action_item"
SOURCE_KINDS = {"meeting": Meeting, "point": AgendaPoint, "risk": Risk, "objective": Objective}


class ActionStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


def check_source(session: Session, source: str | None) -> str | None:
    """``kind:id`` naming an existing meeting, agenda point, risk or objective (or nothing)."""
    if not source:
        return None
    kind, _, raw_id = source.partition(":")
    model = SOURCE_KINDS.get(kind)
    number = whole_number(raw_id)
    if model is None or number is None:
        raise invalid(
            "source", _l("Name a source as meeting:<id>, point:<id>, risk:<id> or objective:<id>.")
        )
    if session.get(model, number) is None:
        raise invalid("source", _l("No %(kind)s %(raw_id)s.", kind=kind, raw_id=raw_id))
    return f"{kind}:{number}"


def create_action(
    session: Session,
    actor: User,
    *,
    title: str,
    owner: str,
    due_date: date,
    source: str | None = None,
    meeting: Meeting | None = None,
) -> ActionItem:
    """Give ``owner`` (an email) something to do by ``due_date``."""
    require(actor, Permission.GOVERNANCE_MANAGE)
    source = check_source(session, source)
    if source is None and meeting is not None:
        source = f"meeting:{meeting.id}"
    if meeting is None and source and source.startswith("meeting:"):
        meeting = session.get(Meeting, int(source.split(":")[1]))
    if meeting is None and source and source.startswith("point:"):
        meeting = session.get(AgendaPoint, int(source.split(":")[1])).meeting
    now = utcnow()
    item = ActionItem(
        title=title.strip(),
        owner=user_by_email(session, owner),
        due_date=due_date,
        source=source,
        meeting_id=meeting.id if meeting else None,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    session.add(item)
    session.flush()
    audit.record(
        session,
        actor,
        ENTITY,
        item.id,
        "create",
        {"title": [None, item.title], "owner": [None, item.owner.email]},
        due_date=due_date,
        source=source,
    )
    return item


def get_action(session: Session, actor: User, action_id: int) -> ActionItem:
    """One action item: the committee and auditors see all, an owner sees theirs."""
    item = session.get(ActionItem, action_id)
    if item is None or not _may_see(actor, item):
        raise NotFound(_l("No such action item."))
    return item


def _may_see(actor: User, item: ActionItem) -> bool:
    if can(actor, Permission.GOVERNANCE_VIEW):
        return True
    return item.owner_id == actor.id and can(actor, Permission.GOVERNANCE_ACTION_OWN)


def update_action(
    session: Session, actor: User, item: ActionItem, values: dict[str, Any]
) -> ActionItem:
    """Change an action item. The committee changes anything; an owner only its status."""
    require_any(actor, [Permission.GOVERNANCE_MANAGE, Permission.GOVERNANCE_ACTION_OWN])
    manager = can(actor, Permission.GOVERNANCE_MANAGE)
    if not manager:
        if item.owner_id != actor.id:
            raise PermissionDenied(_l("Only the committee changes someone else's action item."))
        if set(values) - {"status"}:
            raise PermissionDenied(
                _l("As its owner you may only close or reopen this action item.")
            )
    plain = {k: values[k] for k in ("title", "due_date", "status") if k in values}
    if "owner" in values:
        plain["owner_id"] = user_by_email(session, values["owner"]).id
    if "source" in values:
        plain["source"] = check_source(session, values["source"])
    changes = audit.apply_changes(item, plain)
    if "status" in changes:
        item.closed_at = None if item.status == ActionStatus.OPEN else utcnow()
    if changes:
        item.updated_at = utcnow()
        session.flush()
        audit.record(session, actor, ENTITY, item.id, "update", changes)
    return item


def overdue_clause(today: date):
    return (ActionItem.status == ActionStatus.OPEN) & (ActionItem.due_date < today)


def list_actions(
    session: Session,
    actor: User,
    *,
    today: date,
    owner: str | None = None,
    status: list[str] | None = None,
    overdue: bool | None = None,
    cursor: str | None = None,
    limit: int = 25,
) -> Page[ActionItem]:
    """Action items in the order they were given; without the governance view, one's own."""
    require_any(actor, [Permission.GOVERNANCE_VIEW, Permission.GOVERNANCE_ACTION_OWN])
    stmt = select(ActionItem)
    if not can(actor, Permission.GOVERNANCE_VIEW):
        stmt = stmt.where(ActionItem.owner_id == actor.id)
    if owner:
        person = session.scalar(select(User).where(User.email == owner))
        stmt = stmt.where(ActionItem.owner_id == (person.id if person else -1))
    if status:
        stmt = stmt.where(ActionItem.status.in_(status))
    if overdue is True:
        stmt = stmt.where(overdue_clause(today))
    elif overdue is False:
        stmt = stmt.where(~overdue_clause(today))
    return paginate(session, stmt, [SortKey(ActionItem.id, lambda a: a.id)], cursor, limit)
