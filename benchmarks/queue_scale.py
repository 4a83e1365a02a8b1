"""Support queues at scale: are the ticket lists "cursor-paginated, fast with a million tickets"?

Everything is measured as a ratio against a baseline run beside it, never against an absolute
time target (machines differ; ratios travel):

* keyset page deep in a list / the same page fetched with OFFSET (the headline number);
* keyset page deep in a list / the first page of the same list;
* the same page at ``--tickets`` (1,000,000) / at ``--baseline-tickets`` (10,000).

For each size the benchmark creates its own PostgreSQL database (unique name, always dropped),
migrates it to head through Flask-Migrate, creates modules, groups and users through the
services, bulk-loads the tickets with one ``INSERT ... SELECT FROM generate_series`` (the
secondary indexes are dropped for the load and re-created from their exact definitions, then
``VACUUM (ANALYZE)``), and times pages through the real code path
``app.incidents.queues.list_tickets``. It records ``EXPLAIN (ANALYZE, BUFFERS)`` summaries, and
(``--what-if``, on by default) what a candidate index and a row-value keyset predicate would
change, in the throwaway database only. It asserts nothing about wall-clock time; it fails only
if the keyset and OFFSET pages disagree about which rows they return.

    python -m benchmarks queue_scale [--tickets N] [--baseline-tickets N] [--runs R]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

SERVER_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
RESULTS_DIR = Path(__file__).resolve().parent / "results"
PAGE = 25
SEED = 0.4242
DEFAULT_TICKETS = 1_000_000
DEFAULT_BASELINE = 10_000
HISTORY_DAYS = 730
OPEN = ("new", "triaged", "in_progress", "waiting_on_requester")

MODULES = [
    ("FIN", "Finance", "FINOPS"),
    ("SLS", "Sales", "L1"),
    ("PUR", "Purchasing", "SUPPLY"),
    ("INV", "Inventory", "SUPPLY"),
    ("MFG", "Manufacturing", "SUPPLY"),
    ("HRM", "Human resources", "L1"),
    ("CRM", "Customer relations", "L1"),
    ("PRJ", "Projects", "FINOPS"),
]
GROUPS = [("L1", "First line"), ("FINOPS", "Finance support"), ("SUPPLY", "Supply chain")]
REQUESTERS = 40
AGENTS = 6
# One title in 24 and one description in 12 mention an invoice: ~12% of tickets match "invoice".
TITLES = [
    "Invoice posting fails for vendor",
    "Cannot release purchase order",
    "Sales order stuck in credit block",
    "Stock transfer shows wrong quantity",
    "Payroll export times out",
    "Report takes minutes to open",
    "Missing authorisation for transaction",
    "Production order cannot be confirmed",
    "Customer master data duplicated",
    "Delivery note printout is empty",
    "Exchange rates not updated",
    "Bank statement import rejected",
    "Goods receipt posted to wrong plant",
    "Project budget check blocks booking",
    "Pricing condition ignored on quote",
    "Batch job cancelled overnight",
    "Workflow approval never arrives",
    "Cost centre report shows zero",
    "Cannot log in to the portal",
    "Material valuation differs between reports",
    "Timesheet approval screen hangs",
    "Lead conversion creates no account",
    "Inventory count cannot be posted",
    "Fixed asset depreciation run aborted",
]
DESCRIPTIONS = [
    "Since this morning the screen shows an error and nothing is saved.",
    "The job ran but the totals do not match the previous month.",
    "Several users in the team see the same behaviour on their accounts.",
    "It worked last week; nothing changed on our side as far as we know.",
    "The invoice total differs from the order total by a few cents.",
    "We need this for the month-end closing, please look at it quickly.",
    "The message says the document is locked by another user.",
    "After the upgrade the field is no longer proposed by default.",
    "Printing to PDF produces an empty page with only the header.",
    "The interface log shows a timeout after thirty seconds.",
    "Only happens for one company code; the others are fine.",
    "Screenshot attached; steps: open the list, filter, export.",
]


# -- measurement helpers --------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1)."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def summarise(samples_ms: list[float]) -> dict[str, Any]:
    return {
        "runs": len(samples_ms),
        "median_ms": round(statistics.median(samples_ms), 3),
        "p95_ms": round(percentile(samples_ms, 0.95), 3),
        "min_ms": round(min(samples_ms), 3),
        "max_ms": round(max(samples_ms), 3),
        "mean_ms": round(statistics.fmean(samples_ms), 3),
    }


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 3)


@dataclass
class Scenario:
    name: str
    title: str
    run: Callable[[], list[int]]
    explain: bool = False
    info: dict[str, Any] = field(default_factory=dict)


# -- database lifecycle ---------------------------------------------------------------------


@contextmanager
def own_database(label: str) -> Iterator[str]:
    """A fresh PostgreSQL database, dropped at the end whatever happens."""
    name = f"steward_bench_{label}_{uuid.uuid4().hex[:8]}_{os.getpid()}"
    server = sa.create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            # A safety net: no measured statement may run away (the loader lifts it).
            conn.execute(sa.text(f"ALTER DATABASE \"{name}\" SET statement_timeout = '120s'"))
        url = sa.engine.make_url(SERVER_URL).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        try:
            with server.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            print(f"  dropped database {name}", flush=True)
        finally:
            server.dispose()


def server_environment() -> dict[str, Any]:
    server = sa.create_engine(SERVER_URL)
    try:
        with server.connect() as conn:
            version = conn.scalar(sa.text("SELECT version()"))
            settings = dict(
                conn.execute(
                    sa.text(
                        "SELECT name, setting || coalesce(' ' || unit, '') FROM pg_settings "
                        "WHERE name = ANY(:names)"
                    ),
                    {
                        "names": [
                            "shared_buffers",
                            "work_mem",
                            "effective_cache_size",
                            "random_page_cost",
                            "jit",
                            "max_parallel_workers_per_gather",
                        ]
                    },
                ).all()
            )
    finally:
        server.dispose()
    return {
        "postgresql": version,
        "postgresql_settings": settings,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cache": "warm: every scenario runs warm-up pages first; medians are warm-cache",
    }


# -- data -----------------------------------------------------------------------------------


def seed_reference_data(session) -> dict[str, Any]:
    """Modules, groups and users through the services, as an administrator would."""
    from app.catalogue import service as catalogue
    from app.identity.service import save_user

    groups = {
        code: catalogue.create_group(session, None, code=code, name=name) for code, name in GROUPS
    }
    modules = [
        catalogue.create_module(session, None, code=code, name=name, support_group=group)
        for code, name, group in MODULES
    ]
    requesters = [
        save_user(
            session,
            None,
            email=f"requester{i:02d}@bench.steward.test",
            name=f"Requester {i:02d}",
            department="Business",
            roles=[("requester", None)],
        )[0]
        for i in range(REQUESTERS)
    ]
    agents = [
        save_user(
            session,
            None,
            email=f"agent{i}@bench.steward.test",
            name=f"Agent {i}",
            department="Support",
            roles=[("agent", None)],
        )[0]
        for i in range(AGENTS)
    ]
    # the support team's groups: the first agents in finance, the others in supply chain
    catalogue.set_group_members(session, None, groups["FINOPS"], agents[: AGENTS // 2])
    catalogue.set_group_members(session, None, groups["SUPPLY"], agents[AGENTS // 2 :])
    session.flush()
    ids = {
        "modules": [m.id for m in modules],
        "module_groups": [groups[g].id for _, _, g in MODULES],
        "requesters": [u.id for u in requesters],
        "agents": [u.id for u in agents],
        "agent_email": agents[0].email,
        "module_codes": [m.code for m in modules],
    }
    session.commit()
    return ids


def _priority_values() -> str:
    from app.incidents.sla import LEVELS, priority_for

    return ", ".join(f"('{i}', '{u}', '{priority_for(i, u)}')" for i in LEVELS for u in LEVELS)


LOAD_SQL = """
INSERT INTO tickets (
    id, title, description, module_id, reporter_id, assignee_id, group_id,
    impact, urgency, priority, status, resolution_code, reopen_count,
    created_at, updated_at, triaged_at, first_response_at, resolved_at, closed_at,
    response_target_minutes, resolution_target_minutes, sla_business_hours,
    paused_seconds, paused_since,
    response_due_at, response_warn_at, resolution_due_at, resolution_warn_at, next_due_at,
    version)
