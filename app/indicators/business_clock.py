"""Business time in SQL: the SLA clock's business seconds as a subtraction, for aggregations.

Each business calendar in use is laid out once as its working intervals (``CalendarSpan``), in
epoch seconds, each with the working time before it. The business time elapsed at an instant is
then the working time before the last span that started at or before it, plus the part of that
span already elapsed; between two instants, the difference. Spans come from the same
:class:`~app.core.business_time.WorkingCalendar` the SLA clock counts in (holidays and DST
included), so SQL and the clock agree. A calendar's spans are rebuilt when its definition
(time zone, hours, holidays) changes or when a computation needs days they do not cover.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Float, case, delete, func, insert, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from app.catalogue.models import BusinessCalendar, Holiday
from app.catalogue.service import to_working_calendar_parts
from app.indicators.models import CalendarCoverage, CalendarSpan

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# margin of days laid out around what a run asks for, so that the next runs reuse the spans
_MARGIN = timedelta(days=45)


class epoch(FunctionElement):
    """Seconds since 1970-01-01 UTC of a stored timestamp (milliseconds kept)."""

    type = Float()
    inherit_cache = True
    name = "steward_epoch"


@compiles(epoch, "sqlite")
def _epoch_sqlite(element, compiler, **kw) -> str:
    # timestamps are stored as UTC text; julianday keeps milliseconds
    arg = compiler.process(element.clauses, **kw)
    return f"round((julianday({arg}) - 2440587.5) * 86400.0, 3)"


@compiles(epoch, "postgresql")
def _epoch_postgresql(element, compiler, **kw) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"CAST(EXTRACT(EPOCH FROM {arg}) AS DOUBLE PRECISION)"


def epoch_of(instant: datetime) -> float:
    """The epoch seconds of an aware instant (what ``epoch`` answers for a stored one)."""
    return (instant - EPOCH).total_seconds()


def business_elapsed(calendar_id: ColumnElement, instant: ColumnElement) -> ColumnElement:
    """Working seconds of ``calendar_id`` from its first span to ``instant`` (a SQL scalar)."""
    at = epoch(instant)
    span = select(
        CalendarSpan.before_seconds
        + case(
            (at >= CalendarSpan.end_epoch, CalendarSpan.end_epoch - CalendarSpan.start_epoch),
            else_=at - CalendarSpan.start_epoch,
        )
    ).where(CalendarSpan.calendar_id == calendar_id, CalendarSpan.start_epoch <= at)
    latest = span.order_by(CalendarSpan.start_epoch.desc()).limit(1).scalar_subquery()
    return func.coalesce(latest, literal(0.0))


def business_seconds(
    calendar_id: ColumnElement,
    counts_business_hours: ColumnElement,
    start: ColumnElement,
    stop: ColumnElement,
) -> ColumnElement:
    """Business seconds from ``start`` to ``stop``: in the calendar when the clock counts
    business hours and the module has one, elapsed seconds otherwise (24x7)."""
    return case(
        (
            counts_business_hours & calendar_id.is_not(None),
            business_elapsed(calendar_id, stop) - business_elapsed(calendar_id, start),
        ),
        else_=epoch(stop) - epoch(start),
    )


def _fingerprint(calendar: BusinessCalendar, holidays: list[date]) -> str:
    body = json.dumps(
        [calendar.timezone, calendar.working_hours, [d.isoformat() for d in holidays]],
        sort_keys=True,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def ensure_spans(session: Session, first: date, last: date) -> None:
    """Make every calendar's spans cover the local days ``first`` to ``last`` (with margins)."""
    coverage = {c.calendar_id: c for c in session.scalars(select(CalendarCoverage))}
    for calendar in session.scalars(select(BusinessCalendar)):
        holidays = list(
            session.scalars(
                select(Holiday.day).where(Holiday.calendar_id == calendar.id).order_by(Holiday.day)
            )
        )
        fingerprint = _fingerprint(calendar, holidays)
        known = coverage.get(calendar.id)
        if (
            known is not None
            and known.fingerprint == fingerprint
            and known.first_day <= first
            and known.last_day >= last
        ):
            continue
        low = min(first, known.first_day) if known and known.fingerprint == fingerprint else first
        high = max(last, known.last_day) if known and known.fingerprint == fingerprint else last
        _lay_out(session, calendar, holidays, low - _MARGIN, high + _MARGIN, fingerprint, known)


def _lay_out(
    session: Session,
    calendar: BusinessCalendar,
    holidays: list[date],
    first: date,
    last: date,
    fingerprint: str,
    known: CalendarCoverage | None,
) -> None:
    working = to_working_calendar_parts(
        calendar.timezone, calendar.working_hours, frozenset(holidays)
    )
    rows = []
    before = 0.0
    day = first
    while day <= last:
        for start, end in working.working_intervals(day):
            start_s, end_s = epoch_of(start), epoch_of(end)
            rows.append(
                {
                    "calendar_id": calendar.id,
                    "start_epoch": start_s,
                    "end_epoch": end_s,
                    "before_seconds": before,
                }
            )
            before += end_s - start_s
        day += timedelta(days=1)
    session.execute(delete(CalendarSpan).where(CalendarSpan.calendar_id == calendar.id))
    if rows:
        session.execute(insert(CalendarSpan), rows)
    if known is None:
        session.add(
            CalendarCoverage(
                calendar_id=calendar.id, fingerprint=fingerprint, first_day=first, last_day=last
            )
        )
    else:
        known.fingerprint, known.first_day, known.last_day = fingerprint, first, last
    session.flush()
