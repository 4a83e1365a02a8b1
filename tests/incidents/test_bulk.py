"""Bulk actions on the support queues: one action on many tickets, each done or refused on its
own (with the reason), each audited on its own ticket, and only by the support team."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.catalogue import service as catalogue
from app.core.audit import AuditEvent
from app.incidents.models import Ticket
from app.incidents.transitions import perform
from tests.factories import RESOLUTION
from tests.incidents.conftest import ROLES

BULK = "/api/v1/tickets/bulk"


@pytest.fixture
def tickets(make_ticket, desk_people):
    return [make_ticket(reporter=desk_people["requester"], title=f"Broken {n}") for n in range(3)]


def refs(tickets) -> list[str]:
    return [t.ref for t in tickets]


def test_bulk_assign_assigns_every_ticket_and_reports_each(desk_api, tickets, db_session):
    body = desk_api("agent").post(
        BULK, json={"action": "assign", "tickets": refs(tickets), "assignee": "agent@example.com"}
    )

    assert body.status_code == 200, body.get_json()
    result = body.get_json()
    assert result["done"] == 3 and result["refused"] == 0
    assert [i["ref"] for i in result["items"]] == refs(tickets)
    assignees = db_session.scalars(select(Ticket.assignee_id).order_by(Ticket.id)).all()
    assert len(set(assignees)) == 1 and assignees[0] is not None


def test_each_ticket_of_a_bulk_action_is_audited_on_its_own(desk_api, tickets, db_session):
    desk_api("agent").post(BULK, json={"action": "assign_to_me", "tickets": refs(tickets)})

    audited = db_session.scalars(
        select(AuditEvent.entity_id).where(
            AuditEvent.entity_type == "ticket", AuditEvent.action == "updated"
        )
    ).all()
    assert sorted(audited) == sorted(refs(tickets))


def test_a_refused_ticket_is_reported_with_why_and_the_others_are_done(
    desk_api, tickets, desk_people, db_session
):
    resolved = tickets[1]
    perform(db_session, desk_people["agent"], resolved, "resolve", **RESOLUTION)
    db_session.commit()

    result = (
        desk_api("agent").post(BULK, json={"action": "close", "tickets": refs(tickets)}).get_json()
    )

    by_ref = {i["ref"]: i for i in result["items"]}
    assert by_ref[resolved.ref]["done"] is True
    assert by_ref[tickets[0].ref]["done"] is False
    assert by_ref[tickets[0].ref]["code"] == "invalid_transition"
    assert by_ref[tickets[0].ref]["message"]
    assert result == {**result, "done": 1, "refused": 2}
    db_session.expire_all()
    assert db_session.get(Ticket, resolved.id).status == "closed"
    assert db_session.get(Ticket, tickets[0].id).status == "new"


def test_an_unknown_ticket_in_the_selection_is_refused_not_an_error(desk_api, tickets):
    result = desk_api("agent").post(
        BULK, json={"action": "assign_to_me", "tickets": [tickets[0].ref, "INC-999999"]}
    )

    assert result.status_code == 200
    items = result.get_json()["items"]
    assert [i["done"] for i in items] == [True, False]
    assert items[1]["code"] == "not_found"


def test_a_priority_change_needs_a_reason_and_is_audited_with_it(desk_api, tickets, db_session):
    missing = desk_api("agent").post(
        BULK, json={"action": "priority", "tickets": refs(tickets), "priority": "P1"}
    )
    assert missing.status_code == 422
    assert "reason" in missing.get_json()["errors"]

    done = desk_api("agent").post(
        BULK,
        json={
            "action": "priority",
            "tickets": refs(tickets),
            "priority": "P1",
            "reason": "Month-end closing blocked",
        },
    )

    assert done.get_json()["done"] == 3
    db_session.expire_all()
    assert {t.priority for t in db_session.scalars(select(Ticket))} == {"P1"}
    event = db_session.scalars(
        select(AuditEvent).where(AuditEvent.entity_id == tickets[0].ref).order_by(AuditEvent.id)
    ).all()[-1]
    assert event.changes["priority"] == ["P3", "P1"]
    assert event.changes["priority_reason"][1] == "Month-end closing blocked"


def test_a_refused_row_keeps_nothing_of_the_attempt(desk_api, tickets, desk_people, db_session):
    perform(db_session, desk_people["agent"], tickets[0], "resolve", **RESOLUTION)
    perform(db_session, desk_people["agent"], tickets[0], "close")
    db_session.commit()

    result = (
        desk_api("agent")
        .post(
            BULK,
            json={
                "action": "priority",
                "tickets": refs(tickets),
                "priority": "P2",
                "reason": "VIP",
            },
        )
        .get_json()
    )

    assert [i["done"] for i in result["items"]] == [False, True, True]
    db_session.expire_all()
    assert db_session.get(Ticket, tickets[0].id).priority == "P3"


def test_bulk_duplicate_closes_each_as_a_duplicate_of_the_original(desk_api, tickets, db_session):
    original, *copies = tickets
    result = (
        desk_api("agent")
        .post(
            BULK,
            json={"action": "duplicate", "tickets": refs(copies), "duplicate_of": original.ref},
        )
        .get_json()
    )

    assert result["done"] == 2
    db_session.expire_all()
    for copy in copies:
        ticket = db_session.get(Ticket, copy.id)
        assert (ticket.status, ticket.duplicate_of_id) == ("closed", original.id)


def test_bulk_change_group_moves_the_tickets(desk_api, tickets, db_session, desk_people):
    catalogue.create_group(db_session, None, code="L2", name="Second level")
    db_session.commit()

    result = (
        desk_api("agent")
        .post(BULK, json={"action": "group", "tickets": refs(tickets), "group": "L2"})
        .get_json()
    )

    assert result["done"] == 3
    db_session.expire_all()
    assert {t.group.code for t in db_session.scalars(select(Ticket))} == {"L2"}


EXPECTED = {
    "requester": 403,
    "key_user": 403,
    "agent": 200,
    "product_owner": 403,
    "auditor": 403,
    "admin": 200,
}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_only_the_support_team_acts_in_bulk(desk_api, tickets, role, db_session):
    response = desk_api(role).post(BULK, json={"action": "assign_to_me", "tickets": refs(tickets)})

    assert response.status_code == EXPECTED[role], response.get_json()
    if EXPECTED[role] != 200:
        assert response.get_json()["code"] in ("forbidden", "insufficient_scope")
        db_session.expire_all()
        assert all(t.assignee_id is None for t in db_session.scalars(select(Ticket)))


@pytest.mark.parametrize(
    "body",
    [
        {"action": "explode", "tickets": ["INC-000001"]},
        {"action": "close", "tickets": []},
        {"action": "close"},
        {"action": "assign", "tickets": ["INC-000001"]},
        {"action": "close", "tickets": ["INC-1"] * 101},
        {"action": "close", "tickets": "INC-000001"},
    ],
)
def test_bad_bulk_requests_are_4xx_with_the_error_shape(desk_api, tickets, body):
    response = desk_api("agent").post(BULK, json=body)

    assert response.status_code == 422, response.get_json()
    assert set(response.get_json()) >= {"status", "code", "message", "errors"}
