"""The outbox: jobs leave the process only after their transaction commits, and none is lost.

These tests run against the app's real queue (Redis when ``TEST_REDIS_URL`` is set, the embedded
fakeredis otherwise) and a real RQ worker; the jobs are the tiny functions below.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask, request
from rq import SimpleWorker
from sqlalchemy import func, select, update

from app import create_app
from app.core import audit
from app.core.audit import AuditEvent
from app.core.db import db
from app.core.outbox import (
    MAX_DISPATCHES,
    REDELIVER_AFTER,
    RUNNER,
    OutboxMessage,
    dispatch,
    dispatch_committed,
    enqueue,
    sweep,
)
from app.core.queue import QUEUE_NAMES, get_queue, job_id, redis_for
from workers.runner import run_job, run_outbox_message

MARKER_JOB = "tests.core.test_outbox.record_marker"
EXPLODING_JOB = "tests.core.test_outbox.explode"
CLOSED_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SHARED_SETTINGS = (
    "TESTING",
    "SQLALCHEMY_DATABASE_URI",
    "QUEUE_PREFIX",
    "SECRET_KEY",
    "WTF_CSRF_ENABLED",
    "INSTANCE_PATH",
    "ATTACHMENT_DIR",
    "SMTP_HOST",
    "WEBHOOK_URL",
)


# --- the jobs these tests enqueue -----------------------------------------------------------


def record_marker(session, *, marker: str, then: str | None = None) -> str:
    """A job with a visible effect: one audit event per run (and optionally a follow-up job)."""
    audit.record(session, None, "marker", marker, "ran")
    if then:
        enqueue(session, MARKER_JOB, marker=then)
    return marker


def explode(session, *, marker: str) -> None:
    """A job that does its work, then fails: its effect must not survive."""
    audit.record(session, None, "marker", marker, "ran")
    raise RuntimeError("the job broke")


# --- helpers --------------------------------------------------------------------------------


def runs_of(session, marker: str) -> int:
    """How many times a marker job's effect was committed."""
    session.expire_all()
    return session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.entity_type == "marker", AuditEvent.entity_id == marker
        )
    )


def outbox_rows(session) -> list[OutboxMessage]:
    session.expire_all()
    return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def queued(app: Flask, name: str = "default") -> int:
    return get_queue(name, app).count


