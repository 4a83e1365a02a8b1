"""Meetings of a committee: the agenda drafted from the data, the minutes, the publication.

A meeting is created with its draft agenda (``agenda.build``); the chair adds, removes and
orders points. Minutes are written on the meeting: attendance, notes (general and per point),
decisions and action items. A decision on an enhancement request is taken through the
enhancement's own transitions, so it lands in its decision log. Publishing freezes the minutes
into a numbered version and sends them to the members; a later correction is published as the
next version, and every version is kept.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from app.core import audit
from app.core.clock import utcnow
from app.core.edge import whole_number
from app.core.errors import Conflict, NotFound
from app.core.pagination import Page, SortKey, paginate
from app.core.permissions import Permission, require
from app.enhancements import transitions as enhancement_transitions
from app.enhancements.lifecycle import DECISIONS
from app.enhancements.models import Enhancement
from app.governance import agenda, notifications
from app.governance.actions import create_action
from app.governance.models import (
    AgendaPoint,
    Committee,
    Decision,
    Meeting,
    MinutesVersion,
)
from app.governance.service import invalid, member_emails, next_occurrence, user_by_email
from app.identity.models import User

ENTITY = "meeting"
OUTCOMES = tuple(DECISIONS.values())  # approve, reject, defer
# the enhancement action that takes each outcome
OUTCOME_ACTIONS = {outcome: action.value for action, outcome in DECISIONS.items()}


def create_meeting(
    session: Session, actor: User, committee: Committee, scheduled_at: datetime
) -> Meeting:
    """Schedule a meeting and draft its agenda from the data as it is now."""
    require(actor, Permission.GOVERNANCE_MANAGE)
    previous = session.scalar(
        select(func.max(Meeting.scheduled_at)).where(
            Meeting.committee_id == committee.id, Meeting.scheduled_at < scheduled_at
        )
    )
    meeting = Meeting(committee=committee, scheduled_at=scheduled_at, created_at=utcnow())
    drafts = agenda.build(session, committee, previous, utcnow().date())
    meeting.points = [
        AgendaPoint(position=i, kind=d.kind, title=d.title[:300], source=d.source)
        for i, d in enumerate(drafts, start=1)
    ]
    session.add(meeting)
    if committee.next_meeting_at is None or committee.next_meeting_at <= scheduled_at:
        committee.next_meeting_at = next_occurrence(committee.cadence, scheduled_at)
    session.flush()
    audit.record(
        session,
        actor,
        ENTITY,
        meeting.id,
        "schedule",
        {"scheduled_at": [None, scheduled_at.isoformat()]},
        committee=committee.name,
        points=len(meeting.points),
    )
    return meeting


def get_meeting(session: Session, actor: User, meeting_id: int) -> Meeting:
    require(actor, Permission.GOVERNANCE_VIEW)
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound(_l("No such meeting."))
    return meeting


def list_meetings(
    session: Session,
    actor: User,
    committee: Committee | None = None,
    cursor: str | None = None,
    limit: int = 25,
) -> Page[Meeting]:
    """Meetings, the latest first."""
    require(actor, Permission.GOVERNANCE_VIEW)
    stmt = select(Meeting)
    if committee is not None:
        stmt = stmt.where(Meeting.committee_id == committee.id)
    keys = [
        SortKey(Meeting.scheduled_at, lambda m: m.scheduled_at, descending=True),
        SortKey(Meeting.id, lambda m: m.id, descending=True),
    ]
    return paginate(session, stmt, keys, cursor, limit)


def _touch(meeting: Meeting) -> None:
    """A change of the agenda or the minutes is a new version of the meeting (its ETag)."""
    flag_modified(meeting, "status")


def _renumber(meeting: Meeting) -> None:
    for i, point in enumerate(sorted(meeting.points, key=lambda p: (p.position, p.id)), 1):
        point.position = i


def add_point(
    session: Session,
    actor: User,
    meeting: Meeting,
    *,
    title: str,
    kind: str = "other",
    source: str | None = None,
) -> AgendaPoint:
    """The chair adds a point at the end of the agenda."""
    require(actor, Permission.GOVERNANCE_MANAGE)
    point = AgendaPoint(
        kind=kind,
        title=title.strip()[:300],
        source=source,
        position=max((p.position for p in meeting.points), default=0) + 1,
    )
    meeting.points.append(point)
    _touch(meeting)
    session.flush()
    audit.record(session, actor, ENTITY, meeting.id, "add_point", {"point": [None, point.title]})
    return point


def remove_point(session: Session, actor: User, meeting: Meeting, point_id: int) -> None:
    require(actor, Permission.GOVERNANCE_MANAGE)
    point = _point(meeting, point_id)
    meeting.points.remove(point)
    _renumber(meeting)
    _touch(meeting)
    session.flush()
    audit.record(session, actor, ENTITY, meeting.id, "remove_point", {"point": [point.title, None]})


def order_points(session: Session, actor: User, meeting: Meeting, order: list[int]) -> None:
    """Put the agenda in ``order`` (point ids; points not named keep their place after)."""
    require(actor, Permission.GOVERNANCE_MANAGE)
    known = {p.id: p for p in meeting.points}
    if any(pid not in known for pid in order) or len(set(order)) != len(order):
        raise invalid("order", _l("Name each point of this agenda at most once."))
    before = [p.id for p in meeting.points]
    rest = [p for p in meeting.points if p.id not in set(order)]
    for i, point in enumerate([known[pid] for pid in order] + rest, start=1):
        point.position = i
    _touch(meeting)
    session.flush()
    after = [p.id for p in sorted(meeting.points, key=lambda p: p.position)]
    audit.record(session, actor, ENTITY, meeting.id, "order_points", {"order": [before, after]})


def move_point(session: Session, actor: User, meeting: Meeting, point_id: int, step: int) -> None:
    """Move one point up (-1) or down (+1) the agenda."""
    ids = [p.id for p in sorted(meeting.points, key=lambda p: (p.position, p.id))]
    index = ids.index(_point(meeting, point_id).id)
    target = max(0, min(len(ids) - 1, index + step))
    ids.insert(target, ids.pop(index))
    order_points(session, actor, meeting, ids)


def _point(meeting: Meeting, point_id: int | None) -> AgendaPoint:
    point = next((p for p in meeting.points if p.id == point_id), None)
    if point is None:
        raise invalid("point", _l("No point %(point_id)s on this agenda.", point_id=point_id))
    return point


def _enhancement(session: Session, ref: str) -> Enhancement:
    number = whole_number(ref.upper().removeprefix("ENH-"))
    found = session.get(Enhancement, number) if number else None
    if found is None:
        raise invalid("decisions", _l("No enhancement request '%(ref)s'.", ref=ref))
    return found


def record_decision(
    session: Session,
    actor: User,
    meeting: Meeting,
    *,
    text: str,
    enhancement: str | None = None,
    outcome: str | None = None,
    point: int | None = None,
) -> Decision:
    """Record a decision; on an enhancement request it is taken through its lifecycle."""
    require(actor, Permission.GOVERNANCE_MANAGE)
    point_row = _point(meeting, point) if point is not None else None
    source = point_row.source if point_row is not None else None
    if enhancement is None and outcome and source and source.startswith("enhancement:"):
        enhancement = source.split(":", 1)[1]  # deciding on the point decides on its request
    target = _enhancement(session, enhancement) if enhancement else None
    if (target is None) != (outcome is None):
        raise invalid(
            "decisions", _l("A decision on a request names both the request and an outcome.")
        )
    if target is not None:
        enhancement_transitions.perform(
            session,
            actor,
            target,
            OUTCOME_ACTIONS[outcome],
            rationale=text,
            meeting=meeting.id,
        )
    decision = Decision(
        meeting=meeting,
        agenda_point_id=point_row.id if point_row else None,
        text=text.strip(),
        enhancement_id=target.id if target else None,
        outcome=outcome,
        decided_at=utcnow(),
        decided_by_id=actor.id,
    )
    session.add(decision)
    _touch(meeting)
    session.flush()
    audit.record(
        session,
        actor,
        ENTITY,
        meeting.id,
        "decide",
        {"decision": [None, decision.text]},
        enhancement=target.ref if target else None,
        outcome=outcome,
    )
    return decision


def record_minutes(
    session: Session,
    actor: User,
    meeting: Meeting,
    *,
    attendees: list[str] | None = None,
    notes: str | None = None,
    points: list[dict] | None = None,
    decisions: list[dict] | None = None,
    actions: list[dict] | None = None,
) -> Meeting:
    """Write the minutes: attendance and notes replace the draft's; decisions and actions add.

    After publication this prepares a correction, published as the next version.
    """
    require(actor, Permission.GOVERNANCE_MANAGE)
    changes: dict[str, list[Any]] = {}
    if attendees is not None:
        emails = sorted({user_by_email(session, e, "attendees").email for e in attendees})
        changes |= audit.apply_changes(meeting, {"attendees": emails})
    if notes is not None:
        changes |= audit.apply_changes(meeting, {"notes": notes.strip() or None})
    for item in points or []:
        point = _point(meeting, item.get("id"))
        if point.notes != item.get("notes"):
            changes[f"point_{point.id}_notes"] = [point.notes, item.get("notes")]
            point.notes = item.get("notes")
    for item in decisions or []:
        record_decision(session, actor, meeting, **item)
    for item in actions or []:
        point = item.pop("point", None)
        source = f"point:{_point(meeting, point).id}" if point is not None else None
        create_action(session, actor, meeting=meeting, source=item.pop("source", source), **item)
    if meeting.status == "published" and (changes or decisions or actions):
        changes["status"] = [meeting.status, "amending"]
        meeting.status = "amending"
    if changes or decisions or actions:
        _touch(meeting)
    session.flush()
    if changes:
        audit.record(session, actor, ENTITY, meeting.id, "minutes", changes)
    return meeting


def minutes_content(session: Session, meeting: Meeting) -> dict:
    """The minutes as they stand, in the plain shape a version freezes."""
    from app.governance.models import ActionItem

    actions = session.scalars(
        select(ActionItem).where(ActionItem.meeting_id == meeting.id).order_by(ActionItem.id)
    )
    return {
        "committee": meeting.committee.name,
        "scheduled_at": meeting.scheduled_at.isoformat(),
        "attendees": list(meeting.attendees or []),
        "notes": meeting.notes,
        "points": [
            {
                "id": p.id,
                "position": p.position,
                "kind": p.kind,
                "title": p.title,
                "source": p.source,
                "notes": p.notes,
            }
            for p in meeting.points
        ],
        "decisions": [
            {
                "text": d.text,
                "enhancement": d.enhancement.ref if d.enhancement else None,
                "outcome": d.outcome,
            }
            for d in meeting.decisions
        ],
        "actions": [
            {
                "id": a.id,
                "title": a.title,
                "owner": a.owner.email,
                "due_date": a.due_date.isoformat(),
                "status": a.status,
            }
            for a in actions
        ],
    }


def publish(session: Session, actor: User, meeting: Meeting) -> MinutesVersion:
    """Freeze the minutes as the next version and send them to the committee's members."""
    require(actor, Permission.GOVERNANCE_MANAGE)
    if meeting.status == "published":
        raise Conflict(_l("These minutes are published; record a correction to publish again."))
    number = len(meeting.versions) + 1
    version = MinutesVersion(
        meeting=meeting,
        number=number,
        content=minutes_content(session, meeting),
        published_at=utcnow(),
        published_by_id=actor.id,
    )
    session.add(version)
    before = meeting.status
    meeting.status = "published"
    meeting.published_at = version.published_at
    session.flush()
    notifications.minutes_published(session, meeting, version)
    audit.record(
        session,
        actor,
        ENTITY,
        meeting.id,
        "publish",
        {"status": [before, "published"]},
        version=number,
        recipients=member_emails(meeting.committee),
    )
    return version


def next_meeting(session: Session, today: date) -> Meeting | None:
    """The earliest meeting not yet held (any committee)."""
    return session.scalar(
        select(Meeting)
        .where(
            Meeting.status == "draft",
            Meeting.scheduled_at >= datetime.combine(today, datetime.min.time(), UTC),
        )
        .order_by(Meeting.scheduled_at, Meeting.id)
        .limit(1)
    )
