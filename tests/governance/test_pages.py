"""Governance pages: who sees what and which forms, the meeting flow, the report and its PDF."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime

import pytest

from app.governance import budget, meetings, risks, service

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _december(frozen_clock):
    frozen_clock(NOW)


@pytest.fixture
def steering(db_session, chair, member, owner):
    committee = service.create_committee(
        db_session, chair, name="Steering", cadence="monthly", members=[member.email]
    )
    db_session.commit()
    return committee


@pytest.mark.parametrize(
    "path",
    [
        "/governance",
        "/governance/risks",
        "/governance/budget",
        "/governance/pulse",
        "/governance/report",
    ],
)
def test_committee_and_auditor_read_the_pages_a_requester_does_not(
    signed_in, chair, auditor, owner, path
):
    assert signed_in(chair).get(path).status_code == 200
    assert signed_in(auditor).get(path).status_code == 200
    assert signed_in(owner).get(path).status_code == 403


def test_the_auditor_sees_no_write_form(signed_in, auditor, steering, db_session, chair):
    meeting = meetings.create_meeting(db_session, chair, steering, NOW)
    db_session.commit()
    browser = signed_in(auditor)

    for path in [
        "/governance",
        "/governance/risks",
        "/governance/budget",
        f"/governance/meetings/{meeting.id}",
        f"/governance/committees/{steering.id}",
    ]:
        html = browser.get(path).get_data(as_text=True)
        assert 'method="post" action="/governance' not in html, path


def test_the_auditor_cannot_post_to_a_meeting(signed_in, auditor, steering, db_session, chair):
    meeting = meetings.create_meeting(db_session, chair, steering, NOW)
    db_session.commit()

    response = signed_in(auditor).post(
        f"/governance/meetings/{meeting.id}/publish", data={"version": meeting.version}
    )
    db_session.refresh(meeting)

    assert response.status_code == 303
    assert meeting.status == "draft"


def test_the_chair_schedules_a_meeting_and_lands_on_its_agenda(signed_in, chair, steering):
    browser = signed_in(chair)

    scheduled = browser.post(
        f"/governance/committees/{steering.id}/meetings", data={"day": "2026-12-08"}
    )

    assert scheduled.status_code == 303
    assert re.search(r"/governance/meetings/\d+$", scheduled.headers["Location"])
    page = browser.get(scheduled.headers["Location"]).get_data(as_text=True)
    assert "its agenda was drafted from the data" in page


def test_the_chair_records_an_action_and_publishes_from_the_meeting_page(
    signed_in, chair, owner, steering, db_session
):
    meeting = meetings.create_meeting(db_session, chair, steering, NOW)
    db_session.commit()
    browser = signed_in(chair)
    url = f"/governance/meetings/{meeting.id}"

    given = browser.post(
        f"{url}/actions",
        data={
            "version": meeting.version,
            "title": "Call the vendor",
            "owner": owner.email,
            "due_date": "2026-12-20",
        },
    )
    db_session.refresh(meeting)
    published = browser.post(f"{url}/publish", data={"version": meeting.version})
    page = browser.get(url).get_data(as_text=True)
    mine = signed_in(owner).get("/governance/actions").get_data(as_text=True)

    assert (given.status_code, published.status_code) == (303, 303)
    assert "minutes published" in page
    assert "Call the vendor" in mine


def test_a_stale_meeting_form_is_refused(signed_in, chair, steering, db_session):
    meeting = meetings.create_meeting(db_session, chair, steering, NOW)
    db_session.commit()
    browser = signed_in(chair)
    url, version = f"/governance/meetings/{meeting.id}", meeting.version
    browser.post(f"{url}/minutes", data={"version": version, "notes": "One"})

    stale = browser.post(f"{url}/minutes", data={"version": version, "notes": "Two"})
    db_session.refresh(meeting)

    assert "draft=" in stale.headers["Location"]
    assert meeting.notes == "One"


def test_the_heat_map_counts_live_risks_by_probability_and_impact(
    signed_in, chair, owner, db_session
):
    risks.create_risk(
        db_session, chair, title="A", category="x", probability=5, impact=5, owner=owner.email
    )
    risks.create_risk(
        db_session,
        chair,
        title="B",
        category="x",
        probability=5,
        impact=5,
        owner=owner.email,
        status="closed",
    )
    db_session.commit()

    html = signed_in(chair).get("/governance/risks").get_data(as_text=True)

    assert risks.heat_map(db_session)[0][4] == 1
    assert re.search(r'heat-critical"[^>]*>1<', html)


def test_the_budget_page_has_its_chart_as_an_image(signed_in, chair, db_session):
    budget.set_planned(db_session, chair, 2026, "support", {"01": 100})
    db_session.commit()

    html = signed_in(chair).get("/governance/budget?year=2026").get_data(as_text=True)

    assert 'src="data:image/svg+xml;base64,' in html
    assert "<script" not in html.split("<main")[1]
    # 100 planned in January, nothing spent: the forecast is within plan, said so in words
    assert re.search(r'data-testid="budget-status">within plan<', html)


def test_the_pdf_holds_the_report_text(signed_in, chair, owner, db_session):
    risks.create_risk(
        db_session,
        chair,
        title="Key users leave",
        category="people",
        probability=4,
        impact=5,
        owner=owner.email,
        review_by=date(2027, 1, 1),
    )
    db_session.commit()
    from pypdf import PdfReader

    response = signed_in(chair).get("/governance/report.pdf?period=2026-11")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)

    assert response.mimetype == "application/pdf"
    assert "Governance report 2026-11" in text
    assert "Key users leave" in text
    assert "Jan 1, 2027" in text  # the risk's review day, in words


def test_the_pulse_banner_takes_an_answer_once(signed_in, admin, owner, db_session):
    from app.governance import pulse

    survey = pulse.open_survey(db_session, admin, title="Pulse", questions=["Helps me"])
    db_session.commit()
    browser = signed_in(owner)

    assert "Pulse" in browser.get("/").get_data(as_text=True)
    answered = browser.post(f"/governance/pulse/{survey.id}/answer", data={"score_0": "4"})
    home = browser.get("/").get_data(as_text=True)

    assert answered.status_code == 303
    assert "No survey is waiting for your answer." in home


def test_an_objective_is_set_by_choosing_its_indicator_and_shown_in_words(
    signed_in, chair, owner, out_of_target_kpi, finance
):
    browser = signed_in(chair)
    form = browser.get("/governance").get_data(as_text=True)

    assert '<option value="mttr_seconds">Mean time to resolve' in form
    assert f'<option value="{finance.code}">' in form
    set_ = browser.post(
        "/governance/objectives",
        data={
            "title": "Resolve within the hour",
            "owner": owner.email,
            "indicator": "mttr_seconds",
        },
    )
    board = browser.get("/governance").get_data(as_text=True)
    report = browser.get("/governance/report").get_data(as_text=True)

    assert set_.status_code == 303
    assert re.search(r'class="rag rag-red">off target</span>\s*· worsening', board)
    assert 'class="rag rag-red">off target</span>' in report
    assert ">red<" not in board + report
    assert "Mean time to resolve: 2.5 h / 1.0 h" in board  # 9000 s against 3600 s
