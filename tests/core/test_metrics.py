"""/metrics: HTTP and job metrics with bounded labels, aggregated over gunicorn's workers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from rq.cron import CronScheduler

from app import create_app
from app.core.db import db
from app.core.outbox import OutboxMessage, enqueue
from app.core.queue import QUEUE_NAMES, get_queue, worker_redis
from app.core.runner import run_job
from app.core.runtime import JobWorker, scheduler_name
from tests.faults import SICK_REDIS_BOUND_SECONDS

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HEALTHZ_REQUESTS = 60


def samples(exposition: str, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``."""
    total = 0.0
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def label_values(exposition: str) -> set[str]:
    return {
        value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        for value in sample.labels.values()
    }


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.get_data(as_text=True)


# --- jobs used by the job-metric tests ------------------------------------------------------


def quiet_job(session) -> str:
    return "done"


def failing_job(session) -> None:
    raise RuntimeError("no luck")


# --- in process -----------------------------------------------------------------------------


def test_metrics_are_served_in_the_prometheus_text_format(client):
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST  # one charset, as Go parses it
    assert "# TYPE steward_http_requests_total counter" in response.get_data(as_text=True)


def test_each_request_is_counted_under_its_endpoint_method_and_status(client):
    labels = {"endpoint": "core.healthz", "method": "GET", "status": "200"}
    before = samples(scrape(client), "steward_http_requests_total", **labels)

    for _ in range(3):
        client.get("/healthz")

    assert samples(scrape(client), "steward_http_requests_total", **labels) == before + 3


def test_each_request_is_timed_under_its_endpoint(client):
    before = samples(
        scrape(client), "steward_http_request_duration_seconds_count", endpoint="core.healthz"
    )

    client.get("/healthz")
    client.get("/healthz")

    after = samples(
        scrape(client), "steward_http_request_duration_seconds_count", endpoint="core.healthz"
    )
    assert after == before + 2


def test_errors_are_counted_with_their_status(client):
    labels = {"endpoint": "auth_api.Me", "status": "401"}
    before = samples(scrape(client), "steward_http_requests_total", **labels)

    client.get("/api/v1/me")

    assert samples(scrape(client), "steward_http_requests_total", **labels) == before + 1


def test_unknown_paths_share_one_label_and_never_show_the_url(client):
    before = samples(scrape(client), "steward_http_requests_total", endpoint="unmatched")

    client.get("/api/v1/no-such-thing-4711")
    client.get("/another-unknown-page-4712")

    exposition = scrape(client)
    assert samples(exposition, "steward_http_requests_total", endpoint="unmatched") == before + 2
    assert not [value for value in label_values(exposition) if "471" in value]


def test_a_path_with_an_id_is_counted_under_its_route_not_its_url(make_user, api_client, client):
    user = make_user("admin")
    api = api_client(user)
    before = samples(scrape(client), "steward_http_requests_total", endpoint="users_api.UserItem")

    api.get(f"/api/v1/users/{user.id}")
    api.get("/api/v1/users/987654")

    exposition = scrape(client)
    assert samples(exposition, "steward_http_requests_total", endpoint="users_api.UserItem") == (
        before + 2
    )
    assert not [value for value in label_values(exposition) if "987654" in value]


def test_jobs_are_counted_by_task_and_outcome(app, client):
    succeeded = {"task": "quiet_job", "outcome": "succeeded"}
    failed = {"task": "failing_job", "outcome": "failed"}
    exposition = scrape(client)
    before = (
        samples(exposition, "steward_jobs_total", **succeeded),
        samples(exposition, "steward_jobs_total", **failed),
        samples(exposition, "steward_job_duration_seconds_count", task="quiet_job"),
    )

    run_job("tests.core.test_metrics.quiet_job")
    with pytest.raises(RuntimeError):
        run_job("tests.core.test_metrics.failing_job")

    exposition = scrape(client)
    after = (
        samples(exposition, "steward_jobs_total", **succeeded),
        samples(exposition, "steward_jobs_total", **failed),
        samples(exposition, "steward_job_duration_seconds_count", task="quiet_job"),
    )
    assert after == (before[0] + 1, before[1] + 1, before[2] + 1)


# --- under gunicorn, several worker processes -----------------------------------------------


