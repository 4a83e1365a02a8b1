"""Reading indicators: series, latest values, targets and their red/amber/green status.

Everything here reads snapshots written by the computation jobs; nothing computes an indicator
from the source data at read time. Other domains (governance, dashboards) read through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from math import isfinite

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.catalogue.service import module_ref_by_code
from app.core import audit
from app.core.clock import utcnow
from app.core.errors import ValidationFailed
from app.core.etag import etag_for
from app.core.permissions import Permission, Principal, require
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


def target_etag(target: IndicatorTarget) -> str:
    """The ETag of a target (its key, scope and version)."""
    return etag_for("target", f"{target.key}-{target.dimension}", target.version)


def own_target(session: Session, key: str, module_id: int | None = None) -> IndicatorTarget | None:
    """The target set for exactly this scope (no fallback to the overall one)."""
    registry.get(key)
    return session.scalar(
        select(IndicatorTarget).where(
            IndicatorTarget.key == key, IndicatorTarget.dimension == dimension_of(module_id)
        )
    )


def module_id_of(session: Session, code: str | None) -> int | None:
    """The id of the module with this code (None for none); 422 for an unknown code."""
    if code is None or code == "":
        return None
    module = module_ref_by_code(session, code)
    if module is None:
        raise ValidationFailed(
            _l("No module '%(code)s'.", code=code), errors={"module": [_l("Unknown module.")]}
        )
    return module.id


def set_target(
    session: Session,
    actor: Principal | None,
    key: str,
    module_id: int | None,
    *,
    target: float,
    amber: float,
    direction: str,
) -> tuple[IndicatorTarget, bool]:
    """Create or change the target of ``key`` (overall, or for one module), audited.

    Returns the target and whether it was created. The caller checks If-Match when it exists.
    """
    require(actor, Permission.INDICATOR_MANAGE)
    indicator = registry.get(key)
    errors: dict[str, list[str]] = {}
    if direction not in DIRECTIONS:
        errors["direction"] = [_l("One of: %(value)s.", value=", ".join(DIRECTIONS))]
    if not isfinite(target):
        errors["target"] = [_l("A finite number.")]
    if not isfinite(amber) or amber < 0:
        errors["amber"] = [_l("A finite number, zero or more.")]
    if errors:
        raise ValidationFailed(_l("This target is not valid."), errors=errors)
    found = own_target(session, key, module_id)
    values = {"target": float(target), "amber": float(amber), "direction": direction}
    created = found is None
    if created:
        found = IndicatorTarget(
            key=indicator.key, dimension=dimension_of(module_id), module_id=module_id, **values
        )
        session.add(found)
        changes = {name: [None, value] for name, value in values.items()}
    else:
        changes = audit.apply_changes(found, values)
    found.updated_by_id = getattr(actor, "id", None)
    found.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "indicator_target",
        f"{key}:{found.dimension}",
        "target_set" if not created else "target_created",
        changes,
    )
    return found, created


def list_targets(session: Session) -> list[IndicatorTarget]:
    """Every target, by indicator then scope."""
    return list(
        session.scalars(
            select(IndicatorTarget).order_by(IndicatorTarget.key, IndicatorTarget.dimension)
        )
    )


def last_computed_at(session: Session) -> datetime | None:
    """When snapshots were last written (None before the first run)."""
    return session.scalar(select(func.max(IndicatorSnapshot.computed_at)))
