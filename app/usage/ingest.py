"""Writing a batch of validated usage events: raw rows, daily rollup, accounts, changed days.

One batch is a handful of statements whatever its size, never one per event:

- PostgreSQL: one statement. The batch travels as one JSON parameter that the server turns
  into rows (``json_to_recordset``); a data-modifying CTE inserts the raw events (plainly;
  again with ``ON CONFLICT (event_id) DO NOTHING`` when one was stored before) and returns
  only the rows it inserted, which are grouped per account, module and UTC day and added to
  the rollup (``ON CONFLICT DO UPDATE``: events summed, first/last kept), to the accounts and
  to the days that changed. A resent event is not returned by the insert, so it never counts
  twice, also when two batches carrying it race: the second waits on the unique index, then
  skips it.
- SQLite: the batch goes to a temporary table with ``executemany``; one
  ``INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING`` moves the new events (one
  statement, under SQLite's single writer lock), and the returned rows are rolled up here and
  upserted with ``executemany``.

Rows are written in a fixed order (event id, then rollup key) so that concurrent batches take
their row locks in the same order and do not deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import orjson
from psycopg.types.json import Json
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.types import Date, DateTime, Integer, String


@dataclass(slots=True)  # not frozen: made once per event, where freezing costs 4x
class EventRow:
    """A validated event: account lower-cased, time in UTC."""

    event_id: str
    account: str
    module_id: int
    action: str
    occurred_at: datetime


_PG_INGEST_SQL = """
    WITH batch AS (
        SELECT * FROM json_to_recordset(CAST(:batch AS json))
            AS b(event_id varchar, account varchar, module_id integer, action varchar,
                 occurred_at timestamptz)
    ), inserted AS (
        INSERT INTO usage_events (event_id, account, module_id, action, occurred_at, received_at)
        SELECT event_id, account, module_id, action, occurred_at, :now
        {new_events}
        RETURNING account, module_id, occurred_at
    ), daily AS (
        SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, module_id, account,
               count(*) AS events, min(occurred_at) AS first_at, max(occurred_at) AS last_at
        FROM inserted GROUP BY 1, 2, 3
    ), rolled AS (
        INSERT INTO usage_daily (day, module_id, account, events, first_at, last_at)
        SELECT day, module_id, account, events, first_at, last_at
        FROM daily ORDER BY day, module_id, account
        ON CONFLICT (day, module_id, account) DO UPDATE SET
            events = usage_daily.events + EXCLUDED.events,
            first_at = LEAST(usage_daily.first_at, EXCLUDED.first_at),
            last_at = GREATEST(usage_daily.last_at, EXCLUDED.last_at)
        RETURNING 1
    ), accounts AS (
        INSERT INTO usage_accounts (account, first_seen_at, last_seen_at, events)
        SELECT account, min(first_at), max(last_at), sum(events)
        FROM daily GROUP BY account ORDER BY account
        ON CONFLICT (account) DO UPDATE SET
            first_seen_at = LEAST(usage_accounts.first_seen_at, EXCLUDED.first_seen_at),
            last_seen_at = GREATEST(usage_accounts.last_seen_at, EXCLUDED.last_seen_at),
            events = usage_accounts.events + EXCLUDED.events
        RETURNING 1
    ), days AS (
        INSERT INTO usage_changed_days (day, version, changed_at)
        SELECT DISTINCT day, 1, CAST(:now AS timestamptz) FROM daily ORDER BY day
        ON CONFLICT (day) DO UPDATE SET
            version = usage_changed_days.version + 1,
            changed_at = EXCLUDED.changed_at
        RETURNING 1
    )
    SELECT coalesce(sum(events), 0) FROM daily
