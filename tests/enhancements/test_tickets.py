"""Tickets and requests: a ticket turned into a request, real links both ways, and the stored
ENH- references of the past converted by the migration."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask_migrate import upgrade

from app.core.db import db
from tests.enhancements.helpers import audit_of, ok, submitted
from tests.factories import submitted as ticket_submitted
from tests.test_migrations import empty_app  # noqa: F401 - the fixture, on both backends


def test_an_agent_turns_a_ticket_into_a_request_for_its_reporter(api, db_session):
    ticket = ticket_submitted(api["requester"], title="Cannot group payments by due date")

    body = ok(
        api["agent"].post(
            "/api/v1/enhancements/from-ticket",
            json={"ticket": ticket["ref"], "benefit": "One payment run instead of five."},
        ),
        201,
    )

    assert body["title"] == "Cannot group payments by due date"
    assert body["requester"]["email"] == "rita@example.com"
    assert body["incidents"] == [ticket["ref"]]
    assert ok(api["requester"].get(f"/api/v1/tickets/{ticket['ref']}"))["enhancements"] == [
        body["ref"]
    ]
    event = audit_of(db_session, body["ref"])[0]
    assert event.actor_email == "alex@example.com"
    assert event.context == {"from_ticket": ticket["ref"]}


def test_only_the_support_team_turns_a_ticket_into_a_request(api):
    ticket = ticket_submitted(api["requester"])

    response = api["requester"].post(
        "/api/v1/enhancements/from-ticket", json={"ticket": ticket["ref"], "benefit": "b"}
    )

    assert response.status_code == 403


def test_the_ticket_page_turns_it_into_a_request_and_shows_its_status(api, web):
    ticket = ticket_submitted(api["requester"])
    page = web["agent"].get(f"/tickets/{ticket['ref']}").get_data(as_text=True)
    assert 'data-testid="to-enhancement"' in page

    response = web["agent"].post(
        f"/tickets/{ticket['ref']}/enhancement",
        data={"form": "to_enhancement", "title": "", "benefit": "Fewer calls."},
    )

    assert response.status_code == 303
    assert "/enhancements/ENH-000001" in response.headers["Location"]
    page = web["requester"].get(f"/tickets/{ticket['ref']}").get_data(as_text=True)
    assert "ENH-000001" in page
    assert "submitted" in page
    assert 'data-testid="to-enhancement"' not in page


def test_a_refused_conversion_comes_back_to_the_ticket_page(api, web):
    ticket = ticket_submitted(api["requester"])

    response = web["agent"].post(
        f"/tickets/{ticket['ref']}/enhancement", data={"form": "to_enhancement", "benefit": ""}
    )

    assert response.status_code == 303
    assert f"/tickets/{ticket['ref']}?draft=" in response.headers["Location"]
    assert "Say what the business gains" in web["agent"].get(response.headers["Location"]).get_data(
        as_text=True
    )


def test_linking_a_ticket_needs_a_real_request(api):
    ticket = ticket_submitted(api["requester"])
    ref = submitted(api["requester"])["ref"]
    url = f"/api/v1/tickets/{ticket['ref']}/enhancements"

    assert api["agent"].post(url, json={"enhancement": "ENH-000099"}).status_code == 422
    assert ok(api["agent"].post(url, json={"enhancement": ref}))["enhancements"] == [ref]
    assert ok(api["requester"].get(f"/api/v1/enhancements/{ref}"))["incidents"] == [ticket["ref"]]


# --- the migration of stored references -----------------------------------------------------------


NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def _filler(column: sa.Column):
    """A value for a required column the story does not care about."""
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer | sa.Numeric):
        return 0
    if isinstance(kind, sa.DateTime):
        return NOW
    if isinstance(kind, sa.Date):
        return NOW.date()
    if isinstance(kind, sa.JSON):
        return {}
    return "x"


def _insert(connection, table_name: str, **values) -> None:
    """Insert a row as the schema of the moment wants it (every required column filled)."""
    table = sa.Table(table_name, sa.MetaData(), autoload_with=connection)
    row = {
        c.name: _filler(c)
        for c in table.columns
        if not c.nullable and c.name not in values and c.server_default is None
    }
    connection.execute(table.insert().values(**row, **values))


def _seed_before_requests_were_real(connection) -> None:
    """What 0009 left: a ticket with free-text ENH- links, one naming an existing request."""
    _insert(connection, "users", id=1, email="rita@example.com", active=True)
    _insert(connection, "modules", id=1, code="FIN", active=True)
    _insert(connection, "enhancements", id=7, module_id=1, requester_id=1, status="submitted")
    _insert(connection, "tickets", id=1, module_id=1, reporter_id=1, status="new")
    for link_id, ref in ((1, "ENH-000007"), (2, "ENH-000045")):
        _insert(
            connection,
            "ticket_enhancement_links",
            id=link_id,
            ticket_id=1,
            enhancement_ref=ref,
            linked_by_id=1,
        )


def test_the_migration_points_stored_references_at_their_requests(empty_app):  # noqa: F811
    upgrade(revision="0009")
    with db.engine.begin() as connection:
        _seed_before_requests_were_real(connection)

    upgrade(revision="0011")

    with db.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT enhancement_ref, enhancement_id FROM ticket_enhancement_links ORDER BY id"
            )
        ).all()
    assert [tuple(r) for r in rows] == [("ENH-000007", 7), ("ENH-000045", None)]
