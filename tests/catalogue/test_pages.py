"""The catalogue pages as administrators use them: the business calendars (working hours per
weekday, a holiday added or removed, public holidays imported) and a module's settings.

Every form answers with a redirect: accepted, to the page with a confirmation; refused, back to
the page with what was typed and each error beside its field.
"""

from __future__ import annotations

import html
import re
from datetime import date
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.catalogue.models import BusinessCalendar, Module
from tests.factories import PASSWORD

OFFICE = {str(d): [["09:00", "12:30"], ["13:30", "17:30"]] for d in range(5)}
WEEK = {f"day{d}": "09:00-12:30, 13:30-17:30" for d in range(5)} | {"day5": "", "day6": ""}


@pytest.fixture
def paris(make_calendar):
    return make_calendar("PARIS", "Europe/Paris", hours=OFFICE, holidays=(date(2026, 5, 1),))


@pytest.fixture
def admin(signed_in, make_user):
    return signed_in(make_user("admin", email="ada@example.com", password=PASSWORD))


def page_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def shown_after(browser, response, path: str) -> str:
    """The page a refused form comes back to (303, with its draft)."""
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert location.path == path
    assert "draft=" in location.query
    shown = browser.get(response.headers["Location"])
    assert shown.status_code == 200
    return page_of(shown)


def calendar(db_session, code: str = "PARIS") -> BusinessCalendar:
    db_session.rollback()
    return db_session.scalar(select(BusinessCalendar).where(BusinessCalendar.code == code))


def hours_form(paris, **days) -> dict:
    return {"form": "hours-PARIS", "version": str(paris.version), **WEEK, **days}


# --- working hours ---------------------------------------------------------------------------


def test_each_weekday_has_a_labelled_input_with_its_hours(admin, paris):
    page = page_of(admin.get("/catalogue/calendars"))

    for day, name in enumerate(
        ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    ):
        assert f'<label for="PARIS-day{day}">{name}</label>' in page
    assert 'id="PARIS-day0" name="day0" value="09:00-12:30, 13:30-17:30"' in page
    assert 'id="PARIS-day6" name="day6" value=""' in page


def test_admins_change_the_working_hours_of_a_weekday(admin, paris, db_session):
    response = admin.post(
        "/catalogue/calendars/PARIS/hours", data=hours_form(paris, day4="9:00-12:00", day5="")
    )

    assert response.status_code == 303
    hours = calendar(db_session).working_hours
    assert hours["4"] == [["09:00", "12:00"]]
    assert hours["0"] == [["09:00", "12:30"], ["13:30", "17:30"]]
    assert "5" not in hours
    assert "Working hours of PARIS hours saved." in page_of(admin.get("/catalogue/calendars"))


def test_unreadable_hours_name_the_weekday_and_keep_what_was_typed(admin, paris, db_session):
    response = admin.post(
        "/catalogue/calendars/PARIS/hours", data=hours_form(paris, day2="nine to five")
    )

    page = shown_after(admin, response, "/catalogue/calendars")
    assert "<strong>Wednesday</strong>: Write the hours like 09:00-12:30" in page
    assert 'id="PARIS-day2" name="day2" value="nine to five"' in page
    assert calendar(db_session).working_hours == OFFICE


def test_hours_ending_before_they_start_are_refused(admin, paris, db_session):
    response = admin.post(
        "/catalogue/calendars/PARIS/hours", data=hours_form(paris, day0="17:00-09:00")
    )

    page = shown_after(admin, response, "/catalogue/calendars")
    assert "Invalid working hours." in page
    assert calendar(db_session).working_hours == OFFICE


def test_working_hours_saved_on_a_stale_page_change_nothing(admin, paris, db_session):
    seen = paris.version
    admin.post("/catalogue/calendars/PARIS/hours", data=hours_form(paris, day4="09:00-12:00"))

    response = admin.post(
        "/catalogue/calendars/PARIS/hours",
        data={**hours_form(paris, day0=""), "version": str(seen)},
    )

    page = shown_after(admin, response, "/catalogue/calendars")
    assert "Someone changed PARIS hours while you were editing it" in page
    assert calendar(db_session).working_hours["0"] == OFFICE["0"]


# --- holidays one by one ---------------------------------------------------------------------


def test_admins_add_a_single_holiday(admin, paris, db_session):
    response = admin.post(
        "/catalogue/calendars/PARIS/holidays",
        data={"form": "holiday-PARIS", "day": "2026-07-14", "name": "Fête nationale"},
    )

    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).fragment == "business_calendar-PARIS"
    days = {h.day: h.name for h in calendar(db_session).holidays}
    assert days[date(2026, 7, 14)] == "Fête nationale"
    assert "Fête nationale added to PARIS hours." in page_of(admin.get("/catalogue/calendars"))


