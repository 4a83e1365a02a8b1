"""The embedded job runtime: an RQ worker and the cron scheduler on threads of the web process.

Used when no ``REDIS_URL`` is set (demo, ``flask run``): the queue is fakeredis in this process,
and the same RQ code paths run the same jobs as in production, just without separate processes.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask
from rq import SimpleWorker
from rq.cron import CronScheduler
from rq.timeouts import TimerDeathPenalty

from app.core.queue import QUEUE_NAMES, get_queue, redis_for
from workers.runner import bind_app
from workers.schedule import register_all

log = logging.getLogger(__name__)
_started: set[int] = set()
_lock = threading.Lock()


class ThreadWorker(SimpleWorker):
    """A SimpleWorker that can live outside the main thread (signals belong to the server):
    job timeouts use a timer instead of SIGALRM."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        pass


def _work_forever(app: Flask) -> None:
    connection = redis_for(app)
    queues = [get_queue(name, app) for name in QUEUE_NAMES]
    while True:
        # a fresh worker per burst: each registers, drains the queues (and moves due retries
        # back onto them), then deregisters
        worker = ThreadWorker(queues, connection=connection)
        try:
            worker.work(burst=True, logging_level="WARNING", with_scheduler=True)
        except Exception:
            log.exception("embedded worker failed; restarting")
        time.sleep(1)


def _schedule_forever(app: Flask) -> None:
    scheduler = CronScheduler(connection=redis_for(app), logging_level="WARNING")
    register_all(scheduler, app.config.get("QUEUE_PREFIX", ""))
    while True:
        try:
            scheduler.enqueue_jobs()
        except Exception:
            log.exception("embedded scheduler failed")
        time.sleep(max(1.0, min(scheduler.calculate_sleep_interval(), 30)))


def start(app: Flask) -> None:
    """Start the worker and scheduler threads once per app."""
    with _lock:
        if id(app) in _started:
            return
        _started.add(id(app))
    bind_app(app)
    for target, name in (
        (_work_forever, "steward-worker"),
        (_schedule_forever, "steward-scheduler"),
    ):
        threading.Thread(target=target, args=(app,), name=name, daemon=True).start()
    log.info("embedded job runtime started (in-process queue)")


def start_on_first_request(app: Flask) -> None:
    @app.before_request
    def _ensure_runtime() -> None:
        start(app)
