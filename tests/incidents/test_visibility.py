"""Who sees what: requesters their own tickets, key users their modules', agents everything;
internal notes and support-only fields stay with the support team; key users pre-qualify."""

from __future__ import annotations

import pytest

from app.catalogue import service as catalogue
from tests.factories import act_ok, submitted

INTERNAL_NOTE = "Known bug in the period-close job, see problem PRB-17."


@pytest.fixture
def modules(make_module):
    return make_module("FIN"), make_module("SAL")


@pytest.fixture
def rita(as_, make_user, modules):
    return as_(make_user("requester", email="rita@example.com"))


@pytest.fixture
def sam(as_, make_user, modules):
    return as_(make_user("requester", email="sam@example.com"))


@pytest.fixture
def kim(as_, make_user, modules):
    """Key user of Finance."""
    return as_(make_user("key_user", module="FIN", email="kim@example.com"))


def submitted_ref(client, **fields) -> str:
    return submitted(client, **fields)["ref"]


def refs_listed(client, **query) -> set[str]:
    response = client.get("/api/v1/tickets", query_string=query)
    assert response.status_code == 200
    return {item["ref"] for item in response.get_json()["items"]}


# --- requesters ------------------------------------------------------------------------------


def test_a_requester_sees_their_own_ticket(rita):
    ref = submitted_ref(rita)

    assert rita.get(f"/api/v1/tickets/{ref}").status_code == 200


@pytest.mark.parametrize("path", ["", "/comments", "/history", "/attachments"])
def test_another_requesters_ticket_does_not_exist_for_a_requester(rita, sam, path):
    ref = submitted_ref(sam)

    response = rita.get(f"/api/v1/tickets/{ref}{path}")

    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"


def test_a_requester_cannot_act_on_or_comment_another_requesters_ticket(rita, sam):
    ref = submitted_ref(sam)

    cancel = rita.post(f"/api/v1/tickets/{ref}/transitions", json={"action": "cancel"})
    assert cancel.status_code == 404
    assert rita.post(f"/api/v1/tickets/{ref}/comments", json={"body": "Me too"}).status_code == 404
    assert sam.get(f"/api/v1/tickets/{ref}").get_json()["status"] == "new"


def test_a_requesters_list_holds_only_their_own_tickets(rita, sam):
    mine = {submitted_ref(rita), submitted_ref(rita, module="SAL")}
    submitted_ref(sam)
    submitted_ref(sam, module="SAL")

    assert refs_listed(rita) == mine


# --- key users -------------------------------------------------------------------------------


def test_a_key_user_sees_the_tickets_of_their_module(rita, kim):
    ref = submitted_ref(rita, module="FIN")

    response = kim.get(f"/api/v1/tickets/{ref}")

    assert response.status_code == 200
    assert response.get_json()["reporter"]["email"] == "rita@example.com"


def test_a_key_user_does_not_see_the_tickets_of_other_modules(rita, kim):
    ref = submitted_ref(rita, module="SAL")

    assert kim.get(f"/api/v1/tickets/{ref}").status_code == 404


def test_a_key_users_list_holds_their_modules_tickets_and_their_own(rita, sam, kim):
    finance = {submitted_ref(rita, module="FIN"), submitted_ref(sam, module="FIN")}
    submitted_ref(sam, module="SAL")
    own_sales = submitted_ref(kim, module="SAL")

    assert refs_listed(kim) == finance | {own_sales}


def test_a_key_user_may_comment_on_their_modules_tickets(rita, kim):
    ref = submitted_ref(rita, module="FIN")

    response = kim.post(f"/api/v1/tickets/{ref}/comments", json={"body": "Same in company 2000."})

    assert response.status_code == 201
    bodies = [c["body"] for c in rita.get(f"/api/v1/tickets/{ref}/comments").get_json()["items"]]
    assert bodies == ["Same in company 2000."]


# --- agents ----------------------------------------------------------------------------------


def test_an_agent_sees_every_ticket(rita, sam, alex):
    refs = {submitted_ref(rita, module="FIN"), submitted_ref(sam, module="SAL")}

    assert refs_listed(alex) == refs
    assert all(alex.get(f"/api/v1/tickets/{ref}").status_code == 200 for ref in refs)


# --- internal notes and support-only fields --------------------------------------------------


@pytest.fixture
def discussed(rita, alex) -> str:
    """A ticket with a public answer and an internal note of the support team."""
    ref = submitted_ref(rita)
    alex.post(f"/api/v1/tickets/{ref}/comments", json={"body": "We are looking into it."})
    response = alex.post(
        f"/api/v1/tickets/{ref}/comments", json={"body": INTERNAL_NOTE, "public": False}
    )
    assert response.status_code == 201
    return ref


def test_the_requester_does_not_see_internal_notes_in_the_conversation(discussed, rita):
    items = rita.get(f"/api/v1/tickets/{discussed}/comments").get_json()["items"]

    assert [c["body"] for c in items] == ["We are looking into it."]


def test_a_key_user_does_not_see_internal_notes_either(discussed, kim):
    items = kim.get(f"/api/v1/tickets/{discussed}/comments").get_json()["items"]

    assert [c["body"] for c in items] == ["We are looking into it."]


