"""The governance gauges on /metrics."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.governance import actions, risks

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _december(frozen_clock):
    frozen_clock(NOW)


def test_metrics_count_alerting_risks_and_overdue_actions(client, db_session, chair, owner):
    risks.create_risk(
        db_session, chair, title="High", category="x", probability=5, impact=4, owner=owner.email
    )
    risks.create_risk(
        db_session,
        chair,
        title="Late",
        category="x",
        probability=1,
        impact=1,
        owner=owner.email,
        review_by=date(2026, 11, 1),
    )
    risks.create_risk(
        db_session,
        chair,
        title="Closed",
        category="x",
        probability=5,
        impact=5,
        owner=owner.email,
        status="closed",
    )
    actions.create_action(
        db_session, chair, title="Late", owner=owner.email, due_date=date(2026, 11, 20)
    )
    actions.create_action(
        db_session, chair, title="Later", owner=owner.email, due_date=date(2026, 12, 20)
    )
    db_session.commit()

    text = client.get("/metrics").get_data(as_text=True)

    assert 'steward_governance_risks_alerting{reason="score"} 1.0' in text
    assert 'steward_governance_risks_alerting{reason="review_overdue"} 1.0' in text
    assert "steward_governance_actions_overdue 1.0" in text
