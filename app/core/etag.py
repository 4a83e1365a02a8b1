"""ETags from aggregate versions, and the If-Match check that detects stale writes."""

from __future__ import annotations

from app.core.errors import PreconditionRequired, StaleWrite


def etag_for(kind: str, key: object, version: int) -> str:
    """A strong ETag naming the aggregate and its version (quoted, as HTTP wants)."""
    return f'"{kind}-{key}-v{version}"'


def check_if_match(if_match: str | None, current: str) -> None:
    """428 without If-Match; 412 unless one of the given tags is the current one (or ``*``)."""
    if not if_match:
        raise PreconditionRequired()
    tags = [tag.strip().removeprefix("W/") for tag in if_match.split(",")]
    if "*" in tags or current in tags:
        return
    raise StaleWrite()
