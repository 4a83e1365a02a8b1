"""Probes: /healthz says the process lives; /readyz says it can serve requests (the database).

Redis and the job backlog never decide readiness: without them the web tier still serves every
request (jobs wait in the outbox), and a load balancer must not take every instance out of
service because of them. They are reported in the body as "degraded", within a bounded time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from app import create_app
from app.core.db import db
from app.core.outbox import enqueue
from tests.faults import SICK_REDIS_BOUND_SECONDS, refused_redis_url

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
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
        REDIS_URL=refused_redis_url(),
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/x.db",
    )

    assert broken.test_client().get("/healthz").status_code == 200


def test_readyz_is_ok_when_the_database_and_redis_answer(app, client):
    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok"}
    assert body["degraded"] == []
    expected_redis = "ok" if app.config.get("REDIS_URL") else "ok (embedded)"
    assert body["jobs"]["redis"] == expected_redis
    assert body["jobs"]["outbox_pending"] == 0


def test_readyz_stays_ready_but_degraded_when_redis_refuses(sibling_app):
    no_redis = sibling_app(REDIS_URL=refused_redis_url())

    response = no_redis.test_client().get("/readyz")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["degraded"] == ["redis"]
    assert body["checks"] == {"database": "ok"}
    assert body["jobs"]["redis"] == "failed: ConnectionError"


def test_readyz_answers_at_once_when_redis_hangs(sibling_app, hung_redis):
    hung = sibling_app(REDIS_URL=hung_redis.url)

    started = time.perf_counter()
    response = hung.test_client().get("/readyz")
    seconds = time.perf_counter() - started

    assert response.status_code == 200
    assert response.get_json()["jobs"]["redis"] == "failed: TimeoutError"
    assert seconds < SICK_REDIS_BOUND_SECONDS


def test_readyz_reports_an_outbox_backlog_as_degraded(app, client, db_session, frozen_clock):
    frozen_clock(T0)
    enqueue(db_session, "app.core.jobs.sweep_outbox")
    enqueue(db_session, "app.core.jobs.sweep_outbox")
    db_session.commit()  # never handed over (nobody dispatched it): as while Redis was away
    frozen_clock(T0 + timedelta(minutes=6))

    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["degraded"] == ["outbox"]
    assert body["jobs"]["outbox_pending"] == 2
    assert body["jobs"]["outbox_oldest_pending_age_seconds"] == 360.0


def test_readyz_is_503_naming_the_database_when_it_is_unreachable(sibling_app, tmp_path):
    no_database = sibling_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/x.db")

    response = no_database.test_client().get("/readyz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"].startswith("failed")
    assert body["jobs"]["redis"].startswith("ok")


def test_readyz_does_not_reveal_connection_details(sibling_app):
    port = refused_redis_url().rsplit(":", 1)[1].split("/")[0]
    no_redis = sibling_app(REDIS_URL=f"redis://:hunter2-password@127.0.0.1:{port}/0")

    response = no_redis.test_client().get("/readyz")

    text = response.get_data(as_text=True)
    assert "failed" in text
    assert "hunter2" not in text
    assert "127.0.0.1" not in text


def test_probes_need_no_login(client):
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(path).status_code == 200, path
