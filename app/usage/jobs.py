"""Usage work the workers run: pruning raw events past their retention (the rollup stays)."""

from __future__ import annotations

import os

from flask import current_app
from sqlalchemy.orm import Session

from app.core.schedule import Periodic
from app.usage.service import DEFAULT_RETENTION_DAYS, prune_events


def retention_days() -> int:
    """``USAGE_RETENTION_DAYS`` (default 400): how long raw events are kept.

    Read from the app's settings, else from the environment variable of that name.
    """
    configured = current_app.config.get("USAGE_RETENTION_DAYS") or os.environ.get(
        "USAGE_RETENTION_DAYS"
    )
    days = int(configured) if configured else DEFAULT_RETENTION_DAYS
    if days < 1:
        raise ValueError("USAGE_RETENTION_DAYS must be at least 1")
    return days


def prune_usage_events(session: Session) -> int:
    """Delete raw usage events older than the retention; idempotent (a second run finds none)."""
    return prune_events(session, retention_days())


PERIODIC = [Periodic("app.usage.jobs.prune_usage_events", 3600, timeout=600)]
