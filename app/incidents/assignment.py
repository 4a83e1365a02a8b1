"""Who works on a ticket: "assign to me", and round-robin assignment within a support group.

Round-robin is chosen per group (``GroupRotation``). A periodic job hands the group's
unassigned open tickets, oldest first, to its members in turn, skipping those who are away
(``User.absent``), inactive or not allowed to work on the ticket's module. Each assignment is
audited on the ticket like any other (actor: the system, ``via: round_robin``).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalogue.models import SupportGroup
from app.core import audit
from app.core.clock import utcnow
from app.core.errors import Conflict, NotFound
from app.core.permissions import Permission, can, require
from app.identity.models import User
from app.incidents import notifications
from app.incidents.lifecycle import FINAL_STATUSES
from app.incidents.models import GroupRotation, Ticket
from app.incidents.queues import is_open
from app.incidents.service import ENTITY, touch, update_ticket

ROTATION_ENTITY = "support_group"
# tickets handed out per group and run: a backlog is spread over a few runs, not one long one
ROTATION_BATCH = 200


def assign_to_me(session: Session, actor: User, ticket: Ticket) -> Ticket:
    """The acting agent takes the ticket (audited like any routing change)."""
    if ticket.status in FINAL_STATUSES:
        raise Conflict(
            _l("A closed or cancelled ticket cannot change."), current_status=ticket.status
        )
    return update_ticket(session, actor, ticket, {"assignee": actor.email})


# --- round-robin ------------------------------------------------------------------------------


def _group(session: Session, code: str) -> SupportGroup:
    group = session.scalar(
        select(SupportGroup).where(SupportGroup.code == (code or "").strip().upper())
    )
    if group is None:
        raise NotFound(_l("No support group %(code)s.", code=repr(code)))
    return group


def rotations(session: Session, actor: User) -> list[tuple[SupportGroup, bool]]:
    """Every support group, and whether it hands out its tickets round-robin."""
    require(actor, Permission.TICKET_WORK)
    enabled = set(session.scalars(select(GroupRotation.group_id).where(GroupRotation.enabled)))
    groups = session.scalars(select(SupportGroup).order_by(SupportGroup.code))
    return [(g, g.id in enabled) for g in groups]


def set_rotation(session: Session, actor: User, group_code: str, *, enabled: bool) -> bool:
    """Turn round-robin on or off for a group (admins: it routes the whole team's work)."""
    require(actor, Permission.CATALOGUE_MANAGE)
    group = _group(session, group_code)
    rotation = session.get(GroupRotation, group.id)
    before = bool(rotation and rotation.enabled)
    if rotation is None:
        rotation = GroupRotation(group_id=group.id, enabled=enabled)
        session.add(rotation)
    rotation.enabled = enabled
    rotation.updated_at = utcnow()
    if before != enabled:
        session.flush()
        audit.record(
            session,
            actor,
            ROTATION_ENTITY,
            group.code,
            "updated",
            {"round_robin": [before, enabled]},
        )
    return enabled


def _candidates(group: SupportGroup, module_id: int) -> list[User]:
    return [
        m
        for m in sorted(group.members, key=lambda u: u.id)
        if m.active and not m.absent and can(m, Permission.TICKET_WORK, module_id)
    ]


def _next_after(candidates: list[User], last_id: int | None) -> User:
    for member in candidates:
        if last_id is None or member.id > last_id:
            return member
    return candidates[0]


def rotate_group(session: Session, rotation: GroupRotation) -> int:
    """Hand the group's unassigned open tickets, oldest first, to its members in turn."""
    group = session.get(SupportGroup, rotation.group_id)
    if group is None or not rotation.enabled:
        return 0
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.group_id == group.id, Ticket.assignee_id.is_(None), is_open())
        .order_by(Ticket.created_at, Ticket.id)
        .limit(ROTATION_BATCH)
        # only the tickets' rows: their joined relations sit on the nullable side of an outer
        # join, which PostgreSQL does not lock
        .with_for_update(of=Ticket, skip_locked=True)
    ).all()
    done = 0
    for ticket in tickets:
        candidates = _candidates(group, ticket.module_id)
        if not candidates:
            continue
        member = _next_after(candidates, rotation.last_user_id)
        ticket.assignee, ticket.assignee_id = member, member.id
        touch(ticket)
        rotation.last_user_id = member.id
        session.flush()
        audit.record(
            session,
            None,
            ENTITY,
            ticket.ref,
            "updated",
            {"assignee": [None, member.email]},
            via="round_robin",
            group=group.code,
        )
        notifications.ticket_assigned(session, ticket)
        done += 1
    rotation.updated_at = utcnow()
    return done


def rotate_all(session: Session) -> int:
    """Run round-robin for every group that wants it; the number of tickets assigned."""
    enabled = session.scalars(
        select(GroupRotation)
        .where(GroupRotation.enabled)
        .order_by(GroupRotation.group_id)
        .with_for_update()
    ).all()
    return sum(rotate_group(session, rotation) for rotation in enabled)


def assign_on_arrival(session: Session, ticket: Ticket) -> None:
    """Right after a ticket is reported: if its group works round-robin, hand out the group's
    waiting tickets now (the oldest first, so the new one goes last), not at the next run."""
    if ticket.group_id is None:
        return
    # the rotation row is locked: two arrivals (or an arrival and the job) take turns with it
    rotation = session.get(GroupRotation, ticket.group_id, with_for_update=True)
    if rotation is not None and rotation.enabled:
        rotate_group(session, rotation)
