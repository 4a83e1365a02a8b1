"""Releasing done items and the release notes business users read.

Releasing (one item, or every done item of a sprint) marks the items ``released`` (their
requests too), writes one release note per module in plain words from the items (what changed,
and why it helps), and announces each note through the outbox: an email to the requesters and
voters of each request and the reporters of each ticket, and the webhook. All in the caller's
transaction, with the audit events.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.core import audit
from app.core.clock import utcnow
from app.core.errors import Conflict
from app.core.pagination import SortKey
from app.core.permissions import Permission, require
from app.enhancements.models import EnhancementVote
from app.identity.models import User
from app.sprints import notifications
from app.sprints.lifecycle import ItemAction, ItemStatus
from app.sprints.models import ReleaseNote, Sprint, SprintItem
from app.sprints.service import items_of, move_item, parties, require_manage

SUMMARY_MAX = 400


def plain_words(item: SprintItem) -> str:
    """One line a business user understands: what changed, and why it helps."""
    if item.kind == "enhancement":
        benefit = " ".join((item.enhancement.benefit or "").split())
        if len(benefit) > SUMMARY_MAX:
            benefit = benefit[: SUMMARY_MAX - 1].rstrip() + "…"
        line = f"{item.enhancement.title}."
        return f"{line} {benefit}" if benefit else line
    return f"Fixed: {item.ticket.title}."


def note_body(module_name: str, items: list[SprintItem]) -> str:
    lines = [f"What changed in {module_name}:"]
    lines += [f"- {plain_words(i)} ({i.ref})" for i in items]
    return "\n".join(lines)


def _write_notes(
    session: Session, actor: User | None, sprint: Sprint, items: list[SprintItem], now: datetime
) -> list[ReleaseNote]:
    by_module: dict[int, list[SprintItem]] = defaultdict(list)
    for item in items:
        by_module[item.module_id].append(item)
    notes = []
    for module_id, released in sorted(by_module.items()):
        module = released[0].module
        note = ReleaseNote(
            sprint_id=sprint.id,
            module_id=module_id,
            title=f"{module.name}: released in {sprint.name}",
            body=note_body(module.name, released),
            released_by_id=actor.id if actor else None,
            released_at=now,
        )
        session.add(note)
        session.flush()
        for item in released:
            item.release_note_id = note.id
        audit.record(
            session,
            actor,
            "release_note",
            note.id,
            "published",
            {"items": [None, [i.ref for i in released]]},
            sprint=sprint.id,
            module=module.code,
        )
        notifications.release_announced(session, note)
        notes.append(note)
    session.flush()
    return notes


def release_items(
    session: Session, actor: User | None, sprint: Sprint, items: list[SprintItem]
) -> list[ReleaseNote]:
    """Release done ``items`` of ``sprint``; one note per module, each announced."""
    now = utcnow()
    for item in items:
        move_item(session, actor, sprint, item, ItemAction.RELEASE)
    return _write_notes(session, actor, sprint, items, now)


def release_sprint(session: Session, actor: User | None, sprint: Sprint) -> list[ReleaseNote]:
    """Release every done item of the sprint (409 when none is done)."""
    if not parties(actor, sprint):
        require_manage(actor, sprint.module_id)
    done = [i for i in items_of(session, sprint) if i.status == ItemStatus.DONE]
    if not done:
        raise Conflict(_l("Nothing in this sprint is done and waiting for release."))
    return release_items(session, actor, sprint, done)


def recipients(session: Session, note: ReleaseNote) -> list[str]:
    """The active requesters and voters of the released requests and reporters of tickets."""
    ids: set[int] = set()
    for item in note.items:
        if item.kind == "enhancement":
            ids.add(item.enhancement.requester_id)
            ids.update(
                session.scalars(
                    select(EnhancementVote.user_id).where(
                        EnhancementVote.enhancement_id == item.enhancement_id
                    )
                )
            )
        else:
            ids.add(item.ticket.reporter_id)
    if not ids:
        return []
    users = session.scalars(select(User).where(User.id.in_(ids), User.active.is_(True)))
    return sorted(u.email for u in users)


def notes_query(
    actor: User, *, sprint_id: int | None = None, module_id: int | None = None
) -> Select:
    """Release notes, filtered (everyone with ``sprint:view`` reads them)."""
    require(actor, Permission.SPRINT_VIEW)
    stmt = select(ReleaseNote)
    if sprint_id is not None:
        stmt = stmt.where(ReleaseNote.sprint_id == sprint_id)
    if module_id is not None:
        stmt = stmt.where(ReleaseNote.module_id == module_id)
    return stmt


NOTES_ORDER = [
    SortKey(ReleaseNote.released_at, lambda n: n.released_at, descending=True),
    SortKey(ReleaseNote.id, lambda n: n.id, descending=True),
]