@dataclass
class Server:
    url: str
    metrics_dir: Path
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_ready(server: Server, process: subprocess.Popen, seconds: float = 60) -> None:
    """Poll until gunicorn answers (bounded); fail with its log if it dies or never answers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if requests.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # not listening, or still booting
            pass
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not become ready within {seconds} s:\n{server.log_tail()}")


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory) -> Iterator[Server]:
    """Steward under gunicorn with three workers sharing one metrics directory (SQLite)."""
    tmp = tmp_path_factory.mktemp("gunicorn")
    instance = tmp / "instance"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR", "STEWARD_ENV"}
    }
    env.update(
        STEWARD_INSTANCE_PATH=str(instance),
        DATABASE_URL=f"sqlite:///{instance / 'steward.db'}",
        SECRET_KEY="test-secret",
    )
    migrated = subprocess.run(
        [str(BIN / "flask"), "--app", "app", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrated.returncode == 0, migrated.stderr
    metrics_dir = tmp / "prometheus"
    metrics_dir.mkdir()
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    port = _free_port()
    server = Server(f"http://127.0.0.1:{port}", metrics_dir, tmp / "gunicorn.log")
    with server.log.open("wb") as log:
        process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--config",
                "gunicorn.conf.py",
                "-w",
                "3",
                "-b",
                f"127.0.0.1:{port}",
                "app:create_app()",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_ready(server, process)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def test_the_request_counter_adds_up_over_every_gunicorn_worker(gunicorn_server):
    def hit(_: int) -> int:
        return requests.get(f"{gunicorn_server.url}/healthz", timeout=10).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:  # concurrent, so several workers answer
        statuses = list(pool.map(hit, range(HEALTHZ_REQUESTS)))
    assert statuses == [200] * HEALTHZ_REQUESTS

    workers = {
        path.stem.rsplit("_", 1)[1] for path in gunicorn_server.metrics_dir.glob("counter_*.db")
    }
    assert len(workers) >= 2, "the requests should have been spread over several workers"
    for _ in range(6):  # whichever worker answers the scrape, it reports every worker's count
        exposition = requests.get(f"{gunicorn_server.url}/metrics", timeout=10).text
        counted = samples(exposition, "steward_http_requests_total", endpoint="core.healthz")
        assert counted == HEALTHZ_REQUESTS, gunicorn_server.log_tail()


# --- the job system, as the web tier sees it ------------------------------------------------


def gauges(exposition: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def test_the_outbox_shows_what_waits_what_runs_and_what_was_given_up(
    app, client, db_session, frozen_clock
):
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    frozen_clock(t0)
    waiting, running, done, given_up = (
        enqueue(db_session, "app.core.jobs.sweep_outbox") for _ in range(4)
    )
    running.dispatched_at = t0 + timedelta(minutes=1)
    done.dispatched_at = done.completed_at = t0 + timedelta(minutes=1)
    given_up.dispatched_at, given_up.gave_up_at = t0, t0 + timedelta(minutes=2)
    db_session.commit()
    assert isinstance(waiting, OutboxMessage)
    frozen_clock(t0 + timedelta(minutes=10))

    values = gauges(scrape(client))

    assert values[("steward_outbox_pending_messages", ())] == 1
    assert values[("steward_outbox_oldest_pending_age_seconds", ())] == 600
    assert values[("steward_outbox_unfinished_messages", ())] == 1
    assert values[("steward_outbox_oldest_unfinished_age_seconds", ())] == 540
    assert values[("steward_outbox_given_up_messages", ())] == 1


def test_a_hung_redis_shows_as_down_and_the_scrape_still_answers_at_once(app, hung_redis):
    settings = {k: app.config[k] for k in ("TESTING", "SQLALCHEMY_DATABASE_URI", "SECRET_KEY")}
    sick = create_app({**settings, "REDIS_URL": hung_redis.url})
    try:
        started = time.perf_counter()
        response = sick.test_client().get("/metrics")
        seconds = time.perf_counter() - started
    finally:
        with sick.app_context():
            db.session.remove()
            db.engine.dispose()

    values = gauges(response.get_data(as_text=True))
    assert response.status_code == 200
    assert values[("steward_redis_up", ())] == 0
    assert ("steward_outbox_pending_messages", ()) in values, "the database part still shows"
    assert not [key for key in values if key[0] == "steward_queue_jobs"]
    assert seconds < SICK_REDIS_BOUND_SECONDS


def test_live_workers_and_schedulers_are_counted(app, client):
    connection = worker_redis(app)
    before = gauges(scrape(client))
    worker = JobWorker(
        [get_queue(name, app, connection) for name in QUEUE_NAMES],
        connection=connection,
        stop=threading.Event(),
    )
    worker.register_birth()
    scheduler = CronScheduler(connection=connection, name=f"{scheduler_name(app)}:test")
    scheduler.register_birth()
    try:
        during = gauges(scrape(client))
    finally:
        worker.register_death()
        scheduler.register_death()
    after = gauges(scrape(client))

    worker_key, scheduler_key = (
        ("steward_job_processes", (("role", role),)) for role in ("worker", "scheduler")
    )
    assert (before[worker_key], before[scheduler_key]) == (0, 0)
    assert (during[worker_key], during[scheduler_key]) == (1, 1)
    assert (after[worker_key], after[scheduler_key]) == (0, 0)


def test_each_periodic_job_shows_its_interval_and_its_last_success(app, client):
    before = gauges(scrape(client))

    run_job("app.incidents.jobs.scan_sla")

    after = gauges(scrape(client))
    task = (("task", "scan_sla"),)
    assert after[("steward_periodic_job_interval_seconds", task)] == 60
    assert ("steward_periodic_job_last_success_timestamp_seconds", task) not in before
    assert (
        abs(after[("steward_periodic_job_last_success_timestamp_seconds", task)] - time.time()) < 60
    )