"""
_NOW = bindparam("now", type_=DateTime(timezone=True))
# The usual case: a batch of events never seen, inserted plainly (cheaper than ON CONFLICT's
# speculative insertion of every row, and than an anti-join probing the index for each). A
# batch holding an event stored before (a resend) or meanwhile by another transaction fails on
# the unique index, rows sorted by id so at its first such event; it is then written again
# with ON CONFLICT DO NOTHING, which waits for that transaction and skips what is stored.
_PG_INGEST_FAST = text(_PG_INGEST_SQL.format(new_events="FROM batch ORDER BY event_id")).bindparams(
    _NOW
)
_PG_INGEST = text(
    _PG_INGEST_SQL.format(
        new_events="FROM batch ORDER BY event_id ON CONFLICT (event_id) DO NOTHING"
    )
).bindparams(_NOW)


def _store_postgresql(session: Session, rows: Sequence[EventRow], now: datetime) -> int:
    # The batch travels as one JSON text that the server parses (json_to_recordset): much
    # cheaper on the client than five arrays adapted element by element. orjson writes each
    # row as an object of its fields, the times in RFC 3339, straight into the bytes sent.
    batch = Json(rows, dumps=orjson.dumps)
    params = {"batch": batch, "now": now}
    try:
        with session.begin_nested():
            inserted = session.execute(_PG_INGEST_FAST, params).scalar_one()
    except IntegrityError:
        inserted = session.execute(_PG_INGEST, params).scalar_one()
    return int(inserted)


# SQLite keeps UTC timestamps as naive text in this one format (SQLAlchemy's, which
# app.core.db.UTCDateTime goes through), so text comparison orders them in time.
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


def _sqlite_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).strftime(_SQLITE_TIME)


_SQLITE_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS usage_batch (event_id TEXT, account TEXT, "
    "module_id INTEGER, action TEXT, occurred_at TEXT)"
)
_SQLITE_MOVE = text(
    "INSERT INTO usage_events (event_id, account, module_id, action, occurred_at, received_at) "
    "SELECT event_id, account, module_id, action, occurred_at, :now FROM temp.usage_batch "
    "WHERE true ORDER BY event_id ON CONFLICT (event_id) DO NOTHING "
    "RETURNING account, module_id, occurred_at"
)
_SQLITE_DAILY = text(
    "INSERT INTO usage_daily (day, module_id, account, events, first_at, last_at) "
    "VALUES (:day, :module_id, :account, :events, :first_at, :last_at) "
    "ON CONFLICT (day, module_id, account) DO UPDATE SET "
    "events = usage_daily.events + excluded.events, "
    "first_at = min(usage_daily.first_at, excluded.first_at), "
    "last_at = max(usage_daily.last_at, excluded.last_at)"
)
_SQLITE_ACCOUNTS = text(
    "INSERT INTO usage_accounts (account, first_seen_at, last_seen_at, events) "
    "VALUES (:account, :first_at, :last_at, :events) "
    "ON CONFLICT (account) DO UPDATE SET "
    "first_seen_at = min(usage_accounts.first_seen_at, excluded.first_seen_at), "
    "last_seen_at = max(usage_accounts.last_seen_at, excluded.last_seen_at), "
    "events = usage_accounts.events + excluded.events"
)
_SQLITE_DAYS = text(
    "INSERT INTO usage_changed_days (day, version, changed_at) VALUES (:day, 1, :now) "
    "ON CONFLICT (day) DO UPDATE SET version = usage_changed_days.version + 1, "
    "changed_at = excluded.changed_at"
)


def _store_sqlite(session: Session, rows: Sequence[EventRow], now: datetime) -> int:
    session.execute(text(_SQLITE_STAGING))
    session.execute(text("DELETE FROM temp.usage_batch"))
    session.execute(
        text(
            "INSERT INTO temp.usage_batch VALUES "
            "(:event_id, :account, :module_id, :action, :occurred_at)"
        ),
        [
            {
                "event_id": r.event_id,
                "account": r.account,
                "module_id": r.module_id,
                "action": r.action,
                "occurred_at": _sqlite_time(r.occurred_at),
            }
            for r in rows
        ],
    )
    stamp = _sqlite_time(now)
    inserted = session.execute(_SQLITE_MOVE, {"now": stamp}).all()
    session.execute(text("DELETE FROM temp.usage_batch"))
    daily = rollup_of((account, module_id, at) for account, module_id, at in inserted)
    write_sqlite_rollup(session, daily, stamp)
    return len(inserted)


def rollup_of(rows) -> dict[tuple[str, int, str], list]:
    """(day, module_id, account) -> [events, first, last] of ``(account, module_id, time)``
    rows whose time is SQLite's text form (its first ten characters are the UTC day)."""
    daily: dict[tuple[str, int, str], list] = {}
    for account, module_id, at in rows:
        key = (at[:10], module_id, account)
        entry = daily.get(key)
        if entry is None:
            daily[key] = [1, at, at]
        else:
            entry[0] += 1
            entry[1] = min(entry[1], at)
            entry[2] = max(entry[2], at)
    return daily


