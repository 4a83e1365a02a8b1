"""Tickets: who sees them, submission, changes, comments, pre-qualification and satisfaction.

State changes live in ``transitions.py`` (which builds on this module, never the reverse), the
conversation in ``conversation.py``, the SLA clock in ``sla.py``, queues in ``queues.py``.
Every change writes an audit event (the ticket's timeline) and, where someone must hear of
it, a notification through the outbox, all in the caller's transaction.
"""

from __future__ import annotations

import re
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session, object_session
from sqlalchemy.sql import ColumnElement

from app.catalogue.models import SupportGroup
from app.catalogue.service import ModuleRef, module_ref, module_ref_by_code, sla_targets
from app.core import audit
from app.core.clock import utcnow
from app.core.edge import fits_db_id
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.permissions import Permission, can, module_scope, require, require_any
from app.enhancements.models import Enhancement
from app.identity.models import User
from app.incidents import notifications, sla
from app.incidents.lifecycle import Party, Status
from app.incidents.models import EnhancementLink, Satisfaction, Ticket, Watcher

REF_PATTERN = re.compile(r"^INC-(\d{1,12})$", re.IGNORECASE)
# one limit for the API, the pages and the service
TITLE_MAX = 200
DESCRIPTION_MAX = 20_000
ENH_PATTERN = re.compile(r"^ENH-\d{6,}$")
ENTITY = "ticket"


def warning_ratio() -> float:
    return float(current_app.config.get("SLA_WARNING_RATIO", 0.8))


# --- visibility ---------------------------------------------------------------------------


VIEW_PERMISSIONS = (
    Permission.TICKET_VIEW_OWN,
    Permission.TICKET_VIEW_MODULE,
    Permission.TICKET_VIEW_ALL,
)


def visibility_filter(actor: User) -> ColumnElement[bool]:
    """Tickets ``actor`` may see: all (support), their modules' (key users), their own.

    A token issued for none of the ticket-reading scopes is refused (403), not shown nothing.
    """
    require_any(actor, VIEW_PERMISSIONS)
    everywhere = module_scope(actor, Permission.TICKET_VIEW_ALL)
    if everywhere is None:
        return and_(True)
    clauses: list[ColumnElement[bool]] = []
    if everywhere:
        clauses.append(Ticket.module_id.in_(everywhere))
    modules = module_scope(actor, Permission.TICKET_VIEW_MODULE)
    if modules is None:
        return and_(True)
    if modules:
        clauses.append(Ticket.module_id.in_(modules))
    if can(actor, Permission.TICKET_VIEW_OWN):
        clauses.append(Ticket.reporter_id == actor.id)
    if can(actor, Permission.TICKET_WATCH):
        clauses.append(Ticket.id.in_(select(Watcher.ticket_id).where(Watcher.user_id == actor.id)))
    return or_(*clauses) if clauses else false()


def can_see(actor: User, ticket: Ticket) -> bool:
    return (
        can(actor, Permission.TICKET_VIEW_ALL, ticket.module_id)
        or can(actor, Permission.TICKET_VIEW_MODULE, ticket.module_id)
        or (ticket.reporter_id == actor.id and can(actor, Permission.TICKET_VIEW_OWN))
        or (can(actor, Permission.TICKET_WATCH) and watches(actor, ticket))
    )


def watches(actor: User, ticket: Ticket) -> bool:
    """Whether ``actor`` follows ``ticket`` (a follower reads its public side)."""
    session = object_session(ticket)
    if session is None or ticket.id is None:
        return False
    found = session.scalar(
        select(Watcher.user_id).where(Watcher.ticket_id == ticket.id, Watcher.user_id == actor.id)
    )
    return found is not None


def sees_internal(actor: User, ticket: Ticket) -> bool:
    return can(actor, Permission.TICKET_VIEW_INTERNAL, ticket.module_id)


def parties(actor: User | None, ticket: Ticket) -> set[Party]:
    """The roles ``actor`` plays on this ticket, for the state machine."""
    if actor is None:
        return {Party.SYSTEM}
    found: set[Party] = set()
    if can(actor, Permission.TICKET_WORK, ticket.module_id):
        found.add(Party.AGENT)
    if ticket.reporter_id == actor.id:
        found.add(Party.REQUESTER)
    return found


def parse_ref(ref: str) -> int:
    match = REF_PATTERN.match((ref or "").strip())
    if not match or not fits_db_id(int(match.group(1))):
        raise NotFound(_l("No ticket %(ref)s.", ref=repr(ref)))
    return int(match.group(1))


