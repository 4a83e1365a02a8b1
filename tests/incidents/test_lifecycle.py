"""The ticket lifecycle: the one state machine, and each action's rules as the API enforces them.

The table below is written out by hand on purpose: it is what the issue promises, and the state
machine in ``app/incidents/lifecycle.py`` must agree with it cell by cell.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.catalogue import service as catalogue
from app.core.errors import InvalidTransition
from app.incidents.lifecycle import Action, Party, Status, allowed_actions, transition_for
from tests.factories import act, act_ok, history_of, submitted

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday morning
RESOLUTION = {"resolution_code": "configuration", "resolution_note": "Period reopened."}

# party -> status -> {allowed action: status it leads to}; every other action is refused.
EXPECTED = {
    Party.AGENT: {
        "new": {
            "triage": "triaged",
            "start": "in_progress",
            "resolve": "resolved",
            "cancel": "cancelled",
            "duplicate": "closed",
        },
        "triaged": {
            "start": "in_progress",
            "resolve": "resolved",
            "cancel": "cancelled",
            "duplicate": "closed",
        },
        "in_progress": {
            "wait": "waiting_on_requester",
            "resolve": "resolved",
            "cancel": "cancelled",
            "duplicate": "closed",
        },
        "waiting_on_requester": {
            "resume": "in_progress",
            "resolve": "resolved",
            "cancel": "cancelled",
            "duplicate": "closed",
        },
        "resolved": {"close": "closed", "reopen": "in_progress"},
        "closed": {"reopen": "in_progress"},  # within the reopen window (test_jobs.py)
        "cancelled": {},
    },
    Party.REQUESTER: {
        "new": {"cancel": "cancelled"},
        "triaged": {"cancel": "cancelled"},
        "in_progress": {},
        "waiting_on_requester": {"resume": "in_progress"},
        "resolved": {"close": "closed", "reopen": "in_progress"},
        "closed": {"reopen": "in_progress"},
        "cancelled": {},
    },
    Party.SYSTEM: {
        "new": {},
        "triaged": {},
        "in_progress": {},
        "waiting_on_requester": {},
        "resolved": {"close": "closed"},
        "closed": {},
        "cancelled": {},
    },
}
# The actions that bring a fresh ticket (as the agent) to each status.
PATH_TO = {
    "new": [],
    "triaged": ["triage"],
    "in_progress": ["start"],
    "waiting_on_requester": ["start", "wait"],
    "resolved": ["start", "resolve"],
    "closed": ["start", "resolve", "close"],
    "cancelled": ["cancel"],
}


def bring_to(status: str, ref: str, agent_client) -> None:
    for action in PATH_TO[status]:
        act_ok(agent_client, ref, action, **(RESOLUTION if action == "resolve" else {}))


# --- the state machine itself ----------------------------------------------------------------


CELLS = [
    pytest.param(party, status, action, id=f"{party.value}-{status.value}-{action.value}")
    for party in Party
    for status in Status
    for action in Action
]


@pytest.mark.parametrize(("party", "status", "action"), CELLS)
def test_each_action_from_each_status_is_allowed_or_refused_as_the_table_says(
    party, status, action
):
    expected = EXPECTED[party][status.value]

    if action.value in expected:
        transition = transition_for(status.value, action.value, {party})
        assert transition.target == expected[action.value]
    else:
        with pytest.raises(InvalidTransition) as refused:
            transition_for(status.value, action.value, {party})
        assert refused.value.extra["allowed"] == sorted(expected)
        assert refused.value.status == 409


@pytest.mark.parametrize("status", [s.value for s in Status])
@pytest.mark.parametrize("party", list(Party))
def test_allowed_actions_lists_exactly_the_tables_actions(party, status):
    assert allowed_actions(status, {party}) == sorted(EXPECTED[party][status])


def test_an_agent_who_reported_the_ticket_may_do_what_either_role_may():
    both = allowed_actions("waiting_on_requester", {Party.AGENT, Party.REQUESTER})

    assert both == sorted(
        set(EXPECTED[Party.AGENT]["waiting_on_requester"])
        | set(EXPECTED[Party.REQUESTER]["waiting_on_requester"])
    )


def test_someone_playing_no_part_on_a_ticket_may_do_nothing():
    assert all(allowed_actions(status.value, set()) == [] for status in Status)


# --- refused transitions through the API -----------------------------------------------------


@pytest.mark.parametrize("status", list(PATH_TO))
def test_a_forbidden_action_answers_409_with_the_allowed_ones(status, rita, alex):
    ref = submitted(rita)["ref"]
    bring_to(status, ref, alex)
    forbidden = "start" if status in ("resolved", "closed") else "reopen"
    before = alex.get(f"/api/v1/tickets/{ref}").get_json()

    response = act(alex, ref, forbidden)

    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "invalid_transition"
    assert body["status"] == 409
    assert body["allowed"] == sorted(EXPECTED[Party.AGENT][status])
    after = alex.get(f"/api/v1/tickets/{ref}").get_json()
    assert (after["status"], after["version"]) == (before["status"], before["version"])


def test_the_allowed_list_depends_on_who_asks(rita, alex):
    ref = submitted(rita)["ref"]
    act_ok(alex, ref, "start")

    response = act(rita, ref, "resolve", **RESOLUTION)

    assert response.status_code == 409
    assert response.get_json()["allowed"] == []


def test_a_key_user_of_the_module_cannot_move_a_ticket(as_, make_user, rita):
    ref = submitted(rita)["ref"]
    key_user = as_(make_user("key_user", module="FIN"))

    response = act(key_user, ref, "triage")

    assert response.status_code == 403  # no part in the lifecycle: not a matter of state
    assert response.get_json()["code"] == "forbidden"


def test_an_unknown_action_is_a_validation_error(rita, alex):
    ref = submitted(rita)["ref"]

    response = act(alex, ref, "teleport")

    assert response.status_code == 422
    assert "action" in response.get_json()["errors"]


def test_a_stale_if_match_on_a_transition_is_refused_with_412(rita, alex):
    ref = submitted(rita)["ref"]
    stale = alex.get(f"/api/v1/tickets/{ref}").headers["ETag"]
    act_ok(alex, ref, "triage")

    response = alex.post(
        f"/api/v1/tickets/{ref}/transitions",
        json={"action": "start"},
        headers={"If-Match": stale},
    )

    assert response.status_code == 412
    assert alex.get(f"/api/v1/tickets/{ref}").get_json()["status"] == "triaged"


# --- triage ----------------------------------------------------------------------------------


def test_triage_keeps_the_matrix_priority_when_none_is_given(rita, alex):
    ref = submitted(rita)["ref"]

    ticket = act_ok(alex, ref, "triage")

    assert ticket["status"] == "triaged"
    assert ticket["priority"] == "P3"
    assert ticket["triaged_at"] is not None


def test_overriding_the_priority_at_triage_needs_a_reason(rita, alex):
    ref = submitted(rita)["ref"]

    response = act(alex, ref, "triage", priority="P1")

    assert response.status_code == 422
    assert "reason" in response.get_json()["errors"]
    ticket = alex.get(f"/api/v1/tickets/{ref}").get_json()
    assert (ticket["status"], ticket["priority"], ticket["triaged_at"]) == ("new", "P3", None)


def test_a_priority_override_with_a_reason_applies_and_moves_the_sla(rita, alex):
    ref = submitted(rita)["ref"]
    before = alex.get(f"/api/v1/tickets/{ref}").get_json()

    ticket = act_ok(alex, ref, "triage", priority="P1", reason="Month-end closing is blocked.")

    assert ticket["priority"] == "P1"
    assert ticket["priority_reason"] == "Month-end closing is blocked."
    assert ticket["sla"]["response_due_at"] < before["sla"]["response_due_at"]


def test_a_priority_override_is_audited_with_before_and_after(rita, alex):
    ref = submitted(rita)["ref"]

    act_ok(alex, ref, "triage", priority="P1", reason="Month-end closing is blocked.")

    triage = [e for e in history_of(alex, ref) if e["action"] == "triage"]
    assert len(triage) == 1
    assert triage[0]["actor"] == "alex@example.com"
    assert triage[0]["changes"]["status"] == ["new", "triaged"]
    assert triage[0]["changes"]["priority"] == ["P3", "P1"]
    assert triage[0]["changes"]["priority_reason"] == [None, "Month-end closing is blocked."]


def test_triage_routes_to_a_group_and_an_agent(db_session, make_user, rita, alex):
    catalogue.create_group(db_session, None, code="L2", name="Finance second level")
    db_session.commit()
    make_user("agent", email="bea@example.com")
    ref = submitted(rita)["ref"]

    ticket = act_ok(alex, ref, "triage", group="L2", assignee="bea@example.com")

    assert ticket["group"] == "L2"
    assert ticket["assignee"]["email"] == "bea@example.com"
    triage = next(e for e in history_of(alex, ref) if e["action"] == "triage")
    assert triage["changes"]["assignee"] == [None, "bea@example.com"]
    assert triage["changes"]["group"] == [None, "L2"]


def test_a_ticket_cannot_be_assigned_to_someone_outside_support(make_user, rita, alex):
    make_user("requester", email="other@example.com")
    ref = submitted(rita)["ref"]

    response = act(alex, ref, "triage", assignee="other@example.com")

    assert response.status_code == 422
    assert "assignee" in response.get_json()["errors"]


# --- working on it ---------------------------------------------------------------------------


def test_starting_work_assigns_the_agent_and_counts_as_first_response(rita, alex):
    ref = submitted(rita)["ref"]

    ticket = act_ok(alex, ref, "start")

    assert ticket["status"] == "in_progress"
    assert ticket["assignee"]["email"] == "alex@example.com"
    assert ticket["first_response_at"] is not None


def test_waiting_on_the_requester_pauses_the_clock_and_resuming_restarts_it(rita, alex):
    ref = submitted(rita)["ref"]
    act_ok(alex, ref, "start")

    waiting = act_ok(alex, ref, "wait")
    resumed = act_ok(alex, ref, "resume")

    assert (waiting["status"], waiting["sla"]["paused"]) == ("waiting_on_requester", True)
    assert (resumed["status"], resumed["sla"]["paused"]) == ("in_progress", False)


# --- resolving -------------------------------------------------------------------------------


def test_resolving_needs_a_resolution_code_and_a_note(rita, alex):
    ref = submitted(rita)["ref"]
    act_ok(alex, ref, "start")

    response = act(alex, ref, "resolve")

    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"resolution_code", "resolution_note"}
    assert alex.get(f"/api/v1/tickets/{ref}").get_json()["status"] == "in_progress"


def test_a_blank_resolution_note_is_refused(rita, alex):
    ref = submitted(rita)["ref"]

    response = act(alex, ref, "resolve", resolution_code="fixed", resolution_note="   ")

    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["resolution_note"]


def test_an_unknown_resolution_code_is_refused(rita, alex):
    ref = submitted(rita)["ref"]

    response = act(alex, ref, "resolve", resolution_code="magic", resolution_note="Done.")

    assert response.status_code == 422
    assert "resolution_code" in response.get_json()["errors"]


def test_resolving_records_what_was_done_and_when(rita, alex):
    ref = submitted(rita)["ref"]
    act_ok(alex, ref, "start")

    ticket = act_ok(alex, ref, "resolve", **RESOLUTION)

    assert ticket["status"] == "resolved"
    assert ticket["resolution_code"] == "configuration"
    assert ticket["resolution_note"] == "Period reopened."
    assert ticket["resolved_at"] is not None


def test_the_requester_confirms_a_resolved_ticket_which_closes_it(rita, alex):
    ref = submitted(rita)["ref"]
    bring_to("resolved", ref, alex)

    ticket = act_ok(rita, ref, "close")

    assert ticket["status"] == "closed"
    assert ticket["closed_at"] is not None


# --- reopening -------------------------------------------------------------------------------


def test_reopening_within_the_window_goes_back_to_work_and_counts(
    app, frozen_clock, as_, requester, agent
):
    app.config["TICKET_REOPEN_DAYS"] = 5
    frozen_clock(T0)
    rita, alex = as_(requester), as_(agent)
    ref = submitted(rita)["ref"]
    bring_to("resolved", ref, alex)
    frozen_clock(T0 + timedelta(days=4))
    rita = as_(requester)  # a token issued now: the first one has expired meanwhile

    ticket = act_ok(rita, ref, "reopen")

    assert ticket["status"] == "in_progress"
    assert ticket["reopen_count"] == 1
    assert (ticket["resolution_code"], ticket["resolved_at"]) == (None, None)
    reopen = [e for e in history_of(rita, ref) if e["action"] == "reopen"]
    assert reopen[0]["changes"]["reopen_count"] == [0, 1]
    assert reopen[0]["changes"]["status"] == ["resolved", "in_progress"]


def test_each_reopen_is_counted(rita, alex):
    ref = submitted(rita)["ref"]
    bring_to("resolved", ref, alex)
    act_ok(rita, ref, "reopen")
    act_ok(alex, ref, "resolve", **RESOLUTION)

    ticket = act_ok(rita, ref, "reopen")

    assert ticket["reopen_count"] == 2


def test_reopening_after_the_window_is_refused(app, frozen_clock, as_, requester, agent):
    app.config["TICKET_REOPEN_DAYS"] = 5
    frozen_clock(T0)
    rita, alex = as_(requester), as_(agent)
    ref = submitted(rita)["ref"]
    bring_to("resolved", ref, alex)
    frozen_clock(T0 + timedelta(days=6))
    rita = as_(requester)

    response = act(rita, ref, "reopen")

    assert response.status_code == 409
    assert "reopen window" in response.get_json()["message"]
    ticket = rita.get(f"/api/v1/tickets/{ref}").get_json()
    assert (ticket["status"], ticket["reopen_count"]) == ("resolved", 0)


# --- cancelling ------------------------------------------------------------------------------


def test_the_requester_may_cancel_a_new_ticket(rita):
    ref = submitted(rita)["ref"]

    ticket = act_ok(rita, ref, "cancel", reason="Found the answer in the wiki.")

    assert ticket["status"] == "cancelled"
    assert ticket["closed_at"] is not None
    assert [e["action"] for e in history_of(rita, ref)] == ["created", "cancel"]


def test_the_requester_may_not_cancel_once_work_has_started(rita, alex):
    ref = submitted(rita)["ref"]
    act_ok(alex, ref, "start")

    response = act(rita, ref, "cancel")

    assert response.status_code == 409
    assert response.get_json()["code"] == "invalid_transition"
    assert rita.get(f"/api/v1/tickets/{ref}").get_json()["status"] == "in_progress"


def test_the_agent_may_cancel_a_ticket_in_progress(rita, alex):
    ref = submitted(rita)["ref"]
    act_ok(alex, ref, "start")

    assert act_ok(alex, ref, "cancel")["status"] == "cancelled"


# --- duplicates ------------------------------------------------------------------------------


def test_marking_a_duplicate_closes_it_and_links_both_tickets(rita, alex):
    original = submitted(rita, title="Cannot post invoices")["ref"]
    copy = submitted(rita, title="Invoice posting broken")["ref"]

    ticket = act_ok(alex, copy, "duplicate", duplicate_of=original)

    assert ticket["status"] == "closed"
    assert ticket["duplicate_of"] == original
    assert ticket["resolution_code"] == "duplicate"
    linked = [e for e in history_of(alex, original) if e["action"] == "duplicate_linked"]
    assert linked[0]["changes"] == {"duplicates": [None, copy]}
    assert alex.get(f"/api/v1/tickets/{original}").get_json()["status"] == "new"


def test_a_ticket_cannot_duplicate_itself(rita, alex):
    ref = submitted(rita)["ref"]

    response = act(alex, ref, "duplicate", duplicate_of=ref)

    assert response.status_code == 422
    assert "duplicate_of" in response.get_json()["errors"]
    assert alex.get(f"/api/v1/tickets/{ref}").get_json()["status"] == "new"


def test_two_tickets_cannot_duplicate_each_other(rita, alex):
    first, second = submitted(rita)["ref"], submitted(rita)["ref"]
    act_ok(alex, second, "duplicate", duplicate_of=first)

    response = act(alex, first, "duplicate", duplicate_of=second)

    assert response.status_code == 422
    assert "duplicate_of" in response.get_json()["errors"]


def test_marking_a_duplicate_needs_the_original(rita, alex):
    ref = submitted(rita)["ref"]

    response = act(alex, ref, "duplicate")

    assert response.status_code == 422
    assert "duplicate_of" in response.get_json()["errors"]


def test_a_duplicate_of_a_ticket_that_does_not_exist_is_a_validation_error(rita, alex):
    ref = submitted(rita)["ref"]

    response = act(alex, ref, "duplicate", duplicate_of="INC-999999")

    assert response.status_code == 422
    assert "duplicate_of" in response.get_json()["errors"]
    assert alex.get(f"/api/v1/tickets/{ref}").get_json()["status"] == "new"
