"""Usage ingestion: events per second through the API against PostgreSQL's COPY of the same rows.

The usage issue asks for ingestion at 50 % or more of the COPY rate, measured in the same run.

What it does, in a database of its own (``BENCH_DATABASE_URL``, dropped at the end):

1. Migrates to head; creates 8 modules and the ERP's service account with a ``usage:ingest``
   token, through the services.
2. Generates ``--events`` (200,000) events, seeded, as the ERP sends them: in time order over
   ``--days`` (5) with a few minutes of disorder, ``--accounts`` (500) people each working in
   three of 8 modules (a seventh of the accounts upper-cased), times with UTC offsets (about
   25 events per account, module and day, as a working day in an ERP gives); serialised
   beforehand as NDJSON and JSON batches of ``--batch`` (10,000) events, and as the rows COPY
   writes (parsed, lower-cased, UTC).
3. ``--rounds`` (3) rounds, interleaved, each on emptied tables:
   - **api**: every batch ``POST /api/v1/usage-events`` (NDJSON) through the Flask test client:
     authentication, edge checks, parsing, per-event checks, the one ``INSERT ... ON CONFLICT``
     statement with its rollup, commit. No HTTP server (its cost is the same whatever the
     endpoint does).
   - **api_json**: the same batches as JSON arrays (the edge checks parse a JSON body once
     more before the view does).
   - **copy** (baseline): ``COPY usage_events (...) FROM STDIN`` of the same rows, one COPY
     per batch and a commit, through psycopg: raw rows only, no rollup, no check.
   - **resend**: the first batch sent again (all duplicates: what a retry costs).
4. Checks the stored rollup against the events (sum of events, distinct days x modules x
   accounts) and reports the median rate per scenario, the ratios api / copy and
   api_json / copy, and the process's peak RSS before and after.

    python -m benchmarks usage_ingest [--events N] [--batch N] [--rounds N]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import resource
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks.queue_scale import own_database

RESULTS_DIR = Path(__file__).resolve().parent / "results"
MODULES = ("FIN", "SAL", "PUR", "INV", "HR", "CRM", "MFG", "PRJ")
OFFSETS = [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5))]
TABLES = "usage_events, usage_daily, usage_accounts, usage_changed_days"


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def generate(count: int, accounts: int, days: int, seed: int = 7) -> list[dict]:
    """Events as the ERP sends them: in time order over ``days`` (a few minutes out of order),
    ``accounts`` people each working in three modules, a seventh of the accounts upper-cased."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    span = days * 86_400
    events = []
    for n in range(count):
        moment = start + timedelta(seconds=span * n / count + rng.randrange(-600, 600))
        person = rng.randrange(accounts)
        account = f"user{person}@erp.example"
        events.append(
            {
                "event_id": f"bench-{n:09d}",
                "user": account.upper() if person % 7 == 0 else account,
                "module": MODULES[(person + rng.randrange(3)) % len(MODULES)],
                "action": rng.choice(["screen.open", "record.save", "report.run"]),
                "occurred_at": moment.astimezone(rng.choice(OFFSETS)).isoformat(),
            }
        )
    return events


def bench_app(url: str):
    from flask_migrate import upgrade

    from app import create_app

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": True,
            "REDIS_URL": None,
            "WTF_CSRF_ENABLED": False,
            "SERVER_TIMING": False,
        }
    )
    with app.app_context():
        upgrade()
    return app


def seed(app) -> tuple[str, dict[str, int]]:
    """The modules and the ERP's token (through the services)."""
    from app.catalogue.service import create_module
    from app.core.clock import utcnow
    from app.core.db import db
    from app.identity.service import issue_token, save_user

    with app.app_context():
        ids = {
            code: create_module(db.session, None, code=code, name=code.title()).id
            for code in MODULES
        }
        erp, _ = save_user(
            db.session,
            None,
            email="erp@bench.steward.test",
            name="ERP",
            roles=[],
            is_service_account=True,
        )
        _, secret = issue_token(
            db.session,
            None,
            erp,
            name="bench",
            scopes=["usage:ingest"],
            expires_at=utcnow() + timedelta(days=1),
        )
        db.session.commit()
    return secret, ids


def copy_rows(events: list[dict], modules: dict[str, int]) -> list[tuple]:
    now = datetime.now(UTC)
    return [
        (
            e["event_id"],
            e["user"].lower(),
            modules[e["module"]],
            e["action"],
            datetime.fromisoformat(e["occurred_at"]).astimezone(UTC),
            now,
        )
        for e in events
    ]


