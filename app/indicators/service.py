"""Reading indicators: series, latest values, targets and their red/amber/green status.

Everything here reads snapshots written by the computation jobs; nothing computes an indicator
from the source data at read time. Other domains (governance, dashboards) read through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.indicators import registry
from app.indicators.models import IndicatorSnapshot, IndicatorTarget, dimension_of

AT_LEAST = "at_least"
AT_MOST = "at_most"
DIRECTIONS = (AT_LEAST, AT_MOST)


@dataclass(frozen=True)
class Point:
    day: date
    value: float | None
    status: str | None
    computed_at: datetime


def status_of(value: float | None, target: IndicatorTarget | None) -> str | None:
    """``green``, ``amber`` or ``red`` against ``target``; None without a target or a value."""
    if target is None or value is None:
        return None
    gap = target.target - value if target.direction == AT_LEAST else value - target.target
    if gap <= 0:
        return "green"
    return "amber" if gap <= target.amber else "red"


def target_for(session: Session, key: str, module_id: int | None = None) -> IndicatorTarget | None:
    """The target of ``key`` for the module, falling back to the overall target."""
    registry.get(key)
    wanted = [dimension_of(module_id)] + (["overall"] if module_id is not None else [])
    rows = {
        t.dimension: t
        for t in session.scalars(
            select(IndicatorTarget).where(
                IndicatorTarget.key == key, IndicatorTarget.dimension.in_(wanted)
            )
        )
    }
    return next((rows[d] for d in wanted if d in rows), None)


def series(
    session: Session,
    key: str,
    *,
    module_id: int | None = None,
    priority: int | None = None,
    start: date | None = None,
    end: date | None = None,
) -> list[Point]:
    """The daily points of ``key`` for one dimension between ``start`` and ``end`` (inclusive)."""
    registry.get(key)
    query = select(
        IndicatorSnapshot.day, IndicatorSnapshot.value, IndicatorSnapshot.computed_at
    ).where(
        IndicatorSnapshot.key == key,
        IndicatorSnapshot.dimension == dimension_of(module_id, priority),
    )
    if start is not None:
        query = query.where(IndicatorSnapshot.day >= start)
    if end is not None:
        query = query.where(IndicatorSnapshot.day <= end)
    target = target_for(session, key, module_id)
    return [
        Point(day, value, status_of(value, target), computed_at)
        for day, value, computed_at in session.execute(query.order_by(IndicatorSnapshot.day))
    ]


def latest(session: Session, key: str, module_id: int | None = None) -> Point | None:
    """The most recent point of ``key`` (overall, or for one module); None before any run."""
    registry.get(key)
    row = session.execute(
        select(IndicatorSnapshot.day, IndicatorSnapshot.value, IndicatorSnapshot.computed_at)
        .where(
            IndicatorSnapshot.key == key,
            IndicatorSnapshot.dimension == dimension_of(module_id),
        )
        .order_by(IndicatorSnapshot.day.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    day, value, computed_at = row
    return Point(day, value, status_of(value, target_for(session, key, module_id)), computed_at)
