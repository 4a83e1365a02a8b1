"""The job processes' loops: a worker and a scheduler that outlive any Redis outage.

RQ's own loops stop on a Redis timeout or an unexpected error, and with its defaults a job
whose worker died waits about ten minutes unseen. Here:

- ``JobWorker`` runs every job in its own process with one application for all of them (no
  fork per job; each job gets its own app context in ``app.core.runner``) and under a timeout.
  A job's heartbeat lasts its timeout plus ``HEARTBEAT_GRACE``, and the worker looks for
  abandoned jobs every ``MAINTENANCE_SECONDS``, so a job whose worker was killed is retried
  within about a minute. It also moves retries whose backoff has elapsed back onto their
  queue (claiming each, so that several workers never enqueue one twice).
- ``run_worker`` and ``run_scheduler`` start again after any failure, with a backoff of 1 s
  doubling to 30 s, for as long as it takes, until they are asked to stop.

The processes (``python -m workers``) and the embedded runtime (threads of the web process)
both run these loops.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from contextlib import suppress

from flask import Flask
from rq import SimpleWorker, worker_registration
from rq.cron import CronScheduler
from rq.defaults import DEFAULT_MAINTENANCE_TASK_INTERVAL
from rq.exceptions import AbandonedJobError, StopRequested
from rq.queue import Queue
from rq.registry import clean_registries
from rq.timeouts import TimerDeathPenalty
from rq.utils import current_timestamp, now

from app.core.mail import close_connections
from app.core.queue import QUEUE_NAMES, get_queue, worker_redis
from app.core.runner import bind_app
from app.core.schedule import register_all

log = logging.getLogger(__name__)

HEARTBEAT_GRACE = 5
HEARTBEAT_EVERY = 2.0
MAINTENANCE_SECONDS = 5
ABANDONED_CHECK_LOCK = 30
DEQUEUE_SECONDS = 5
# The worker's own registration outlives its longest job (periodic jobs: 300 s at most).
WORKER_TTL = 300
SCHEDULER_MAX_SLEEP = 15.0
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
HEALTHY_AFTER = 60.0


class Backoff:
    """Delays between attempts: 1 s, 2 s, 4 s, ... up to 30 s; ``reset()`` after a success."""

    def __init__(self, first: float = BACKOFF_FIRST, most: float = BACKOFF_MAX) -> None:
        self.first, self.most = first, most
        self.delay = first

    def next(self) -> float:
        delay = self.delay
        self.delay = min(self.delay * 2, self.most)
        return delay

    def reset(self) -> None:
        self.delay = self.first


def release_due_retries(queues: list[Queue]) -> int:
    """Put retries whose backoff has elapsed back on their queue; return how many.

    Each job is claimed by removing it from the scheduled registry first: when several workers
    do this at once, only the one whose removal succeeded enqueues it.
    """
    released = 0
    now = current_timestamp()
    for queue in queues:
        registry = queue.scheduled_job_registry
        for job_id in registry.get_jobs_to_schedule(now):
            if not queue.connection.zrem(registry.key, job_id):
                continue  # another worker took it
            job = queue.fetch_job(job_id)
            if job is not None:
                queue.enqueue_job(job)
                released += 1
    return released


class JobWorker(SimpleWorker):
    """RQ's non-forking worker, tuned so that nothing stops and nothing hides (module doc)."""

    log_result_lifespan = False
    max_connection_wait_time = BACKOFF_MAX

    def __init__(self, queues, *, stop: threading.Event, **kwargs) -> None:
        self._stop = stop  # before super(): RQ reads the timeouts below while it sets up
        self._full_maintenance_at = 0.0
        self._beat_at = 0.0
        super().__init__(
            queues, worker_ttl=WORKER_TTL, maintenance_interval=MAINTENANCE_SECONDS, **kwargs
        )
        self.push_exc_handler(_report_abandoned)

    @property
    def dequeue_timeout(self) -> int:
        # short blocking reads: maintenance (abandoned jobs, due retries) and a stop request
        # are looked at every few seconds even when the queues are quiet
        return DEQUEUE_SECONDS

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        timeout = job.timeout if job.timeout and job.timeout > 0 else Queue.DEFAULT_TIMEOUT
        return int(timeout) + HEARTBEAT_GRACE

    def heartbeat(self, timeout: int | None = None, pipeline=None) -> None:
        """RQ beats two or three times per job, three round trips each; once every couple of
        seconds, in one round trip, says the same (the registration lasts minutes)."""
        if pipeline is not None:
            super().heartbeat(timeout, pipeline)
            return
        if self._stop.is_set() and self.get_state() != "busy":
            raise StopRequested()  # noticed between two blocking reads
        if timeout is None and time.monotonic() - self._beat_at < HEARTBEAT_EVERY:
            return
        with self.connection.pipeline() as beat:
            super().heartbeat(timeout, beat)
            beat.execute()
        self._beat_at = time.monotonic()

    def set_state(self, state: str, pipeline=None) -> None:
        if pipeline is None and state == self._state:
            return  # already recorded: spare a round trip per job
        super().set_state(state, pipeline)

    def run_maintenance_tasks(self) -> None:
        """Every few seconds: due retries back on their queue, abandoned jobs retried; RQ's
        full registry cleaning (finished, failed, ... registries) every ten minutes."""
        released = release_due_retries(self.queues)
        if released:
            log.info("%d job(s) due for a retry put back on their queue", released)
        full = time.monotonic() >= self._full_maintenance_at
        for queue in self.queues:
            if full:
                self._clean_queue(queue)
            else:
                self._retry_abandoned(queue)
        if full:
            self.clean_group_registries()
            self._full_maintenance_at = time.monotonic() + DEFAULT_MAINTENANCE_TASK_INTERVAL
        self.last_cleaned_at = now()

    def _clean_queue(self, queue: Queue) -> None:
        if not queue.acquire_maintenance_lock():
            return  # another worker is at it
        try:
            clean_registries(queue, self._exc_handlers)
            worker_registration.clean_worker_registry(queue)
            queue.intermediate_queue.cleanup(self, queue)
        finally:
            queue.release_maintenance_lock()

    def _retry_abandoned(self, queue: Queue) -> None:
        """Retry the jobs of ``queue`` whose worker died. One worker at a time, under a lock of
        its own that expires quickly should this worker die holding it (RQ's lasts 15 min)."""
        lock = f"{queue.key}:abandoned-check"
        if not queue.connection.set(lock, self.name, nx=True, ex=ABANDONED_CHECK_LOCK):
            return
        try:
            queue.started_job_registry.cleanup(exception_handlers=self._exc_handlers)
        finally:
            queue.connection.delete(lock)

    def subscribe(self) -> None:
        """No command channel (and no extra thread and connection): stop with SIGTERM."""

    def teardown(self) -> None:
        with suppress(Exception):  # Redis may be what went away; the registration expires
            self.register_death()

    def request_stop(self, signum, frame) -> None:
        self._stop.set()
        super().request_stop(signum, frame)