def empty_tables(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {TABLES}"))


def run_api(client, token: str, bodies: list[bytes], mimetype: str) -> float:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": mimetype}
    started = time.perf_counter()
    for body in bodies:
        response = client.post("/api/v1/usage-events", data=body, headers=headers)
        if response.status_code != 200 or response.get_json()["rejected"]:
            raise RuntimeError(f"batch refused: {response.status_code} {response.get_data()[:300]}")
    return time.perf_counter() - started


def run_copy(engine: sa.Engine, batches: list[list[tuple]]) -> float:
    raw = engine.raw_connection()
    try:
        started = time.perf_counter()
        for rows in batches:
            with (
                raw.cursor() as cursor,
                cursor.copy(
                    "COPY usage_events (event_id, account, module_id, action, occurred_at, "
                    "received_at) FROM STDIN"
                ) as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def check_rollup(engine: sa.Engine, events: list[dict]) -> dict[str, Any]:
    keys = {
        (
            datetime.fromisoformat(e["occurred_at"]).astimezone(UTC).date(),
            e["module"],
            e["user"].lower(),
        )
        for e in events
    }
    with engine.connect() as conn:
        total, rows = conn.execute(sa.text("SELECT sum(events), count(*) FROM usage_daily")).one()
    return {
        "rollup_events": int(total or 0),
        "rollup_rows": int(rows),
        "expected_events": len(events),
        "expected_rows": len(keys),
        "exact": int(total or 0) == len(events) and int(rows) == len(keys),
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# usage_ingest",
        "",
        f"{result['config']['events']:,} events in batches of {result['config']['batch']:,}, "
        f"{result['config']['rounds']} rounds, started {result['started_at']}; "
        f"load average (1 min) before/after: {result['environment']['load_average_1m']}.",
        "",
        "| scenario | median events/s | runs (s) | CPU s of this process (median) |",
        "| --- | ---: | --- | ---: |",
    ]
    for name, data in result["scenarios"].items():
        runs = ", ".join(f"{s:.2f}" for s in data["seconds"])
        lines.append(
            f"| {name} | {data['median_events_per_s']:,.0f} | {runs} "
            f"| {data['median_client_cpu_s']:.2f} |"
        )
    lines += [
        "",
        f"- api (NDJSON) / COPY: **{result['ratios']['api_over_copy']:.2f}** (target >= 0.5)",
        f"- api (JSON array) / COPY: {result['ratios']['api_json_over_copy']:.2f}",
        f"- rollup exact after the last api round: {result['rollup']['exact']}",
        f"- peak RSS of the process: {result['rss_mib']['before_ingestion']} MiB after "
        f"generating the events, {result['rss_mib']['after']} MiB at the end",
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks usage_ingest")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--output", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    result: dict[str, Any] = {
        "benchmark": "usage_ingest",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {key: value for key, value in vars(args).items() if key != "output"},
        "environment": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1m": [round(os.getloadavg()[0], 2)],
        },
    }
    events = generate(args.events, args.accounts, args.days)
    chunks = [events[i : i + args.batch] for i in range(0, len(events), args.batch)]
    ndjson = [("\n".join(json.dumps(e) for e in c) + "\n").encode() for c in chunks]
    arrays = [json.dumps(c).encode() for c in chunks]
    seconds: dict[str, list[float]] = {"api": [], "api_json": [], "copy": [], "resend": []}
    # CPU seconds of this process (the app's request handling; COPY's client side)
    cpu: dict[str, list[float]] = {name: [] for name in seconds}
    with own_database("usage") as url:
        app = bench_app(url)
        token, modules = seed(app)
        rows = [copy_rows(c, modules) for c in chunks]
        engine = sa.create_engine(url)
        client = app.test_client()
        # The benchmark's own data (every event as dicts, strings and rows: millions of
        # objects) would otherwise be walked by each garbage collection the measured code
        # triggers, a cost a server process holding one batch never pays.
        gc.collect()
        gc.freeze()
        rss_before = peak_rss_mib()
        try:
            for round_ in range(args.rounds):
                runs = {
                    "copy": lambda: run_copy(engine, rows),
                    "api_json": lambda: run_api(client, token, arrays, "application/json"),
                    "api": lambda: run_api(client, token, ndjson, "application/x-ndjson"),
                }
                for name, run in runs.items():
                    empty_tables(engine)
                    started = time.process_time()
                    seconds[name].append(run())
                    cpu[name].append(time.process_time() - started)
                # the first batch again, all duplicates; scaled to the whole set
                started = time.process_time()
                resent = run_api(client, token, ndjson[:1], "application/x-ndjson")
                seconds["resend"].append(resent * len(ndjson))
                cpu["resend"].append((time.process_time() - started) * len(ndjson))
                print(
                    f"  round {round_ + 1}: "
                    + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in seconds.items()),
                    flush=True,
                )
            result["rollup"] = check_rollup(engine, events)
        finally:
            engine.dispose()
            with app.app_context():
                from app.core.db import db

                db.engine.dispose()
    result["rss_mib"] = {"before_ingestion": rss_before, "after": peak_rss_mib()}
    result["environment"]["load_average_1m"].append(round(os.getloadavg()[0], 2))
    result["scenarios"] = {
        name: {
            "seconds": [round(s, 3) for s in runs],
            "median_events_per_s": round(len(events) / statistics.median(runs), 1),
            "median_client_cpu_s": round(statistics.median(cpu[name]), 3),
        }
        for name, runs in seconds.items()
    }
    rate = {name: data["median_events_per_s"] for name, data in result["scenarios"].items()}
    result["ratios"] = {
        "api_over_copy": round(rate["api"] / rate["copy"], 3),
        "api_json_over_copy": round(rate["api_json"] / rate["copy"], 3),
    }
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "usage_ingest.json").write_text(json.dumps(result, indent=2, default=str))
    (args.output / "usage_ingest.md").write_text(markdown(result))
    print(markdown(result))
    return 0 if result["rollup"]["exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
