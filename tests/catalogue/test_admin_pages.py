"""Support groups and their members, new calendars and their time zone, on the catalogue pages;
only admins write there."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from app.catalogue import service as catalogue
from app.catalogue.models import BusinessCalendar, SupportGroup
from tests.factories import PASSWORD


@pytest.fixture
def admin_browser(signed_in, make_user):
    return signed_in(make_user("admin", email="ada@example.com", password=PASSWORD))


def follow(browser, response) -> str:
    assert response.status_code == 303, response.status_code
    shown = browser.get(response.headers["Location"])
    assert shown.status_code == 200
    return html.unescape(shown.get_data(as_text=True))


def group(db_session, code: str) -> SupportGroup | None:
    db_session.rollback()
    return db_session.scalar(select(SupportGroup).where(SupportGroup.code == code))


def test_an_admin_creates_a_group_and_chooses_its_members(admin_browser, make_user, db_session):
    sam = make_user("agent", email="sam@example.com", name="Sam Support")
    make_user("agent", email="tom@example.com", name="Tom Tech")

    created = admin_browser.post(
        "/catalogue/groups",
        data={"code": "fin_sup", "name": "Finance support", "email": "fin@example.com"},
    )
    assert "Group Finance support created" in follow(admin_browser, created)

    saved = admin_browser.post("/catalogue/groups/FIN_SUP/members", data={"members": [sam.id]})

    page = follow(admin_browser, saved)
    assert "Members of Finance support saved." in page
    assert [m.email for m in group(db_session, "FIN_SUP").members] == ["sam@example.com"]


def test_a_duplicate_group_code_is_refused_beside_its_field(admin_browser, db_session):
    catalogue.create_group(db_session, None, code="FIN_SUP", name="Finance support")
    db_session.commit()

    response = admin_browser.post("/catalogue/groups", data={"code": "FIN_SUP", "name": "Again"})

    page = follow(admin_browser, response)
    assert "Already used." in page
    assert (
        'aria-describedby="group-code-help group-code-error"' in page or "group-code-error" in page
    )


def test_only_agents_become_members(admin_browser, make_user, db_session):
    catalogue.create_group(db_session, None, code="FIN_SUP", name="Finance support")
    db_session.commit()
    rita = make_user("requester", email="rita@example.com")

    admin_browser.post("/catalogue/groups/FIN_SUP/members", data={"members": [rita.id, "x"]})

    assert group(db_session, "FIN_SUP").members == []


def test_an_admin_creates_a_calendar_then_changes_its_zone(admin_browser, db_session):
    created = admin_browser.post(
        "/catalogue/calendars",
        data={"code": "tokyo", "name": "Tokyo office", "timezone": "Asia/Tokyo"},
    )
    assert "Calendar Tokyo office created" in follow(admin_browser, created)
    db_session.rollback()
    tokyo = db_session.scalar(select(BusinessCalendar).where(BusinessCalendar.code == "TOKYO"))
    assert tokyo.working_hours  # starts with office hours

    changed = admin_browser.post(
        "/catalogue/calendars/TOKYO/timezone",
        data={"timezone": "Asia/Seoul", "version": str(tokyo.version)},
    )

    assert "Tokyo office now counts in Asia/Seoul." in follow(admin_browser, changed)
    db_session.rollback()
    assert db_session.get(BusinessCalendar, tokyo.id).timezone == "Asia/Seoul"


def test_a_calendar_in_an_unknown_zone_is_refused(admin_browser, db_session):
    response = admin_browser.post(
        "/catalogue/calendars", data={"code": "MARS", "name": "Mars", "timezone": "Mars/Base"}
    )

    assert "The calendar was not created." in follow(admin_browser, response)
    db_session.rollback()
    assert (
        db_session.scalar(select(BusinessCalendar).where(BusinessCalendar.code == "MARS")) is None
    )


@pytest.mark.parametrize("role", ["auditor", "agent", "requester"])
@pytest.mark.parametrize(
    "path, data",
    [
        ("/catalogue/groups", {"code": "NEW", "name": "New"}),
        ("/catalogue/groups/FIN_SUP/members", {"members": ["1"]}),
        ("/catalogue/calendars", {"code": "NEW", "name": "New", "timezone": "UTC"}),
    ],
)
def test_only_admins_write_groups_and_calendars(signed_in, make_user, db_session, role, path, data):
    catalogue.create_group(db_session, None, code="FIN_SUP", name="Finance support")
    db_session.commit()
    browser = signed_in(make_user(role, email=f"{role}@example.com", password=PASSWORD))

    assert browser.post(path, data=data).status_code == 403
    assert group(db_session, "NEW") is None
    assert group(db_session, "FIN_SUP").members == []


def test_the_auditor_sees_no_group_page(signed_in, make_user):
    browser = signed_in(make_user("auditor", email="aud@example.com", password=PASSWORD))

    assert browser.get("/catalogue/groups").status_code == 403
