"""The one source of "now" for Steward: timezone-aware UTC, frozen in tests by time-machine."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return datetime.now(UTC)
