"""Times, dates and durations as a viewer reads them: their zone, their language."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.core.i18n import business_duration, local_date, local_dt, local_number, select_locale

WINTER = datetime(2026, 12, 1, 14, 5, tzinfo=UTC)
SUMMER = datetime(2026, 7, 1, 14, 5, tzinfo=UTC)


@pytest.fixture
def viewing(app):
    """viewing(language, zone): a request context whose viewer has these settings."""

    def enter(accept_language: str = "en", zone: str = "UTC"):
        app.config["DEFAULT_TIMEZONE"] = zone
        context = app.test_request_context(headers={"Accept-Language": accept_language})
        context.push()
        contexts.append(context)

    contexts: list = []
    yield enter
    for context in reversed(contexts):
        context.pop()


def test_an_instant_reads_in_the_viewers_zone_with_its_daylight_saving(viewing):
    viewing("en", "Europe/Paris")

    assert local_dt(WINTER) == "Dec 1, 2026, 15:05"
    assert local_dt(SUMMER, zone=True) == "Jul 1, 2026, 16:05 CEST"


def test_a_french_browser_reads_french_dates(viewing):
    viewing("fr-FR,fr;q=0.9", "Europe/Paris")

    assert select_locale() == "fr"
    assert local_dt(WINTER, zone=True) == "1 déc. 2026, 15:05 CET"
    assert local_date(date(2026, 5, 25)) == "25 mai 2026"


def test_an_unknown_language_falls_back_to_english(viewing):
    viewing("de-DE", "UTC")

    assert select_locale() == "en"
    assert local_dt(WINTER) == "Dec 1, 2026, 14:05"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0 min"),
        (59 * 60, "59 min"),
        (4 * 3600 + 5 * 60, "4 h 05 min"),
        (99 * 3600, "99 h 00 min"),
    ],
)
def test_business_time_is_hours_and_minutes_never_days(viewing, seconds, shown):
    viewing("en")

    assert business_duration(seconds) == shown
    assert business_duration(-seconds) == shown


def test_nothing_to_show_is_a_dash(viewing):
    viewing("en")

    assert (local_dt(None), local_date(None), business_duration(None)) == ("—", "—", "—")


def test_a_message_for_someone_else_speaks_their_language_then_the_page_speaks_ours(app, viewing):
    from flask import render_template_string

    from app.core.i18n import speaking_to

    viewing("en", "Europe/Paris")
    page = "{{ _('Priority') }} {{ 5400|business_duration }} {{ when|local_dt }}"
    before = render_template_string(page, when=WINTER)

    with speaking_to("fr", "America/New_York"):
        message = render_template_string(page, when=WINTER)
    after = render_template_string(page, when=WINTER)

    assert before == after == "Priority 1 h 30 min Dec 1, 2026, 15:05"
    assert message == "Priorité 1 h 30 min 1 déc. 2026, 09:05"


@pytest.mark.parametrize(
    ("language", "value", "options", "shown"),
    [
        ("en", 78500, {}, "78,500"),
        ("fr", 78500, {}, "78\u202f500"),
        ("en", 14.44, {"digits": 1}, "14.4"),
        ("fr", 14.44, {"digits": 1}, "14,4"),
        ("en", 1200, {"sign": True}, "+1,200"),
        ("en", -1200, {"sign": True}, "-1,200"),
        ("en", None, {}, "—"),
    ],
)
def test_a_number_reads_with_the_viewers_marks(viewing, language, value, options, shown):
    viewing(language)

    assert local_number(value, **options) == shown


def test_iso_text_from_an_export_reads_like_the_value_it_stands_for(viewing):
    viewing("en", "Europe/Paris")

    assert local_dt(WINTER.isoformat()) == local_dt(WINTER) == "Dec 1, 2026, 15:05"
    assert local_date("2027-01-01") == "Jan 1, 2027"
    assert local_dt("") == local_date(None) == "—"
