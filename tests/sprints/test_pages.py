"""The sprint pages: planning through forms, the board, the sprint page with its chart and
critical path, the release notes; read-only roles see no write form."""

from __future__ import annotations

from tests.factories import PASSWORD
from tests.sprints.conftest import created, planned, posted


def test_a_product_owner_plans_and_runs_a_sprint_through_the_pages(signed_in, po, approved, monday):
    request = approved("Post recurring journals automatically")
    browser = signed_in(po)

    made = browser.post(
        "/sprints/new",
        data={
            "name": "Sprint 1",
            "start_date": "2026-03-02",
            "end_date": "2026-03-13",
            "capacity_points": "4",
            "module": "FIN",
        },
    )
    plan_url = made.headers["Location"]
    added = browser.post(
        plan_url.replace("/plan", "/items"), data={"ref": request.ref, "points": "5"}
    )
    page = browser.get(plan_url).get_data(as_text=True)

    assert made.status_code == 303 and plan_url.endswith("/plan")
    assert added.status_code == 303
    assert request.ref in page
    assert 'data-testid="over-committed"' in page
    assert "<meter" in page


def test_a_refused_item_comes_back_with_the_reason(signed_in, po, pat, monday):
    sprint = created(pat)
    browser = signed_in(po)

    refused = browser.post(f"/sprints/{sprint['id']}/items", data={"ref": "ENH-9", "points": "2"})
    page = browser.get(refused.headers["Location"]).get_data(as_text=True)

    assert refused.status_code == 303 and "draft=" in refused.headers["Location"]
    assert "Unknown reference." in page


def test_the_sprint_page_shows_the_burndown_as_an_image_and_a_table(
    signed_in, po, pat, approved, monday
):
    sprint = created(pat)
    item = planned(pat, sprint["id"], approved().ref, 5)
    posted(pat, f"/api/v1/sprints/{sprint['id']}/start")
    posted(
        pat,
        f"/api/v1/sprints/{sprint['id']}/items/{item['id']}/tasks",
        201,
        title="Write the posting rule",
        estimate_days=2,
    )
    browser = signed_in(po)

    page = browser.get(f"/sprints/{sprint['id']}").get_data(as_text=True)
    chart = browser.get(f"/sprints/{sprint['id']}/burndown.svg")

    assert 'data-testid="burndown-table"' in page and "<td>5</td>" in page
    assert "Write the posting rule" in page and 'data-testid="path-fits"' in page
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    assert "<script" not in chart.get_data(as_text=True)
    assert "script-src" not in chart.headers["Content-Security-Policy"]


def test_the_board_groups_items_and_tasks_by_state(signed_in, po, pat, approved, monday):
    sprint = created(pat)
    first = planned(pat, sprint["id"], approved("First").ref, 3)
    planned(pat, sprint["id"], approved("Second").ref, 2)
    posted(pat, f"/api/v1/sprints/{sprint['id']}/start")
    posted(pat, f"/api/v1/sprints/{sprint['id']}/items/{first['id']}/transitions", action="start")
    browser = signed_in(po)

    added = browser.post(
        f"/sprints/{sprint['id']}/tasks",
        data={"item": str(first["id"]), "title": "Big job", "estimate_days": "5"},
    )
    page = browser.get(f"/sprints/{sprint['id']}/board").get_data(as_text=True)

    assert added.status_code == 303
    in_progress = page.split('data-testid="column-in_progress"')[1].split("</section>")[0]
    assert "First" in in_progress and "Second" not in in_progress
    assert "over 3 days: split it" in page


def test_the_auditor_reads_the_pages_without_any_write_form(
    signed_in, make_user, pat, approved, monday
):
    sprint = created(pat)
    planned(pat, sprint["id"], approved().ref, 3)
    auditor = make_user("auditor", password=PASSWORD)
    browser = signed_in(auditor)

    pages = [
        browser.get(url)
        for url in (
            "/sprints",
            f"/sprints/{sprint['id']}",
            f"/sprints/{sprint['id']}/plan",
            f"/sprints/{sprint['id']}/board",
            "/release-notes",
        )
    ]

    assert [p.status_code for p in pages] == [200] * 5
    assert not any('method="post" action="/sprints' in p.get_data(as_text=True) for p in pages)
    refused = browser.post(f"/sprints/{sprint['id']}/act", data={"action": "start"})
    assert refused.status_code == 303
    assert pat.get(f"/api/v1/sprints/{sprint['id']}").get_json()["status"] == "planned"


def test_released_items_appear_on_the_release_notes_page(signed_in, po, pat, approved, monday):
    sprint = created(pat)
    item = planned(pat, sprint["id"], approved("Automatic recurring journals").ref, 3)
    posted(pat, f"/api/v1/sprints/{sprint['id']}/start")
    posted(pat, f"/api/v1/sprints/{sprint['id']}/items/{item['id']}/transitions", action="done")
    browser = signed_in(po)

    browser.post(f"/sprints/{sprint['id']}/act", data={"action": "release"})
    page = browser.get(f"/release-notes?sprint={sprint['id']}&module=FIN").get_data(as_text=True)

    assert "Automatic recurring journals." in page
    assert "What changed in Finance:" in page
    assert browser.get("/release-notes?sprint=abc").status_code == 200
