"""The daily rollup equals a plain Python count of the distinct events, whatever the order,
the duplicates and the time zones they arrive with; the changed days are handed out exactly."""

from __future__ import annotations

import random
import threading
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.usage import service
from app.usage.models import UsageAccount, UsageDaily
from tests.usage.conftest import event

OFFSETS = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]


def generated_events(seed: int, count: int) -> list[dict]:
    """Events around UTC midnights (so offsets move them across days), mixed-case accounts."""
    rng = random.Random(seed)
    start = datetime(2026, 10, 24, tzinfo=UTC)  # a week that spans the end of summer time
    events = []
    for n in range(count):
        day = start + timedelta(days=rng.randrange(8))
        # half the events within a minute of midnight UTC, the rest any time
        if rng.random() < 0.5:
            moment = day + timedelta(seconds=rng.choice([-1, 0, 1, 59, -59]), microseconds=n)
        else:
            moment = day + timedelta(seconds=rng.randrange(86_400), microseconds=n)
        account = rng.choice(["ann@x.test", "bob@x.test", "EXT-0042", "ext-0043"])
        if rng.random() < 0.3:
            account = account.upper()
        events.append(
            event(
                n,
                user=account,
                module=rng.choice(["FIN", "SAL", "hr"]),
                occurred_at=moment.astimezone(rng.choice(OFFSETS)).isoformat(),
            )
        )
    return events


def expected_rollup(events: list[dict]) -> dict[tuple, tuple]:
    """(day, module, account) -> (events, first, last), written the obvious way."""
    distinct = {}
    for e in events:
        distinct.setdefault(e["event_id"], e)
    rollup: dict[tuple, list] = {}
    for e in distinct.values():
        moment = datetime.fromisoformat(e["occurred_at"]).astimezone(UTC)
        key = (moment.date(), e["module"].upper(), e["user"].lower())
        if key in rollup:
            count, first, last = rollup[key]
            rollup[key] = [count + 1, min(first, moment), max(last, moment)]
        else:
            rollup[key] = [1, moment, moment]
    return {k: tuple(v) for k, v in rollup.items()}


def stored_rollup(session, modules) -> dict[tuple, tuple]:
    codes = {m.id: m.code for m in modules.values()}
    session.expire_all()
    return {
        (d.day, codes[d.module_id], d.account): (d.events, d.first_at, d.last_at)
        for d in session.scalars(select(UsageDaily))
    }


def test_rollup_equals_an_independent_count(sent, db_session, modules):
    events = generated_events(seed=7, count=1_500)
    rng = random.Random(8)
    resent = rng.sample(events, 400)  # duplicates across batches
    batches = [events[:600], events[600:] + events[100:150], resent]  # and within one batch
    for batch in batches:
        rng.shuffle(batch)  # out of order
    answers = [sent(batch, ndjson=i % 2 == 1) for i, batch in enumerate(batches)]

    assert sum(a["accepted"] for a in answers) == 1_500
    assert sum(a["duplicates"] for a in answers) == 50 + 400
    assert stored_rollup(db_session, modules) == expected_rollup(events)


def test_accounts_add_up_to_the_rollup(sent, db_session, modules):
    events = generated_events(seed=11, count=500)
    sent(events[:300])
    sent(events[200:], ndjson=True)

    expected: dict[str, list] = {}
    for (_day, _module, account), (count, first, last) in expected_rollup(events).items():
        seen = expected.setdefault(account, [0, first, last])
        seen[0] += count
        seen[1], seen[2] = min(seen[1], first), max(seen[2], last)
    stored = {
        a.account: [a.events, a.first_seen_at, a.last_seen_at]
        for a in db_session.scalars(select(UsageAccount))
    }
    assert stored == expected


def test_a_day_is_placed_by_its_utc_date(sent, db_session, modules):
    sent(
        [
            event(1, occurred_at="2026-11-30T23:30:00-01:00"),  # 00:30 UTC on 1 December
            event(2, occurred_at="2026-12-01T00:59:59+01:00"),  # 23:59:59 UTC on 30 November
        ]
    )

    days = sorted(db_session.scalars(select(UsageDaily.day)))
    assert days == [date(2026, 11, 30), date(2026, 12, 1)]


def test_changed_days_are_handed_out_until_consumed(sent, db_session, modules):
    sent([event(1, occurred_at="2026-11-29T10:00:00Z"), event(2, occurred_at="2026-11-30T10:00Z")])

    changed = service.changed_days_since(db_session)
    assert [c.day for c in changed] == [date(2026, 11, 29), date(2026, 11, 30)]

    assert service.consume(db_session, changed) == 2
    db_session.commit()
    assert service.changed_days_since(db_session) == []


def test_a_day_that_changes_while_read_is_handed_out_again(sent, db_session, modules):
    sent([event(1, occurred_at="2026-11-29T10:00:00Z"), event(2, occurred_at="2026-11-30T10:00Z")])
    read = service.changed_days_since(db_session)
    db_session.commit()

    sent([event(3, occurred_at="2026-11-30T12:00:00Z")])  # lands during the recomputation
    service.consume(db_session, read)
    db_session.commit()

    assert [c.day for c in service.changed_days_since(db_session)] == [date(2026, 11, 30)]


def test_only_duplicates_change_no_day(sent, db_session, modules):
    sent([event(1)])
    service.consume(db_session, service.changed_days_since(db_session))
    db_session.commit()

    sent([event(1)])

    assert service.changed_days_since(db_session) == []


def test_changed_days_since_a_moment(sent, db_session, modules, frozen_clock):
    frozen_clock(datetime(2026, 12, 1, 8, tzinfo=UTC))
    sent([event(1, occurred_at="2026-11-28T10:00:00Z")])
    frozen_clock(datetime(2026, 12, 1, 9, tzinfo=UTC))
    sent([event(2, occurred_at="2026-11-30T10:00:00Z")])

    later = service.changed_days_since(db_session, datetime(2026, 12, 1, 8, 30, tzinfo=UTC))

    assert [c.day for c in later] == [date(2026, 11, 30)]


def test_two_batches_racing_for_one_event_count_it_once(app, backend, sent, db_session, modules):
    """A batch blocked on an event another transaction is storing counts it as a duplicate."""
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: batches cannot race")
    from app.core.db import db

    with app.app_context():
        holder = db.session
        service.ingest_batch(holder, None, [event(1)])  # stored, not committed yet
        outcome: dict = {}

        def second_batch() -> None:
            with app.app_context():
                outcome["result"] = service.ingest_batch(db.session, None, [event(1), event(2)])
                db.session.commit()

        racer = threading.Thread(target=second_batch)
        racer.start()
        racer.join(timeout=2)  # it waits on the unique index of event 1
        assert racer.is_alive()
        holder.commit()
        racer.join(timeout=60)

    result = outcome["result"]
    assert (result.accepted, result.duplicates) == (1, 1)
    db_session.expire_all()
    assert db_session.scalar(select(func.sum(UsageDaily.events))) == 2
