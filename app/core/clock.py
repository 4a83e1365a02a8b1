"""The one source of "now" for Steward: timezone-aware UTC.

Tests freeze it with time-machine; ``replaying(instant)`` sets it explicitly for code that
re-enacts history through the real services (the demo generator).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_replay_at: ContextVar[datetime | None] = ContextVar("steward_replay_at", default=None)


def utcnow() -> datetime:
    """The current instant, timezone-aware in UTC."""
    replay = _replay_at.get()
    return replay if replay is not None else datetime.now(UTC)


@contextmanager
def replaying(instant: datetime) -> Iterator[None]:
    """Make ``utcnow()`` answer ``instant`` inside the block (this context only)."""
    if instant.tzinfo is None:
        raise ValueError("replaying needs a timezone-aware instant")
    token = _replay_at.set(instant.astimezone(UTC))
    try:
        yield
    finally:
        _replay_at.reset(token)
