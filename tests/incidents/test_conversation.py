"""The conversation on a ticket (public answers, internal notes, the requester's reply) and the
requester's satisfaction rating once the ticket is resolved."""

from __future__ import annotations

import pytest

from tests.factories import RESOLUTION, TICKET, act_ok, comment


@pytest.fixture
def ref(rita) -> str:
    response = rita.post("/api/v1/tickets", json=TICKET)
    assert response.status_code == 201
    return response.get_json()["ref"]


def ticket(client, ref: str) -> dict:
    return client.get(f"/api/v1/tickets/{ref}").get_json()


def rate(client, ref: str, **body):
    return client.post(f"/api/v1/tickets/{ref}/satisfaction", json=body)


# --- comments --------------------------------------------------------------------------------


def test_a_comment_is_answered_with_201_and_listed_in_the_conversation(ref, rita):
    response = comment(rita, ref, "It also fails for credit notes.")

    assert response.status_code == 201
    created = response.get_json()
    assert (created["body"], created["public"]) == ("It also fails for credit notes.", True)
    assert created["author"]["email"] == "rita@example.com"
    listed = rita.get(f"/api/v1/tickets/{ref}/comments").get_json()["items"]
    assert [c["id"] for c in listed] == [created["id"]]


def test_the_first_public_answer_of_an_agent_is_the_first_response(ref, alex):
    assert ticket(alex, ref)["first_response_at"] is None

    comment(alex, ref, "We are looking into it.")

    assert ticket(alex, ref)["first_response_at"] is not None


def test_a_later_answer_does_not_move_the_first_response(ref, alex):
    comment(alex, ref, "We are looking into it.")
    first = ticket(alex, ref)["first_response_at"]

    comment(alex, ref, "Still on it.")

    assert ticket(alex, ref)["first_response_at"] == first


def test_an_internal_note_is_not_a_response_to_the_requester(ref, alex):
    comment(alex, ref, "Probably the period-close job.", public=False)

    assert ticket(alex, ref)["first_response_at"] is None


def test_the_requesters_own_comment_is_not_a_response(ref, rita, alex):
    comment(rita, ref, "Any news?")

    assert ticket(alex, ref)["first_response_at"] is None


def test_the_requesters_answer_resumes_a_ticket_waiting_on_them(ref, rita, alex):
    act_ok(alex, ref, "start")
    act_ok(alex, ref, "wait")

    comment(rita, ref, "It is company code 1000.")

    current = ticket(rita, ref)
    assert current["status"] == "in_progress"
    assert current["sla"]["paused"] is False
    actions = [e["action"] for e in rita.get(f"/api/v1/tickets/{ref}/history").get_json()["items"]]
    assert actions[-2:] == ["commented", "resume"]


def test_an_agents_comment_leaves_a_waiting_ticket_waiting(ref, alex):
    act_ok(alex, ref, "start")
    act_ok(alex, ref, "wait")

    comment(alex, ref, "Reminder: which company code?")

    assert ticket(alex, ref)["status"] == "waiting_on_requester"


def test_the_requesters_comment_does_not_change_a_ticket_in_progress(ref, rita, alex):
    act_ok(alex, ref, "start")

    comment(rita, ref, "Any news?")

    assert ticket(rita, ref)["status"] == "in_progress"


@pytest.mark.parametrize("ending", [["start", "resolve", "close"], ["cancel"]])
def test_a_closed_or_cancelled_ticket_takes_no_more_comments(ref, rita, alex, ending):
    for action in ending:
        act_ok(alex, ref, action, **(RESOLUTION if action == "resolve" else {}))

    response = comment(rita, ref, "Hello?")

    assert response.status_code == 409
    assert response.get_json()["current_status"] in {"closed", "cancelled"}
    assert rita.get(f"/api/v1/tickets/{ref}/comments").get_json()["items"] == []


@pytest.mark.parametrize("body", ["", "   "])
def test_an_empty_comment_is_refused(ref, rita, body):
    response = comment(rita, ref, body)

    assert response.status_code == 422
    assert "body" in response.get_json()["errors"]


def test_a_comment_appears_in_the_history(ref, alex):
    comment(alex, ref, "We are looking into it.")

    last = alex.get(f"/api/v1/tickets/{ref}/history").get_json()["items"][-1]
    assert last["action"] == "commented"
    assert last["changes"] == {"comment": [None, "We are looking into it."]}


# --- satisfaction ----------------------------------------------------------------------------


@pytest.fixture
def resolved(ref, alex) -> str:
    act_ok(alex, ref, "start")
    act_ok(alex, ref, "resolve", **RESOLUTION)
    return ref


def test_the_requester_rates_a_resolved_ticket(resolved, rita):
    response = rate(rita, resolved, rating=4, comment="Quick and clear.")

    assert response.status_code == 201
    assert response.get_json()["rating"] == 4
    shown = ticket(rita, resolved)["satisfaction"]
    assert (shown["rating"], shown["comment"]) == (4, "Quick and clear.")


def test_the_comment_of_a_rating_is_optional(resolved, rita):
    response = rate(rita, resolved, rating=5)

    assert response.status_code == 201
    assert ticket(rita, resolved)["satisfaction"]["comment"] is None


def test_a_closed_ticket_can_still_be_rated(resolved, rita):
    act_ok(rita, resolved, "close")

    assert rate(rita, resolved, rating=3).status_code == 201


def test_a_ticket_is_rated_only_once(resolved, rita):
    rate(rita, resolved, rating=2)

    response = rate(rita, resolved, rating=5)

    assert response.status_code == 409
    assert ticket(rita, resolved)["satisfaction"]["rating"] == 2


@pytest.mark.parametrize("steps", [[], ["start"], ["start", "wait"]])
def test_a_ticket_is_rated_only_once_resolved(ref, rita, alex, steps):
    for action in steps:
        act_ok(alex, ref, action)

    response = rate(rita, ref, rating=5)

    assert response.status_code == 409
    assert ticket(rita, ref)["satisfaction"] is None


def test_a_cancelled_ticket_cannot_be_rated(ref, rita):
    act_ok(rita, ref, "cancel")

    assert rate(rita, ref, rating=1).status_code == 409


def test_only_the_requester_rates_the_support(resolved, alex):
    response = rate(alex, resolved, rating=5)

    assert response.status_code == 403
    assert ticket(alex, resolved)["satisfaction"] is None


@pytest.mark.parametrize("rating", [0, 6, -1])
def test_a_rating_outside_one_to_five_stars_is_refused(resolved, rita, rating):
    response = rate(rita, resolved, rating=rating)

    assert response.status_code == 422
    assert "rating" in response.get_json()["errors"]
    assert ticket(rita, resolved)["satisfaction"] is None


def test_a_rating_appears_in_the_history(resolved, rita):
    rate(rita, resolved, rating=4)

    last = rita.get(f"/api/v1/tickets/{resolved}/history").get_json()["items"][-1]
    assert (last["action"], last["changes"]) == ("rated", {"rating": [None, 4]})
