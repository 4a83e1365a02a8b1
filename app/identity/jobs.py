"""Identity housekeeping the scheduler runs: forgetting old login attempts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.core.clock import utcnow
from app.core.schedule import Periodic
from app.identity.models import LoginAttempt


def prune_login_attempts(session: Session, keep_days: int = 30) -> int:
    """Forget login attempts older than ``keep_days`` (they only serve throttling)."""
    cutoff = utcnow() - timedelta(days=keep_days)
    result = session.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at < cutoff))
    return result.rowcount or 0


PERIODIC = [Periodic("app.identity.jobs.prune_login_attempts", 3600)]
