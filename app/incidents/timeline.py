"""A ticket's history as sentences people read: "Sam Support started working on it", "Waiting
for your answer". Built from the audit log for the ticket page.

People appear by name only (never an email, even to the support team, who read the audit log
for that); changes are named as the form names them, values in words; a field with no name
people would know is left out rather than shown raw. The requester reads "you" and "your".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.core.audit import AuditEvent
from app.core.display import plain_value
from app.identity.models import User
from app.incidents.models import Ticket
from app.incidents.schemas import KEY_USER_FIELDS, SUPPORT_ONLY

STATUS_WORDS = {
    "new": _l("new"),
    "triaged": _l("triaged"),
    "in_progress": _l("in progress"),
    "waiting_on_requester": _l("waiting for the requester's answer"),
    "resolved": _l("resolved"),
    "closed": _l("closed"),
    "cancelled": _l("cancelled"),
}
LEVEL_WORDS = {"high": _l("high"), "medium": _l("medium"), "low": _l("low")}
RESOLUTION_WORDS = {
    "fixed": _l("fixed"),
    "workaround": _l("workaround"),
    "configuration": _l("configuration"),
    "user_training": _l("user training"),
    "not_reproducible": _l("not reproducible"),
    "known_error": _l("known error"),
    "duplicate": _l("duplicate"),
    "no_response": _l("no response"),
}
# The fields a change may show, as people name them; any other field is not shown.
FIELD_WORDS = {
    "priority": _l("Priority"),
    "impact": _l("Impact"),
    "urgency": _l("Urgency"),
    "assignee": _l("Assigned to"),
    "group": _l("Group"),
    "module": _l("Module"),
    "title": _l("Title"),
    "resolution_code": _l("Resolution"),
    "resolution_note": _l("Note"),
    "priority_reason": _l("Reason for the priority"),
    "suggested_priority": _l("Suggested priority"),
    "prequalification_note": _l("Context from the key user"),
    "rating": _l("Rating"),
    "enhancement": _l("Enhancement"),
    "duplicate_of": _l("Duplicate of"),
    "duplicates": _l("Duplicate"),
    "clock": _l("Deadline"),
    "watcher": _l("Follower"),
    "filename": _l("File"),
}
# Shown by the sentence itself, never again as a detail.
IN_SENTENCE = {"status", "reopen_count", "title", "module"}


@dataclass
class Entry:
    """One line of the history: when, the sentence, the details of what changed."""

    at: datetime
    text: str
    details: list[str] = field(default_factory=list)
    internal: bool = False


def _people(session: Session, events: list[AuditEvent]) -> tuple[dict, dict]:
    ids = {e.actor_id for e in events if e.actor_id is not None}
    emails = {
        v
        for e in events
        for v in (e.changes or {}).get("assignee") or []
        if isinstance(v, str) and v
    }
    if not ids and not emails:
        return {}, {}
    found = session.scalars(select(User).where(or_(User.id.in_(ids), User.email.in_(emails))))
    rows = list(found)
    return {u.id: u.name for u in rows}, {u.email: u.name for u in rows}


def _sentence(event: AuditEvent, who: str, by_viewer: bool, viewer_reported: bool) -> str:
    changes = event.changes or {}
    action = event.action
    if action == "created":
        return _("%(who)s reported the incident", who=who)
    if action == "triage":
        return _("%(who)s looked at it and sent it to the right people", who=who)
    if action == "start":
        return _("%(who)s started working on it", who=who)
    if action == "wait":
        if viewer_reported:
            return _("%(who)s asked you for information: waiting for your answer", who=who)
        return _("%(who)s asked the requester for information: waiting for their answer", who=who)
    if action == "resume":
        return _("%(who)s answered: the support team is on it again", who=who)
    if action == "resolve":
        return _("%(who)s resolved it", who=who)
    if action == "close":
        if event.actor_id is None:
            return _("Closed automatically, a few days after it was resolved")
        return _("%(who)s confirmed the solution and closed it", who=who)
    if action == "reopen":
        return _("%(who)s reopened it: it is not solved", who=who)
    if action == "cancel":
        return _("%(who)s cancelled it", who=who)
    if action == "duplicate":
        ref = (changes.get("duplicate_of") or [None, None])[1]
        return _("%(who)s closed it as a duplicate of %(ref)s", who=who, ref=ref or "—")
    if action == "duplicate_linked":
        ref = (changes.get("duplicates") or [None, None])[1]
        return _("%(ref)s was closed as a duplicate of this ticket", ref=ref or "—")
    if action == "commented":
        return _("%(who)s answered", who=who)
    if action == "internal_note":
        return _("%(who)s added an internal note", who=who)
    if action in ("attachment_added", "internal_attachment_added"):
        return _("%(who)s attached a file", who=who)
    if action == "prequalified":
        return _("%(who)s added context from the business side", who=who)
    if action == "rated":
        return _("%(who)s rated the support", who=who)
    if action == "linked":
        return _("%(who)s linked it to an enhancement request", who=who)
    if action == "followed":
        return _("%(who)s started following it", who=who)
    if action == "unfollowed":
        return _("%(who)s stopped following it", who=who)
    if action == "sla_warning":
        return _("Its deadline is getting close")
    if action == "sla_breach":
        return _("Its deadline was missed")
    if action == "updated":
        if "assignee" in changes and changes["assignee"][1] is not None and len(changes) == 1:
            return _("%(who)s assigned it", who=who)
        return _("%(who)s changed it", who=who)
    return _("%(who)s updated it", who=who)


def _value(name: str, value: Any, names: dict[str, str], groups: dict[str, str]) -> str:
    if value is None or value == "":
        return "—"
    if name == "assignee":
        return names.get(value, _("a support agent"))
    if name == "group":
        return groups.get(value, str(value))
    if name in ("impact", "urgency"):
        return str(LEVEL_WORDS.get(value, value))
    if name == "resolution_code":
        return str(RESOLUTION_WORDS.get(value, plain_value(value)))
    if name == "clock":
        return _("first response") if value == "response" else _("resolution")
    if name == "rating":
        return "★" * int(value) if str(value).isdigit() else plain_value(value)
    return plain_value(value)


def _details(event: AuditEvent, hidden: set[str], names: dict, groups: dict) -> list[str]:
    lines = []
    for name, change in (event.changes or {}).items():
        if name in hidden or name in IN_SENTENCE or name not in FIELD_WORDS:
            continue
        if event.action in ("followed", "unfollowed", "duplicate", "duplicate_linked"):
            continue
        before, after = [*change, None, None][:2] if isinstance(change, list) else (None, change)
        label = str(FIELD_WORDS[name])
        now = _value(name, after, names, groups)
        if before is None or event.action in ("sla_warning", "sla_breach"):
            lines.append(f"{label}: {now}")
        else:
            lines.append(f"{label}: {_value(name, before, names, groups)} → {now}")
    return lines


def plain_history(
    session: Session,
    viewer: User,
    ticket: Ticket,
    events: list[AuditEvent],
    *,
    internal: bool,
    group_names: dict[str, str] | None = None,
) -> list[Entry]:
    """The ticket's events (as ``service.history`` gives them to ``viewer``) in sentences."""
    events = list(events)
    by_id, by_email = _people(session, events)
    groups = group_names or {}
    hidden = set() if internal else set(SUPPORT_ONLY) | set(KEY_USER_FIELDS)
    viewer_reported = ticket.reporter_id == viewer.id
    entries = []
    for event in events:
        if event.action == "updated" and not set(event.changes or {}) - hidden:
            continue
        if event.actor_id is None:
            who = _("Steward")
        elif event.actor_id == viewer.id:
            who = _("You")
        else:
            who = by_id.get(event.actor_id) or _("Someone")
        text = _sentence(event, who, event.actor_id == viewer.id, viewer_reported)
        entries.append(
            Entry(
                at=event.occurred_at,
                text=text,
                details=_details(event, hidden, by_email, groups),
                internal=(event.context or {}).get("public") is False,
            )
        )
    return entries
