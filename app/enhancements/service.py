"""Enhancement requests: who sees them, submission (also from a ticket), changes and votes.

Everyone reads every request (the backlog is public to the business) and everyone but the
auditor submits and votes. State changes, qualification, decisions and ranking are in
``governance.py``, comments in ``conversation.py``, lists in ``queries.py``; all build on this
module. Every change writes its audit event in the caller's transaction.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.catalogue.service import ModuleRef, module_ref, module_ref_by_code
from app.core import audit
from app.core.clock import utcnow
from app.core.edge import fits_db_id, is_clean_text
from app.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    StewardError,
    ValidationFailed,
)
from app.core.permissions import Permission, can, require
from app.enhancements.lifecycle import CLOSED, Status
from app.enhancements.models import Enhancement, EnhancementVote
from app.identity.models import User
from app.incidents import service as ticket_service
from app.incidents.models import EnhancementLink, Ticket

REF_PATTERN = re.compile(r"^ENH-(\d{1,12})$", re.IGNORECASE)
ENTITY = "enhancement"
TITLE_MAX = 200
TEXT_MAX = 20_000
INCIDENTS_MAX = 20
EDITABLE_BY_REQUESTER = frozenset({"title", "problem", "benefit"})
EDITABLE_BY_PRODUCT_OWNER = frozenset({"title", "problem", "benefit", "module"})


# --- reading ---------------------------------------------------------------------------------


def parse_ref(ref: str) -> int:
    """The id in ``ENH-000123``; 404 for anything that is not a request reference."""
    match = REF_PATTERN.match((ref or "").strip())
    if not match or not fits_db_id(int(match.group(1))):
        raise NotFound(_l("No enhancement request %(ref)s.", ref=repr(ref)))
    return int(match.group(1))


def get_enhancement(
    session: Session, actor: User, ref: str, *, for_update: bool = False
) -> Enhancement:
    """The request ``ref`` (every request is visible to whoever reads requests); 404 if none."""
    require(actor, Permission.ENHANCEMENT_VIEW)
    found = session.get(Enhancement, parse_ref(ref), with_for_update=for_update or None)
    if found is None:
        raise NotFound(_l("No enhancement request %(ref)s.", ref=repr(ref)))
    return found


def sees_internal(actor: User, enhancement: Enhancement) -> bool:
    """Internal notes: the module's product owner, the committee, admins, and auditors."""
    return can(actor, Permission.ENHANCEMENT_NOTE_INTERNAL, enhancement.module_id) or can(
        actor, Permission.AUDIT_VIEW
    )


def is_product_owner(actor: User, enhancement: Enhancement) -> bool:
    return can(actor, Permission.ENHANCEMENT_QUALIFY, enhancement.module_id)


def has_voted(session: Session, actor: User, enhancement: Enhancement) -> bool:
    return (
        session.scalar(
            select(EnhancementVote.id).where(
                EnhancementVote.enhancement_id == enhancement.id,
                EnhancementVote.user_id == actor.id,
            )
        )
        is not None
    )


def voted_ids(session: Session, actor: User, ids: list[int]) -> set[int]:
    """Which of the requests ``ids`` ``actor`` voted for (one query for a page)."""
    if not ids:
        return set()
    return set(
        session.scalars(
            select(EnhancementVote.enhancement_id).where(
                EnhancementVote.user_id == actor.id, EnhancementVote.enhancement_id.in_(ids)
            )
        )
    )


def incident_refs(session: Session, enhancements: list[Enhancement]) -> dict[int, list[str]]:
    """The tickets linked to each request (motivating incidents, or the ticket it came from)."""
    ids = [e.id for e in enhancements]
    if not ids:
        return {}
    found: dict[int, list[str]] = {i: [] for i in ids}
    rows = session.execute(
        select(EnhancementLink.enhancement_id, EnhancementLink.ticket_id)
        .where(EnhancementLink.enhancement_id.in_(ids))
        .order_by(EnhancementLink.ticket_id)
    )
    for enhancement_id, ticket_id in rows:
        found[enhancement_id].append(f"INC-{ticket_id:06d}")
    return found


def statuses_of(session: Session, ids: list[int]) -> dict[int, str]:
    """The status of each request in ``ids`` (for pages of other domains that link to them)."""
    if not ids:
        return {}
    rows = session.execute(
        select(Enhancement.id, Enhancement.status).where(Enhancement.id.in_(ids))
    )
    return {enhancement_id: status for enhancement_id, status in rows}


# --- submission ------------------------------------------------------------------------------


