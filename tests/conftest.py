"""Fixtures: an app per test on SQLite and (when configured) on the real PostgreSQL and Redis.

The schema always comes from the Alembic migrations: once per session into a template (a SQLite
file copied per test, a PostgreSQL database truncated per test). ``TEST_DATABASE_URL`` names a
PostgreSQL server where the suite creates, and at the end drops, its own database;
``TEST_REDIS_URL`` a Redis where it uses only keys under its own prefix and deletes them after.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from app import create_app
from app.core.db import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])
RUN_ID = uuid.uuid4().hex[:8]


def _require_reachable() -> None:
    """When the real services are asked for, their absence is a failure, not a skip."""
    problems = []
    if TEST_DATABASE_URL:
        try:
            engine = sa.create_engine(TEST_DATABASE_URL)
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            engine.dispose()
        except Exception as exc:
            problems.append(f"TEST_DATABASE_URL unreachable: {exc}")
    if TEST_REDIS_URL:
        from redis import Redis

        try:
            Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2).ping()
        except Exception as exc:
            problems.append(f"TEST_REDIS_URL unreachable: {exc}")
    if problems:
        pytest.exit("; ".join(problems), returncode=3)


def pytest_sessionstart(session) -> None:
    _require_reachable()


class ServedClient(FlaskClient):
    """Reads and closes each response as a WSGI server does once it has sent it: what runs
    after the response (the outbox hand-off) runs before the test goes on."""

    def open(self, *args, buffered: bool = True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)


def _base_config(database_url: str, instance: Path) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": TEST_REDIS_URL,
        # the web tier's 0.1 s Redis timeout is tested against sick Redis servers; the suite's
        # own queue reads and clean-up (on a busy machine) get more room
        "REDIS_HANDOFF_TIMEOUT": 2.0,
        "QUEUE_PREFIX": f"steward-test-{RUN_ID}-{uuid.uuid4().hex[:6]}:",
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "INSTANCE_PATH": str(instance),
        "ATTACHMENT_DIR": str(instance / "attachments"),
        "SMTP_HOST": None,
        "WEBHOOK_URL": None,
    }


def _migrate(database_url: str, instance: Path) -> None:
    app = create_app(_base_config(database_url, instance))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.db"
    _migrate(f"sqlite:///{path}", folder)
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database of our own, migrated to head, dropped at the end."""
    assert TEST_DATABASE_URL
    name = f"steward_test_{RUN_ID}_{os.getpid()}"
    server = sa.create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(TEST_DATABASE_URL).set(database=name)
    url_text = url.render_as_string(hide_password=False)
    _migrate(url_text, Path("/tmp"))
    yield url_text
    with server.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def _truncate_all(app: Flask) -> None:
    with app.app_context():
        tables = [t.name for t in db.metadata.sorted_tables]
        with db.engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


def _clean_redis(app: Flask) -> None:
    if not TEST_REDIS_URL:
        return
    from app.core.queue import job_id, redis_for

    connection = redis_for(app)
    prefix = app.config["QUEUE_PREFIX"]
    keys: set = set()
    for marker in {prefix, job_id(app, "")}:  # queue names, and job ids (sanitised prefix)
        keys.update(connection.scan_iter(match=f"*{marker}*", count=1000))
    if keys:
        connection.delete(*keys)
    stale = [q for q in connection.smembers("rq:queues") if prefix.encode() in q]
    if stale:
        connection.srem("rq:queues", *stale)


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def app_config() -> dict:
    """Extra settings a test module wants (override this fixture)."""
    return {}


@pytest.fixture
def app(backend, request, tmp_path, app_config) -> Iterator[Flask]:
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "steward.db"
        shutil.copyfile(template, path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_url")
    config = _base_config(url, tmp_path)
    config.update(app_config)
    application = create_app(config)
    application.test_client_class = ServedClient
    if backend == "postgresql":
        _truncate_all(application)
    from app.core.runner import bind_app

    bind_app(application)
    yield application
    _clean_redis(application)
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def db_session(app):
    with app.app_context():
        yield db.session


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


from tests.factories import *  # noqa: E402,F403 - fixtures live with the factories
from tests.faults import hung_redis, private_redis  # noqa: E402,F401
from tests.receivers import run_jobs, smtp_server, webhook_receiver  # noqa: E402,F401
