"""Sprint fixtures: the Finance product owner, approved requests to plan, sprint helpers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from app.enhancements.models import Enhancement, EnhancementVote
from tests.factories import PASSWORD

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # sprint 1 runs 2 to 13 March 2026
SPRINT = {
    "name": "Sprint 1",
    "goal": "Faster month-end closing",
    "start_date": "2026-03-02",
    "end_date": "2026-03-13",
    "capacity_points": 20,
    "module": "FIN",
}
NEXT_SPRINT = {**SPRINT, "name": "Sprint 2", "start_date": "2026-03-16", "end_date": "2026-03-27"}


@pytest.fixture
def po(make_user, finance):
    """The product owner of Finance."""
    return make_user(
        "product_owner", "FIN", email="pat@example.com", name="Pat Owner", password=PASSWORD
    )


@pytest.fixture
def pat(as_, po):
    return as_(po)


@pytest.fixture
def approved(db_session, finance, make_user) -> Callable[..., Enhancement]:
    """approved(title=..., module=finance, requester=None, voters=()) -> an approved request."""

    def build(
        title: str = "Post recurring journals automatically",
        module=None,
        requester=None,
        voters=(),
        status: str = "approved",
        benefit: str = "Saves two days at every month-end close.",
    ) -> Enhancement:
        requester = requester or make_user("requester")
        request = Enhancement(
            title=title,
            problem="Recurring journals are typed by hand every month.",
            benefit=benefit,
            module_id=(module or finance).id,
            requester_id=requester.id,
            status=status,
            approved_at=MONDAY,
        )
        db_session.add(request)
        db_session.flush()
        for voter in voters:
            db_session.add(EnhancementVote(enhancement_id=request.id, user_id=voter.id))
        request.vote_count = len(voters)
        db_session.commit()
        return request

    return build


@pytest.fixture
def monday(frozen_clock):
    frozen_clock(MONDAY)
    return frozen_clock


def created(api, **fields) -> dict:
    response = api.post("/api/v1/sprints", json={**SPRINT, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def planned(api, sprint_id: int, ref: str, points: int) -> dict:
    response = api.post(f"/api/v1/sprints/{sprint_id}/items", json={"ref": ref, "points": points})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def posted(api, url: str, status: int = 200, **body) -> dict:
    response = api.post(url, json=body)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def day(text: str) -> date:
    return date.fromisoformat(text)
