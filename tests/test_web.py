"""The web shell as a person meets it: signing in and out, where they land, what the menu
offers their role, how forms answer mistakes, and the cookie and CSRF protections around it."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from app.catalogue.models import Module
from app.core.audit import record
from app.incidents.models import Comment
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


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        ("auditor", {"All tickets", "Audit log"}, {"Report an incident", "My tickets", "Queues"}),
        ("product_owner", {"Module tickets", "My tickets"}, {"All tickets", "Queues"}),
        ("key_user", {"Module tickets", "My tickets"}, {"All tickets", "Queues"}),
        ("agent", {"Queues", "My tickets"}, {"All tickets", "Module tickets"}),
        ("requester", {"My tickets", "Report an incident"}, {"All tickets", "Module tickets"}),
    ],
)
def test_every_role_finds_the_ticket_list_it_may_read(client, make_user, role, shown, hidden):
    make_user(role, module="FIN", email="who@example.com", password=PASSWORD)
    sign_in(client, "who@example.com")

    labels = set(menu_labels(client.get("/").get_data(as_text=True)))

    assert shown <= labels
    assert not hidden & labels


@pytest.mark.parametrize(
    "role", ["requester", "key_user", "agent", "product_owner", "approver", "admin", "auditor"]
)
def test_every_menu_entry_opens_for_the_role_that_sees_it(client, make_user, role):
    make_user(role, module="FIN", email="who@example.com", password=PASSWORD)
    sign_in(client, "who@example.com")
    links = re.findall(
        r'href="([^"]+)"',
        re.search(
            r'<nav aria-label="Main">(.*?)</nav>', client.get("/").get_data(as_text=True), re.S
        ).group(1),
    )

    answers = {link: client.get(link).status_code for link in links}

    assert answers and set(answers.values()) == {200}, answers


def test_a_page_outside_the_role_is_403_html(client, make_user):
    make_user("requester", email="rita@example.com", password=PASSWORD)
    sign_in(client, "rita@example.com")

    response = client.get("/audit")

    assert response.status_code == 403
    assert response.mimetype == "text/html"


# --- error pages in plain words --------------------------------------------------------------


def heading_of(response) -> str:
    match = re.search(r"<h1[^>]*>(.*?)</h1>", response.get_data(as_text=True), re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


def test_a_refused_page_says_so_in_plain_words(client, make_user):
    make_user("requester", email="rita@example.com", password=PASSWORD)
    sign_in(client, "rita@example.com")

    response = client.get("/queues")

    assert response.status_code == 403
    assert heading_of(response) == "You do not have access to this"
    page = response.get_data(as_text=True)
    assert "ask an administrator" in page
    assert "permission" not in page
    assert "ticket:work" not in page


def test_an_unknown_page_says_so_in_plain_words(client, make_user):
    make_user("requester", email="rita@example.com", password=PASSWORD)
    sign_in(client, "rita@example.com")

    response = client.get("/no/such/page")

    assert response.status_code == 404
    assert heading_of(response) == "We could not find this"
    assert "The requested URL was not found on the server" not in response.get_data(as_text=True)


def test_a_missing_ticket_names_what_was_not_found(client, make_user):
    make_user("requester", email="rita@example.com", password=PASSWORD)
    sign_in(client, "rita@example.com")

    response = client.get("/tickets/INC-424242")

    assert response.status_code == 404
    assert "No ticket &#39;INC-424242&#39;." in response.get_data(as_text=True)


# --- the module form -------------------------------------------------------------------------


def test_the_module_form_creates_a_module(client, db_session, make_user):
    make_user("admin", email="root@example.com", password=PASSWORD)
    sign_in(client, "root@example.com")

    response = client.post(
        "/catalogue/modules", data={"code": "sal", "name": "Sales", "active": "y"}
    )

    assert response.status_code == 303
    assert location_of(response) == "/catalogue/modules"
    page = client.get("/catalogue/modules").get_data(as_text=True)
    assert "Module SAL created." in page
    db_session.expire_all()
    assert db_session.scalar(sa.select(Module.name).where(Module.code == "SAL")) == "Sales"


def shown_after(client, response) -> str:
    """A refused form answers 303 back to its page; the page as it is then shown."""
    assert response.status_code == 303
    assert "draft=" in response.headers["Location"]
    shown = client.get(location_of(response))
    assert shown.status_code == 200
    return shown.get_data(as_text=True)


def test_a_duplicate_code_comes_back_to_the_form_with_the_error(client, make_user, make_module):
    make_module("FIN", name="Finance")
    make_user("admin", email="root@example.com", password=PASSWORD)
    sign_in(client, "root@example.com")

    response = client.post(
        "/catalogue/modules",
        data={"form": "module-new", "code": "FIN", "name": "Finance again", "active": "y"},
    )

    page = shown_after(client, response)
    assert "Module FIN already exists." in page
    assert "Already used." in page
    assert 'value="Finance again"' in page  # what was typed is kept


def test_an_unknown_owner_comes_back_on_the_owner_field(client, make_user):
    make_user("admin", email="root@example.com", password=PASSWORD)
    sign_in(client, "root@example.com")

    response = client.post(
        "/catalogue/modules",
        data={"code": "HR", "name": "HR", "owner": "ghost@example.com", "active": "y"},
    )

    page = shown_after(client, response)
    assert 'id="owner-error">No such user.' in page
    assert 'value="ghost@example.com"' in page


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
    assert "Error 404" in response.get_data(as_text=True)


# --- CSRF ------------------------------------------------------------------------------------


class TestWithCsrfProtection:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_a_login_without_the_csrf_token_is_rejected(self, client, make_user):
        make_user(email="ana@example.com", password=PASSWORD)

        response = sign_in(client, "ana@example.com")

        assert response.status_code == 303
        assert location_of(response) == "/login"  # back to the form, with a message
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

    def test_an_expired_form_token_brings_the_typed_comment_back_with_a_message(
        self, app, client, make_user, make_ticket, frozen_clock, db_session
    ):
        app.config["WTF_CSRF_TIME_LIMIT"] = 60
        frozen_clock(datetime(2026, 5, 18, 9, 0, tzinfo=UTC))
        rita = make_user("requester", email="rita@example.com", password=PASSWORD)
        ticket = make_ticket(reporter=rita)
        token = csrf_token_in(client.get("/login").get_data(as_text=True))
        client.post(
            "/login", data={"email": "rita@example.com", "password": PASSWORD, "csrf_token": token}
        )
        form_token = page_token_in(client.get(f"/tickets/{ticket.ref}").get_data(as_text=True))
        frozen_clock(datetime(2026, 5, 18, 9, 2, tzinfo=UTC))  # the page stayed open a while

        response = client.post(
            f"/tickets/{ticket.ref}/comments",
            data={"csrf_token": form_token, "form": "comment", "body": "Typed with care."},
        )

        assert response.status_code == 303
        assert urlsplit(response.headers["Location"]).path == f"/tickets/{ticket.ref}"
        page = client.get(location_of(response)).get_data(as_text=True)
        assert "This form had expired" in page
        assert ">Typed with care.</textarea>" in page
        assert "CSRF" not in page
        db_session.expire_all()
        assert not db_session.scalars(sa.select(Comment)).all()

    def test_an_expired_sign_in_form_asks_to_sign_in_again(
        self, app, client, make_user, frozen_clock
    ):
        app.config["WTF_CSRF_TIME_LIMIT"] = 60
        make_user(email="ana@example.com", password=PASSWORD)
        frozen_clock(datetime(2026, 5, 18, 9, 0, tzinfo=UTC))
        token = csrf_token_in(client.get("/login").get_data(as_text=True))
        frozen_clock(datetime(2026, 5, 18, 9, 5, tzinfo=UTC))

        response = client.post(
            "/login", data={"email": "ana@example.com", "password": PASSWORD, "csrf_token": token}
        )

        assert response.status_code == 303
        assert location_of(response) == "/login"
        page = client.get("/login").get_data(as_text=True)
        assert "This form had expired, so nothing was sent." in page
        assert "The CSRF token" not in page


def page_token_in(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


# --- the audit log page ----------------------------------------------------------------------


@pytest.fixture
def audrey(make_user, db_session):
    """An auditor who works from Paris (signed in after the events are recorded: a frozen
    clock set before a sign-in would make the session cookie look forged)."""
    user = make_user("auditor", email="audrey@example.com", password=PASSWORD)
    user.timezone = "Europe/Paris"
    db_session.commit()
    return user


def recorded(db_session, frozen_clock, at: datetime, *args, **changes) -> None:
    frozen_clock(at)
    record(db_session, None, *args, changes or None)
    db_session.commit()


def audit_rows(response) -> list[str]:
    assert response.status_code == 200
    body = re.search(r"<tbody>(.*?)</tbody>", response.get_data(as_text=True), re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    cells = [re.sub(r"<[^>]+>", "", re.sub(r"</?(td|div)\b[^>]*>", " ", row)) for row in rows]
    return [re.sub(r"\s+", " ", html.unescape(cell)).strip() for cell in cells]


def test_the_audit_log_lists_events_by_time_newest_first(
    signed_in, audrey, db_session, frozen_clock
):
    for hour, minute in ((11, 39), (7, 42), (10, 13)):  # recorded out of order
        recorded(
            db_session,
            frozen_clock,
            datetime(2026, 5, 18, hour, minute, tzinfo=UTC),
            "widget",
            f"w{hour}",
            "created",
        )

    rows = audit_rows(signed_in(audrey).get("/audit?entity_type=widget"))

    assert [row.split(" · ")[0][:20] for row in rows] == [
        "May 18, 2026, 13:39 ",
        "May 18, 2026, 12:13 ",
        "May 18, 2026, 09:42 ",
    ]


def test_audited_values_read_as_people_read_them(signed_in, audrey, db_session, frozen_clock):
    recorded(
        db_session,
        frozen_clock,
        datetime(2026, 5, 18, 9, 0, tzinfo=UTC),
        "ticket",
        "INC-000001",
        "wait",
        status=["in_progress", "waiting_on_requester"],
        assignee=[None, "alex@example.com"],
        active=[True, False],
    )

    [row] = audit_rows(signed_in(audrey).get("/audit?entity_type=ticket"))

    assert "status: in progress → waiting on requester" in row
    assert "assignee: alex@example.com" in row
    assert "active: yes → no" in row
    assert "None" not in row
    assert "waiting_on_requester" not in row


def test_an_audited_ticket_links_to_its_page(signed_in, audrey, db_session, frozen_clock):
    recorded(
        db_session,
        frozen_clock,
        datetime(2026, 5, 18, 9, 0, tzinfo=UTC),
        "ticket",
        "INC-000007",
        "created",
    )

    page = signed_in(audrey).get("/audit").get_data(as_text=True)

    assert '<a href="/tickets/INC-000007">INC-000007</a>' in page


def test_the_audit_filters_are_choices_and_dates(signed_in, audrey, db_session, frozen_clock):
    recorded(
        db_session,
        frozen_clock,
        datetime(2026, 5, 18, 9, 0, tzinfo=UTC),
        "ticket",
        "INC-000001",
        "created",
    )

    page = signed_in(audrey).get("/audit").get_data(as_text=True)

    assert re.search(
        r'<select name="entity_type">.*<option value="ticket"\s*>Ticket</option>', page, re.S
    )
    assert re.search(
        r'<select name="action">.*<option value="created"\s*>created</option>', page, re.S
    )
    assert '<select name="actor">' in page
    assert '<input type="date" name="since"' in page
    assert '<input type="date" name="until"' in page


def test_the_audit_dates_are_the_viewers_days(signed_in, audrey, db_session, frozen_clock):
    # 23:30 UTC on the 17th is already the 18th in Paris, where the auditor works
    recorded(
        db_session,
        frozen_clock,
        datetime(2026, 5, 17, 23, 30, tzinfo=UTC),
        "widget",
        "late",
        "created",
    )
    recorded(
        db_session,
        frozen_clock,
        datetime(2026, 5, 18, 22, 30, tzinfo=UTC),  # the 19th in Paris
        "widget",
        "next-day",
        "created",
    )

    rows = audit_rows(
        signed_in(audrey).get("/audit?entity_type=widget&since=2026-05-18&until=2026-05-18")
    )

    assert len(rows) == 1
    assert "late" in rows[0]
