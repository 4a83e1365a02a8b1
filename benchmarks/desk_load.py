"""The desk under load, side by side with a minimal Flask + SQLAlchemy Core app.

Both applications run as documented for production: gunicorn with ``gunicorn.conf.py`` and two
sync workers, on PostgreSQL (Steward also on Redis, so the outbox hands its jobs over as it does
in production). Sixteen clients, each with a credential of its own, send one operation at a
time for a bounded time (and a bounded count); Steward and the reference (``reference_app.py``)
take turns, operation by operation, for several rounds, so that whatever else the machine does
hits both alike. Reported per operation: requests per second, p50/p99 latency, server CPU per
request (the gunicorn processes, and the PostgreSQL backends of the benchmark's database), SQL
statements per request (counted in-process on the same database, after-response work
included), the ratio to the reference, and the web workers' RSS after the run. Nothing is
asserted about time; it exits 0 unless a request fails.

    python -m benchmarks desk_load [--tickets N] [--seconds S] [--rounds R] [--clients C]
                                   [--steward-dir PATH]   # another checkout, for a before/after
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks.queue_scale import (
    RESULTS_DIR,
    load_tickets,
    own_database,
    percentile,
    seed_reference_data,
    server_environment,
)

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
STEWARD_PORT, REFERENCE_PORT = 18461, 18462
PASSWORD = "bench-password-not-secret"
SECRET_KEY = "bench-" + uuid.uuid4().hex
TICKET = {
    "title": "Invoice posting fails",
    "description": "Error 'period closed' when posting invoice 4711 since this morning.",
    "module": "FIN",
    "impact": "medium",
    "urgency": "medium",
}
PAGE = 50
OPERATIONS = {
    # name: (title, Steward request, reference request)
    "queue_api": (
        f"GET /api/v1/tickets?view=open&limit={PAGE} (agent token)",
        ("GET", f"/api/v1/tickets?view=open&limit={PAGE}", "agent_token"),
        ("GET", f"/tickets?limit={PAGE}", None),
    ),
    "queue_html": (
        f"GET /queues?view=open&limit={PAGE} (agent signed in)",
        ("GET", f"/queues?view=open&limit={PAGE}", "agent_cookie"),
        ("GET", f"/tickets?limit={PAGE}", None),
    ),
    "create": (
        "POST /api/v1/tickets (requester token)",
        ("POST", "/api/v1/tickets", "requester_token"),
        ("POST", "/tickets", None),
    ),
}


# -- HTTP client: raw sockets, one connection per request (gunicorn sync workers close it) ---


def request_bytes(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def send(port: int, payload: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(payload)
        chunks = []
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    response = b"".join(chunks)
    status = int(response[9:12]) if response.startswith(b"HTTP/") else 0
    return status, response


# -- server processes -------------------------------------------------------------------------


def _proc_children(pid: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry))
    return children


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


@contextmanager
def gunicorn(label: str, app_path: str, port: int, cwd: Path, env: dict[str, str], log: Path):
    """Start ``gunicorn --config gunicorn.conf.py -w 2``; yield its master pid; stop it."""
    command = [
        str(BIN / "gunicorn"),
        "--config",
        str(ROOT / "gunicorn.conf.py"),
        "-w",
        "2",
        "-b",
        f"127.0.0.1:{port}",
        app_path,
    ]
    with open(log, "ab") as err:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{label} server exited; see {log}")
            if len(_proc_children(process.pid)) >= 2:
                try:
                    send(port, request_bytes("GET", "/healthz", {}))
                    break
                except OSError:
                    pass
            time.sleep(0.2)
        else:
            raise RuntimeError(f"{label} server did not start; see {log}")
        yield process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def backend_pids(engine: sa.Engine, database: str) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.scalars(
                sa.text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = :db "
                    "AND pid <> pg_backend_pid()"
                ),
                {"db": database},
            )
        )


# -- load -------------------------------------------------------------------------------------


def run_phase(
    port: int,
    payloads: list[bytes],
    *,
    warmup: float,
    seconds: float,
    max_requests: int,
    server_pids: list[int],
    pg: tuple[sa.Engine, str],
) -> dict[str, Any]:
    """Each client sends its payload in a loop; requests started and finished inside the
    window (after ``warmup``) are counted. Stops after ``seconds`` or ``max_requests``."""
    started = time.monotonic()
    window_start = started + warmup
    window_end = window_start + seconds
    samples: list[tuple[float, float, int]] = []
    lock = threading.Lock()
    done = threading.Event()

    def client(payload: bytes) -> None:
        while not done.is_set():
            begin = time.monotonic()
            if begin >= window_end:
                return
            try:
                status, _ = send(port, payload)
            except OSError:
                status = 0
            end = time.monotonic()
            with lock:
                samples.append((begin, end, status))
                if len(samples) >= max_requests:
                    done.set()

    threads = [threading.Thread(target=client, args=(p,), daemon=True) for p in payloads]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, window_start - time.monotonic()))
    pids = server_pids + _proc_children(server_pids[0])
    cpu_before = cpu_seconds(pids)
    pg_pids = backend_pids(*pg)
    pg_before = cpu_seconds(pg_pids)
    while time.monotonic() < window_end and not done.is_set():
        time.sleep(0.05)
    cpu_after = cpu_seconds(pids)
    pg_after = cpu_seconds(pg_pids)
    elapsed = min(time.monotonic(), window_end) - window_start
    done.set()
    for thread in threads:
        thread.join(timeout=60)
    counted = [(b, e, s) for b, e, s in samples if b >= window_start and e <= window_end]
    latencies = [(e - b) * 1000 for b, e, _ in counted]
    # every operation answers 2xx; a redirect (to the sign-in page, say) is not the page served
    errors = sum(1 for _, _, s in counted if not 200 <= s < 300)
    n = len(counted)
    return {
        "requests": n,
        "errors": errors,
        "statuses": dict(sorted(Counter(s for _, _, s in counted).items())),
        "seconds": round(elapsed, 2),
        "req_per_s": round(n / elapsed, 1) if elapsed else None,
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 1) if latencies else None,
        "server_cpu_ms_per_req": round((cpu_after - cpu_before) * 1000 / n, 2) if n else None,
        "postgres_cpu_ms_per_req": round((pg_after - pg_before) * 1000 / n, 2) if n else None,
    }


# -- set-up -----------------------------------------------------------------------------------


def prepare(url: str, tickets: int, clients: int) -> dict[str, Any]:
    """Migrate, seed users/modules, load tickets, issue one credential per client."""
    from flask_migrate import upgrade

    from app import create_app
    from app.core.db import db
    from app.identity.service import issue_token, save_user
    from benchmarks.reference_app import seed

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None, "SECRET_KEY": SECRET_KEY})
    with app.app_context():
        upgrade()
        ids = seed_reference_data(db.session)
        db.session.remove()
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        data = load_tickets(db.engine, tickets, now, ids)
        session = db.session
        from app.identity.models import User

        agents = list(session.scalars(sa.select(User).where(User.email.like("agent%"))))
        requesters = list(session.scalars(sa.select(User).where(User.email.like("requester%"))))
        for user in agents:  # agents sign in to the pages
            save_user(
                session,
                None,
                email=user.email,
                name=user.name,
                roles=[("agent", None)],
                password=PASSWORD,
                department=user.department,
            )
        credentials: dict[str, list[str]] = {"agent_token": [], "requester_token": []}
        # every token names its scopes and expires (the token rules): all the holder's, a day
        token = {"scopes": ["*"], "expires_at": datetime.now(UTC) + timedelta(days=1)}
        for i in range(clients):
            credentials["agent_token"].append(
                issue_token(session, None, agents[i % len(agents)], name=f"bench {i}", **token)[1]
            )
            credentials["requester_token"].append(
                issue_token(
                    session, None, requesters[i % len(requesters)], name=f"bench {i}", **token
                )[1]
            )
        session.commit()
        agent_emails = [user.email for user in agents]
        db.session.remove()
    credentials["agent_cookie"] = []
    for i in range(clients):
        # signed in through the login form: sessions live on the server, a forged cookie
        # would only be sent to the sign-in page. Outside the set-up's app context: a request
        # inside it would share its `g`, where the first sign-in's user would stay signed in
        client = app.test_client()
        form = client.get("/login").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
        if csrf is None:
            raise RuntimeError("the sign-in page holds no form")
        signed_in = client.post(
            "/login",
            data={
                "email": agent_emails[i % len(agent_emails)],
                "password": PASSWORD,
                "csrf_token": csrf.group(1),
            },
        )
        if signed_in.status_code not in (302, 303) or "/login" in signed_in.location:
            raise RuntimeError(f"sign-in for the page clients failed: {signed_in.status_code}")
        credentials["agent_cookie"].append(client.get_cookie("session").value)
    with app.app_context():
        db.engine.dispose()
    seed(url, tickets)
    return {"data": data, "credentials": credentials}


def payloads_for(op: str, which: int, credentials: dict[str, list[str]], clients: int):
    method, path, credential = OPERATIONS[op][which]
    body = json.dumps(TICKET).encode() if method == "POST" else b""
    out = []
    for i in range(clients):
        headers: dict[str, str] = {}
        if credential and credential.endswith("token"):
            headers["Authorization"] = f"Bearer {credentials[credential][i]}"
        elif credential == "agent_cookie":
            headers["Cookie"] = f"session={credentials[credential][i]}"
        out.append(request_bytes(method, path, headers, body))
    return out


def count_statements(
    url: str, steward_dir: Path, credentials: dict[str, list[str]], queue_prefix: str, runs: int
) -> dict[str, dict[str, float]]:
    """SQL statements per request, in-process on the same database (after-response work, such
    as the outbox hand-over, included): Steward in a child process (its own checkout), the
    reference here."""
    code = f"""