SELECT
    t.g, t.title, t.description, t.module_id, t.reporter_id,
    CASE WHEN t.status = 'new' THEN NULL ELSE t.agent_id END,
    CASE WHEN t.status = 'new' THEN NULL ELSE t.group_id END,
    t.impact, t.urgency, t.priority, t.status,
    CASE WHEN t.status IN ('resolved', 'closed') THEN 'fixed' END,
    0,
    t.created_at,
    LEAST(CAST(:now AS timestamptz),
          COALESCE(t.closed_at, t.resolved_at, t.first_response_at, t.triaged_at, t.created_at)),
    t.triaged_at, t.first_response_at, t.resolved_at, t.closed_at,
    t.response_minutes, t.resolution_minutes, t.business_hours,
    0,
    CASE WHEN t.status = 'waiting_on_requester'
         THEN LEAST(CAST(:now AS timestamptz), t.first_response_at + interval '2 hours') END,
    t.response_due_at, t.response_warn_at, t.resolution_due_at, t.resolution_warn_at,
    CASE WHEN t.status NOT IN ('new', 'triaged', 'in_progress', 'waiting_on_requester') THEN NULL
         WHEN t.first_response_at IS NULL THEN t.response_due_at
         WHEN t.status = 'waiting_on_requester' THEN NULL
         ELSE t.resolution_due_at END,
    1
