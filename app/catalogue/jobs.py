"""Catalogue work the scheduler runs: keeping every calendar's public holidays imported.

A calendar that follows a country (``country`` set, e.g. by an import) gets that country's
public holidays for the current and the next year. The job runs daily, so a missed first of
January is caught up the next day; it imports a year only when the calendar has no holiday in
it yet, so a public holiday someone removed from an imported year stays removed.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalogue.models import BusinessCalendar
from app.catalogue.service import import_public_holidays
from app.core.clock import utcnow
from app.core.errors import StewardError
from app.core.schedule import Periodic

log = logging.getLogger(__name__)


def missing_holiday_years(calendar: BusinessCalendar, year: int) -> list[int]:
    """Which of ``year`` and the next have no holiday in ``calendar`` yet."""
    known = {holiday.day.year for holiday in calendar.holidays}
    return [y for y in (year, year + 1) if y not in known]


def keep_holidays_imported(session: Session) -> int:
    """Import the missing current and next years of every country calendar; count added."""
    year = utcnow().year
    added = 0
    calendars = session.scalars(
        select(BusinessCalendar)
        .where(BusinessCalendar.country.is_not(None))
        .order_by(BusinessCalendar.code)
    )
    for calendar in calendars:
        years = missing_holiday_years(calendar, year)
        if not years:
            continue
        try:
            added += import_public_holidays(session, None, calendar, calendar.country, years)
        except StewardError as exc:  # e.g. a country the holidays package does not know
            log.warning("calendar %s: holidays for %s not imported: %s", calendar.code, years, exc)
    return added


PERIODIC = [Periodic("app.catalogue.jobs.keep_holidays_imported", 86400)]
