"""The sprint contract through the API: plan, start, scope change, close both ways, velocity
and predictability, ETags, lists."""

from __future__ import annotations

from sqlalchemy import select

from app.core.audit import AuditEvent
from app.enhancements.models import Enhancement
from tests.sprints.conftest import NEXT_SPRINT, SPRINT, created, planned, posted


def test_a_product_owner_plans_a_sprint_and_gets_its_id_and_etag(pat, monday):
    response = pat.post("/api/v1/sprints", json=SPRINT)

    assert response.status_code == 201
    body = response.get_json()
    assert isinstance(body["id"], int)
    assert body["status"] == "planned"
    assert body["module"] == "FIN"
    assert (body["committed_points"], body["done_points"], body["predictability"]) == (0, 0, 0)
    assert body["allowed_actions"] == ["start"]
    assert response.headers["ETag"] == f'"sprint-{body["id"]}-v1"'


def test_two_open_sprints_of_one_scope_never_overlap(pat, as_, make_user, monday):
    created(pat)

    clash = pat.post(
        "/api/v1/sprints", json={**SPRINT, "name": "Other", "start_date": "2026-03-10"}
    )

    assert clash.status_code == 409
    assert clash.get_json()["code"] == "conflict"
    hr_owner = as_(make_user("product_owner", "HR"))
    assert hr_owner.post("/api/v1/sprints", json={**SPRINT, "module": "HR"}).status_code == 201
    assert pat.post("/api/v1/sprints", json=NEXT_SPRINT).status_code == 201


def test_bad_sprint_input_is_a_422(pat):
    ends_first = pat.post("/api/v1/sprints", json={**SPRINT, "end_date": "2026-03-01"})
    no_capacity = pat.post("/api/v1/sprints", json={**SPRINT, "capacity_points": 0})
    no_module = pat.post("/api/v1/sprints", json={**SPRINT, "module": "NOPE"})

    assert ends_first.status_code == 422
    assert "end_date" in ends_first.get_json()["errors"]
    assert no_capacity.status_code == 422
    assert no_module.status_code == 422


def test_planning_an_approved_request_makes_it_planned_and_warns_past_capacity(
    pat, approved, db_session, monday
):
    first, second = approved("Recurring journals"), approved("Bank reconciliation rules")
    sprint = created(pat)

    item = planned(pat, sprint["id"], first.ref, 13)
    over = planned(pat, sprint["id"], second.ref, 8)

    assert item["status"] == "planned" and item["request_status"] == "planned"
    assert item["over_committed"] is False
    assert over["over_committed"] is True
    assert db_session.get(Enhancement, first.id).status == "planned"
    answer = pat.get(f"/api/v1/sprints/{sprint['id']}").get_json()
    assert (answer["committed_points"], answer["over_committed"]) == (21, True)


def test_only_approved_requests_and_known_references_are_planned(pat, approved, monday):
    waiting = approved(status="under_review")
    sprint = created(pat)
    url = f"/api/v1/sprints/{sprint['id']}/items"

    not_approved = pat.post(url, json={"ref": waiting.ref, "points": 3})
    unknown = pat.post(url, json={"ref": "ENH-999999", "points": 3})
    malformed = pat.post(url, json={"ref": "ACC-000001", "points": 3})
    no_points = pat.post(url, json={"ref": waiting.ref, "points": 0})

    assert not_approved.status_code == 409
    assert unknown.status_code == 422 and unknown.get_json()["errors"] == {
        "ref": ["Unknown reference."]
    }
    assert malformed.status_code == 422
    assert no_points.status_code == 422


def test_a_ticket_needing_a_fix_is_planned_and_a_cancelled_one_is_not(
    pat, make_ticket, alex, monday
):
    open_ticket, cancelled = make_ticket(), make_ticket(title="Wrong menu label")
    alex.post(
        f"/api/v1/tickets/{cancelled.ref}/transitions", json={"action": "cancel", "reason": "x"}
    )
    sprint = created(pat)

    item = planned(pat, sprint["id"], open_ticket.ref, 3)
    refused = pat.post(
        f"/api/v1/sprints/{sprint['id']}/items", json={"ref": cancelled.ref, "points": 2}
    )

    assert (item["kind"], item["ref"], item["request_status"]) == ("ticket", open_ticket.ref, None)
    assert refused.status_code == 409


