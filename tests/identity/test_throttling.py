"""Login throttling counts per account *and* source address, and per address alone with a
higher limit: a stranger's wrong guesses cannot lock the owner out, one address cannot guess
through many accounts, and a throttled caller is told how long to wait (429, Retry-After)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import PASSWORD

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STRANGER = "198.51.100.66"  # documentation addresses: strings in the WSGI environ, no traffic
OWNER = "203.0.113.10"


@pytest.fixture
def ana(make_user):
    return make_user("requester", email="ana@example.com", password=PASSWORD)


def api_login(client, email: str, password: str, address: str):
    return client.post(
        "/api/v1/auth/tokens",
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def page_login(client, email: str, password: str, address: str):
    return client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def guess(client, app, email: str, address: str, times: int | None = None) -> None:
    for _ in range(times or app.config["LOGIN_MAX_ATTEMPTS"]):
        assert api_login(client, email, "a wrong guess", address).status_code == 401


def test_a_strangers_guesses_do_not_lock_the_owner_out_of_the_api(app, client, ana):
    guess(client, app, ana.email, STRANGER)

    assert api_login(client, ana.email, PASSWORD, OWNER).status_code == 201


def test_a_strangers_guesses_do_not_lock_the_owner_out_of_the_pages(app, client, ana):
    guess(client, app, ana.email, STRANGER)

    assert page_login(client, ana.email, PASSWORD, OWNER).status_code == 302


def test_the_guessing_address_is_throttled_with_retry_after(app, client, ana, frozen_clock):
    frozen_clock(T0)
    guess(client, app, ana.email, STRANGER)

    frozen_clock(T0 + timedelta(minutes=5))
    response = api_login(client, ana.email, PASSWORD, STRANGER)

    assert response.status_code == 429
    body = response.get_json()
    assert body["code"] == "rate_limited"
    window = app.config["LOGIN_WINDOW_SECONDS"]
    assert body["retry_after"] == window - 5 * 60
    assert response.headers["Retry-After"] == str(window - 5 * 60)
    assert "try again in 10 minutes" in body["message"]


def test_the_login_page_says_how_long_to_wait(app, client, ana, frozen_clock):
    frozen_clock(T0)
    guess(client, app, ana.email, STRANGER)

    frozen_clock(T0 + timedelta(minutes=14, seconds=30))
    response = page_login(client, ana.email, PASSWORD, STRANGER)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"
    assert "try again in 30 seconds" in response.get_data(as_text=True)


def test_the_throttle_lifts_once_the_oldest_guess_leaves_the_window(app, client, ana, frozen_clock):
    frozen_clock(T0)
    guess(client, app, ana.email, STRANGER)

    frozen_clock(T0 + timedelta(seconds=app.config["LOGIN_WINDOW_SECONDS"] + 1))

    assert api_login(client, ana.email, PASSWORD, STRANGER).status_code == 201


def test_unknown_emails_are_throttled_like_real_ones(app, client):
    guess(client, app, "nobody@example.com", STRANGER)

    response = api_login(client, "nobody@example.com", "another guess", STRANGER)

    assert response.status_code == 429


def test_one_address_guessing_through_many_accounts_is_throttled(app, client, ana):
    app.config["LOGIN_ADDRESS_MAX_ATTEMPTS"] = 6
    for n in range(6):  # one guess per account: no account reaches its own limit
        assert api_login(client, f"user{n}@example.com", "guess", STRANGER).status_code == 401

    response = api_login(client, ana.email, PASSWORD, STRANGER)

    assert response.status_code == 429
    assert api_login(client, ana.email, PASSWORD, OWNER).status_code == 201


def test_a_success_from_the_same_address_starts_the_count_again(app, client, ana):
    guess(client, app, ana.email, OWNER, times=app.config["LOGIN_MAX_ATTEMPTS"] - 1)
    assert api_login(client, ana.email, PASSWORD, OWNER).status_code == 201

    guess(client, app, ana.email, OWNER, times=app.config["LOGIN_MAX_ATTEMPTS"] - 1)

    assert api_login(client, ana.email, PASSWORD, OWNER).status_code == 201