class ThreadJobWorker(JobWorker):
    """A JobWorker on a thread of the web process (embedded mode): signals belong to the
    server, so job timeouts use a timer instead of SIGALRM."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        pass


def _report_abandoned(job, exc_type, exc_value, traceback) -> bool:
    if exc_type is AbandonedJobError:
        log.warning("job %s (%s) was abandoned by a worker that died", job.id, job.description)
    return True


def run_worker(
    app: Flask,
    *,
    stop: threading.Event | None = None,
    burst: bool = False,
    threads: int = 1,
    worker_class: type[JobWorker] | None = None,
    logging_level: str = "INFO",
) -> None:
    """Work off the app's queues until ``stop`` is set (or, with ``burst``, they are empty).

    Whatever happens to Redis (refused, hung, restarted empty), the loop starts a new worker
    after a backoff and carries on; jobs that were running are retried by the survivors.

    With ``threads`` > 1 that many workers run on threads of this process, each job still in
    its own app context: a job mostly waits (database, Redis, SMTP), so the process gets more
    done with one application. Their job timeouts use a timer; the main thread keeps the
    signals and waits.
    """
    stop = stop or threading.Event()
    bind_app(app)
    if threads <= 1:
        _work_on_this_thread(app, stop, burst, worker_class or JobWorker, logging_level)
        return
    workers = [
        threading.Thread(
            target=_work_on_this_thread,
            args=(app, stop, burst, worker_class or ThreadJobWorker, logging_level),
            name=f"steward-worker-{n}",
            daemon=True,
        )
        for n in range(threads)
    ]
    for thread in workers:
        thread.start()
    while any(thread.is_alive() for thread in workers):
        stop.wait(0.5)  # short waits: a signal handler (which sets ``stop``) runs meanwhile
        if stop.is_set():
            for thread in workers:
                thread.join()


def _work_on_this_thread(
    app: Flask,
    stop: threading.Event,
    burst: bool,
    worker_class: type[JobWorker],
    logging_level: str,
) -> None:
    try:
        _work_until_stopped(app, stop, burst, worker_class, logging_level)
    finally:
        close_connections()  # the SMTP connection this thread kept between jobs


def _work_until_stopped(
    app: Flask,
    stop: threading.Event,
    burst: bool,
    worker_class: type[JobWorker],
    logging_level: str,
) -> None:
    connection = worker_redis(app)
    queues = [get_queue(name, app, connection) for name in QUEUE_NAMES]
    backoff = Backoff()
    while not stop.is_set():
        started = time.monotonic()
        try:
            worker = worker_class(queues, connection=connection, stop=stop)
            worker.work(burst=burst, logging_level=logging_level)
            if burst and not stop.is_set() and not any(queue.count for queue in queues):
                return
        except StopRequested:
            break
        except Exception as exc:
            log.warning("worker stopped by %s: %s", type(exc).__name__, exc)
        if stop.is_set():
            break
        if time.monotonic() - started > HEALTHY_AFTER:
            backoff.reset()
        delay = backoff.next()
        log.warning("worker starts again in %.0f s", delay)
        try:
            stop.wait(delay)
        except StopRequested:  # a signal handler of the last worker fired while waiting
            break


def scheduler_name(app: Flask) -> str:
    """Names the scheduler after its deployment (``QUEUE_PREFIX``), host and process."""
    return f"{app.config.get('QUEUE_PREFIX', '')}steward:{socket.gethostname()}:{os.getpid()}"


def run_scheduler(app: Flask, *, stop: threading.Event | None = None) -> None:
    """Enqueue the periodic jobs when due, until ``stop`` is set, whatever Redis does.

    The schedule lives in this process: a job that fell due while Redis was away is enqueued
    at the first loop after Redis answers again.
    """
    stop = stop or threading.Event()
    bind_app(app)
    scheduler = CronScheduler(
        connection=worker_redis(app), name=f"{scheduler_name(app)}:{threading.get_ident()}"
    )
    register_all(scheduler, app)
    backoff = Backoff()
    registered = failing = False
    while not stop.is_set():
        try:
            if not registered:
                scheduler.register_birth()
                registered = True
            if scheduler.enqueue_jobs():
                scheduler.save()
            scheduler.heartbeat()
            if failing:
                log.info("scheduler: Redis answers again; schedule resumed")
                failing = False
            backoff.reset()
            pause = min(max(scheduler.calculate_sleep_interval(), 0.2), SCHEDULER_MAX_SLEEP)
        except Exception as exc:
            registered = False
            pause = backoff.next()
            if not failing:
                log.warning(
                    "scheduler: %s: %s; retrying every %.0f s at most",
                    type(exc).__name__,
                    exc,
                    BACKOFF_MAX,
                )
            failing = True
        stop.wait(pause)
    with suppress(Exception):
        scheduler.register_death()
