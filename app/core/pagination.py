"""Keyset (cursor) pagination: a page costs the same on row one and on row one million.

A list is ordered by one or more sort keys ending with a unique column (the id). The cursor is
an opaque, URL-safe encoding of the last row's key values; the next page asks for the rows
strictly after it. Sort key expressions must not be NULL (wrap them in ``coalesce``).
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, literal, or_, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement
from sqlalchemy.types import TypeDecorator

from app.core.edge import int_range_of, is_clean_text
from app.core.errors import ValidationFailed

T = TypeVar("T")


@dataclass(frozen=True)
class SortKey:
    """One ordering expression, the attribute that carries its value on a row, and a direction."""

    expression: ColumnElement[Any]
    value_of: Any  # callable(row) -> value
    descending: bool = False


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"t"}:
        moment = datetime.fromisoformat(value["t"])
        # in UTC now, so a forged instant at the edge of the calendar fails here (422)
        return moment.astimezone(UTC) if moment.tzinfo is not None else moment
    return value


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if not isinstance(values, list) or len(values) != size:
            raise ValueError("wrong size")
        return [_decode_value(v) for v in values]
    except (ValueError, TypeError, UnicodeDecodeError, OverflowError) as exc:
        raise _invalid_cursor() from exc


def _invalid_cursor() -> ValidationFailed:
    return ValidationFailed(
        _l("The cursor is not valid."), errors={"cursor": [_l("Not a cursor from this list.")]}
    )


def _fits(key: SortKey, value: Any) -> bool:
    """Whether a decoded cursor value can be compared with ``key`` (forged cursors are 422s)."""
    if value is None or isinstance(value, dict | list):
        return False
    if isinstance(value, str) and not is_clean_text(value):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    sql_type = key.expression.type
    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    try:
        expected = sql_type.python_type
    except NotImplementedError:
        expected = object
    if expected is bool:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if expected is datetime:
        return isinstance(value, datetime) and value.tzinfo is not None
    if expected is int:
        low, high = int_range_of(sql_type)  # a forged value beyond the column is no cursor
        return isinstance(value, int) and low <= value <= high
    if expected in (float, Decimal):
        return isinstance(value, int | float)
    if expected is object:
        return isinstance(value, str | int | float | datetime)
    return isinstance(value, expected)


def _after(keys: list[SortKey], values: list[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the order of ``keys``.

    With one direction for every key this is a row-value comparison, which PostgreSQL turns
    into an index range scan starting at the cursor; mixed directions are spelled out.
    """
    directions = {key.descending for key in keys}
    if len(keys) > 1 and len(directions) == 1:
        left = tuple_(*(key.expression for key in keys))
        right = tuple_(
            *(literal(v, key.expression.type) for key, v in zip(keys, values, strict=True))
        )
        return left < right if directions == {True} else left > right
    clauses = []
    for i, key in enumerate(keys):
        equal_prefix = [keys[j].expression == values[j] for j in range(i)]
        beyond = key.expression < values[i] if key.descending else key.expression > values[i]
        clauses.append(and_(*equal_prefix, beyond))
    return or_(*clauses)


def paginate(
    session: Session,
    stmt: Select,
    keys: list[SortKey],
    cursor: str | None,
    limit: int,
    *,
    rows: bool = False,
) -> Page:
    """Run ``stmt`` ordered by ``keys`` from ``cursor``; return one page and the next cursor.

    The page holds the statement's first column (an ORM entity), or with ``rows`` whole rows
    (for a list that selects plain columns).
    """
    if cursor:
        values = decode_cursor(cursor, len(keys))
        if not all(_fits(key, value) for key, value in zip(keys, values, strict=True)):
            raise _invalid_cursor()
        stmt = stmt.where(_after(keys, values))
    order = [k.expression.desc() if k.descending else k.expression.asc() for k in keys]
    stmt = stmt.order_by(*order).limit(limit + 1)
    found = list(session.execute(stmt).all() if rows else session.scalars(stmt))
    has_more = len(found) > limit
    found = found[:limit]
    next_cursor = None
    if has_more and found:
        next_cursor = encode_cursor([key.value_of(found[-1]) for key in keys])
    return Page(items=found, next_cursor=next_cursor)
