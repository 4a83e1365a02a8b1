"""The outbox: jobs are recorded in the caller's transaction, then handed to RQ after commit.

``enqueue`` only adds a row; nothing leaves the process until the transaction commits, so a
rolled-back change sends nothing and a committed one loses nothing. After a request's response
has been sent, the hand-off pushes the new rows to RQ in one bounded round trip; if Redis hangs
or refuses, the rows stay pending, the hand-off backs off (a circuit breaker per process) and
the periodic ``sweep`` sends them later. The runner marks a row completed in the same
transaction as the job's own changes, so running a delivered job twice changes nothing more.

Rows sharing an ``ordering_key`` (e.g. the mails of one ticket to its requester) run in the
order they were written: a row waits while an earlier one of its key is unfinished, and the
completion of one hands over the next.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Response
from sqlalchemy import (
    JSON,
    Index,
    String,
    Text,
    bindparam,
    event,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.sql import ColumnElement

from app.core.clock import utcnow
from app.core.db import Base, db

log = logging.getLogger(__name__)

RUNNER = "app.core.runner.run_outbox_message"
RETRY_INTERVALS = [10, 30, 120, 600, 1800]
# An outbox job (one mail, one webhook) may run this long; a worker that dies mid-job is
# noticed when its job's heartbeat (this plus a grace period) has expired.
JOB_TIMEOUT = 30
# RQ's retries span ~45 minutes; a row still not completed an hour after dispatch was lost.
REDELIVER_AFTER = timedelta(hours=1)
MAX_DISPATCHES = 10
BREAKER_FIRST_SECONDS = 5.0
BREAKER_MAX_SECONDS = 60.0
_PENDING_KEY = "steward.outbox_pending"
_COMMITTED_KEY = "steward.outbox_committed"
_BREAKER_KEY = "steward.outbox_breaker"


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_pending", "dispatched_at", "id"),
        Index("ix_outbox_messages_dedupe_key", "dedupe_key", unique=True),
        Index("ix_outbox_messages_ordering", "ordering_key", "id"),
        Index("ix_outbox_messages_unfinished", "completed_at", "dispatched_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(200))
    kwargs: Mapped[dict] = mapped_column(JSON, default=dict)
    queue: Mapped[str] = mapped_column(String(32), default="default")
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    # rows with the same key run one after the other, in id order
    ordering_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None]
    dispatch_attempts: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[datetime | None]
    # lost again and again (MAX_DISPATCHES): nobody will send it; it no longer holds its key
    gave_up_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


def enqueue(
    session: Session,
    job: str,
    *,
    queue: str = "default",
    dedupe_key: str | None = None,
    ordering_key: str | None = None,
    **kwargs: Any,
) -> OutboxMessage | None:
    """Record that ``job(**kwargs)`` must run once this transaction commits.

    With a ``dedupe_key`` the job is recorded at most once ever (e.g. one breach notice per
    ticket): a second call with the same key returns None and records nothing. Jobs with the
    same ``ordering_key`` run in the order they were recorded.
    """
    if dedupe_key is not None:
        exists_ = session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
        )
        if exists_ is not None or any(
            isinstance(o, OutboxMessage) and o.dedupe_key == dedupe_key for o in session.new
        ):
            return None
    message = OutboxMessage(
        job=job,
        kwargs=kwargs,
        queue=queue,
        dedupe_key=dedupe_key,
        ordering_key=ordering_key,
        created_at=utcnow(),
    )
    session.add(message)
    session.flush()
    session.info.setdefault(_PENDING_KEY, set()).add(message.id)
    return message


# --- ordering -------------------------------------------------------------------------------


def _unfinished_earlier(message: type[OutboxMessage] | Any) -> ColumnElement[bool]:
    """An earlier row of the same ordering key that is neither completed nor given up."""
    earlier = aliased(OutboxMessage)
    return exists().where(
        earlier.ordering_key == message.ordering_key,
        earlier.id < message.id,
        earlier.completed_at.is_(None),
        earlier.gave_up_at.is_(None),
    )


def _claim_statement():
    earlier = aliased(OutboxMessage)
    waits_for = (
        select(func.min(earlier.id))
        .where(
            earlier.ordering_key == OutboxMessage.ordering_key,
            earlier.id < OutboxMessage.id,
            earlier.completed_at.is_(None),
            earlier.gave_up_at.is_(None),
        )
        .scalar_subquery()
    )
    return (
        select(OutboxMessage, waits_for)
        .where(OutboxMessage.id == bindparam("message_id"))
        .with_for_update(of=OutboxMessage)
    )


def _complete_statement(with_successor: bool):
    done = (
        update(OutboxMessage)
        .where(OutboxMessage.id == bindparam("message_id"))
        .values(completed_at=bindparam("now"), last_error=None)
    )
    if not with_successor:
        return done
    later = aliased(OutboxMessage)
    waiting = (
        select(func.min(later.id))
        .where(
            later.ordering_key == bindparam("key"),
            later.id > bindparam("message_id"),
            later.completed_at.is_(None),
            later.dispatched_at.is_(None),
        )
        .scalar_subquery()
    )
    return done.returning(waiting)


# Built once: every job runs these, and building a statement costs more than running it.
_CLAIM = _claim_statement()
_COMPLETE = _complete_statement(with_successor=False)
_COMPLETE_AND_NEXT = _complete_statement(with_successor=True)


def claim(session: Session, message_id: int) -> tuple[OutboxMessage | None, int | None]:
    """Lock the row of ``message_id`` for this job and tell whether it must wait for its turn.

    Returns the row (None if it is gone) and the id of an unfinished earlier row of its key
    (None if it may run), in one round trip. Dispatch never hands over a row whose earlier
    rows are unfinished, so a row that must wait here came by an unusual path (a retry
    racing its predecessor's redelivery, an operator's requeue): it goes back to wait.
    """
    row = session.execute(_CLAIM, {"message_id": message_id}).first()
    return (None, None) if row is None else (row[0], row[1])


def wait_for_turn(message: OutboxMessage) -> None:
    """Put ``message`` back until the earlier row of its key completes (which hands it over)."""
    message.dispatched_at = None


def complete(session: Session, message: OutboxMessage) -> None:
    """Mark ``message`` done and hand over, after commit, the next row waiting for its key.

    One statement: the update returns the next row of the key that waits to be handed over.
    """
    values = {"message_id": message.id, "now": utcnow()}
    if message.ordering_key is None:
        session.execute(_COMPLETE, values)
        return
    successor = session.execute(
        _COMPLETE_AND_NEXT, {**values, "key": message.ordering_key}
    ).scalar()
    if successor is not None:
        session.info.setdefault(_PENDING_KEY, set()).add(successor)


# --- hand-off to RQ -------------------------------------------------------------------------


class HandOffBreaker:
    """After a failed hand-off this process leaves Redis alone for a while (5 s, doubling to
    60 s): while Redis is sick, requests pay for it once per window, not on every write."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._closed_at = 0.0

    def allows(self) -> bool:
        return self._clock() >= self._closed_at

    def failed(self) -> float:
        """Open (again) and return for how many seconds."""
        with self._lock:
            self._failures += 1
            delay = min(BREAKER_FIRST_SECONDS * 2 ** (self._failures - 1), BREAKER_MAX_SECONDS)
            self._closed_at = self._clock() + delay
            return delay

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._closed_at = 0.0


