"""The enhancement API as scripts and integrations rely on it: shapes, codes and headers."""

from __future__ import annotations

import pytest

from tests.enhancements.helpers import (
    REQUEST,
    ROLES,
    act,
    audit_of,
    decide,
    ok,
    qualify,
    submit,
    submitted,
)
from tests.factories import submitted as ticket_submitted

ERROR_KEYS = {"status", "code", "message", "errors"}


def test_submitting_answers_201_with_the_contract_and_an_etag(api):
    response = submit(api["requester"], incidents=[])

    body = ok(response, 201)
    assert body["ref"] == "ENH-000001"
    assert body["status"] == "submitted"
    assert body["votes"] == 0
    assert body["wsjf"] is None
    assert body["module"] == "FIN"
    assert body["requester"] == {"email": "rita@example.com", "name": "Rita"}
    assert set(body["allowed_actions"]) == {"withdraw", "edit", "vote", "comment"}
    assert response.headers["ETag"] == '"enhancement-ENH-000001-v1"'


def test_submitting_is_audited(api, db_session):
    ref = submitted(api["requester"])["ref"]

    events = audit_of(db_session, ref)
    assert [e.action for e in events] == ["submitted"]
    assert events[0].actor_email == "rita@example.com"
    assert events[0].changes["status"] == [None, "submitted"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"module": "NOPE"}, "module"),
        ({"title": ""}, "title"),
        ({"problem": "   "}, "problem"),
        ({"benefit": ""}, "benefit"),
        ({"incidents": ["INC-999999"]}, "incidents"),
        ({"incidents": ["ENH-000001"]}, "incidents"),
        ({"title": "x" * 201}, "title"),
    ],
)
def test_a_bad_request_is_422_naming_the_field(api, fields, field):
    response = submit(api["requester"], **fields)

    body = response.get_json()
    assert response.status_code == 422, body
    assert set(body) >= ERROR_KEYS
    assert field in body["errors"]


def test_a_missing_field_is_422(api):
    response = api["requester"].post("/api/v1/enhancements", json={"title": "Only a title"})

    assert response.status_code == 422
    assert {"problem", "benefit", "module"} <= set(response.get_json()["errors"])


def test_motivating_incidents_are_linked_both_ways(api):
    ticket = ticket_submitted(api["requester"])

    body = submitted(api["requester"], incidents=[ticket["ref"]])

    assert body["incidents"] == [ticket["ref"]]
    seen = ok(api["requester"].get(f"/api/v1/tickets/{ticket['ref']}"))
    assert seen["enhancements"] == [body["ref"]]


def test_someone_elses_ticket_cannot_motivate_a_request(api):
    ticket = ticket_submitted(api["other_requester"])

    response = submit(api["requester"], incidents=[ticket["ref"]])

    assert response.status_code == 422
    assert "incidents" in response.get_json()["errors"]


@pytest.mark.parametrize("ref", ["ENH-999999", "ENH-0", "INC-000001", "ENH-99999999999999"])
def test_an_unknown_request_is_404_in_the_error_shape(api, ref):
    response = api["requester"].get(f"/api/v1/enhancements/{ref}")

    assert response.status_code == 404
    assert set(response.get_json()) >= ERROR_KEYS


def test_everyone_reads_a_request_and_sees_what_they_may_do(api, under_review):
    for role in ROLES:
        client = api[role]
        body = ok(client.get(f"/api/v1/enhancements/{under_review}"))
        assert body["status"] == "under_review", role
        assert isinstance(body["allowed_actions"], list)
    assert ok(api["auditor"].get(f"/api/v1/enhancements/{under_review}"))["allowed_actions"] == []
    committee = ok(api["committee_member"].get(f"/api/v1/enhancements/{under_review}"))
    assert {"approve", "reject", "defer", "note"} <= set(committee["allowed_actions"])
    owner = ok(api["product_owner"].get(f"/api/v1/enhancements/{under_review}"))
    assert {"qualify", "edit", "note"} <= set(owner["allowed_actions"])


def test_emails_are_shown_only_to_the_support_team_and_oneself(api, under_review):
    other = ok(api["other_requester"].get(f"/api/v1/enhancements/{under_review}"))
    agent = ok(api["agent"].get(f"/api/v1/enhancements/{under_review}"))

    assert other["requester"] == {"name": "Rita"}
    assert agent["requester"]["email"] == "rita@example.com"


# --- PATCH with If-Match ---------------------------------------------------------------------


def test_patch_needs_if_match(api):
    ref = submitted(api["requester"])["ref"]

    response = api["requester"].patch(f"/api/v1/enhancements/{ref}", json={"title": "Better"})

    assert response.status_code == 428
    assert response.get_json()["code"] == "precondition_required"