import json, sys
sys.path.insert(0, {str(steward_dir)!r})
from sqlalchemy import event
from sqlalchemy.engine import Engine
from app import create_app
counter = [0]
event.listen(Engine, "before_cursor_execute", lambda *a: counter.__setitem__(0, counter[0] + 1))
app = create_app({{"SQLALCHEMY_DATABASE_URI": {url!r}, "REDIS_URL": {REDIS_URL!r},
                  "QUEUE_PREFIX": {queue_prefix!r}, "SECRET_KEY": {SECRET_KEY!r},
                  "ENV": "production"}})
client = app.test_client()
client.set_cookie("session", {credentials["agent_cookie"][0]!r})
ops = {{
    "queue_api": lambda: client.get("/api/v1/tickets?view=open&limit={PAGE}",
        headers={{"Authorization": "Bearer " + {credentials["agent_token"][0]!r}}}),
    "queue_html": lambda: client.get("/queues?view=open&limit={PAGE}"),
    "create": lambda: client.post("/api/v1/tickets", json={TICKET!r},
        headers={{"Authorization": "Bearer " + {credentials["requester_token"][0]!r}}}),
}}
out = {{}}
for name, op in ops.items():
    for _ in range(3):
        assert op().status_code < 400
    counter[0] = 0
    for _ in range({runs}):
        op()
    out[name] = counter[0] / {runs}
