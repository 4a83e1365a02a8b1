"""People and data of a steering committee, shared by the governance suites."""

from __future__ import annotations

from datetime import date

import pytest

from app.enhancements.models import Enhancement
from app.indicators.models import IndicatorSnapshot, IndicatorTarget
from tests.factories import PASSWORD


@pytest.fixture
def chair(make_user):
    return make_user(
        "committee_member", email="chair@example.com", name="Claire Chair", password=PASSWORD
    )


@pytest.fixture
def member(make_user):
    return make_user(
        "committee_member", email="mo@example.com", name="Mo Member", password=PASSWORD
    )


@pytest.fixture
def auditor(make_user):
    return make_user(
        "auditor", email="audrey@example.com", name="Audrey Auditor", password=PASSWORD
    )


@pytest.fixture
def owner(make_user):
    """A business user who is given action items (no governance role)."""
    return make_user("requester", email="olga@example.com", name="Olga Owner", password=PASSWORD)


@pytest.fixture
def claire(as_, chair):
    return as_(chair)


@pytest.fixture
def audrey(as_, auditor):
    return as_(auditor)


@pytest.fixture
def olga(as_, owner):
    return as_(owner)


@pytest.fixture
def out_of_target_kpi(db_session, finance):
    """MTTR in Finance far above its target, and getting worse."""
    db_session.add(
        IndicatorTarget(
            key="mttr_seconds",
            dimension="overall",
            target=3600.0,
            amber=600.0,
            direction="at_most",
        )
    )
    for day, value in [(date(2026, 11, 20), 5000.0), (date(2026, 11, 30), 9000.0)]:
        db_session.add(
            IndicatorSnapshot(key="mttr_seconds", day=day, dimension="overall", value=value)
        )
    db_session.commit()
    return "mttr_seconds"


@pytest.fixture
def pending_enhancement(db_session, finance, make_user):
    """A request qualified by its product owner, waiting for the committee."""
    requester = make_user("requester")
    enhancement = Enhancement(
        title="Bulk invoice approval",
        problem="Approving invoices one by one takes hours.",
        benefit="A day saved per month end.",
        module_id=finance.id,
        requester_id=requester.id,
        status="under_review",
    )
    db_session.add(enhancement)
    db_session.commit()
    return enhancement