def breaker_for(app: Flask) -> HandOffBreaker:
    breaker = app.extensions.get(_BREAKER_KEY)
    if breaker is None:
        breaker = app.extensions.setdefault(_BREAKER_KEY, HandOffBreaker())
    return breaker


def _hand_over(app: Flask, rows: list[OutboxMessage]) -> None:
    """Put every row on its RQ queue in one pipeline: one round trip, however many rows."""
    from rq import Queue, Retry

    from app.core.queue import get_queue, job_id, redis_for

    connection = redis_for(app)
    by_queue: dict[str, list] = defaultdict(list)
    for row in rows:
        by_queue[row.queue].append(
            Queue.prepare_data(
                RUNNER,
                args=(row.id,),
                # one RQ job per hand-over: a re-sent row never collides with its earlier job
                job_id=job_id(app, f"outbox-{row.id}-{row.dispatch_attempts + 1}"),
                retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
                timeout=JOB_TIMEOUT,
                description=row.job,
            )
        )
    with connection.pipeline() as pipeline:
        for name, jobs in by_queue.items():
            get_queue(name, app, connection).enqueue_many(jobs, pipeline=pipeline)
        pipeline.execute()


def dispatch(app: Flask, message_ids: Iterable[int], *, force: bool = False) -> int:
    """Hand these outbox rows to RQ; return how many were sent. Failures stay pending.

    Bounded: one pipeline on the hand-off connection (``REDIS_HANDOFF_TIMEOUT``). While the
    breaker is open nothing is tried and the rows wait for the sweep; ``force`` (the sweep)
    tries anyway. Rows waiting for an earlier row of their ordering key are left alone.
    """
    ids = sorted(set(message_ids))
    if not ids:
        return 0
    breaker = breaker_for(app)
    if not force and not breaker.allows():
        return 0
    with app.app_context():
        session = db.session
        rows = list(
            session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.id.in_(ids),
                    OutboxMessage.dispatched_at.is_(None),
                    ~_unfinished_earlier(OutboxMessage),
                )
                .order_by(OutboxMessage.id)
            )
        )
        if not rows:
            return 0
        sent = [row.id for row in rows]
        try:
            _hand_over(app, rows)
        except Exception as exc:  # Redis down or hung: the sweep will try again
            delay = breaker.failed()
            log.warning(
                "outbox: %d message(s) not handed to the queue (%s: %s); next try in %.0f s,"
                " the sweep sends them",
                len(sent),
                type(exc).__name__,
                exc,
                delay,
            )
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(sent))
                .values(
                    dispatch_attempts=OutboxMessage.dispatch_attempts + 1,
                    last_error=f"{type(exc).__name__}: {exc}"[:2000],
                )
            )
            session.commit()
            return 0
        breaker.succeeded()
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(sent))
            .values(dispatched_at=utcnow(), dispatch_attempts=OutboxMessage.dispatch_attempts + 1)
        )
        session.commit()
    return len(sent)


