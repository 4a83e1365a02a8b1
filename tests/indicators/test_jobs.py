"""The periodic jobs: today and what changed since the last run; yesterday once, at night."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from app.indicators import jobs
from app.indicators.models import IndicatorRun, IndicatorSnapshot


def _days(session) -> set[date]:
    return set(session.scalars(select(IndicatorSnapshot.day).distinct()))


def _runs(session, reason: str) -> int:
    return session.scalar(select(func.count(IndicatorRun.id)).where(IndicatorRun.reason == reason))


def test_the_first_run_computes_today(app, db_session, finance, frozen_clock):
    frozen_clock(datetime(2026, 11, 4, 10, 0, tzinfo=UTC))
    jobs.recompute_recent(db_session)
    db_session.commit()
    assert _days(db_session) == {date(2026, 11, 4)}


def test_late_usage_events_recompute_their_day_once(app, db_session, finance, admin, frozen_clock):
    from app.usage import service as usage

    frozen_clock(datetime(2026, 11, 4, 10, 0, tzinfo=UTC))
    late = {
        "event_id": "late-1",
        "user": "ann@example.com",
        "module": finance.code,
        "action": "post_invoice",
        "occurred_at": "2026-10-28T09:00:00+01:00",
    }
    assert usage.ingest_batch(db_session, admin, [late]).accepted == 1
    db_session.commit()

    jobs.recompute_recent(db_session)
    db_session.commit()

    dau = db_session.scalar(
        select(IndicatorSnapshot.value).where(
            IndicatorSnapshot.key == "dau",
            IndicatorSnapshot.day == date(2026, 10, 28),
            IndicatorSnapshot.dimension == "overall",
        )
    )
    assert dau == 1.0
    assert usage.changed_days_since(db_session) == []  # consumed with the recomputation


def test_a_ticket_resolved_since_the_last_run_recomputes_its_day(
    app, db_session, make_ticket, agent, frozen_clock
):
    from app.incidents.transitions import perform

    frozen_clock(datetime(2026, 11, 3, 23, 50, tzinfo=UTC))
    ticket = make_ticket()
    jobs.recompute_recent(db_session)
    db_session.commit()
    frozen_clock(datetime(2026, 11, 3, 23, 55, tzinfo=UTC))
    perform(db_session, agent, ticket, "resolve", resolution_code="fixed", resolution_note="ok")
    db_session.commit()

    frozen_clock(datetime(2026, 11, 4, 0, 5, tzinfo=UTC))
    since = jobs.last_run_start(db_session)
    assert date(2026, 11, 3) in jobs.changed_days(db_session, since, date(2026, 11, 4))
    jobs.recompute_recent(db_session)
    db_session.commit()

    resolved = db_session.scalar(
        select(IndicatorSnapshot.value).where(
            IndicatorSnapshot.key == "tickets_resolved",
            IndicatorSnapshot.day == date(2026, 11, 3),
            IndicatorSnapshot.dimension == "overall",
        )
    )
    assert resolved == 1.0


def test_yesterday_is_recomputed_once_after_midnight(app, db_session, finance, frozen_clock):
    frozen_clock(datetime(2026, 11, 4, 0, 30, tzinfo=UTC))
    assert jobs.finalise_yesterday(db_session) > 0
    db_session.commit()
    frozen_clock(datetime(2026, 11, 4, 1, 30, tzinfo=UTC))
    assert jobs.finalise_yesterday(db_session) == 0
    db_session.commit()

    assert _runs(db_session, "nightly") == 1
    assert date(2026, 11, 3) in _days(db_session)
    assert date(2026, 11, 4) not in _days(db_session)


def test_the_jobs_are_scheduled(app):
    from app.core.schedule import periodic_jobs

    paths = {p.job for p in periodic_jobs(app)}
    assert {
        "app.indicators.jobs.recompute_recent",
        "app.indicators.jobs.finalise_yesterday",
    } <= paths
