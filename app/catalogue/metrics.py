"""Calendar gauges for Prometheus: when each calendar's holidays end, and whether that is soon."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time

from prometheus_client.core import Metric
from sqlalchemy import select

from app.catalogue.models import BusinessCalendar
from app.core.db import db
from app.core.metrics import gauge


def collect_calendar_gauges() -> Iterable[Metric]:
    """``steward_calendar_holidays_end_timestamp_seconds`` and ``..._ending_soon`` by calendar
    (a handful of calendars; their holidays are loaded with them)."""
    end = gauge(
        "steward_calendar_holidays_end_timestamp_seconds",
        "End of the last holiday a business calendar knows of (Unix time).",
        ["calendar"],
    )
    soon = gauge(
        "steward_calendar_holidays_ending_soon",
        "Whether a calendar's holidays end within 60 days (1) or not (0).",
        ["calendar"],
    )
    for calendar in db.session.scalars(select(BusinessCalendar).order_by(BusinessCalendar.code)):
        until = calendar.holidays_until
        if until is not None:
            day_after = datetime.combine(until, time(0), tzinfo=UTC).timestamp() + 86400
            end.add_metric([calendar.code], day_after)
        soon.add_metric([calendar.code], 1 if calendar.holidays_ending_soon else 0)
    yield end
    yield soon


SCRAPE_COLLECTORS = (collect_calendar_gauges,)
