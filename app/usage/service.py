"""Usage events: who may send them, how a batch is checked and stored, and what readers get.

Ingestion (``ingest_batch``): each event of a batch is checked on its own (an object with
``event_id``, ``user``, ``module``, ``action`` and ``occurred_at``; a known module; an ISO 8601
time with its UTC offset); a wrong one is rejected with its 0-based index and a reason while the
others are stored. An ``event_id`` seen before (in the batch or in any earlier batch) is a
duplicate and changes nothing, so resending a batch is safe. The ERP account is compared
case-insensitively (stored lower-cased). The raw events, their daily rollup (account x module x
UTC day: events, first and last time), the accounts seen and the days that changed are written
in the caller's transaction (``app/usage/ingest.py``).

Readers of the rollup (indicators, access reviews) recompute only the days that changed::

    changed = changed_days_since(session)          # every day not consumed yet, oldest first
    recompute(day for day in changed)               # the reader's own work
    consume(session, changed)                       # in the same transaction, then commit

``consume`` forgets a day only if it did not change again after it was read, so a batch that
lands during the recomputation is never lost: the day is handed out again next time.
``changed_days_since(session, since)`` narrows the list to days changed at or after ``since``.

Raw events are kept ``USAGE_RETENTION_DAYS`` (``prune_events``); the rollup is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from app.catalogue.models import Module
from app.catalogue.service import module_refs
from app.core import audit
from app.core.clock import utcnow
from app.core.edge import is_clean_text
from app.core.errors import N_, KnownMessages
from app.core.jsonio import loads
from app.core.pagination import Page, SortKey, paginate
from app.core.permissions import Permission, can, require
from app.identity.models import User
from app.usage.ingest import EventRow, store_events
from app.usage.models import UsageAccount, UsageChangedDay, UsageDaily, UsageEvent, UsageImport

# The documented limit of one request (413 beyond): the ERP sends at least 10,000 per batch.
MAX_BATCH_EVENTS = 25_000
# Events are written in chunks of this many (bounded statement size and memory).
STORE_CHUNK = 10_000
DEFAULT_RETENTION_DAYS = 400
FIELDS = ("event_id", "user", "module", "action", "occurred_at")
MAX_LENGTHS = {"event_id": 128, "user": 320, "module": 16, "action": 120}
REJECTS_KEPT = 1_000  # rejected lines an import keeps for its report


@dataclass
class Rejection:
    index: int
    reason: str


@dataclass
class IngestResult:
    """What became of a batch: new events, duplicates, and the rejected positions."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def add(self, other: IngestResult) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected.extend(other.rejected)


# --- who may send events --------------------------------------------------------------------


def require_ingest(actor: Any) -> None:
    """Service accounts whose token carries ``usage:ingest``, and admins (a back-fill).

    ``None`` is Steward itself (the command line, the demo data), as everywhere else.
    Only a service account may use the ``usage:ingest`` scope: a person's token issued with
    it grants nothing here. An admin needs no such scope: whoever may mint the ERP's token
    (``token:manage``) may as well send the events themselves.
    """
    if actor is None:
        return
    if getattr(actor, "is_service_account", False):
        require(actor, Permission.USAGE_INGEST)
        return
    require(actor, Permission.TOKEN_MANAGE)


def may_ingest(actor: Any) -> bool:
    """Whether ``require_ingest`` lets ``actor`` through (for pages that offer the form)."""
    if getattr(actor, "is_service_account", False):
        return can(actor, Permission.USAGE_INGEST)
    return can(actor, Permission.TOKEN_MANAGE)


# --- checking events ------------------------------------------------------------------------


