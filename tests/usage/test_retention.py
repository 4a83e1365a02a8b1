"""Raw events are pruned past USAGE_RETENTION_DAYS by a periodic job; the rollup stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.core.schedule import periodic_jobs
from app.usage.jobs import prune_usage_events, retention_days
from app.usage.models import UsageDaily, UsageEvent
from tests.usage.conftest import event

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def at(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat()


@pytest.fixture
def history(sent, frozen_clock):
    frozen_clock(NOW)
    sent(
        [event(1, occurred_at=at(401)), event(2, occurred_at=at(399)), event(3, occurred_at=at(1))]
    )


def test_events_past_the_retention_are_pruned_and_the_rollup_kept(history, db_session):
    deleted = prune_usage_events(db_session)
    db_session.commit()

    assert deleted == 1
    assert set(db_session.scalars(select(UsageEvent.event_id))) == {"e-2", "e-3"}
    assert db_session.scalar(select(func.sum(UsageDaily.events))) == 3


def test_pruning_twice_changes_nothing_more(history, db_session):
    prune_usage_events(db_session)
    db_session.commit()

    assert prune_usage_events(db_session) == 0


def test_the_retention_is_configured(history, db_session, app):
    app.config["USAGE_RETENTION_DAYS"] = 30

    assert retention_days() == 30
    assert prune_usage_events(db_session) == 2


def test_the_default_retention_is_400_days(app, monkeypatch):
    monkeypatch.delenv("USAGE_RETENTION_DAYS", raising=False)
    app.config.pop("USAGE_RETENTION_DAYS", None)

    with app.app_context():
        assert retention_days() == 400


def test_pruning_is_a_periodic_job(app):
    assert "app.usage.jobs.prune_usage_events" in {p.job for p in periodic_jobs(app)}


def test_a_long_backlog_is_pruned_over_several_runs(history, db_session):
    from app.usage.service import prune_events

    first = prune_events(db_session, 1, chunk=1, budget=1)
    second = prune_events(db_session, 1, chunk=1, budget=5)

    assert (first, second) == (1, 1)
    assert set(db_session.scalars(select(UsageEvent.event_id))) == {"e-3"}
