"""The job queue connections: real Redis when ``REDIS_URL`` is set, an embedded one otherwise.

Each app has two connections, because the web tier and the job processes need opposite things:

- ``redis_for(app)``, the hand-off connection of web requests and probes: connect and read
  time out after ``REDIS_HANDOFF_TIMEOUT`` (0.1 s) with no retry, so a Redis that hangs or
  refuses costs a request at most that, never the 5 s per command of a default client.
- ``worker_redis(app)``, the job processes' connection: RQ sets its read timeout above its
  blocking dequeue; the worker and scheduler loops reconnect with backoff.

The embedded queue is one fakeredis server in this process, shared by both connections, so the
same RQ code paths (enqueue, worker, cron scheduler) run with no server at all.
"""

from __future__ import annotations

import re
import threading

from flask import Flask, current_app
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue

QUEUE_NAMES = ("high", "default", "low")
HANDOFF_TIMEOUT = 0.1
WORKER_CONNECT_TIMEOUT = 5
_HANDOFF_KEY = "steward.redis_handoff"
_WORKER_KEY = "steward.redis_worker"
_SERVER_KEY = "steward.embedded_redis_server"
_lock = threading.Lock()
_JOB_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def _connect(app: Flask, *, handoff: bool) -> Redis:
    url = app.config.get("REDIS_URL")
    if not url:
        import fakeredis

        server = app.extensions.setdefault(_SERVER_KEY, fakeredis.FakeServer())
        return fakeredis.FakeRedis(server=server)
    if handoff:
        timeout = float(app.config.get("REDIS_HANDOFF_TIMEOUT", HANDOFF_TIMEOUT))
        return Redis.from_url(
            url,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
        )
    return Redis.from_url(
        url,
        socket_connect_timeout=WORKER_CONNECT_TIMEOUT,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=30,
    )


def _cached(app: Flask, key: str, handoff: bool) -> Redis:
    connection = app.extensions.get(key)
    if connection is not None:
        return connection
    with _lock:  # one client (and pool) per app, shared by every thread
        connection = app.extensions.get(key)
        if connection is None:
            connection = _connect(app, handoff=handoff)
            app.extensions[key] = connection
    return connection


def redis_for(app: Flask) -> Redis:
    """The bounded hand-off connection (web requests, probes, metrics) of this app."""
    return _cached(app, _HANDOFF_KEY, handoff=True)


def worker_redis(app: Flask) -> Redis:
    """The connection of the worker and the scheduler of this app (same server, own pool)."""
    return _cached(app, _WORKER_KEY, handoff=False)


def get_queue(
    name: str = "default", app: Flask | None = None, connection: Redis | None = None
) -> Queue:
    """An RQ queue; ``QUEUE_PREFIX`` keeps deployments (or test runs) sharing a Redis apart."""
    app = app or current_app._get_current_object()
    return Queue(app.config.get("QUEUE_PREFIX", "") + name, connection=connection or redis_for(app))


def job_id(app: Flask, key: str) -> str:
    """A job id unique to this deployment; RQ accepts only letters, digits, ``_`` and ``-``."""
    return _JOB_ID_UNSAFE.sub("-", app.config.get("QUEUE_PREFIX", "")) + key


def redis_status(app: Flask) -> str:
    """``ok``, ``ok (embedded)`` or ``failed: <error type>``, within the hand-off timeout."""
    try:
        redis_for(app).ping()
    except Exception as exc:  # any failure is an answer here; never the connection details
        return f"failed: {type(exc).__name__}"
    return "ok" if app.config.get("REDIS_URL") else "ok (embedded)"
