"""Every write of the enhancement API, as every role: the permission of the action decides."""

from __future__ import annotations

import pytest

from tests.enhancements.helpers import ROLES, act, decide, ok, qualify, submitted
from tests.factories import submitted as ticket_submitted

ALL_BUT_AUDITOR = set(ROLES) - {"auditor"}
# write -> the roles for whom it succeeds (everyone else: 403, or 404 for a ticket not theirs)
ALLOWED = {
    "patch": {"requester", "product_owner", "admin"},
    "review": {"product_owner", "admin"},
    "withdraw": {"requester"},
    "vote": ALL_BUT_AUDITOR,
    "unvote": ALL_BUT_AUDITOR,
    "comment": ALL_BUT_AUDITOR,
    "note": {"product_owner", "committee_member", "admin"},
    "qualify": {"product_owner", "admin"},
    "decide": {"committee_member", "admin"},
    "rank": {"product_owner", "admin"},
    "from_ticket": {"agent", "admin"},
    "submit": ALL_BUT_AUDITOR,
}


def _fresh(api) -> str:
    return submitted(api["requester"], title="Fresh")["ref"]


def _reviewed(api) -> str:
    ref = _fresh(api)
    ok(act(api["admin"], ref, "review"))
    return ref


def _approved(api) -> str:
    ref = _reviewed(api)
    ok(qualify(api["admin"], ref))
    ok(decide(api["admin"], ref))
    return ref


def _writes(api, client):
    """Each write on a request in the state it needs: name -> response."""
    url = "/api/v1/enhancements"
    fresh = _fresh(api)
    tag = api["requester"].get(f"{url}/{fresh}").headers["ETag"]
    ticket = ticket_submitted(api["requester"])["ref"]
    yield (
        "submit",
        client.post(url, json={"title": "t", "problem": "p", "benefit": "b", "module": "FIN"}),
    )
    yield "patch", client.patch(f"{url}/{fresh}", json={"title": "New"}, headers={"If-Match": tag})
    yield "review", act(client, _fresh(api), "review")
    yield "withdraw", act(client, _fresh(api), "withdraw")
    reviewed = _reviewed(api)
    yield "vote", client.post(f"{url}/{reviewed}/votes")
    yield "unvote", client.delete(f"{url}/{reviewed}/votes")
    yield "comment", client.post(f"{url}/{reviewed}/comments", json={"body": "Hello"})
    yield "note", client.post(f"{url}/{reviewed}/comments", json={"body": "Hm", "public": False})
    yield "qualify", qualify(client, reviewed)
    yield "decide", decide(client, _reviewed(api))
    yield "rank", client.post(f"{url}/{_approved(api)}/rank", json={"position": 1})
    yield "from_ticket", client.post(f"{url}/from-ticket", json={"ticket": ticket, "benefit": "b"})


@pytest.mark.parametrize("role", ROLES)
def test_every_api_write_as_every_role(api, role):
    seen = set()
    for name, response in _writes(api, api[role]):
        seen.add(name)
        if role in ALLOWED[name]:
            assert response.status_code in (200, 201), (role, name, response.get_json())
        else:
            assert response.status_code in (403, 404), (role, name, response.get_json())
            assert response.get_json()["code"] in ("forbidden", "not_found")
    assert seen == set(ALLOWED)
