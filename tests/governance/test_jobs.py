"""Periodic governance work: reminders, escalations, risk alerts, the report mail and the
governance indicators; each may run twice and sends nothing twice."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from app.core.outbox import OutboxMessage
from app.governance import actions, budget, jobs, meetings, risks, service
from app.indicators import service as indicators

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _december(frozen_clock):
    frozen_clock(NOW)


def events(db_session) -> list[tuple[str, dict]]:
    rows = db_session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.job == jobs.notifications.EMAIL_JOB)
        .order_by(OutboxMessage.id)
    )
    return [(m.kwargs["event"], m.kwargs) for m in rows]


def test_owners_are_reminded_and_chairs_told_of_overdue_actions_once(
    db_session, chair, member, owner
):
    steering = service.create_committee(
        db_session, chair, name="Steering", cadence="monthly", members=[member.email]
    )
    meeting = meetings.create_meeting(db_session, chair, steering, NOW)
    soon = actions.create_action(
        db_session,
        chair,
        title="Soon",
        owner=owner.email,
        due_date=date(2026, 12, 2),
        meeting=meeting,
    )
    late = actions.create_action(
        db_session,
        chair,
        title="Late",
        owner=owner.email,
        due_date=date(2026, 11, 25),
        meeting=meeting,
    )
    actions.create_action(
        db_session, chair, title="Far", owner=owner.email, due_date=date(2027, 1, 30)
    )
    db_session.commit()

    first = jobs.remind_and_escalate_actions(db_session)
    second = jobs.remind_and_escalate_actions(db_session)
    db_session.commit()

    assert first == {"reminded": 1, "escalated": 1}
    assert second == {"reminded": 0, "escalated": 0}
    sent = {(e, k["action_id"]) for e, k in events(db_session)}
    assert sent == {("action_reminder", soon.id), ("action_escalation", late.id)}
    assert jobs.send_governance_email(db_session, event="action_escalation", action_id=late.id) == [
        chair.email
    ]
    assert jobs.send_governance_email(db_session, event="action_reminder", action_id=soon.id) == [
        owner.email
    ]


def test_a_high_or_late_risk_alerts_its_owner_once_per_state(db_session, chair, owner):
    high = risks.create_risk(
        db_session,
        chair,
        title="High",
        category="ops",
        probability=4,
        impact=4,
        owner=owner.email,
        review_by=date(2027, 3, 1),
    )
    late = risks.create_risk(
        db_session,
        chair,
        title="Late",
        category="ops",
        probability=1,
        impact=2,
        owner=owner.email,
        review_by=date(2026, 11, 1),
    )
    risks.create_risk(
        db_session,
        chair,
        title="Calm",
        category="ops",
        probability=1,
        impact=1,
        owner=owner.email,
        review_by=date(2027, 3, 1),
    )

    assert jobs.alert_risks(db_session) == 2
    assert jobs.alert_risks(db_session) == 0
    risks.update_risk(db_session, chair, high, {"impact": 5})
    assert jobs.alert_risks(db_session) == 1  # a new score is news
    kinds = sorted((e, k["risk_id"]) for e, k in events(db_session))
    assert kinds == sorted(
        [("risk_score", high.id), ("risk_review", late.id), ("risk_score", high.id)]
    )


def test_the_monthly_report_goes_once_to_each_committee(db_session, chair, member):
    service.create_committee(
        db_session, chair, name="Steering", cadence="monthly", members=[member.email]
    )
    db_session.commit()

    assert jobs.email_monthly_report(db_session) == 1
    assert jobs.email_monthly_report(db_session) == 0
    ((event, kwargs),) = events(db_session)
    assert (event, kwargs["period"]) == ("report", "2026-11")
    assert sorted(jobs.send_governance_email(db_session, **kwargs)) == [chair.email, member.email]


def test_governance_indicators_are_stored_once_a_day(db_session, chair):
    budget.set_planned(db_session, chair, 2026, "support", {f"{m:02d}": 100 for m in range(1, 13)})
    for month in range(1, 12):
        budget.record_actual(db_session, chair, 2026, "support", month, 110)

    jobs.record_governance_indicators(db_session)
    jobs.record_governance_indicators(db_session)
    db_session.commit()

    point = indicators.latest(db_session, "budget_consumption_ratio")
    assert point.value == pytest.approx(1.1)
    assert len(indicators.series(db_session, "budget_consumption_ratio")) == 1


def test_the_periodic_jobs_are_registered(app):
    from app.core.schedule import periodic_jobs

    names = {p.job for p in periodic_jobs(app)}
    assert {p.job for p in jobs.PERIODIC} <= names
