"""Keyset pagination: walking a list page by page visits every row exactly once, in order."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.core.errors import ValidationFailed
from app.core.pagination import SortKey, decode_cursor, encode_cursor, paginate
from app.identity.models import User

USERS = 300


def cursor_of(values) -> str:
    """A cursor forged by a client: valid base64 JSON, but not one this list handed out."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def add_users(session, emails, **fields) -> list[User]:
    users = [User(email=email, name=fields.get("name", email), **fields) for email in emails]
    session.add_all(users)
    session.commit()
    return users


def walk_api(api, url: str, limit: int, **query) -> list[list[dict]]:
    """Follow next_cursor from the first page to the last; return the pages."""
    pages, cursor = [], None
    while True:
        params = {**query, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = api.get(url, query_string=params)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) <= USERS, "the walk does not end"


def walk(session, stmt, keys, limit: int) -> list[list]:
    pages, cursor = [], None
    while True:
        page = paginate(session, stmt, keys, cursor, limit)
        pages.append(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return pages
        assert len(pages) <= USERS, "the walk does not end"


# --- through the API ------------------------------------------------------------------------


@pytest.fixture
def admin_api(make_user, api_client):
    return api_client(make_user("admin", email="admin@example.com"))


def test_walking_the_user_list_visits_every_user_once_in_email_order(admin_api, db_session):
    numbers = list(range(1, USERS + 1))
    random.Random(7).shuffle(numbers)  # insertion (id) order differs from email order
    add_users(db_session, [f"u{n:04d}@example.com" for n in numbers])

    pages = walk_api(admin_api, "/api/v1/users", limit=7)

    emails = [user["email"] for page in pages for user in page]
    expected = sorted([f"u{n:04d}@example.com" for n in numbers] + ["admin@example.com"])
    assert emails == expected
    assert len(pages) == -(-len(expected) // 7)
    assert all(len(page) == 7 for page in pages[:-1])


def test_the_last_full_page_has_no_next_cursor(admin_api, db_session):
    add_users(db_session, [f"u{n:04d}@example.com" for n in range(1, 10)])  # 10 with the admin

    pages = walk_api(admin_api, "/api/v1/users", limit=5)

    assert [len(page) for page in pages] == [5, 5]


def test_a_filtered_walk_stays_within_the_filter(admin_api, db_session):
    add_users(db_session, [f"u{n:04d}@example.com" for n in range(1, 41)])
    add_users(db_session, [f"v{n:04d}@example.com" for n in range(1, 41)])

    pages = walk_api(admin_api, "/api/v1/users", limit=6, q="v00")

    emails = [user["email"] for page in pages for user in page]
    assert emails == [f"v{n:04d}@example.com" for n in range(1, 41)]


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        cursor_of({"email": "x"}),  # not a list
        cursor_of([5]),  # a cursor of another list (one key instead of two)
        cursor_of([{"a": 1}, 2]),  # values of the wrong type
        cursor_of([5, "x"]),
        cursor_of(["a@example.com", None]),
        cursor_of(["a@example.com", True]),
        cursor_of(["a@example.com", 10**30]),
    ],
)
def test_a_cursor_that_this_list_did_not_hand_out_is_a_422(admin_api, cursor):
    response = admin_api.get("/api/v1/users", query_string={"cursor": cursor})

    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_error"
    assert list(body["errors"]) == ["cursor"]


@pytest.mark.parametrize("cursor", [cursor_of(["1"]), cursor_of([{"t": "2026-03-02T09:00:00"}])])
def test_a_forged_audit_cursor_is_a_422(make_user, api_client, cursor):
    api = api_client(make_user("auditor"))

    response = api.get("/api/v1/audit-events", query_string={"cursor": cursor})

    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["cursor"]


@pytest.mark.parametrize("limit", ["0", "-1", "201", "many"])
def test_a_limit_out_of_range_is_a_422(admin_api, limit):
    response = admin_api.get("/api/v1/users", query_string={"limit": limit})

    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_error"
    assert list(body["errors"]) == ["limit"]


@pytest.mark.parametrize("limit", [1, 200])
def test_the_limits_at_the_edges_of_the_range_are_accepted(admin_api, db_session, limit):
    add_users(db_session, [f"u{n:04d}@example.com" for n in range(1, 3)])

    response = admin_api.get("/api/v1/users", query_string={"limit": limit})

    assert response.status_code == 200
    assert len(response.get_json()["items"]) == min(limit, 3)


# --- the machinery --------------------------------------------------------------------------


def test_ties_on_the_first_key_are_broken_by_the_id_without_skipping_or_repeating(db_session):
    """Name descending, then id ascending: many users share a name, pages split the ties."""
    names = ["Alpha", "Bravo", "Charlie"]
    users = [User(email=f"t{n:03d}@example.com", name=names[n % 3]) for n in range(1, 50)]
    db_session.add_all(users)
    db_session.commit()
    keys = [SortKey(User.name, lambda u: u.name, descending=True), SortKey(User.id, lambda u: u.id)]

    pages = walk(db_session, select(User), keys, limit=4)

    seen = [(u.name, u.id) for page in pages for u in page]
    expected = sorted(((u.name, u.id) for u in users), key=lambda p: p[1])
    expected.sort(key=lambda p: p[0], reverse=True)
    assert seen == expected


def test_a_walk_ordered_by_time_round_trips_timestamps_in_the_cursor(db_session):
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    created = []
    for n in range(30):  # four users per instant: ties on time
        at = start + timedelta(minutes=n // 4, microseconds=123456)
        created += add_users(db_session, [f"c{n:03d}@example.com"], created_at=at)
    keys = [
        SortKey(User.created_at, lambda u: u.created_at, descending=True),
        SortKey(User.id, lambda u: u.id, descending=True),
    ]

    pages = walk(db_session, select(User), keys, limit=3)

    seen = [u.email for page in pages for u in page]
    assert seen == [
        u.email for u in sorted(created, key=lambda u: (u.created_at, u.id), reverse=True)
    ]


def test_an_empty_list_is_one_empty_page(db_session):
    page = paginate(
        db_session,
        select(User).where(User.email == "nobody"),
        [SortKey(User.id, lambda u: u.id)],
        None,
        10,
    )

    assert (page.items, page.next_cursor) == ([], None)


def test_a_cursor_is_opaque_and_url_safe_and_decodes_to_its_values():
    instant = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    cursor = encode_cursor(["zoë@example.com", 12, instant])

    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_cursor(cursor, 3) == ["zoë@example.com", 12, instant]


def test_decoding_a_cursor_of_the_wrong_size_is_a_validation_error():
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(encode_cursor([1, 2]), 3)

    assert caught.value.errors == {"cursor": ["Not a cursor from this list."]}