def test_patch_with_a_stale_etag_is_412(api):
    created = submit(api["requester"])
    ref, tag = created.get_json()["ref"], created.headers["ETag"]
    ok(
        api["requester"].patch(
            f"/api/v1/enhancements/{ref}", json={"title": "First"}, headers={"If-Match": tag}
        )
    )

    response = api["requester"].patch(
        f"/api/v1/enhancements/{ref}", json={"title": "Second"}, headers={"If-Match": tag}
    )

    assert response.status_code == 412
    assert response.get_json()["code"] == "precondition_failed"


def test_patch_changes_the_words_audited_with_a_new_etag(api, db_session):
    created = submit(api["requester"])
    ref, tag = created.get_json()["ref"], created.headers["ETag"]

    response = api["requester"].patch(
        f"/api/v1/enhancements/{ref}", json={"title": "Better title"}, headers={"If-Match": tag}
    )

    assert ok(response)["title"] == "Better title"
    assert response.headers["ETag"] != tag
    event = audit_of(db_session, ref)[-1]
    assert event.action == "updated"
    assert event.changes == {"title": [REQUEST["title"], "Better title"]}


def test_the_requester_cannot_change_the_words_once_under_review(api, under_review):
    tag = api["requester"].get(f"/api/v1/enhancements/{under_review}").headers["ETag"]

    response = api["requester"].patch(
        f"/api/v1/enhancements/{under_review}", json={"title": "Late"}, headers={"If-Match": tag}
    )

    assert response.status_code == 403


def test_a_product_owner_of_every_module_moves_a_request_to_another(api):
    created = submit(api["requester"])
    ref, tag = created.get_json()["ref"], created.headers["ETag"]

    response = api["admin"].patch(
        f"/api/v1/enhancements/{ref}", json={"module": "HR"}, headers={"If-Match": tag}
    )

    assert ok(response)["module"] == "HR"


def test_a_product_owner_cannot_move_a_request_to_a_module_not_theirs(api):
    created = submit(api["requester"])
    ref, tag = created.get_json()["ref"], created.headers["ETag"]

    response = api["product_owner"].patch(
        f"/api/v1/enhancements/{ref}", json={"module": "HR"}, headers={"If-Match": tag}
    )

    assert response.status_code == 422
    assert "module" in response.get_json()["errors"]


def test_a_closed_request_cannot_change(api):
    ref = submitted(api["requester"])["ref"]
    ok(act(api["requester"], ref, "withdraw"))
    tag = api["requester"].get(f"/api/v1/enhancements/{ref}").headers["ETag"]

    response = api["product_owner"].patch(
        f"/api/v1/enhancements/{ref}", json={"title": "Again"}, headers={"If-Match": tag}
    )

    assert response.status_code == 409


# --- transitions -------------------------------------------------------------------------------


def test_the_product_owner_reviews_a_submitted_request(api, db_session):
    ref = submitted(api["requester"])["ref"]

    body = ok(act(api["product_owner"], ref, "review"))

    assert body["status"] == "under_review"
    assert body["review_started_at"] is not None
    assert audit_of(db_session, ref)[-1].changes == {"status": ["submitted", "under_review"]}


def test_an_action_not_allowed_now_is_409_listing_the_allowed_ones(api):
    ref = submitted(api["requester"])["ref"]

    response = act(api["product_owner"], ref, "release")

    body = response.get_json()
    assert response.status_code == 409
    assert body["code"] == "invalid_transition"
    assert body["allowed"] == ["review"]
    assert set(body) >= ERROR_KEYS


def test_an_action_that_is_never_the_callers_is_403(api):
    ref = submitted(api["requester"])["ref"]

    assert act(api["requester"], ref, "review").status_code == 403
    assert act(api["other_requester"], ref, "withdraw").status_code == 403
    assert act(api["auditor"], ref, "review").status_code == 403


def test_an_unknown_action_is_422(api):
    ref = submitted(api["requester"])["ref"]

    assert act(api["product_owner"], ref, "approve").status_code == 422
    assert act(api["product_owner"], ref, "explode").status_code == 422


def test_the_requester_withdraws_before_a_decision(api, under_review):
    body = ok(act(api["requester"], under_review, "withdraw"))

    assert body["status"] == "withdrawn"
    assert body["withdrawn_at"] is not None
    assert "vote" not in body["allowed_actions"]


def test_a_stale_if_match_on_an_action_is_412(api):
    ref = submitted(api["requester"])["ref"]

    response = act(api["product_owner"], ref, "review", **{"If-Match": '"enhancement-x-v9"'})

    assert response.status_code == 412


# --- votes ---------------------------------------------------------------------------------------


