"""The administration pages of people: users and their roles (for every module or for one),
deactivation, password reset, API tokens for people and service accounts, and one's own
settings (time zone, language). Every write is the admin's; the auditor reads and writes nothing.
"""

from __future__ import annotations

import html
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.core.audit import AuditEvent
from app.identity.models import ApiToken, User
from tests.factories import PASSWORD


@pytest.fixture
def ada(make_user):
    return make_user("admin", email="ada@example.com", name="Ada Admin", password=PASSWORD)


@pytest.fixture
def admin_browser(signed_in, ada):
    return signed_in(ada)


@pytest.fixture
def auditor_browser(signed_in, make_user):
    return signed_in(make_user("auditor", email="aud@example.com", password=PASSWORD))


@pytest.fixture
def agent_browser(signed_in, make_user):
    return signed_in(make_user("agent", email="agent@example.com", password=PASSWORD))


def page_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.get_data(as_text=True))


def follow(browser, response) -> str:
    assert response.status_code == 303, response.status_code
    return page_of(browser.get(response.headers["Location"]))


def user_by_email(db_session, email: str) -> User | None:
    db_session.rollback()
    return db_session.scalar(select(User).where(User.email == email))


NEW_USER = {
    "email": "kim@example.com",
    "name": "Kim Keyuser",
    "department": "Finance",
    "password": "long enough password",
    "roles": ["requester", "key_user:FIN"],
}


def test_an_admin_creates_a_key_user_of_one_module(admin_browser, db_session, finance):
    response = admin_browser.post("/admin/users", data=NEW_USER)

    page = follow(admin_browser, response)
    assert "Kim Keyuser can sign in now." in page
    kim = user_by_email(db_session, "kim@example.com")
    assert sorted(kim.role_pairs(), key=str) == [("key_user", finance.id), ("requester", None)]


def test_a_refused_user_keeps_what_was_typed_with_the_error_by_its_field(
    admin_browser, db_session, finance
):
    response = admin_browser.post("/admin/users", data={**NEW_USER, "email": "not-an-email"})

    page = follow(admin_browser, response)
    assert "The user was not created." in page
    assert 'value="Kim Keyuser"' in page
    assert 'aria-invalid="true"' in page and 'aria-describedby="email-error"' in page
    assert "long enough password" not in page  # secrets are never kept
    assert user_by_email(db_session, "not-an-email") is None


def test_an_unknown_role_is_refused_not_a_500(admin_browser, db_session, finance):
    response = admin_browser.post("/admin/users", data={**NEW_USER, "roles": ["emperor"]})

    assert "Choose roles from the list." in follow(admin_browser, response)


def test_an_admin_deactivates_a_user_which_ends_their_tokens(
    admin_browser, make_user, as_, db_session
):
    sam = make_user("agent", email="sam@example.com", name="Sam Support")
    api = as_(sam)
    version = sam.version

    response = admin_browser.post(
        f"/admin/users/{sam.id}",
        data={"version": str(version), "name": "Sam Support", "roles": ["agent"]},
    )

    assert "Changes saved." in follow(admin_browser, response)
    assert user_by_email(db_session, "sam@example.com").active is False
    assert api.get("/api/v1/me").status_code == 401


def test_the_last_admin_cannot_be_deactivated_on_the_page(admin_browser, ada, db_session):
    response = admin_browser.post(
        f"/admin/users/{ada.id}",
        data={"version": str(ada.version), "name": "Ada Admin", "roles": ["admin"]},
    )

    page = follow(admin_browser, response)
    assert "last active administrator" in page
    assert user_by_email(db_session, "ada@example.com").active is True


def test_a_stale_user_form_is_refused(admin_browser, make_user, db_session):
    sam = make_user("agent", email="sam@example.com", name="Sam Support")

    response = admin_browser.post(
        f"/admin/users/{sam.id}",
        data={"version": str(sam.version - 1), "name": "Sam", "roles": ["agent"], "active": "on"},
    )

    assert "Someone changed Sam Support" in follow(admin_browser, response)
    assert user_by_email(db_session, "sam@example.com").name == "Sam Support"


