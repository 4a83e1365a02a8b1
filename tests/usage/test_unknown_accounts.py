"""ERP accounts with no Steward user: a finding on an admin page and in the API."""

from __future__ import annotations

import pytest

from tests.usage.conftest import event


@pytest.fixture
def usage(sent, make_user):
    make_user("requester", email="known@example.com")
    sent(
        [
            event(1, user="KNOWN@example.com", occurred_at="2026-11-30T09:00:00Z"),
            event(2, user="shared-login", module="FIN", occurred_at="2026-11-29T09:00:00Z"),
            event(3, user="Shared-Login", module="SAL", occurred_at="2026-11-30T09:00:00Z"),
            event(4, user="shared-login", module="SAL", occurred_at="2026-11-30T10:00:00Z"),
            event(5, user="gone@example.com", module="HR", occurred_at="2026-11-01T09:00:00Z"),
        ]
    )


def test_the_api_lists_accounts_no_user_matches(as_, admin, usage):
    response = as_(admin).get("/api/v1/usage/unknown-accounts")

    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [i["account"] for i in items] == ["shared-login", "gone@example.com"]
    shared = items[0]
    assert shared["events"] == 3
    assert shared["modules"] == [{"module": "FIN", "events": 1}, {"module": "SAL", "events": 2}]
    assert shared["last_seen_at"].startswith("2026-11-30T10:00:00")
    assert shared["first_seen_at"].startswith("2026-11-29T09:00:00")


def test_the_list_is_cursor_paginated(as_, admin, usage):
    client = as_(admin)
    first = client.get("/api/v1/usage/unknown-accounts?limit=1").get_json()
    second = client.get(
        f"/api/v1/usage/unknown-accounts?limit=1&cursor={first['next_cursor']}"
    ).get_json()

    assert [i["account"] for i in first["items"]] == ["shared-login"]
    assert [i["account"] for i in second["items"]] == ["gone@example.com"]
    assert second["next_cursor"] is None


def test_a_forged_cursor_is_422(as_, admin, usage):
    response = as_(admin).get("/api/v1/usage/unknown-accounts?cursor=bm9wZQ")

    assert response.status_code == 422


@pytest.mark.parametrize(
    ("role", "status"), [("admin", 200), ("auditor", 200), ("agent", 403), ("requester", 403)]
)
def test_who_reads_the_finding_in_the_api(as_, make_user, usage, role, status):
    response = as_(make_user(role)).get("/api/v1/usage/unknown-accounts")

    assert response.status_code == status


@pytest.mark.parametrize(
    ("role", "status"), [("admin", 200), ("auditor", 200), ("agent", 403), ("requester", 403)]
)
def test_who_reads_the_finding_page(signed_in, make_user, usage, role, status):
    from tests.factories import PASSWORD

    browser = signed_in(make_user(role, password=PASSWORD))

    response = browser.get("/usage/unknown-accounts")

    assert response.status_code == status
    if status == 200:
        page = response.get_data(as_text=True)
        assert "shared-login" in page and "gone@example.com" in page
        assert "known@example.com" not in page
