"""The web shell as a person meets it: signing in and out, where they land, what the menu
offers their role, how forms answer mistakes, and the cookie and CSRF protections around it."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from app.catalogue.models import Module
from tests.factories import PASSWORD


def sign_in(client, email: str, password: str = PASSWORD, next_url: str | None = None):
    url = "/login" if next_url is None else f"/login?next={next_url}"
    return client.post(url, data={"email": email, "password": password})


def location_of(response) -> str:
    """The redirect target as a path (the test client may send it absolute)."""
    parts = urlsplit(response.headers["Location"])
    return parts.path + (f"?{parts.query}" if parts.query else "")


def menu_labels(page: str) -> list[str]:
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', page, re.S)
    return re.findall(r">([^<]+)</a>", nav.group(1)) if nav else []


def csrf_token_in(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


# --- signing in ------------------------------------------------------------------------------


def test_the_login_page_shows_the_form(client):
    response = client.get("/login")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Sign in to Steward" in page
    assert 'name="email"' in page
    assert 'name="password"' in page


def test_good_credentials_land_on_home_with_name_and_role(client, make_user):
    make_user("agent", email="sam@example.com", name="Sam Support", password=PASSWORD)

    response = sign_in(client, "Sam@Example.com")

    assert response.status_code == 302
    assert location_of(response) == "/"
    home = client.get("/")
    assert home.status_code == 200
    page = home.get_data(as_text=True)
    assert "Welcome, Sam Support" in page
    assert "Support agent" in page


def test_a_module_scoped_role_shows_its_label_on_home(client, make_user):
    make_user(["requester", "key_user"], module="FIN", email="kim@example.com", password=PASSWORD)
    sign_in(client, "kim@example.com")

    page = client.get("/").get_data(as_text=True)

    assert "Key user · Requester" in page


def test_wrong_credentials_are_401_with_the_message_and_the_email_kept(client, make_user):
    make_user(email="ana@example.com", password=PASSWORD)

    response = sign_in(client, "ana@example.com", "not the password")

    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "Wrong email or password." in page
    assert 'value="ana@example.com"' in page
    assert "not the password" not in page
    assert client.get("/").status_code == 302  # still signed out


def test_an_empty_form_is_400_with_field_errors(client):
    response = client.post("/login", data={"email": "", "password": ""})

    assert response.status_code == 400
    assert "This field is required." in response.get_data(as_text=True)


def test_too_many_failures_are_429_with_a_message(app, client, make_user):
    app.config["LOGIN_MAX_ATTEMPTS"] = 2
    make_user(email="ana@example.com", password=PASSWORD)
    for _ in range(2):
        assert sign_in(client, "ana@example.com", "guess").status_code == 401

    response = sign_in(client, "ana@example.com")

    assert response.status_code == 429
    assert "Too many failed logins" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_an_inactive_user_cannot_sign_in(client, make_user):
    make_user(email="gone@example.com", password=PASSWORD, active=False)

    assert sign_in(client, "gone@example.com").status_code == 401


def test_next_sends_the_user_back_to_the_page_they_asked_for(client, make_user):
    make_user("admin", email="root@example.com", password=PASSWORD)

    response = sign_in(client, "root@example.com", next_url="/catalogue/modules?x=1")

    assert location_of(response) == "/catalogue/modules?x=1"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/steal",
        "//evil.example/steal",
        "/\\evil.example/steal",
        "javascript:alert(1)",
    ],
)
def test_next_never_leaves_the_site(client, make_user, target):
    make_user(email="ana@example.com", password=PASSWORD)

    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": "ana@example.com", "password": PASSWORD},
    )

    assert response.status_code == 302
    assert response.headers["Location"] in ("/", "http://localhost/")


def test_an_anonymous_visit_to_home_goes_to_login_and_back(client):
    response = client.get("/")

    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert target.path == "/login"
    assert parse_qs(target.query) == {"next": ["/"]}


def test_a_signed_in_visit_to_login_goes_home(client, make_user):
    make_user(email="ana@example.com", password=PASSWORD)
    sign_in(client, "ana@example.com")

    response = client.get("/login")

    assert response.status_code == 302
    assert location_of(response) == "/"


# --- session and signing out -----------------------------------------------------------------


def test_the_session_cookie_is_httponly_and_samesite_lax(client, make_user):
    make_user(email="ana@example.com", password=PASSWORD)

    response = sign_in(client, "ana@example.com")

    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert len(cookies) == 1
    attributes = {part.strip().lower() for part in cookies[0].split(";")}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes


def test_logout_is_post_only(client, make_user):
    make_user(email="ana@example.com", password=PASSWORD)
    sign_in(client, "ana@example.com")

    response = client.get("/logout")

    assert response.status_code == 405
    assert client.get("/").status_code == 200  # a GET did not sign anyone out


def test_logout_ends_the_session(client, make_user):
    make_user(email="ana@example.com", password=PASSWORD)
    sign_in(client, "ana@example.com")

    response = client.post("/logout")

    assert response.status_code == 302
    assert location_of(response) == "/login"
    assert client.get("/").status_code == 302
    assert "You are signed out." in client.get("/login").get_data(as_text=True)


# --- navigation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "audit_log", "modules"),
    [
        ("admin", True, True),
        ("auditor", True, False),
        ("agent", False, False),
        ("requester", False, False),
    ],
)
def test_the_menu_follows_the_role(client, make_user, role, audit_log, modules):
    make_user(role, email="who@example.com", password=PASSWORD)
    sign_in(client, "who@example.com")

    labels = menu_labels(client.get("/").get_data(as_text=True))

    assert "Home" in labels
    assert ("Audit log" in labels) is audit_log
    assert ("Modules" in labels) is modules


def test_a_page_outside_the_role_is_403_html(client, make_user):
    make_user("requester", email="rita@example.com", password=PASSWORD)
    sign_in(client, "rita@example.com")

    response = client.get("/audit")

    assert response.status_code == 403
    assert response.mimetype == "text/html"


# --- the module form -------------------------------------------------------------------------


def test_the_module_form_creates_a_module(client, db_session, make_user):
    make_user("admin", email="root@example.com", password=PASSWORD)
    sign_in(client, "root@example.com")

    response = client.post(
        "/catalogue/modules", data={"code": "sal", "name": "Sales", "active": "y"}
    )

    assert response.status_code == 302
    assert location_of(response) == "/catalogue/modules"
    page = client.get("/catalogue/modules").get_data(as_text=True)
    assert "Module SAL created." in page
    db_session.expire_all()
    assert db_session.scalar(sa.select(Module.name).where(Module.code == "SAL")) == "Sales"


def test_a_duplicate_code_re_renders_the_form_with_the_error(client, make_user, make_module):
    make_module("FIN", name="Finance")
    make_user("admin", email="root@example.com", password=PASSWORD)
    sign_in(client, "root@example.com")

    response = client.post(
        "/catalogue/modules", data={"code": "FIN", "name": "Finance again", "active": "y"}
    )

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Module FIN already exists." in page
    assert "Already used." in page
    assert 'value="Finance again"' in page  # what was typed is kept


def test_an_unknown_owner_re_renders_the_form_on_the_owner_field(client, make_user):
    make_user("admin", email="root@example.com", password=PASSWORD)
    sign_in(client, "root@example.com")

    response = client.post(
        "/catalogue/modules",
        data={"code": "HR", "name": "HR", "owner": "ghost@example.com", "active": "y"},
    )

    assert response.status_code == 422
    assert "No such user." in response.get_data(as_text=True)


def test_a_requester_sees_modules_but_cannot_create_one(client, db_session, make_user):
    make_user("requester", email="rita@example.com", password=PASSWORD)
    sign_in(client, "rita@example.com")

    listing = client.get("/catalogue/modules")
    attempt = client.post("/catalogue/modules", data={"code": "SAL", "name": "Sales"})

    assert listing.status_code == 200
    assert "Create module" not in listing.get_data(as_text=True)
    assert attempt.status_code == 403
    assert db_session.scalar(sa.select(Module).where(Module.code == "SAL")) is None


# --- errors ----------------------------------------------------------------------------------


def test_an_unknown_page_is_a_404_html_page(client):
    response = client.get("/no/such/page")

    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "404" in response.get_data(as_text=True)


# --- CSRF ------------------------------------------------------------------------------------


class TestWithCsrfProtection:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_a_login_without_the_csrf_token_is_rejected(self, client, make_user):
        make_user(email="ana@example.com", password=PASSWORD)

        response = sign_in(client, "ana@example.com")

        assert response.status_code == 400
        assert response.mimetype == "text/html"
        assert client.get("/").status_code == 302  # not signed in

    def test_a_login_with_the_token_from_the_form_works(self, client, make_user):
        make_user(email="ana@example.com", password=PASSWORD)
        token = csrf_token_in(client.get("/login").get_data(as_text=True))

        response = client.post(
            "/login", data={"email": "ana@example.com", "password": PASSWORD, "csrf_token": token}
        )

        assert response.status_code == 302
        assert client.get("/").status_code == 200

    def test_logout_without_the_token_keeps_the_session(self, client, make_user):
        make_user(email="ana@example.com", password=PASSWORD)
        token = csrf_token_in(client.get("/login").get_data(as_text=True))
        client.post(
            "/login", data={"email": "ana@example.com", "password": PASSWORD, "csrf_token": token}
        )

        assert client.post("/logout").status_code == 400
        assert client.get("/").status_code == 200

    def test_the_api_needs_no_csrf_token(self, make_user, api_client):
        admin = api_client(make_user("admin"))

        response = admin.post("/api/v1/modules", json={"code": "FIN", "name": "Finance"})

        assert response.status_code == 201