def _text_errors(values: dict[str, str], errors: dict[str, list[str]]) -> None:
    limits = {"title": TITLE_MAX, "problem": TEXT_MAX, "benefit": TEXT_MAX}
    missing = {
        "title": "Say in a few words what should change.",
        "problem": "Describe the problem to solve, not only the solution you wish for.",
        "benefit": "Say what the business gains once it is solved.",
    }
    for name, text in values.items():
        if not text:
            errors[name] = [missing[name]]
        elif len(text) > limits[name]:
            errors[name] = [
                _l(
                    "At most %(value)s characters (this one has %(count)s).",
                    value=format(limits[name], ","),
                    count=format(len(text), ","),
                )
            ]
        elif not is_clean_text(text):
            errors[name] = [_l("Contains characters that cannot be stored.")]


def _module(session: Session, code: str | None, errors: dict[str, list[str]]) -> ModuleRef | None:
    if not (code or "").strip():
        errors["module"] = [_l("Choose the ERP module.")]
        return None
    module = module_ref_by_code(session, code or "")
    if module is None or not module.active:
        errors["module"] = [_l("Choose one of the active ERP modules in the list.")]
        return None
    return module


def _tickets(
    session: Session, actor: User, refs: list[str], errors: dict[str, list[str]]
) -> list[Ticket]:
    """The tickets named as motivating incidents; each must exist and be visible to ``actor``."""
    found: list[Ticket] = []
    unknown: list[str] = []
    if len(refs) > INCIDENTS_MAX:
        errors["incidents"] = [
            _l("At most %(incidents_max)s incidents.", incidents_max=INCIDENTS_MAX)
        ]
        return found
    for ref in refs:
        try:
            ticket = ticket_service.get_ticket(session, actor, ref)
        except NotFound:
            unknown.append(str(ref))
            continue
        except PermissionDenied:
            unknown.append(str(ref))
            continue
        if all(t.id != ticket.id for t in found):
            found.append(ticket)
    if unknown:
        errors["incidents"] = [_l("No ticket you can see: %(value)s.", value=", ".join(unknown))]
    return found


def submit(
    session: Session,
    actor: User,
    *,
    title: str,
    problem: str,
    benefit: str,
    module: str,
    incidents: list[str] | tuple[str, ...] = (),
    requester: User | None = None,
    **context: Any,
) -> Enhancement:
    """Submit a request; every field is checked at once (422 naming each that is wrong).

    ``requester`` is whom the request is for when someone submits it on their behalf (an
    agent turning a ticket into a request); it defaults to ``actor``.
    """
    require(actor, Permission.ENHANCEMENT_SUBMIT)
    values = {
        "title": (title or "").strip(),
        "problem": (problem or "").strip(),
        "benefit": (benefit or "").strip(),
    }
    errors: dict[str, list[str]] = {}
    _text_errors(values, errors)
    found = _module(session, module, errors)
    tickets = _tickets(session, actor, list(incidents or ()), errors)
    if errors or found is None:
        raise ValidationFailed(_l("The request is incomplete."), errors=errors)
    owner = requester or actor
    now = utcnow()
    enhancement = Enhancement(
        **values,
        module_id=found.id,
        requester_id=owner.id,
        requester=owner,
        status=Status.SUBMITTED.value,
        vote_count=0,
        created_at=now,
        updated_at=now,
    )
    session.add(enhancement)
    session.flush()
    audit.record(
        session,
        actor,
        ENTITY,
        enhancement.ref,
        "submitted",
        {
            "status": [None, enhancement.status],
            "module": [None, found.code],
            "title": [None, enhancement.title],
            "requester": [None, owner.email],
        },
        **context,
    )
    for ticket in tickets:
        ticket_service.add_enhancement_link(session, actor, ticket, enhancement.id, enhancement.ref)
    return enhancement


def submit_from_ticket(
    session: Session,
    actor: User,
    ticket: Ticket,
    *,
    title: str | None = None,
    problem: str | None = None,
    benefit: str | None = None,
) -> Enhancement:
    """The support team turns a ticket into a request for its reporter; both stay linked.

    What was not typed comes from the ticket (its title, its description as the problem).
    """
    if not can(actor, Permission.TICKET_WORK, ticket.module_id):
        raise PermissionDenied(_l("Only the support team turns a ticket into a request."))
    require(actor, Permission.ENHANCEMENT_SUBMIT)
    module = module_ref(session, ticket.module_id)
    return submit(
        session,
        actor,
        title=(title or "").strip() or ticket.title,
        problem=(problem or "").strip() or ticket.description,
        benefit=(benefit or "").strip(),
        module=module.code if module else "",
        incidents=[ticket.ref],
        requester=ticket.reporter,
        from_ticket=ticket.ref,
    )


