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


def collect_outbox_and_queues() -> Iterable[Metric]:
    """Outbox backlog (indexed read) and RQ queue depths (Redis LLEN-style counts)."""
    from flask import current_app
    from sqlalchemy import func, select

    from app.core.clock import utcnow
    from app.core.db import db
    from app.core.outbox import OutboxMessage
    from app.core.queue import QUEUE_NAMES, get_queue

    pending, oldest = db.session.execute(
        select(func.count(OutboxMessage.id), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.dispatched_at.is_(None)
        )
    ).one()
    backlog = gauge("steward_outbox_pending_messages", "Outbox rows not yet handed to the queue.")
    backlog.add_metric([], pending)
    yield backlog
    age = gauge(
        "steward_outbox_oldest_pending_age_seconds", "Age of the oldest undelivered outbox row."
    )
    if oldest is not None:
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=utcnow().tzinfo)
    age.add_metric([], (utcnow() - oldest).total_seconds() if oldest else 0.0)
    yield age
    waiting = gauge("steward_queue_jobs", "Jobs waiting in an RQ queue.", ["queue"])
    failed = gauge("steward_queue_failed_jobs", "Jobs in an RQ queue's failed registry.", ["queue"])
    app = current_app._get_current_object()
    for name in QUEUE_NAMES:
        queue = get_queue(name, app)
        waiting.add_metric([name], queue.count)
        failed.add_metric([name], queue.failed_job_registry.count)
    yield waiting
    yield failed


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