def sweep(session: Session, app: Flask, older_than_seconds: int = 30) -> int:
    """Re-send outbox rows that never reached the queue, and rows the queue lost.

    A row dispatched long ago but never completed was lost by the queue (an embedded queue
    gone with its process, retries exhausted after an outage): it is handed over again, a
    bounded number of times, then given up (and counted in ``/metrics``); the runner's
    completion check keeps that idempotent.
    """
    now = utcnow()
    lost = select(OutboxMessage.id).where(
        OutboxMessage.completed_at.is_(None),
        OutboxMessage.gave_up_at.is_(None),
        OutboxMessage.dispatched_at <= now - REDELIVER_AFTER,
    )
    hopeless = list(session.scalars(lost.where(OutboxMessage.dispatch_attempts >= MAX_DISPATCHES)))
    if hopeless:
        log.error("outbox: giving up messages %s after %d hand-overs", hopeless, MAX_DISPATCHES)
        session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(hopeless)).values(gave_up_at=now)
        )
    retry = list(session.scalars(lost.order_by(OutboxMessage.id).limit(1000)))
    if retry:
        session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(retry)).values(dispatched_at=None)
        )
    cutoff = now - timedelta(seconds=older_than_seconds)
    pending = list(
        session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.dispatched_at.is_(None),
                OutboxMessage.completed_at.is_(None),
                OutboxMessage.gave_up_at.is_(None),
                OutboxMessage.created_at <= cutoff,
                ~_unfinished_earlier(OutboxMessage),
            )
            .order_by(OutboxMessage.id)
            .limit(1000)
        )
    )
    session.commit()
    return dispatch(app, set(pending) | set(retry), force=True)


# --- after commit, after the response -------------------------------------------------------


@event.listens_for(OrmSession, "after_commit")
def _remember_committed(session: OrmSession) -> None:
    ids = session.info.pop(_PENDING_KEY, None)
    if ids:
        session.info.setdefault(_COMMITTED_KEY, set()).update(ids)


@event.listens_for(OrmSession, "after_rollback")
def _forget_rolled_back(session: OrmSession) -> None:
    session.info.pop(_PENDING_KEY, None)


def _quietly_dispatch(app: Flask, ids: list[int]) -> int:
    try:
        return dispatch(app, ids)
    except Exception:  # e.g. the database went away: the rows are safe, the sweep sends them
        log.exception("outbox dispatch failed; the sweep will retry")
        return 0


def dispatch_committed(app: Flask, session: Session) -> int:
    """Send what ``session`` enqueued and committed; never raises (the sweep is the safety net)."""
    ids = sorted(session.info.pop(_COMMITTED_KEY, set()))
    return _quietly_dispatch(app, ids) if ids else 0


def init_app(app: Flask) -> None:
    """Hand off what each request committed once its response has been sent.

    The WSGI server closes the response after writing it; the hand-off runs then, so the
    client never waits for Redis, and it stays bounded so the server is free again quickly.
    """
    breaker_for(app)

    @app.after_request
    def _hand_off_after_response(response: Response) -> Response:
        ids = sorted(db.session.info.pop(_COMMITTED_KEY, set()))
        if ids:
            response.call_on_close(lambda: _quietly_dispatch(app, ids))
        return response