def get_ticket(session: Session, actor: User, ref: str, *, for_update: bool = False) -> Ticket:
    """The ticket ``ref`` if ``actor`` may see it; 404 otherwise (existence is not revealed)."""
    require_any(actor, VIEW_PERMISSIONS)
    ticket = session.get(Ticket, parse_ref(ref), with_for_update=for_update or None)
    if ticket is None or not can_see(actor, ticket):
        raise NotFound(_l("No ticket %(ref)s.", ref=repr(ref)))
    return ticket


# --- submission and changes ---------------------------------------------------------------


def _check_level(name: str, value: str) -> str:
    if value not in sla.LEVELS:
        raise ValidationFailed(
            _l("Invalid %(name)s.", name=name),
            errors={name: [_l("Must be one of: %(value)s.", value=", ".join(sla.LEVELS))]},
        )
    return value


def _module_or_422(session: Session, code: str) -> ModuleRef:
    module = module_ref_by_code(session, code)
    if module is None:
        raise ValidationFailed(
            _l("No module %(code)s.", code=repr(code)),
            errors={"module": [_l("Choose one of the ERP modules in the list.")]},
        )
    if not module.active:
        raise ValidationFailed(
            _l("This module is retired."),
            errors={"module": [_l("This module is retired; choose another.")]},
        )
    return module


def apply_priority(session: Session, ticket: Ticket, priority: str) -> None:
    """Set the priority and its SLA targets, then recompute the deadlines."""
    policy = sla_targets(session)[priority]
    ticket.priority = priority
    ticket.response_target_minutes = policy.response_minutes
    ticket.resolution_target_minutes = policy.resolution_minutes
    ticket.sla_business_hours = policy.business_hours
    sla.refresh_due_times(ticket, warning_ratio(), session)


def create_ticket(
    session: Session,
    actor: User,
    *,
    title: str,
    description: str,
    module: str,
    impact: str,
    urgency: str,
) -> Ticket:
    """Submit an incident: priority from the ITIL matrix, SLA clock started, requester told."""
    require(actor, Permission.TICKET_CREATE)
    title, description = (title or "").strip(), (description or "").strip()
    # every field is checked before answering, so the form shows all its errors at once
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = [_l("Say in a few words what is broken.")]
    elif len(title) > TITLE_MAX:
        errors["title"] = [
            _l(
                "At most %(title_max)s characters (this one has %(count)s).",
                title_max=format(TITLE_MAX, ","),
                count=format(len(title), ","),
            )
        ]
    if not description:
        errors["description"] = [_l("Describe what happened and what you expected.")]
    elif len(description) > DESCRIPTION_MAX:
        errors["description"] = [
            _l(
                "At most %(description_max)s characters (this one has %(count)s).",
                description_max=format(DESCRIPTION_MAX, ","),
                count=format(len(description), ","),
            )
        ]
    found = None
    if not (module or "").strip():
        errors["module"] = [_l("Choose the ERP module.")]
    else:
        try:
            found = _module_or_422(session, module)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    for name, level in (("impact", impact), ("urgency", urgency)):
        try:
            _check_level(name, level)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors or found is None:
        raise ValidationFailed(_l("The ticket is incomplete."), errors=errors)
    now = utcnow()
    ticket = Ticket(
        title=title,
        description=description,
        module_id=found.id,
        reporter_id=actor.id,
        reporter=actor,
        impact=impact,
        urgency=urgency,
        status=Status.NEW,
        group_id=found.support_group_id,
        created_at=now,
        updated_at=now,
        paused_seconds=0,
        reopen_count=0,
        # a new ticket has neither: said here, answering with it needs no read
        enhancement_links=[],
        satisfaction=None,
    )
    apply_priority(session, ticket, sla.priority_for(impact, urgency))
    session.add(ticket)
    session.flush()
    audit.record(
        session,
        actor,
        ENTITY,
        ticket.ref,
        "created",
        {
            "status": [None, ticket.status],
            "priority": [None, ticket.priority],
            "module": [None, found.code],
            "title": [None, ticket.title],
        },
    )
    notifications.ticket_created(session, ticket)
    return ticket


def _resolve_assignee(session: Session, email: str | None, ticket: Ticket) -> User | None:
    if not email:
        return None
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active or not can(user, Permission.TICKET_WORK, ticket.module_id):
        raise ValidationFailed(
            _l("Cannot assign to this person."),
            errors={"assignee": [_l("Not an active support agent for this module.")]},
        )
    return user