def test_an_admin_resets_a_password_and_the_person_signs_in_with_it(
    admin_browser, make_user, client, db_session
):
    sam = make_user("agent", email="sam@example.com", name="Sam Support", password=PASSWORD)

    response = admin_browser.post(
        f"/admin/users/{sam.id}/password", data={"password": "a brand new secret"}
    )

    assert "Password changed" in follow(admin_browser, response)
    login = client.post("/login", data={"email": sam.email, "password": "a brand new secret"})
    assert login.status_code == 302
    events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "user", AuditEvent.action == "updated")
    ).all()
    assert any("password" in e.changes for e in events)


def test_a_too_short_password_is_refused(admin_browser, make_user):
    sam = make_user("agent", email="sam@example.com")

    response = admin_browser.post(f"/admin/users/{sam.id}/password", data={"password": "short"})

    assert "At least 8 characters." in follow(admin_browser, response)


def test_an_admin_issues_a_service_account_token_shown_once(admin_browser, db_session):
    response = admin_browser.post(
        "/admin/tokens",
        data={
            "user": "erp-feed@example.com",
            "service_account": "on",
            "name": "ERP usage feed",
            "scopes": ["usage:ingest"],
            "days": "365",
        },
    )

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = page_of(response)
    token = db_session.scalar(select(ApiToken).where(ApiToken.name == "ERP usage feed"))
    assert f"stw_{token.prefix}_" in page
    assert token.user.is_service_account
    assert f"stw_{token.prefix}_" not in page_of(admin_browser.get("/admin/tokens"))


def test_a_token_beyond_the_longest_life_is_refused(admin_browser, make_user, db_session):
    make_user("agent", email="sam@example.com")

    response = admin_browser.post(
        "/admin/tokens",
        data={"user": "sam@example.com", "name": "script", "scopes": ["*"], "days": "5000"},
    )

    page = follow(admin_browser, response)
    assert "No token was issued." in page
    assert "At most 90 days from now." in page
    assert db_session.scalar(select(ApiToken).where(ApiToken.name == "script")) is None


def test_a_token_without_scope_is_refused(admin_browser, make_user):
    make_user("agent", email="sam@example.com")

    response = admin_browser.post(
        "/admin/tokens", data={"user": "sam@example.com", "name": "script", "days": "10"}
    )

    assert "Name the permissions the token is for" in follow(admin_browser, response)


def test_an_admin_revokes_someones_token(admin_browser, make_user, as_):
    sam = make_user("agent", email="sam@example.com")
    api = as_(sam)
    token_id = api.get("/api/v1/me/tokens").get_json()["items"][0]["id"]

    response = admin_browser.post(f"/admin/tokens/{token_id}/revoke")

    assert "revoked" in follow(admin_browser, response)
    assert api.get("/api/v1/me").status_code == 401


# --- who may do what -------------------------------------------------------------------------


def test_the_auditor_reads_users_but_sees_no_write_form(auditor_browser, make_user):
    sam = make_user("agent", email="sam@example.com", name="Sam Support")

    listing = page_of(auditor_browser.get("/admin/users"))
    one = page_of(auditor_browser.get(f"/admin/users/{sam.id}"))

    assert "Sam Support" in listing
    assert "new-user-form" not in listing
    assert "user-form" not in one and "password-form" not in one


