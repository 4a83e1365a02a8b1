"""Running a job by its path: an app context, the job's own session, one commit.

Two kinds of job reach the queue: ``run_job(path)`` for the periodic work (the scheduler names
a plain domain function ``fn(session)``), and ``run_outbox_message(id)`` for every outbox row.
The worker process keeps one application for all its jobs (no fork, no app per job); each job
gets a fresh app context, hence its own session and transaction.

An outbox row is marked completed in the same transaction as the job's own changes, so a job
that RQ delivers twice (a retry after a crash, a sweep re-send) runs its effect once.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import update

from app.core import outbox
from app.core.db import db
from app.core.metrics import JOB_DURATION, JOBS
from app.core.outbox import OutboxMessage, dispatch_committed

log = logging.getLogger(__name__)
_app: Flask | None = None
_lock = threading.Lock()
_LAST_SUCCESS_KEY = "steward:periodic:last_success"


def bind_app(app: Flask) -> None:
    """Use ``app`` for jobs run in this process (the worker, the embedded runtime, tests)."""
    global _app
    _app = app


def app_for_jobs() -> Flask:
    """The bound application, or one built from the environment (e.g. under ``rq worker``)."""
    global _app
    if _app is None:
        with _lock:
            if _app is None:
                from app import create_app  # the composition root, imported only when needed

                _app = create_app()
    return _app


def resolve(path: str) -> Callable[..., Any]:
    """The function named by a dotted path, e.g. ``app.incidents.jobs.scan_sla``."""
    module_name, _, attribute = path.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def run_job(path: str, **kwargs: Any) -> Any:
    """Run ``path(session, **kwargs)`` in its own transaction, with job metrics."""
    app = app_for_jobs()
    started = time.perf_counter()
    outcome = "failed"
    try:
        with app.app_context():
            result = resolve(path)(db.session, **kwargs)
            db.session.commit()
            dispatch_committed(app, db.session)
        outcome = "succeeded"
        record_success(app, path)
        return result
    finally:
        name = path.rsplit(".", 1)[-1]
        JOBS.labels(name, outcome).inc()
        JOB_DURATION.labels(name).observe(time.perf_counter() - started)


def run_outbox_message(message_id: int) -> str:
    """The RQ job behind every outbox row: run it once, in its turn, and mark it completed."""
    app = app_for_jobs()
    started = time.perf_counter()
    name = None
    outcome = "failed"
    try:
        with app.app_context():
            session = db.session
            message, earlier = outbox.claim(session, message_id)
            if message is None:
                return "missing"
            if message.completed_at is not None:
                return "already done"
            if earlier is not None:
                outbox.wait_for_turn(message)
                session.commit()
                return f"waiting for message {earlier}"
            name = message.job.rsplit(".", 1)[-1]
            resolve(message.job)(session, **dict(message.kwargs))
            outbox.complete(session, message)
            session.commit()
            dispatch_committed(app, session)
        outcome = "succeeded"
        return "done"
    except Exception as exc:
        _record_error(app, message_id, exc)
        raise
    finally:
        if name is not None:
            JOBS.labels(name, outcome).inc()
            JOB_DURATION.labels(name).observe(time.perf_counter() - started)


def _record_error(app: Flask, message_id: int, exc: Exception) -> None:
    """Keep the job's error on its row (the job's own changes were rolled back)."""
    try:
        with app.app_context():
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(last_error=f"{type(exc).__name__}: {exc}"[:2000])
            )
            db.session.commit()
    except Exception:  # the database itself may be what failed; RQ keeps the traceback
        log.warning("could not record the error of outbox message %s", message_id)


def _last_success_key(app: Flask) -> str:
    return app.config.get("QUEUE_PREFIX", "") + _LAST_SUCCESS_KEY


def record_success(app: Flask, path: str) -> None:
    """Remember when ``path`` last succeeded (``/metrics`` shows it; alerts catch a stall)."""
    from app.core.queue import redis_for

    try:
        redis_for(app).hset(_last_success_key(app), path, f"{time.time():.3f}")
    except Exception as exc:  # best effort: the job's work is done and committed
        log.warning("could not record the success of %s: %s", path, exc)


def last_successes(app: Flask) -> dict[str, float]:
    """Job path -> Unix time of its last success (bounded read on the hand-off connection)."""
    from app.core.queue import redis_for

    raw = redis_for(app).hgetall(_last_success_key(app))
    return {key.decode(): float(value) for key, value in raw.items()}
