"""Saved views: a named set of queue filters, private to its owner or shared with a group."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.catalogue import service as catalogue
from app.core.audit import AuditEvent
from tests.incidents.conftest import ROLES

VIEWS = "/api/v1/saved-views"
P1_OPEN = {"name": "P1 open", "filters": {"view": "open", "priority": "P1"}}


@pytest.fixture
def group(db_session, desk_people, make_user):
    group = catalogue.create_group(db_session, None, code="L2", name="Second level")
    bea = make_user("agent", email="bea@example.com", name="Bea")
    catalogue.set_group_members(db_session, None, group, [desk_people["agent"], bea])
    db_session.commit()
    return bea


def test_an_agent_saves_a_view_and_finds_it_among_theirs(desk_api, db_session):
    created = desk_api("agent").post(VIEWS, json=P1_OPEN)

    assert created.status_code == 201, created.get_json()
    assert created.get_json()["filters"] == {"view": "open", "priority": "P1"}
    listed = desk_api("agent").get(VIEWS).get_json()["items"]
    assert [(v["name"], v["mine"], v["group"]) for v in listed] == [("P1 open", True, None)]
    assert db_session.scalar(
        select(AuditEvent.action).where(AuditEvent.entity_type == "saved_view")
    )


def test_a_private_view_is_nobody_elses(desk_api, as_, make_user):
    view = desk_api("agent").post(VIEWS, json=P1_OPEN).get_json()
    other = as_(make_user("agent", email="carl@example.com"))

    assert other.get(VIEWS).get_json()["items"] == []
    assert other.get(f"{VIEWS}/{view['id']}").status_code == 404
    assert other.delete(f"{VIEWS}/{view['id']}").status_code == 404


def test_a_view_shared_with_a_group_is_seen_by_its_members_who_cannot_delete_it(
    desk_api, as_, group
):
    view = desk_api("agent").post(VIEWS, json={**P1_OPEN, "group": "L2"}).get_json()
    bea = as_(group)

    seen = bea.get(VIEWS).get_json()["items"]
    assert [(v["name"], v["mine"], v["group"]) for v in seen] == [("P1 open", False, "L2")]
    assert bea.delete(f"{VIEWS}/{view['id']}").status_code == 403
    assert desk_api("agent").delete(f"{VIEWS}/{view['id']}").status_code == 204
    assert bea.get(VIEWS).get_json()["items"] == []


def test_a_view_is_shared_only_with_a_group_one_belongs_to(desk_api, db_session):
    catalogue.create_group(db_session, None, code="L3", name="Third level")
    db_session.commit()

    response = desk_api("agent").post(VIEWS, json={**P1_OPEN, "group": "L3"})

    assert response.status_code == 422
    assert "group" in response.get_json()["errors"]


def test_two_views_of_one_owner_do_not_share_a_name(desk_api):
    desk_api("agent").post(VIEWS, json=P1_OPEN)

    again = desk_api("agent").post(VIEWS, json=P1_OPEN)

    assert again.status_code == 409


@pytest.mark.parametrize(
    "filters",
    [
        {"colour": "red"},
        {"view": "nowhere"},
        {"priority": "P9"},
        {"sort": "random"},
        {"q": "x" * 400},
        {"status": "new,lost"},
    ],
)
def test_unknown_filters_are_refused_by_name(desk_api, filters):
    response = desk_api("agent").post(VIEWS, json={"name": "odd", "filters": filters})

    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"]


EXPECTED = {
    "requester": 403,
    "key_user": 403,
    "agent": 201,
    "product_owner": 403,
    "auditor": 403,
    "admin": 201,
}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_saving_a_view_is_for_the_support_team(desk_api, role):
    assert desk_api(role).post(VIEWS, json=P1_OPEN).status_code == EXPECTED[role]


@pytest.mark.parametrize("role", sorted(ROLES))
def test_deleting_a_view_is_for_its_owner_or_an_admin(desk_api, role):
    view = desk_api("agent").post(VIEWS, json=P1_OPEN).get_json()

    response = desk_api(role).delete(f"{VIEWS}/{view['id']}")

    expected = {"agent": 204, "admin": 404}.get(role, 403)
    assert response.status_code == expected
