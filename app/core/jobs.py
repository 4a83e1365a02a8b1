"""Housekeeping jobs every deployment runs: outbox sweep, login-attempt pruning."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.core.clock import utcnow
from app.core.outbox import sweep


def sweep_outbox(session: Session) -> int:
    """Re-send outbox rows that never reached the queue (e.g. Redis was down)."""
    return sweep(session, current_app._get_current_object())


def prune_login_attempts(session: Session, keep_days: int = 30) -> int:
    """Forget login attempts older than ``keep_days`` (they only serve throttling)."""
    from app.identity.models import LoginAttempt

    cutoff = utcnow() - timedelta(days=keep_days)
    result = session.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at < cutoff))
    return result.rowcount or 0