def test_start_freezes_the_commitment_and_later_changes_are_scope_change(
    pat, approved, db_session, monday
):
    a, b, late = approved("A"), approved("B"), approved("Late")
    sprint = created(pat)
    planned(pat, sprint["id"], a.ref, 5)
    second = planned(pat, sprint["id"], b.ref, 3)

    started = posted(pat, f"/api/v1/sprints/{sprint['id']}/start")
    added = planned(pat, sprint["id"], late.ref, 2)
    removed = pat.delete(f"/api/v1/sprints/{sprint['id']}/items/{second['id']}").get_json()

    assert (started["status"], started["committed_points"], started["committed_items"]) == (
        "active",
        8,
        2,
    )
    assert added["added_after_start"] is True and added["committed"] is False
    assert removed["removed_after_start"] is True and removed["removed_at"]
    assert db_session.get(Enhancement, b.id).status == "approved"
    now = pat.get(f"/api/v1/sprints/{sprint['id']}").get_json()
    assert (now["committed_points"], now["added_points"], now["removed_points"]) == (8, 2, 3)
    assert (now["scope_points"], now["added_items"], now["removed_items"]) == (7, 1, 1)
    assert now["allowed_actions"] == ["close"]


def test_items_planned_in_a_started_sprint_stay_planned_until_work_starts(pat, approved, monday):
    request = approved()
    sprint = created(pat)
    posted(pat, f"/api/v1/sprints/{sprint['id']}/start")

    item = planned(pat, sprint["id"], request.ref, 3)

    assert item["status"] == "planned" and item["request_status"] == "planned"
    assert item["allowed_actions"] == ["done", "remove", "start"]


def _run_sprint(pat, approved, points_done=(5, 3), points_left=(8,)):
    sprint = created(pat)
    done = [planned(pat, sprint["id"], approved(f"Done {p}").ref, p) for p in points_done]
    left = [planned(pat, sprint["id"], approved(f"Left {p}").ref, p) for p in points_left]
    posted(pat, f"/api/v1/sprints/{sprint['id']}/start")
    for item in done:
        posted(pat, f"/api/v1/sprints/{sprint['id']}/items/{item['id']}/transitions", action="done")
    return sprint, done, left


def test_closing_to_the_backlog_stores_velocity_and_predictability(
    pat, approved, db_session, monday
):
    sprint, _done, _left = _run_sprint(pat, approved)

    closed = posted(pat, f"/api/v1/sprints/{sprint['id']}/close", carry_over="backlog")

    assert closed["status"] == "closed"
    assert closed["velocity"] == 8 and closed["done_points"] == 8
    assert closed["committed_points"] == 16
    assert closed["predictability"] == 0.5
    assert (closed["carry_over"], closed["carried_items"], closed["carried_points"]) == (
        "backlog",
        1,
        8,
    )
    request = db_session.scalar(select(Enhancement).where(Enhancement.title == "Left 8"))
    assert request.status == "approved"
    finished = db_session.scalar(select(Enhancement).where(Enhancement.title == "Done 5"))
    assert finished.status == "done"


def test_closing_to_the_next_sprint_moves_unfinished_items_and_their_tasks(
    pat, approved, db_session, monday
):
    sprint, _done, left = _run_sprint(pat, approved)
    task = posted(
        pat,
        f"/api/v1/sprints/{sprint['id']}/items/{left[0]['id']}/tasks",
        201,
        title="Write the rule",
        estimate_days=2,
    )
    following = created(pat, **NEXT_SPRINT)

    posted(pat, f"/api/v1/sprints/{sprint['id']}/close", carry_over="next")

    moved = pat.get(f"/api/v1/sprints/{following['id']}/items").get_json()["items"]
    assert [(i["ref"], i["points"], i["status"]) for i in moved] == [(left[0]["ref"], 8, "planned")]
    old = pat.get(f"/api/v1/sprints/{sprint['id']}/items/{left[0]['id']}").get_json()
    assert old["carried_over"] == "next"
    tasks = pat.get(f"/api/v1/sprints/{following['id']}/tasks").get_json()["items"]
    assert [t["id"] for t in tasks] == [task["id"]]
    assert db_session.scalar(select(Enhancement).where(Enhancement.title == "Left 8")).status == (
        "planned"
    )


def test_carrying_over_to_a_next_sprint_that_does_not_exist_is_a_409(pat, approved, monday):
    sprint, _, _ = _run_sprint(pat, approved)

    refused = pat.post(f"/api/v1/sprints/{sprint['id']}/close", json={"carry_over": "next"})

    assert refused.status_code == 409
    assert "carry_over" in refused.get_json()["errors"]
    assert pat.get(f"/api/v1/sprints/{sprint['id']}").get_json()["status"] == "active"


def test_predictability_is_zero_when_nothing_was_done(pat, approved, monday):
    sprint = created(pat)
    planned(pat, sprint["id"], approved().ref, 5)
    posted(pat, f"/api/v1/sprints/{sprint['id']}/start")

    closed = posted(pat, f"/api/v1/sprints/{sprint['id']}/close", carry_over="backlog")

    assert (closed["velocity"], closed["predictability"]) == (0, 0)


