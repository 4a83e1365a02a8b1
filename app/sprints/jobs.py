"""Sprint work the workers run: the daily burndown, and the release announcements.

Each function takes the job's session and plain arguments; the runner commits. The burndown
keeps one row per sprint and day (rewritten, never added twice), so the job runs every hour
and catches each day whatever the scheduler's restarts; running it twice changes nothing more.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.clock import utcnow
from app.core.mail import send_email
from app.core.schedule import Periodic
from app.core.webhook import post_json
from app.sprints.lifecycle import SprintStatus
from app.sprints.models import ReleaseNote, Sprint
from app.sprints.releases import recipients
from app.sprints.service import record_burndown_point


def record_burndown(session: Session) -> int:
    """Record today's burndown point of every running sprint; returns how many."""
    today = utcnow().date()
    running = session.scalars(
        select(Sprint).where(Sprint.status == SprintStatus.ACTIVE).order_by(Sprint.id)
    )
    count = 0
    for sprint in running:
        record_burndown_point(session, sprint, today)
        count += 1
    return count


def _notes_url(note: ReleaseNote) -> str:
    base = current_app.config["BASE_URL"].rstrip("/")
    return f"{base}/release-notes?sprint={note.sprint_id}"


def send_release_email(session: Session, *, note_id: int) -> list[str]:
    """Email one module's release notes to the people who asked for or voted for the items."""
    note = session.get(ReleaseNote, note_id)
    if note is None:
        return []
    to = recipients(session, note)
    if to:
        body = f"{note.body}\n\nAll release notes: {_notes_url(note)}"
        send_email(current_app.config, to, f"Released: {note.title}", body)
    return to


def post_release_webhook(session: Session, *, note_id: int) -> bool:
    """Post one module's release notes to the configured channel."""
    note = session.get(ReleaseNote, note_id)
    if note is None:
        return False
    payload = {
        "event": "release",
        "sprint": note.sprint_id,
        "module": note.module.code,
        "items": [i.ref for i in note.items],
        "url": _notes_url(note),
        "text": f"{note.title}\n{note.body}",
    }
    return post_json(
        current_app.config.get("WEBHOOK_URL"),
        payload,
        timeout=current_app.config.get("WEBHOOK_TIMEOUT", 5),
    )


PERIODIC = [Periodic("app.sprints.jobs.record_burndown", 3600)]
