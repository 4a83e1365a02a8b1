"""The embedded runtime (no ``REDIS_URL``): the worker and scheduler loops on threads of the web
process, on an in-process queue, deliver notifications and run the periodic jobs, and carry on
after a failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from rq.cron import CronScheduler

from app.core import embedded
from app.core.runner import last_successes

TICKET = {
    "title": "Invoice posting fails",
    "description": "Error 'period closed' when posting invoice 4711.",
    "module": "FIN",
    "impact": "medium",
    "urgency": "medium",
}


@pytest.fixture
def app_config(smtp_server) -> dict:
    return {"REDIS_URL": None, "SMTP_HOST": smtp_server.host, "SMTP_PORT": smtp_server.port}


@pytest.fixture
def runtime(app) -> Iterator[embedded.Runtime]:
    started = embedded.start(app)
    yield started
    embedded.stop(app)


def eventually(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"not within {seconds} s: {what}")


def test_the_app_runs_jobs_in_process_when_no_redis_is_configured(app):
    assert app.config["EMBEDDED_JOBS"] is True


def test_the_embedded_runtime_delivers_a_notification(app, runtime, as_, requester, smtp_server):
    response = as_(requester).post("/api/v1/tickets", json=TICKET)
    ref = response.get_json()["ref"]

    eventually(lambda: smtp_server.to(requester.email), 20, "the receipt mail")
    [mail] = smtp_server.to(requester.email)
    assert ref in mail.subject


def test_the_embedded_runtime_runs_the_periodic_jobs(app, runtime):
    expected = {"app.core.jobs.sweep_outbox", "app.incidents.jobs.scan_sla"}

    eventually(lambda: expected <= set(last_successes(app)), 20, "the periodic jobs")


def test_the_embedded_runtime_starts_once_per_app(app, runtime):
    assert embedded.start(app) is runtime
    assert len(runtime.threads) == 2


def test_the_embedded_scheduler_carries_on_after_a_failure(app, monkeypatch):
    real = CronScheduler.enqueue_jobs
    failures = []

    def failing_once(self):
        if not failures:
            failures.append("boom")
            raise ConnectionError("the queue went away")
        return real(self)

    monkeypatch.setattr(CronScheduler, "enqueue_jobs", failing_once)
    runtime = embedded.start(app)
    try:
        eventually(
            lambda: "app.core.jobs.sweep_outbox" in last_successes(app), 20, "a periodic job"
        )
        assert failures == ["boom"]
        assert runtime.alive()
    finally:
        embedded.stop(app)
    assert not any(thread.is_alive() for thread in runtime.threads), "stop() ends the threads"
