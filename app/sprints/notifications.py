"""Who hears about a release: the requesters and voters of each released request and the
reporters of each fixed ticket (email), and the chat channel (webhook). Only decides and
enqueues through the outbox; ``jobs.py`` sends, retried with backoff."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.core.outbox import enqueue
from app.sprints.models import ReleaseNote

EMAIL_JOB = "app.sprints.jobs.send_release_email"
WEBHOOK_JOB = "app.sprints.jobs.post_release_webhook"


def release_announced(session: Session, note: ReleaseNote) -> None:
    """Announce one module's release notes once (the dedupe keys hold it to once)."""
    enqueue(
        session,
        EMAIL_JOB,
        dedupe_key=f"release-mail:{note.id}",
        ordering_key=f"release:{note.id}",
        note_id=note.id,
    )
    enqueue(
        session,
        WEBHOOK_JOB,
        dedupe_key=f"release-webhook:{note.id}",
        ordering_key="release:webhook",
        note_id=note.id,
    )
