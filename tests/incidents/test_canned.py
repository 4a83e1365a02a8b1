"""Canned responses: admins write them (for every module or one), agents insert them in a
reply with the placeholders filled for the ticket."""

from __future__ import annotations

import pytest

from tests.incidents.conftest import ROLES

CANNED = "/api/v1/canned-responses"
HELLO = {
    "title": "Period closed",
    "body": "Hello {{requester_name}}, {{ticket_ref}} ({{module}}): the period is open again."
    " {{oops}}",
}


@pytest.fixture
def ticket(make_ticket, desk_people, make_module):
    make_module("SAL", name="Sales")
    return make_ticket(reporter=desk_people["requester"])


def test_an_admin_writes_a_response_and_an_agent_gets_it_filled_for_a_ticket(desk_api, ticket):
    created = desk_api("admin").post(CANNED, json=HELLO)
    assert created.status_code == 201, created.get_json()

    filled = desk_api("agent").get(
        f"/api/v1/tickets/{ticket.ref}/canned-responses/{created.get_json()['id']}"
    )

    assert filled.status_code == 200
    assert filled.get_json()["text"] == (
        f"Hello Requester, {ticket.ref} (Finance): the period is open again. {{{{oops}}}}"
    )


def test_a_modules_responses_are_offered_on_that_modules_tickets_only(desk_api, ticket):
    desk_api("admin").post(CANNED, json={**HELLO, "title": "Everywhere"})
    sales = desk_api("admin").post(CANNED, json={**HELLO, "title": "Sales only", "module": "SAL"})

    for_finance = desk_api("agent").get(f"{CANNED}?module=FIN").get_json()["items"]
    assert [c["title"] for c in for_finance] == ["Everywhere"]
    assert len(desk_api("agent").get(CANNED).get_json()["items"]) == 2
    wrong = desk_api("agent").get(
        f"/api/v1/tickets/{ticket.ref}/canned-responses/{sales.get_json()['id']}"
    )
    assert wrong.status_code == 404


def test_changing_a_response_needs_its_etag(desk_api):
    created = desk_api("admin").post(CANNED, json=HELLO)
    url = f"{CANNED}/{created.get_json()['id']}"

    assert desk_api("admin").patch(url, json={"title": "New"}).status_code == 428
    stale = desk_api("admin").patch(
        url, json={"title": "New"}, headers={"If-Match": '"canned-0-v0"'}
    )
    assert stale.status_code == 412
    fresh = desk_api("admin").patch(
        url, json={"title": "New"}, headers={"If-Match": created.headers["ETag"]}
    )
    assert fresh.status_code == 200
    assert fresh.get_json()["title"] == "New"


def test_an_unknown_module_is_refused_by_name(desk_api):
    response = desk_api("admin").post(CANNED, json={**HELLO, "module": "XYZ"})

    assert response.status_code == 422
    assert "module" in response.get_json()["errors"]


WRITE = {
    "requester": 403,
    "key_user": 403,
    "agent": 403,
    "product_owner": 403,
    "auditor": 403,
    "admin": 201,
}
READ = {"requester": 403, "key_user": 403, "agent": 200, "product_owner": 403, "auditor": 403}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_only_admins_write_canned_responses(desk_api, role):
    assert desk_api(role).post(CANNED, json=HELLO).status_code == WRITE[role]


@pytest.mark.parametrize("role", sorted(ROLES))
def test_only_admins_change_or_delete_them(desk_api, role):
    created = desk_api("admin").post(CANNED, json=HELLO)
    url = f"{CANNED}/{created.get_json()['id']}"
    etag = created.headers["ETag"]

    changed = desk_api(role).patch(url, json={"title": "Mine"}, headers={"If-Match": etag})
    deleted = desk_api(role).delete(url)

    expected = (200, 204) if role == "admin" else (403, 403)
    assert (changed.status_code, deleted.status_code) == expected


@pytest.mark.parametrize("role", sorted(READ))
def test_the_support_team_reads_them(desk_api, role):
    assert desk_api(role).get(CANNED).status_code == READ[role]
