"""CSV back-fill of usage events: the same checks as the API, read as a stream.

The file has a header naming the columns ``event_id,user,module,action,occurred_at`` (any
order, other columns ignored). It is read in chunks of ``service.STORE_CHUNK`` rows, so a file
of any size holds one chunk in memory; each chunk goes through ``service.ingest_batch``.
Rejected rows are reported by their line number in the file (the header is line 1).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.core.errors import ValidationFailed
from app.usage import service
from app.usage.service import NOT_A_CSV_ROW, IngestResult, Rejection

# a cell larger than this is no usage event (csv's own default is 128 KiB)
csv.field_size_limit(4096)


@dataclass
class ImportProgress:
    lines: int  # the file's lines read so far
    result: IngestResult


def _chunks(rows: Iterable[tuple[int, Any]], size: int) -> Iterator[list[tuple[int, Any]]]:
    chunk: list[tuple[int, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _records(reader: Any) -> Iterator[tuple[int, Any]]:
    """(line number, event or the reason it cannot be one) for each row of ``reader``."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, NOT_A_CSV_ROW.format(problem=exc)
            continue
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue  # a blank line
        yield reader.line_num, {name: row.get(name) for name in service.FIELDS}


def check_header(fieldnames: list[str] | None) -> None:
    missing = [name for name in service.FIELDS if name not in (fieldnames or [])]
    if missing:
        raise ValidationFailed(
            _l("The CSV file's first line must name the columns."),
            errors={"file": [_l("Missing column(s): %(value)s.", value=", ".join(missing))]},
        )


def import_csv(
    session: Session,
    actor: Any,
    lines: Iterable[str],
    *,
    after_chunk: Callable[[ImportProgress], None] | None = None,
) -> tuple[int, IngestResult]:
    """Ingest the CSV ``lines`` (text); returns the number of lines read and the result.

    ``after_chunk`` is called after each chunk is stored (the command line commits there and
    moves its progress bar); the caller commits the rest.
    """
    service.require_ingest(actor)
    reader = csv.DictReader(lines)
    check_header(reader.fieldnames)
    total = IngestResult()
    for chunk in _chunks(_records(reader), service.STORE_CHUNK):
        items = [item for _line, item in chunk]
        # rows csv could not read are rejected here, the others by the service's checks
        unreadable = {i: item for i, item in enumerate(items) if isinstance(item, str)}
        result = service.ingest_batch(
            session, actor, [None if i in unreadable else item for i, item in enumerate(items)]
        )
        for rejection in result.rejected:
            reason = unreadable.get(rejection.index, rejection.reason)
            total.rejected.append(Rejection(chunk[rejection.index][0], reason))
        total.accepted += result.accepted
        total.duplicates += result.duplicates
        if after_chunk is not None:
            after_chunk(ImportProgress(reader.line_num, total))
    return reader.line_num, total
