"""``python -m workers worker|scheduler``: the production job processes (needs ``REDIS_URL``).

Thin entry points: build the app, serve the worker's metrics, and run the loops of
``app.core.runtime``, which keep going through Redis and database outages.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server

from app import create_app
from app.core.runtime import run_scheduler, run_worker


def _metrics_registry() -> CollectorRegistry:
    """This worker's job metrics (aggregated over its files in multiprocess mode)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers")
    parser.add_argument("role", choices=["worker", "scheduler"])
    parser.add_argument("--burst", action="store_true", help="worker: stop when queues are empty")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="worker: run this many workers on threads of the process (default 1)",
    )
    args = parser.parse_args(argv)
    app = create_app()
    if not app.config.get("REDIS_URL"):
        print(
            "REDIS_URL is not set: the embedded runtime runs inside the web process.",
            file=sys.stderr,
        )
        return 2
    stop = _stop_on_signals()
    if args.role == "worker":
        metrics_port = int(os.environ.get("WORKER_METRICS_PORT", "0") or 0)
        if metrics_port:
            start_http_server(metrics_port, registry=_metrics_registry())
        run_worker(app, stop=stop, burst=args.burst, threads=args.threads)
    else:
        run_scheduler(app, stop=stop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
