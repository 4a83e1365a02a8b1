"""The audit log: written with the change it describes, append-only, readable by auditors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from app.core.audit import AuditEvent, AuditLogIsAppendOnly, apply_changes, record
from tests.factories import PASSWORD


@dataclass
class Thing:
    """Any object with attributes: apply_changes works on models and plain objects alike."""

    name: str
    colour: str
    size: int


class Status(Enum):
    OPEN = "open"


def widget_events(session) -> list[AuditEvent]:
    session.expire_all()
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.entity_type == "widget").order_by(AuditEvent.id)
        )
    )


def login(client, user) -> None:
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


# --- writing --------------------------------------------------------------------------------


def test_apply_changes_sets_values_and_returns_only_what_changed():
    thing = Thing(name="pump", colour="red", size=3)

    changes = apply_changes(thing, {"name": "pump", "colour": "blue", "size": 4})

    assert changes == {"colour": ["red", "blue"], "size": [3, 4]}
    assert (thing.name, thing.colour, thing.size) == ("pump", "blue", 4)


def test_apply_changes_records_json_friendly_before_and_after():
    thing = Thing(name="pump", colour="red", size=3)
    thing.status = None
    thing.due = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    changes = apply_changes(
        thing, {"status": Status.OPEN, "due": datetime(2026, 3, 3, 9, 0, tzinfo=UTC)}
    )

    assert changes == {
        "status": [None, "open"],
        "due": ["2026-03-02T09:00:00+00:00", "2026-03-03T09:00:00+00:00"],
    }


def test_an_event_records_actor_entity_action_and_before_after(db_session, make_user, frozen_clock):
    frozen_clock(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    actor = make_user("admin", email="ada@example.com")
    thing = Thing(name="pump", colour="red", size=3)

    record(
        db_session,
        actor,
        "widget",
        42,
        "updated",
        apply_changes(thing, {"colour": "blue"}),
        reason="customer asked",
    )
    db_session.commit()

    [event] = widget_events(db_session)
    assert event.actor_id == actor.id
    assert event.actor_email == "ada@example.com"
    assert (event.entity_type, event.entity_id, event.action) == ("widget", "42", "updated")
    assert event.changes == {"colour": ["red", "blue"]}
    assert event.context == {"reason": "customer asked"}
    assert event.occurred_at == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_an_event_rolls_back_with_the_change_it_describes(db_session):
    record(db_session, None, "widget", 1, "created")

    db_session.rollback()

    assert widget_events(db_session) == []


def test_changing_a_module_through_the_api_is_audited_with_before_and_after(
    make_user, make_module, api_client, db_session
):
    admin = make_user("admin", email="ada@example.com")
    make_module("FIN", name="Finance")
    api = api_client(admin)
    etag = api.get("/api/v1/modules/FIN").headers["ETag"]

    api.patch(
        "/api/v1/modules/FIN", json={"name": "Finance & Controlling"}, headers={"If-Match": etag}
    )

    db_session.expire_all()
    [event] = db_session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "module", AuditEvent.action == "updated")
    ).all()
    assert event.entity_id == "FIN"
    assert event.actor_email == "ada@example.com"
    assert event.changes == {"name": ["Finance", "Finance & Controlling"]}


# --- append-only ----------------------------------------------------------------------------


@pytest.fixture
def one_event(db_session) -> AuditEvent:
    event = record(db_session, None, "widget", 7, "created", {"name": [None, "pump"]})
    db_session.commit()
    return event


def test_the_orm_refuses_to_change_an_audit_event(db_session, one_event):
    one_event.action = "forged"

    with pytest.raises(AuditLogIsAppendOnly):
        db_session.flush()
    db_session.rollback()

    assert [e.action for e in widget_events(db_session)] == ["created"]


def test_the_orm_refuses_to_delete_an_audit_event(db_session, one_event):
    db_session.delete(one_event)

    with pytest.raises(AuditLogIsAppendOnly):
        db_session.flush()
    db_session.rollback()

    assert len(widget_events(db_session)) == 1


def test_the_database_refuses_an_update_in_raw_sql(db_session, one_event):
    with pytest.raises(DBAPIError, match="append-only"):
        db_session.execute(text("UPDATE audit_events SET action = 'forged'"))
    db_session.rollback()

    assert [e.action for e in widget_events(db_session)] == ["created"]


def test_the_database_refuses_a_delete_in_raw_sql(db_session, one_event):
    with pytest.raises(DBAPIError, match="append-only"):
        db_session.execute(text("DELETE FROM audit_events"))
    db_session.rollback()

    assert len(widget_events(db_session)) == 1


def test_the_database_refuses_a_bulk_orm_update_or_delete(db_session, one_event):
    """Bulk statements skip ORM events; the database trigger still holds."""
    with pytest.raises(DBAPIError, match="append-only"):
        db_session.execute(update(AuditEvent).values(action="forged"))
    db_session.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        db_session.execute(delete(AuditEvent))
    db_session.rollback()

    assert [e.action for e in widget_events(db_session)] == ["created"]


# --- reading: the API -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"), [("admin", 200), ("auditor", 200), ("agent", 403), ("requester", 403)]
)
def test_reading_the_audit_log_needs_audit_view(make_user, api_client, role, status):
    user = make_user(role)

    response = api_client(user).get("/api/v1/audit-events")

    assert response.status_code == status
    if status == 403:
        assert response.get_json()["code"] == "forbidden"


def test_reading_the_audit_log_needs_authentication(client):
    response = client.get("/api/v1/audit-events")

    assert response.status_code == 401


@pytest.fixture
def history(db_session, make_user):
    """Six widget events by two actors; returns (auditor, ada, bob)."""
    auditor = make_user("auditor", email="audrey@example.com")
    ada = make_user("admin", email="ada@example.com")
    bob = make_user("agent", email="bob@example.com")
    for actor, entity_id, action in [
        (ada, 1, "created"),
        (ada, 1, "updated"),
        (bob, 2, "created"),
        (bob, 1, "updated"),
        (ada, 2, "deleted"),
        (None, 3, "created"),
    ]:
        record(db_session, actor, "widget", entity_id, action)
    db_session.commit()
    return auditor, ada, bob


def _summaries(response) -> list[tuple[str | None, str, str]]:
    assert response.status_code == 200, response.get_json()
    return [(e["actor"], e["entity_id"], e["action"]) for e in response.get_json()["items"]]


def test_the_audit_log_lists_newest_first(history, api_client):
    auditor, _, _ = history

    items = api_client(auditor).get("/api/v1/audit-events?entity_type=widget").get_json()["items"]

    ids = [e["id"] for e in items]
    assert ids == sorted(ids, reverse=True)
    assert (items[0]["entity_id"], items[0]["action"]) == ("3", "created")
    assert set(items[0]) == {
        "id",
        "occurred_at",
        "actor",
        "entity_type",
        "entity_id",
        "action",
        "changes",
        "context",
    }


def test_the_audit_log_filters_by_entity(history, api_client):
    api = api_client(history[0])

    response = api.get(
        "/api/v1/audit-events", query_string={"entity_type": "widget", "entity_id": "1"}
    )

    assert _summaries(response) == [
        ("bob@example.com", "1", "updated"),
        ("ada@example.com", "1", "updated"),
        ("ada@example.com", "1", "created"),
    ]


def test_the_audit_log_filters_by_actor(history, api_client):
    api = api_client(history[0])

    response = api.get(
        "/api/v1/audit-events", query_string={"entity_type": "widget", "actor": "bob@example.com"}
    )

    assert _summaries(response) == [
        ("bob@example.com", "1", "updated"),
        ("bob@example.com", "2", "created"),
    ]


def test_the_audit_log_filters_by_action(history, api_client):
    api = api_client(history[0])

    response = api.get(
        "/api/v1/audit-events", query_string={"entity_type": "widget", "action": "created"}
    )

    assert _summaries(response) == [
        (None, "3", "created"),
        ("bob@example.com", "2", "created"),
        ("ada@example.com", "1", "created"),
    ]


def test_the_audit_log_pages_with_a_cursor(history, api_client):
    api = api_client(history[0])
    seen, cursor, pages = [], None, 0

    while True:
        query = {"entity_type": "widget", "limit": 4}
        if cursor:
            query["cursor"] = cursor
        body = api.get("/api/v1/audit-events", query_string=query).get_json()
        pages += 1
        assert len(body["items"]) <= 4
        seen += [e["id"] for e in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert pages == 2
    assert len(seen) == 6
    assert seen == sorted(set(seen), reverse=True)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_audit_log_cannot_be_written_through_the_api(history, api_client, db_session, method):
    api = api_client(history[0])

    response = getattr(api, method)("/api/v1/audit-events", json={"action": "forged"})

    assert response.status_code == 405
    assert response.get_json()["code"] == "method_not_allowed"
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).where(AuditEvent.action == "forged")) == 0


def test_the_api_description_offers_only_reading_the_audit_log(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]

    audit_paths = {path: set(ops) for path, ops in paths.items() if "audit" in path}

    assert audit_paths == {"/api/v1/audit-events": {"get"}}


# --- reading: the page ----------------------------------------------------------------------


def test_the_audit_page_shows_events_to_an_auditor(client, history, make_user):
    login(client, make_user("auditor", email="ines@example.com", password=PASSWORD))

    response = client.get("/audit?entity_type=widget&actor=bob@example.com")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Audit log" in page
    assert page.count("bob@example.com") >= 2
    assert "ada@example.com" not in page.split("<tbody>")[1]


def test_the_audit_page_is_forbidden_to_a_requester(client, make_user):
    login(client, make_user("requester", email="rita@example.com", password=PASSWORD))

    response = client.get("/audit")

    assert response.status_code == 403
    assert "text/html" in response.content_type


def test_the_audit_page_sends_an_anonymous_visitor_to_sign_in(client):
    response = client.get("/audit")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
