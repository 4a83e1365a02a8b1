"""POST /api/v1/usage-events: the ERP's batches, as JSON arrays or NDJSON."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from app.identity.models import ApiToken
from app.usage import service
from app.usage.models import UsageDaily, UsageEvent
from tests.usage.conftest import event, send


def stored_ids(session) -> set[str]:
    return set(session.scalars(select(UsageEvent.event_id)))


@pytest.mark.parametrize("ndjson", [False, True], ids=["array", "ndjson"])
def test_a_batch_is_stored_with_its_rollup(sent, db_session, ndjson):
    answer = sent([event(1), event(2, occurred_at="2026-11-30T11:30:00+00:00")], ndjson=ndjson)

    assert answer == {"accepted": 2, "duplicates": 0, "rejected": []}
    assert stored_ids(db_session) == {"e-1", "e-2"}
    [daily] = db_session.scalars(select(UsageDaily)).all()
    assert (daily.day, daily.account, daily.events) == (date(2026, 11, 30), "alice@example.com", 2)
    assert daily.first_at == datetime(2026, 11, 30, 10, tzinfo=UTC)
    assert daily.last_at == datetime(2026, 11, 30, 11, 30, tzinfo=UTC)


@pytest.mark.parametrize("ndjson", [False, True], ids=["array", "ndjson"])
def test_wrong_events_are_rejected_by_index_and_the_others_kept(sent, db_session, ndjson):
    without_action = event(3)
    del without_action["action"]
    batch = [
        event(0),
        event(1, module="NOPE"),
        without_action,
        event(4, occurred_at="2026-11-30T10:00:00"),  # no offset
        event(5, occurred_at="yesterday at noon"),
        event(6, user=""),
        "not an object",
        event(8, module="sal", occurred_at="2026-11-30T10:00:00Z"),
    ]

    answer = sent(batch, ndjson=ndjson)

    assert answer["accepted"] == 2
    assert answer["duplicates"] == 0
    reasons = {r["index"]: r["reason"] for r in answer["rejected"]}
    assert sorted(reasons) == [1, 2, 3, 4, 5, 6]
    assert "unknown module" in reasons[1]
    assert "missing field 'action'" in reasons[2]
    assert "offset" in reasons[3] and "offset" in reasons[4]
    assert "missing field 'user'" in reasons[5]
    assert "object" in reasons[6]
    assert stored_ids(db_session) == {"e-0", "e-8"}


def test_an_ndjson_line_that_is_not_json_is_rejected_alone(erp, db_session):
    body = json.dumps(event(0)) + "\n{broken\n\n" + json.dumps(event(2)) + "\n"

    response = erp.post(
        "/api/v1/usage-events", data=body, headers={"Content-Type": "application/x-ndjson"}
    )

    assert response.status_code == 200
    assert response.get_json()["rejected"] == [{"index": 1, "reason": "not valid JSON"}]
    assert stored_ids(db_session) == {"e-0", "e-2"}


def test_a_resent_event_is_a_duplicate_within_and_across_batches(sent, db_session):
    first = sent([event(1), event(2), event(1)])
    again = sent([event(2), event(3), event(1)], ndjson=True)

    assert (first["accepted"], first["duplicates"]) == (2, 1)
    assert (again["accepted"], again["duplicates"]) == (1, 2)
    assert db_session.scalar(select(func.sum(UsageDaily.events))) == 3


def test_the_account_is_compared_case_insensitively(sent, db_session):
    sent([event(1, user="Alice@Example.COM"), event(2, user="alice@example.com")])

    assert db_session.scalars(select(UsageDaily.account)).all() == ["alice@example.com"]
    assert db_session.scalar(select(UsageDaily.events)) == 2


def test_ten_thousand_events_fit_in_one_batch(sent, db_session):
    batch = [event(n, user=f"u{n % 300}@example.com") for n in range(10_000)]

    answer = sent(batch, ndjson=True)

    assert answer == {"accepted": 10_000, "duplicates": 0, "rejected": []}
    assert db_session.scalar(select(func.sum(UsageDaily.events))) == 10_000


@pytest.mark.parametrize("ndjson", [False, True], ids=["array", "ndjson"])
def test_a_batch_beyond_the_documented_limit_is_413(erp, db_session, monkeypatch, ndjson):
    monkeypatch.setattr(service, "MAX_BATCH_EVENTS", 3)

    response = send(erp, [event(n) for n in range(4)], ndjson=ndjson)

    assert response.status_code == 413
    assert response.get_json()["code"] == "payload_too_large"
    assert stored_ids(db_session) == set()


def test_a_batch_at_the_limit_is_accepted(erp, monkeypatch):
    monkeypatch.setattr(service, "MAX_BATCH_EVENTS", 3)

    response = send(erp, [event(n) for n in range(3)], ndjson=True)

    assert response.get_json()["accepted"] == 3


@pytest.mark.parametrize("content_type", ["text/csv", "text/plain", "application/xml"])
def test_other_content_types_are_415(erp, content_type):
    response = erp.post(
        "/api/v1/usage-events", data="event_id\n1\n", headers={"Content-Type": content_type}
    )

    assert response.status_code == 415
    assert response.get_json()["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    ("body", "status"), [("{}", 422), ("[1, 2", 400), ("", 400), ('"text"', 422)]
)
def test_a_body_that_is_no_array_is_refused_whole(erp, body, status):
    response = erp.post(
        "/api/v1/usage-events", data=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == status
    assert set(response.get_json()) >= {"status", "code", "message", "errors"}


def test_without_a_token_it_is_401(client, modules):
    response = client.post("/api/v1/usage-events", json=[event(1)])

    assert response.status_code == 401


@pytest.mark.parametrize("role", ["requester", "agent", "key_user", "auditor", "product_owner"])
def test_other_roles_may_not_send_events(as_, make_user, modules, db_session, role):
    person = make_user(role, module="FIN" if role in {"key_user", "product_owner"} else None)

    response = send(as_(person), [event(1)])

    assert response.status_code == 403
    assert stored_ids(db_session) == set()


def test_an_admin_may_send_events(as_, admin, modules):
    response = send(as_(admin), [event(1)])

    assert response.status_code == 200
    assert response.get_json()["accepted"] == 1


def test_a_person_cannot_be_given_the_ingest_scope(as_, admin, make_user):
    person = make_user("requester")

    minted = as_(admin).post(
        "/api/v1/tokens",
        json={"user": person.email, "name": "feed", "scopes": ["usage:ingest"]},
    )

    assert minted.status_code == 422
    assert "usage:ingest" in minted.get_json()["errors"]["scopes"][0]


def test_a_persons_token_holding_the_ingest_scope_grants_nothing(
    as_, make_user, modules, db_session
):
    """A token stored with the scope before the rule existed still feeds nothing."""
    person = make_user("requester")
    client = as_(person, scopes=["ticket:view_own"])
    token = db_session.scalars(select(ApiToken).where(ApiToken.user_id == person.id)).one()
    token.scopes = ["usage:ingest"]
    db_session.commit()

    response = send(client, [event(1)])

    assert response.status_code == 403
    assert stored_ids(db_session) == set()


def test_a_service_token_without_the_ingest_scope_is_refused(as_, service_account, modules):
    response = send(as_(service_account, scopes=["access:provision"]), [event(1)])

    assert response.status_code == 403
    assert response.get_json()["code"] == "insufficient_scope"
    assert response.get_json()["missing_scopes"] == ["usage:ingest"]


def test_a_token_minted_for_the_erp_feeds_usage(as_, admin, modules, client):
    minted = as_(admin).post(
        "/api/v1/tokens",
        json={
            "user": "erp@example.com",
            "name": "ERP usage feed",
            "scopes": ["usage:ingest"],
            "service_account": True,
        },
    )
    assert minted.status_code == 201, minted.get_json()
    token = minted.get_json()["token"]

    response = client.post(
        "/api/v1/usage-events",
        json=[event(1)],
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 200
    assert response.get_json()["accepted"] == 1