def test_a_holiday_without_a_date_or_name_names_both_fields(admin, paris, db_session):
    response = admin.post(
        "/catalogue/calendars/PARIS/holidays",
        data={"form": "holiday-PARIS", "day": "someday", "name": ""},
    )

    page = shown_after(admin, response, "/catalogue/calendars")
    assert 'id="PARIS-holiday-day-error">Pick a date.' in page
    assert 'id="PARIS-holiday-name-error">Give the holiday a name.' in page
    assert len(calendar(db_session).holidays) == 1


def test_the_same_holiday_twice_is_refused_on_its_date(admin, paris, db_session):
    response = admin.post(
        "/catalogue/calendars/PARIS/holidays",
        data={"form": "holiday-PARIS", "day": "2026-05-01", "name": "Labour day"},
    )

    page = shown_after(admin, response, "/catalogue/calendars")
    assert "Already a holiday." in page
    assert 'value="Labour day"' in page


def test_admins_remove_a_single_holiday(admin, paris, db_session):
    page = page_of(admin.get("/catalogue/calendars"))
    assert 'aria-label="Remove May 1, 2026, Holiday"' in page

    response = admin.post("/catalogue/calendars/PARIS/holidays/2026-05-01/delete")

    assert response.status_code == 303
    assert calendar(db_session).holidays == []


@pytest.mark.parametrize("day", ["2026-05-02", "not-a-day"])
def test_removing_a_day_that_is_no_holiday_says_so(admin, paris, db_session, day):
    response = admin.post(f"/catalogue/calendars/PARIS/holidays/{day}/delete")

    shown_after(admin, response, "/catalogue/calendars")
    assert len(calendar(db_session).holidays) == 1


def test_importing_public_holidays_checks_the_country_and_year(admin, paris, db_session):
    response = admin.post(
        "/catalogue/calendars/PARIS/import",
        data={"form": "import-PARIS", "country": "F", "year": "²⁰²⁶"},
    )

    page = shown_after(admin, response, "/catalogue/calendars")
    assert 'id="PARIS-country-error">A country code, like FR or US.' in page
    assert 'id="PARIS-year-error">A year from 2000 to 2100.' in page
    assert len(calendar(db_session).holidays) == 1


def test_importing_public_holidays_adds_them(admin, paris, db_session):
    response = admin.post(
        "/catalogue/calendars/PARIS/import",
        data={"form": "import-PARIS", "country": "FR", "year": "2026"},
    )

    assert response.status_code == 303
    assert len(calendar(db_session).holidays) == 11


def test_requesters_cannot_change_calendars(signed_in, make_user, paris, db_session):
    rita = signed_in(make_user("requester", password=PASSWORD))

    response = rita.post("/catalogue/calendars/PARIS/holidays/2026-05-01/delete")

    assert response.status_code == 403
    assert len(calendar(db_session).holidays) == 1


# --- a module's settings ---------------------------------------------------------------------


def test_a_module_saved_on_a_stale_page_changes_nothing(admin, make_module, db_session):
    module = make_module("FIN", name="Finance")
    seen = module.version
    form = {"form": "module-edit", "code": "FIN", "active": "y"}
    admin.post("/catalogue/modules/FIN", data={**form, "name": "Finance & Co", "version": seen})

    response = admin.post(
        "/catalogue/modules/FIN", data={**form, "name": "Accounting", "version": seen}
    )

    page = shown_after(admin, response, "/catalogue/modules/FIN")
    assert "Someone changed FIN while you were editing it" in page
    db_session.rollback()
    assert db_session.scalar(select(Module.name).where(Module.code == "FIN")) == "Finance & Co"


def test_a_module_without_a_name_keeps_the_other_fields(admin, make_module, db_session):
    module = make_module("FIN", name="Finance")

    response = admin.post(
        "/catalogue/modules/FIN",
        data={
            "form": "module-edit",
            "code": "FIN",
            "name": "",
            "description": "General ledger and payables",
            "version": module.version,
        },
    )

    page = shown_after(admin, response, "/catalogue/modules/FIN")
    assert 'id="name-error">This field is required.' in page
    assert "General ledger and payables</textarea>" in page
    assert re.search(r'<input(?=[^>]*name="name")(?=[^>]*aria-invalid="true")', page)
