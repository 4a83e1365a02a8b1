"""Closed sprints and late access reviews reach a new meeting's agenda and the report."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.access.models import AccessGrant, CampaignItem, ErpRole, ReviewCampaign
from app.governance import meetings, service
from app.governance.report import build_report
from app.sprints.models import Sprint

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def _sprint(db_session, module, name: str, closed_at: datetime | None) -> Sprint:
    sprint = Sprint(
        name=name,
        start_date=date(2026, 11, 2),
        end_date=date(2026, 11, 13),
        capacity_points=30,
        module_id=module.id,
        status="closed" if closed_at else "active",
        committed_points=20,
        done_points=15,
        velocity=15 if closed_at else None,
        carried_items=1 if closed_at else 0,
        closed_at=closed_at,
    )
    db_session.add(sprint)
    return sprint


def _campaign(db_session, chair, holder, module, name: str, deadline: date) -> ReviewCampaign:
    role = db_session.query(ErpRole).filter_by(code="FIN_AP").one_or_none()
    if role is None:
        role = ErpRole(code="FIN_AP", name="Payables", module_id=module.id)
        db_session.add(role)
        db_session.flush()
    grant = AccessGrant(user_id=holder.id, role_id=role.id, module_id=module.id, status="active")
    campaign = ReviewCampaign(name=name, deadline=deadline, created_by_id=chair.id)
    db_session.add_all([grant, campaign])
    db_session.flush()
    db_session.add(
        CampaignItem(
            campaign_id=campaign.id, grant_id=grant.id, user_id=holder.id, module_id=module.id
        )
    )
    return campaign


@pytest.fixture
def delivery_and_access(db_session, frozen_clock, chair, owner, finance):
    frozen_clock(NOW)
    old = _sprint(db_session, finance, "Before", datetime(2026, 11, 5, 17, tzinfo=UTC))
    closed = _sprint(db_session, finance, "Payables 3", datetime(2026, 11, 20, 17, tzinfo=UTC))
    running = _sprint(db_session, finance, "Running", None)
    late = _campaign(db_session, chair, owner, finance, "Q4 finance", date(2026, 11, 25))
    on_time = _campaign(db_session, chair, owner, finance, "Q1 finance", date(2027, 1, 15))
    db_session.commit()
    return {"old": old, "closed": closed, "running": running, "late": late, "on_time": on_time}


def test_a_closed_sprint_and_a_late_campaign_are_on_a_new_meeting_agenda(
    db_session, chair, delivery_and_access
):
    data = delivery_and_access
    committee = service.create_committee(db_session, chair, name="S", cadence="weekly", members=[])
    meetings.create_meeting(db_session, chair, committee, datetime(2026, 11, 10, 9, tzinfo=UTC))
    meeting = meetings.create_meeting(db_session, chair, committee, NOW)

    points = {p.source: (p.kind, p.title) for p in meeting.points}

    # closed since the previous meeting (10 Nov): the sprint of 20 Nov, not that of 5 Nov
    assert points[f"sprint:{data['closed'].id}"] == (
        "sprint_outcome",
        "Sprint Payables 3 (FIN) closed: 15 of 20 committed points done (75%), 1 item carried over",
    )
    assert f"sprint:{data['old'].id}" not in points
    assert f"sprint:{data['running'].id}" not in points
    assert points[f"access_campaign:{data['late'].id}"] == (
        "access_campaign",
        "Access review Q4 finance is late: deadline 2026-11-25, 1 item undecided",
    )
    assert f"access_campaign:{data['on_time'].id}" not in points


def test_the_report_lists_the_period_sprints_and_the_access_reviews(
    db_session, chair, delivery_and_access
):
    data = delivery_and_access

    report = build_report(db_session, chair, "2026-11")

    assert [s["source"] for s in report["sprints"]] == [
        f"sprint:{data['old'].id}",
        f"sprint:{data['closed'].id}",
    ]
    assert report["access"] == {
        "open_campaigns": 2,
        "late_campaigns": 1,
        "undecided_items": 2,
        "overdue_review_items": 1,
        "open_sod_exceptions": 0,
    }
    october = build_report(db_session, chair, "2026-10")
    assert october["sprints"] == []
    assert october["access"]["late_campaigns"] == 0


def test_the_report_page_names_the_access_measures_in_words(signed_in, chair, delivery_and_access):
    page = signed_in(chair).get("/governance/report?period=2026-11").get_data(as_text=True)

    assert "<li>Access reviews past their deadline: 1</li>" in page
    assert "late campaigns" not in page
