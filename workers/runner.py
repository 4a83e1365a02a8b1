"""Runs one outbox message as a job: app context, own session, one commit.

The message row is marked completed in the same transaction as the job's own changes, so a job
that RQ delivers twice (a retry after a crash, a sweep re-send) runs its effect once.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from typing import Any

from flask import Flask

from app.core.clock import utcnow
from app.core.db import db
from app.core.metrics import JOB_DURATION, JOBS
from app.core.outbox import OutboxMessage, dispatch_committed

log = logging.getLogger(__name__)
_app: Flask | None = None


def bind_app(app: Flask) -> None:
    """Use ``app`` for jobs run in this process (the embedded runtime, tests, the worker)."""
    global _app
    _app = app


def current_app_for_jobs() -> Flask:
    global _app
    if _app is None:
        from app import create_app

        _app = create_app()
    return _app


def resolve(path: str) -> Callable[..., Any]:
    module_name, _, attribute = path.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def run_job(path: str, **kwargs: Any) -> Any:
    """Run ``path(session, **kwargs)`` in its own transaction, with job metrics."""
    app = current_app_for_jobs()
    started = time.perf_counter()
    outcome = "failed"
    try:
        with app.app_context():
            result = resolve(path)(db.session, **kwargs)
            db.session.commit()
            dispatch_committed(app, db.session)
            outcome = "succeeded"
            return result
    finally:
        name = path.rsplit(".", 1)[-1]
        JOBS.labels(name, outcome).inc()
        JOB_DURATION.labels(name).observe(time.perf_counter() - started)


def run_outbox_message(message_id: int) -> str:
    """The RQ job behind every outbox row."""
    app = current_app_for_jobs()
    with app.app_context():
        message = db.session.get(OutboxMessage, message_id)
        if message is None:
            return "missing"
        if message.completed_at is not None:
            return "already done"
        path, kwargs = message.job, dict(message.kwargs)
    started = time.perf_counter()
    outcome = "failed"
    name = path.rsplit(".", 1)[-1]
    try:
        with app.app_context():
            message = db.session.get(OutboxMessage, message_id, with_for_update=True)
            if message.completed_at is not None:
                return "already done"
            resolve(path)(db.session, **kwargs)
            message.completed_at = utcnow()
            message.last_error = None
            db.session.commit()
            dispatch_committed(app, db.session)
        outcome = "succeeded"
        return "done"
    except Exception as exc:
        with app.app_context():
            db.session.query(OutboxMessage).filter_by(id=message_id).update(
                {"last_error": f"{type(exc).__name__}: {exc}"[:2000]}
            )
            db.session.commit()
        raise
    finally:
        JOBS.labels(name, outcome).inc()
        JOB_DURATION.labels(name).observe(time.perf_counter() - started)
