"""Round-robin assignment per support group: optional per group, members in turn, absent ones
skipped, the oldest ticket first, each assignment audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.catalogue import service as catalogue
from app.core.audit import AuditEvent
from app.core.runner import run_job
from app.incidents.assignment import rotate_all, set_rotation
from app.incidents.models import Ticket
from tests.incidents.conftest import ROLES

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def team(db_session, make_user, finance, desk_people):
    amy = make_user("agent", email="amy@example.com", name="Amy")
    ben = make_user("agent", email="ben@example.com", name="Ben")
    cat = make_user("agent", email="cat@example.com", name="Cat")
    group = catalogue.create_group(db_session, None, code="L1", name="First level")
    catalogue.set_group_members(db_session, None, group, [amy, ben, cat])
    catalogue.update_module(db_session, None, finance, support_group="L1")
    db_session.commit()
    return amy, ben, cat


def report(make_ticket, frozen_clock, count: int, start=T0) -> list:
    made = []
    for n in range(count):
        frozen_clock(start + timedelta(minutes=n))
        made.append(make_ticket(title=f"Ticket {n}"))
    return made


def assignee_names(db_session) -> list[str | None]:
    db_session.expire_all()
    tickets = db_session.scalars(select(Ticket).order_by(Ticket.created_at))
    return [t.assignee.name if t.assignee else None for t in tickets]


def test_a_group_without_round_robin_keeps_its_tickets_unassigned(
    db_session, team, make_ticket, frozen_clock
):
    report(make_ticket, frozen_clock, 2)

    assert rotate_all(db_session) == 0
    assert assignee_names(db_session) == [None, None]


def test_members_get_the_oldest_tickets_in_turn(db_session, team, make_ticket, frozen_clock):
    report(make_ticket, frozen_clock, 4)
    set_rotation_as_admin(db_session, "L1")

    assert rotate_all(db_session) == 4
    db_session.commit()
    assert assignee_names(db_session) == ["Amy", "Ben", "Cat", "Amy"]


def set_rotation_as_admin(db_session, code: str, enabled: bool = True) -> None:
    from app.identity.models import User

    admin = db_session.scalar(select(User).where(User.email == "admin@example.com"))
    set_rotation(db_session, admin, code, enabled=enabled)
    db_session.commit()


def test_the_turn_carries_over_to_the_next_run(db_session, team, make_ticket, frozen_clock):
    set_rotation_as_admin(db_session, "L1")
    report(make_ticket, frozen_clock, 1)
    rotate_all(db_session)
    db_session.commit()
    report(make_ticket, frozen_clock, 1, start=T0 + timedelta(hours=1))

    rotate_all(db_session)
    db_session.commit()

    assert assignee_names(db_session) == ["Amy", "Ben"]


def test_absent_members_are_skipped(db_session, team, make_ticket, frozen_clock):
    _, ben, _ = team
    ben.absent = True
    db_session.commit()
    set_rotation_as_admin(db_session, "L1")
    report(make_ticket, frozen_clock, 3)

    rotate_all(db_session)
    db_session.commit()

    assert assignee_names(db_session) == ["Amy", "Cat", "Amy"]


def test_each_assignment_is_audited_as_round_robin(db_session, team, make_ticket, frozen_clock):
    set_rotation_as_admin(db_session, "L1")
    [ticket] = report(make_ticket, frozen_clock, 1)

    assert run_job("app.incidents.jobs.assign_round_robin") == 1

    event = db_session.scalars(
        select(AuditEvent).where(AuditEvent.entity_id == ticket.ref).order_by(AuditEvent.id)
    ).all()[-1]
    assert event.changes == {"assignee": [None, "amy@example.com"]}
    assert event.context["via"] == "round_robin" and event.actor_id is None


def test_a_second_run_assigns_nothing_more(db_session, team, make_ticket, frozen_clock):
    set_rotation_as_admin(db_session, "L1")
    report(make_ticket, frozen_clock, 2)
    rotate_all(db_session)
    db_session.commit()

    assert rotate_all(db_session) == 0


def test_the_rotation_is_read_and_set_through_the_api(desk_api, team):
    turned = desk_api("admin").post("/api/v1/support-groups/L1/rotation", json={"enabled": True})

    assert turned.status_code == 200, turned.get_json()
    listed = desk_api("agent").get("/api/v1/support-groups/rotation").get_json()["items"]
    assert {"group": "L1", "name": "First level", "enabled": True} in listed
    assert (
        desk_api("admin")
        .post("/api/v1/support-groups/NOPE/rotation", json={"enabled": True})
        .status_code
        == 404
    )


EXPECTED = {
    "requester": 403,
    "key_user": 403,
    "agent": 403,
    "product_owner": 403,
    "auditor": 403,
    "admin": 200,
}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_only_admins_turn_round_robin_on(desk_api, team, role):
    response = desk_api(role).post("/api/v1/support-groups/L1/rotation", json={"enabled": True})

    assert response.status_code == EXPECTED[role]
