"""Saved views: a named set of queue filters an agent comes back to, private or shared with one
of their support groups (every member then sees it among their views)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.catalogue.models import SupportGroup, support_group_members
from app.core import audit
from app.core.edge import is_clean_text
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.permissions import Permission, can, require
from app.identity.models import User
from app.incidents.lifecycle import Status
from app.incidents.models import SavedView
from app.incidents.queues import SORTS, VIEWS
from app.incidents.sla import PRIORITIES

ENTITY = "saved_view"
NAME_MAX = 80
# the filters a queue page takes, and what each may hold
FILTER_KEYS = ("view", "status", "priority", "module", "assignee", "group", "breached", "q", "sort")
_CHOICES = {
    "view": VIEWS,
    "sort": SORTS,
    "status": tuple(s.value for s in Status),
    "priority": PRIORITIES,
    "breached": ("true", "false"),
}
VALUE_MAX = 320


def _clean_filters(filters: dict[str, Any]) -> dict[str, str]:
    """Only known filters, as the strings a queue URL carries; empty ones are dropped."""
    if not isinstance(filters, dict):
        raise ValidationFailed("Invalid filters.", errors={"filters": ["An object of filters."]})
    errors: dict[str, list[str]] = {}
    clean: dict[str, str] = {}
    for key, raw in filters.items():
        if key not in FILTER_KEYS:
            errors[str(key)[:40]] = [f"Not a filter; one of: {', '.join(FILTER_KEYS)}."]
            continue
        if raw is None or raw == "":
            continue
        value = str(raw).lower() if isinstance(raw, bool) else raw
        if not isinstance(value, str) or len(value) > VALUE_MAX or not is_clean_text(value):
            errors[key] = [f"Text of at most {VALUE_MAX} characters."]
            continue
        choices = _CHOICES.get(key)
        parts = value.split(",") if key in ("status", "priority") else [value]
        if choices and any(p not in choices for p in parts):
            errors[key] = [f"One of: {', '.join(choices)}."]
            continue
        clean[key] = value
    if errors:
        raise ValidationFailed("Some filters are not valid.", errors=errors)
    return clean


def _my_groups(actor: User):
    return select(support_group_members.c.group_id).where(
        support_group_members.c.user_id == actor.id
    )


def _my_group_ids(session: Session, actor: User) -> list[int]:
    return list(
        session.scalars(
            select(support_group_members.c.group_id).where(
                support_group_members.c.user_id == actor.id
            )
        )
    )


def list_views(session: Session, actor: User) -> list[SavedView]:
    """The caller's own views, then those shared with one of their groups, by name."""
    require(actor, Permission.TICKET_WORK)
    clauses = [SavedView.owner_id == actor.id, SavedView.group_id.in_(_my_groups(actor))]
    return list(
        session.scalars(
            select(SavedView)
            .where(or_(*clauses))
            .order_by((SavedView.owner_id != actor.id), SavedView.name, SavedView.id)
        )
    )


def get_view(session: Session, actor: User, view_id: int) -> SavedView:
    """A view the caller owns or that is shared with one of their groups; 404 otherwise."""
    require(actor, Permission.TICKET_WORK)
    view = session.get(SavedView, view_id) if 0 < view_id < 2**31 else None
    if view is None or (
        view.owner_id != actor.id and view.group_id not in _my_group_ids(session, actor)
    ):
        raise NotFound(f"No saved view {view_id}.")
    return view


def _share_group(session: Session, actor: User, code: str | None) -> SupportGroup | None:
    if not code:
        return None
    group = session.scalar(select(SupportGroup).where(SupportGroup.code == code.strip().upper()))
    if group is None:
        raise ValidationFailed("Unknown support group.", errors={"group": ["No such group."]})
    if group.id not in _my_group_ids(session, actor) and not can(
        actor, Permission.CATALOGUE_MANAGE
    ):
        raise ValidationFailed(
            "You can share a view only with a group you belong to.",
            errors={"group": ["Not one of your groups."]},
        )
    return group


def create_view(
    session: Session,
    actor: User,
    *,
    name: str,
    filters: dict[str, Any],
    group: str | None = None,
) -> SavedView:
    """Save the filters under ``name`` (unique per owner), private or shared with ``group``."""
    require(actor, Permission.TICKET_WORK)
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Give the view a name."]
    elif len(name) > NAME_MAX or not is_clean_text(name):
        errors["name"] = [f"At most {NAME_MAX} characters of text."]
    try:
        clean = _clean_filters(filters)
    except ValidationFailed as exc:
        errors.update(exc.errors)
        clean = {}
    if errors:
        raise ValidationFailed("The view was not saved.", errors=errors)
    shared = _share_group(session, actor, group)
    taken = session.scalar(
        select(SavedView.id).where(SavedView.owner_id == actor.id, SavedView.name == name)
    )
    if taken is not None:
        raise Conflict("You already have a view of that name.", errors={"name": ["Taken."]})
    view = SavedView(
        owner_id=actor.id, name=name, filters=clean, group_id=shared.id if shared else None
    )
    session.add(view)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # the same name saved at the same moment
        raise Conflict(
            "You already have a view of that name.", errors={"name": ["Taken."]}
        ) from exc
    audit.record(
        session,
        actor,
        ENTITY,
        view.id,
        "created",
        {"name": [None, name], "group": [None, shared.code if shared else None]},
    )
    return view


def delete_view(session: Session, actor: User, view: SavedView) -> None:
    """Its owner (or an admin) deletes a view; the members of its group merely see it."""
    if view.owner_id != actor.id and not can(actor, Permission.CATALOGUE_MANAGE):
        raise PermissionDenied("Only its owner deletes a saved view.")
    audit.record(session, actor, ENTITY, view.id, "deleted", {"name": [view.name, None]})
    session.delete(view)
    session.flush()