@pytest.mark.parametrize(
    "path, data",
    [
        ("/admin/users", NEW_USER),
        ("/admin/users/{id}", {"version": "1", "name": "X", "roles": ["agent"]}),
        ("/admin/users/{id}/password", {"password": "a brand new secret"}),
        ("/admin/tokens", {"user": "sam@example.com", "name": "x", "scopes": ["*"]}),
        ("/admin/tokens/1/revoke", {}),
    ],
)
@pytest.mark.parametrize("who", ["auditor_browser", "agent_browser"])
def test_only_admins_write_on_the_admin_pages(request, who, path, data, make_user, db_session):
    sam = make_user("agent", email="sam@example.com", name="Sam Support")
    browser = request.getfixturevalue(who)

    response = browser.post(path.format(id=sam.id), data=data)

    assert response.status_code == 403
    assert user_by_email(db_session, "sam@example.com").name == "Sam Support"
    assert user_by_email(db_session, "kim@example.com") is None


def test_a_requester_may_not_list_users(signed_in, make_user):
    browser = signed_in(make_user("requester", email="rita@example.com", password=PASSWORD))

    assert browser.get("/admin/users").status_code == 403
    assert browser.get("/admin/tokens").status_code == 403


# --- one's own settings ------------------------------------------------------------------------


def test_a_person_chooses_their_time_zone_and_language(signed_in, make_user, db_session):
    rita = make_user("requester", email="rita@example.com", password=PASSWORD)
    browser = signed_in(rita)

    response = browser.post(
        "/account/settings",
        data={"version": str(rita.version), "timezone": "America/New_York", "locale": "en"},
    )

    page = follow(browser, response)
    assert "Your settings are saved." in page
    assert "EST" in page or "EDT" in page  # "It is now ..." in the chosen zone
    saved = user_by_email(db_session, "rita@example.com")
    assert (saved.timezone, saved.locale) == ("America/New_York", "en")


def test_an_unknown_time_zone_is_refused(signed_in, make_user, db_session):
    rita = make_user("requester", email="rita@example.com", password=PASSWORD)
    browser = signed_in(rita)

    response = browser.post(
        "/account/settings", data={"version": str(rita.version), "timezone": "Mars/Olympus"}
    )

    assert "An IANA time zone" in follow(browser, response)
    assert user_by_email(db_session, "rita@example.com").timezone is None


def test_a_key_user_defaults_to_their_modules_calendar_zone(
    signed_in, make_user, make_calendar, make_module
):
    make_calendar("TOKYO", "Asia/Tokyo")
    make_module("JP", name="Japan", calendar="TOKYO")
    kim = make_user("key_user", "JP", email="kim@example.com", password=PASSWORD)

    page = page_of(signed_in(kim).get("/account/settings"))

    assert "Default: Asia/Tokyo" in page
    assert "JST" in page


def test_settings_through_the_api_need_if_match(as_, make_user):
    api = as_(make_user("requester", email="rita@example.com"))
    current = api.get("/api/v1/me/settings")
    assert current.get_json() == {
        "timezone": None,
        "locale": None,
        "effective_timezone": "UTC",  # DEFAULT_TIMEZONE
    }

    assert api.patch("/api/v1/me/settings", json={"locale": "fr"}).status_code == 428
    changed = api.patch(
        "/api/v1/me/settings",
        json={"locale": "fr", "timezone": "Europe/London"},
        headers={"If-Match": current.headers["ETag"]},
    )

    assert changed.status_code == 200
    assert changed.get_json()["effective_timezone"] == "Europe/London"
    bad = api.patch(
        "/api/v1/me/settings",
        json={"timezone": "Nowhere/Land"},
        headers={"If-Match": changed.headers["ETag"]},
    )
    assert bad.status_code == 422
    # the caller chose French a moment ago: the API answers in it
    assert bad.get_json()["errors"] == {"timezone": ["Un fuseau horaire IANA, comme Europe/Paris."]}


def test_the_settings_page_redirects_to_itself(signed_in, make_user):
    rita = make_user("requester", email="rita@example.com", password=PASSWORD)
    response = signed_in(rita).post(
        "/account/settings", data={"version": str(rita.version), "timezone": ""}
    )

    assert urlsplit(response.headers["Location"]).path == "/account/settings"