FROM (
    SELECT s.*,
        s.created_at + s.scale * s.response_minutes * interval '1 minute' AS response_due_at,
        s.created_at + 0.8 * s.scale * s.response_minutes * interval '1 minute'
            AS response_warn_at,
        s.created_at + s.scale * s.resolution_minutes * interval '1 minute' AS resolution_due_at,
        s.created_at + 0.8 * s.scale * s.resolution_minutes * interval '1 minute'
            AS resolution_warn_at,
        CASE WHEN s.status <> 'new' THEN s.created_at + s.r_fast * interval '30 minutes' END
            AS triaged_at,
        CASE WHEN s.status = 'new' OR (s.status = 'triaged' AND s.r_fast < 0.5) THEN NULL
             ELSE s.created_at + (0.05 + s.r_fast) * s.scale * s.response_minutes
                  * interval '1 minute' END AS first_response_at,
        CASE WHEN s.status IN ('resolved', 'closed')
             THEN s.created_at + (0.1 + 1.2 * s.r_res) * s.scale * s.resolution_minutes
                  * interval '1 minute' END AS resolved_at,
        CASE WHEN s.status = 'closed'
             THEN s.created_at + (0.1 + 1.2 * s.r_res) * s.scale * s.resolution_minutes
                  * interval '1 minute' + interval '7 days'
             WHEN s.status = 'cancelled' THEN s.created_at + s.r_res * interval '2 days' END
            AS closed_at
    FROM (
        SELECT b.g, b.r_fast, b.r_res, b.status, b.impact, b.urgency, m.priority,
            p.response_minutes, p.resolution_minutes, p.business_hours,
            CASE WHEN p.business_hours THEN 3 ELSE 1 END AS scale,
            CAST(:now AS timestamptz) - b.age * interval '{days} days'
                - b.r_jit * interval '50 minutes' AS created_at,
            (CAST(:modules AS integer[]))[b.mi] AS module_id,
            (CAST(:module_groups AS integer[]))[b.mi] AS group_id,
            (CAST(:requesters AS integer[]))[b.ri] AS reporter_id,
            (CAST(:agents AS integer[]))[b.ai] AS agent_id,
            (CAST(:titles AS text[]))[b.ti] || ' (' || (b.g % 9973) || ')' AS title,
            (CAST(:descriptions AS text[]))[b.di] || ' Reference '
                || upper(substr(md5(b.g::text), 1, 10)) || '.' AS description
        FROM (
            SELECT r.*,
                CASE WHEN r.r_status < CASE WHEN r.age < 0.04 THEN 0.6 ELSE 0.005 END
                     THEN CASE WHEN r.r_sub < 0.25 THEN 'new'
                               WHEN r.r_sub < 0.50 THEN 'triaged'
                               WHEN r.r_sub < 0.80 THEN 'in_progress'
                               ELSE 'waiting_on_requester' END
                     ELSE CASE WHEN r.r_sub < 0.96 THEN 'closed'
                               WHEN r.r_sub < 0.99 THEN 'cancelled'
                               ELSE 'resolved' END
                END AS status,
                CASE WHEN r.r_imp < 0.15 THEN 'high' WHEN r.r_imp < 0.60 THEN 'medium'
                     ELSE 'low' END AS impact,
                CASE WHEN r.r_urg < 0.15 THEN 'high' WHEN r.r_urg < 0.60 THEN 'medium'
                     ELSE 'low' END AS urgency
            FROM (
                SELECT g,
                    (:n - g)::float8 / :n AS age,
                    random() AS r_status, random() AS r_sub, random() AS r_imp,
                    random() AS r_urg, random() AS r_jit, random() AS r_fast,
                    random() AS r_res,
                    1 + floor(random() * {modules})::int AS mi,
                    1 + floor(random() * {requesters})::int AS ri,
                    1 + floor(random() * {agents})::int AS ai,
                    1 + floor(random() * {titles})::int AS ti,
                    1 + floor(random() * {descriptions})::int AS di
                FROM generate_series(1, :n) AS g
            ) AS r
        ) AS b
        JOIN (VALUES {matrix}) AS m (impact, urgency, priority)
            ON m.impact = b.impact AND m.urgency = b.urgency
        JOIN sla_policies AS p ON p.priority = m.priority
    ) AS s
) AS t
"""


def _create_index(engine: sa.Engine, definition: str) -> None:
    with engine.connect() as conn:
        conn.execute(sa.text("SET statement_timeout = 0"))
        conn.execute(sa.text("SET maintenance_work_mem = '256MB'"))
        conn.execute(sa.text(definition))
        conn.commit()


def drop_secondary_indexes(conn: sa.Connection, table: str) -> list[tuple[str, str]]:
    """Drop ``table``'s indexes that back no constraint, for a bulk load; returns their
    (name, definition) for ``restore_indexes``."""
    indexes = [
        tuple(row)
        for row in conn.execute(
            sa.text(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                "WHERE i.schemaname = current_schema() AND i.tablename = :table "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                "WHERE c.conrelid = CAST(:table AS regclass) AND c.conname = i.indexname) "
                "ORDER BY i.indexname"
            ),
            {"table": table},
        )
    ]
    for name, _ in indexes:
        conn.execute(sa.text(f'DROP INDEX "{name}"'))
    conn.commit()
    return indexes


def restore_indexes(
    engine: sa.Engine, conn: sa.Connection, table: str, indexes: list[tuple[str, str]]
) -> None:
    """Re-create what ``drop_secondary_indexes`` dropped, two builds at a time (the longest,
    trigram GIN, first), and check that every definition is back exactly."""
    ordered = sorted(indexes, key=lambda row: "USING gin" not in row[1])
    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(_create_index, engine, d) for _, d in ordered]:
            future.result()
    after = conn.execute(
        sa.text(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = current_schema() AND tablename = :table "
            "AND indexname = ANY(:names) ORDER BY indexname"
        ),
        {"table": table, "names": [name for name, _ in indexes]},
    ).all()
    if [tuple(r) for r in after] != indexes:
        raise RuntimeError(f"the {table} indexes were not restored exactly")


def load_tickets(engine: sa.Engine, n: int, now: datetime, ids: dict[str, Any]) -> dict[str, Any]:
    """Bulk-load ``n`` tickets; the schema's indexes are re-created exactly as they were."""
    timings: dict[str, float] = {}
    sql = LOAD_SQL.format(
        days=HISTORY_DAYS,
        modules=len(ids["modules"]),
        requesters=len(ids["requesters"]),
        agents=len(ids["agents"]),
        titles=len(TITLES),
        descriptions=len(DESCRIPTIONS),
        matrix=_priority_values(),
    )
    with engine.connect() as conn:
        conn.execute(sa.text("SET statement_timeout = 0"))
        indexes = drop_secondary_indexes(conn, "tickets")

        started = time.perf_counter()
        # The references are valid by construction (checked below): skip the per-row FK
        # triggers for the load only, in this session only.
        conn.execute(sa.text("SET session_replication_role = replica"))
        conn.execute(sa.text("SELECT setseed(:seed)"), {"seed": SEED})
        conn.execute(
            sa.text(sql),
            {
                "n": n,
                "now": now,
                "modules": ids["modules"],
                "module_groups": ids["module_groups"],
                "requesters": ids["requesters"],
                "agents": ids["agents"],
                "titles": TITLES,
                "descriptions": DESCRIPTIONS,
            },
        )
        conn.execute(sa.text("RESET session_replication_role"))
        conn.execute(
            sa.text("SELECT setval(pg_get_serial_sequence('tickets', 'id'), :n)"), {"n": n}
        )
        conn.commit()
        timings["insert_s"] = round(time.perf_counter() - started, 2)
        dangling = conn.scalar(
            sa.text(
                "SELECT count(*) FROM tickets WHERE module_id <> ALL(:modules) "
                "OR reporter_id <> ALL(:requesters) "
                "OR (assignee_id IS NOT NULL AND assignee_id <> ALL(:agents)) "
                "OR (group_id IS NOT NULL AND group_id <> ALL(:groups))"
            ),
            {
                "modules": ids["modules"],
                "requesters": ids["requesters"],
                "agents": ids["agents"],
                "groups": sorted(set(ids["module_groups"])),
            },
        )
        if dangling:
            raise RuntimeError(f"{dangling} tickets reference rows that do not exist")

        started = time.perf_counter()
        restore_indexes(engine, conn, "tickets", indexes)
        timings["create_indexes_s"] = round(time.perf_counter() - started, 2)

    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("SET statement_timeout = 0"))
        conn.execute(sa.text("VACUUM (ANALYZE) tickets"))
        timings["vacuum_analyze_s"] = round(time.perf_counter() - started, 2)
        stats = conn.execute(
            sa.text(
                "SELECT count(*), count(*) FILTER (WHERE status = ANY(:open)), "
                "count(*) FILTER (WHERE next_due_at IS NOT NULL), "
                "count(*) FILTER (WHERE title ILIKE '%invoice%' OR description ILIKE '%invoice%'),"
                " pg_total_relation_size('tickets') FROM tickets"
            ),
            {"open": list(OPEN)},
        ).one()
        by_status = dict(
            conn.execute(sa.text("SELECT status, count(*) FROM tickets GROUP BY status")).all()
        )
    return {
        "tickets": stats[0],
        "open_tickets": stats[1],
        "with_next_due": stats[2],
        "matching_invoice": stats[3],
        "table_size_mb": round(stats[4] / 2**20, 1),
        "by_status": by_status,
        "indexes_recreated": [name for name, _ in indexes],
        "timings": timings,
    }


# -- plans ----------------------------------------------------------------------------------


@contextmanager
def capture_statements(engine: sa.Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)


