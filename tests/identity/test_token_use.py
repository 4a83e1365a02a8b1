"""Checking an API token: its last use is really recorded, the request's own transaction
neither writes nor locks the token, and a revocation or a role change applies at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.core.db import db
from app.identity.models import ApiToken
from app.identity.service import issue_token, revoke_token, save_user

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=3650)  # outlives every instant these tests freeze


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def token(db_session, make_user):
    """(token id, secret) of an agent's token."""
    row, secret = issue_token(
        db_session, None, make_user("agent"), name="laptop", scopes=["*"], expires_at=LATER
    )
    db_session.commit()
    return row.id, secret


def last_used(db_session, token_id: int):
    db_session.expire_all()
    return db_session.scalar(sa.select(ApiToken.last_used_at).where(ApiToken.id == token_id))


def test_a_read_with_a_token_records_when_it_was_last_used(client, db_session, token, frozen_clock):
    frozen_clock(T0)
    token_id, secret = token

    assert client.get("/api/v1/tickets", headers=bearer(secret)).status_code == 200

    assert last_used(db_session, token_id) == T0


def test_last_use_is_written_at_most_once_a_minute_then_again(
    client, db_session, token, frozen_clock
):
    token_id, secret = token
    frozen_clock(T0)
    client.get("/api/v1/tickets", headers=bearer(secret))
    frozen_clock(T0 + timedelta(seconds=30))
    client.get("/api/v1/tickets", headers=bearer(secret))
    assert last_used(db_session, token_id) == T0

    frozen_clock(T0 + timedelta(minutes=2))
    client.get("/api/v1/tickets", headers=bearer(secret))
    assert last_used(db_session, token_id) == T0 + timedelta(minutes=2)


@pytest.fixture
def app_config(request):
    """On PostgreSQL, a lock wait in a request fails after 3 s instead of hanging the test."""
    if "backend" in request.fixturenames and request.getfixturevalue("backend") == "postgresql":
        return {
            "SQLALCHEMY_ENGINE_OPTIONS": {
                "pool_pre_ping": True,
                "connect_args": {"options": "-c lock_timeout=3000"},
            }
        }
    return {}


def test_a_request_does_not_wait_for_another_holding_the_token_row(backend, app, client, token):
    if backend != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    token_id, secret = token
    holding, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:  # another request (or process) in the middle of its own write
        with app.app_context(), db.engine.connect() as other:
            other.execute(
                sa.text("SELECT id FROM api_tokens WHERE id = :id FOR UPDATE"), {"id": token_id}
            )
            holding.set()
            release.wait(10)
            other.rollback()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    try:
        assert holding.wait(5)
        response = client.get("/api/v1/tickets", headers=bearer(secret))
    finally:
        release.set()
        holder.join()

    assert response.status_code == 200


def test_a_revoked_token_is_refused_on_the_very_next_request(client, db_session, token):
    token_id, secret = token
    assert client.get("/api/v1/tickets", headers=bearer(secret)).status_code == 200

    holder = db_session.get(ApiToken, token_id).user
    revoke_token(db_session, holder, token_id)
    db_session.commit()

    assert client.get("/api/v1/tickets", headers=bearer(secret)).status_code == 401


def test_a_role_taken_away_applies_on_the_very_next_request(
    client, db_session, make_user, make_ticket
):
    ref = make_ticket().ref  # reported by someone else
    agent = make_user("agent", email="ana@example.com", name="Ana")
    _, secret = issue_token(db_session, None, agent, name="laptop", scopes=["*"], expires_at=LATER)
    db_session.commit()

    def listed() -> list[str]:
        response = client.get("/api/v1/tickets", headers=bearer(secret))
        assert response.status_code == 200
        return [item["ref"] for item in response.get_json()["items"]]

    assert listed() == [ref]

    save_user(db_session, None, email="ana@example.com", name="Ana", roles=[("requester", None)])
    db_session.commit()

    assert listed() == []
