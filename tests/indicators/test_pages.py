"""The dashboards and the targets page: charts as images, their numbers, CSV, hotspots; only
admins change targets, the auditor reads."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.core.clock import utcnow
from app.indicators.models import IndicatorSnapshot, IndicatorTarget, dimension_of
from tests.factories import PASSWORD


@pytest.fixture
def recent(db_session, finance):
    """Four weeks of FIN snapshots: tickets per 100 MAU rising while MAU falls."""
    today = utcnow().date()
    for n in range(29):
        day = today - timedelta(days=28 - n)
        for key, value in [
            ("tickets_opened", float(n % 5)),
            ("tickets_resolved", float(n % 3)),
            ("mau", 100.0 - n),
            ("tickets_per_100_mau", 5.0 + n / 4),
        ]:
            db_session.add(IndicatorSnapshot(key=key, day=day, dimension="overall", value=value))
            db_session.add(
                IndicatorSnapshot(
                    key=key,
                    day=day,
                    dimension=dimension_of(finance.id),
                    module_id=finance.id,
                    value=value,
                )
            )
    db_session.commit()
    return today


def test_the_support_dashboard_shows_charts_numbers_and_hotspots(signed_in, make_user, recent):
    browser = signed_in(make_user("agent", password=PASSWORD))
    page = browser.get("/indicators/support")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-testid="chart-tickets_opened-tickets_resolved"' in html
    assert "/indicators/chart.svg?key=tickets_opened&amp;key=tickets_resolved" in html
    assert 'data-testid="hotspots"' in html and "FIN · Finance" in html
    assert " style=" not in html


def test_indicator_names_are_in_the_readers_language_on_pages_not_in_the_api(
    signed_in, as_, make_user, recent
):
    agent = make_user("agent", password=PASSWORD)
    french = {"Accept-Language": "fr"}

    page = signed_in(agent).get("/indicators/support", headers=french).get_data(as_text=True)
    listed = as_(agent).get("/api/v1/indicators", headers=french).get_json()["items"]

    assert "<th>Tickets ouverts</th>" in page
    assert "Tickets créés dans la journée." in page  # the formula, in words
    assert "Tickets opened" not in page and "Tickets created during the day." not in page
    assert {"key": "tickets_opened", "name": "Tickets opened"}.items() <= listed[0].items()


def test_a_chart_is_an_svg_image_with_its_own_policy(signed_in, make_user, recent):
    browser = signed_in(make_user("agent", password=PASSWORD))
    response = browser.get("/indicators/chart.svg?key=mau&module=FIN&days=30")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert "<svg" in response.get_data(as_text=True)
    assert "script-src" not in response.headers["Content-Security-Policy"]
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_the_numbers_download_as_csv(signed_in, make_user, recent):
    browser = signed_in(make_user("agent", password=PASSWORD))
    response = browser.get("/indicators/series.csv?key=mau&key=tickets_opened&days=30")
    assert response.status_code == 200
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "date,mau,tickets_opened"
    assert lines[-1] == f"{recent.isoformat()},72.0,3.0"
    assert len(lines) == 30


@pytest.mark.parametrize(
    "url",
    [
        "/indicators/chart.svg?key=nope",
        "/indicators/series.csv",
        "/indicators/nowhere",
        "/indicators/support?module=NOPE",
    ],
)
def test_unknown_things_are_not_found(signed_in, make_user, url):
    browser = signed_in(make_user("agent", password=PASSWORD))
    assert browser.get(url).status_code == 404


@pytest.mark.parametrize("family", ["support", "adoption", "delivery", "access"])
def test_every_dashboard_renders_before_any_computation(signed_in, make_user, family):
    browser = signed_in(make_user("auditor", password=PASSWORD))
    response = browser.get(f"/indicators/{family}")
    assert response.status_code == 200
    assert "No indicator has been computed yet." in response.get_data(as_text=True)


def test_a_requester_sees_no_indicators(signed_in, make_user):
    browser = signed_in(make_user("requester", password=PASSWORD))
    assert browser.get("/indicators/support").status_code == 403
    assert browser.get("/indicators/chart.svg?key=mau").status_code == 403


def test_an_admin_sets_a_target_through_the_page(signed_in, make_user, db_session, finance):
    browser = signed_in(make_user("admin", password=PASSWORD))
    page = browser.get("/indicators/targets")
    assert 'data-testid="new-target"' in page.get_data(as_text=True)
    response = browser.post(
        "/indicators/targets",
        data={
            "form": "new-target",
            "key": "csat_average",
            "module": "FIN",
            "target": "4,2",
            "amber": "0.3",
            "direction": "at_least",
        },
    )
    assert response.status_code == 303
    target = db_session.query(IndicatorTarget).one()
    assert (target.key, target.module_id, target.target) == ("csat_average", finance.id, 4.2)


def test_a_stale_target_form_is_refused(signed_in, make_user, db_session):
    db_session.add(
        IndicatorTarget(key="dau", dimension="overall", target=10, amber=1, direction="at_least")
    )
    db_session.commit()
    browser = signed_in(make_user("admin", password=PASSWORD))
    response = browser.post(
        "/indicators/targets",
        data={
            "key": "dau",
            "module": "",
            "version": "7",  # someone saved versions 2 to 7 meanwhile
            "target": "50",
            "amber": "1",
            "direction": "at_least",
        },
    )
    assert response.status_code == 303
    assert "draft=" in response.headers["Location"]
    db_session.expire_all()
    assert db_session.query(IndicatorTarget).one().target == 10


def test_the_auditor_reads_targets_without_a_form(signed_in, make_user):
    browser = signed_in(make_user("auditor", password=PASSWORD))
    page = browser.get("/indicators/targets")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="targets"' in html
    assert 'data-testid="new-target"' not in html and 'name="target"' not in html
    refused = browser.post(
        "/indicators/targets",
        data={"key": "dau", "target": "5", "amber": "0", "direction": "at_least"},
    )
    assert refused.status_code == 403