# --- changes ---------------------------------------------------------------------------------


def editable_fields(actor: User, enhancement: Enhancement) -> frozenset[str]:
    """What ``actor`` may change now: the requester their words until the review starts, the
    module's product owner the words and the module until the request is closed."""
    if enhancement.status in CLOSED:
        return frozenset()
    fields: set[str] = set()
    if is_product_owner(actor, enhancement):
        fields |= EDITABLE_BY_PRODUCT_OWNER
    if (
        enhancement.requester_id == actor.id
        and enhancement.status == Status.SUBMITTED
        and can(actor, Permission.ENHANCEMENT_SUBMIT)
    ):
        fields |= EDITABLE_BY_REQUESTER
    return frozenset(fields)


def update_enhancement(
    session: Session, actor: User, enhancement: Enhancement, values: dict[str, Any]
) -> Enhancement:
    """Change the words or the module of a request (see ``editable_fields``); audited."""
    require(actor, Permission.ENHANCEMENT_SUBMIT)
    if enhancement.status in CLOSED:
        raise Conflict(
            _l("A closed request cannot change."), current_status=enhancement.status, allowed=[]
        )
    allowed = editable_fields(actor, enhancement)
    refused = sorted(set(values) - allowed)
    if refused:
        raise PermissionDenied(
            _l("You cannot change these fields now."),
            errors={name: [_l("Not editable by you in this state.")] for name in refused},
        )
    errors: dict[str, list[str]] = {}
    words = {k: (values[k] or "").strip() for k in ("title", "problem", "benefit") if k in values}
    _text_errors(words, errors)
    module = _module(session, values["module"], errors) if "module" in values else None
    if module is not None and not can(actor, Permission.ENHANCEMENT_QUALIFY, module.id):
        errors["module"] = [_l("You are not the product owner of that module.")]
    if errors:
        raise ValidationFailed(_l("The request was not changed."), errors=errors)
    changes = audit.apply_changes(enhancement, words)
    if module is not None and module.id != enhancement.module_id:
        before = module_ref(session, enhancement.module_id)
        changes["module"] = [before.code if before else None, module.code]
        enhancement.module_id = module.id
        enhancement.manual_rank = None  # a rank is a place in one module's backlog
        session.expire(enhancement, ["module"])
    if changes:
        enhancement.updated_at = utcnow()
        session.flush()
        audit.record(session, actor, ENTITY, enhancement.ref, "updated", changes)
    return enhancement


# --- votes -----------------------------------------------------------------------------------


def check_may_vote(actor: User, enhancement: Enhancement) -> None:
    require(actor, Permission.ENHANCEMENT_SUBMIT)
    if enhancement.status in CLOSED:
        raise Conflict(
            _l("Votes are closed on this request."), current_status=enhancement.status, allowed=[]
        )


def may_vote(actor: User, enhancement: Enhancement) -> bool:
    try:
        check_may_vote(actor, enhancement)
    except StewardError:
        return False
    return True


def _recount(session: Session, enhancement: Enhancement) -> None:
    """Store the number of votes, counted in the database (right under concurrent votes)."""
    counted = (
        select(func.count(EnhancementVote.id))
        .where(EnhancementVote.enhancement_id == enhancement.id)
        .scalar_subquery()
    )
    session.execute(
        update(Enhancement)
        .where(Enhancement.id == enhancement.id)
        .values(vote_count=counted, version=Enhancement.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(enhancement)


def vote(session: Session, actor: User, enhancement: Enhancement) -> bool:
    """Vote for the request; voting again changes nothing. True when the vote is new."""
    check_may_vote(actor, enhancement)
    if has_voted(session, actor, enhancement):
        return False
    try:
        with session.begin_nested():
            session.add(EnhancementVote(enhancement_id=enhancement.id, user_id=actor.id))
    except IntegrityError:  # the same person voting twice at once: the first one counts
        return False
    _recount(session, enhancement)
    audit.record(session, actor, ENTITY, enhancement.ref, "voted", {"votes": [None, actor.email]})
    return True


def unvote(session: Session, actor: User, enhancement: Enhancement) -> bool:
    """Take one's vote back; True when there was one."""
    check_may_vote(actor, enhancement)
    found = session.scalar(
        select(EnhancementVote).where(
            EnhancementVote.enhancement_id == enhancement.id, EnhancementVote.user_id == actor.id
        )
    )
    if found is None:
        return False
    session.delete(found)
    session.flush()
    _recount(session, enhancement)
    audit.record(session, actor, ENTITY, enhancement.ref, "unvoted", {"votes": [actor.email, None]})
    return True
