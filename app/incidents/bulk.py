"""Bulk actions on a selection of tickets: assign, change group, change priority (with a
reason), resolve as a duplicate, close.

Each ticket goes through the same services and transitions as when it is handled alone (so it
is audited on its own and refused for the same reasons), inside a savepoint of its own: a
ticket that is refused keeps nothing of the attempt, and the others are still done. The answer
says, ticket by ticket, what happened and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.core import audit
from app.core.errors import Conflict, PermissionDenied, StewardError, ValidationFailed
from app.core.permissions import Permission, require
from app.identity.models import User
from app.incidents import transitions
from app.incidents.assignment import assign_to_me
from app.incidents.lifecycle import FINAL_STATUSES, Action, Party
from app.incidents.models import Ticket
from app.incidents.service import (
    ENTITY,
    get_ticket,
    override_priority,
    parties,
    touch,
    update_ticket,
)

ACTIONS = ("assign_to_me", "assign", "group", "priority", "duplicate", "close")
MAX_TICKETS = 100


@dataclass
class RowOutcome:
    """What became of one ticket of the selection."""

    ref: str
    done: bool
    message: str
    code: str | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)


def _check_request(action: str, refs: list[str], params: dict[str, Any]) -> list[str]:
    errors: dict[str, list[str]] = {}
    if action not in ACTIONS:
        errors["action"] = [_l("One of: %(value)s.", value=", ".join(ACTIONS))]
    unique = list(dict.fromkeys(r.strip().upper() for r in refs if r and r.strip()))
    if not unique:
        errors["tickets"] = [_l("Select at least one ticket.")]
    elif len(unique) > MAX_TICKETS:
        errors["tickets"] = [
            _l("At most %(max_tickets)s tickets at once.", max_tickets=MAX_TICKETS)
        ]
    if action == "assign" and not params.get("assignee"):
        errors["assignee"] = [_l("Choose the agent.")]
    if action == "group" and not params.get("group"):
        errors["group"] = [_l("Choose the group.")]
    if action == "priority":
        if not params.get("priority"):
            errors["priority"] = [_l("Choose the priority.")]
        if not (params.get("reason") or "").strip():
            errors["reason"] = [_l("Say why the priority differs from impact x urgency.")]
    if action == "duplicate" and not params.get("duplicate_of"):
        errors["duplicate_of"] = [_l("Say which ticket they duplicate.")]
    if errors:
        raise ValidationFailed(_l("The bulk action is incomplete."), errors=errors)
    return unique


def _change_priority(session: Session, actor: User, ticket: Ticket, params: dict) -> None:
    if Party.AGENT not in parties(actor, ticket):
        raise PermissionDenied(_l("Only the support team changes a ticket's priority."))
    if ticket.status in FINAL_STATUSES:
        raise Conflict(
            _l("A closed or cancelled ticket cannot change."), current_status=ticket.status
        )
    changes = override_priority(session, actor, ticket, params["priority"], params.get("reason"))
    if changes:
        touch(ticket)
        session.flush()
        audit.record(session, actor, ENTITY, ticket.ref, "updated", changes, via="bulk")


def _apply(session: Session, actor: User, ticket: Ticket, action: str, params: dict) -> str:
    if action == "assign_to_me":
        assign_to_me(session, actor, ticket)
        return "Assigned to you."
    if action == "assign":
        update_ticket(session, actor, ticket, {"assignee": params["assignee"]})
        return "Assigned."
    if action == "group":
        update_ticket(session, actor, ticket, {"group": params["group"]})
        return "Moved to the group."
    if action == "priority":
        _change_priority(session, actor, ticket, params)
        return "Priority changed."
    if action == "duplicate":
        transitions.perform(
            session, actor, ticket, Action.DUPLICATE, duplicate_of=params["duplicate_of"]
        )
        return "Closed as a duplicate."
    transitions.perform(session, actor, ticket, Action.CLOSE)
    return "Closed."


def apply_bulk(
    session: Session, actor: User, refs: list[str], action: str, **params: Any
) -> list[RowOutcome]:
    """Apply ``action`` to each ticket of ``refs`` in turn; one outcome per ticket, in order.

    Only the support team acts in bulk (403 for anyone else, before any ticket is read).
    """
    require(actor, Permission.TICKET_WORK)
    outcomes: list[RowOutcome] = []
    for ref in _check_request(action, refs, params):
        savepoint = session.begin_nested()
        try:
            ticket = get_ticket(session, actor, ref)
            message = _apply(session, actor, ticket, action, params)
            session.flush()
            savepoint.commit()
            outcomes.append(RowOutcome(ticket.ref, True, message))
        except StewardError as exc:
            savepoint.rollback()
            outcomes.append(RowOutcome(ref, False, exc.message, exc.code, dict(exc.errors or {})))
    return outcomes
