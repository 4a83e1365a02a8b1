"""The real job processes, ``python -m workers worker`` and ``python -m workers scheduler``, run
as in production against a real Redis and the test's database: they run the periodic jobs and
deliver notifications, outlive a Redis outage, and retry the job of a worker killed mid-job.

These tests wait for real time to pass (a heartbeat to expire, a minute's schedule), so they
run on one backend only: PostgreSQL when configured, as in production, else SQLite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app import create_app
from app.catalogue import service as catalogue
from app.core import audit
from app.core.audit import AuditEvent
from app.core.clock import utcnow
from app.core.db import db
from app.core.outbox import JOB_TIMEOUT, OutboxMessage, dispatch_committed, enqueue
from app.core.runner import last_successes
from app.core.runtime import HEARTBEAT_GRACE, MAINTENANCE_SECONDS, SCHEDULER_MAX_SLEEP
from app.incidents.models import Ticket

ROOT = Path(__file__).resolve().parents[2]
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
TEAM_EMAIL = "finance-support@example.com"
ONE_BACKEND = pytest.mark.parametrize(
    "backend", ["postgresql" if TEST_DATABASE_URL else "sqlite"], indirect=True
)
SHARED_SETTINGS = (
    "TESTING",
    "REDIS_HANDOFF_TIMEOUT",
    "SQLALCHEMY_DATABASE_URI",
    "QUEUE_PREFIX",
    "SECRET_KEY",
    "INSTANCE_PATH",
    "ATTACHMENT_DIR",
)
# Settings of the caller's shell that would point the processes elsewhere.
SCRUBBED_ENV = (
    "DATABASE_URL",
    "REDIS_URL",
    "QUEUE_PREFIX",
    "SMTP_HOST",
    "SMTP_PORT",
    "WEBHOOK_URL",
    "PROMETHEUS_MULTIPROC_DIR",
    "WORKER_METRICS_PORT",
    "STEWARD_ENV",
)


def needs_test_redis() -> None:
    if not TEST_REDIS_URL:
        if os.environ.get("CI"):
            pytest.fail("TEST_REDIS_URL is needed in CI")
        pytest.skip("needs TEST_REDIS_URL (a real Redis; CI sets it)")


def slow_the_first_time(session, *, marker: str, flag: str) -> None:
    """A job whose first run hangs (its worker is killed meanwhile); a retry runs at once."""
    path = Path(flag)
    if not path.exists():
        path.write_text(str(os.getpid()))
        time.sleep(300)
    audit.record(session, None, "marker", marker, "ran")


# --- processes ------------------------------------------------------------------------------


@dataclass
class Process:
    role: str
    popen: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        """SIGKILL to the whole process group, as when a container is killed."""
        os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)


@pytest.fixture
def processes(app, smtp_server, tmp_path) -> Iterator[Callable[..., Process]]:
    """start(role, *options, redis_url=TEST_REDIS_URL): ``python -m workers <role> <options>``
    on the test's data."""
    started: list[Process] = []

    def start(role: str, *options: str, redis_url: str | None = None) -> Process:
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
        env.update(
            DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
            REDIS_URL=redis_url or TEST_REDIS_URL,
            QUEUE_PREFIX=app.config["QUEUE_PREFIX"],
            SMTP_HOST=smtp_server.host,
            SMTP_PORT=str(smtp_server.port),
            STEWARD_INSTANCE_PATH=str(tmp_path / "instance"),
            SECRET_KEY="test-secret",
        )
        log = tmp_path / f"{role}-{len(started)}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [sys.executable, "-m", "workers", role, *options],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = Process(role, popen, log)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.alive():
            process.popen.terminate()
            try:
                process.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def app_on(app) -> Iterator[Callable[[str], object]]:
    """app_on(redis_url): the web side of the test's database, on another Redis."""
    built = []

    def build(redis_url: str):
        settings = {key: app.config[key] for key in SHARED_SETTINGS}
        built.append(create_app({**settings, "REDIS_URL": redis_url}))
        return built[-1]

    yield build
    for other in built:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def eventually(check: Callable[[], bool], seconds: float, what: str, *watched: Process) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        for process in watched:
            if not process.alive():
                pytest.fail(f"{process.role} exited:\n{process.log_tail()}")
        time.sleep(0.25)
    logs = "\n".join(f"--- {p.role}\n{p.log_tail()}" for p in watched)
    pytest.fail(f"not within {seconds} s: {what}\n{logs}")


