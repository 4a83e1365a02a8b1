"""API tokens: only a hash is stored, they expire, an admin revokes them at once, and a token
never does more than its scopes allow. Long-lived tokens for service accounts (the ERP's usage
feed) are issued by an admin and their secret is shown exactly once."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.core.clock import utcnow
from app.core.errors import ValidationFailed
from app.core.permissions import Permission, can
from app.identity.models import ApiToken, User
from app.identity.service import issue_token, user_for_token
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


# --- every token names a scope and expires ---------------------------------------------------


def test_asking_for_no_scope_is_422_and_issues_nothing(db_session, make_user, api_client):
    admin = api_client(make_user("admin"))
    holder = make_user("agent")

    response = admin.post(
        "/api/v1/tokens", json={"user": holder.email, "name": "nothing", "scopes": []}
    )

    assert response.status_code == 422
    assert "scopes" in response.get_json()["errors"]
    issued = db_session.scalar(
        sa.select(sa.func.count(ApiToken.id)).where(ApiToken.user_id == holder.id)
    )
    assert issued == 0


def test_the_service_refuses_a_token_without_a_scope_whoever_asks(db_session, make_user):
    with pytest.raises(ValidationFailed) as refused:
        issue_token(
            db_session,
            None,
            make_user("agent"),
            name="x",
            scopes=[],
            expires_at=utcnow() + timedelta(days=1),
        )

    assert "scopes" in refused.value.errors


def test_a_token_issued_without_an_expiry_expires_after_the_longest_lifetime(
    app, client, make_user, api_client, frozen_clock
):
    frozen_clock(T0)
    admin = api_client(make_user("admin"))
    holder = make_user("agent")
    days = app.config["API_TOKEN_MAX_DAYS"]

    body = admin.post("/api/v1/tokens", json={"user": holder.email, "name": "laptop"}).get_json()

    assert datetime.fromisoformat(body["expires_at"]) == T0 + timedelta(days=days)
    frozen_clock(T0 + timedelta(days=days))
    assert client.get("/api/v1/me", headers=bearer(body["token"])).status_code == 401


def test_an_expiry_beyond_the_longest_lifetime_is_422(app, make_user, api_client, frozen_clock):
    frozen_clock(T0)
    admin = api_client(make_user("admin"))
    holder = make_user("agent")
    too_late = T0 + timedelta(days=app.config["API_TOKEN_MAX_DAYS"] + 1)

    response = admin.post(
        "/api/v1/tokens",
        json={"user": holder.email, "name": "forever", "expires_at": too_late.isoformat()},
    )

    assert response.status_code == 422
    assert "expires_at" in response.get_json()["errors"]


def test_a_service_account_token_expires_too_after_its_long_lifetime(
    app, client, make_user, api_client, frozen_clock
):
    frozen_clock(T0)
    admin = api_client(make_user("admin"))
    secret = admin.post("/api/v1/tokens", json=SERVICE_TOKEN_REQUEST).get_json()["token"]

    frozen_clock(T0 + timedelta(days=app.config["SERVICE_TOKEN_MAX_DAYS"]))

    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401


# --- a token outside its scope names the scope it lacks --------------------------------------


def test_an_ingest_token_reading_tickets_is_403_naming_the_scope(client, make_user, api_client):
    admin = api_client(make_user("admin"))
    secret = admin.post("/api/v1/tokens", json=SERVICE_TOKEN_REQUEST).get_json()["token"]

    response = client.get("/api/v1/tickets", headers=bearer(secret))

    assert response.status_code == 403
    body = response.get_json()
    assert body["code"] == "insufficient_scope"
    assert "ticket:view_own" in body["missing_scopes"]
    assert "ticket:view_own" in body["message"]


def test_a_token_scoped_to_the_catalogue_cannot_read_a_ticket(make_user, api_client, make_ticket):
    agent = make_user("agent")
    ticket = make_ticket()

    response = api_client(agent, scopes=["catalogue:view"]).get(f"/api/v1/tickets/{ticket.ref}")

    assert response.status_code == 403
    assert response.get_json()["code"] == "insufficient_scope"


def test_a_token_scoped_to_reading_tickets_cannot_comment(make_user, api_client, make_ticket):
    agent = make_user("agent")
    ticket = make_ticket()
    reader = api_client(agent, scopes=["ticket:view_all"])

    assert reader.get(f"/api/v1/tickets/{ticket.ref}").status_code == 200
    response = reader.post(f"/api/v1/tickets/{ticket.ref}/comments", json={"body": "Hello"})

    assert response.status_code == 403
    assert response.get_json()["missing_scopes"] == ["ticket:converse"]


# --- people list and revoke their own tokens -------------------------------------------------


def login_token(client, email: str) -> str:
    response = client.post("/api/v1/auth/tokens", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def test_everyone_lists_their_own_tokens_and_only_theirs(client, make_user):
    make_user("requester", email="rita@example.com", password=PASSWORD)
    make_user("requester", email="sam@example.com", password=PASSWORD)
    rita = login_token(client, "rita@example.com")
    login_token(client, "sam@example.com")

    response = client.get("/api/v1/me/tokens", headers=bearer(rita))

    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [t["user"] for t in items] == ["rita@example.com"]
    assert "token" not in items[0]


def test_a_requester_revokes_their_own_token(client, make_user):
    make_user("requester", email="rita@example.com", password=PASSWORD)
    kept, lost = login_token(client, "rita@example.com"), login_token(client, "rita@example.com")
    lost_id = client.get("/api/v1/me/tokens", headers=bearer(kept)).get_json()["items"][0]["id"]

    response = client.delete(f"/api/v1/tokens/{lost_id}", headers=bearer(kept))

    assert response.status_code == 204
    assert client.get("/api/v1/me", headers=bearer(lost)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(kept)).status_code == 200


def test_someone_elses_token_does_not_exist_for_a_requester(client, make_user):
    make_user("requester", email="rita@example.com", password=PASSWORD)
    make_user("requester", email="sam@example.com", password=PASSWORD)
    rita, sam = login_token(client, "rita@example.com"), login_token(client, "sam@example.com")
    sams_id = client.get("/api/v1/me/tokens", headers=bearer(sam)).get_json()["items"][0]["id"]

    response = client.delete(f"/api/v1/tokens/{sams_id}", headers=bearer(rita))

    assert response.status_code == 404
    assert client.get("/api/v1/me", headers=bearer(sam)).status_code == 200


def test_the_tokens_page_lists_and_revokes_ones_own(client, signed_in, make_user):
    user = make_user("requester", email="rita@example.com", password=PASSWORD)
    secret = login_token(client, "rita@example.com")
    browser = signed_in(user)
    page = browser.get("/account/tokens")
    assert page.status_code == 200
    [token_id] = re.findall(r"/account/tokens/(\d+)/revoke", page.get_data(as_text=True))

    revoked = browser.post(f"/account/tokens/{token_id}/revoke")

    assert revoked.status_code == 302
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401
    assert "revoked" in browser.get("/account/tokens").get_data(as_text=True)


def test_the_tokens_page_cannot_revoke_someone_elses(client, signed_in, make_user):
    make_user("requester", email="sam@example.com", password=PASSWORD)
    sam = login_token(client, "sam@example.com")
    sams_id = client.get("/api/v1/me/tokens", headers=bearer(sam)).get_json()["items"][0]["id"]
    rita = signed_in(make_user("requester", email="rita@example.com", password=PASSWORD))

    response = rita.post(f"/account/tokens/{sams_id}/revoke")

    assert response.status_code == 404
    assert client.get("/api/v1/me", headers=bearer(sam)).status_code == 200


# --- a reset or a deactivation revokes every token -------------------------------------------


def patch_user(admin, user, **changes):
    etag = admin.get(f"/api/v1/users/{user.id}").headers["ETag"]
    response = admin.patch(f"/api/v1/users/{user.id}", json=changes, headers={"If-Match": etag})
    assert response.status_code == 200, response.get_json()
    return response


def test_a_password_reset_revokes_the_users_tokens(client, make_user, api_client):
    admin = api_client(make_user("admin"))
    user = make_user("requester", email="rita@example.com", password=PASSWORD)
    secret = login_token(client, "rita@example.com")

    patch_user(admin, user, password="a brand new secret")

    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401


def test_a_deactivated_users_tokens_stay_revoked_once_reactivated(client, make_user, api_client):
    admin = api_client(make_user("admin"))
    user = make_user("requester", email="rita@example.com", password=PASSWORD)
    secret = login_token(client, "rita@example.com")

    patch_user(admin, user, active=False)
    patch_user(admin, user, active=True)

    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401
