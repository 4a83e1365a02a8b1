"""Indicator recomputation at scale: one day incrementally, and every day of a period.

On a PostgreSQL database of its own (unique name, always dropped), migrated to head, the
benchmark bulk-loads tickets and the daily usage rollup with ``INSERT ... SELECT FROM
generate_series`` (no round trip per row), then times, through the real code path
``app.indicators.compute.recompute``:

* the incremental run the periodic job makes: one day (today), ``--runs`` times (median, p95);
* a full recompute of the last ``--full-days`` days (total, and per day);

and reports the peak resident memory of the process (``ru_maxrss``): the computation streams
nothing into Python but grouped aggregates, so memory must not grow with the data.

The usage rollup stands for ``--events`` raw events: one row per account, module and active
day carrying its event count (indicators read the rollup, never the raw events). Nothing is
asserted about time; the benchmark fails only if the snapshots of a day disagree between two
runs (recomputing must be idempotent).

    python -m benchmarks indicators_recompute [--tickets N] [--events N] [--days D]
        [--full-days D] [--runs R]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

SERVER_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
RESULTS_DIR = Path(__file__).resolve().parent / "results"
MODULES = ["FIN", "SAL", "PUR", "INV", "HR", "CRM", "MFG"]
EVENTS_PER_ACTIVE_DAY = 8  # mean events of one account in one module on a day it is active


@contextmanager
def scratch_database():
    server = sa.create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    name = f"steward_bench_ind_{uuid.uuid4().hex[:8]}_{os.getpid()}"
    with server.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield SERVER_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


TICKETS_SQL = """
INSERT INTO tickets (
    title, description, module_id, reporter_id, impact, urgency, priority, status,
    reopen_count, created_at, updated_at, first_response_at, resolved_at, closed_at,
    response_target_minutes, resolution_target_minutes, sla_business_hours, paused_seconds,
    paused_since, response_due_at, resolution_due_at, version)
SELECT 'Bench ticket', 'generated', s.module_id, :reporter, 'medium', 'medium', s.priority,
    CASE WHEN s.resolved_at IS NULL THEN 'in_progress' ELSE 'resolved' END,
    CASE WHEN s.r < 0.05 THEN 1 ELSE 0 END,
    s.created_at, COALESCE(s.resolved_at, s.first_response_at, s.created_at),
    s.first_response_at, s.resolved_at, NULL, 240, 1440, s.r < 0.8, 0, s.resolved_at,
    s.created_at + interval '4 hours', s.created_at + interval '3 days', 1
FROM (
    SELECT b.*, b.created_at + (b.r * interval '8 hours') AS first_response_at,
        CASE WHEN b.created_at + (b.r * interval '5 days') < CAST(:now AS timestamptz)
             AND b.r < 0.97
             THEN b.created_at + (b.r * interval '5 days') END AS resolved_at
    FROM (
        SELECT g, random() AS r,
            CAST(:now AS timestamptz) - random() * (:days * interval '1 day') AS created_at,
            (CAST(:modules AS integer[]))[1 + (g % :module_count)] AS module_id,
            'P' || (1 + (g % 5)) AS priority
        FROM generate_series(1, :tickets) AS g
    ) b
) s
"""

USAGE_SQL = """
INSERT INTO usage_daily (day, module_id, account, events, first_at, last_at)
SELECT d.day, (CAST(:modules AS integer[]))[m.i], 'user' || a.n || '@erp.example',
    1 + floor(random() * (2 * :per_day - 1))::int,
    d.day + interval '8 hours', d.day + interval '17 hours'
FROM generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 day') AS d(day),
     generate_series(1, :modules_count) AS m(i),
     generate_series(1, :accounts) AS a(n)
