"""Housekeeping every deployment runs: the outbox sweep."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from app.core.outbox import sweep
from app.core.schedule import Periodic


def sweep_outbox(session: Session) -> int:
    """Re-send outbox rows that never reached the queue (e.g. Redis was down)."""
    return sweep(session, current_app._get_current_object())


PERIODIC = [Periodic("app.core.jobs.sweep_outbox", 60, queue="high", timeout=120)]
