"""API tokens: only a hash is stored, they expire, an admin revokes them at once, and a token
never does more than its scopes allow. Long-lived tokens for service accounts (the ERP's usage
feed) are issued by an admin and their secret is shown exactly once."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app.core.permissions import Permission, can
from app.identity.models import ApiToken, User
from app.identity.service import user_for_token
from tests.factories import PASSWORD

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

SERVICE_TOKEN_REQUEST = {
    "user": "erp@example.com",
    "name": "ERP usage feed",
    "scopes": ["usage:ingest"],
    "service_account": True,
}


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def test_the_database_holds_only_a_hash_of_the_secret(db_session, make_user, api_client):
    admin = api_client(make_user("admin"))
    holder = make_user("agent")

    response = admin.post("/api/v1/tokens", json={"user": holder.email, "name": "laptop"})

    assert response.status_code == 201
    secret = response.get_json()["token"]
    rows = db_session.execute(sa.text("SELECT * FROM api_tokens")).mappings().all()
    stored = [str(value) for row in rows for value in row.values()]
    assert not any(secret in value for value in stored)
    assert not any(secret.rsplit("_", 1)[1] in value for value in stored)  # nor its random part
    assert hashlib.sha256(secret.encode()).hexdigest() in stored


def test_a_login_token_works_until_its_expiry_then_is_401(app, client, make_user, frozen_clock):
    frozen_clock(T0)
    make_user(email="ana@example.com", password=PASSWORD)
    secret = client.post(
        "/api/v1/auth/tokens", json={"email": "ana@example.com", "password": PASSWORD}
    ).get_json()["token"]
    ttl = timedelta(hours=app.config["API_TOKEN_TTL_HOURS"])

    frozen_clock(T0 + ttl - timedelta(seconds=1))
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200

    frozen_clock(T0 + ttl)
    expired = client.get("/api/v1/me", headers=bearer(secret))
    assert expired.status_code == 401
    assert expired.get_json()["code"] == "unauthorized"


def test_an_admin_issued_token_expires_at_the_given_instant(
    client, make_user, api_client, frozen_clock
):
    frozen_clock(T0)
    admin = api_client(make_user("admin"))
    holder = make_user("agent")
    expires_at = T0 + timedelta(days=7)
    secret = admin.post(
        "/api/v1/tokens",
        json={"user": holder.email, "name": "week", "expires_at": expires_at.isoformat()},
    ).get_json()["token"]

    frozen_clock(expires_at + timedelta(seconds=1))

    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401


def test_an_expiry_in_the_past_is_refused_with_422(make_user, api_client):
    admin = api_client(make_user("admin"))
    holder = make_user("agent")

    response = admin.post(
        "/api/v1/tokens",
        json={"user": holder.email, "name": "old", "expires_at": "2000-01-01T00:00:00+00:00"},
    )

    assert response.status_code == 422
    assert "expires_at" in response.get_json()["errors"]


def test_a_revoked_token_is_refused_at_once(client, make_user, api_client):
    admin = api_client(make_user("admin"))
    holder = make_user("agent")
    issued = admin.post("/api/v1/tokens", json={"user": holder.email, "name": "laptop"})
    token_id, secret = issued.get_json()["id"], issued.get_json()["token"]
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200

    revoked = admin.delete(f"/api/v1/tokens/{token_id}")

    assert revoked.status_code == 204
    after = client.get("/api/v1/me", headers=bearer(secret))
    assert after.status_code == 401
    assert "revoked" in after.get_json()["message"]


def test_revocation_is_audited_and_revoking_twice_is_harmless(make_user, api_client):
    admin = api_client(make_user("admin"))
    holder = make_user("agent")
    token_id = admin.post("/api/v1/tokens", json={"user": holder.email, "name": "x"}).get_json()[
        "id"
    ]

    assert admin.delete(f"/api/v1/tokens/{token_id}").status_code == 204
    assert admin.delete(f"/api/v1/tokens/{token_id}").status_code == 204

    events = admin.get(
        f"/api/v1/audit-events?entity_type=api_token&entity_id={token_id}"
    ).get_json()["items"]
    assert [e["action"] for e in events] == ["revoked", "issued"]


def test_revoking_an_unknown_token_is_404(make_user, api_client):
    response = api_client(make_user("admin")).delete("/api/v1/tokens/999999")

    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"


def test_admin_issues_a_long_lived_service_account_token_shown_once(
    db_session, make_user, api_client
):
    admin = api_client(make_user("admin"))

    response = admin.post("/api/v1/tokens", json=SERVICE_TOKEN_REQUEST)

    assert response.status_code == 201
    body = response.get_json()
    assert body["token"].startswith("stw_")
    assert body["user"] == "erp@example.com"
    assert body["scopes"] == ["usage:ingest"]
    assert body["expires_at"] is not None  # long, but never endless
    account = db_session.scalar(sa.select(User).where(User.email == "erp@example.com"))
    assert account.is_service_account
    assert account.roles == []
    assert account.password_hash is None


def test_the_token_list_never_shows_a_secret_again(make_user, api_client):
    admin = api_client(make_user("admin"))
    secret = admin.post("/api/v1/tokens", json=SERVICE_TOKEN_REQUEST).get_json()["token"]

    listing = admin.get("/api/v1/tokens")

    assert listing.status_code == 200
    feed = [t for t in listing.get_json()["items"] if t["name"] == "ERP usage feed"]
    assert len(feed) == 1
    assert "token" not in feed[0]
    assert "token_hash" not in feed[0]
    assert secret not in listing.get_data(as_text=True)


def test_a_service_account_token_keeps_working_a_year_later(
    client, make_user, api_client, frozen_clock
):
    frozen_clock(T0)
    admin = api_client(make_user("admin"))
    secret = admin.post("/api/v1/tokens", json=SERVICE_TOKEN_REQUEST).get_json()["token"]

    frozen_clock(T0 + timedelta(days=366))

    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200


def test_a_service_account_token_may_ingest_usage_and_nothing_else(
    db_session, make_user, api_client
):
    admin = api_client(make_user("admin"))
    secret = admin.post("/api/v1/tokens", json=SERVICE_TOKEN_REQUEST).get_json()["token"]

    feed = user_for_token(db_session, secret)

    assert can(feed, Permission.USAGE_INGEST)
    assert not can(feed, Permission.TICKET_CREATE)
    assert not can(feed, Permission.USER_VIEW)


def test_a_service_account_token_cannot_list_users(client, make_user, api_client):
    admin = api_client(make_user("admin"))
    secret = admin.post("/api/v1/tokens", json=SERVICE_TOKEN_REQUEST).get_json()["token"]

    assert client.get("/api/v1/users", headers=bearer(secret)).status_code == 403


def test_a_scoped_token_cannot_do_what_its_scope_excludes(make_user, api_client):
    admin = make_user("admin")
    narrow = api_client(admin, scopes=["ticket:create"])

    response = narrow.get("/api/v1/users")

    assert response.status_code == 403
    assert response.get_json()["code"] == "insufficient_scope"
    assert response.get_json()["missing_scopes"] == ["user:view"]


def test_a_scoped_token_can_do_what_its_scope_names(make_user, api_client):
    admin = make_user("admin")

    assert api_client(admin, scopes=["user:view"]).get("/api/v1/users").status_code == 200


def test_a_scope_does_not_add_a_permission_the_holder_lacks(make_user, api_client):
    requester = make_user("requester")

    response = api_client(requester, scopes=["user:view"]).get("/api/v1/users")

    assert response.status_code == 403


def test_an_unknown_scope_is_422(make_user, api_client):
    admin = api_client(make_user("admin"))
    holder = make_user("agent")

    response = admin.post(
        "/api/v1/tokens", json={"user": holder.email, "name": "x", "scopes": ["tickets:everything"]}
    )

    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_error"
    assert "tickets:everything" in body["errors"]["scopes"][0]


def test_a_token_for_an_unknown_person_is_422_unless_it_is_a_service_account(make_user, api_client):
    admin = api_client(make_user("admin"))

    response = admin.post("/api/v1/tokens", json={"user": "ghost@example.com", "name": "x"})

    assert response.status_code == 422
    assert "user" in response.get_json()["errors"]


def test_a_non_admin_cannot_issue_tokens_nor_list_everyones(make_user, api_client):
    agent = make_user("agent")
    api = api_client(agent)

    issued = api.post("/api/v1/tokens", json={"user": agent.email, "name": "more"})
    listed = api.get("/api/v1/tokens")

    assert (issued.status_code, listed.status_code) == (403, 403)
    assert issued.get_json()["code"] == "forbidden"
