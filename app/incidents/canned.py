"""Canned responses: ready answers the support team inserts in a ticket's reply box.

Admins write them, for every module or for one; agents pick one on a ticket and get its text
with the placeholders filled for that ticket: ``{{requester_name}}``, ``{{ticket_ref}}``,
``{{ticket_title}}``, ``{{module}}`` and ``{{agent_name}}``. A placeholder it does not know is
left as written, so a typo shows in the preview instead of vanishing.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.catalogue.service import module_ref, module_ref_by_code
from app.core import audit
from app.core.clock import utcnow
from app.core.edge import is_clean_text
from app.core.errors import NotFound, ValidationFailed
from app.core.permissions import Permission, require
from app.identity.models import User
from app.incidents.models import CannedResponse, Ticket

ENTITY = "canned_response"
TITLE_MAX = 120
BODY_MAX = 10_000
PLACEHOLDERS = ("requester_name", "ticket_ref", "ticket_title", "module", "agent_name")
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def list_canned(
    session: Session, actor: User, *, module: str | None = None, module_id: int | None = None
) -> list[CannedResponse]:
    """The responses of every module, then those of ``module`` (or all, without one)."""
    require(actor, Permission.TICKET_WORK)
    stmt = select(CannedResponse)
    if module is not None:
        found = module_ref_by_code(session, module)
        module_id = found.id if found else -1
    if module_id is not None:
        stmt = stmt.where(
            or_(CannedResponse.module_id.is_(None), CannedResponse.module_id == module_id)
        )
    order = (CannedResponse.module_id.is_not(None), CannedResponse.title, CannedResponse.id)
    return list(session.scalars(stmt.order_by(*order)))


def get_canned(session: Session, actor: User, canned_id: int) -> CannedResponse:
    require(actor, Permission.TICKET_WORK)
    canned = session.get(CannedResponse, canned_id) if 0 < canned_id < 2**31 else None
    if canned is None:
        raise NotFound(_l("No canned response %(canned_id)s.", canned_id=canned_id))
    return canned


def _checked(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    if "title" in values:
        title = (values["title"] or "").strip()
        if not title or len(title) > TITLE_MAX or not is_clean_text(title):
            errors["title"] = [_l("A title of 1 to %(title_max)s characters.", title_max=TITLE_MAX)]
        clean["title"] = title
    if "body" in values:
        body = (values["body"] or "").strip()
        if not body or len(body) > BODY_MAX or not is_clean_text(body):
            errors["body"] = [
                _l("A text of 1 to %(body_max)s characters.", body_max=format(BODY_MAX, ","))
            ]
        clean["body"] = body
    if "module" in values:
        code = (values["module"] or "").strip()
        found = module_ref_by_code(session, code) if code else None
        if code and found is None:
            errors["module"] = [_l("No such module; leave empty for every module.")]
        clean["module_id"] = found.id if found else None
    if errors:
        raise ValidationFailed(_l("The canned response was not saved."), errors=errors)
    return clean


def _module_code(session: Session, module_id: int | None) -> str | None:
    found = module_ref(session, module_id) if module_id else None
    return found.code if found else None


def create_canned(
    session: Session, actor: User, *, title: str, body: str, module: str | None = None
) -> CannedResponse:
    """An admin adds a response (for every module, or for ``module``)."""
    require(actor, Permission.CATALOGUE_MANAGE)
    clean = _checked(session, {"title": title, "body": body, "module": module})
    canned = CannedResponse(**clean, created_by_id=actor.id)
    session.add(canned)
    session.flush()
    audit.record(
        session,
        actor,
        ENTITY,
        canned.id,
        "created",
        {"title": [None, canned.title], "module": [None, _module_code(session, canned.module_id)]},
    )
    return canned


def update_canned(
    session: Session, actor: User, canned: CannedResponse, values: dict[str, Any]
) -> CannedResponse:
    """An admin rewrites a response (title, body, module)."""
    require(actor, Permission.CATALOGUE_MANAGE)
    clean = _checked(session, values)
    before_module = _module_code(session, canned.module_id)
    changes = audit.apply_changes(canned, {k: v for k, v in clean.items() if k != "module_id"})
    if "module_id" in clean and clean["module_id"] != canned.module_id:
        canned.module_id = clean["module_id"]
        changes["module"] = [before_module, _module_code(session, canned.module_id)]
    if changes:
        canned.updated_at = utcnow()
        session.flush()
        audit.record(session, actor, ENTITY, canned.id, "updated", changes)
    return canned


def delete_canned(session: Session, actor: User, canned: CannedResponse) -> None:
    require(actor, Permission.CATALOGUE_MANAGE)
    audit.record(session, actor, ENTITY, canned.id, "deleted", {"title": [canned.title, None]})
    session.delete(canned)
    session.flush()


def fill(text: str, values: dict[str, str]) -> str:
    """``text`` with each known placeholder replaced by its value."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def placeholders_for(session: Session, actor: User, ticket: Ticket) -> dict[str, str]:
    module = module_ref(session, ticket.module_id)
    return {
        "requester_name": ticket.reporter.name if ticket.reporter else "",
        "ticket_ref": ticket.ref,
        "ticket_title": ticket.title,
        "module": module.name if module else "",
        "agent_name": actor.name,
    }


def render_for(session: Session, actor: User, canned: CannedResponse, ticket: Ticket) -> str:
    """The response's text for ``ticket``; 404 if it belongs to another module."""
    if canned.module_id is not None and canned.module_id != ticket.module_id:
        raise NotFound(_l("No canned response %(id)s for this ticket's module.", id=canned.id))
    return fill(canned.body, placeholders_for(session, actor, ticket))