def test_predictability_counts_scope_added_after_start_as_done_against_the_commitment(
    pat, approved, monday
):
    sprint = created(pat)
    planned(pat, sprint["id"], approved("Committed").ref, 4)
    posted(pat, f"/api/v1/sprints/{sprint['id']}/start")
    extra = planned(pat, sprint["id"], approved("Extra").ref, 2)
    posted(pat, f"/api/v1/sprints/{sprint['id']}/items/{extra['id']}/transitions", action="done")

    closed = posted(pat, f"/api/v1/sprints/{sprint['id']}/close", carry_over="backlog")

    assert (closed["velocity"], closed["committed_points"], closed["predictability"]) == (
        2,
        4,
        0.5,
    )


def test_item_actions_outside_their_state_answer_409_with_the_allowed_ones(pat, approved, monday):
    sprint = created(pat)
    item = planned(pat, sprint["id"], approved().ref, 3)
    url = f"/api/v1/sprints/{sprint['id']}/items/{item['id']}/transitions"

    before_start = pat.post(url, json={"action": "done"})
    posted(pat, f"/api/v1/sprints/{sprint['id']}/start")
    too_early = pat.post(url, json={"action": "release"})

    assert before_start.status_code == 409
    assert too_early.status_code == 409
    assert too_early.get_json()["code"] == "invalid_transition"
    assert too_early.get_json()["allowed"] == ["done", "start"]


def test_a_sprint_cannot_start_twice_nor_close_before_it_starts(pat, monday):
    sprint = created(pat)

    early_close = pat.post(f"/api/v1/sprints/{sprint['id']}/close", json={"carry_over": "next"})
    posted(pat, f"/api/v1/sprints/{sprint['id']}/start")
    again = pat.post(f"/api/v1/sprints/{sprint['id']}/start")

    assert early_close.status_code == 409 and early_close.get_json()["allowed"] == ["start"]
    assert again.status_code == 409 and again.get_json()["allowed"] == ["close"]


def test_patch_needs_the_current_etag(pat, monday):
    sprint = created(pat)
    url = f"/api/v1/sprints/{sprint['id']}"
    etag = pat.get(url).headers["ETag"]

    missing = pat.patch(url, json={"capacity_points": 25})
    changed = pat.patch(url, json={"capacity_points": 25}, headers={"If-Match": etag})
    stale = pat.patch(url, json={"goal": "Other"}, headers={"If-Match": etag})

    assert missing.status_code == 428
    assert changed.status_code == 200 and changed.get_json()["capacity_points"] == 25
    assert changed.headers["ETag"] != etag
    assert stale.status_code == 412


def test_sprints_list_by_cursor_latest_first(pat, monday):
    spans = [
        ("2026-03-02", "2026-03-06"),
        ("2026-03-16", "2026-03-20"),
        ("2026-04-06", "2026-04-10"),
    ]
    for n, (start, end) in enumerate(spans):
        created(pat, name=f"S{n}", start_date=start, end_date=end)

    first = pat.get("/api/v1/sprints?limit=2").get_json()
    rest = pat.get(f"/api/v1/sprints?limit=2&cursor={first['next_cursor']}").get_json()

    assert [s["name"] for s in first["items"] + rest["items"]] == ["S2", "S1", "S0"]
    assert rest["next_cursor"] is None
    assert pat.get("/api/v1/sprints?cursor=bogus").status_code == 422


def test_an_unknown_sprint_is_a_404(pat):
    assert pat.get("/api/v1/sprints/999999").status_code == 404
    assert pat.get("/api/v1/sprints/99999999999999").status_code == 404


def test_every_sprint_change_is_audited(pat, approved, db_session, monday):
    sprint, _done, _left = _run_sprint(pat, approved, points_done=(3,), points_left=(2,))
    posted(pat, f"/api/v1/sprints/{sprint['id']}/close", carry_over="backlog")

    events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "sprint").order_by(AuditEvent.id)
    ).all()

    assert [e.action for e in events] == ["created", "item_added", "item_added", "start", "close"]
    assert all(e.actor_email == "pat@example.com" for e in events)
    assert events[-1].changes["velocity"] == [None, 3]
    item_events = db_session.scalars(
        select(AuditEvent.action).where(AuditEvent.entity_type == "sprint_item")
    ).all()
    assert item_events == ["done"]
    request_events = db_session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.entity_type == "enhancement")
        .order_by(AuditEvent.id)
    ).all()
    assert request_events == ["plan", "plan", "start", "done", "unplan"]
