"""Token exchange, the caller's identity, and how the API answers without the right credentials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.factories import PASSWORD


def test_token_exchange_then_me_shows_roles_with_module(client, make_user):
    make_user(["requester", "key_user"], module="FIN", email="kim@example.com", password=PASSWORD)

    response = client.post(
        "/api/v1/auth/tokens", json={"email": "Kim@Example.com", "password": PASSWORD}
    )

    assert response.status_code == 201
    body = response.get_json()
    assert body["token"].startswith("stw_")
    assert datetime.fromisoformat(body["expires_at"]) > datetime.now(UTC)
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.get_json()["email"] == "kim@example.com"
    assert sorted(me.get_json()["roles"], key=lambda r: r["role"]) == [
        {"role": "key_user", "module": "FIN"},
        {"role": "requester", "module": None},
    ]


def test_wrong_password_is_401_with_the_error_shape(client, make_user):
    make_user(email="ana@example.com", password=PASSWORD)

    response = client.post(
        "/api/v1/auth/tokens", json={"email": "ana@example.com", "password": "nope"}
    )

    assert response.status_code == 401
    assert response.get_json() == {
        "status": 401,
        "code": "unauthorized",
        "message": "Wrong email or password.",
        "errors": {},
    }


def test_login_attempts_are_throttled_per_account(app, client, make_user):
    app.config["LOGIN_MAX_ATTEMPTS"] = 3
    make_user(email="ana@example.com", password=PASSWORD)
    for _ in range(3):
        assert (
            client.post(
                "/api/v1/auth/tokens", json={"email": "ana@example.com", "password": "x"}
            ).status_code
            == 401
        )

    blocked = client.post(
        "/api/v1/auth/tokens", json={"email": "ana@example.com", "password": PASSWORD}
    )

    assert blocked.status_code == 429
    assert blocked.get_json()["code"] == "rate_limited"


def test_throttle_lifts_after_the_window(app, client, make_user, frozen_clock):
    app.config["LOGIN_MAX_ATTEMPTS"] = 2
    frozen_clock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    make_user(email="ana@example.com", password=PASSWORD)
    for _ in range(2):
        client.post("/api/v1/auth/tokens", json={"email": "ana@example.com", "password": "x"})
    frozen_clock(
        datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        + timedelta(seconds=app.config["LOGIN_WINDOW_SECONDS"] + 1)
    )

    response = client.post(
        "/api/v1/auth/tokens", json={"email": "ana@example.com", "password": PASSWORD}
    )

    assert response.status_code == 201


def test_missing_credentials_is_401(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.get_json()["code"] == "unauthorized"


def test_garbage_bearer_token_is_401(client):
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer stw_nothing_here"})
    assert response.status_code == 401
    assert "invalid" in response.get_json()["message"]


def test_wrong_scheme_is_401(client):
    response = client.get("/api/v1/me", headers={"Authorization": "Basic YTpi"})
    assert response.status_code == 401


def test_inactive_user_token_stops_working(db_session, make_user, api_client):
    user = make_user()
    api = api_client(user)
    user.active = False
    db_session.commit()

    assert api.get("/api/v1/me").status_code == 401


def test_requester_cannot_list_users(make_user, api_client):
    api = api_client(make_user("requester"))

    response = api.get("/api/v1/users")

    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"


def test_malformed_json_is_a_clean_400_or_422(make_user, client):
    response = client.post(
        "/api/v1/auth/tokens", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)
    body = response.get_json()
    assert set(body) == {"status", "code", "message", "errors"}


def test_unknown_api_route_is_json_404(client):
    response = client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"


def test_wrong_method_is_json_405(make_user, api_client):
    response = api_client(make_user()).delete("/api/v1/me")
    assert response.status_code == 405
    assert response.get_json()["code"] == "method_not_allowed"
