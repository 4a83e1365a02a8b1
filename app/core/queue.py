"""The job queue connection: real Redis when ``REDIS_URL`` is set, an embedded one otherwise.

The embedded queue is fakeredis in this process, so the same RQ code paths (enqueue, worker,
cron scheduler) run with no server at all.
"""

from __future__ import annotations

import re
import threading

from flask import Flask, current_app
from redis import Redis
from rq import Queue

QUEUE_NAMES = ("high", "default", "low")
_EMBEDDED_KEY = "steward.embedded_redis"
_lock = threading.Lock()
_JOB_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def redis_for(app: Flask) -> Redis:
    """The Redis connection this app's jobs use (one per app, created once, thread-safe).

    The embedded queue lives in this connection's server, so every thread of the process
    (requests, the worker, the scheduler) must share the very same one.
    """
    connection = app.extensions.get(_EMBEDDED_KEY)
    if connection is not None:
        return connection
    with _lock:
        connection = app.extensions.get(_EMBEDDED_KEY)
        if connection is None:
            url = app.config.get("REDIS_URL")
            if url:
                connection = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
            else:
                import fakeredis

                connection = fakeredis.FakeRedis(server=fakeredis.FakeServer())
            app.extensions[_EMBEDDED_KEY] = connection
    return connection


def get_queue(name: str = "default", app: Flask | None = None) -> Queue:
    """An RQ queue; ``QUEUE_PREFIX`` keeps deployments (or test runs) sharing a Redis apart."""
    app = app or current_app._get_current_object()
    return Queue(app.config.get("QUEUE_PREFIX", "") + name, connection=redis_for(app))


def job_id(app: Flask, key: str) -> str:
    """A job id unique to this deployment; RQ accepts only letters, digits, ``_`` and ``-``."""
    return _JOB_ID_UNSAFE.sub("-", app.config.get("QUEUE_PREFIX", "")) + key