def work_off(app: Flask) -> None:
    """Run a real RQ worker in this process until every queue is empty."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        queues = [get_queue(name, app) for name in QUEUE_NAMES]
        SimpleWorker(queues, connection=redis_for(app)).work(burst=True)
    finally:
        for sig, handler in handlers.items():  # the worker installs its own; give pytest its own
            signal.signal(sig, handler)


def add_enqueue_route(app: Flask) -> None:
    """A throwaway endpoint that does what a real one does: change, enqueue, commit."""

    def view():
        enqueue(db.session, MARKER_JOB, marker=request.args["marker"])
        db.session.commit()
        return {"enqueued": request.args["marker"]}, 201

    app.add_url_rule("/test/enqueue", "test_enqueue", view, methods=["POST"])


@pytest.fixture
def app_without_redis(app) -> Iterator[Flask]:
    """A second web process on the same database whose Redis is down."""
    settings = {key: app.config[key] for key in SHARED_SETTINGS}
    other = create_app({**settings, "REDIS_URL": CLOSED_REDIS})
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


# --- dispatch after commit ------------------------------------------------------------------


def test_a_job_reaches_the_queue_only_after_its_transaction_commits(app, db_session):
    message = enqueue(db_session, MARKER_JOB, marker="after-commit")
    assert queued(app) == 0, "nothing may leave before the commit"

    db_session.commit()
    assert queued(app) == 0, "the dispatcher sends after commit, not at commit"
    sent = dispatch_committed(app, db_session)

    assert sent == 1
    [job] = get_queue("default", app).get_jobs()
    assert job.func_name == RUNNER
    assert job.args == (message.id,)
    [row] = outbox_rows(db_session)
    assert row.dispatched_at is not None
    assert row.dispatch_attempts == 1
    assert row.completed_at is None


def test_the_end_of_a_request_dispatches_what_the_request_committed(app, client, db_session):
    add_enqueue_route(app)

    response = client.post("/test/enqueue", query_string={"marker": "from-a-request"})

    assert response.status_code == 201
    assert queued(app) == 1
    [row] = outbox_rows(db_session)
    assert row.kwargs == {"marker": "from-a-request"}
    assert row.dispatched_at is not None


def test_a_rolled_back_transaction_records_and_sends_nothing(app, db_session):
    enqueue(db_session, MARKER_JOB, marker="rolled-back")

    db_session.rollback()
    sent = dispatch_committed(app, db_session)

    assert sent == 0
    assert outbox_rows(db_session) == []
    assert queued(app) == 0


def test_jobs_go_to_the_queue_they_were_enqueued_on(app, db_session):
    enqueue(db_session, MARKER_JOB, queue="high", marker="urgent")
    db_session.commit()

    dispatch_committed(app, db_session)

    assert queued(app, "high") == 1
    assert queued(app, "default") == 0


# --- Redis down -----------------------------------------------------------------------------


def test_when_redis_is_down_the_request_still_succeeds_and_the_job_stays_pending(
    app, app_without_redis, db_session
):
    add_enqueue_route(app_without_redis)

    response = app_without_redis.test_client().post(
        "/test/enqueue", query_string={"marker": "redis-down"}
    )

    assert response.status_code == 201
    [row] = outbox_rows(db_session)
    assert row.kwargs == {"marker": "redis-down"}
    assert row.dispatched_at is None
    assert row.dispatch_attempts == 1
    assert "connect" in row.last_error.lower()


def test_the_sweep_sends_a_pending_job_once_redis_is_back(
    app, app_without_redis, db_session, frozen_clock
):
    frozen_clock(T0)
    add_enqueue_route(app_without_redis)
    app_without_redis.test_client().post("/test/enqueue", query_string={"marker": "late"})
    assert queued(app) == 0
    frozen_clock(T0 + timedelta(minutes=2))

    sent = run_job("app.core.jobs.sweep_outbox")  # what the scheduler runs every minute

    assert sent == 1
    assert queued(app) == 1
    [row] = outbox_rows(db_session)
    assert row.dispatched_at == T0 + timedelta(minutes=2)
    assert row.dispatch_attempts == 2


def test_the_sweep_leaves_fresh_rows_to_the_dispatcher(
    app, app_without_redis, db_session, frozen_clock
):
    frozen_clock(T0)
    add_enqueue_route(app_without_redis)
    app_without_redis.test_client().post("/test/enqueue", query_string={"marker": "fresh"})
    frozen_clock(T0 + timedelta(seconds=10))

    sent = sweep(db_session, app, older_than_seconds=30)

    assert sent == 0
    assert queued(app) == 0
    [row] = outbox_rows(db_session)
    assert row.dispatched_at is None


def test_a_job_already_on_the_queue_is_not_sent_again(app, db_session, frozen_clock):
    frozen_clock(T0)
    message = enqueue(db_session, MARKER_JOB, marker="sent-once")
    db_session.commit()
    dispatch_committed(app, db_session)
    frozen_clock(T0 + REDELIVER_AFTER - timedelta(minutes=1))  # queued, maybe not yet run

    swept = sweep(db_session, app)
    redispatched = dispatch(app, [message.id])

    assert (swept, redispatched) == (0, 0)
    assert queued(app) == 1
    assert outbox_rows(db_session)[0].dispatch_attempts == 1


def test_a_job_the_queue_lost_is_handed_over_again_and_still_runs_once(
    app, db_session, frozen_clock
):
    frozen_clock(T0)
    enqueue(db_session, MARKER_JOB, marker="lost")
    db_session.commit()
    dispatch_committed(app, db_session)
    get_queue("default", app).empty()  # e.g. an embedded queue that died with its process
    frozen_clock(T0 + REDELIVER_AFTER + timedelta(minutes=1))

    sent = sweep(db_session, app)
    work_off(app)

    assert sent == 1
    assert runs_of(db_session, "lost") == 1
    [row] = outbox_rows(db_session)
    assert row.dispatch_attempts == 2
    assert row.completed_at is not None


def test_a_job_that_keeps_getting_lost_is_given_up_after_a_bounded_number_of_dispatches(
    app, db_session, frozen_clock
):
    frozen_clock(T0)
    message = enqueue(db_session, MARKER_JOB, marker="hopeless")
    db_session.commit()
    dispatch_committed(app, db_session)
    get_queue("default", app).empty()
    db_session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id)
        .values(dispatch_attempts=MAX_DISPATCHES)
    )
    db_session.commit()
    frozen_clock(T0 + REDELIVER_AFTER + timedelta(minutes=1))

    sent = sweep(db_session, app)

    assert sent == 0
    assert queued(app) == 0


# --- the worker -----------------------------------------------------------------------------


def test_a_worker_runs_the_job_and_marks_its_row_completed(app, db_session):
    enqueue(db_session, MARKER_JOB, marker="worked")
    db_session.commit()
    dispatch_committed(app, db_session)

    work_off(app)

    assert runs_of(db_session, "worked") == 1
    [row] = outbox_rows(db_session)
    assert row.completed_at is not None
    assert row.last_error is None
    assert queued(app) == 0


def test_delivering_the_same_message_twice_runs_its_effect_once(app, db_session):
    message = enqueue(db_session, MARKER_JOB, marker="twice")
    db_session.commit()
    dispatch_committed(app, db_session)
    work_off(app)

    redelivery = get_queue("default", app).enqueue(  # e.g. RQ retrying after a worker crash
        RUNNER, message.id, job_id=job_id(app, f"redelivery-{message.id}")
    )
    work_off(app)

    assert redelivery.return_value() == "already done"
    assert runs_of(db_session, "twice") == 1


def test_running_a_completed_message_again_changes_nothing(app, db_session):
    message = enqueue(db_session, MARKER_JOB, marker="direct")
    db_session.commit()

    first = run_outbox_message(message.id)
    second = run_outbox_message(message.id)

    assert (first, second) == ("done", "already done")
    assert runs_of(db_session, "direct") == 1


def test_a_failing_job_keeps_no_effect_records_the_error_and_is_retried_later(app, db_session):
    enqueue(db_session, EXPLODING_JOB, marker="broken")
    db_session.commit()
    dispatch_committed(app, db_session)

    work_off(app)

    assert runs_of(db_session, "broken") == 0
    [row] = outbox_rows(db_session)
    assert row.completed_at is None
    assert row.last_error == "RuntimeError: the job broke"
    assert get_queue("default", app).scheduled_job_registry.count == 1


def test_a_job_that_enqueues_a_follow_up_has_it_dispatched_when_it_commits(app, db_session):
    enqueue(db_session, MARKER_JOB, marker="first", then="second")
    db_session.commit()
    dispatch_committed(app, db_session)

    work_off(app)  # runs the first job, whose commit dispatches the second, which runs too

    assert runs_of(db_session, "first") == 1
    assert runs_of(db_session, "second") == 1
    rows = outbox_rows(db_session)
    assert [r.kwargs["marker"] for r in rows] == ["first", "second"]
    assert all(r.completed_at is not None for r in rows)


# --- dedupe ---------------------------------------------------------------------------------


def test_a_dedupe_key_records_a_job_at_most_once(app, db_session):
    first = enqueue(db_session, MARKER_JOB, dedupe_key="breach:INC-000001", marker="a")
    same_transaction = enqueue(db_session, MARKER_JOB, dedupe_key="breach:INC-000001", marker="b")
    db_session.commit()
    later_transaction = enqueue(db_session, MARKER_JOB, dedupe_key="breach:INC-000001", marker="c")
    db_session.commit()

    dispatch_committed(app, db_session)
    work_off(app)

    assert first is not None
    assert (same_transaction, later_transaction) == (None, None)
    assert [r.kwargs["marker"] for r in outbox_rows(db_session)] == ["a"]
    assert (runs_of(db_session, "a"), runs_of(db_session, "b"), runs_of(db_session, "c")) == (
        1,
        0,
        0,
    )


def test_different_dedupe_keys_are_independent(app, db_session):
    enqueue(db_session, MARKER_JOB, dedupe_key="breach:INC-000001", marker="one")
    enqueue(db_session, MARKER_JOB, dedupe_key="breach:INC-000002", marker="two")
    db_session.commit()

    sent = dispatch_committed(app, db_session)

    assert sent == 2
    assert queued(app) == 2
