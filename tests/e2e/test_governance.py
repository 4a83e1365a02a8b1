"""The steering committee in the browser: the chair opens a meeting whose agenda holds an
out-of-target KPI and an enhancement request waiting for a decision, records the decision and
an action item, publishes the minutes, and the action appears in its owner's "My actions".

The KPI and the request are put straight into the server's database (its SQLite file under
the session's e2e instance folder), as the indicator jobs and the requester would have.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or fail in CI) and say why
    expect = None

from app.demo import DEMO_DOMAIN

KPI = "fcr_ratio"
KPI_NAME = "First contact resolution"


def _server_database(tmp_path_factory) -> Path:
    found = sorted(tmp_path_factory.getbasetemp().glob("e2e-instance*/steward.db"))
    assert found, "the e2e server's database was not found"
    return found[-1]


@pytest.fixture
def agenda_material(live_server, tmp_path_factory) -> str:
    """A red KPI (a target and a snapshot under it) and a request under review; its title."""
    from app import create_app
    from app.catalogue.models import Module
    from app.core.db import db
    from app.enhancements.models import Enhancement
    from app.identity.models import User
    from app.indicators.models import IndicatorSnapshot, IndicatorTarget

    path = _server_database(tmp_path_factory)
    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "REDIS_URL": None}
    )
    title = f"Bulk approval of invoices {uuid.uuid4().hex[:8]}"
    with app.app_context():
        session = db.session
        if session.scalar(db.select(IndicatorTarget).where(IndicatorTarget.key == KPI)) is None:
            session.add(
                IndicatorTarget(
                    key=KPI, dimension="overall", target=0.8, amber=0.05, direction="at_least"
                )
            )
        today = datetime.now(UTC).date()
        for days_ago, value in ((3, 0.5), (0, 0.4)):
            day = today - timedelta(days=days_ago)
            row = session.scalar(
                db.select(IndicatorSnapshot).where(
                    IndicatorSnapshot.key == KPI,
                    IndicatorSnapshot.day == day,
                    IndicatorSnapshot.dimension == "overall",
                )
            )
            if row is None:
                session.add(IndicatorSnapshot(key=KPI, day=day, dimension="overall", value=value))
            else:
                row.value = value
        requester = session.scalar(db.select(User).where(User.email == f"requester@{DEMO_DOMAIN}"))
        finance = session.scalar(db.select(Module).where(Module.code == "FIN"))
        session.add(
            Enhancement(
                title=title,
                problem="Invoices are approved one by one.",
                benefit="A day saved at every month end.",
                module_id=finance.id,
                requester_id=requester.id,
                status="under_review",
            )
        )
        session.commit()
        db.engine.dispose()
    return title


def test_the_chair_decides_in_a_meeting_and_the_owner_gets_the_action(
    login_as, new_page, agenda_material
):
    chair = login_as("committee")
    chair.get_by_role("navigation", name="Main").get_by_role("link", name="Governance").click()
    chair.get_by_role("link", name="Steering committee").click()
    day = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
    chair.get_by_label("Day").fill(day)
    chair.get_by_role("button", name="Schedule a meeting").click()

    agenda = chair.get_by_test_id("agenda")
    expect(agenda.locator("li[data-kind=indicator]", has_text=KPI_NAME)).to_be_visible()
    request_point = agenda.locator("li[data-kind=enhancement_decision]", has_text=agenda_material)
    expect(request_point).to_be_visible()

    request_point.get_by_label("Decision").select_option("approve")
    request_point.get_by_label("Rationale").fill("A day saved at every month end.")
    request_point.get_by_role("button", name="Record the decision").click()
    expect(chair.get_by_test_id("decisions")).to_contain_text("Approve")

    action = f"Write the specification {uuid.uuid4().hex[:6]}"
    form = chair.get_by_test_id("action-form")
    # By role and exact name: the agenda-point list's label holds every point's
    # title, and "Customer satisfaction" contains "action".
    form.get_by_role("textbox", name="Action", exact=True).fill(action)
    form.get_by_role("combobox", name="Owner").select_option(f"requester@{DEMO_DOMAIN}")
    form.get_by_label("Due", exact=True).fill(day)
    form.get_by_role("button", name="Give the action").click()
    expect(chair.get_by_test_id("meeting-actions")).to_contain_text(action)

    chair.get_by_role("button", name="Publish the minutes to the members").click()
    expect(chair.get_by_test_id("meeting-status")).to_have_text("minutes published")

    owner = login_as("requester", page=new_page())
    owner.get_by_role("navigation", name="Main").get_by_role("link", name="My actions").click()
    expect(owner.get_by_test_id("my-actions")).to_contain_text(action)


def test_governance_pages_keep_the_content_security_policy(login_as):
    from tests.e2e.test_content_security_policy import watch_csp

    page = login_as("committee")
    violations = watch_csp(page)
    for path in [
        "/governance",
        "/governance/risks",
        "/governance/budget",
        "/governance/pulse",
        "/governance/actions",
        "/governance/report",
    ]:
        response = page.goto(path)
        assert response.status == 200, path
        expect(page.get_by_role("heading", level=1)).to_be_visible()

    assert violations == []
