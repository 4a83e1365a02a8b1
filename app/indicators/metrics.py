"""Indicator gauges for Prometheus: the latest snapshot of each indicator, overall and per
module, and when snapshots were last computed (to alert on staleness).

Read from the snapshots of the latest computed day through the unique (key, day, dimension)
index, a few hundred rows at most, and kept for a few seconds per process: a scrape never
computes an indicator.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from prometheus_client.core import Metric
from sqlalchemy import select

from app.catalogue.models import Module
from app.core.db import db
from app.core.metrics import gauge
from app.indicators.models import IndicatorSnapshot
from app.indicators.registry import all_indicators

# how long one process reuses what it read (scrapes come every 15 s or so)
CACHE_SECONDS = 10.0
OVERALL = "all"

_lock = threading.Lock()
Latest = tuple[list[tuple[str, str, float]], dict[str, float]]
_cached: dict[str, tuple[float, Latest]] = {}


def _read_latest() -> Latest:
    """Values of the latest computed day (overall and per module) and, per indicator, when
    its latest snapshot was computed."""
    session = db.session
    keys = [i.key for i in all_indicators()]
    latest_day = session.scalar(
        select(IndicatorSnapshot.day)
        .where(IndicatorSnapshot.key == keys[0], IndicatorSnapshot.dimension == "overall")
        .order_by(IndicatorSnapshot.day.desc())
        .limit(1)
    )
    values: list[tuple[str, str, float]] = []
    computed: dict[str, float] = {}
    if latest_day is None:
        return values, computed
    rows = session.execute(
        select(
            IndicatorSnapshot.key,
            Module.code,
            IndicatorSnapshot.value,
            IndicatorSnapshot.computed_at,
        )
        .outerjoin(Module, Module.id == IndicatorSnapshot.module_id)
        .where(
            IndicatorSnapshot.key.in_(keys),
            IndicatorSnapshot.day == latest_day,
            IndicatorSnapshot.priority.is_(None),
        )
    )
    for key, code, value, computed_at in rows:
        if value is not None:
            values.append((key, code or OVERALL, float(value)))
        computed[key] = max(computed.get(key, 0.0), computed_at.timestamp())
    return values, computed


def _latest() -> Latest:
    name = str(db.engine.url)
    now = time.monotonic()
    with _lock:
        hit = _cached.get(name)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
    latest = _read_latest()
    with _lock:
        _cached[name] = (now, latest)
    return latest


def forget_cached() -> None:
    """Drop what this process read (after a recompute in the same process, and in tests)."""
    with _lock:
        _cached.clear()


def collect_indicator_gauges() -> Iterable[Metric]:
    """``steward_indicator_value{key, module}`` and
    ``steward_indicator_last_computed_timestamp_seconds{indicator}``."""
    values, computed = _latest()
    value = gauge(
        "steward_indicator_value",
        "Latest daily snapshot of an indicator (module 'all' is overall); see docs/indicators.md.",
        ["key", "module"],
    )
    for key, module, number in values:
        value.add_metric([key, module], number)
    yield value
    stamp = gauge(
        "steward_indicator_last_computed_timestamp_seconds",
        "When the latest snapshot of an indicator was computed (Unix time).",
        ["indicator"],
    )
    for key, at in computed.items():
        stamp.add_metric([key], at)
    yield stamp


SCRAPE_COLLECTORS = (collect_indicator_gauges,)
