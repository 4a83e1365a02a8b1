"""``python -m workers worker|scheduler``: the production job processes (needs ``REDIS_URL``)."""

from __future__ import annotations

import argparse
import os
import sys

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server
from rq import Worker
from rq.cron import CronScheduler

from app import create_app
from app.core.queue import QUEUE_NAMES, get_queue, redis_for
from workers.runner import bind_app
from workers.schedule import register_all


def _metrics_registry() -> CollectorRegistry:
    """This worker's job metrics (aggregated over its files in multiprocess mode)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers")
    parser.add_argument("role", choices=["worker", "scheduler"])
    parser.add_argument("--burst", action="store_true", help="worker: stop when queues are empty")
    args = parser.parse_args(argv)
    app = create_app()
    if not app.config.get("REDIS_URL"):
        print(
            "REDIS_URL is not set: the embedded runtime runs inside the web process.",
            file=sys.stderr,
        )
        return 2
    bind_app(app)
    metrics_port = int(os.environ.get("WORKER_METRICS_PORT", "0") or 0)
    if metrics_port and args.role == "worker":
        start_http_server(metrics_port, registry=_metrics_registry())
    connection = redis_for(app)
    if args.role == "worker":
        queues = [get_queue(name, app) for name in QUEUE_NAMES]
        Worker(queues, connection=connection).work(burst=args.burst, with_scheduler=True)
    else:
        scheduler = CronScheduler(connection=connection)
        register_all(scheduler, app.config.get("QUEUE_PREFIX", ""))
        scheduler.start()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
