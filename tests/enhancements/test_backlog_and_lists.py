"""Finding requests: the list with its filters and orders, the backlog ranked by WSJF and by
hand, and who hears of what (notifications waiting in the outbox)."""

from __future__ import annotations

import pytest

from tests.enhancements.helpers import (
    act,
    audit_of,
    decide,
    mails,
    ok,
    qualify,
    submitted,
)


def approve(api, title: str, module: str = "FIN", **scores) -> str:
    ref = submitted(api["requester"], title=title, module=module)["ref"]
    ok(act(api["admin"], ref, "review"))
    if scores:
        ok(qualify(api["admin"], ref, **scores))
    ok(decide(api["committee_member"], ref))
    return ref


def refs(client, url: str) -> list[str]:
    return [item["ref"] for item in ok(client.get(url))["items"]]


# --- the list ------------------------------------------------------------------------------------


@pytest.fixture
def three(api):
    """Three requests: a (FIN, submitted), b (FIN, under review, 2 votes), c (HR, 1 vote)."""
    a = submitted(api["requester"], title="Alpha invoices")["ref"]
    b = submitted(api["requester"], title="Bravo payments", problem="Dunning letters")["ref"]
    c = submitted(api["other_requester"], title="Charlie leave", module="HR")["ref"]
    ok(act(api["product_owner"], b, "review"))
    ok(qualify(api["product_owner"], b, job_size=1))
    for voter in ("agent", "key_user"):
        ok(api[voter].post(f"/api/v1/enhancements/{b}/votes"))
    ok(api["agent"].post(f"/api/v1/enhancements/{c}/votes"))
    return a, b, c


def test_the_list_is_newest_first_by_default(api, three):
    a, b, c = three

    assert refs(api["requester"], "/api/v1/enhancements") == [c, b, a]


def test_the_list_sorts_by_votes_and_by_wsjf(api, three):
    a, b, c = three

    assert refs(api["requester"], "/api/v1/enhancements?sort=votes") == [b, c, a]
    assert refs(api["requester"], "/api/v1/enhancements?sort=wsjf")[0] == b


def test_the_list_filters_by_status_module_and_text(api, three):
    a, b, c = three
    rita = api["requester"]

    assert refs(rita, "/api/v1/enhancements?status=under_review") == [b]
    assert refs(rita, "/api/v1/enhancements?status=submitted,under_review") == [c, b, a]
    assert refs(rita, "/api/v1/enhancements?module=HR") == [c]
    assert refs(rita, "/api/v1/enhancements?q=dunning") == [b]
    assert refs(rita, "/api/v1/enhancements?q=100%25") == []


def test_the_list_pages_with_a_cursor_in_every_order(api, three):
    for sort in ("created", "votes", "wsjf", "rank"):
        first = ok(api["requester"].get(f"/api/v1/enhancements?sort={sort}&limit=2"))
        rest = ok(
            api["requester"].get(
                f"/api/v1/enhancements?sort={sort}&limit=2&cursor={first['next_cursor']}"
            )
        )
        seen = [i["ref"] for i in first["items"] + rest["items"]]
        assert sorted(seen) == sorted(three), sort
        assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    "query", ["sort=best", "status=lost", "limit=0", "limit=500", "cursor=nonsense", "module=NOPE"]
)
def test_bad_list_arguments_are_422(api, query):
    response = api["requester"].get(f"/api/v1/enhancements?{query}")

    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"


def test_each_item_says_whether_the_caller_voted(api, three):
    a, b, _c = three

    items = {i["ref"]: i for i in ok(api["agent"].get("/api/v1/enhancements"))["items"]}

    assert items[b]["voted"] is True
    assert items[a]["voted"] is False
    assert items[b]["votes"] == 2


# --- the backlog ---------------------------------------------------------------------------------


def test_the_backlog_holds_approved_requests_ranked_by_wsjf(api):
    low = approve(api, "Low", job_size=20)
    high = approve(api, "High", job_size=1)
    unscored = approve(api, "Unscored")
    submitted(api["requester"], title="Not approved")

    items = ok(api["product_owner"].get("/api/v1/backlog?module=FIN"))["items"]

    assert [i["ref"] for i in items] == [high, low, unscored]
    assert [i["position"] for i in items] == [1, 2, 3]
    assert [i["wsjf_rank"] for i in items] == [1, 2, 3]


