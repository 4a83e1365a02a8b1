"""Access requests through the API: who may ask, SoD conflicts and exceptions, approvals
(two different approvers for sensitive roles, nobody approves their own), grants."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.core.clock import utcnow
from tests.access.support import (
    approved,
    ask,
    asked,
    audit_actions,
    decide,
    grants_of,
    outbox_of,
)


def test_a_person_asks_for_themself_and_gets_a_reference(api):
    data = asked(api["rita"], ["FIN_VIEW"])
    assert data["ref"] == "ACC-000001"
    assert data["status"] == "pending_approval"
    assert data["user"] == data["requester"] == "rita@example.com"
    assert data["sod_conflicts"] == []
    assert data["approvals_missing"] == [{"module": "FIN", "approvals": 1}]


@pytest.mark.parametrize(
    "who, status",
    [
        ("rita", 403),  # a requester only asks for themself
        ("sam", 403),  # an approver of another module is not this module's manager
        ("audrey", 403),  # read-only
        ("fiona", 201),  # an approver of the module asks for someone of her team
        ("ada", 201),  # an admin
    ],
)
def test_asking_for_someone_else(api, who, status):
    response = ask(api[who], ["FIN_VIEW"], user="felix@example.com")
    assert response.status_code == status, response.get_json()
    if status == 201:
        assert response.get_json()["user"] == "felix@example.com"
    else:
        assert response.get_json()["code"] in ("forbidden", "insufficient_scope")


def test_the_auditor_cannot_ask_even_for_themself(api):
    assert ask(api["audrey"], ["FIN_VIEW"]).status_code == 403


@pytest.mark.parametrize(
    "body, field",
    [
        ({"roles": ["NOPE"], "justification": "x"}, "roles"),
        ({"roles": [], "justification": "x"}, "roles"),
        ({"roles": ["FIN_VIEW"], "justification": ""}, "justification"),
        ({"roles": ["FIN_VIEW"], "justification": "   "}, "justification"),
        ({"roles": ["FIN_VIEW"], "justification": "x", "end_date": "2001-01-01"}, "end_date"),
        ({"roles": ["FIN_VIEW"], "justification": "x", "user": "ghost@example.com"}, "user"),
    ],
)
def test_bad_requests_are_422_with_the_field(api, body, field):
    response = api["ada"].post("/api/v1/access/requests", json=body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]


def test_a_role_already_asked_for_cannot_be_asked_again(api):
    asked(api["rita"], ["FIN_VIEW"])
    response = ask(api["rita"], ["FIN_VIEW"])
    assert response.status_code == 422
    assert "roles" in response.get_json()["errors"]


def test_a_standard_role_needs_one_approver_then_a_grant_awaits_provisioning(api, db_session):
    data = approved(api, ["FIN_VIEW"], approvers=("fiona",))
    assert [a["approver"] for a in data["approvals"]] == ["fiona@example.com"]
    assert data["decided_at"] is not None
    (grant,) = grants_of(db_session, "rita@example.com")
    assert grant.status == "pending_provisioning"
    assert grant.role.code == "FIN_VIEW"
    assert audit_actions(db_session, "access_request", data["ref"]) == [
        "submit",
        "approve_vote",
        "approved",
    ]
    assert audit_actions(db_session, "access_grant", grant.id) == ["grant"]
    assert {"grant_id": grant.id, "action": "provision"} in outbox_of(db_session, "tell_erp")
    events = [m["event"] for m in outbox_of(db_session, "send_access_email")]
    assert events == ["pending_approval", "approved"]


def test_a_sensitive_role_needs_a_second_different_approver(api, db_session):
    data = asked(api["rita"], ["FIN_SUPPLIER"])
    first = decide(api["fiona"], data["ref"])
    assert first.status_code == 201
    assert first.get_json()["status"] == "pending_approval"
    assert first.get_json()["approvals_missing"] == [{"module": "FIN", "approvals": 1}]
    again = decide(api["fiona"], data["ref"])
    assert again.status_code == 409
    assert grants_of(db_session, "rita@example.com") == []
    second = decide(api["felix"], data["ref"])
    assert second.status_code == 201
    assert second.get_json()["status"] == "approved"
    assert len(grants_of(db_session, "rita@example.com")) == 1


def test_an_approver_of_another_module_cannot_count_as_the_second(api):
    data = asked(api["rita"], ["FIN_SUPPLIER"])
    assert decide(api["sam"], data["ref"]).status_code == 404  # not his module: not shown
    decide(api["fiona"], data["ref"])
    assert decide(api["sam"], data["ref"]).status_code == 404


def test_a_request_over_two_modules_needs_an_approver_of_each(api):
    data = asked(api["rita"], ["FIN_VIEW", "SAL_ORDER"])
    after_fiona = decide(api["fiona"], data["ref"]).get_json()
    assert after_fiona["status"] == "pending_approval"
    assert after_fiona["approvals_missing"] == [{"module": "SAL", "approvals": 1}]
    assert decide(api["sam"], data["ref"]).get_json()["status"] == "approved"


@pytest.mark.parametrize("who", ["rita", "audrey"])
def test_neither_the_requester_nor_the_auditor_approves(api, who):
    data = asked(api["rita"], ["FIN_VIEW"])
    response = decide(api[who], data["ref"])
    assert response.status_code in (403, 404)  # the auditor sees it; rita is refused as self
    assert response.get_json()["code"] == "forbidden"


def test_nobody_approves_their_own_request_not_even_an_admin(api):
    data = asked(api["ada"], ["FIN_VIEW"])
    response = decide(api["ada"], data["ref"])
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"


def test_an_approver_cannot_approve_access_asked_for_them(api):
    data = asked(api["ada"], ["FIN_VIEW"], user="fiona@example.com")
    assert decide(api["fiona"], data["ref"]).status_code == 403
    assert decide(api["felix"], data["ref"]).status_code == 201


def test_a_manager_cannot_approve_what_she_asked_for_someone(api):
    data = asked(api["fiona"], ["FIN_VIEW"], user="rita@example.com")
    assert decide(api["fiona"], data["ref"]).status_code == 403
    assert decide(api["felix"], data["ref"]).get_json()["status"] == "approved"


def test_an_admin_approves_any_module(api):
    data = asked(api["rita"], ["SAL_ORDER"])
    assert decide(api["ada"], data["ref"]).get_json()["status"] == "approved"


def test_a_decided_request_answers_409(api):
    data = approved(api, ["FIN_VIEW"])
    response = decide(api["felix"], data["ref"])
    assert response.status_code == 409
    assert response.get_json()["code"] == "invalid_transition"
    assert decide(api["ada"], data["ref"], "reject", "no").status_code == 409


def test_rejecting_needs_a_comment_and_ends_the_request(api, db_session):
    data = asked(api["rita"], ["FIN_VIEW"])
    missing = decide(api["fiona"], data["ref"], "reject", None)
    assert missing.status_code == 422
    assert "comment" in missing.get_json()["errors"]
    rejected = decide(api["fiona"], data["ref"], "reject", "Not your job.")
    assert rejected.get_json()["status"] == "rejected"
    assert grants_of(db_session, "rita@example.com") == []
    assert "rejected" in [m["event"] for m in outbox_of(db_session, "send_access_email")]


def test_an_sod_conflict_needs_an_exception_and_an_admin(api, db_session):
    approved(api, ["FIN_SUPPLIER"], approvers=("fiona", "felix"))
    data = asked(api["rita"], ["FIN_PAYMENT"])
    assert data["status"] == "needs_exception"
    assert data["sod_conflicts"] == [
        {
            "roles": ["FIN_PAYMENT", "FIN_SUPPLIER"],
            "severity": "high",
            "description": "Create a supplier and pay it: fictitious vendor fraud.",
        }
    ]
    blocked = decide(api["fiona"], data["ref"])
    assert blocked.status_code == 409
    ref = data["ref"]
    expires = (utcnow().date() + timedelta(days=90)).isoformat()
    filed = api["rita"].post(
        f"/api/v1/access/requests/{ref}/exception",
        json={"mitigating_control": "Weekly payment review by the CFO", "expires_on": expires},
    )
    assert filed.status_code == 200, filed.get_json()
    assert filed.get_json()["status"] == "pending_approval"
    assert filed.get_json()["exception"]["status"] == "pending"
    decide(api["fiona"], ref)
    after_two = decide(api["felix"], ref).get_json()
    assert after_two["status"] == "pending_approval"  # the admin's approval is still missing
    done = decide(api["ada"], ref).get_json()
    assert done["status"] == "approved"
    assert done["exception"]["approved_by"] == "ada@example.com"
    assert "file_exception" in audit_actions(db_session, "access_request", ref)


def test_an_exception_is_filed_once_with_a_future_expiry(api):
    approved(api, ["FIN_SUPPLIER"], approvers=("fiona", "felix"))
    ref = asked(api["rita"], ["FIN_PAYMENT"])["ref"]
    url = f"/api/v1/access/requests/{ref}/exception"
    past = api["rita"].post(url, json={"mitigating_control": "x", "expires_on": "2001-01-01"})
    assert past.status_code == 422
    assert api["sam"].post(
        url, json={"mitigating_control": "x", "expires_on": "2099-01-01"}
    ).status_code in (403, 404)
    ok = api["rita"].post(url, json={"mitigating_control": "x", "expires_on": "2099-01-01"})
    assert ok.status_code == 200
    twice = api["rita"].post(url, json={"mitigating_control": "x", "expires_on": "2099-01-01"})
    assert twice.status_code == 409


def test_the_live_sod_check_writes_nothing(api, db_session):
    approved(api, ["FIN_SUPPLIER"], approvers=("fiona", "felix"))
    response = api["rita"].post("/api/v1/access/sod-check", json={"roles": ["FIN_PAYMENT"]})
    assert response.status_code == 200
    assert response.get_json()["sod_conflicts"][0]["severity"] == "high"
    clean = api["rita"].post("/api/v1/access/sod-check", json={"roles": ["SAL_ORDER"]})
    assert clean.get_json()["sod_conflicts"] == []


def test_requests_are_seen_by_their_people_and_module_viewers_only(api):
    ref = asked(api["rita"], ["FIN_VIEW"])["ref"]
    for who, status in [("rita", 200), ("fiona", 200), ("ada", 200), ("audrey", 200), ("sam", 404)]:
        assert api[who].get(f"/api/v1/access/requests/{ref}").status_code == status, who
    inbox = api["fiona"].get("/api/v1/access/requests?view=to_approve").get_json()["items"]
    assert [r["ref"] for r in inbox] == [ref]
    assert api["sam"].get("/api/v1/access/requests?view=to_approve").get_json()["items"] == []


def test_the_requester_cancels_an_undecided_request(api):
    ref = asked(api["rita"], ["FIN_VIEW"])["ref"]
    assert api["fiona"].post(f"/api/v1/access/requests/{ref}/cancel").status_code == 403
    response = api["rita"].post(f"/api/v1/access/requests/{ref}/cancel")
    assert response.get_json()["status"] == "cancelled"
    assert decide(api["fiona"], ref).status_code == 409


def test_a_stale_if_match_on_an_approval_is_412(api):
    data = asked(api["rita"], ["FIN_SUPPLIER"])
    etag = api["rita"].get(f"/api/v1/access/requests/{data['ref']}").headers["ETag"]
    decide(api["fiona"], data["ref"])
    response = api["felix"].post(
        f"/api/v1/access/requests/{data['ref']}/approvals",
        json={"decision": "approve"},
        headers={"If-Match": etag},
    )
    assert response.status_code == 412


def test_only_who_may_ask_for_someone_checks_their_conflicts(api):
    body = {"user": "felix@example.com", "roles": ["FIN_VIEW"]}
    assert api["rita"].post("/api/v1/access/sod-check", json=body).status_code == 403
    assert api["fiona"].post("/api/v1/access/sod-check", json=body).status_code == 200
