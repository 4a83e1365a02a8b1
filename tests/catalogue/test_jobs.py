"""Holidays never run out: a daily job imports each country calendar's current and next year,
an import makes a calendar follow its country, and a calendar whose holidays end within 60
days is flagged on its page and in /metrics.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from app.catalogue import service as catalogue
from app.catalogue.jobs import keep_holidays_imported
from app.catalogue.models import BusinessCalendar
from app.core.runner import run_job
from app.core.schedule import periodic_jobs

JUNE_2026 = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
NEW_YEAR_2028 = datetime(2028, 1, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
def eu_office(db_session):
    """The demo's European calendar: French holidays imported for 2026 and 2027 only."""
    calendar = catalogue.create_calendar(
        db_session, None, code="EU_OFFICE", name="European office", timezone="Europe/Paris"
    )
    catalogue.import_public_holidays(db_session, None, calendar, "FR", [2026, 2027])
    db_session.commit()
    return calendar


def years_of(db_session, code: str) -> set[int]:
    db_session.expire_all()
    calendar = db_session.scalar(select(BusinessCalendar).where(BusinessCalendar.code == code))
    return {holiday.day.year for holiday in calendar.holidays}


def by_calendar(exposition: str, name: str) -> dict[str, float]:
    return {
        sample.labels["calendar"]: sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == name
    }


def flagged(exposition: str) -> dict[str, float]:
    return by_calendar(exposition, "steward_calendar_holidays_ending_soon")


# --- the daily job --------------------------------------------------------------------------


def test_on_new_years_day_the_new_and_the_next_year_are_imported(
    db_session, eu_office, frozen_clock
):
    frozen_clock(NEW_YEAR_2028)

    added = run_job("app.catalogue.jobs.keep_holidays_imported")

    assert added > 20
    assert years_of(db_session, "EU_OFFICE") == {2026, 2027, 2028, 2029}
    day = db_session.scalar(
        select(BusinessCalendar).where(BusinessCalendar.code == "EU_OFFICE")
    ).holidays
    assert date(2028, 7, 14) in {holiday.day for holiday in day}


def test_with_both_years_there_the_job_changes_nothing(db_session, eu_office, frozen_clock):
    frozen_clock(JUNE_2026)

    assert keep_holidays_imported(db_session) == 0
    assert years_of(db_session, "EU_OFFICE") == {2026, 2027}


def test_a_holiday_removed_from_an_imported_year_stays_removed(db_session, eu_office, frozen_clock):
    frozen_clock(JUNE_2026)
    catalogue.remove_holiday(db_session, None, eu_office, date(2027, 5, 8))
    db_session.commit()

    keep_holidays_imported(db_session)
    db_session.commit()

    days = {holiday.day for holiday in eu_office.holidays}
    assert date(2027, 5, 8) not in days
    assert date(2027, 7, 14) in days


def test_a_calendar_that_follows_no_country_is_left_alone(db_session, make_calendar, frozen_clock):
    make_calendar("PLANT", holidays=(date(2026, 8, 1),))
    frozen_clock(NEW_YEAR_2028)

    assert keep_holidays_imported(db_session) == 0
    assert years_of(db_session, "PLANT") == {2026}


def test_a_country_the_holidays_package_lacks_does_not_stop_the_others(
    db_session, eu_office, frozen_clock
):
    catalogue.create_calendar(
        db_session, None, code="ATLANTIS", name="Atlantis", timezone="UTC", country="XX"
    )
    db_session.commit()
    frozen_clock(NEW_YEAR_2028)

    keep_holidays_imported(db_session)
    db_session.commit()

    assert 2028 in years_of(db_session, "EU_OFFICE")


def test_an_import_makes_the_calendar_follow_its_country(
    db_session, make_calendar, api_client, admin, frozen_clock
):
    frozen_clock(JUNE_2026)
    make_calendar("NY_OFFICE", timezone="America/New_York")

    response = api_client(admin).post(
        "/api/v1/calendars/NY_OFFICE/holidays/import", json={"country": "us", "years": [2026]}
    )
    run_job("app.catalogue.jobs.keep_holidays_imported")

    assert response.status_code < 300, response.get_json()
    db_session.expire_all()
    calendar = db_session.scalar(
        select(BusinessCalendar).where(BusinessCalendar.code == "NY_OFFICE")
    )
    assert calendar.country == "US"
    assert years_of(db_session, "NY_OFFICE") == {2026, 2027}


def test_the_job_runs_every_day(app):
    [entry] = [e for e in periodic_jobs(app) if e.job.startswith("app.catalogue.")]

    assert entry.job == "app.catalogue.jobs.keep_holidays_imported"
    assert entry.every_seconds == 86400


# --- the flag -------------------------------------------------------------------------------


def test_a_calendar_whose_holidays_end_within_60_days_is_flagged_in_the_metrics(
    db_session, eu_office, make_calendar, client, frozen_clock
):
    make_calendar("PLANT")  # no country, no holidays: it does not use them
    frozen_clock(datetime(2027, 11, 10, 9, 0, tzinfo=UTC))  # last holiday: 25 Dec 2027

    exposition = client.get("/metrics").get_data(as_text=True)

    assert flagged(exposition) == {"EU_OFFICE": 1.0, "PLANT": 0.0}
    assert by_calendar(exposition, "steward_calendar_holidays_end_timestamp_seconds") == {
        "EU_OFFICE": datetime(2027, 12, 26, tzinfo=UTC).timestamp()
    }


def test_a_calendar_with_holidays_well_ahead_is_not_flagged(
    db_session, eu_office, client, frozen_clock
):
    frozen_clock(JUNE_2026)

    assert flagged(client.get("/metrics").get_data(as_text=True)) == {"EU_OFFICE": 0.0}


def test_the_calendar_page_says_when_the_holidays_end(
    db_session, eu_office, admin, signed_in, frozen_clock
):
    frozen_clock(datetime(2027, 11, 10, 9, 0, tzinfo=UTC))

    page = signed_in(admin).get("/catalogue/calendars").get_data(as_text=True)

    assert 'data-testid="holidays-ending"' in page
    assert "Holidays end on Dec 25, 2027" in page


def test_the_calendar_page_shows_no_warning_while_holidays_are_known(
    db_session, eu_office, admin, signed_in, frozen_clock
):
    frozen_clock(JUNE_2026)

    page = signed_in(admin).get("/catalogue/calendars").get_data(as_text=True)

    assert 'data-testid="holidays-ending"' not in page