def _resolve_group(session: Session, code: str | None) -> SupportGroup | None:
    if not code:
        return None
    group = session.scalar(select(SupportGroup).where(SupportGroup.code == code.strip().upper()))
    if group is None:
        raise ValidationFailed(
            _l("Unknown support group."), errors={"group": [_l("No such group.")]}
        )
    return group


def assign(
    session: Session,
    actor: User,
    ticket: Ticket,
    *,
    assignee: str | None = ...,  # type: ignore[assignment]
    group: str | None = ...,  # type: ignore[assignment]
) -> dict[str, list[Any]]:
    """Route the ticket to a group and/or an agent; returns the audited changes."""
    changes: dict[str, list[Any]] = {}
    if group is not ...:
        new_group = _resolve_group(session, group)
        if new_group != ticket.group:
            changes["group"] = [
                ticket.group.code if ticket.group else None,
                new_group.code if new_group else None,
            ]
            ticket.group, ticket.group_id = new_group, new_group.id if new_group else None
    if assignee is not ...:
        new_assignee = _resolve_assignee(session, assignee, ticket)
        if new_assignee != ticket.assignee:
            changes["assignee"] = [
                ticket.assignee.email if ticket.assignee else None,
                new_assignee.email if new_assignee else None,
            ]
            ticket.assignee = new_assignee
            ticket.assignee_id = new_assignee.id if new_assignee else None
            if new_assignee is not None and new_assignee.id != actor.id:
                notifications.ticket_assigned(session, ticket)
    return changes


def override_priority(
    session: Session, actor: User, ticket: Ticket, priority: str, reason: str | None
) -> dict[str, list[Any]]:
    """An agent sets a priority other than the matrix's; the reason is mandatory and audited."""
    if priority not in sla.PRIORITIES:
        raise ValidationFailed(
            _l("Invalid priority."),
            errors={"priority": [_l("One of %(value)s.", value=", ".join(sla.PRIORITIES))]},
        )
    if priority == ticket.priority:
        return {}
    if not (reason or "").strip():
        raise ValidationFailed(
            _l("Changing the priority needs a reason."),
            errors={"reason": [_l("Say why the priority differs from impact x urgency.")]},
        )
    before = ticket.priority
    apply_priority(session, ticket, priority)
    ticket.priority_reason = reason.strip()
    return {"priority": [before, priority], "priority_reason": [None, ticket.priority_reason]}


EDITABLE_BY_REQUESTER = {"title", "description"}
EDITABLE_BY_AGENT = {"title", "description", "module", "impact", "urgency", "assignee", "group"}


def update_ticket(session: Session, actor: User, ticket: Ticket, values: dict[str, Any]) -> Ticket:
    """Change fields: the requester fixes title/description while new; agents route and re-rate."""
    who = parties(actor, ticket)
    allowed = set()
    if Party.AGENT in who:
        allowed |= EDITABLE_BY_AGENT
    if Party.REQUESTER in who and ticket.status == Status.NEW:
        allowed |= EDITABLE_BY_REQUESTER
    refused = sorted(set(values) - allowed)
    if refused:
        raise PermissionDenied(
            _l("You cannot change these fields now."),
            errors={name: [_l("Not editable by you in this state.")] for name in refused},
        )
    if ticket.status in (Status.CLOSED, Status.CANCELLED):
        raise Conflict(
            _l("A closed or cancelled ticket cannot change."), current_status=ticket.status
        )
    changes: dict[str, list[Any]] = {}
    plain = {k: values[k].strip() for k in ("title", "description") if k in values}
    if any(not v for v in plain.values()):
        raise ValidationFailed(
            _l("Fields cannot be empty."),
            errors={k: [_l("Cannot be empty.")] for k, v in plain.items() if not v},
        )
    changes |= audit.apply_changes(ticket, plain)
    if "module" in values:
        module = _module_or_422(session, values["module"])
        if module.id != ticket.module_id:
            before = module_ref(session, ticket.module_id)
            changes["module"] = [before.code if before else None, module.code]
            ticket.module_id = module.id
            session.expire(ticket, ["module"])
            sla.refresh_due_times(ticket, warning_ratio(), session)
    rating = {k: _check_level(k, values[k]) for k in ("impact", "urgency") if k in values}
    if rating:
        changes |= audit.apply_changes(ticket, rating)
        matrix = sla.priority_for(ticket.impact, ticket.urgency)
        if ticket.priority_reason is None and matrix != ticket.priority:
            changes["priority"] = [ticket.priority, matrix]
            apply_priority(session, ticket, matrix)
    routing = {k: values[k] for k in ("assignee", "group") if k in values}
    if routing:
        changes |= assign(session, actor, ticket, **routing)
    if changes:
        touch(ticket)
        session.flush()
        audit.record(session, actor, ENTITY, ticket.ref, "updated", changes)
    return ticket