def test_the_support_team_sees_internal_notes_marked_as_such(discussed, alex):
    items = alex.get(f"/api/v1/tickets/{discussed}/comments").get_json()["items"]

    assert [(c["body"], c["public"]) for c in items] == [
        ("We are looking into it.", True),
        (INTERNAL_NOTE, False),
    ]


def test_the_requester_does_not_see_internal_notes_in_the_history(discussed, rita, alex):
    theirs = rita.get(f"/api/v1/tickets/{discussed}/history").get_json()["items"]
    support = alex.get(f"/api/v1/tickets/{discussed}/history").get_json()["items"]

    assert "internal_note" in [e["action"] for e in support]
    assert "internal_note" not in [e["action"] for e in theirs]
    assert INTERNAL_NOTE not in str(theirs)


def test_a_requester_cannot_write_an_internal_note(rita):
    ref = submitted_ref(rita)

    response = rita.post(f"/api/v1/tickets/{ref}/comments", json={"body": "psst", "public": False})

    assert response.status_code == 403
    assert rita.get(f"/api/v1/tickets/{ref}/comments").get_json()["items"] == []


@pytest.fixture
def routed(db_session, rita, alex) -> str:
    """A ticket triaged with a priority override (and its reason) into a support group."""
    catalogue.create_group(db_session, None, code="L2", name="Finance second level")
    db_session.commit()
    ref = submitted_ref(rita)
    act_ok(alex, ref, "triage", priority="P1", reason="CFO escalated it.", group="L2")
    return ref


def test_the_requester_does_not_see_support_only_fields(routed, rita):
    ticket = rita.get(f"/api/v1/tickets/{routed}").get_json()
    listed = rita.get("/api/v1/tickets").get_json()["items"][0]

    for body in (ticket, listed):
        assert "priority_reason" not in body
        assert "group" not in body
        assert body["priority"] == "P1"


def test_the_support_team_sees_the_support_only_fields(routed, alex):
    ticket = alex.get(f"/api/v1/tickets/{routed}").get_json()

    assert ticket["priority_reason"] == "CFO escalated it."
    assert ticket["group"] == "L2"


def test_the_requesters_history_leaves_out_support_only_changes(routed, rita):
    triage = next(
        e
        for e in rita.get(f"/api/v1/tickets/{routed}/history").get_json()["items"]
        if e["action"] == "triage"
    )

    assert triage["changes"]["priority"] == ["P3", "P1"]
    assert "priority_reason" not in triage["changes"]
    assert "group" not in triage["changes"]
    assert "CFO escalated it." not in str(triage)


# --- pre-qualification by key users ----------------------------------------------------------


def prequalify(client, ref: str, **body):
    return client.post(f"/api/v1/tickets/{ref}/prequalification", json=body)


def test_a_key_user_prequalifies_a_new_ticket_of_their_module(rita, kim, alex):
    ref = submitted_ref(rita)

    response = prequalify(kim, ref, priority="P2", note="Blocks all supplier payments.")

    assert response.status_code == 200
    seen_by_support = alex.get(f"/api/v1/tickets/{ref}").get_json()
    assert seen_by_support["suggested_priority"] == "P2"
    assert seen_by_support["prequalification_note"] == "Blocks all supplier payments."
    assert seen_by_support["priority"] == "P3"  # a suggestion; triage decides
    events = alex.get(f"/api/v1/tickets/{ref}/history").get_json()["items"]
    assert events[-1]["action"] == "prequalified"
    assert events[-1]["actor"] == "kim@example.com"
    assert events[-1]["changes"]["suggested_priority"] == [None, "P2"]


def test_prequalification_is_over_once_the_ticket_is_triaged(rita, kim, alex):
    ref = submitted_ref(rita)
    act_ok(alex, ref, "triage")

    response = prequalify(kim, ref, priority="P2")

    assert response.status_code == 409
    assert alex.get(f"/api/v1/tickets/{ref}").get_json()["suggested_priority"] is None


def test_a_key_user_cannot_prequalify_a_ticket_outside_their_module(kim, alex):
    ref = submitted_ref(kim, module="SAL")  # their own ticket: they see it, but it is not Finance

    response = prequalify(kim, ref, priority="P2")

    assert response.status_code == 403
    assert alex.get(f"/api/v1/tickets/{ref}").get_json()["suggested_priority"] is None


def test_a_key_user_cannot_even_find_other_modules_tickets_to_prequalify(sam, kim):
    ref = submitted_ref(sam, module="SAL")

    assert prequalify(kim, ref, priority="P2").status_code == 404


def test_a_requester_cannot_prequalify_their_own_ticket(rita, alex):
    ref = submitted_ref(rita)

    response = prequalify(rita, ref, priority="P1")

    assert response.status_code == 403
    assert alex.get(f"/api/v1/tickets/{ref}").get_json()["suggested_priority"] is None


def test_a_suggested_priority_outside_p1_to_p5_is_refused(rita, kim):
    ref = submitted_ref(rita)

    response = prequalify(kim, ref, priority="P0")

    assert response.status_code == 422
    assert "priority" in response.get_json()["errors"]
