"""The migrations are the only way a schema is made: they build it, take it down, match the models.

Each test gets a database of its own: a new SQLite file, and on the real PostgreSQL (when
``TEST_DATABASE_URL`` names a server, as in CI) a new database created and dropped here.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import check, downgrade, upgrade

import app as steward
from app import create_app
from app.core.db import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
FOUNDATION_TABLES = {
    "users",
    "role_assignments",
    "api_tokens",
    "login_attempts",
    "modules",
    "support_groups",
    "support_group_members",
    "business_calendars",
    "holidays",
    "audit_events",
    "outbox_messages",
}


def import_every_model() -> None:
    """Every domain's models, registered or not yet: a model without a migration is a bug."""
    for info in pkgutil.iter_modules(steward.__path__):
        if not info.ispkg:
            continue
        name = f"{steward.__name__}.{info.name}.models"
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


def model_tables() -> set[str]:
    import_every_model()
    return set(db.metadata.tables)


def tables_in(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def hand_managed(obj, name, type_, reflected, compare_to) -> bool:
    """As in migrations/env.py: PostgreSQL trigram indexes live in the migrations only."""
    return not (type_ == "index" and name and name.endswith("_trgm"))


def schema_differences(engine: sa.Engine) -> list:
    """What ``alembic check`` would report: how the migrated schema differs from the models."""
    import_every_model()
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": hand_managed}
        )
        return compare_metadata(context, db.metadata)


def trigram_indexes(engine: sa.Engine) -> set[str]:
    if engine.dialect.name == "postgresql":
        query = "SELECT indexname FROM pg_indexes"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'index'"
    with engine.connect() as connection:
        names = connection.execute(sa.text(query)).scalars()
        return {name for name in names if name.endswith("_trgm")}


def append_only_triggers(engine: sa.Engine) -> set[str]:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        else:
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        return set(connection.execute(sa.text(query)).scalars())


@contextmanager
def postgres_database() -> Iterator[str]:
    """A brand-new, empty PostgreSQL database, dropped afterwards."""
    name = f"steward_migrations_{uuid.uuid4().hex[:12]}"
    server = sa.create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.engine.make_url(TEST_DATABASE_URL).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_app(request, tmp_path) -> Iterator[Flask]:
    """An app on an empty database of its own, with an app context pushed."""
    if request.param == "postgresql" and not TEST_DATABASE_URL:
        pytest.skip("needs TEST_DATABASE_URL (a PostgreSQL server; CI sets it)")
    if request.param == "postgresql":
        database = postgres_database()
    else:
        database = _sqlite_file(tmp_path / "fresh.db")
    with database as url:
        application = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": url,
                "REDIS_URL": None,
                "SECRET_KEY": "test-secret",
                "INSTANCE_PATH": str(tmp_path),
                "ATTACHMENT_DIR": str(tmp_path / "attachments"),
            }
        )
        with application.app_context():
            try:
                yield application
            finally:
                db.session.remove()
                db.engine.dispose()


@contextmanager
def _sqlite_file(path: Path) -> Iterator[str]:
    yield f"sqlite:///{path}"


def test_upgrading_an_empty_database_creates_every_table_of_the_models(empty_app):
    assert tables_in(db.engine) == set()

    upgrade()

    assert model_tables() >= FOUNDATION_TABLES
    assert tables_in(db.engine) == model_tables() | {"alembic_version"}


def test_the_migrated_schema_matches_the_models(empty_app):
    upgrade()

    assert schema_differences(db.engine) == []


def test_alembic_check_finds_nothing_left_to_migrate(empty_app):
    import_every_model()
    upgrade()

    check()  # the real command with migrations/env.py's settings; exits 1 on any difference


def test_upgrading_installs_the_triggers_that_keep_the_audit_log_append_only(empty_app):
    upgrade()

    triggers = append_only_triggers(db.engine)

    if db.engine.dialect.name == "postgresql":
        assert "audit_events_append_only" in triggers
    else:
        assert {"audit_events_no_update", "audit_events_no_delete"} <= triggers


def test_downgrading_to_base_removes_every_table_and_trigger(empty_app):
    upgrade()

    downgrade(revision="base")

    assert tables_in(db.engine) <= {"alembic_version"}
    assert append_only_triggers(db.engine) == set()
    assert trigram_indexes(db.engine) == set()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            functions = connection.execute(
                sa.text("SELECT count(*) FROM pg_proc WHERE proname = 'audit_events_append_only'")
            ).scalar()
        assert functions == 0


def test_a_downgraded_database_upgrades_again_to_the_same_schema(empty_app):
    upgrade()
    downgrade(revision="base")

    upgrade()

    assert tables_in(db.engine) == model_tables() | {"alembic_version"}
    assert schema_differences(db.engine) == []


def test_ticket_search_gets_trigram_indexes_on_postgresql_only(empty_app):
    upgrade()

    expected = {
        "ix_tickets_title_trgm",
        "ix_tickets_description_trgm",
        "ix_ticket_comments_body_trgm",
    }
    assert trigram_indexes(db.engine) == (
        expected if db.engine.dialect.name == "postgresql" else set()
    )