print(json.dumps(out))
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=steward_dir,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(steward_dir)},
    )
    steward = json.loads(result.stdout.strip().splitlines()[-1])

    from benchmarks.reference_app import create_app as reference_app

    ref = reference_app(url)
    engine = ref.extensions["reference.engine"]
    counter = [0]

    def count(*_: Any) -> None:
        counter[0] += 1

    sa.event.listen(engine, "before_cursor_execute", count)
    client = ref.test_client()
    reference = {}
    for name, call in (
        ("queue", lambda: client.get(f"/tickets?limit={PAGE}")),
        ("create", lambda: client.post("/tickets", json=TICKET)),
    ):
        call()
        counter[0] = 0
        for _ in range(runs):
            call()
        reference[name] = counter[0] / runs
    engine.dispose()
    return {
        "steward": steward,
        "reference": {
            "queue_api": reference["queue"],
            "queue_html": reference["queue"],
            "create": reference["create"],
        },
    }


def profile_requests(url: str, credentials: dict[str, list[str]], queue_prefix: str, out: Path):
    """pyinstrument profiles of each operation, in-process (when pyinstrument is installed)."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        return None
    from app import create_app

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "REDIS_URL": REDIS_URL,
            "QUEUE_PREFIX": queue_prefix,
            "SECRET_KEY": SECRET_KEY,
            "ENV": "production",
        }
    )
    client = app.test_client()
    client.set_cookie("session", credentials["agent_cookie"][0])
    token = {"Authorization": "Bearer " + credentials["agent_token"][0]}
    requester = {"Authorization": "Bearer " + credentials["requester_token"][0]}
    calls = {
        "queue_api": lambda: client.get(f"/api/v1/tickets?view=open&limit={PAGE}", headers=token),
        "queue_html": lambda: client.get(f"/queues?view=open&limit={PAGE}"),
        "create": lambda: client.post("/api/v1/tickets", json=TICKET, headers=requester),
    }
    written = {}
    out.mkdir(parents=True, exist_ok=True)
    for name, call in calls.items():
        for _ in range(5):
            call()
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(100):
            call()
        profiler.stop()
        path = out / f"desk_load_profile_{name}.txt"
        text = profiler.output_text(unicode=False, color=False, show_all=False)
        path.write_text(text.replace(f"{ROOT}/", ""))  # no machine's paths in the results
        written[name] = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    return written


# -- report -----------------------------------------------------------------------------------


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    summary = {}
    for op, rounds in result["phases"].items():
        per_app: dict[str, dict[str, Any]] = {}
        for app_name in ("steward", "reference"):
            runs = [r[app_name] for r in rounds]
            per_app[app_name] = {
                key: statistics.median(r[key] for r in runs if r[key] is not None)
                for key in (
                    "req_per_s",
                    "p50_ms",
                    "p99_ms",
                    "server_cpu_ms_per_req",
                    "postgres_cpu_ms_per_req",
                )
            }
            per_app[app_name]["requests"] = sum(r["requests"] for r in runs)
            per_app[app_name]["errors"] = sum(r["errors"] for r in runs)
            per_app[app_name]["sql_statements_per_req"] = result["statements"][app_name][op]
        ratios = [r["steward"]["req_per_s"] / r["reference"]["req_per_s"] for r in rounds]
        summary[op] = {
            "title": OPERATIONS[op][0],
            **per_app,
            "ratio_req_per_s": round(statistics.median(ratios), 3),
            "ratio_per_round": [round(x, 3) for x in ratios],
        }
    return summary


def errors(result: dict[str, Any]) -> int:
    return sum(s[a]["errors"] for s in result["summary"].values() for a in ("steward", "reference"))


def markdown(result: dict[str, Any]) -> str:
    env, cfg = result["environment"], result["config"]
    lines = [
        "# desk_load: the desk under load, beside a minimal Flask + SQLAlchemy Core app",
        "",
        f"Generated by `python -m benchmarks desk_load` on {result['started_at']}: "
        f"{env['cpus']} CPUs, {env['postgresql'].split(' on ')[0]}; gunicorn "
        f"(`gunicorn.conf.py`, 2 sync workers) for both apps, {cfg['clients']} clients, "
        f"{cfg['rounds']} rounds of {cfg['seconds']} s per app and operation (after "
        f"{cfg['warmup']} s of warm-up), alternating; {cfg['tickets']:,} tickets "
        f"({result['data']['open_tickets']:,} open). Steward from `{cfg['steward_dir']}`. "
        "Medians over rounds; the ratio is Steward / reference req/s in the same round.",
        "",
        "| operation | app | req/s | p50 ms | p99 ms | server CPU ms/req | PostgreSQL CPU "
        "ms/req | SQL statements/req | ratio |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in result["summary"].values():
        for app_name in ("steward", "reference"):
            a = s[app_name]
            ratio = f"**{s['ratio_req_per_s']:.2f}**" if app_name == "steward" else ""
            lines.append(
                f"| {s['title'] if app_name == 'steward' else ''} | {app_name} "
                f"| {a['req_per_s']:.0f} | {a['p50_ms']:.1f} | {a['p99_ms']:.1f} "
                f"| {a['server_cpu_ms_per_req']:.2f} | {a['postgres_cpu_ms_per_req']:.2f} "
                f"| {a['sql_statements_per_req']:g} | {ratio} |"
            )
    lines += [
        "",
        "Web worker RSS after the run (MB): "
        + "; ".join(f"{k}: {v}" for k, v in result["rss_mb"].items()),
        "",
        f"Errors: {errors(result)}. Total runtime {result['total_runtime_s']:.0f} s.",
        "",
    ]
    if result.get("profiles"):
        lines += ["Profiles (pyinstrument, 100 in-process requests each): "]
        lines += [f"- `{name}`: `{path}`" for name, path in result["profiles"].items()]
        lines.append("")
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks desk_load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tickets", type=int, default=10_000, help="tickets loaded first")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15.0, help="timed seconds per phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="untimed seconds per phase")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--max-requests", type=int, default=50_000, help="a phase stops after this many"
    )
    parser.add_argument("--operations", default=",".join(OPERATIONS))
    parser.add_argument(
        "--steward-dir",
        type=Path,
        default=ROOT,
        help="serve Steward from this checkout (e.g. an export of an older commit)",
    )
    parser.add_argument(
        "--steward-label", help="how the results name --steward-dir (e.g. the commit it holds)"
    )
    parser.add_argument("--no-profile", dest="profile", action="store_false")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR)
    parser.add_argument("--name", default="desk_load", help="results file name")
    return parser.parse_args(argv)


def _terminate(signum, frame):  # so that the finally blocks stop the servers, drop the database
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _terminate)
    began = time.perf_counter()
    operations = [op for op in args.operations.split(",") if op]
    steward_dir = args.steward_dir.resolve()
    queue_prefix = f"steward-bench-{uuid.uuid4().hex[:8]}:"
    result: dict[str, Any] = {
        "benchmark": "desk_load",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {
            "tickets": args.tickets,
            "clients": args.clients,
            "seconds": args.seconds,
            "warmup": args.warmup,
            "rounds": args.rounds,
            "max_requests": args.max_requests,
            "page": PAGE,
            "steward_dir": "." if steward_dir == ROOT else args.steward_label or steward_dir.name,
            "workers": 2,
        },
        "environment": server_environment(),
        "phases": {op: [] for op in operations},
    }
    with ExitStack() as stack, tempfile.TemporaryDirectory() as scratch:
        url = stack.enter_context(own_database("desk"))
        database = sa.engine.make_url(url).database
        print(f"-- preparing {args.tickets:,} tickets", flush=True)
        prepared = prepare(url, args.tickets, args.clients)
        result["data"] = prepared["data"]
        credentials = prepared["credentials"]
        print("-- counting statements per request", flush=True)
        result["statements"] = count_statements(url, steward_dir, credentials, queue_prefix, 20)
        if args.profile and steward_dir == ROOT:
            result["profiles"] = profile_requests(url, credentials, queue_prefix, args.output)
        metrics_dir = Path(scratch) / "metrics"
        metrics_dir.mkdir()
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("GUNICORN")}
        steward_env = {
            **base_env,
            "DATABASE_URL": url,
            "REDIS_URL": REDIS_URL,
            "QUEUE_PREFIX": queue_prefix,
            "STEWARD_ENV": "production",
            "SECRET_KEY": SECRET_KEY,
            "STEWARD_INSTANCE_PATH": str(Path(scratch) / "instance"),
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "PYTHONPATH": str(steward_dir),
        }
        reference_env = {**base_env, "REFERENCE_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
        log = Path(scratch) / "servers.log"
        steward_pid = stack.enter_context(
            gunicorn("steward", "app:create_app()", STEWARD_PORT, steward_dir, steward_env, log)
        )
        reference_pid = stack.enter_context(
            gunicorn(
                "reference",
                "benchmarks.reference_app:create_app()",
                REFERENCE_PORT,
                ROOT,
                reference_env,
                log,
            )
        )
        server = sa.create_engine(url)
        stack.callback(server.dispose)
        pg = (server, database)
        for op in operations:
            for round_ in range(args.rounds):
                row = {}
                for which, (name, port, pid) in enumerate(
                    (
                        ("steward", STEWARD_PORT, steward_pid),
                        ("reference", REFERENCE_PORT, reference_pid),
                    )
                ):
                    measured = run_phase(
                        port,
                        payloads_for(op, which + 1, credentials, args.clients),
                        warmup=args.warmup,
                        seconds=args.seconds,
                        max_requests=args.max_requests,
                        server_pids=[pid],
                        pg=pg,
                    )
                    row[name] = measured
                    print(f"  {op} round {round_ + 1} {name}: {measured}", flush=True)
                result["phases"][op].append(row)
        result["rss_mb"] = {
            f"{name} worker {i + 1}": rss_mb(child)
            for name, pid in (("steward", steward_pid), ("reference", reference_pid))
            for i, child in enumerate(sorted(_proc_children(pid)))
        }
        try:
            from redis import Redis

            redis = Redis.from_url(REDIS_URL)
            keys = list(redis.scan_iter(match=f"*{queue_prefix.rstrip(':')}*", count=1000))
            if keys:
                redis.delete(*keys)
            stale = [q for q in redis.smembers("rq:queues") if queue_prefix.encode() in q]
            if stale:
                redis.srem("rq:queues", *stale)
        except Exception as exc:  # clean-up only
            print(f"  redis clean-up skipped: {exc}", flush=True)
        if server_log := log.read_text(errors="replace").strip():
            tail = "\n".join(server_log.splitlines()[-5:])
            print(f"  server log tail:\n{tail}", flush=True)
    result["summary"] = summarise(result)
    result["total_runtime_s"] = round(time.perf_counter() - began, 1)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / f"{args.name}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    (args.output / f"{args.name}.md").write_text(markdown(result))
    print(markdown(result))
    return 1 if errors(result) else 0


if __name__ == "__main__":
    sys.exit(main())