def test_a_manual_move_is_kept_audited_and_shown_beside_the_wsjf_rank(api, db_session):
    low = approve(api, "Low", job_size=20)
    high = approve(api, "High", job_size=1)

    moved = ok(api["product_owner"].post(f"/api/v1/enhancements/{low}/rank", json={"position": 1}))

    assert moved["manual_rank"] == 1
    items = ok(api["product_owner"].get("/api/v1/backlog?module=FIN"))["items"]
    assert [(i["ref"], i["position"], i["wsjf_rank"]) for i in items] == [
        (low, 1, 2),
        (high, 2, 1),
    ]
    event = audit_of(db_session, low)[-1]
    assert event.action == "ranked"
    assert event.changes == {"manual_rank": [None, 1]}
    ranked = refs(api["requester"], "/api/v1/enhancements?sort=rank&status=approved")
    assert ranked == [low, high]


def test_requests_approved_after_a_manual_order_come_after_it(api):
    low = approve(api, "Low", job_size=20)
    high = approve(api, "High", job_size=1)
    ok(api["product_owner"].post(f"/api/v1/enhancements/{low}/rank", json={"position": 1}))

    newest = approve(api, "Newest", job_size=1)

    assert refs(api["product_owner"], "/api/v1/backlog?module=FIN") == [low, high, newest]


def test_only_approved_requests_are_ranked_and_only_by_the_modules_product_owner(api):
    ref = submitted(api["requester"])["ref"]
    backlog_item = approve(api, "Approved")

    assert (
        api["product_owner"].post(f"/api/v1/enhancements/{ref}/rank", json={"position": 1})
    ).status_code == 409
    for role in ("requester", "committee_member", "agent", "auditor"):
        response = api[role].post(f"/api/v1/enhancements/{backlog_item}/rank", json={"position": 1})
        assert response.status_code == 403, role
    bad = api["product_owner"].post(
        f"/api/v1/enhancements/{backlog_item}/rank", json={"position": 0}
    )
    assert bad.status_code == 422


def test_the_backlog_pages_with_a_cursor(api):
    made = [approve(api, f"Item {n}", job_size=n + 1) for n in range(3)]

    first = ok(api["requester"].get("/api/v1/backlog?limit=2"))
    rest = ok(api["requester"].get(f"/api/v1/backlog?limit=2&cursor={first['next_cursor']}"))

    assert [i["ref"] for i in first["items"] + rest["items"]] == made
    assert api["requester"].get("/api/v1/backlog?cursor=forged").status_code == 422


# --- notifications (in the outbox, written with the change) --------------------------------------


def test_the_requester_hears_of_each_change_of_status(api, db_session):
    ref = submitted(api["requester"])["ref"]
    ok(act(api["product_owner"], ref, "review"))
    ok(decide(api["committee_member"], ref, "approve", "Worth it."))

    assert mails(db_session) == [
        {"event": "review", "audience": "requester"},
        {"event": "approve", "audience": "requester"},
    ]


def test_voters_hear_of_the_decision_and_the_release(api, db_session, approved):
    from app.enhancements.models import Enhancement
    from app.enhancements.transitions import perform

    ok(api["agent"].post(f"/api/v1/enhancements/{approved}/votes"))
    enhancement = db_session.get(Enhancement, int(approved[4:]))
    for action in ("plan", "start", "done", "release"):
        perform(db_session, None, enhancement, action)
    db_session.commit()

    events = [(m["event"], m["audience"]) for m in mails(db_session)]
    assert ("release", "voters") in events
    assert ("release", "requester") in events
    assert ("approve", "voters") not in events  # nobody had voted when it was approved


def test_voters_hear_the_rationale_of_a_decision(api, db_session, under_review):
    ok(api["agent"].post(f"/api/v1/enhancements/{under_review}/votes"))

    ok(decide(api["committee_member"], under_review, "reject", "Out of scope."))

    assert {"event": "reject", "audience": "voters"} in mails(db_session)


def test_the_requester_is_not_told_of_their_own_withdrawal(api, db_session):
    ref = submitted(api["requester"])["ref"]

    ok(act(api["requester"], ref, "withdraw"))

    assert mails(db_session) == []


def test_the_email_job_mails_the_voters_with_the_rationale(api, db_session, under_review):
    from app.enhancements.jobs import _body, send_enhancement_email
    from app.enhancements.models import Enhancement

    ok(api["agent"].post(f"/api/v1/enhancements/{under_review}/votes"))
    ok(decide(api["committee_member"], under_review, "defer", "Next budget year."))
    enhancement = db_session.get(Enhancement, int(under_review[4:]))

    voters = send_enhancement_email(
        db_session, enhancement_id=enhancement.id, event="defer", audience="voters"
    )
    requester = send_enhancement_email(
        db_session, enhancement_id=enhancement.id, event="defer", audience="requester"
    )

    assert voters == ["alex@example.com"]
    assert requester == ["rita@example.com"]
    assert "Next budget year." in _body(enhancement, "defer")
