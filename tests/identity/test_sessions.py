"""Browser sessions end on the server: logging out, an idle timeout, a password reset or a
deactivation makes the session cookie worthless, even replayed; the CSRF tokens its forms held
die with it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import PASSWORD

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def ana(make_user):
    return make_user("requester", email="ana@example.com", password=PASSWORD)


def session_cookie(browser) -> str:
    return browser.client.get_cookie("session").value


def replay(browser, cookie: str) -> None:
    browser.client.set_cookie("session", cookie)


def signed_in_now(browser) -> bool:
    return browser.get("/").status_code == 200


def test_a_cookie_replayed_after_logout_is_signed_out(signed_in, ana):
    browser = signed_in(ana)
    cookie = session_cookie(browser)
    assert browser.post("/logout").status_code == 302

    replay(browser, cookie)

    response = browser.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_logging_out_in_one_browser_leaves_the_other_signed_in(signed_in, ana):
    laptop, phone = signed_in(ana), signed_in(ana)

    laptop.post("/logout")

    assert not signed_in_now(laptop)
    assert signed_in_now(phone)


def test_a_session_ends_after_the_idle_timeout(app, signed_in, ana, frozen_clock):
    frozen_clock(T0)
    browser = signed_in(ana)
    idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])

    frozen_clock(T0 + idle)

    response = browser.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert "Your session has ended" in browser.get("/login").get_data(as_text=True)


def test_activity_keeps_a_session_alive_past_the_timeout(app, signed_in, ana, frozen_clock):
    frozen_clock(T0)
    browser = signed_in(ana)
    idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])

    for step in range(1, 4):  # active every two thirds of the timeout, for twice its length
        frozen_clock(T0 + step * idle * 2 / 3)
        assert signed_in_now(browser), f"signed out at step {step}"


def test_an_idle_session_stays_ended_when_its_cookie_is_replayed(app, signed_in, ana, frozen_clock):
    frozen_clock(T0)
    browser = signed_in(ana)
    cookie = session_cookie(browser)
    frozen_clock(T0 + timedelta(minutes=app.config["SESSION_IDLE_MINUTES"]))
    browser.get("/")

    frozen_clock(T0 + timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1))
    replay(browser, cookie)

    assert not signed_in_now(browser)


def test_a_password_reset_ends_the_users_sessions(signed_in, ana, make_user, api_client):
    browser = signed_in(ana)
    admin = api_client(make_user("admin"))
    etag = admin.get(f"/api/v1/users/{ana.id}").headers["ETag"]

    admin.patch(
        f"/api/v1/users/{ana.id}", json={"password": "another password"}, headers={"If-Match": etag}
    )

    assert not signed_in_now(browser)


def test_deactivation_ends_the_users_sessions_for_good(signed_in, ana, make_user, api_client):
    browser = signed_in(ana)
    admin = api_client(make_user("admin"))
    for active in (False, True):
        etag = admin.get(f"/api/v1/users/{ana.id}").headers["ETag"]
        admin.patch(f"/api/v1/users/{ana.id}", json={"active": active}, headers={"If-Match": etag})

    assert not signed_in_now(browser)


class TestCsrfTokensEndWithTheSession:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    @staticmethod
    def sign_in(client, user) -> None:
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        response = client.post(
            "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302

    @staticmethod
    def form_token(client) -> str:
        page = client.get("/").get_data(as_text=True)
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def test_a_form_token_of_a_session_that_was_signed_out_is_refused(self, client, ana):
        self.sign_in(client, ana)
        old_token = self.form_token(client)
        client.post("/logout", data={"csrf_token": old_token})
        self.sign_in(client, ana)

        response = client.post("/logout", data={"csrf_token": old_token})

        assert response.status_code == 400
        assert signed_in_now(client)

    def test_a_form_token_of_an_idle_session_is_refused(self, app, client, ana, frozen_clock):
        frozen_clock(T0)
        self.sign_in(client, ana)
        token = self.form_token(client)

        frozen_clock(T0 + timedelta(minutes=app.config["SESSION_IDLE_MINUTES"]))
        response = client.post("/logout", data={"csrf_token": token})

        assert response.status_code == 400

    def test_signing_in_starts_a_new_session_with_a_new_csrf_secret(self, client, ana):
        login_page = client.get("/login").get_data(as_text=True)
        before = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page)

        self.sign_in(client, ana)

        response = client.post("/logout", data={"csrf_token": before.group(1)})
        assert response.status_code == 400
        assert signed_in_now(client)

    def test_a_form_token_of_the_live_session_works(self, client, ana):
        self.sign_in(client, ana)

        response = client.post("/logout", data={"csrf_token": self.form_token(client)})

        assert response.status_code == 302
        assert not signed_in_now(client)