@pytest.fixture
def overdue_ticket(db_session, make_user, as_):
    """A P2 ticket of a module whose group has a mailbox, its first response already late."""
    catalogue.create_group(
        db_session, None, code="FINSUP", name="Finance support", email=TEAM_EMAIL
    )
    catalogue.create_module(db_session, None, code="FIN", name="Finance", support_group="FINSUP")
    db_session.commit()
    requester = make_user("requester", email="rita.requester@example.com")
    response = as_(requester).post(
        "/api/v1/tickets",
        json={
            "title": "Invoice posting fails",
            "description": "Error 'period closed'.",
            "module": "FIN",
            "impact": "high",
            "urgency": "medium",
        },
    )
    assert response.status_code == 201, response.get_json()
    ticket = db_session.scalar(select(Ticket).where(Ticket.title == "Invoice posting fails"))
    late = utcnow() - timedelta(minutes=5)
    ticket.response_warn_at = ticket.response_due_at = late
    db_session.commit()
    return ticket


def ran(db_session, marker: str) -> bool:
    db_session.commit()
    return (
        db_session.scalar(
            select(AuditEvent.id).where(
                AuditEvent.entity_type == "marker", AuditEvent.entity_id == marker
            )
        )
        is not None
    )


# --- the stories ----------------------------------------------------------------------------


@ONE_BACKEND
def test_the_processes_run_a_periodic_job_and_deliver_notifications(
    app, processes, overdue_ticket, smtp_server, db_session
):
    needs_test_redis()
    worker = processes("worker")
    scheduler = processes("scheduler")

    # the request handed the receipt over; the scheduler's SLA scan finds the breach
    eventually(
        lambda: smtp_server.to(overdue_ticket.reporter.email), 60, "the receipt", worker, scheduler
    )
    eventually(
        lambda: any("breached" in m.subject for m in smtp_server.to(TEAM_EMAIL)),
        60,
        "the breach notice from the periodic SLA scan",
        worker,
        scheduler,
    )
    db_session.expire_all()
    assert db_session.get(Ticket, overdue_ticket.id).response_breached_at is not None
    assert {"app.incidents.jobs.scan_sla", "app.core.jobs.sweep_outbox"} <= set(last_successes(app))


@ONE_BACKEND
def test_the_processes_outlive_a_redis_outage_and_resume_by_themselves(
    app, app_on, processes, private_redis, overdue_ticket, smtp_server, db_session
):
    web = app_on(private_redis.url)
    worker = processes("worker", redis_url=private_redis.url)
    scheduler = processes("scheduler", redis_url=private_redis.url)
    eventually(
        lambda: "app.incidents.jobs.scan_sla" in last_successes(web),
        60,
        "the first SLA scan",
        worker,
        scheduler,
    )

    private_redis.stop()  # connection refused, longer than the scheduler ever sleeps
    time.sleep(SCHEDULER_MAX_SLEEP + 3)
    survivors = (worker.alive(), scheduler.alive())
    private_redis.start()  # back, and empty: the schedule must come from the scheduler itself

    assert survivors == (True, True), worker.log_tail() + scheduler.log_tail()
    with web.app_context():
        enqueue(
            db.session,
            "app.incidents.jobs.send_ticket_email",
            ticket_id=overdue_ticket.id,
            event="public_comment",
            audience="requester",
        )
        db.session.commit()
        dispatch_committed(web, db.session)
    eventually(
        lambda: any("New answer" in m.subject for m in smtp_server.messages),
        60,
        "a notification after the outage",
        worker,
        scheduler,
    )
    eventually(
        lambda: "app.incidents.jobs.scan_sla" in last_successes(web),
        90,
        "the SLA scan running again on schedule",
        worker,
        scheduler,
    )


@ONE_BACKEND
def test_the_job_of_a_worker_killed_mid_job_is_retried_within_about_a_minute(
    app, processes, db_session, tmp_path
):
    needs_test_redis()
    flag = tmp_path / "started"
    message = enqueue(
        db_session,
        "tests.core.test_processes.slow_the_first_time",
        marker="orphan",
        flag=str(flag),
    )
    db_session.commit()
    dispatch_committed(app, db_session)
    doomed = processes("worker")
    eventually(flag.exists, 60, "the job started", doomed)

    doomed.kill()
    killed_at = time.monotonic()
    survivor = processes("worker")
    eventually(lambda: ran(db_session, "orphan"), 120, "the job retried", survivor)
    waited = time.monotonic() - killed_at

    expected = JOB_TIMEOUT + HEARTBEAT_GRACE + MAINTENANCE_SECONDS + 10 + MAINTENANCE_SECONDS
    assert waited < expected + 15, f"retried after {waited:.0f} s"
    db_session.expire_all()
    assert db_session.get(OutboxMessage, message.id).completed_at is not None


@ONE_BACKEND
def test_a_worker_process_with_threads_delivers_and_stops_cleanly_on_sigterm(
    app, processes, overdue_ticket, smtp_server
):
    needs_test_redis()
    worker = processes("worker", "--threads", "3")
    eventually(lambda: smtp_server.to(overdue_ticket.reporter.email), 60, "the receipt", worker)

    worker.popen.terminate()

    assert worker.popen.wait(timeout=30) == 0, worker.log_tail()