def write_sqlite_rollup(
    session: Session, daily: dict[tuple[str, int, str], list], stamp: str
) -> None:
    """Add ``daily`` (see ``rollup_of``) to the rollup, the accounts and the changed days."""
    if not daily:
        return
    keys = sorted(daily)
    session.execute(
        _SQLITE_DAILY,
        [
            {
                "day": day,
                "module_id": module_id,
                "account": account,
                "events": daily[(day, module_id, account)][0],
                "first_at": daily[(day, module_id, account)][1],
                "last_at": daily[(day, module_id, account)][2],
            }
            for day, module_id, account in keys
        ],
    )
    accounts: dict[str, list] = {}
    for (_day, _module, account), (events, first, last) in daily.items():
        seen = accounts.setdefault(account, [0, first, last])
        seen[0] += events
        seen[1], seen[2] = min(seen[1], first), max(seen[2], last)
    session.execute(
        _SQLITE_ACCOUNTS,
        [
            {"account": a, "events": v[0], "first_at": v[1], "last_at": v[2]}
            for a, v in sorted(accounts.items())
        ],
    )
    session.execute(_SQLITE_DAYS, [{"day": d, "now": stamp} for d in sorted({k[0] for k in keys})])


def store_events(session: Session, rows: Sequence[EventRow], now: datetime) -> int:
    """Write ``rows`` (no event id twice) and their rollup; returns how many were new."""
    if not rows:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        return _store_postgresql(session, rows, now)
    return _store_sqlite(session, rows, now)


@dataclass(frozen=True, slots=True)
class DailyRow:
    """One rollup row written directly (history whose raw events are not kept)."""

    day: date
    module_id: int
    account: str
    events: int
    first_at: datetime
    last_at: datetime


_PG_ROLLUP = text(
    """
    WITH daily AS (
        SELECT * FROM unnest(:days, :module_ids, :accounts, :events, :firsts, :lasts)
            AS d(day, module_id, account, events, first_at, last_at)
    ), rolled AS (
        INSERT INTO usage_daily (day, module_id, account, events, first_at, last_at)
        SELECT day, module_id, account, events, first_at, last_at
        FROM daily ORDER BY day, module_id, account
        ON CONFLICT (day, module_id, account) DO UPDATE SET
            events = usage_daily.events + EXCLUDED.events,
            first_at = LEAST(usage_daily.first_at, EXCLUDED.first_at),
            last_at = GREATEST(usage_daily.last_at, EXCLUDED.last_at)
        RETURNING 1
    ), accounts AS (
        INSERT INTO usage_accounts (account, first_seen_at, last_seen_at, events)
        SELECT account, min(first_at), max(last_at), sum(events)
        FROM daily GROUP BY account ORDER BY account
        ON CONFLICT (account) DO UPDATE SET
            first_seen_at = LEAST(usage_accounts.first_seen_at, EXCLUDED.first_seen_at),
            last_seen_at = GREATEST(usage_accounts.last_seen_at, EXCLUDED.last_seen_at),
            events = usage_accounts.events + EXCLUDED.events
        RETURNING 1
    )
    INSERT INTO usage_changed_days (day, version, changed_at)
    SELECT DISTINCT day, 1, CAST(:now AS timestamptz) FROM daily ORDER BY day
    ON CONFLICT (day) DO UPDATE SET
        version = usage_changed_days.version + 1, changed_at = EXCLUDED.changed_at
    """
).bindparams(
    bindparam("days", type_=ARRAY(Date)),
    bindparam("module_ids", type_=ARRAY(Integer)),
    bindparam("accounts", type_=ARRAY(String)),
    bindparam("events", type_=ARRAY(Integer)),
    bindparam("firsts", type_=ARRAY(DateTime(timezone=True))),
    bindparam("lasts", type_=ARRAY(DateTime(timezone=True))),
    bindparam("now", type_=DateTime(timezone=True)),
)


def add_rollup(session: Session, rows: Sequence[DailyRow], now: datetime) -> None:
    """Add ``rows`` (one per day, module and account) to the rollup, the accounts and the
    changed days, in bulk; for history loaded without its raw events."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            _PG_ROLLUP,
            {
                "days": [r.day for r in rows],
                "module_ids": [r.module_id for r in rows],
                "accounts": [r.account for r in rows],
                "events": [r.events for r in rows],
                "firsts": [r.first_at for r in rows],
                "lasts": [r.last_at for r in rows],
                "now": now,
            },
        )
        return
    daily = {
        (r.day.isoformat(), r.module_id, r.account): [
            r.events,
            _sqlite_time(r.first_at),
            _sqlite_time(r.last_at),
        ]
        for r in rows
    }
    write_sqlite_rollup(session, daily, _sqlite_time(now))