def parse_time(value: str) -> datetime | None:
    """An ISO 8601 timestamp with a UTC offset, in UTC; None for anything else."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:  # fromisoformat gives a fixed offset or none at all
        return None
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 moved across midnight
        return None


def check_event(item: Any, modules: Mapping[str, int]) -> EventRow | str:
    """The stored form of one event, or why it is rejected."""
    # The usual event (five ASCII strings, nothing blank, a known module code as sent) is
    # checked in a few comparisons; anything else takes the careful path, which says why.
    if type(item) is dict:
        event_id, user, module, action, occurred = (
            item.get("event_id"),
            item.get("user"),
            item.get("module"),
            item.get("action"),
            item.get("occurred_at"),
        )
        if (
            type(event_id) is str
            and type(user) is str
            and type(module) is str
            and type(action) is str
            and type(occurred) is str
            and len(event_id) <= _MAX_EVENT_ID
            and len(user) <= _MAX_USER
            and len(action) <= _MAX_ACTION
        ):
            joined = event_id + user + module + action + occurred
            module_id = modules.get(module)
            if module_id is not None and joined.isascii() and "\x00" not in joined:
                event_id, user, action = event_id.strip(), user.strip(), action.strip()
                moment = parse_time(occurred.strip())
                if event_id and user and action and moment is not None:
                    return EventRow(event_id, user.lower(), module_id, action, moment)
    return _check_carefully(item, modules)


_MAX_EVENT_ID, _MAX_USER, _MAX_ACTION = (MAX_LENGTHS[n] for n in ("event_id", "user", "action"))


# Why a line is rejected: the API's contract answers these in English, pages read them in the
# reader's language (``REJECTIONS.in_words``).
NOT_AN_OBJECT = N_("not a JSON object")
NOT_VALID_JSON = N_("not valid JSON")
MISSING_FIELD = N_("missing field '{name}'")
NOT_A_STRING = N_("field '{name}' must be a string")
TOO_LONG = N_("field '{name}' is longer than {limit} characters")
BAD_CHARACTER = N_("field '{name}' holds a character that is not allowed")
UNKNOWN_MODULE = N_("unknown module '{module}'")
BAD_TIME = N_("occurred_at is not an ISO 8601 timestamp with a UTC offset")
NOT_A_CSV_ROW = N_("not a CSV row: {problem}")
REJECTIONS = KnownMessages(
    (
        NOT_AN_OBJECT,
        NOT_VALID_JSON,
        MISSING_FIELD,
        NOT_A_STRING,
        TOO_LONG,
        BAD_CHARACTER,
        UNKNOWN_MODULE,
        BAD_TIME,
        NOT_A_CSV_ROW,
    )
)


def _check_carefully(item: Any, modules: Mapping[str, int]) -> EventRow | str:
    if not isinstance(item, dict):
        return NOT_AN_OBJECT
    for name in FIELDS:
        value = item.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return MISSING_FIELD.format(name=name)
        if not isinstance(value, str):
            return NOT_A_STRING.format(name=name)
        if name in MAX_LENGTHS and len(value) > MAX_LENGTHS[name]:
            return TOO_LONG.format(name=name, limit=MAX_LENGTHS[name])
    # one check of the five values together (the common case is plain ASCII: no encoding)
    joined = "".join([item[name] for name in FIELDS])
    if "\x00" in joined or not (joined.isascii() or is_clean_text(joined)):
        bad = next(n for n in FIELDS if not is_clean_text(item[n]))
        return BAD_CHARACTER.format(name=bad)
    module_id = modules.get(item["module"].strip().upper())
    if module_id is None:
        return UNKNOWN_MODULE.format(module=item["module"][:16])
    occurred_at = parse_time(item["occurred_at"].strip())
    if occurred_at is None:
        return BAD_TIME
    return EventRow(
        event_id=item["event_id"].strip(),
        account=item["user"].strip().lower(),
        module_id=module_id,
        action=item["action"].strip(),
        occurred_at=occurred_at,
    )


def known_modules(session: Session) -> dict[str, int]:
    """Module code -> id, inactive modules included (their history is still history)."""
    return {m.code.upper(): m.id for m in module_refs(session)}


NOT_JSON = object()  # an NDJSON line that does not parse


def ndjson_items(lines: Iterable[bytes], *, long_numbers: bool | None = None) -> Iterator[Any]:
    """The events of an NDJSON body, one per non-blank line; ``NOT_JSON`` for a bad line.
    ``long_numbers``: what ``has_long_numbers`` says of the whole body, if known."""
    for line in lines:
        if not line.strip():
            continue
        try:
            yield loads(line, long_numbers=long_numbers)
        except (ValueError, RecursionError):
            yield NOT_JSON


def ingest_batch(session: Session, actor: Any, items: Sequence[Any]) -> IngestResult:
    """Check and store one batch (see the module docstring); the caller commits."""
    require_ingest(actor)
    modules = known_modules(session)
    result = IngestResult()
    seen: set[str] = set()
    rows: list[EventRow] = []
    for offset, item in enumerate(items):
        checked = NOT_VALID_JSON if item is NOT_JSON else check_event(item, modules)
        if isinstance(checked, str):
            result.rejected.append(Rejection(offset, checked))
        elif checked.event_id in seen:
            result.duplicates += 1
        else:
            seen.add(checked.event_id)
            rows.append(checked)
    now = utcnow()
    rows.sort(key=lambda r: r.event_id)  # one lock order for concurrent batches
    for start in range(0, len(rows), STORE_CHUNK):
        chunk = rows[start : start + STORE_CHUNK]
        new = store_events(session, chunk, now)
        result.accepted += new
        result.duplicates += len(chunk) - new
    return result


# --- days whose rollup changed ----------------------------------------------------------------


@dataclass(frozen=True)
class ChangedDay:
    """A UTC day whose rollup changed, at which version of its changes."""

    day: date
    version: int
    changed_at: datetime


def changed_days_since(session: Session, since: datetime | None = None) -> list[ChangedDay]:
    """The days whose rollup changed and were not consumed yet, oldest day first.

    With ``since``, only the days whose last change happened at or after it.
    """
    stmt = select(UsageChangedDay.day, UsageChangedDay.version, UsageChangedDay.changed_at)
    if since is not None:
        stmt = stmt.where(UsageChangedDay.changed_at >= since)
    return [ChangedDay(*row) for row in session.execute(stmt.order_by(UsageChangedDay.day))]


def consume(session: Session, changed: Iterable[ChangedDay]) -> int:
    """Forget the days a reader has recomputed, unless they changed again since it read them.

    Returns how many days were forgotten; the caller commits with its recomputation.
    """
    marks = list(changed)
    forgotten = 0
    for start in range(0, len(marks), 500):
        chunk = marks[start : start + 500]
        result = session.execute(
            delete(UsageChangedDay).where(
                or_(
                    *(
                        and_(UsageChangedDay.day == m.day, UsageChangedDay.version == m.version)
                        for m in chunk
                    )
                )
            )
        )
        forgotten += result.rowcount or 0
    return forgotten


# --- retention ------------------------------------------------------------------------------


def prune_events(
    session: Session,
    retention_days: int,
    *,
    now: datetime | None = None,
    chunk: int = 50_000,
    budget: int = 1_000_000,
) -> int:
    """Delete raw events older than ``retention_days`` (the rollup stays); returns how many.

    Deletes in chunks of ``chunk`` so that no statement holds millions of row locks, and at
    most ``budget`` per call: a first run on years of history spreads over several runs.
    """
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    deleted = 0
    while deleted < budget:
        size = min(chunk, budget - deleted)
        ids = select(UsageEvent.id).where(UsageEvent.occurred_at < cutoff).limit(size)
        result = session.execute(delete(UsageEvent).where(UsageEvent.id.in_(ids)))
        count = result.rowcount or 0
        deleted += count
        if count < size:
            break
    return deleted


# --- ERP accounts Steward does not know ---------------------------------------------------------


@dataclass
class UnknownAccount:
    account: str
    first_seen_at: datetime
    last_seen_at: datetime
    events: int
    modules: list[dict[str, Any]]


UNKNOWN_ORDER = [
    SortKey(UsageAccount.last_seen_at, lambda a: a.last_seen_at, descending=True),
    SortKey(UsageAccount.account, lambda a: a.account, descending=True),
]


def unknown_accounts(
    session: Session, actor: Any, *, cursor: str | None, limit: int
) -> Page[UnknownAccount]:
    """ERP accounts that sent usage but match no Steward user (by email, any case),
    most recently seen first, with their events per module."""
    require(actor, Permission.USAGE_VIEW)
    known = select(User.id).where(func.lower(User.email) == UsageAccount.account)
    stmt = select(UsageAccount).where(~known.exists())
    page = paginate(session, stmt, UNKNOWN_ORDER, cursor, limit)
    per_module: dict[str, list[dict[str, Any]]] = {}
    if page.items:
        rows = session.execute(
            select(UsageDaily.account, Module.code, func.sum(UsageDaily.events))
            .join(Module, Module.id == UsageDaily.module_id)
            .where(UsageDaily.account.in_([a.account for a in page.items]))
            .group_by(UsageDaily.account, Module.code)
            .order_by(UsageDaily.account, Module.code)
        )
        for account, code, events in rows:
            per_module.setdefault(account, []).append({"module": code, "events": int(events)})
    items = [
        UnknownAccount(
            account=a.account,
            first_seen_at=a.first_seen_at,
            last_seen_at=a.last_seen_at,
            events=int(a.events),
            modules=per_module.get(a.account, []),
        )
        for a in page.items
    ]
    return Page(items=items, next_cursor=page.next_cursor)


# --- CSV back-fill ------------------------------------------------------------------------------


def record_import(
    session: Session, actor: Any, filename: str, lines: int, result: IngestResult
) -> UsageImport:
    """Keep what a CSV back-fill did (and its first rejected lines), audited."""
    record = UsageImport(
        created_at=utcnow(),
        created_by_id=getattr(actor, "id", None),
        filename=filename[:255],
        lines=lines,
        accepted=result.accepted,
        duplicates=result.duplicates,
        rejected_count=len(result.rejected),
        rejected=[{"line": r.index, "reason": r.reason} for r in result.rejected[:REJECTS_KEPT]],
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor,
        "usage_import",
        record.id,
        "imported",
        {
            "filename": [None, record.filename],
            "accepted": [None, record.accepted],
            "duplicates": [None, record.duplicates],
            "rejected": [None, record.rejected_count],
        },
    )
    return record


def get_import(session: Session, actor: Any, import_id: int) -> UsageImport | None:
    """A back-fill's report, for whoever may send events."""
    require_ingest(actor)
    return session.get(UsageImport, import_id)


def recent_imports(session: Session, actor: Any, limit: int = 10) -> list[UsageImport]:
    require_ingest(actor)
    return list(
        session.scalars(
            select(UsageImport)
            .order_by(UsageImport.created_at.desc(), UsageImport.id.desc())
            .limit(limit)
        )
    )