def touch(ticket: Ticket) -> None:
    ticket.updated_at = utcnow()


def prequalify(
    session: Session,
    actor: User,
    ticket: Ticket,
    *,
    priority: str | None = None,
    note: str | None = None,
) -> Ticket:
    """A key user of the module suggests a priority and adds context before triage."""
    require(actor, Permission.TICKET_PREQUALIFY, ticket.module_id)
    if ticket.status != Status.NEW:
        raise Conflict(_l("Pre-qualification happens before triage."), current_status=ticket.status)
    if priority is not None and priority not in sla.PRIORITIES:
        raise ValidationFailed(_l("Invalid priority."), errors={"priority": [_l("P1 to P5.")]})
    changes = audit.apply_changes(
        ticket,
        {"suggested_priority": priority, "prequalification_note": (note or "").strip() or None},
    )
    if changes:
        touch(ticket)
        session.flush()
        audit.record(session, actor, ENTITY, ticket.ref, "prequalified", changes)
    return ticket


def rate(
    session: Session, actor: User, ticket: Ticket, *, rating: int, comment: str | None = None
) -> Satisfaction:
    """The requester rates the support once the ticket is resolved (once per ticket)."""
    if ticket.reporter_id != actor.id:
        raise PermissionDenied(_l("Only the requester rates the support of a ticket."))
    if ticket.status not in (Status.RESOLVED, Status.CLOSED) or ticket.resolved_at is None:
        raise Conflict(_l("A ticket is rated once it is resolved."), current_status=ticket.status)
    if ticket.satisfaction is not None:
        raise Conflict(
            _l("This ticket is already rated."), errors={"rating": [_l("Already rated.")]}
        )
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValidationFailed(_l("Invalid rating."), errors={"rating": [_l("From 1 to 5 stars.")]})
    satisfaction = Satisfaction(
        ticket=ticket, rating=rating, comment=(comment or "").strip() or None, rated_by_id=actor.id
    )
    session.add(satisfaction)
    session.flush()
    audit.record(session, actor, ENTITY, ticket.ref, "rated", {"rating": [None, rating]})
    return satisfaction


def link_enhancement(session: Session, actor: User, ticket: Ticket, ref: str) -> EnhancementLink:
    """Record that enhancement ``ref`` would remove the cause of this incident (422 unless
    ``ref`` names an existing request)."""
    if Party.AGENT not in parties(actor, ticket):
        raise PermissionDenied(_l("Only the support team links tickets to enhancements."))
    ref = (ref or "").strip().upper()
    if not ENH_PATTERN.match(ref):
        raise ValidationFailed(
            _l("Invalid reference."), errors={"enhancement": [_l("Like ENH-000045.")]}
        )
    number = int(ref.removeprefix("ENH-"))
    if not fits_db_id(number) or session.get(Enhancement, number) is None:
        raise ValidationFailed(
            _l("No such enhancement request."),
            errors={"enhancement": [_l("No enhancement request %(ref)s.", ref=ref)]},
        )
    return add_enhancement_link(session, actor, ticket, number, f"ENH-{number:06d}")


def add_enhancement_link(
    session: Session, actor: User, ticket: Ticket, enhancement_id: int, ref: str
) -> EnhancementLink:
    """Link the ticket to an existing request (once); the caller checked who may."""
    for existing in ticket.enhancement_links:
        if existing.enhancement_id == enhancement_id or existing.enhancement_ref == ref:
            return existing
    link = EnhancementLink(
        enhancement_ref=ref, enhancement_id=enhancement_id, linked_by_id=actor.id
    )
    ticket.enhancement_links.append(link)
    session.flush()
    audit.record(session, actor, ENTITY, ticket.ref, "linked", {"enhancement": [None, ref]})
    return link


def history(session: Session, actor: User, ticket: Ticket) -> list[audit.AuditEvent]:
    """The ticket's timeline from the audit log; internal notes only for the support team."""
    events = session.scalars(
        select(audit.AuditEvent)
        .where(audit.AuditEvent.entity_type == ENTITY, audit.AuditEvent.entity_id == ticket.ref)
        .order_by(audit.AuditEvent.id)
    )
    if sees_internal(actor, ticket):
        return list(events)
    # internal notes and internal files are recorded with public=False
    return [e for e in events if (e.context or {}).get("public") is not False]
