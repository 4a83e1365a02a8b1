"""Indicator work the workers run: today every few minutes, the days whose inputs changed, and
yesterday once it is over.

A run recomputes whole days (``compute.recompute``), so a job that runs twice, or two jobs that
overlap, leave the same snapshots. What changed is read from the last finished run: tickets
touched since it started (their creation, first response, resolution and closing days),
enhancements released since, and the usage days the ERP sent events for.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.clock import utcnow
from app.core.schedule import Periodic
from app.enhancements.models import Enhancement
from app.incidents.models import Satisfaction, Ticket
from app.indicators import compute
from app.indicators.models import IndicatorRun
from app.usage import service as usage_service

# windows that carry a change forward: a day's usage and tickets count in the 30 days after it
FORWARD_DAYS = 29


def _config_int(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


def last_run_start(session: Session, *reasons: str) -> datetime | None:
    """When the last finished run (of these reasons, or any) started."""
    query = select(IndicatorRun.started_at).where(IndicatorRun.finished_at.is_not(None))
    if reasons:
        query = query.where(IndicatorRun.reason.in_(reasons))
    return session.scalar(query.order_by(IndicatorRun.started_at.desc()).limit(1))


def _day(instant: datetime | None) -> date | None:
    return instant.astimezone(UTC).date() if instant is not None else None


def _usage_marks(session: Session) -> list[usage_service.ChangedDay]:
    """The usage days whose rollup changed and that no recomputation has consumed yet."""
    return usage_service.changed_days_since(session)


def changed_days(
    session: Session,
    since: datetime | None,
    today: date,
    usage_days: Iterable[date] = (),
) -> set[date]:
    """The days whose indicators may differ from their snapshots since ``since`` (plus the
    usage days the usage domain reports changed)."""
    oldest = today - timedelta(days=_config_int("INDICATOR_LOOKBACK_DAYS", 35))
    sources: set[date] = {today}
    if since is not None:
        # only what happened since: a timestamp set before ``since`` is already counted
        tickets = session.execute(
            select(
                Ticket.created_at, Ticket.first_response_at, Ticket.resolved_at, Ticket.closed_at
            ).where(Ticket.updated_at >= since)
        )
        for row in tickets:
            sources.update(_day(at) for at in row if at is not None and at >= since)
        ratings = select(Satisfaction.created_at).where(Satisfaction.created_at >= since)
        sources.update(_day(at) for at in session.scalars(ratings))
        released = select(Enhancement.released_at).where(Enhancement.released_at >= since)
        sources.update(_day(at) for at in session.scalars(released))
    sources.update(usage_days)
    days: set[date] = set()
    for source in sources:
        if source is None or source > today:
            continue
        first = max(source, oldest)
        last = min(source + timedelta(days=FORWARD_DAYS), today)
        days.update(compute.days_between(first, last) if first <= last else [])
    return days


def recompute_recent(session: Session) -> int:
    """Recompute today and every day whose inputs changed since the last run."""
    today = utcnow().date()
    since = last_run_start(session)
    marks = _usage_marks(session)
    days = changed_days(session, since, today, (mark.day for mark in marks))
    run = compute.recompute(session, days, reason="recent")
    usage_service.consume(session, marks)  # same transaction: a day is never dropped unseen
    return run.days


def finalise_yesterday(session: Session) -> int:
    """Once a day, after midnight UTC: recompute yesterday now that it is over, and the week
    before it (a reopened ticket changes the backlog of the days since its resolution)."""
    now = utcnow()
    midnight = datetime.combine(now.date(), time(0), tzinfo=UTC)
    done = last_run_start(session, "nightly")
    if done is not None and done >= midnight:
        return 0
    yesterday = now.date() - timedelta(days=1)
    week = yesterday - timedelta(days=_config_int("INDICATOR_NIGHTLY_DAYS", 7))
    return compute.recompute(session, compute.days_between(week, yesterday), reason="nightly").days


PERIODIC = [
    Periodic("app.indicators.jobs.recompute_recent", 300, timeout=600),
    Periodic("app.indicators.jobs.finalise_yesterday", 3600, timeout=600),
]
