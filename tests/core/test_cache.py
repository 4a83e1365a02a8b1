"""The caches of what rarely changes: a committed change is seen by every process at once, an
uncommitted one by nobody else, and a transaction reads the generations once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, update

from app import create_app
from app.catalogue import service as catalogue
from app.catalogue.models import Module
from app.core.db import db


@pytest.fixture
def fin(make_module):
    return make_module("FIN", name="Finance")


@pytest.fixture
def other_process(app):
    """A second application on the same database: its own engine, hence its own caches, as a
    second gunicorn worker has."""
    config = {k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "INSTANCE_PATH")}
    other = create_app({**config, "TESTING": True, "REDIS_URL": None, "SECRET_KEY": "x"})
    yield other
    with other.app_context():
        db.engine.dispose()


def module_name_in(application, code: str = "FIN") -> str:
    with application.app_context():
        return catalogue.module_ref_by_code(db.session, code).name


@contextmanager
def statements(application) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        seen.append(statement)

    with application.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_change_committed_by_one_process_is_read_by_another_at_once(
    app, other_process, fin, db_session
):
    assert module_name_in(other_process) == "Finance"  # cached there now

    catalogue.update_module(db_session, None, fin, name="Finance & Controlling")
    db_session.commit()

    assert module_name_in(other_process) == "Finance & Controlling"


def test_a_change_rolled_back_is_never_served(app, fin, db_session):
    assert module_name_in(app) == "Finance"
    catalogue.update_module(db_session, None, fin, name="Draft name")
    db_session.flush()

    # the changing transaction reads around the cache: it sees its own change...
    assert catalogue.module_ref_by_code(db_session, "FIN").name == "Draft name"
    db_session.rollback()

    # ...which nobody ever sees, in this process or another
    assert module_name_in(app) == "Finance"


def test_an_orm_bulk_update_makes_the_cache_stale_too(app, other_process, fin, db_session):
    assert module_name_in(other_process) == "Finance"

    db_session.execute(update(Module).where(Module.code == "FIN").values(name="Bulk"))
    db_session.commit()

    assert module_name_in(other_process) == "Bulk"


def test_cached_reads_cost_one_small_query_per_transaction(app, fin):
    module_id = fin.id

    def read_all() -> None:
        with app.app_context():
            for _ in range(3):
                catalogue.module_ref_by_code(db.session, "FIN")
                catalogue.sla_targets(db.session)
                catalogue.calendar_of_module(db.session, module_id)

    read_all()  # the first transaction loads them
    with statements(app) as seen:
        read_all()

    assert len(seen) == 1
    assert "cache_generations" in seen[0]


def test_a_new_holiday_applies_to_the_calendar_read_next(
    app, other_process, make_calendar, make_module, db_session
):
    from datetime import date

    calendar = make_calendar("PARIS", holidays=())
    module = make_module("HR", calendar="PARIS")
    with other_process.app_context():
        before = catalogue.calendar_of_module(db.session, module.id)
    assert date(2026, 5, 25) not in before.holidays

    catalogue.add_holiday(db_session, None, calendar, date(2026, 5, 25), "Whit Monday")
    db_session.commit()

    with other_process.app_context():
        after = catalogue.calendar_of_module(db.session, module.id)
    assert date(2026, 5, 25) in after.holidays
