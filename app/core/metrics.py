"""Prometheus metrics: the HTTP RED metrics, job metrics, and the scrape-time collectors.

Under gunicorn with several workers, ``PROMETHEUS_MULTIPROC_DIR`` is set and every process
writes its samples there; ``/metrics`` aggregates them with the multiprocess collector. Business
gauges are read from stored snapshots and small indexed counts, never from heavy queries.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "steward_http_requests",
    "HTTP requests served, by Flask endpoint and status code.",
    ["method", "endpoint", "status"],
)
HTTP_DURATION = Histogram(
    "steward_http_request_duration_seconds",
    "Time to serve an HTTP request.",
    ["method", "endpoint"],
    buckets=LATENCY_BUCKETS,
)
JOBS = Counter("steward_jobs", "Jobs run by workers, by outcome.", ["task", "outcome"])
JOB_DURATION = Histogram(
    "steward_job_duration_seconds",
    "Time a job took.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900),
)

# Collectors that read state at scrape time (cheap, indexed reads only); domains add theirs.
_SCRAPE_COLLECTORS: list[Callable[[], Iterable[Metric]]] = []


def add_scrape_collector(collect: Callable[[], Iterable[Metric]]) -> None:
    """Register a function yielding metric families, called on every scrape (once per function)."""
    if collect not in _SCRAPE_COLLECTORS:
        _SCRAPE_COLLECTORS.append(collect)


def _age_seconds(instant, now) -> float:
    if instant is None:
        return 0.0
    instant = instant if instant.tzinfo else instant.replace(tzinfo=now.tzinfo)
    return max((now - instant).total_seconds(), 0.0)


def collect_outbox() -> Iterable[Metric]:
    """The outbox: what waits to be handed over, what was handed over and never finished
    (a lost or failing job), and what was given up. Indexed reads of the unfinished slice."""
    from sqlalchemy import func, select

    from app.core.clock import utcnow
    from app.core.db import db
    from app.core.outbox import OutboxMessage

    now = utcnow()
    unfinished = (OutboxMessage.completed_at.is_(None), OutboxMessage.gave_up_at.is_(None))
    pending, oldest_pending = db.session.execute(
        select(func.count(OutboxMessage.id), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.dispatched_at.is_(None), *unfinished
        )
    ).one()
    running, oldest_running = db.session.execute(
        select(func.count(OutboxMessage.id), func.min(OutboxMessage.dispatched_at)).where(
            OutboxMessage.dispatched_at.is_not(None), *unfinished
        )
    ).one()
    given_up = db.session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.completed_at.is_(None), OutboxMessage.gave_up_at.is_not(None)
        )
    )
    for name, documentation, value in (
        ("steward_outbox_pending_messages", "Outbox rows not yet handed to the queue.", pending),
        (
            "steward_outbox_oldest_pending_age_seconds",
            "Age of the oldest outbox row not yet handed to the queue.",
            _age_seconds(oldest_pending, now),
        ),
        (
            "steward_outbox_unfinished_messages",
            "Outbox rows handed to the queue whose job has not completed yet.",
            running,
        ),
        (
            "steward_outbox_oldest_unfinished_age_seconds",
            "Time since the oldest unfinished outbox row was handed to the queue.",
            _age_seconds(oldest_running, now),
        ),
        (
            "steward_outbox_given_up_messages",
            "Outbox rows lost too many times: nobody will send them.",
            given_up,
        ),
    ):
        family = gauge(name, documentation)
        family.add_metric([], value)
        yield family


def collect_queues() -> Iterable[Metric]:
    """Redis and the job processes as this web process sees them: whether Redis answers (a
    bounded ping), each queue's waiting, running, abandoned, failed and retrying jobs, the
    live workers and schedulers, and when each periodic job last succeeded."""
    from flask import current_app

    from app.core.queue import redis_for

    app = current_app._get_current_object()
    up = gauge("steward_redis_up", "Whether Redis answers this web process (1) or not (0).")
    try:
        redis_for(app).ping()
    except Exception:
        up.add_metric([], 0)
        yield up
        return
    up.add_metric([], 1)
    yield up
    yield from _queue_families(app)
    yield from _process_families(app)
    yield from _periodic_families(app)


def _queue_families(app: Flask) -> Iterable[Metric]:
    from rq.utils import current_timestamp

    from app.core.queue import QUEUE_NAMES, get_queue, redis_for

    families = {
        "waiting": gauge("steward_queue_jobs", "Jobs waiting in an RQ queue.", ["queue"]),
        "started": gauge(
            "steward_queue_started_jobs", "Jobs a worker is running (in flight).", ["queue"]
        ),
        "abandoned": gauge(
            "steward_queue_abandoned_jobs",
            "Running jobs whose worker stopped sending heartbeats (died); a live worker "
            "retries them within seconds, so a lasting value means no worker is alive.",
            ["queue"],
        ),
        "failed": gauge(
            "steward_queue_failed_jobs", "Jobs in an RQ queue's failed registry.", ["queue"]
        ),
        "scheduled": gauge(
            "steward_queue_scheduled_jobs", "Failed jobs waiting for their retry.", ["queue"]
        ),
    }
    connection = redis_for(app)
    now = current_timestamp()
    with connection.pipeline(transaction=False) as pipeline:
        for name in QUEUE_NAMES:
            queue = get_queue(name, app, connection)
            pipeline.llen(queue.key)
            pipeline.zcard(queue.started_job_registry.key)
            pipeline.zcount(queue.started_job_registry.key, "-inf", now)
            pipeline.zcard(queue.failed_job_registry.key)
            pipeline.zcard(queue.scheduled_job_registry.key)
        counts = pipeline.execute()
    for index, name in enumerate(QUEUE_NAMES):
        for offset, kind in enumerate(("waiting", "started", "abandoned", "failed", "scheduled")):
            families[kind].add_metric([name], counts[index * 5 + offset])
    yield from families.values()


def _process_families(app: Flask) -> Iterable[Metric]:
    """Live workers of this deployment's queues and live schedulers (by their heartbeats)."""
    from rq import cron_scheduler_registry, worker_registration
    from rq.defaults import DEFAULT_CRON_SCHEDULER_TTL

    from app.core.queue import get_queue, redis_for

    connection = redis_for(app)
    keys = sorted(worker_registration.get_keys(queue=get_queue("default", app, connection)))
    with connection.pipeline(transaction=False) as pipeline:
        for key in keys:
            pipeline.exists(key)
        alive = sum(pipeline.execute()) if keys else 0
    prefix = app.config.get("QUEUE_PREFIX", "") + "steward:"
    recent = connection.zrangebyscore(
        cron_scheduler_registry.get_registry_key(),
        time.time() - DEFAULT_CRON_SCHEDULER_TTL,
        "+inf",
    )
    schedulers = sum(1 for name in recent if name.decode().startswith(prefix))
    family = gauge("steward_job_processes", "Live job processes, by role.", ["role"])
    family.add_metric(["worker"], alive)
    family.add_metric(["scheduler"], schedulers)
    yield family


