"""Job throughput: notification jobs per second per worker process, and how long a burst of
tickets takes to drain.

Two measurements, through the real code paths and the real processes:

* **throughput**: ``--jobs`` (5,000) notification jobs (``send_ticket_email``: the receipt to
  the requester and the "new ticket" mail to the support group of ``--jobs``/2 tickets) are
  written through the service and handed to Redis, then one ``python -m workers worker
  --burst --threads N`` process works them off against a local SMTP sink, for each N of
  ``--threads`` (1 and 4; the same jobs made pending again). Reported: jobs/s over the
  process's whole life (start-up included) and over its steady state (first to last
  completion), and jobs per CPU-second of the process. **Baseline**, measured in the same run
  on ``--baseline-jobs`` of the same jobs: RQ's forking worker (one process forked per job),
  as the worker ran before; the headline is the ratio of the rates.
* **burst**: with worker processes already running (``--bursts``, e.g. ``1x1,2x1,1x4``:
  processes x threads), ``--burst-tickets`` (800) tickets are submitted one after the other
  through the service (each in its own transaction, jobs handed over after each commit, as
  after a request); reported: how long until every notification of the burst was delivered,
  from the first ticket and from the last one.

It needs a PostgreSQL server where it may create and drop a database (``BENCH_DATABASE_URL``)
and a Redis (``BENCH_REDIS_URL``, default ``redis://127.0.0.1:6379/0``), where it uses only
keys under its own prefix and deletes them at the end. It fails only if a mail is missing.

    python -m benchmarks job_throughput [--jobs N] [--baseline-jobs N] [--burst-tickets N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks.queue_scale import SERVER_URL, own_database

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
TEAM_EMAIL = "finance-support@bench.steward.test"
REQUESTERS = 40
LEVELS = ("low", "medium", "high")


# -- the SMTP sink ---------------------------------------------------------------------------


class Sink:
    """A local SMTP server (aiosmtpd) that counts what it receives and on how many connections."""

    def __init__(self) -> None:
        self.messages = 0
        self.peers: set[tuple] = set()
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self._lock:
            self.messages += 1
            self.peers.add(session.peer)
        return "250 Message accepted for delivery"


@contextmanager
def smtp_sink() -> Iterator[tuple[Sink, int]]:
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


# -- the application and its data ------------------------------------------------------------


@contextmanager
def bench_app(url: str, prefix: str, smtp_port: int, instance: Path) -> Iterator[Any]:
    from flask_migrate import upgrade

    from app import create_app
    from app.core.db import db

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "REDIS_URL": REDIS_URL,
            "QUEUE_PREFIX": prefix,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": smtp_port,
            "WEBHOOK_URL": None,
            "INSTANCE_PATH": str(instance),
            "ATTACHMENT_DIR": str(instance / "attachments"),
        }
    )
    with app.app_context():
        upgrade()
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        connection = app.extensions.get("steward.redis_handoff")
        if connection is not None:
            keys = list(connection.scan_iter(match=f"*{prefix}*", count=1000))
            keys += list(connection.scan_iter(match=f"*{prefix.replace(':', '-')}*", count=1000))
            for start in range(0, len(keys), 500):
                connection.delete(*keys[start : start + 500])
            stale = [q for q in connection.smembers("rq:queues") if prefix.encode() in q]
            if stale:
                connection.srem("rq:queues", *stale)


def seed(app) -> list[Any]:
    """A Finance module whose support group has a mailbox, and requesters who use it."""
    from app.catalogue import service as catalogue
    from app.core.db import db
    from app.identity.service import save_user

    with app.app_context():
        catalogue.create_group(
            db.session, None, code="FINSUP", name="Finance support", email=TEAM_EMAIL
        )
        catalogue.create_module(
            db.session, None, code="FIN", name="Finance", support_group="FINSUP"
        )
        ids = []
        for n in range(REQUESTERS):
            user, _ = save_user(
                db.session,
                None,
                email=f"requester{n}@bench.steward.test",
                name=f"Requester {n}",
                password=None,
                roles=[("requester", None)],
            )
            ids.append(user.id)
        db.session.commit()
    return ids


def submit_tickets(app, requester_ids: list[int], count: int, *, hand_off: bool, mix: bool):
    """``count`` tickets through the service, one transaction each (as one request each)."""
    from app.core.db import db
    from app.core.outbox import dispatch_committed
    from app.identity.models import User
    from app.incidents.service import create_ticket

    for n in range(count):
        with app.app_context():
            requester = db.session.get(User, requester_ids[n % len(requester_ids)])
            impact, urgency = (LEVELS[n % 3], LEVELS[(n // 3) % 3]) if mix else ("low", "low")
            create_ticket(
                db.session,
                requester,
                title=f"Invoice posting fails ({n})",
                description="Error 'period closed' when posting an invoice.",
                module="FIN",
                impact=impact,
                urgency=urgency,
            )
            db.session.commit()
            if hand_off:
                dispatch_committed(app, db.session)
            else:
                db.session.info.clear()  # left pending: handed over later, all at once


def outbox_state(app, since_id: int = 0) -> dict[str, Any]:
    from sqlalchemy import func, select

    from app.core.db import db
    from app.core.outbox import OutboxMessage

    with app.app_context():
        total, done, first, last = db.session.execute(
            select(
                func.count(OutboxMessage.id),
                func.count(OutboxMessage.completed_at),
                func.min(OutboxMessage.completed_at),
                func.max(OutboxMessage.completed_at),
            ).where(OutboxMessage.id > since_id)
        ).one()
        top = db.session.scalar(select(func.max(OutboxMessage.id))) or 0
    return {"total": total, "done": done, "first": first, "last": last, "top_id": top}


def hand_over_pending(app) -> tuple[int, float]:
    """Hand every pending row to Redis (chunks of 500); return how many and how long it took."""
    from sqlalchemy import select

    from app.core.db import db
    from app.core.outbox import OutboxMessage, dispatch

    with app.app_context():
        ids = list(
            db.session.scalars(
                select(OutboxMessage.id)
                .where(OutboxMessage.dispatched_at.is_(None))
                .order_by(OutboxMessage.id)
            )
        )
    started = time.perf_counter()
    sent = sum(dispatch(app, ids[i : i + 500], force=True) for i in range(0, len(ids), 500))
    return sent, time.perf_counter() - started


def reset_rows(app, limit: int) -> int:
    """Make the first ``limit`` completed rows pending again (for the baseline worker)."""
    from sqlalchemy import select, update

    from app.core.db import db
    from app.core.outbox import OutboxMessage

    with app.app_context():
        ids = list(
            db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id).limit(limit))
        )
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(completed_at=None, dispatched_at=None)
        )
        db.session.commit()
    return len(ids)


# -- the worker processes --------------------------------------------------------------------


def worker_env(app, smtp_port: int, instance: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PROMETHEUS_MULTIPROC_DIR", "WORKER_METRICS_PORT", "WEBHOOK_URL"}
    }
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=REDIS_URL,
        QUEUE_PREFIX=app.config["QUEUE_PREFIX"],
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        STEWARD_INSTANCE_PATH=str(instance),
        SECRET_KEY="benchmark-secret",
    )
    return env


def forking_worker() -> None:
    """The baseline: RQ's forking ``Worker``, one process forked per job, as the worker ran
    before (app built and bound once in the parent, as ``python -m workers worker`` did)."""
    from rq import Worker

    from app import create_app
    from app.core.queue import QUEUE_NAMES, get_queue, worker_redis
    from app.core.runner import bind_app

    app = create_app()
    bind_app(app)
    connection = worker_redis(app)
    queues = [get_queue(name, app, connection) for name in QUEUE_NAMES]
    Worker(queues, connection=connection).work(burst=True, logging_level="WARNING")


def start_worker(
    env: dict[str, str], log: Path, *, burst: bool, forking: bool = False, threads: int = 1
):
    if forking:
        command = [
            sys.executable,
            "-c",
            "from benchmarks.job_throughput import forking_worker; forking_worker()",
        ]
    else:
        command = [sys.executable, "-m", "workers", "worker", "--threads", str(threads)]
        command += ["--burst"] if burst else []
    out = log.open("ab")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def run_burst_worker(
    env: dict[str, str], log: Path, forking: bool = False, threads: int = 1
) -> tuple[float, float]:
    """Run one worker until the queues are empty: its wall time, and the CPU time it and its
    children (the forked horses of the baseline) used, which a busy machine inflates less."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    process = start_worker(env, log, burst=True, forking=forking, threads=threads)
    if process.wait(timeout=3600) != 0:
        raise RuntimeError(f"worker exited with {process.returncode}; see {log}")
    return time.perf_counter() - started, _children_cpu() - cpu_before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wait_until_done(app, since_id: int, expected: int, timeout: float = 1800) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        state = outbox_state(app, since_id)
        if state["total"] >= expected and state["done"] == state["total"]:
            return time.perf_counter()
        time.sleep(0.2)
    raise RuntimeError(f"the burst did not drain within {timeout} s: {state}")


