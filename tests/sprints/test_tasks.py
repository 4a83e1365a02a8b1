"""Tasks, their dependencies (no cycles), the >3-day flag and the critical path on a known graph."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.sprints.conftest import NEXT_SPRINT, created, planned, posted


@pytest.fixture
def board(pat, approved, monday):
    """A started sprint (2-13 March 2026) with one item, and a way to add tasks to it."""
    sprint = created(pat)
    item = planned(pat, sprint["id"], approved().ref, 8)
    posted(pat, f"/api/v1/sprints/{sprint['id']}/start")

    def task(title: str, days: float, *blockers: dict) -> dict:
        return posted(
            pat,
            f"/api/v1/sprints/{sprint['id']}/items/{item['id']}/tasks",
            201,
            title=title,
            estimate_days=days,
            owner="pat@example.com",
            blocked_by=[b["id"] for b in blockers],
        )

    return sprint, item, task


def _path(pat, sprint) -> dict:
    response = pat.get(f"/api/v1/sprints/{sprint['id']}/critical-path")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_task_answers_its_owner_estimate_and_dependencies(pat, board):
    _sprint, item, task = board
    first = task("Design", 2)

    second = task("Build", 3, first)

    assert second["blocked_by"] == [first["id"]] and second["blocked"] is True
    assert second["owner"] == {"email": "pat@example.com", "name": "Pat Owner"}
    assert (second["status"], second["item_ref"], second["estimate_days"]) == (
        "todo",
        item["ref"],
        3.0,
    )
    assert second["oversized"] is False


def test_a_task_over_three_days_is_flagged(board):
    _, _, task = board

    assert task("Migrate history", 3.5)["oversized"] is True


def test_the_critical_path_is_the_longest_chain_of_remaining_estimates(pat, board):
    sprint, _, task = board
    a = task("A", 2)
    b = task("B", 3, a)
    c = task("C", 1, a)
    d = task("D", 2, b, c)
    task("E", 5)

    path = _path(pat, sprint)

    assert [t["title"] for t in path["tasks"]] == ["A", "B", "D"]
    assert path["remaining_days"] == 7.0
    assert path["working_days_left"] == 10
    assert path["fits"] is True
    assert d["blocked_by"] == [b["id"], c["id"]]


def test_done_tasks_leave_the_critical_path(pat, board):
    sprint, _, task = board
    a = task("A", 2)
    b = task("B", 3, a)
    task("D", 2, b)
    task("E", 4)

    posted(pat, f"/api/v1/sprints/{sprint['id']}/tasks/{a['id']}/transitions", action="finish")

    path = _path(pat, sprint)
    assert [t["title"] for t in path["tasks"]] == ["B", "D"]
    assert path["remaining_days"] == 5.0


def test_a_path_longer_than_the_working_days_left_does_not_fit(pat, board, frozen_clock):
    sprint, _, task = board
    a = task("A", 2)
    task("B", 3, a)
    frozen_clock(datetime(2026, 3, 12, 9, 0, tzinfo=UTC))  # Thursday of the second week

    path = _path(pat, sprint)

    assert (path["remaining_days"], path["working_days_left"], path["fits"]) == (5.0, 2, False)


def test_a_dependency_cycle_is_refused(pat, board):
    sprint, _, task = board
    a = task("A", 1)
    b = task("B", 1, a)
    c = task("C", 1, b)
    url = f"/api/v1/sprints/{sprint['id']}/tasks/{a['id']}"
    etag = pat.get(url).headers["ETag"]

    cycle = pat.patch(url, json={"blocked_by": [c["id"]]}, headers={"If-Match": etag})
    itself = pat.patch(url, json={"blocked_by": [a["id"]]}, headers={"If-Match": etag})

    assert cycle.status_code == 422
    assert cycle.get_json()["code"] == "validation_error"
    assert "blocked_by" in cycle.get_json()["errors"]
    assert itself.status_code == 422
    assert pat.get(url).get_json()["blocked_by"] == []


def test_dependencies_can_be_changed_with_if_match(pat, board):
    sprint, _, task = board
    a, b = task("A", 1), task("B", 1)
    url = f"/api/v1/sprints/{sprint['id']}/tasks/{b['id']}"

    missing = pat.patch(url, json={"blocked_by": [a["id"]]})
    etag = pat.get(url).headers["ETag"]
    changed = pat.patch(url, json={"blocked_by": [a["id"]]}, headers={"If-Match": etag})
    stale = pat.patch(url, json={"title": "B2"}, headers={"If-Match": etag})

    assert missing.status_code == 428
    assert changed.status_code == 200 and changed.get_json()["blocked_by"] == [a["id"]]
    assert stale.status_code == 412


def test_a_task_depends_only_on_tasks_of_its_sprint(pat, approved, board):
    sprint, _, task = board
    other = created(pat, **NEXT_SPRINT)
    other_item = planned(pat, other["id"], approved("Other").ref, 2)
    foreign = posted(
        pat,
        f"/api/v1/sprints/{other['id']}/items/{other_item['id']}/tasks",
        201,
        title="Elsewhere",
        estimate_days=1,
    )

    refused = pat.post(
        f"/api/v1/sprints/{sprint['id']}/items/{other_item['id']}/tasks",
        json={"title": "x", "estimate_days": 1},
    )
    wrong_blocker = pat.post(
        f"/api/v1/sprints/{sprint['id']}/items/{task('A', 1)['item']}/tasks",
        json={"title": "x", "estimate_days": 1, "blocked_by": [foreign["id"]]},
    )

    assert refused.status_code == 404
    assert wrong_blocker.status_code == 422


def test_bad_task_input_is_a_422(pat, board):
    sprint, item, _ = board
    url = f"/api/v1/sprints/{sprint['id']}/items/{item['id']}/tasks"

    assert pat.post(url, json={"title": "x", "estimate_days": 0}).status_code == 422
    assert pat.post(url, json={"title": "", "estimate_days": 1}).status_code == 422
    unknown_owner = pat.post(url, json={"title": "x", "estimate_days": 1, "owner": "no@x.y"})
    assert unknown_owner.status_code == 422


def test_tasks_move_todo_doing_done_and_refuse_the_rest(pat, board):
    sprint, _, task = board
    t = task("A", 1)
    url = f"/api/v1/sprints/{sprint['id']}/tasks/{t['id']}/transitions"

    doing = posted(pat, url, action="start")
    again = pat.post(url, json={"action": "start"})
    done = posted(pat, url, action="finish")

    assert doing["status"] == "doing"
    assert again.status_code == 409 and again.get_json()["allowed"] == ["finish"]
    assert done["status"] == "done" and done["done_at"]