def test_voting_twice_counts_once(api, under_review, db_session):
    first = ok(api["other_requester"].post(f"/api/v1/enhancements/{under_review}/votes"))
    second = ok(api["other_requester"].post(f"/api/v1/enhancements/{under_review}/votes"))

    assert first["votes"] == second["votes"] == 1
    assert first["voted"] is True
    assert "unvote" in first["allowed_actions"]
    assert [e.action for e in audit_of(db_session, under_review)].count("voted") == 1


def test_votes_of_different_people_add_up_and_can_be_taken_back(api, under_review):
    ok(api["other_requester"].post(f"/api/v1/enhancements/{under_review}/votes"))
    ok(api["key_user"].post(f"/api/v1/enhancements/{under_review}/votes"))

    body = ok(api["key_user"].delete(f"/api/v1/enhancements/{under_review}/votes"))

    assert body["votes"] == 1
    assert body["voted"] is False
    again = ok(api["key_user"].delete(f"/api/v1/enhancements/{under_review}/votes"))
    assert again["votes"] == 1


def test_the_auditor_cannot_vote(api, under_review):
    response = api["auditor"].post(f"/api/v1/enhancements/{under_review}/votes")

    assert response.status_code == 403


def test_a_closed_request_takes_no_votes(api, under_review):
    ok(act(api["requester"], under_review, "withdraw"))

    response = api["agent"].post(f"/api/v1/enhancements/{under_review}/votes")

    assert response.status_code == 409


# --- comments ------------------------------------------------------------------------------------


def test_public_comments_and_internal_notes(api, under_review, db_session):
    ok(
        api["other_requester"].post(
            f"/api/v1/enhancements/{under_review}/comments", json={"body": "Us too."}
        ),
        201,
    )
    note = ok(
        api["product_owner"].post(
            f"/api/v1/enhancements/{under_review}/comments",
            json={"body": "Needs the bank interface first.", "public": False},
        ),
        201,
    )

    assert note["public"] is False
    public = ok(api["requester"].get(f"/api/v1/enhancements/{under_review}/comments"))["items"]
    inner = ok(api["committee_member"].get(f"/api/v1/enhancements/{under_review}/comments"))
    assert [c["body"] for c in public] == ["Us too."]
    assert len(inner["items"]) == 2
    actions = [e.action for e in audit_of(db_session, under_review)]
    assert actions[-2:] == ["commented", "internal_note"]


def test_only_the_product_owner_and_the_committee_write_internal_notes(api, under_review):
    url = f"/api/v1/enhancements/{under_review}/comments"
    note = {"body": "Between us.", "public": False}

    assert api["requester"].post(url, json=note).status_code == 403
    assert api["agent"].post(url, json=note).status_code == 403
    assert api["committee_member"].post(url, json=note).status_code == 201


def test_an_empty_comment_is_422(api, under_review):
    response = api["requester"].post(
        f"/api/v1/enhancements/{under_review}/comments", json={"body": "   "}
    )

    assert response.status_code == 422


# --- qualification -------------------------------------------------------------------------------


def test_qualification_computes_wsjf(api, under_review):
    body = ok(qualify(api["product_owner"], under_review))

    assert body["wsjf"] == 3.2  # (8 + 5 + 3) / 5
    assert body["business_value"] == 8
    assert body["job_size"] == 5
    assert body["qualified_at"] is not None


def test_wsjf_is_rounded_to_two_decimals(api, under_review):
    body = ok(qualify(api["product_owner"], under_review, job_size=3, business_value=1))

    assert body["wsjf"] == 3.0  # 9 / 3
    body = ok(qualify(api["product_owner"], under_review, job_size=7))
    assert body["wsjf"] == 2.29  # 16 / 7 = 2.2857...


def test_requalification_is_audited_with_old_and_new_scores(api, under_review, db_session):
    ok(qualify(api["product_owner"], under_review))

    ok(qualify(api["product_owner"], under_review, business_value=13))

    event = audit_of(db_session, under_review)[-1]
    assert event.action == "requalified"
    assert event.changes["business_value"] == [8, 13]
    assert event.changes["wsjf"] == ["3.20", "4.20"]


@pytest.mark.parametrize(
    "scores",
    [
        {"business_value": 4},
        {"time_criticality": 0},
        {"risk_reduction": 21},
        {"job_size": 0},
        {"job_size": -3},
        {"business_value": "8"},
        {"job_size": 2.5},
    ],
)
def test_scores_off_the_scale_are_422(api, under_review, scores):
    response = qualify(api["product_owner"], under_review, **scores)

    assert response.status_code == 422
    assert set(scores) <= set(response.get_json()["errors"])


def test_qualification_is_409_unless_under_review(api):
    ref = submitted(api["requester"])["ref"]

    response = qualify(api["product_owner"], ref)

    assert response.status_code == 409
    assert response.get_json()["allowed"] == ["review"]