# -- the measurements ------------------------------------------------------------------------


def steady_rate(state: dict[str, Any]) -> float | None:
    if not state["first"] or not state["last"] or state["done"] < 2:
        return None
    span = (state["last"] - state["first"]).total_seconds()
    return round((state["done"] - 1) / span, 1) if span > 0 else None


def work_off_all(app, env, log: Path, sink: Sink, jobs: int, threads: int) -> dict[str, Any]:
    """One worker process (``threads`` workers in it) works off ``jobs`` pending jobs."""
    before, peers = sink.messages, set(sink.peers)
    wall, cpu = run_burst_worker(env, log, threads=threads)
    state = outbox_state(app)
    return {
        "threads": threads,
        "jobs": jobs,
        "delivered_mails": sink.messages - before,
        "smtp_connections": len(sink.peers - peers),
        "process_wall_s": round(wall, 2),
        "process_cpu_s": round(cpu, 2),
        "jobs_per_s_process": round(jobs / wall, 1),
        "jobs_per_cpu_s": round(jobs / cpu, 1),
        "jobs_per_s_steady": steady_rate(state),
    }


def measure_throughput(app, requester_ids, args, env, logs: Path, sink: Sink) -> dict[str, Any]:
    print(f"-- throughput: {args.jobs} notification jobs", flush=True)
    started = time.perf_counter()
    submit_tickets(app, requester_ids, args.jobs // 2, hand_off=False, mix=False)
    written = time.perf_counter() - started
    sent, handed = hand_over_pending(app)
    print(f"   {sent} jobs written in {written:.1f} s, handed over in {handed:.2f} s", flush=True)
    runs = []
    for n, threads in enumerate(int(t) for t in args.threads.split(",")):
        if n:  # the same jobs again
            reset_rows(app, sent)
            hand_over_pending(app)
        runs.append(work_off_all(app, env, logs / f"worker-{threads}.log", sink, sent, threads))
        print(f"   worker: {json.dumps(runs[-1])}", flush=True)

    print(f"-- baseline: RQ's forking worker on {args.baseline_jobs} of the same jobs", flush=True)
    reset = reset_rows(app, args.baseline_jobs)
    sent_again, _ = hand_over_pending(app)
    before = sink.messages
    wall, cpu = run_burst_worker(env, logs / "forking.log", forking=True)
    baseline = {
        "jobs": sent_again,
        "delivered_mails": sink.messages - before,
        "process_wall_s": round(wall, 2),
        "process_cpu_s": round(cpu, 2),
        "jobs_per_s_process": round(sent_again / wall, 1),
        "jobs_per_cpu_s": round(sent_again / cpu, 1),
    }
    print(f"   forking worker: {json.dumps(baseline)}", flush=True)
    ok = all(run["delivered_mails"] == sent for run in runs)
    return {
        "handoff": {"jobs": sent, "s": round(handed, 3), "jobs_per_s": round(sent / handed, 1)},
        "workers": runs,
        "baseline_forking_worker": baseline,
        "ratios": {
            f"{run['threads']}_thread(s)": {
                "jobs_per_s": round(run["jobs_per_s_process"] / baseline["jobs_per_s_process"], 1),
                "jobs_per_cpu_s": round(run["jobs_per_cpu_s"] / baseline["jobs_per_cpu_s"], 1),
            }
            for run in runs
        },
        "all_mails_delivered": ok and baseline["delivered_mails"] == reset,
    }


def measure_burst(app, requester_ids, args, env, logs: Path, shape: str) -> dict[str, Any]:
    processes_count, threads = (int(n) for n in shape.split("x"))
    print(
        f"-- burst: {args.burst_tickets} tickets, {processes_count} worker process(es)"
        f" of {threads} thread(s)",
        flush=True,
    )
    since = outbox_state(app)["top_id"]
    processes = [
        start_worker(env, logs / f"burst-{shape}-{n}.log", burst=False, threads=threads)
        for n in range(processes_count)
    ]
    try:
        time.sleep(3)  # the workers are up before the burst starts
        started = time.perf_counter()
        submit_tickets(app, requester_ids, args.burst_tickets, hand_off=True, mix=True)
        submitted = time.perf_counter()
        expected = outbox_state(app, since)["total"]
        drained = wait_until_done(app, since, expected)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
    result = {
        "worker_processes": processes_count,
        "threads": threads,
        "tickets": args.burst_tickets,
        "jobs": expected,
        "submit_s": round(submitted - started, 2),
        "drain_from_first_ticket_s": round(drained - started, 2),
        "drain_after_last_ticket_s": round(drained - submitted, 2),
        "jobs_per_s": round(expected / (drained - started), 1),
    }
    print(f"   {json.dumps(result)}", flush=True)
    return result


def environment() -> dict[str, Any]:
    import redis

    server = sa.create_engine(SERVER_URL)
    try:
        with server.connect() as conn:
            version = conn.scalar(sa.text("SELECT version()"))
    finally:
        server.dispose()
    client = redis.Redis.from_url(REDIS_URL)
    return {
        "postgresql": version,
        "redis": client.info("server").get("redis_version"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "smtp_sink": "aiosmtpd in the benchmark process (same machine)",
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def markdown(result: dict[str, Any]) -> str:
    t = result["throughput"]
    base = t["baseline_forking_worker"]
    env = result["environment"]
    lines = [
        "# job_throughput",
        "",
        f"Run {result['started_at']} on {env['cpus']} CPU(s), {env['platform']}; PostgreSQL, "
        "Redis and the SMTP sink on the same machine; load average (1 min) before and after: "
        f"{env['load_average_1m_before_after']}.",
        "",
        "| worker process | jobs | jobs/s (process life) | jobs/s (steady) | "
        "jobs per CPU-second | ratio to baseline (jobs/s) | SMTP connections |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in t["workers"]:
        ratio = t["ratios"][f"{run['threads']}_thread(s)"]["jobs_per_s"]
        lines.append(
            f"| `python -m workers worker --threads {run['threads']}` | {run['jobs']} | "
            f"{run['jobs_per_s_process']} | {run['jobs_per_s_steady']} | "
            f"{run['jobs_per_cpu_s']} | {ratio}x | {run['smtp_connections']} |"
        )
    lines += [
        f"| baseline: RQ's forking worker | {base['jobs']} | {base['jobs_per_s_process']} | "
        f"n/a | {base['jobs_per_cpu_s']} | 1x | n/a |",
        "",
        f"Handing {t['handoff']['jobs']} jobs to Redis took {t['handoff']['s']} s "
        f"({t['handoff']['jobs_per_s']} jobs/s, chunks of 500).",
        "",
        "| burst: worker processes x threads | tickets | jobs | submitting | "
        "drained after first ticket | after last ticket | jobs/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for b in result["bursts"]:
        lines.append(
            f"| {b['worker_processes']} x {b['threads']} | {b['tickets']} | {b['jobs']} | "
            f"{b['submit_s']} s | {b['drain_from_first_ticket_s']} s | "
            f"{b['drain_after_last_ticket_s']} s | {b['jobs_per_s']} |"
        )
    lines += ["", f"Every mail delivered: {t['all_mails_delivered']}.", ""]
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks job_throughput")
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--baseline-jobs", type=int, default=300)
    parser.add_argument("--burst-tickets", type=int, default=800)
    parser.add_argument(
        "--threads", default="1,4", help="throughput: thread counts of the worker process"
    )
    parser.add_argument(
        "--bursts",
        default="1x1,2x1,1x4",
        help="burst: comma-separated PROCESSESxTHREADS worker shapes",
    )
    parser.add_argument("--output", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def _terminate(signum, frame):  # so that the finally blocks drop the database
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _terminate)
    result: dict[str, Any] = {
        "benchmark": "job_throughput",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {key: value for key, value in vars(args).items() if key != "output"},
        "environment": environment(),
    }
    prefix = f"steward-bench-{uuid.uuid4().hex[:8]}:"
    with ExitStack() as stack:
        url = stack.enter_context(own_database("jobs"))
        sink, smtp_port = stack.enter_context(smtp_sink())
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="steward-bench-")))
        app = stack.enter_context(bench_app(url, prefix, smtp_port, folder))
        requester_ids = seed(app)
        env = worker_env(app, smtp_port, folder)
        result["throughput"] = measure_throughput(app, requester_ids, args, env, folder, sink)
        result["bursts"] = [
            measure_burst(app, requester_ids, args, env, folder, shape)
            for shape in args.bursts.split(",")
        ]
    # other work on the machine slows every process down alike; the load says how much
    result["environment"]["load_average_1m_before_after"] = [
        result["environment"].pop("load_average_1m"),
        round(os.getloadavg()[0], 2),
    ]
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "job_throughput.json").write_text(json.dumps(result, indent=2, default=str))
    (args.output / "job_throughput.md").write_text(markdown(result))
    print(markdown(result))
    return 0 if result["throughput"]["all_mails_delivered"] else 1


if __name__ == "__main__":
    sys.exit(main())
