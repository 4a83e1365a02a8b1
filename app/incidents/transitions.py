"""Taking an action on a ticket: the state machine decides if it may, this module does it.

Each action's side effects (SLA clock, timestamps, resolution, duplicates, reopen counting,
notifications) sit next to each other here, so the whole lifecycle reads in one place.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.core import audit
from app.core.clock import utcnow
from app.core.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from app.core.permissions import Permission, require
from app.identity.models import User
from app.incidents import notifications, sla
from app.incidents.lifecycle import Action, Party, allowed_actions, transition_for
from app.incidents.models import Ticket
from app.incidents.service import (
    assign,
    get_ticket,
    override_priority,
    parties,
    touch,
    warning_ratio,
)

RESOLUTION_CODES = (
    "fixed",
    "workaround",
    "configuration",
    "user_training",
    "not_reproducible",
    "known_error",
    "duplicate",
    "no_response",
)


def record_first_response(session: Session, ticket: Ticket, now: datetime) -> None:
    """Stop the response clock; a late response is recorded as a breach at once."""
    if ticket.first_response_at is not None:
        return
    ticket.first_response_at = now
    if ticket.response_due_at and now > ticket.response_due_at and not ticket.response_breached_at:
        ticket.response_breached_at = ticket.response_due_at
        record_breach(session, ticket, "response")
    ticket.next_due_at = sla.next_due(ticket)


def record_breach(session: Session, ticket: Ticket, clock: str) -> None:
    """Audit and announce a breach noticed when its clock stopped (the scan will not see it)."""
    if getattr(ticket, f"{clock}_warned_at") is None:
        setattr(ticket, f"{clock}_warned_at", utcnow())
    audit.record(session, None, "ticket", ticket.ref, "sla_breach", {"clock": [None, clock]})
    notifications.sla_event(session, ticket, clock, "breach")


def _reopen_window() -> timedelta:
    return timedelta(days=int(current_app.config.get("TICKET_REOPEN_DAYS", 14)))


def can_reopen(ticket: Ticket, now: datetime) -> bool:
    """A resolved ticket, closed since or not, may be reopened until TICKET_REOPEN_DAYS after
    its resolution; one closed without a resolution (a duplicate) never."""
    return ticket.resolved_at is not None and now - ticket.resolved_at <= _reopen_window()


def perform(
    session: Session, actor: User | None, ticket: Ticket, action: str, **params: Any
) -> Ticket:
    """Apply ``action`` for ``actor`` (None = the system); 409 with the allowed ones if refused.

    Someone who plays no part in the ticket (neither support nor its requester: an auditor, a
    key user) is refused with 403 whatever the action.
    """
    who = parties(actor, ticket)
    if not who:
        require(actor, Permission.TICKET_WORK, ticket.module_id)
    transition = transition_for(ticket.status, action, who)
    now = utcnow()
    before = ticket.status
    changes: dict[str, list[Any]] = {}
    ratio = warning_ratio()
    is_agent = Party.AGENT in who

    if transition.action == Action.TRIAGE:
        ticket.triaged_at = now
        if params.get("priority"):
            changes |= override_priority(
                session, actor, ticket, params["priority"], params.get("reason")
            )
        routing = {k: params[k] for k in ("assignee", "group") if k in params}
        if routing:
            changes |= assign(session, actor, ticket, **routing)
    elif transition.action == Action.START:
        ticket.triaged_at = ticket.triaged_at or now
        if ticket.assignee_id is None and actor is not None and is_agent:
            changes |= assign(session, actor, ticket, assignee=actor.email)
        record_first_response(session, ticket, now)
    elif transition.action == Action.WAIT:
        sla.pause(ticket, now)
    elif transition.action == Action.RESUME:
        sla.resume(ticket, now, ratio)
    elif transition.action == Action.RESOLVE:
        _resolve(ticket, params, now)
        changes["resolution_code"] = [None, ticket.resolution_code]
        record_first_response(session, ticket, now)
        _record_late_resolution(session, ticket, now)
        sla.pause(ticket, now)
    elif transition.action == Action.CLOSE:
        ticket.closed_at = now
    elif transition.action == Action.REOPEN:
        if ticket.resolved_at is None:
            raise InvalidTransition(
                _l("This ticket was closed without a resolution; it cannot be reopened."),
                allowed=allowed_actions(ticket.status, who, can_reopen=False),
                current_status=ticket.status,
            )
        if not can_reopen(ticket, now):
            raise Conflict(
                _l("The reopen window has passed; please open a new ticket."),
                errors={
                    "action": [
                        _l("Reopen within %(days)s days of resolution.", days=_reopen_window().days)
                    ]
                },
            )
        ticket.reopen_count += 1
        ticket.closed_at = None
        ticket.resolved_at = None
        ticket.resolution_code = None
        ticket.resolution_note = None
        changes["reopen_count"] = [ticket.reopen_count - 1, ticket.reopen_count]
        sla.resume(ticket, now, ratio)
    elif transition.action == Action.CANCEL:
        ticket.closed_at = now
        ticket.resolution_note = (params.get("reason") or "").strip() or None
    elif transition.action == Action.DUPLICATE:
        changes |= _mark_duplicate(session, actor, ticket, params.get("duplicate_of"), now)

    ticket.status = transition.target
    ticket.next_due_at = sla.next_due(ticket)
    touch(ticket)
    changes = {"status": [before, ticket.status], **changes}
    session.flush()
    audit.record(session, actor, "ticket", ticket.ref, transition.action.value, changes)
    by_requester = Party.REQUESTER in who and not is_agent
    notifications.after_transition(session, ticket, transition.action, by_requester=by_requester)
    return ticket


def _resolve(ticket: Ticket, params: dict[str, Any], now: datetime) -> None:
    code = params.get("resolution_code")
    note = (params.get("resolution_note") or "").strip()
    errors = {}
    if code not in RESOLUTION_CODES:
        errors["resolution_code"] = [_l("Choose how the ticket was resolved.")]
    if not note:
        errors["resolution_note"] = [_l("Tell the requester what was done.")]
    if errors:
        raise ValidationFailed(_l("A resolution needs a code and a note."), errors=errors)
    ticket.resolution_code = code
    ticket.resolution_note = note
    ticket.resolved_at = now


def _record_late_resolution(session: Session, ticket: Ticket, now: datetime) -> None:
    late = ticket.resolution_due_at is not None and now > ticket.resolution_due_at
    if ticket.paused_since is None and late and ticket.resolution_breached_at is None:
        ticket.resolution_breached_at = ticket.resolution_due_at
        record_breach(session, ticket, "resolution")


def _mark_duplicate(
    session: Session, actor: User | None, ticket: Ticket, ref: str | None, now: datetime
) -> dict[str, list[Any]]:
    if not ref:
        raise ValidationFailed(
            _l("Say which ticket this duplicates."), errors={"duplicate_of": [_l("Required.")]}
        )
    try:
        original = get_ticket(session, actor, ref)
    except NotFound as exc:  # a bad reference in the body is bad input, not a missing ticket
        raise ValidationFailed(
            exc.message, errors={"duplicate_of": [_l("No such ticket.")]}
        ) from exc
    if original.id == ticket.id:
        raise ValidationFailed(
            _l("A ticket cannot duplicate itself."),
            errors={"duplicate_of": [_l("Another ticket.")]},
        )
    if original.duplicate_of_id == ticket.id:
        raise ValidationFailed(
            _l("That ticket is a duplicate of this one."),
            errors={"duplicate_of": [_l("Circular.")]},
        )
    ticket.duplicate_of_id = original.id
    ticket.resolution_code = "duplicate"
    ticket.resolution_note = f"Duplicate of {original.ref}."
    ticket.closed_at = now
    sla.pause(ticket, now)
    audit.record(
        session,
        actor,
        "ticket",
        original.ref,
        "duplicate_linked",
        {"duplicates": [None, ticket.ref]},
    )
    return {"duplicate_of": [None, original.ref]}
