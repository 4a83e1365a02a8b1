"""The identity housekeeping the scheduler runs: old login attempts are forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.core.runner import run_job
from app.core.schedule import periodic_jobs
from app.identity.models import LoginAttempt

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_login_attempts_older_than_30_days_are_forgotten(db_session, frozen_clock):
    frozen_clock(NOW)
    for age in (timedelta(days=31), timedelta(days=29), timedelta(minutes=5)):
        db_session.add(LoginAttempt(email="rita@example.com", attempted_at=NOW - age))
    db_session.commit()

    removed = run_job("app.identity.jobs.prune_login_attempts")

    assert removed == 1
    db_session.expire_all()
    kept = db_session.scalars(select(LoginAttempt.attempted_at).order_by(LoginAttempt.id))
    assert list(kept) == [NOW - timedelta(days=29), NOW - timedelta(minutes=5)]


def test_the_purge_is_on_the_schedule_every_hour(app):
    [entry] = [e for e in periodic_jobs(app) if e.job.startswith("app.identity.")]

    assert entry.job == "app.identity.jobs.prune_login_attempts"
    assert entry.every_seconds == 3600