def test_only_the_modules_product_owner_qualifies(api, under_review, make_user, as_):
    hr_owner = as_(make_user("product_owner", module="HR"))

    assert qualify(hr_owner, under_review).status_code == 403
    assert qualify(api["committee_member"], under_review).status_code == 403
    assert qualify(api["admin"], under_review).status_code == 200


# --- decisions ---------------------------------------------------------------------------------


def test_the_committee_approves_with_its_rationale(api, under_review, db_session):
    body = ok(decide(api["committee_member"], under_review, rationale="Saves two days a week."))

    assert body["status"] == "approved"
    assert body["decision"] == "approve"
    assert body["decision_rationale"] == "Saves two days a week."
    assert body["decided_by"]["name"] == "Carla"
    assert body["decided_at"] is not None
    event = audit_of(db_session, under_review)[-1]
    assert event.action == "approve"
    assert event.changes["status"] == ["under_review", "approved"]


@pytest.mark.parametrize("rationale", [None, "", "   "])
def test_a_decision_without_rationale_is_422(api, under_review, rationale):
    response = decide(api["committee_member"], under_review, rationale=rationale)

    assert response.status_code == 422
    assert "rationale" in response.get_json()["errors"]


def test_a_decided_request_is_409_until_reconsidered(api, under_review):
    ok(decide(api["committee_member"], under_review, "defer", "Next year."))

    response = decide(api["committee_member"], under_review, "approve")

    assert response.status_code == 409
    assert response.get_json()["allowed"] == ["reconsider"]
    ok(act(api["committee_member"], under_review, "reconsider"))
    assert ok(decide(api["committee_member"], under_review, "approve"))["status"] == "approved"


def test_a_submitted_request_is_reviewed_before_it_is_decided(api):
    ref = submitted(api["requester"])["ref"]

    assert decide(api["committee_member"], ref).status_code == 409


@pytest.mark.parametrize("role", ["requester", "product_owner", "agent", "approver", "auditor"])
def test_only_the_committee_and_admins_decide(api, under_review, role):
    assert decide(api[role], under_review).status_code == 403


def test_an_admin_decides(api, under_review):
    assert ok(decide(api["admin"], under_review, "reject", "Out of scope."))["status"] == "rejected"


def test_an_unknown_decision_is_422(api, under_review):
    assert decide(api["committee_member"], under_review, "maybe").status_code == 422


# --- the decision log ----------------------------------------------------------------------------


def test_the_decision_log_keeps_every_decision(api, under_review):
    ok(decide(api["committee_member"], under_review, "defer", "Next year."))
    ok(act(api["product_owner"], under_review, "reconsider"))
    ok(decide(api["admin"], under_review, "approve", "Budget found."))

    items = ok(api["requester"].get("/api/v1/decisions"))["items"]

    assert [(d["decision"], d["rationale"]) for d in items] == [
        ("approve", "Budget found."),
        ("defer", "Next year."),
    ]
    assert items[0]["ref"] == under_review
    assert items[0]["status"] == "approved"


def test_the_decision_log_filters(api, under_review):
    other = submitted(api["requester"], title="Second")["ref"]
    ok(act(api["product_owner"], other, "review"))
    ok(decide(api["committee_member"], under_review, "approve", "Yes."))
    ok(decide(api["admin"], other, "reject", "No."))
    log = api["auditor"]

    def refs(query):
        return [d["ref"] for d in ok(log.get(f"/api/v1/decisions?{query}"))["items"]]

    assert refs("decision=reject") == [other]
    assert refs("decided_by=carla@example.com") == [under_review]
    assert refs("module=FIN") == [other, under_review]
    assert refs("module=HR") == []
    assert refs("since=2999-01-01T00:00:00Z") == []
    assert refs("until=2999-01-01T00:00:00Z") == [other, under_review]
    assert log.get("/api/v1/decisions?decision=maybe").status_code == 422
    assert log.get("/api/v1/decisions?module=NOPE").status_code == 422


def test_the_decision_log_pages_with_a_cursor(api, under_review):
    other = submitted(api["requester"], title="Second")["ref"]
    ok(act(api["product_owner"], other, "review"))
    ok(decide(api["committee_member"], under_review, "approve", "Yes."))
    ok(decide(api["committee_member"], other, "approve", "Yes."))

    first = ok(api["requester"].get("/api/v1/decisions?limit=1"))
    second = ok(api["requester"].get(f"/api/v1/decisions?limit=1&cursor={first['next_cursor']}"))

    assert [first["items"][0]["ref"], second["items"][0]["ref"]] == [other, under_review]
    assert second["next_cursor"] is None
