"""The outbox: jobs leave the process only after their transaction commits, and none is lost.

These tests run against the app's real queue (Redis when ``TEST_REDIS_URL`` is set, the embedded
fakeredis otherwise) and a real RQ worker; the jobs are the tiny functions below. The faults are
real too: a Redis that accepts connections and never answers, and one that refuses them.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask, request
from rq import SimpleWorker
from sqlalchemy import func, select, update
from werkzeug.test import EnvironBuilder

from app import create_app
from app.core import audit
from app.core.audit import AuditEvent
from app.core.db import db
from app.core.outbox import (
    BREAKER_FIRST_SECONDS,
    JOB_TIMEOUT,
    MAX_DISPATCHES,
    REDELIVER_AFTER,
    RUNNER,
    HandOffBreaker,
    OutboxMessage,
    breaker_for,
    dispatch,
    dispatch_committed,
    enqueue,
    sweep,
)
from app.core.queue import QUEUE_NAMES, get_queue, job_id, redis_for
from app.core.runner import run_job, run_outbox_message
from app.core.runtime import release_due_retries
from tests.conftest import ServedClient
from tests.faults import SICK_REDIS_BOUND_SECONDS, refused_redis_url

MARKER_JOB = "tests.core.test_outbox.record_marker"
EXPLODING_JOB = "tests.core.test_outbox.explode"
FLAKY_JOB = "tests.core.test_outbox.flaky_marker"
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


BROKEN: set[str] = set()  # markers whose flaky job fails for now


def flaky_marker(session, *, marker: str) -> str:
    """A marker job that fails while its marker is in BROKEN (a mail server that is down)."""
    if marker in BROKEN:
        raise ConnectionRefusedError("the receiver is down")
    return record_marker(session, marker=marker)


@pytest.fixture(autouse=True)
def _nothing_broken() -> Iterator[None]:
    BROKEN.clear()
    yield
    BROKEN.clear()


# --- helpers --------------------------------------------------------------------------------


def markers_in_order(session) -> list[str]:
    """The markers whose jobs ran, in the order they ran."""
    session.expire_all()
    return list(
        session.scalars(
            select(AuditEvent.entity_id)
            .where(AuditEvent.entity_type == "marker")
            .order_by(AuditEvent.id)
        )
    )


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
    """A throwaway endpoint that does what a real one does: change, enqueue, commit.

    ``count`` rows (default 1), each a marker job ``<marker>`` or ``<marker>-<n>``.
    """

    def view():
        marker, count = request.args["marker"], int(request.args.get("count", 1))
        for n in range(count):
            enqueue(db.session, MARKER_JOB, marker=marker if count == 1 else f"{marker}-{n}")
        db.session.commit()
        return {"enqueued": marker}, 201

    app.add_url_rule("/test/enqueue", "test_enqueue", view, methods=["POST"])


@pytest.fixture
def sibling(app) -> Iterator:
    """sibling(redis_url): another web process on the same database, with its own Redis."""
    built: list[Flask] = []

    def build(redis_url: str) -> Flask:
        settings = {key: app.config[key] for key in SHARED_SETTINGS}
        other = create_app({**settings, "REDIS_URL": redis_url})
        other.test_client_class = ServedClient
        add_enqueue_route(other)
        built.append(other)
        return other

    yield build
    for other in built:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app_without_redis(sibling) -> Flask:
    """A second web process on the same database whose Redis refuses connections."""
    return sibling(refused_redis_url())


def timed(action) -> tuple[object, float]:
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


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


# --- after the response --------------------------------------------------------------------


def test_a_request_hands_its_jobs_over_only_once_its_response_is_sent(app):
    add_enqueue_route(app)
    environ = EnvironBuilder(
        path="/test/enqueue", method="POST", query_string={"marker": "after-response"}
    ).get_environ()
    statuses: list[str] = []

    body_iterable = app(environ, lambda status, headers: statuses.append(status))
    body = b"".join(body_iterable)  # what the server writes to the client

    assert statuses == ["201 CREATED"] and b"after-response" in body
    assert queued(app) == 0, "the client must not wait for the hand-off"
    body_iterable.close()  # the server is done with the response
    assert queued(app) == 1


# --- Redis refuses, or hangs ----------------------------------------------------------------


def test_when_redis_refuses_the_request_still_succeeds_and_the_job_stays_pending(
    app, app_without_redis, db_session
):
    response = app_without_redis.test_client().post(
        "/test/enqueue", query_string={"marker": "redis-down"}
    )

    assert response.status_code == 201
    [row] = outbox_rows(db_session)
    assert row.kwargs == {"marker": "redis-down"}
    assert row.dispatched_at is None
    assert row.dispatch_attempts == 1
    assert "connect" in row.last_error.lower()


def test_a_hung_redis_costs_a_write_one_short_bounded_wait_however_many_jobs_it_made(
    app, sibling, hung_redis, db_session
):
    hung = sibling(hung_redis.url)

    response, seconds = timed(
        lambda: hung.test_client().post("/test/enqueue", query_string={"marker": "m", "count": 8})
    )

    assert response.status_code == 201
    assert seconds < SICK_REDIS_BOUND_SECONDS
    assert hung_redis.connections == 1, "one round trip for every row, not one per row"
    rows = outbox_rows(db_session)
    assert len(rows) == 8
    assert all(r.dispatched_at is None and r.dispatch_attempts == 1 for r in rows)
    assert all("Timeout" in r.last_error for r in rows)


def test_after_a_failed_hand_off_the_next_writes_leave_the_sick_redis_alone(
    app, sibling, hung_redis, db_session
):
    hung = sibling(hung_redis.url)
    client = hung.test_client()
    client.post("/test/enqueue", query_string={"marker": "first"})

    responses = [
        client.post("/test/enqueue", query_string={"marker": f"next-{n}"}) for n in range(5)
    ]

    assert [r.status_code for r in responses] == [201] * 5
    assert hung_redis.connections == 1, "the breaker is open: no new attempt"
    later = [r for r in outbox_rows(db_session) if r.kwargs["marker"] != "first"]
    assert [(r.dispatched_at, r.dispatch_attempts) for r in later] == [(None, 0)] * 5


def test_the_breaker_lets_one_attempt_through_after_a_growing_pause():
    now = [100.0]
    breaker = HandOffBreaker(clock=lambda: now[0])

    first = breaker.failed()
    closed_during_first_pause = breaker.allows()
    now[0] += first
    open_after_first_pause = breaker.allows()
    second = breaker.failed()
    breaker.succeeded()

    assert (first, second) == (BREAKER_FIRST_SECONDS, 2 * BREAKER_FIRST_SECONDS)
    assert (closed_during_first_pause, open_after_first_pause) == (False, True)
    assert breaker.allows()


def test_the_hand_off_resumes_by_itself_once_the_breaker_closes(app, db_session):
    enqueue(db_session, MARKER_JOB, marker="resumed")
    db_session.commit()
    breaker_for(app).failed()  # a failure a moment ago

    held_back = dispatch_committed(app, db_session)
    breaker_for(app).succeeded()  # the pause is over (the clock itself is tested above)
    sent = sweep(db_session, app, older_than_seconds=0)

    assert held_back == 0
    assert sent == 1
    assert queued(app) == 1


def test_the_sweep_sends_a_pending_job_once_redis_is_back(
    app, app_without_redis, db_session, frozen_clock
):
    frozen_clock(T0)
    app_without_redis.test_client().post("/test/enqueue", query_string={"marker": "late"})
    assert queued(app) == 0
    frozen_clock(T0 + timedelta(minutes=2))

    sent = run_job("app.core.jobs.sweep_outbox")  # what the scheduler runs every minute

    assert sent == 1
    assert queued(app) == 1
    [row] = outbox_rows(db_session)
    assert row.dispatched_at == T0 + timedelta(minutes=2)
    assert row.dispatch_attempts == 2


def test_the_sweep_tries_even_while_this_process_holds_back(app, db_session, frozen_clock):
    frozen_clock(T0)
    enqueue(db_session, MARKER_JOB, marker="swept")
    db_session.commit()
    breaker_for(app).failed()
    frozen_clock(T0 + timedelta(minutes=1))

    sent = sweep(db_session, app)

    assert sent == 1
    assert queued(app) == 1


def test_the_sweep_leaves_fresh_rows_to_the_dispatcher(
    app, app_without_redis, db_session, frozen_clock
):
    frozen_clock(T0)
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


# --- the jobs handed over -------------------------------------------------------------------


def test_each_job_runs_under_a_timeout_so_a_dead_worker_is_noticed(app, db_session):
    enqueue(db_session, MARKER_JOB, marker="timed")
    db_session.commit()

    dispatch_committed(app, db_session)

    [job] = get_queue("default", app).get_jobs()
    assert job.timeout == JOB_TIMEOUT
    assert job.retries_left == 5


def test_a_row_handed_over_again_becomes_a_job_of_its_own(app, db_session, frozen_clock):
    frozen_clock(T0)
    message = enqueue(db_session, MARKER_JOB, marker="twice-handed")
    db_session.commit()
    dispatch_committed(app, db_session)
    get_queue("default", app).empty()
    frozen_clock(T0 + REDELIVER_AFTER + timedelta(minutes=1))

    sweep(db_session, app)

    [job] = get_queue("default", app).get_jobs()
    assert job.id == job_id(app, f"outbox-{message.id}-2")


# --- order within a key ---------------------------------------------------------------------


def test_rows_of_one_key_run_in_the_order_they_were_written(app, db_session):
    enqueue(db_session, MARKER_JOB, ordering_key="ticket:1:requester", marker="first")
    enqueue(db_session, MARKER_JOB, ordering_key="ticket:1:requester", marker="second")
    db_session.commit()

    sent = dispatch_committed(app, db_session)
    work_off(app)  # the first runs; its completion hands the second over, which runs too

    assert sent == 1, "the second waits for the first to complete"
    assert markers_in_order(db_session) == ["first", "second"]
    assert all(r.completed_at is not None for r in outbox_rows(db_session))


def test_rows_of_different_keys_do_not_wait_for_each_other(app, db_session):
    BROKEN.add("stuck")
    enqueue(db_session, FLAKY_JOB, ordering_key="ticket:1:requester", marker="stuck")
    enqueue(db_session, MARKER_JOB, ordering_key="ticket:2:requester", marker="other-ticket")
    enqueue(db_session, MARKER_JOB, ordering_key="ticket:1:support", marker="other-audience")
    enqueue(db_session, MARKER_JOB, marker="no-key")
    db_session.commit()

    dispatch_committed(app, db_session)
    work_off(app)

    assert sorted(markers_in_order(db_session)) == ["no-key", "other-audience", "other-ticket"]


def test_a_failed_message_is_not_overtaken_by_a_later_one_of_its_key(app, db_session, frozen_clock):
    """The outage story: "needs your answer" fails (the mail server is down) and waits for its
    retry; "resolved", written later once the server is back, must not arrive first."""
    frozen_clock(T0)
    BROKEN.add("needs-your-answer")
    enqueue(db_session, FLAKY_JOB, ordering_key="ticket:1:requester", marker="needs-your-answer")
    db_session.commit()
    dispatch_committed(app, db_session)
    work_off(app)  # fails; RQ retries it in 10 s
    BROKEN.clear()
    frozen_clock(T0 + timedelta(seconds=5))
    enqueue(db_session, MARKER_JOB, ordering_key="ticket:1:requester", marker="resolved")
    db_session.commit()
    dispatch_committed(app, db_session)
    work_off(app)
    held_back = markers_in_order(db_session)

    frozen_clock(T0 + timedelta(seconds=11))
    release_due_retries([get_queue(name, app) for name in QUEUE_NAMES])
    work_off(app)

    assert held_back == []
    assert markers_in_order(db_session) == ["needs-your-answer", "resolved"]


def test_a_message_delivered_before_its_turn_goes_back_and_waits(app, db_session):
    BROKEN.add("earlier")
    enqueue(db_session, FLAKY_JOB, ordering_key="ticket:1:requester", marker="earlier")
    later = enqueue(db_session, MARKER_JOB, ordering_key="ticket:1:requester", marker="later")
    db_session.commit()
    dispatch_committed(app, db_session)
    work_off(app)  # "earlier" fails and waits for its retry

    early = run_outbox_message(later.id)  # e.g. a redelivery racing ahead

    assert early.startswith("waiting for message")
    assert runs_of(db_session, "later") == 0
    row = next(r for r in outbox_rows(db_session) if r.id == later.id)
    assert (row.dispatched_at, row.completed_at) == (None, None)


def test_the_sweep_leaves_a_message_waiting_for_its_turn_alone(
    app, app_without_redis, db_session, frozen_clock
):
    frozen_clock(T0)
    with app_without_redis.app_context():  # written while Redis was down: both pending
        enqueue(db.session, MARKER_JOB, ordering_key="ticket:1:requester", marker="one")
        enqueue(db.session, MARKER_JOB, ordering_key="ticket:1:requester", marker="two")
        db.session.commit()
    frozen_clock(T0 + timedelta(minutes=2))

    sent = sweep(db_session, app)
    work_off(app)

    assert sent == 1
    assert markers_in_order(db_session) == ["one", "two"]


def test_a_message_given_up_no_longer_holds_back_its_key(app, db_session, frozen_clock):
    frozen_clock(T0)
    BROKEN.add("hopeless")
    hopeless = enqueue(db_session, FLAKY_JOB, ordering_key="ticket:1:requester", marker="hopeless")
    enqueue(db_session, MARKER_JOB, ordering_key="ticket:1:requester", marker="next")
    db_session.commit()
    dispatch_committed(app, db_session)
    get_queue("default", app).empty()
    db_session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == hopeless.id)
        .values(dispatch_attempts=MAX_DISPATCHES)
    )
    db_session.commit()
    frozen_clock(T0 + REDELIVER_AFTER + timedelta(minutes=1))

    sweep(db_session, app)
    work_off(app)

    assert markers_in_order(db_session) == ["next"]
    row = next(r for r in outbox_rows(db_session) if r.id == hopeless.id)
    assert row.gave_up_at == T0 + REDELIVER_AFTER + timedelta(minutes=1)
