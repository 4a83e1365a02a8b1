"""The embedded job runtime: the worker and scheduler loops on threads of the web process.

Used when no ``REDIS_URL`` is set (demo, ``flask run``): the queue is fakeredis in this process,
and the same loops as the ``python -m workers`` processes run the same jobs, just without
separate processes. Like them, they survive any failure of a job, of the database or of the
queue and carry on.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from flask import Flask

from app.core.runtime import ThreadJobWorker, run_scheduler, run_worker

log = logging.getLogger(__name__)
_KEY = "steward.embedded_runtime"
_lock = threading.Lock()


@dataclass
class Runtime:
    """The threads of one app's embedded runtime, and the event that stops them."""

    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def alive(self) -> bool:
        return all(thread.is_alive() for thread in self.threads)


def _guarded(name: str, loop, app: Flask, stop: threading.Event, **kwargs) -> None:
    """Run ``loop`` until stopped; should it ever return or raise early, run it again."""
    while not stop.is_set():
        try:
            loop(app, stop=stop, **kwargs)
        except Exception:
            log.exception("embedded %s failed; starting it again", name)
        stop.wait(1)


def start(app: Flask) -> Runtime:
    """Start the worker and scheduler threads once per app; return the runtime."""
    with _lock:
        runtime = app.extensions.get(_KEY)
        if runtime is not None:
            return runtime
        runtime = app.extensions[_KEY] = Runtime()
    for name, loop, kwargs in (
        ("worker", run_worker, {"worker_class": ThreadJobWorker, "logging_level": "WARNING"}),
        ("scheduler", run_scheduler, {}),
    ):
        thread = threading.Thread(
            target=_guarded,
            args=(name, loop, app, runtime.stop),
            kwargs=kwargs,
            name=f"steward-{name}",
            daemon=True,
        )
        thread.start()
        runtime.threads.append(thread)
    log.info("embedded job runtime started (in-process queue)")
    return runtime


def stop(app: Flask, timeout: float = 15) -> None:
    """Stop this app's runtime and wait for its threads (a job in progress finishes first)."""
    runtime = app.extensions.pop(_KEY, None)
    if runtime is None:
        return
    runtime.stop.set()
    for thread in runtime.threads:
        thread.join(timeout)


def start_on_first_request(app: Flask) -> None:
    """Start the runtime with the first request (not at import: ``flask db upgrade`` etc.)."""

    @app.before_request
    def _ensure_runtime() -> None:
        start(app)
