"""The periodic jobs: what runs, how often, on which queue, declared once per domain.

Each domain's ``jobs.py`` lists its ``PERIODIC`` entries, each naming a plain function
``fn(session)``; the app factory registers them on the app, and the scheduler (the process or
the embedded one) enqueues ``app.core.runner.run_job`` with each, on RQ's cron scheduler.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from rq.cron import CronScheduler

from app.core.runner import run_job

_KEY = "steward.periodic"


@dataclass(frozen=True)
class Periodic:
    """``job`` runs every ``every_seconds`` (the first time when the scheduler starts)."""

    job: str
    every_seconds: int
    queue: str = "low"
    timeout: int = 300


def add_periodic(app: Flask, *entries: Periodic) -> None:
    """Register periodic jobs on ``app`` (once per job path)."""
    registered = app.extensions.setdefault(_KEY, {})
    for entry in entries:
        registered.setdefault(entry.job, entry)


def periodic_jobs(app: Flask) -> list[Periodic]:
    """Every periodic job registered on ``app``."""
    return list(app.extensions.get(_KEY, {}).values())


def register_all(scheduler: CronScheduler, app: Flask) -> None:
    """Register every periodic job of ``app`` with an RQ cron scheduler."""
    prefix = app.config.get("QUEUE_PREFIX", "")
    for entry in periodic_jobs(app):
        scheduler.register(
            run_job,
            queue_name=prefix + entry.queue,
            args=(entry.job,),
            interval=entry.every_seconds,
            job_timeout=entry.timeout,
            name=prefix + entry.job,
        )
