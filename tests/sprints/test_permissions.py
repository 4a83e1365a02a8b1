"""Who may write: the product owner of the sprint's module (and admins); every other role,
including a product owner of another module, gets 403; the auditor reads everything."""

from __future__ import annotations

import pytest

from tests.sprints.conftest import NEXT_SPRINT, SPRINT, created, planned, posted

OUTSIDERS = [
    ("requester", None),
    ("agent", None),
    ("key_user", "FIN"),
    ("approver", "FIN"),
    ("committee_member", None),
    ("auditor", None),
    ("product_owner", "HR"),
]


@pytest.fixture
def running(pat, approved, make_ticket, monday):
    """A running Finance sprint with a request (and a task) and a ticket, and one planned."""
    sprint = created(pat)
    item = planned(pat, sprint["id"], approved().ref, 5)
    fix = planned(pat, sprint["id"], make_ticket().ref, 2)
    task = posted(
        pat,
        f"/api/v1/sprints/{sprint['id']}/items/{item['id']}/tasks",
        201,
        title="Design",
        estimate_days=1,
    )
    posted(pat, f"/api/v1/sprints/{sprint['id']}/start")
    return sprint, item, fix, task


def _writes(api, running, spare_ref: str) -> dict[str, int]:
    """Every write of the sprint API, as ``api``; the status of each."""
    sprint, item, fix, task = running
    base = f"/api/v1/sprints/{sprint['id']}"
    etag = api.get(base).headers.get("ETag", '"x"')
    task_etag = api.get(f"{base}/tasks/{task['id']}").headers.get("ETag", '"x"')
    return {
        "create": api.post("/api/v1/sprints", json=NEXT_SPRINT).status_code,
        "patch": api.patch(base, json={"goal": "x"}, headers={"If-Match": etag}).status_code,
        "add item": api.post(f"{base}/items", json={"ref": spare_ref, "points": 1}).status_code,
        "remove item": api.delete(f"{base}/items/{fix['id']}").status_code,
        "move item": api.post(
            f"{base}/items/{item['id']}/transitions", json={"action": "start"}
        ).status_code,
        "add task": api.post(
            f"{base}/items/{item['id']}/tasks", json={"title": "x", "estimate_days": 1}
        ).status_code,
        "patch task": api.patch(
            f"{base}/tasks/{task['id']}", json={"title": "y"}, headers={"If-Match": task_etag}
        ).status_code,
        "move task": api.post(
            f"{base}/tasks/{task['id']}/transitions", json={"action": "start"}
        ).status_code,
        "release": api.post(f"{base}/release").status_code,
        "close": api.post(f"{base}/close", json={"carry_over": "backlog"}).status_code,
        "start": api.post(f"/api/v1/sprints/{sprint['id']}/start").status_code,
    }


@pytest.mark.parametrize(("role", "module"), OUTSIDERS, ids=[f"{r}-{m}" for r, m in OUTSIDERS])
def test_every_write_is_refused_to_other_roles(
    as_, make_user, make_module, running, approved, role, module
):
    make_module("HR")
    outsider = as_(make_user(role, module))

    statuses = _writes(outsider, running, approved("Spare").ref)

    assert statuses == dict.fromkeys(statuses, 403)


def test_the_auditor_reads_every_sprint_answer(as_, make_user, running):
    sprint, _, _, _ = running
    auditor = as_(make_user("auditor"))
    base = f"/api/v1/sprints/{sprint['id']}"

    reads = [
        "/api/v1/sprints",
        base,
        f"{base}/items",
        f"{base}/tasks",
        f"{base}/burndown",
        f"{base}/critical-path",
        "/api/v1/release-notes",
    ]

    assert [auditor.get(url).status_code for url in reads] == [200] * len(reads)
    assert auditor.get(base).get_json()["allowed_actions"] == []


def test_the_product_owner_and_an_admin_may_make_every_write(
    as_, pat, admin, running, approved, make_ticket
):
    sprint, item, fix, task = running
    # the owner finishes something so that there is something to release
    posted(pat, f"/api/v1/sprints/{sprint['id']}/items/{item['id']}/transitions", action="done")
    running = (sprint, {**item, "id": item["id"]}, fix, task)

    statuses = _writes(as_(admin), running, approved("Spare").ref)

    # the item is done already (409); once closed the sprint cannot start again (409)
    assert statuses == {
        "create": 201,
        "patch": 200,
        "add item": 201,
        "remove item": 200,
        "move item": 409,
        "add task": 201,
        "patch task": 200,
        "move task": 200,
        "release": 200,
        "close": 200,
        "start": 409,
    }


def test_a_team_sprint_across_modules_needs_a_product_owner_of_every_module(
    pat, as_, make_user, monday
):
    team = {**SPRINT, "module": None}

    refused = pat.post("/api/v1/sprints", json=team)
    accepted = as_(make_user("product_owner")).post("/api/v1/sprints", json=team)

    assert refused.status_code == 403
    assert accepted.status_code == 201 and accepted.get_json()["module"] is None


def test_a_product_owner_plans_only_items_of_the_sprint_module(pat, approved, make_module, monday):
    hr = make_module("HR")
    sprint = created(pat)

    refused = pat.post(
        f"/api/v1/sprints/{sprint['id']}/items",
        json={"ref": approved("Payroll export", module=hr).ref, "points": 2},
    )

    assert refused.status_code == 422