def _walk(node: dict[str, Any], depth: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
    yield depth, node
    for child in node.get("Plans", []):
        yield from _walk(child, depth + 1)


def _outline(depth: int, node: dict[str, Any]) -> str:
    text = node["Node Type"]
    if node.get("Scan Direction") == "Backward":
        text += " Backward"
    if node.get("Index Name"):
        text += f" using {node['Index Name']}"
    if node.get("Relation Name"):
        text += f" on {node['Relation Name']}"
        if node.get("Alias") and node["Alias"] != node["Relation Name"]:
            text += f" {node['Alias']}"
    if node.get("Sort Method"):
        text += f" [{node['Sort Method']}]"
    text += f" (rows={node.get('Actual Rows')} loops={node.get('Actual Loops')})"
    return "  " * depth + text


def summarise_plan(explained: dict[str, Any]) -> dict[str, Any]:
    root = explained["Plan"]
    nodes = list(_walk(root))
    tickets_access = []
    sorts = []
    for _, node in nodes:
        index = node.get("Index Name") or ""
        on_tickets = node.get("Relation Name") == "tickets" or index.startswith(
            ("ix_tickets", "pk_tickets", "bench_")
        )
        if on_tickets:
            tickets_access.append(
                {
                    "node": node["Node Type"],
                    "index": node.get("Index Name"),
                    "rows": node.get("Actual Rows"),
                    "loops": node.get("Actual Loops"),
                    "rows_removed_by_filter": node.get("Rows Removed by Filter", 0),
                    "rows_removed_by_recheck": node.get("Rows Removed by Index Recheck", 0),
                    "index_cond": node.get("Index Cond"),
                    "filter": node.get("Filter"),
                }
            )
        if node["Node Type"] in ("Sort", "Incremental Sort"):
            child = node.get("Plans", [{}])[0]
            sorts.append(
                {
                    "method": node.get("Sort Method"),
                    "rows_sorted": (child.get("Actual Rows") or 0)
                    * (child.get("Actual Loops") or 1),
                    "sort_key": node.get("Sort Key"),
                    "space_kb": node.get("Sort Space Used"),
                }
            )
    rows_read = sum(
        (a["rows"] or 0) * (a["loops"] or 1) + (a["rows_removed_by_filter"] or 0)
        for a in tickets_access
        if a["node"] != "Bitmap Index Scan"
    )
    return {
        "execution_ms": round(explained.get("Execution Time", 0.0), 3),
        "planning_ms": round(explained.get("Planning Time", 0.0), 3),
        "node_types": sorted({n["Node Type"] for _, n in nodes}),
        "index_used_on_tickets": any(a["index"] for a in tickets_access),
        "indexes_used_on_tickets": sorted({a["index"] for a in tickets_access if a["index"]}),
        "seq_scan_on_tickets": any(a["node"] == "Seq Scan" for a in tickets_access),
        "tickets_rows_read": rows_read,
        "tickets_access": tickets_access,
        "sorts": sorts,
        "shared_hit_blocks": root.get("Shared Hit Blocks"),
        "shared_read_blocks": root.get("Shared Read Blocks"),
        "outline": [_outline(d, n) for d, n in nodes],
    }


def explain(session, engine: sa.Engine, run: Callable[[], Any]) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) the tickets query that ``run`` sends, with its parameters."""
    with capture_statements(engine) as seen:
        run()
    statement, parameters = next((s, p) for s, p in seen if "FROM tickets" in s)
    session.close()
    with engine.connect() as conn:
        result = conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters
        ).scalar()
    plan = result[0] if isinstance(result, list) else json.loads(result)[0]
    summary = summarise_plan(plan)
    summary["sql"] = statement
    return summary


# -- scenarios ------------------------------------------------------------------------------


@dataclass
class Size:
    """One database of ``n`` tickets, loaded and ready to be measured."""

    label: str
    n: int
    engine: sa.Engine
    session: Any
    actor: Any
    data: dict[str, Any]
    requester: Any = None
    scenarios: dict[str, Scenario] = field(default_factory=dict)


def _ordered(session, actor, query):
    from app.incidents.queues import build_query, sort_keys

    keys = sort_keys(query.sort)
    order = [k.expression.desc() if k.descending else k.expression.asc() for k in keys]
    return build_query(session, actor, query).order_by(*order), keys


def _row_at(session, actor, query, position: int):
    """The row a client read last after ``position`` rows of ``query`` (untimed set-up)."""
    stmt, keys = _ordered(session, actor, query)
    row = session.scalars(stmt.offset(position - 1).limit(1)).one()
    values = [k.value_of(row) for k in keys]
    session.close()
    return values


def build_scenarios(size: Size) -> dict[str, Scenario]:
    from app.core.pagination import encode_cursor
    from app.incidents.queues import TicketQuery, list_ticket_rows

    session, actor = size.session, size.actor

    def keyset(query: TicketQuery, cursor: str | None, who: Any = None) -> Callable[[], list[int]]:
        def run() -> list[int]:
            rows = list_ticket_rows(session, who or actor, query, cursor=cursor, limit=PAGE)
            return [t.id for t in rows.page.items]

        return run

    def offset(query: TicketQuery, skip: int) -> Callable[[], list[int]]:
        def run() -> list[int]:
            stmt, _ = _ordered(session, actor, query)
            # limit + 1 rows, exactly as paginate() fetches them to know whether more follow
            rows = list(session.scalars(stmt.offset(skip).limit(PAGE + 1)))
            return [t.id for t in rows[:PAGE]]

        return run

    def cursor_after(query: TicketQuery, rows: int) -> str:
        return encode_cursor(_row_at(session, actor, query, rows))

    deep = size.data["tickets"] // 2
    open_deep = max(1, size.data["open_tickets"] // 2)
    newest = TicketQuery(view="all", sort="-created")
    oldest = TicketQuery(view="all", sort="created")
    open_due = TicketQuery(view="open", sort="due")
    module = MODULES[0][0]
    scenarios = [
        Scenario(
            "a_open_due_first",
            "open queue (default view), sort due, first page",
            keyset(open_due, None),
            explain=True,
        ),
        Scenario("b0_all_newest_first", "all, sort -created, first page", keyset(newest, None)),
        Scenario(
            "b_all_newest_deep_keyset",
            "all, sort -created, page after row N/2 (keyset cursor)",
            keyset(newest, cursor_after(newest, deep)),
            explain=True,
            info={"depth_rows": deep},
        ),
        Scenario(
            "c_all_newest_deep_offset",
            "all, sort -created, OFFSET N/2 (baseline)",
            offset(newest, deep),
            explain=True,
            info={"depth_rows": deep},
        ),
        Scenario(
            "d_search_invoice_first",
            "q=invoice (no view), sort due, first page",
            keyset(TicketQuery(q="invoice"), None),
            explain=True,
        ),
        Scenario(
            "e_open_module_priority_first",
            f"open queue, module={module}, priority=P3, sort due, first page",
            keyset(TicketQuery(view="open", module=module, priority=["P3"]), None),
            explain=True,
        ),
        Scenario(
            "e2_all_module_priority_first",
            f"no view, module={module}, priority=P3, sort due, first page",
            keyset(TicketQuery(module=module, priority=["P3"]), None),
            explain=True,
        ),
        Scenario(
            "f_all_created_deep_keyset",
            "all, sort created, page after row N/2 (keyset cursor)",
            keyset(oldest, cursor_after(oldest, deep)),
            explain=True,
            info={"depth_rows": deep},
        ),
        Scenario(
            "f_all_created_deep_offset",
            "all, sort created, OFFSET N/2 (baseline)",
            offset(oldest, deep),
            info={"depth_rows": deep},
        ),
        Scenario(
            "g_open_due_deep_keyset",
            "open queue, sort due, page after half the open tickets (keyset cursor)",
            keyset(open_due, cursor_after(open_due, open_deep)),
            explain=True,
            info={"depth_rows": open_deep},
        ),
        Scenario(
            "g_open_due_deep_offset",
            "open queue, sort due, OFFSET half the open tickets (baseline)",
            offset(open_due, open_deep),
            info={"depth_rows": open_deep},
        ),
        Scenario(
            "h_all_updated_first",
            "all, sort updated, first page",
            keyset(TicketQuery(view="all", sort="updated"), None),
            explain=True,
        ),
    ]
    scenarios += view_scenarios(size, keyset)
    return {s.name: s for s in scenarios}


# Every named view of the API, first page and the page after half its tickets, as its user.
VIEW_SCENARIOS = [
    "unassigned",
    "mine",
    "my_group",
    "breaching_soon",
    "breached",
    "waiting",
    "reported_by_me",
    "resolved",
]


def selective_search_term() -> str:
    """A ticket reference code that only ticket 7 has in its description (both sizes)."""
    import hashlib

    return hashlib.md5(b"7").hexdigest()[:10].upper()


def view_scenarios(size: Size, keyset) -> list[Scenario]:
    from app.core.pagination import encode_cursor
    from app.incidents.queues import TicketQuery, build_query

    session = size.session
    out = []
    for view in VIEW_SCENARIOS:
        who = size.requester if view == "reported_by_me" else size.actor
        query = TicketQuery(view=view, sort="due")
        total = session.scalar(
            sa.select(sa.func.count()).select_from(build_query(session, who, query).subquery())
        )
        session.close()
        out.append(
            Scenario(
                f"v_{view}_first",
                f"view {view}, sort due, first page ({total:,} tickets in the view)",
                keyset(query, None, who),
                explain=True,
                info={"view_tickets": total},
            )
        )
        if total > PAGE:
            cursor = encode_cursor(_row_at(session, who, query, total // 2))
            out.append(
                Scenario(
                    f"v_{view}_deep",
                    f"view {view}, sort due, page after half of it (keyset cursor)",
                    keyset(query, cursor, who),
                    explain=True,
                    info={"view_tickets": total, "depth_rows": total // 2},
                )
            )
    term = selective_search_term()
    out.append(
        Scenario(
            "s_selective_search",
            f"q={term} (a reference code in one description), no view, first page",
            keyset(TicketQuery(q=term), None),
            explain=True,
        )
    )
    out.append(
        Scenario(
            "s_reference_search",
            "q=INC-000007 (a ticket reference), no view, first page",
            keyset(TicketQuery(q="INC-000007"), None),
            explain=True,
        )
    )
    return out


# Measured together, round-robin across both sizes, so that background load hits them alike.
MEASURE_GROUPS = [
    ["a_open_due_first"],
    ["b0_all_newest_first", "b_all_newest_deep_keyset", "c_all_newest_deep_offset"],
    ["d_search_invoice_first"],
    ["e_open_module_priority_first"],
    ["e2_all_module_priority_first"],
    ["f_all_created_deep_keyset", "f_all_created_deep_offset"],
    ["g_open_due_deep_keyset", "g_open_due_deep_offset"],
    ["h_all_updated_first"],
    *[[f"v_{view}_first", f"v_{view}_deep"] for view in VIEW_SCENARIOS],
    ["s_selective_search", "s_reference_search"],
]
PAIRS = [  # (keyset deep page, OFFSET baseline, first page of the same list)
    ("b_all_newest_deep_keyset", "c_all_newest_deep_offset", "b0_all_newest_first"),
    ("f_all_created_deep_keyset", "f_all_created_deep_offset", None),
    ("g_open_due_deep_keyset", "g_open_due_deep_offset", "a_open_due_first"),
]


def measure_interleaved(
    members: list[tuple[str, Any, Callable[[], Any]]], args, returned: dict | None = None
) -> dict[str, dict[str, Any]]:
    """Time each ``(key, session, run)`` like a request: fresh session state, one transaction.

    Members run round-robin (rotating who goes first) until each has ``args.runs`` samples,
    or has spent ``args.cap`` seconds with at least 5 samples. ``returned`` receives what each
    member's last run returned (the page's ticket ids).
    """
    for _, session, run in members:
        for _ in range(args.warmup):
            started = time.perf_counter()
            session.close()
            run()
            if time.perf_counter() - started > 2.0:
                break  # a slow query needs no second warm-up
        session.close()
    samples: dict[str, list[float]] = {key: [] for key, _, _ in members}
    spent = dict.fromkeys(samples, 0.0)
    active = list(members)
    turn = 0
    while active:
        shift = turn % len(active)
        for key, session, run in active[shift:] + active[:shift]:
            session.close()
            session.connection()  # checkout (and pool pre-ping) outside the timed region
            started = time.perf_counter_ns()
            ids = run()
            elapsed = time.perf_counter_ns() - started
            session.close()
            if returned is not None:
                returned[key] = ids
            samples[key].append(elapsed / 1e6)
            spent[key] += elapsed / 1e9
        active = [
            m
            for m in active
            if len(samples[m[0]]) < args.runs
            and not (spent[m[0]] > args.cap and len(samples[m[0]]) >= 5)
        ]
        turn += 1
    out = {}
    for key, values in samples.items():
        out[key] = summarise(values)
        if len(values) < args.runs:
            out[key]["capped"] = f"stopped after {len(values)} runs (--cap {args.cap:g}s)"
    return out


def _print_result(key: str, r: dict[str, Any]) -> None:
    print(
        f"  {key:44s} median {r['median_ms']:10.2f} ms  p95 {r['p95_ms']:10.2f} ms"
        f"  ({r['runs']} runs)",
        flush=True,
    )


@contextmanager
def loaded_size(label: str, n: int, url: str, now: datetime) -> Iterator[Size]:
    """Migrate, seed and load one database; yield it ready for measurement."""
    from flask_migrate import upgrade
    from sqlalchemy.orm import Session

    from app import create_app
    from app.core.db import db
    from app.identity.models import User

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "REDIS_URL": None})
    with app.app_context():
        engine = db.engine
        session = None
        try:
            started = time.perf_counter()
            upgrade()
            migrate_s = round(time.perf_counter() - started, 2)
            ids = seed_reference_data(db.session)
            db.session.remove()
            data = load_tickets(engine, n, now, ids)
            data["timings"] = {"migrate_s": migrate_s, **data["timings"]}
            print(
                f"  {label}: {data['tickets']:,} tickets ({data['open_tickets']:,} open, "
                f"{data['table_size_mb']} MB) loaded: "
                + ", ".join(f"{k}={v}" for k, v in data["timings"].items()),
                flush=True,
            )
            session = Session(engine)
            actor = session.scalar(sa.select(User).where(User.email == ids["agent_email"]))
            actor.role_pairs()  # loaded once; the actor is then used detached, like a request's
            requester = session.scalar(sa.select(User).where(User.id == ids["requesters"][0]))
            requester.role_pairs()
            session.close()
            size = Size(label, n, engine, session, actor, data, requester)
            size.scenarios = build_scenarios(size)
            yield size
        finally:
            if session is not None:
                session.close()
            db.session.remove()
            engine.dispose()


def check_same_rows(size: Size, returned: dict[str, list[int]]) -> dict[str, bool]:
    """The keyset page and the OFFSET page at the same depth hold the same tickets."""
    checks = {}
    for keyset_name, offset_name, _ in PAIRS:
        keyset_ids = returned[f"{size.label}:{keyset_name}"]
        same = len(keyset_ids) == PAGE and keyset_ids == returned[f"{size.label}:{offset_name}"]
        checks[f"{keyset_name} == {offset_name}"] = same
        if not same:
            raise AssertionError(f"{size.label}: {keyset_name} and {offset_name} differ")
    for search in ("s_selective_search", "s_reference_search"):
        found = returned.get(f"{size.label}:{search}")
        checks[f"{search} finds ticket 7 only"] = found == [7]
        if found != [7]:
            raise AssertionError(f"{size.label}: {search} returned {found}, not [7]")
    return checks


# -- what-if: candidate changes, tried in the throwaway database only -------------------------

NEVER_SQL = "'9999-12-31 00:00:00+00'::timestamptz"  # app.incidents.queues.NEVER
OPEN_SQL = ", ".join(f"'{s}'" for s in OPEN)
WHAT_IF_INDEXES = {
    "open_due_partial": (
        f"CREATE INDEX bench_open_due ON tickets ((coalesce(next_due_at, {NEVER_SQL})), id) "
        f"WHERE status IN ({OPEN_SQL})"
    ),
    "due_all": f"CREATE INDEX bench_due ON tickets ((coalesce(next_due_at, {NEVER_SQL})), id)",
    "updated": "CREATE INDEX bench_updated ON tickets (updated_at, id)",
}


def what_if(size: Size, args) -> dict[str, Any]:
    from sqlalchemy import tuple_
    from sqlalchemy.orm import selectinload

    from app.core.pagination import encode_cursor, paginate
    from app.incidents.models import Ticket
    from app.incidents.queues import TicketQuery, build_query, sort_keys

    session, actor, engine = size.session, size.actor, size.engine
    out: dict[str, Any] = {
        "note": "NOT the app's code or schema: candidate changes, measured to size a fix",
        "scenarios": {},
        "plans": {},
        "indexes": {},
        "same_rows_checks": {},
    }

    def row_value(query: TicketQuery, position: int) -> Callable[[], list[int]]:
        """The page after ``position`` with ``(k1, k2) > (v1, v2)`` instead of the OR form."""
        values = _row_at(session, actor, query, position)

        def run() -> list[int]:
            stmt, keys = _ordered(session, actor, query)
            left, right = tuple_(*[k.expression for k in keys]), tuple_(*values)
            after = left < right if keys[0].descending else left > right
            rows = list(session.scalars(stmt.where(after).limit(PAGE + 1)))
            return [t.id for t in rows[:PAGE]]

        return run

    def selectin(query: TicketQuery, cursor: str | None) -> Callable[[], list[int]]:
        """The same page loading module/reporter/assignee/group by IN queries, not 8 JOINs."""

        def run() -> list[int]:
            stmt = build_query(session, actor, query).options(
                selectinload(Ticket.module),
                selectinload(Ticket.reporter),
                selectinload(Ticket.assignee),
                selectinload(Ticket.group),
            )
            return [
                t.id for t in paginate(session, stmt, sort_keys(query.sort), cursor, PAGE).items
            ]

        return run

    def compare(pairs: list[tuple[str, str, Callable[[], Any]]], plans: bool = True) -> None:
        """Measure candidates interleaved with today's scenario they replace."""
        members, seen = [], set()
        for baseline, name, run in pairs:
            if baseline not in seen:
                members.append((f"today:{baseline}", session, size.scenarios[baseline].run))
                seen.add(baseline)
            members.append((name, session, run))
            same = run() == size.scenarios[baseline].run()
            session.close()
            out["same_rows_checks"][f"{name} == {baseline}"] = same
            if not same:
                raise AssertionError(f"what-if {name} returns other rows than {baseline}")
        for key, result in measure_interleaved(members, args).items():
            out["scenarios"][key] = result
            _print_result(f"what-if {key}", result)
        if plans:
            for _, name, run in pairs:
                out["plans"][name] = explain(session, engine, run)

    def build_index(name: str) -> None:
        with engine.connect() as conn:
            conn.execute(sa.text("SET statement_timeout = 0"))
            started = time.perf_counter()
            conn.execute(sa.text(WHAT_IF_INDEXES[name]))
            conn.execute(sa.text("ANALYZE tickets"))
            conn.commit()
        out["indexes"][name] = {
            "ddl": WHAT_IF_INDEXES[name],
            "build_s": round(time.perf_counter() - started, 2),
        }
        print(f"  what-if index {name} built in {out['indexes'][name]['build_s']} s", flush=True)

    deep = size.data["tickets"] // 2
    open_deep = max(1, size.data["open_tickets"] // 2)
    newest = TicketQuery(view="all", sort="-created")
    open_due = TicketQuery(view="open", sort="due")
    deep_cursor = encode_cursor(_row_at(session, actor, newest, deep))
    compare(
        [
            ("b0_all_newest_first", "selectin:b0_all_newest_first", selectin(newest, None)),
            (
                "b_all_newest_deep_keyset",
                "selectin:b_all_newest_deep_keyset",
                selectin(newest, deep_cursor),
            ),
        ]
    )
    compare(
        [
            (
                "f_all_created_deep_keyset",
                "row_value:f_all_created_deep_keyset",
                row_value(TicketQuery(view="all", sort="created"), deep),
            )
        ]
    )

    # Index candidates change every later query, so "today" is the main measurement above.
    def after_index(names: list[str], extra: dict[str, Callable[[], Any]] | None = None) -> None:
        members = [(f"{index}+{n}", session, size.scenarios[n].run) for n in names]
        members += [(key, session, run) for key, run in (extra or {}).items()]
        for key, result in measure_interleaved(members, args).items():
            out["scenarios"][key] = result
            _print_result(f"what-if {key}", result)
        for key, _, run in members:
            out["plans"][key] = explain(session, engine, run)

    index = "open_due_partial"
    build_index(index)
    due_rv = row_value(open_due, open_deep)
    same = due_rv() == size.scenarios["g_open_due_deep_keyset"].run()
    session.close()
    out["same_rows_checks"]["row_value:g_open_due_deep_keyset == g_open_due_deep_keyset"] = same
    if not same:
        raise AssertionError("what-if row_value:g_open_due_deep_keyset returns other rows")
    after_index(
        ["a_open_due_first", "g_open_due_deep_keyset", "e_open_module_priority_first"],
        {f"{index}+row_value:g_open_due_deep_keyset": due_rv},
    )
    index = "due_all"
    build_index(index)
    after_index(["d_search_invoice_first", "e2_all_module_priority_first"])
    index = "updated"
    build_index(index)
    after_index(["h_all_updated_first"])
    return out


# -- report ---------------------------------------------------------------------------------


def compute_ratios(result: dict[str, Any]) -> dict[str, Any]:
    small, large = result["sizes"]["small"], result["sizes"]["large"]

    def stat(size: dict[str, Any], name: str, which: str) -> float | None:
        return size["scenarios"].get(name, {}).get(which)

    def both(a: tuple[dict, str], b: tuple[dict, str]) -> dict[str, float | None]:
        return {
            w.removesuffix("_ms"): ratio(stat(*a, w), stat(*b, w)) for w in ("median_ms", "p95_ms")
        }

    ratios: dict[str, Any] = {
        "keyset_over_offset_at_depth": {},
        "deep_over_first_page": {},
        "large_over_small": {},
    }
    for keyset_name, offset_name, first_name in PAIRS:
        for label, size in (("large", large), ("small", small)):
            ratios["keyset_over_offset_at_depth"][f"{keyset_name} / {offset_name} @{label}"] = both(
                (size, keyset_name), (size, offset_name)
            )
            if first_name:
                ratios["deep_over_first_page"][f"{keyset_name} / {first_name} @{label}"] = both(
                    (size, keyset_name), (size, first_name)
                )
    for name in large["scenarios"]:
        ratios["large_over_small"][name] = both((large, name), (small, name))
    what = result.get("what_if")
    if what:
        ratios["what_if_over_today"] = {}
        for key in what["scenarios"]:
            if key.startswith("today:"):
                continue
            if key.startswith(("selectin:", "row_value:")):
                base = ("what_if", "today:" + key.split(":", 1)[1])
            else:
                base = ("large", key.split("+", 1)[1].removeprefix("row_value:"))
            base_result = (what if base[0] == "what_if" else large)["scenarios"][base[1]]
            ratios["what_if_over_today"][key] = {
                "baseline": f"{base[0]}:{base[1]}",
                "median": ratio(what["scenarios"][key]["median_ms"], base_result["median_ms"]),
                "p95": ratio(what["scenarios"][key]["p95_ms"], base_result["p95_ms"]),
            }
    headline = ratios["keyset_over_offset_at_depth"][
        "b_all_newest_deep_keyset / c_all_newest_deep_offset @large"
    ]["median"]
    ratios["headline"] = {
        "tickets_large_over_small": round(large["data"]["tickets"] / small["data"]["tickets"], 1),
        "deep_page_keyset_over_offset_large": headline,
        "deep_page_offset_slower_by": round(1 / headline, 1) if headline else None,
        "deep_page_keyset_large_over_small": ratios["large_over_small"]["b_all_newest_deep_keyset"][
            "median"
        ],
        "deep_page_offset_large_over_small": ratios["large_over_small"]["c_all_newest_deep_offset"][
            "median"
        ],
        "deep_over_first_page_keyset_large": ratios["deep_over_first_page"][
            "b_all_newest_deep_keyset / b0_all_newest_first @large"
        ]["median"],
        "open_queue_first_page_large_over_small": ratios["large_over_small"]["a_open_due_first"][
            "median"
        ],
        "views_and_searches_large_over_small_worst": max(
            (
                (value["median"], name)
                for name, value in ratios["large_over_small"].items()
                if name.startswith(("a_", "g_open_due_deep_keyset", "v_", "s_"))
                and value["median"] is not None
            ),
            default=None,
        ),
    }
    return ratios


def plan_line(name: str, plan: dict[str, Any]) -> str:
    access = ", ".join(
        f"{a['node']}{' using ' + a['index'] if a['index'] else ''}" for a in plan["tickets_access"]
    )
    if plan["sorts"]:
        sort = f"then {plan['sorts'][0]['method']} of {plan['sorts'][0]['rows_sorted']:,} rows"
    else:
        sort = "no sort (the index gives the order)"
    return (
        f"{name}: {access or 'no tickets access'}; {plan['tickets_rows_read']:,} ticket rows "
        f"read for one page; {sort}; planning {plan['planning_ms']} ms, execution "
        f"{plan['execution_ms']} ms"
        + ("; SEQ SCAN on tickets" if plan["seq_scan_on_tickets"] else "")
    )


def findings(result: dict[str, Any]) -> list[str]:
    """Facts read off the large-size plans (no verdict on wall-clock time)."""
    large = result["sizes"]["large"]
    notes = [plan_line(name, plan) for name, plan in large["plans"].items()]
    plans = [
        p
        for size in result["sizes"].values()
        for p in size["plans"].values()
        if p["execution_ms"] < 50
    ]
    slow_planning = [p for p in plans if p["planning_ms"] > p["execution_ms"]]
    if plans:
        notes.append(
            f"planning outweighs execution in {len(slow_planning)} of {len(plans)} page queries "
            f"(both sizes) that execute in under 50 ms; median planning "
            f"{statistics.median(p['planning_ms'] for p in plans):.1f} ms, median execution "
            f"{statistics.median(p['execution_ms'] for p in plans):.1f} ms"
        )
    return notes


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:.3f}{unit}" if abs(value) < 0.1 else f"{value:,.2f}{unit}"


