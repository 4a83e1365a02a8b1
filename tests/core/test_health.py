"""Probes: /healthz says the process lives; /readyz checks the database and Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from app import create_app
from app.core.db import db

CLOSED_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused
SHARED_SETTINGS = (
    "TESTING",
    "SQLALCHEMY_DATABASE_URI",
    "REDIS_URL",
    "QUEUE_PREFIX",
    "SECRET_KEY",
    "WTF_CSRF_ENABLED",
    "INSTANCE_PATH",
    "ATTACHMENT_DIR",
)


@pytest.fixture
def sibling_app(app) -> Iterator[Callable[..., Flask]]:
    """Another app on the same settings as ``app`` except the given ones (e.g. a dead Redis)."""
    built: list[Flask] = []

    def build(**overrides) -> Flask:
        settings = {key: app.config[key] for key in SHARED_SETTINGS}
        built.append(create_app({**settings, **overrides}))
        return built[-1]

    yield build
    for other in built:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def test_healthz_answers_ok_without_checking_anything(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_healthz_answers_even_when_redis_and_the_database_are_down(sibling_app, tmp_path):
    broken = sibling_app(
        REDIS_URL=CLOSED_REDIS, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/x.db"
    )

    assert broken.test_client().get("/healthz").status_code == 200


def test_readyz_is_ok_when_the_database_and_redis_answer(app, client):
    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    expected_redis = "ok" if app.config.get("REDIS_URL") else "ok (embedded)"
    assert body["checks"]["redis"] == expected_redis


def test_readyz_is_503_naming_redis_when_redis_is_unreachable(sibling_app):
    no_redis = sibling_app(REDIS_URL=CLOSED_REDIS)

    response = no_redis.test_client().get("/readyz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"].startswith("failed")
    assert "ConnectionError" in body["checks"]["redis"]
    assert body["checks"]["database"] == "ok"


def test_readyz_is_503_naming_the_database_when_it_is_unreachable(sibling_app, tmp_path):
    no_database = sibling_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/x.db")

    response = no_database.test_client().get("/readyz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"].startswith("failed")
    assert body["checks"]["redis"].startswith("ok")


def test_readyz_does_not_reveal_connection_details(sibling_app):
    no_redis = sibling_app(REDIS_URL="redis://:hunter2-password@127.0.0.1:1/0")

    response = no_redis.test_client().get("/readyz")

    assert response.status_code == 503
    assert "hunter2" not in response.get_data(as_text=True)
    assert "127.0.0.1" not in response.get_data(as_text=True)


def test_probes_need_no_login(client):
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(path).status_code == 200, path
