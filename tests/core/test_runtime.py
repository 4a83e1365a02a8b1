"""The worker and the scheduler loops: jobs run in the worker's own process with one app, a job
whose worker died is retried within about a minute, and neither loop stops when Redis does.

Jobs and retries run on the app's real queue (Redis when ``TEST_REDIS_URL`` is set); outages
use a ``redis-server`` of the test's own, stopped (connection refused) and started again.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask, current_app
from prometheus_client.parser import text_string_to_metric_families
from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy import select

from app import create_app
from app.core import audit
from app.core.audit import AuditEvent
from app.core.db import db
from app.core.outbox import JOB_TIMEOUT, RUNNER, OutboxMessage, dispatch_committed, enqueue
from app.core.queue import QUEUE_NAMES, get_queue, worker_redis
from app.core.runner import last_successes
from app.core.runtime import (
    HEARTBEAT_GRACE,
    MAINTENANCE_SECONDS,
    JobWorker,
    ThreadJobWorker,
    release_due_retries,
    run_scheduler,
    run_worker,
)
from app.core.schedule import Periodic, add_periodic

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MARKER_JOB = "tests.core.test_runtime.record_marker"
SHARED_SETTINGS = (
    "TESTING",
    "REDIS_HANDOFF_TIMEOUT",
    "SQLALCHEMY_DATABASE_URI",
    "QUEUE_PREFIX",
    "SECRET_KEY",
    "INSTANCE_PATH",
    "ATTACHMENT_DIR",
    "SMTP_HOST",
    "WEBHOOK_URL",
)
SEEN: list[tuple[int, Flask, object]] = []  # (process id, app, session) of each job run
THREADS: set[str] = set()  # the threads that ran record_thread jobs


def record_marker(session, *, marker: str) -> str:
    SEEN.append((os.getpid(), current_app._get_current_object(), session()))
    audit.record(session, None, "marker", marker, "ran")
    return marker


def record_thread(session, *, marker: str) -> str:
    THREADS.add(threading.current_thread().name)
    time.sleep(0.2)  # long enough for the other threads to take the next jobs
    return record_marker(session, marker=marker)


def sleepy(session, *, seconds: float) -> None:
    time.sleep(seconds)


def tick(session) -> None:
    """A periodic job with nothing to do."""


# --- helpers --------------------------------------------------------------------------------


def ran(session, marker: str) -> bool:
    session.expire_all()
    session.commit()
    return (
        session.scalar(
            select(AuditEvent.id).where(
                AuditEvent.entity_type == "marker", AuditEvent.entity_id == marker
            )
        )
        is not None
    )


def queues_of(app: Flask) -> list[Queue]:
    return [get_queue(name, app) for name in QUEUE_NAMES]


def hand_over(app: Flask, session, marker: str) -> OutboxMessage:
    message = enqueue(session, MARKER_JOB, marker=marker)
    session.commit()
    dispatch_committed(app, session)
    return message


def work_off(app: Flask, worker_class: type[JobWorker] = ThreadJobWorker) -> None:
    """The production worker loop, in burst mode, in this thread."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        run_worker(app, burst=True, worker_class=worker_class, logging_level="WARNING")
    finally:  # JobWorker installs its own; give pytest back its own
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def eventually(check: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll ``check`` (a Redis just restarted may not answer at once: that counts as not yet)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except RedisError:
            pass
        time.sleep(0.1)
    pytest.fail(f"not within {seconds} s: {what}")


def scrape(client) -> dict[tuple[str, tuple], float]:
    body = client.get("/metrics").get_data(as_text=True)
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


@pytest.fixture
def own_app(app) -> Iterator[Callable[..., Flask]]:
    """own_app(**settings): another app on the test's database (e.g. on a private Redis)."""
    built: list[Flask] = []

    def build(**overrides) -> Flask:
        settings = {key: app.config[key] for key in SHARED_SETTINGS}
        built.append(create_app({**settings, **overrides}))
        return built[-1]

    yield build
    for other in built:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def background() -> Iterator[Callable[..., threading.Event]]:
    """background(loop, app, **kw): run a loop on a thread; stopped and joined at the end."""
    started: list[tuple[threading.Event, threading.Thread]] = []

    def run(loop, app: Flask, **kwargs) -> threading.Thread:
        stop = threading.Event()
        thread = threading.Thread(
            target=loop, args=(app,), kwargs={"stop": stop, **kwargs}, daemon=True
        )
        thread.start()
        started.append((stop, thread))
        return thread

    yield run
    for stop, thread in started:
        stop.set()
        thread.join(30)


# --- one app, no fork, a context per job ----------------------------------------------------


def test_the_worker_runs_jobs_in_its_own_process_with_one_app_and_a_session_per_job(
    app, db_session
):
    SEEN.clear()
    hand_over(app, db_session, "one")
    hand_over(app, db_session, "two")

    work_off(app)

    assert ran(db_session, "one") and ran(db_session, "two")
    [(pid_1, app_1, session_1), (pid_2, app_2, session_2)] = SEEN
    assert pid_1 == pid_2 == os.getpid(), "no process forked per job"
    assert app_1 is app_2 is app, "the application is reused"
    assert session_1 is not session_2, "each job has its own app context and session"


def test_a_worker_process_may_run_several_workers_on_threads(app, db_session):
    THREADS.clear()
    for n in range(6):
        enqueue(db_session, "tests.core.test_runtime.record_thread", marker=f"threaded-{n}")
    db_session.commit()
    dispatch_committed(app, db_session)

    run_worker(app, burst=True, threads=3, logging_level="WARNING")

    assert all(ran(db_session, f"threaded-{n}") for n in range(6))
    assert len(THREADS) > 1
    assert all(name.startswith("steward-worker-") for name in THREADS)


def test_a_job_running_past_its_timeout_is_stopped_and_kept_for_a_retry(app, db_session):
    message = enqueue(db_session, "tests.core.test_runtime.sleepy", seconds=5)
    db_session.commit()
    get_queue("default", app).enqueue(RUNNER, message.id, job_timeout=1, retry=None)

    started = time.monotonic()
    work_off(app, worker_class=JobWorker)  # the process worker: SIGALRM stops the job

    assert time.monotonic() - started < 4
    db_session.expire_all()
    row = db_session.get(OutboxMessage, message.id)
    assert row.completed_at is None
    assert "JobTimeoutException" in row.last_error


# --- a worker that dies mid-job -------------------------------------------------------------


def start_and_die(app: Flask) -> None:
    """What a worker killed mid-job leaves behind: the job started, then nothing more."""
    connection = worker_redis(app)
    doomed = JobWorker(queues_of(app), connection=connection, stop=threading.Event())
    doomed.register_birth()
    job, _ = Queue.dequeue_any(queues_of(app), None, connection=connection)
    execution = doomed.prepare_execution(job)
    doomed.prepare_job_execution(job)
    assert execution is not None


def test_a_job_whose_worker_died_is_retried_within_about_a_minute(
    app, client, db_session, frozen_clock
):
    frozen_clock(T0)
    message = hand_over(app, db_session, "orphan")
    start_and_die(app)
    in_flight = scrape(client)
    expired = T0 + timedelta(seconds=JOB_TIMEOUT + HEARTBEAT_GRACE + 1)
    frozen_clock(expired)
    abandoned = scrape(client)

    work_off(app)  # a surviving worker: its maintenance puts the job back for a retry
    frozen_clock(expired + timedelta(seconds=MAINTENANCE_SECONDS + 11))
    work_off(app)

    default = (("queue", "default"),)
    assert in_flight[("steward_queue_started_jobs", default)] == 1
    assert in_flight[("steward_queue_abandoned_jobs", default)] == 0
    assert abandoned[("steward_queue_abandoned_jobs", default)] == 1
    assert ran(db_session, "orphan")
    assert db_session.get(OutboxMessage, message.id).completed_at <= T0 + timedelta(seconds=60)
    after = scrape(client)
    assert after[("steward_queue_started_jobs", default)] == 0
    assert after[("steward_queue_abandoned_jobs", default)] == 0


def test_a_retry_due_is_put_back_on_its_queue_once_though_two_workers_look(
    app, db_session, frozen_clock
):
    frozen_clock(T0)
    message = enqueue(db_session, MARKER_JOB, marker="retried")
    db_session.commit()
    get_queue("default", app).enqueue(RUNNER, message.id)
    job = get_queue("default", app).get_jobs()[0]
    get_queue("default", app).remove(job)
    get_queue("default", app).scheduled_job_registry.schedule(job, T0 + timedelta(seconds=10))
    frozen_clock(T0 + timedelta(seconds=11))

    first = release_due_retries(queues_of(app))
    second = release_due_retries(queues_of(app))

    assert (first, second) == (1, 0)
    assert get_queue("default", app).count == 1


# --- Redis goes away and comes back ---------------------------------------------------------


def test_the_worker_outlives_a_redis_outage_and_resumes_by_itself(
    own_app, private_redis, db_session, background
):
    app = own_app(REDIS_URL=private_redis.url)
    worker = background(run_worker, app, worker_class=ThreadJobWorker, logging_level="WARNING")
    hand_over(app, db_session, "before")
    eventually(lambda: ran(db_session, "before"), 20, "a job before the outage")

    private_redis.stop()  # connection refused, for several seconds
    time.sleep(3)
    survived = worker.is_alive()
    private_redis.start()
    hand_over(app, db_session, "after")

    assert survived
    eventually(lambda: ran(db_session, "after"), 30, "a job after the outage")


def test_the_scheduler_outlives_a_redis_outage_and_keeps_its_schedule(
    own_app, private_redis, background
):
    app = own_app(REDIS_URL=private_redis.url)
    add_periodic(app, Periodic("tests.core.test_runtime.tick", 1, queue="low"))
    scheduler = background(run_scheduler, app)
    low = get_queue("low", app, worker_redis(app))
    eventually(lambda: low.count >= 1, 10, "a periodic job enqueued")

    private_redis.stop()
    time.sleep(3)
    survived = scheduler.is_alive()
    private_redis.start()  # an empty Redis: whatever was queued is gone

    assert survived
    eventually(lambda: low.count >= 1, 30, "periodic jobs enqueued again after the outage")
    eventually(
        lambda: any(
            name.decode().startswith(app.config["QUEUE_PREFIX"] + "steward:")
            for name in worker_redis(app).zrange("rq:cron_schedulers", 0, -1)
        ),
        10,
        "the scheduler registered again",
    )


def test_a_periodic_job_that_succeeded_is_remembered_for_the_metrics(app, client):
    from app.core.runner import run_job

    run_job("tests.core.test_runtime.tick")

    assert "tests.core.test_runtime.tick" in last_successes(app)


def test_the_cli_runs_a_job_by_its_path(runner):
    result = runner.invoke(args=["jobs", "run", "tests.core.test_runtime.tick"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "tests.core.test_runtime.tick: None"