WHERE random() < :chance
"""


def _load(app, tickets: int, events: int, days: int, now: datetime) -> dict:
    from app.catalogue import service as catalogue
    from app.core.db import db
    from app.identity.service import save_user
    from benchmarks.queue_scale import drop_secondary_indexes, restore_indexes

    with app.app_context():
        session = db.session
        catalogue.create_calendar(
            session,
            None,
            code="EU",
            name="EU office",
            timezone="Europe/Paris",
            working_hours={str(d): [["09:00", "17:00"]] for d in range(5)},
        )
        ids = [
            catalogue.create_module(
                session, None, code=c, name=c, calendar="EU" if i % 2 == 0 else None
            ).id
            for i, c in enumerate(MODULES)
        ]
        user, _ = save_user(
            session, None, email="bench@example.com", name="Bench", roles=[("requester", None)]
        )
        session.commit()
        # A bulk load as queue_scale does it: secondary indexes dropped and re-created after,
        # FK triggers skipped in this session (the references are valid by construction).
        with db.engine.connect() as conn:
            dropped = {t: drop_secondary_indexes(conn, t) for t in ("tickets", "usage_daily")}
        skip_fk_triggers = sa.text("SET LOCAL session_replication_role = replica")
        session.execute(skip_fk_triggers)
        started = time.perf_counter()
        session.execute(
            sa.text(TICKETS_SQL),
            {
                "reporter": user.id,
                "now": now,
                "days": days,
                "modules": ids,
                "module_count": len(ids),
                "tickets": tickets,
            },
        )
        session.commit()
        tickets_s = time.perf_counter() - started
        # rollup rows so that their events add up to about ``events``
        rows_wanted = max(events // EVENTS_PER_ACTIVE_DAY, 1)
        accounts = max(int((rows_wanted / (days * len(ids) * 0.3)) + 1), 10)
        chance = min(rows_wanted / (days * len(ids) * accounts), 1.0)
        started = time.perf_counter()
        session.execute(skip_fk_triggers)
        session.execute(
            sa.text(USAGE_SQL),
            {
                "modules": ids,
                "modules_count": len(ids),
                "accounts": accounts,
                "per_day": EVENTS_PER_ACTIVE_DAY,
                "first": (now - timedelta(days=days - 1)).date(),
                "last": now.date(),
                "chance": chance,
            },
        )
        session.commit()
        usage_s = time.perf_counter() - started
        started = time.perf_counter()
        with db.engine.connect() as conn:
            for table, indexes in dropped.items():
                restore_indexes(db.engine, conn, table, indexes)
        indexes_s = time.perf_counter() - started
        session.execute(sa.text("ANALYZE"))
        session.commit()
        counts = {
            "tickets": session.scalar(sa.text("SELECT count(*) FROM tickets")),
            "usage_daily_rows": session.scalar(sa.text("SELECT count(*) FROM usage_daily")),
            "usage_events_represented": session.scalar(
                sa.text("SELECT coalesce(sum(events), 0) FROM usage_daily")
            ),
            "accounts": accounts,
            "load_tickets_s": round(tickets_s, 1),
            "load_usage_s": round(usage_s, 1),
            "create_indexes_s": round(indexes_s, 1),
        }
    return counts


def _snapshot_of(session, day) -> dict:
    from app.indicators.models import IndicatorSnapshot

    rows = session.execute(
        sa.select(
            IndicatorSnapshot.key, IndicatorSnapshot.dimension, IndicatorSnapshot.value
        ).where(IndicatorSnapshot.day == day)
    )
    return {(k, d): v for k, d, v in rows}


def _measure(app, runs: int, full_days: int, now: datetime) -> dict:
    from app.core.clock import replaying
    from app.core.db import db
    from app.indicators.compute import COMPUTATIONS, days_between, recompute, recompute_day

    today = now.date()
    with app.app_context(), replaying(now):
        session = db.session
        # lay out the calendars once, as the first run of a deployment does
        recompute(session, [today - timedelta(days=1)], reason="bench")
        session.commit()
        one_day = []
        first = None
        for _ in range(runs):
            started = time.perf_counter()
            recompute(session, [today], reason="bench")
            session.commit()
            one_day.append(time.perf_counter() - started)
            snap = _snapshot_of(session, today)
            if first is None:
                first = snap
            elif snap != first:
                raise SystemExit("recomputing the same day gave different snapshots")
        per_key = {}
        for key in COMPUTATIONS:
            started = time.perf_counter()
            recompute_day(session, today, [key])
            per_key[key] = round(time.perf_counter() - started, 3)
        session.commit()
        days = days_between(today - timedelta(days=full_days - 1), today)
        started = time.perf_counter()
        for day in days:
            recompute(session, [day], reason="bench")
            session.commit()
        full = time.perf_counter() - started
    one_day.sort()
    return {
        "one_day_median_s": round(statistics.median(one_day), 3),
        "one_day_p95_s": round(
            one_day[min(len(one_day) - 1, math.ceil(len(one_day) * 0.95) - 1)], 3
        ),
        "one_day_min_s": round(one_day[0], 3),
        "one_day_max_s": round(one_day[-1], 3),
        "full_days": full_days,
        "full_total_s": round(full, 1),
        "full_per_day_s": round(full / full_days, 3),
        "snapshots_per_day": len(first or {}),
        "one_day_per_indicator_s": dict(sorted(per_key.items(), key=lambda kv: -kv[1])),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks indicators_recompute")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=365, help="history loaded")
    parser.add_argument("--full-days", type=int, default=90, help="days of the full recompute")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)

    from app import create_app

    now = datetime.now(UTC).replace(microsecond=0)
    with scratch_database() as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "REDIS_URL": None})
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
        started = time.perf_counter()
        data = _load(app, args.tickets, args.events, args.days, now)
        data["load_total_s"] = round(time.perf_counter() - started, 1)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        results = _measure(app, args.runs, args.full_days, now)
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with app.app_context():
            from app.core.db import db

            db.engine.dispose()
    report = {
        "settings": vars(args),
        "environment": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
        },
        "data": data,
        "results": results,
        "peak_rss_mb_after_load": round(rss_before / 1024, 1),
        "peak_rss_mb": round(rss_after / 1024, 1),
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "indicators_recompute.json").write_text(json.dumps(report, indent=2))
    lines = [
        "# indicators_recompute",
        "",
        f"- data: {data['tickets']:,} tickets, {data['usage_daily_rows']:,} usage rollup rows "
        f"({data['usage_events_represented']:,} events), {args.days} days",
        f"- one day (incremental): median {results['one_day_median_s']} s, "
        f"p95 {results['one_day_p95_s']} s over {args.runs} runs",
        f"- full recompute of {args.full_days} days: {results['full_total_s']} s "
        f"({results['full_per_day_s']} s a day)",
        f"- peak RSS: {report['peak_rss_mb']} MB",
        "- slowest indicators of one day: "
        + ", ".join(f"{k} {v} s" for k, v in list(results["one_day_per_indicator_s"].items())[:5]),
        "",
    ]
    (RESULTS_DIR / "indicators_recompute.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