def _periodic_families(app: Flask) -> Iterable[Metric]:
    from app.core.runner import last_successes
    from app.core.schedule import periodic_jobs

    entries = periodic_jobs(app)
    successes = last_successes(app)
    interval = gauge(
        "steward_periodic_job_interval_seconds", "How often a periodic job runs.", ["task"]
    )
    last = gauge(
        "steward_periodic_job_last_success_timestamp_seconds",
        "When a periodic job last succeeded (Unix time).",
        ["task"],
    )
    for entry in entries:
        task = entry.job.rsplit(".", 1)[-1]
        interval.add_metric([task], entry.every_seconds)
        if entry.job in successes:
            last.add_metric([task], successes[entry.job])
    yield interval
    yield last


class _ScrapeCollector(Collector):
    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterable[Metric]:
        with self.app.app_context():
            for collect in _SCRAPE_COLLECTORS:
                try:
                    yield from collect()
                except Exception:  # a broken source must not take the whole scrape down
                    self.app.logger.exception("metrics collector %s failed", collect)


def gauge(name: str, documentation: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels)


def render_metrics(app: Flask) -> Response:
    """The Prometheus text exposition for this process (or all gunicorn workers)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        process_registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(process_registry)
    else:
        process_registry = REGISTRY
    scrape_registry = CollectorRegistry(auto_describe=False)
    scrape_registry.register(_ScrapeCollector(app))
    body = generate_latest(process_registry) + generate_latest(scrape_registry)
    return Response(body, content_type=CONTENT_TYPE_LATEST)  # verbatim: no second charset


def instrument(app: Flask) -> None:
    """Record RED metrics for every request, labelled by endpoint (bounded), never by URL."""

    @app.before_request
    def _start_timer() -> None:
        g._metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.pop("_metrics_started", None)
        if started is None:
            return response
        endpoint = request.url_rule.endpoint if request.url_rule else "unmatched"
        HTTP_REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        HTTP_DURATION.labels(request.method, endpoint).observe(time.perf_counter() - started)
        return response
