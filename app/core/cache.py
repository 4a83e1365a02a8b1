"""Process-local caches of what rarely changes, never stale after a change in any process.

What every request reads and almost nothing writes (modules, calendars and their holidays, SLA
policies, an API token's holder and roles) is kept in memory per process, in *namespaces*
(``"catalogue"``, ``"identity"``). Domains declare which models feed a namespace with
:func:`watch`; any ORM write to such a model (flush, or an ORM bulk INSERT/UPDATE/DELETE) bumps
that namespace's generation in ``cache_generations``, in the writer's own transaction. Readers
read every generation once per session (one small SELECT: a request's or a job's session) and
drop what they stored under an older one, so a committed change is seen by every process from
its next request on, and a rolled-back change by nobody. A session reads them again after it
committed a change of its own, after a rollback, and when its reading is over a second old (a
long-lived session, e.g. a CLI loop, never serves values older than that).

A transaction that itself changed a namespace reads around the cache (it may see its own
uncommitted change, which must not leak to other requests). Values are stored per database
engine, so two applications in one process (tests) never share entries. Writes that bypass
the ORM must call :func:`invalidate` in their transaction.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import String, event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from app.core.db import Base

T = TypeVar("T")

# An entry count past which a namespace starts again from empty (a bound, not a policy).
MAX_ENTRIES = 10_000
# How long a session may go on trusting the generations it read (when it changed nothing).
GENERATIONS_MAX_AGE = 1.0
_GENERATIONS_KEY = "steward.cache_generations"
_SPACES_KEY = "steward.cache_spaces"
_CHANGED_KEY = "steward.cache_changed"
_BUMPED_KEY = "steward.cache_bumped"


class CacheGeneration(Base):
    """How many committed changes a cache namespace has seen (compared, never interpreted)."""

    __tablename__ = "cache_generations"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation: Mapped[int] = mapped_column(default=0)


_WATCHED: dict[type, str] = {}


def watch(model: type, namespace: str) -> None:
    """Any ORM write to ``model`` makes the cached values of ``namespace`` stale."""
    _WATCHED[model] = namespace


class _Namespace:
    __slots__ = ("generation", "values")

    def __init__(self) -> None:
        self.generation: int | None = None
        self.values: dict[Hashable, Any] = {}


_stores: weakref.WeakKeyDictionary[Engine, dict[str, _Namespace]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _namespace(session: Session, name: str) -> _Namespace:
    spaces = session.info.get(_SPACES_KEY)
    if spaces is None:
        engine = session.get_bind()
        engine = getattr(engine, "engine", engine)
        with _lock:
            spaces = _stores.setdefault(engine, {})
        session.info[_SPACES_KEY] = spaces
    space = spaces.get(name)
    if space is None:
        with _lock:
            space = spaces.setdefault(name, _Namespace())
    return space


def generations(session: Session) -> dict[str, int]:
    """Every namespace's generation, as last read by ``session`` (see the module docstring)."""
    known = session.info.get(_GENERATIONS_KEY)
    now = time.monotonic()
    if known is None or now - known[0] > GENERATIONS_MAX_AGE:
        rows = session.execute(select(CacheGeneration.name, CacheGeneration.generation))
        known = (now, {name: generation for name, generation in rows})
        session.info[_GENERATIONS_KEY] = known
    return known[1]


def cached(session: Session, namespace: str, key: Hashable, load: Callable[[], T]) -> T:
    """The value of ``key`` in ``namespace``: from memory if still current, else ``load()``.

    ``load`` runs in ``session`` and must return something immutable (it is shared by every
    request of the process); ``None`` is not stored, so unknown keys cannot fill the cache.
    """
    if namespace in session.info.get(_CHANGED_KEY, ()):
        return load()
    current = generations(session).get(namespace, 0)
    space = _namespace(session, namespace)
    if space.generation != current:
        space.values = {}
        space.generation = current
    values = space.values
    try:
        return values[key]
    except KeyError:
        pass
    value = load()
    if value is not None:
        if len(values) >= MAX_ENTRIES:
            values.clear()
        values[key] = value
    return value


def invalidate(session: Session, namespace: str) -> None:
    """Make ``namespace`` stale for every process once ``session``'s transaction commits."""
    session.info.setdefault(_CHANGED_KEY, set()).add(namespace)
    bumped = session.info.setdefault(_BUMPED_KEY, set())
    if namespace in bumped:
        return
    bumped.add(namespace)
    connection = session.connection()
    table = CacheGeneration.__table__
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = insert(table).values(name=namespace, generation=1)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.name], set_={"generation": table.c.generation + 1}
    )
    connection.execute(statement)


@event.listens_for(Session, "after_flush")
def _changes_in_flush(session: Session, flush_context) -> None:
    # After the flush's own statements (its lists still name what it wrote): the generation
    # row is the transaction's last write, so its lock is held for the shortest time.
    touched = {
        _WATCHED[type(obj)]
        for objects in (session.new, session.dirty, session.deleted)
        for obj in objects
        if type(obj) in _WATCHED
    }
    for namespace in touched:
        invalidate(session, namespace)


@event.listens_for(Session, "do_orm_execute")
def _changes_in_bulk_statements(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    namespace = _WATCHED.get(mapper.class_) if mapper is not None else None
    if namespace is not None:
        invalidate(state.session, namespace)


@event.listens_for(Session, "after_commit")
def _forget_after_commit(session: Session) -> None:
    if session.info.pop(_BUMPED_KEY, None):  # this session changed what others cache: re-read
        session.info.pop(_GENERATIONS_KEY, None)
    session.info.pop(_CHANGED_KEY, None)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    for key in (_GENERATIONS_KEY, _CHANGED_KEY, _BUMPED_KEY):
        session.info.pop(key, None)
