"""The periodic jobs, declared once: what runs, how often, on which queue.

Each entry names a plain domain function ``fn(session)``; the scheduler enqueues
``workers.runner.run_job`` with it, on RQ's own cron scheduler (or the embedded one).
"""

from __future__ import annotations

from dataclasses import dataclass

from rq.cron import CronScheduler

from workers.runner import run_job


@dataclass(frozen=True)
class Periodic:
    job: str
    every_seconds: int
    queue: str = "low"


PERIODIC: list[Periodic] = [
    Periodic("app.core.jobs.sweep_outbox", 60, queue="high"),
    Periodic("app.core.jobs.prune_login_attempts", 3600),
    Periodic("app.incidents.jobs.scan_sla", 60, queue="high"),
    Periodic("app.incidents.jobs.auto_close_resolved", 3600),
]


def register_all(scheduler: CronScheduler, prefix: str = "") -> None:
    """Register every periodic job with an RQ cron scheduler."""
    for entry in PERIODIC:
        scheduler.register(
            run_job,
            queue_name=prefix + entry.queue,
            args=(entry.job,),
            interval=entry.every_seconds,
            name=entry.job,
        )
