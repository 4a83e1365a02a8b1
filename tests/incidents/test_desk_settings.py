"""The desk settings of a person (reply box's default mode, away from round-robin) and
"assign to me", through the API, per role."""

from __future__ import annotations

import pytest

from tests.incidents.conftest import ROLES

SETTINGS = "/api/v1/me/settings"


def test_the_reply_mode_defaults_to_public_and_is_kept(desk_api):
    read = desk_api("agent").get(SETTINGS)
    desk = {key: read.get_json()[key] for key in ("reply_mode", "absent")}
    assert desk == {"reply_mode": "public", "absent": False}

    changed = desk_api("agent").patch(
        SETTINGS, json={"reply_mode": "internal"}, headers={"If-Match": read.headers["ETag"]}
    )

    assert changed.status_code == 200, changed.get_json()
    assert desk_api("agent").get(SETTINGS).get_json()["reply_mode"] == "internal"


def test_settings_need_the_current_etag(desk_api):
    assert desk_api("agent").patch(SETTINGS, json={"absent": True}).status_code == 428
    stale = desk_api("agent").patch(
        SETTINGS, json={"absent": True}, headers={"If-Match": '"user-1-v0"'}
    )
    assert stale.status_code == 412


def test_an_unknown_mode_is_refused(desk_api):
    etag = desk_api("agent").get(SETTINGS).headers["ETag"]

    response = desk_api("agent").patch(
        SETTINGS, json={"reply_mode": "shout"}, headers={"If-Match": etag}
    )

    assert response.status_code == 422
    assert "reply_mode" in response.get_json()["errors"]


SETTING_WRITE = {
    "requester": 403,
    "key_user": 403,
    "agent": 200,
    "product_owner": 403,
    "auditor": 403,
    "admin": 200,
}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_desk_settings_are_for_the_support_team(desk_api, role):
    etag = desk_api(role).get(SETTINGS).headers["ETag"]

    response = desk_api(role).patch(SETTINGS, json={"absent": True}, headers={"If-Match": etag})

    assert response.status_code == SETTING_WRITE[role]


ASSIGN = {
    "requester": 403,
    "key_user": 403,
    "agent": 200,
    "product_owner": 403,
    "auditor": 403,
    "admin": 200,
}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_assign_to_me_per_role(desk_api, desk_people, make_ticket, role):
    ticket = make_ticket(reporter=desk_people["requester"])

    response = desk_api(role).post(f"/api/v1/tickets/{ticket.ref}/assign-to-me")

    assert response.status_code == ASSIGN[role], response.get_json()
    if response.status_code == 200:
        assert response.get_json()["assignee"]["email"] == f"{role}@example.com"


def test_assign_to_me_with_a_stale_etag_is_refused(desk_api, desk_people, make_ticket):
    ticket = make_ticket(reporter=desk_people["requester"])

    response = desk_api("agent").post(
        f"/api/v1/tickets/{ticket.ref}/assign-to-me", headers={"If-Match": '"ticket-x-v0"'}
    )

    assert response.status_code == 412


def test_the_ticket_version_says_who_changed_it_last(desk_api, desk_people, make_ticket):
    ticket = make_ticket(reporter=desk_people["requester"])
    before = desk_api("agent").get(f"/api/v1/tickets/{ticket.ref}/version").get_json()

    desk_api("admin").post(f"/api/v1/tickets/{ticket.ref}/assign-to-me")
    after = desk_api("agent").get(f"/api/v1/tickets/{ticket.ref}/version").get_json()

    assert after["version"] > before["version"]
    assert after["changed_by"] == "Admin"


def test_queue_counts_and_list_totals(desk_api, desk_people, make_ticket):
    for _ in range(3):
        make_ticket(reporter=desk_people["requester"])

    counts = desk_api("agent").get("/api/v1/queues/counts").get_json()["counts"]
    total = desk_api("agent").get("/api/v1/tickets/count?view=unassigned").get_json()["total"]

    assert counts["unassigned"] == 3 and total == 3
    assert desk_api("requester").get("/api/v1/queues/counts").status_code == 403
    assert desk_api("requester").get("/api/v1/tickets/count").get_json()["total"] == 3
