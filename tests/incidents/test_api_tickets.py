"""Submitting and reading tickets through /api/v1/tickets: the contract the outside relies on,
validation, concurrent edits (ETag / If-Match), enhancement links and the ticket's timeline."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from app.incidents.sla import priority_for
from tests.factories import TICKET, act_ok, etag_of, history_of, submit, submitted

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday morning
RESOLUTION = {"resolution_code": "configuration", "resolution_note": "Period reopened."}


# --- priority from impact x urgency ----------------------------------------------------------


@pytest.mark.parametrize(
    ("impact", "urgency", "priority"),
    [
        ("high", "high", "P1"),
        ("high", "medium", "P2"),
        ("medium", "high", "P2"),
        ("high", "low", "P3"),
        ("medium", "medium", "P3"),
        ("low", "high", "P3"),
        ("medium", "low", "P4"),
        ("low", "medium", "P4"),
        ("low", "low", "P5"),
    ],
)
def test_priority_follows_the_itil_matrix(impact, urgency, priority):
    assert priority_for(impact, urgency) == priority


@pytest.mark.parametrize(
    ("impact", "urgency", "priority"),
    [("high", "high", "P1"), ("medium", "high", "P2"), ("high", "low", "P3"), ("low", "low", "P5")],
)
def test_a_submitted_ticket_gets_the_matrix_priority(rita, impact, urgency, priority):
    ticket = submitted(rita, impact=impact, urgency=urgency)

    assert ticket["priority"] == priority


# --- submitting ------------------------------------------------------------------------------


def test_submitting_a_ticket_answers_201_with_the_contract_fields(rita):
    response = submit(rita, impact="medium", urgency="high")

    assert response.status_code == 201
    ticket = response.get_json()
    assert ticket["ref"] == "INC-000001"
    assert ticket["status"] == "new"
    assert ticket["priority"] == "P2"
    assert ticket["module"] == "FIN"
    assert ticket["reporter"]["email"] == "rita@example.com"
    assert ticket["assignee"] is None
    assert ticket["title"] == TICKET["title"]
    assert ticket["description"] == TICKET["description"]
    assert {
        "response_due_at",
        "resolution_due_at",
        "response_breached",
        "resolution_breached",
        "at_risk",
    } <= set(ticket["sla"])
    assert response.headers["ETag"]


def test_references_are_inc_and_a_zero_padded_sequence(rita):
    refs = [submitted(rita)["ref"] for _ in range(3)]

    assert refs == ["INC-000001", "INC-000002", "INC-000003"]
    assert all(re.fullmatch(r"INC-\d{6}", ref) for ref in refs)


def test_the_sla_of_a_new_ticket_runs_from_its_submission(frozen_clock, as_, requester):
    frozen_clock(T0)
    # FIN has no business calendar, so its clock runs 24x7; P1 defaults: 15 min / 4 h.
    ticket = submitted(as_(requester), impact="high", urgency="high")

    sla = ticket["sla"]
    assert datetime.fromisoformat(sla["response_due_at"]) == T0 + timedelta(minutes=15)
    assert datetime.fromisoformat(sla["resolution_due_at"]) == T0 + timedelta(hours=4)
    assert (sla["response_breached"], sla["resolution_breached"], sla["at_risk"]) == (
        False,
        False,
        False,
    )


def test_reading_a_ticket_gives_the_same_body_and_etag_as_its_creation(rita):
    created = submit(rita)

    read = rita.get(f"/api/v1/tickets/{created.get_json()['ref']}")

    assert read.status_code == 200
    assert read.get_json() == created.get_json()
    assert read.headers["ETag"] == created.headers["ETag"]


def test_a_reference_that_does_not_exist_is_404(rita):
    assert rita.get("/api/v1/tickets/INC-000042").status_code == 404
    assert rita.get("/api/v1/tickets/not-a-ref").status_code == 404


def test_submitting_needs_a_signed_in_user(client, finance):
    response = client.post("/api/v1/tickets", json=TICKET)

    assert response.status_code == 401


# --- validation ------------------------------------------------------------------------------


def test_a_ticket_without_a_title_is_refused_with_the_field_error(rita):
    body = {k: v for k, v in TICKET.items() if k != "title"}

    response = rita.post("/api/v1/tickets", json=body)

    assert response.status_code == 422
    error = response.get_json()
    assert (error["status"], error["code"]) == (422, "validation_error")
    assert list(error["errors"]) == ["title"]


def test_a_blank_title_is_refused_like_a_missing_one(rita):
    response = submit(rita, title="   ")

    assert response.status_code == 422
    assert "title" in response.get_json()["errors"]


@pytest.mark.parametrize("field", ["impact", "urgency"])
def test_an_impact_or_urgency_outside_the_scale_is_refused(rita, field):
    response = submit(rita, **{field: "critical"})

    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == [field]


def test_an_unknown_module_is_refused_with_the_field_error(rita):
    response = submit(rita, module="NOPE")

    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["module"]


def test_a_retired_module_takes_no_new_tickets(db_session, make_module, rita):
    make_module("OLD").active = False
    db_session.commit()

    response = submit(rita, module="OLD")

    assert response.status_code == 422
    assert "module" in response.get_json()["errors"]


def test_a_refused_submission_leaves_no_ticket_behind(rita, alex):
    submit(rita, module="NOPE")

    assert alex.get("/api/v1/tickets").get_json()["items"] == []


# --- changing fields with If-Match -----------------------------------------------------------


def test_a_change_without_if_match_is_refused_with_428(rita, alex):
    ref = submitted(rita)["ref"]

    response = alex.patch(f"/api/v1/tickets/{ref}", json={"title": "Posting fails"})

    assert response.status_code == 428
    assert alex.get(f"/api/v1/tickets/{ref}").get_json()["title"] == TICKET["title"]


def test_a_change_with_a_stale_etag_is_refused_with_412(rita, alex):
    ref = submitted(rita)["ref"]
    seen_by_rita = etag_of(rita, ref)
    response = alex.patch(
        f"/api/v1/tickets/{ref}", json={"impact": "high"}, headers={"If-Match": etag_of(alex, ref)}
    )
    assert response.status_code == 200

    response = rita.patch(
        f"/api/v1/tickets/{ref}", json={"title": "Old view"}, headers={"If-Match": seen_by_rita}
    )

    assert response.status_code == 412
    assert rita.get(f"/api/v1/tickets/{ref}").get_json()["title"] == TICKET["title"]


def test_a_change_with_the_current_etag_applies_and_gives_a_new_etag(rita, alex):
    ref = submitted(rita)["ref"]
    current = etag_of(alex, ref)

    response = alex.patch(
        f"/api/v1/tickets/{ref}", json={"title": "Posting fails"}, headers={"If-Match": current}
    )

    assert response.status_code == 200
    assert response.get_json()["title"] == "Posting fails"
    assert response.headers["ETag"] != current
    assert etag_of(alex, ref) == response.headers["ETag"]


def test_the_requester_may_fix_the_title_while_the_ticket_is_new(rita):
    ref = submitted(rita)["ref"]

    response = rita.patch(
        f"/api/v1/tickets/{ref}",
        json={"title": "Posting supplier invoices fails"},
        headers={"If-Match": etag_of(rita, ref)},
    )

    assert response.status_code == 200
    assert response.get_json()["title"] == "Posting supplier invoices fails"


def test_the_requester_may_not_change_the_title_once_triaged(rita, alex):
    ref = submitted(rita)["ref"]
    act_ok(alex, ref, "triage")

    response = rita.patch(
        f"/api/v1/tickets/{ref}", json={"title": "Too late"}, headers={"If-Match": "*"}
    )

    assert response.status_code == 403
    assert list(response.get_json()["errors"]) == ["title"]
    assert rita.get(f"/api/v1/tickets/{ref}").get_json()["title"] == TICKET["title"]


@pytest.mark.parametrize(
    "change",
    [
        {"impact": "high"},
        {"urgency": "high"},
        {"module": "FIN"},
        {"assignee": "alex@example.com"},
        {"group": None},
    ],
    ids=lambda change: next(iter(change)),
)
def test_the_requester_may_not_touch_the_support_teams_fields(rita, agent, change):
    ref = submitted(rita)["ref"]

    response = rita.patch(f"/api/v1/tickets/{ref}", json=change, headers={"If-Match": "*"})

    assert response.status_code == 403
    assert list(response.get_json()["errors"]) == list(change)


def test_an_agent_re_rating_the_impact_recomputes_the_priority_and_audits_it(rita, alex):
    ref = submitted(rita)["ref"]  # medium x medium = P3

    response = alex.patch(
        f"/api/v1/tickets/{ref}", json={"impact": "high"}, headers={"If-Match": etag_of(alex, ref)}
    )

    assert response.get_json()["priority"] == "P2"
    updated = [e for e in history_of(alex, ref) if e["action"] == "updated"]
    assert updated[-1]["changes"]["impact"] == ["medium", "high"]
    assert updated[-1]["changes"]["priority"] == ["P3", "P2"]


def test_an_agent_assigns_through_a_change(rita, alex):
    ref = submitted(rita)["ref"]

    response = alex.patch(
        f"/api/v1/tickets/{ref}",
        json={"assignee": "alex@example.com"},
        headers={"If-Match": etag_of(alex, ref)},
    )

    assert response.status_code == 200
    assert response.get_json()["assignee"]["email"] == "alex@example.com"


def test_a_closed_ticket_cannot_change(rita, alex):
    ref = submitted(rita)["ref"]
    act_ok(alex, ref, "cancel")

    response = alex.patch(f"/api/v1/tickets/{ref}", json={"title": "X"}, headers={"If-Match": "*"})

    assert response.status_code == 409


# --- enhancement links -----------------------------------------------------------------------


def an_enhancement(client) -> str:
    """A request to link to (ENH-...)."""
    body = {
        "title": "Auto-match",
        "problem": "Manual matching.",
        "benefit": "Time.",
        "module": "FIN",
    }
    response = client.post("/api/v1/enhancements", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["ref"]


def test_an_agent_links_the_ticket_to_an_enhancement_request(rita, alex):
    ref = submitted(rita)["ref"]
    enh = an_enhancement(rita)

    response = alex.post(f"/api/v1/tickets/{ref}/enhancements", json={"enhancement": enh})

    assert response.status_code == 200
    assert response.get_json()["enhancements"] == [enh]
    linked = [e for e in history_of(alex, ref) if e["action"] == "linked"]
    assert linked[0]["changes"] == {"enhancement": [None, enh]}


def test_linking_the_same_enhancement_twice_keeps_one_link(rita, alex):
    ref = submitted(rita)["ref"]
    enh = an_enhancement(rita)
    alex.post(f"/api/v1/tickets/{ref}/enhancements", json={"enhancement": enh})

    response = alex.post(f"/api/v1/tickets/{ref}/enhancements", json={"enhancement": enh})

    assert response.get_json()["enhancements"] == [enh]


def test_a_link_to_an_enhancement_request_that_does_not_exist_is_refused(rita, alex):
    ref = submitted(rita)["ref"]

    response = alex.post(f"/api/v1/tickets/{ref}/enhancements", json={"enhancement": "ENH-000045"})

    assert response.status_code == 422
    assert "enhancement" in response.get_json()["errors"]


@pytest.mark.parametrize("bad", ["FOO", "ENH-45", "INC-000045", ""])
def test_a_link_to_something_that_is_not_an_enhancement_reference_is_refused(rita, alex, bad):
    ref = submitted(rita)["ref"]

    response = alex.post(f"/api/v1/tickets/{ref}/enhancements", json={"enhancement": bad})

    assert response.status_code == 422
    assert "enhancement" in response.get_json()["errors"]
    assert alex.get(f"/api/v1/tickets/{ref}").get_json()["enhancements"] == []


def test_the_requester_cannot_link_enhancements(rita):
    ref = submitted(rita)["ref"]

    response = rita.post(f"/api/v1/tickets/{ref}/enhancements", json={"enhancement": "ENH-000045"})

    assert response.status_code == 403


# --- the timeline ----------------------------------------------------------------------------


def test_every_change_appears_in_the_history_in_order_with_its_actor(rita, alex):
    ref = submitted(rita)["ref"]
    rita.patch(
        f"/api/v1/tickets/{ref}",
        json={"title": "Posting fails for all invoices"},
        headers={"If-Match": etag_of(rita, ref)},
    )
    act_ok(alex, ref, "triage", priority="P2", reason="Affects the closing.")
    alex.post(f"/api/v1/tickets/{ref}/enhancements", json={"enhancement": an_enhancement(rita)})
    act_ok(alex, ref, "start")
    alex.post(f"/api/v1/tickets/{ref}/comments", json={"body": "Which company code?"})
    act_ok(alex, ref, "wait")
    rita.post(f"/api/v1/tickets/{ref}/comments", json={"body": "Company 1000."})
    act_ok(alex, ref, "resolve", **RESOLUTION)
    rita.post(f"/api/v1/tickets/{ref}/satisfaction", json={"rating": 5})
    act_ok(rita, ref, "close")

    events = [(e["action"], e["actor"]) for e in history_of(alex, ref)]

    assert events == [
        ("created", "rita@example.com"),
        ("updated", "rita@example.com"),
        ("triage", "alex@example.com"),
        ("linked", "alex@example.com"),
        ("start", "alex@example.com"),
        ("commented", "alex@example.com"),
        ("wait", "alex@example.com"),
        ("commented", "rita@example.com"),
        ("resume", "rita@example.com"),
        ("resolve", "alex@example.com"),
        ("rated", "rita@example.com"),
        ("close", "rita@example.com"),
    ]


def test_a_history_event_carries_the_before_and_after_of_what_changed(rita):
    ref = submitted(rita)["ref"]
    rita.patch(
        f"/api/v1/tickets/{ref}",
        json={"title": "Posting fails for all invoices"},
        headers={"If-Match": etag_of(rita, ref)},
    )

    updated = history_of(rita, ref)[-1]

    assert updated["action"] == "updated"
    assert updated["changes"] == {"title": [TICKET["title"], "Posting fails for all invoices"]}
    assert updated["at"]
