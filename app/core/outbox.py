"""The outbox: jobs are recorded in the caller's transaction, then handed to RQ after commit.

``enqueue`` only adds a row; nothing leaves the process until the transaction commits, so a
rolled-back change sends nothing and a committed one loses nothing. After commit the dispatcher
pushes the new rows to RQ; if Redis is unreachable the rows stay pending and the periodic
``sweep`` sends them later. The worker marks a row completed in the same transaction as the
job's own changes, so running a delivered job twice changes nothing more.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import JSON, Index, String, Text, event, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm import Session as OrmSession

from app.core.clock import utcnow
from app.core.db import Base, db

log = logging.getLogger(__name__)

RUNNER = "workers.runner.run_outbox_message"
RETRY_INTERVALS = [10, 30, 120, 600, 1800]
# RQ's retries span ~45 minutes; a row still not completed an hour after dispatch was lost.
REDELIVER_AFTER = timedelta(hours=1)
MAX_DISPATCHES = 10
_PENDING_KEY = "steward.outbox_pending"
_COMMITTED_KEY = "steward.outbox_committed"


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_pending", "dispatched_at", "id"),
        Index("ix_outbox_messages_dedupe_key", "dedupe_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(200))
    kwargs: Mapped[dict] = mapped_column(JSON, default=dict)
    queue: Mapped[str] = mapped_column(String(32), default="default")
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None]
    dispatch_attempts: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


def enqueue(
    session: Session,
    job: str,
    *,
    queue: str = "default",
    dedupe_key: str | None = None,
    **kwargs: Any,
) -> OutboxMessage | None:
    """Record that ``job(**kwargs)`` must run once this transaction commits.

    With a ``dedupe_key`` the job is recorded at most once ever (e.g. one breach notice per
    ticket): a second call with the same key returns None and records nothing.
    """
    if dedupe_key is not None:
        exists = session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
        )
        if exists is not None or any(
            isinstance(o, OutboxMessage) and o.dedupe_key == dedupe_key for o in session.new
        ):
            return None
    message = OutboxMessage(
        job=job, kwargs=kwargs, queue=queue, dedupe_key=dedupe_key, created_at=utcnow()
    )
    session.add(message)
    session.flush()
    session.info.setdefault(_PENDING_KEY, set()).add(message.id)
    return message


def dispatch(app: Flask, message_ids: list[int]) -> int:
    """Hand these outbox rows to RQ; return how many were sent. Failures stay pending."""
    from rq import Retry

    from app.core.queue import get_queue, job_id

    if not message_ids:
        return 0
    sent = 0
    with app.app_context():
        session = db.session
        rows = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.id.in_(message_ids), OutboxMessage.dispatched_at.is_(None)
            )
        ).all()
        for row in rows:
            try:
                get_queue(row.queue, app).enqueue(
                    RUNNER,
                    row.id,
                    job_id=job_id(app, f"outbox-{row.id}"),
                    retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
                    description=row.job,
                )
            except Exception as exc:  # Redis down: the sweep will try again
                log.warning("outbox %s not dispatched: %s", row.id, exc)
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row.id)
                    .values(
                        dispatch_attempts=OutboxMessage.dispatch_attempts + 1,
                        last_error=str(exc)[:2000],
                    )
                )
                continue
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(
                    dispatched_at=utcnow(), dispatch_attempts=OutboxMessage.dispatch_attempts + 1
                )
            )
            sent += 1
        session.commit()
    return sent


def sweep(session: Session, app: Flask, older_than_seconds: int = 30) -> int:
    """Re-send outbox rows that never reached the queue, and rows the queue lost.

    A row dispatched long ago but never completed was lost by the queue (an embedded queue
    gone with its process, retries exhausted after an outage): it is handed over again, a
    bounded number of times; the runner's completion check keeps that idempotent.
    """
    now = utcnow()
    cutoff = now - timedelta(seconds=older_than_seconds)
    ids = list(
        session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.dispatched_at.is_(None), OutboxMessage.created_at <= cutoff)
            .order_by(OutboxMessage.id)
            .limit(1000)
        )
    )
    lost = list(
        session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.completed_at.is_(None),
                OutboxMessage.dispatched_at <= now - REDELIVER_AFTER,
                OutboxMessage.dispatch_attempts < MAX_DISPATCHES,
            )
            .order_by(OutboxMessage.id)
            .limit(1000)
        )
    )
    if lost:
        session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(lost)).values(dispatched_at=None)
        )
    session.commit()
    return dispatch(app, ids + lost)


@event.listens_for(OrmSession, "after_commit")
def _remember_committed(session: OrmSession) -> None:
    ids = session.info.pop(_PENDING_KEY, None)
    if ids:
        session.info.setdefault(_COMMITTED_KEY, set()).update(ids)


@event.listens_for(OrmSession, "after_rollback")
def _forget_rolled_back(session: OrmSession) -> None:
    session.info.pop(_PENDING_KEY, None)


def dispatch_committed(app: Flask, session: Session) -> int:
    """Send what ``session`` enqueued and committed; never raises (the sweep is the safety net)."""
    ids = sorted(session.info.pop(_COMMITTED_KEY, set()))
    if not ids:
        return 0
    try:
        return dispatch(app, ids)
    except Exception:
        log.exception("outbox dispatch failed; the sweep will retry")
        return 0