def table(result: dict[str, Any]) -> str:
    small, large = result["sizes"]["small"], result["sizes"]["large"]
    ns, nl = small["data"]["tickets"], large["data"]["tickets"]
    lines = [
        f"| scenario | {ns:,}: median / p95 ms | {nl:,}: median / p95 ms | large/small (median) |",
        "|---|---:|---:|---:|",
    ]
    for name, r in large["scenarios"].items():
        sm = small["scenarios"].get(name, {})
        lines.append(
            f"| `{name}` {r['title']} | {fmt(sm.get('median_ms'))} / {fmt(sm.get('p95_ms'))} "
            f"| {fmt(r['median_ms'])} / {fmt(r['p95_ms'])}{' *' if 'capped' in r else ''} "
            f"| {fmt(result['ratios']['large_over_small'][name]['median'], 'x')} |"
        )
    return "\n".join(lines)


def markdown(result: dict[str, Any]) -> str:
    small, large = result["sizes"]["small"], result["sizes"]["large"]
    h = result["ratios"]["headline"]
    env = result["environment"]
    parts = [
        "# queue_scale: the support queues at scale",
        "",
        f"Generated by `python -m benchmarks queue_scale` on {result['started_at']}: "
        f"{env['cpus']} CPUs, {env['postgresql'].split(' on ')[0]}, total runtime "
        f"{result['total_runtime_s']:.0f} s. Each number is the median (p95) of repeated warm "
        "calls of `app.incidents.queues.list_ticket_rows(..., limit=25)` (the API's path: the "
        "page, its people, links and ratings), "
        "or of the same SELECT with OFFSET for the baselines; both sizes are measured "
        "interleaved. Only ratios are meaningful across machines.",
        "",
        "## Headline",
        "",
        f"- Page at row {large['data']['tickets'] // 2:,} of {large['data']['tickets']:,} "
        f"(all tickets, newest first): keyset / OFFSET = "
        f"**{fmt(h['deep_page_keyset_over_offset_large'])}** (OFFSET "
        f"{fmt(h['deep_page_offset_slower_by'])}x slower); deep keyset page / first page = "
        f"**{fmt(h['deep_over_first_page_keyset_large'])}**.",
        f"- {h['tickets_large_over_small']:g}x more tickets: that deep page large/small = "
        f"**{fmt(h['deep_page_keyset_large_over_small'])}** with keyset, "
        f"**{fmt(h['deep_page_offset_large_over_small'])}** with OFFSET.",
        f"- Default queue (open, by SLA due), first page, large/small = "
        f"**{fmt(h['open_queue_first_page_large_over_small'])}**.",
        f"- Worst large/small over every queue view's first and deep page and the selective "
        f"searches: **{fmt((h['views_and_searches_large_over_small_worst'] or [None])[0])}** "
        f"(`{(h['views_and_searches_large_over_small_worst'] or [None, '-'])[1]}`).",
        "",
        "## Scenarios (`*` = stopped early by `--cap`)",
        "",
        table(result),
        "",
        "## Keyset / OFFSET at the same depth (median)",
        "",
    ]
    for key, value in result["ratios"]["keyset_over_offset_at_depth"].items():
        parts.append(f"- `{key}`: {fmt(value['median'])}")
    parts += ["", "## Deep page / first page of the same list (median)", ""]
    for key, value in result["ratios"]["deep_over_first_page"].items():
        parts.append(f"- `{key}`: {fmt(value['median'])}")
    parts += ["", f"## Plans at {large['data']['tickets']:,} tickets (EXPLAIN ANALYZE)", ""]
    parts += [f"- {line}" for line in result["findings"]]
    what = result.get("what_if")
    if what:
        parts += [
            "",
            "## What-if: candidate changes, tried only in the throwaway database",
            "",
            "| candidate | median / p95 ms | vs today (median ratio) | baseline |",
            "|---|---:|---:|---|",
        ]
        for key, r in what["scenarios"].items():
            if key.startswith("today:"):
                continue
            cmp = result["ratios"]["what_if_over_today"][key]
            parts.append(
                f"| `{key}` | {fmt(r['median_ms'])} / {fmt(r['p95_ms'])} "
                f"| {fmt(cmp['median'], 'x')} | `{cmp['baseline']}` |"
            )
        parts += ["", "Indexes tried:", ""]
        parts += [
            f"- `{name}` ({info['build_s']} s to build): `{info['ddl']}`"
            for name, info in what["indexes"].items()
        ]
        parts += ["", "Their plans:", ""]
        parts += [f"- {plan_line(name, plan)}" for name, plan in what["plans"].items()]
    parts += [
        "",
        "## Data",
        "",
        f"- small: {small['data']['tickets']:,} tickets ({small['data']['open_tickets']:,} open);"
        f" large: {large['data']['tickets']:,} tickets ({large['data']['open_tickets']:,} open, "
        f"{large['data']['matching_invoice']:,} matching 'invoice'), "
        f"{large['data']['table_size_mb']} MB with indexes.",
        f"- large load timings (s): {large['data']['timings']}",
        f"- statuses (large): {large['data']['by_status']}",
        "",
    ]
    return "\n".join(parts)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks queue_scale",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tickets", type=int, default=DEFAULT_TICKETS)
    parser.add_argument("--baseline-tickets", type=int, default=DEFAULT_BASELINE)
    parser.add_argument("--runs", type=int, default=30, help="timed runs per scenario")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs per scenario first")
    parser.add_argument(
        "--cap",
        type=float,
        default=30.0,
        help="seconds after which a scenario stops repeating (it keeps at least 5 runs)",
    )
    parser.add_argument(
        "--what-if",
        dest="what_if",
        action="store_true",
        help="also run the candidate index / query experiments (their indexes are in the "
        "schema since migration 0005, so they now compare like with like)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def _terminate(signum, frame):  # so that the finally blocks drop the databases
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.baseline_tickets < 1000 or args.tickets < args.baseline_tickets:
        print("need 1000 <= --baseline-tickets <= --tickets", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    began = time.perf_counter()
    started_at = datetime.now(UTC)
    now = started_at.replace(minute=0, second=0, microsecond=0)
    result: dict[str, Any] = {
        "benchmark": "queue_scale",
        "started_at": started_at.isoformat(timespec="seconds"),
        "config": {
            "tickets": args.tickets,
            "baseline_tickets": args.baseline_tickets,
            "runs": args.runs,
            "warmup": args.warmup,
            "cap_s": args.cap,
            "page_size": PAGE,
            "random_seed": SEED,
            "data_anchor": now.isoformat(),
            "history_days": HISTORY_DAYS,
        },
        "environment": server_environment(),
        "sizes": {},
    }
    with ExitStack() as stack:
        sizes: dict[str, Size] = {}
        for label, n in (("small", args.baseline_tickets), ("large", args.tickets)):
            url = stack.enter_context(own_database(label))
            sizes[label] = stack.enter_context(loaded_size(label, n, url, now))
        scenario_results: dict[str, dict[str, Any]] = {label: {} for label in sizes}
        returned: dict[str, list[int]] = {}
        print("-- measuring (both sizes interleaved)", flush=True)
        for group in MEASURE_GROUPS:
            members = [
                (f"{label}:{name}", size.session, size.scenarios[name].run)
                for name in group
                for label, size in sizes.items()
                if name in size.scenarios  # a view may be too small for a deep page
            ]
            for key, timing in measure_interleaved(members, args, returned).items():
                label, name = key.split(":", 1)
                scenario = sizes[label].scenarios[name]
                scenario_results[label][name] = {"title": scenario.title, **scenario.info, **timing}
                _print_result(key, timing)
        print("-- plans and row checks", flush=True)
        for label, size in sizes.items():
            result["sizes"][label] = {
                "data": size.data,
                "scenarios": {name: scenario_results[label][name] for name in size.scenarios},
                "plans": {
                    name: explain(size.session, size.engine, s.run)
                    for name, s in size.scenarios.items()
                    if s.explain
                },
                "same_rows_checks": check_same_rows(size, returned),
            }
        if args.what_if:
            print("-- what-if (large database only)", flush=True)
            result["what_if"] = what_if(sizes["large"], args)
    result["ratios"] = compute_ratios(result)
    result["findings"] = findings(result)
    result["total_runtime_s"] = round(time.perf_counter() - began, 1)
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")

    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "queue_scale.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    (args.output / "queue_scale.md").write_text(markdown(result))
    print()
    print(table(result))
    print()
    for key, value in result["ratios"]["headline"].items():
        print(f"{key}: {value}")
    for line in result["findings"]:
        print("-", line)
    print(f"total runtime {result['total_runtime_s']} s; wrote {args.output}/queue_scale.json, .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
