"""A product owner's sprint in the browser: an approved request is planned, the sprint starts,
the request is done and released, and business users read it in the release notes.

The session shares the demo data with the other e2e tests; the demo's Finance sprint is still
running, so this story runs a team sprint (every module) of its own, far in the future.
"""

from __future__ import annotations

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or fail in CI) and say why
    expect = None

from tests.e2e.test_content_security_policy import watch_csp


def test_an_approved_request_goes_from_planning_to_the_release_notes(login_as):
    owner = login_as("po")
    violations = watch_csp(owner)
    owner.goto("/sprints")
    owner.fill("#sprint-name", "Release train 2030")
    owner.fill("#sprint-start_date", "2030-01-07")
    owner.fill("#sprint-end_date", "2030-01-18")
    owner.fill("#sprint-capacity_points", "10")
    owner.select_option("#sprint-module", "")
    owner.get_by_test_id("plan-sprint").click()
    expect(owner.get_by_test_id("capacity")).to_be_visible()

    waiting = owner.get_by_test_id("backlog").locator("li").first
    ref = waiting.locator("strong").inner_text()
    title = waiting.locator("span.wrap").inner_text()
    owner.fill("#item-ref", ref)
    owner.fill("#item-points", "5")
    owner.get_by_test_id("add-item").click()
    expect(owner.get_by_test_id("planned-items")).to_contain_text(ref)

    owner.get_by_test_id("start-sprint").click()
    expect(owner.get_by_test_id("sprint-status")).to_have_text("running")

    owner.get_by_role("link", name="Board").click()
    card = owner.get_by_test_id(f"item-{ref}")
    card.locator("button[value=done]").click()
    done = owner.get_by_test_id("column-done").get_by_test_id(f"item-{ref}")
    expect(done).to_be_visible()
    done.locator("button[value=release]").click()
    expect(owner.get_by_test_id("column-released")).to_contain_text(ref)

    owner.get_by_role("navigation", name="Main").get_by_role("link", name="Release notes").click()
    note = owner.get_by_test_id("release-note").filter(has_text="Release train 2030").first
    expect(note).to_contain_text(title)
    expect(note.get_by_test_id("release-item")).to_contain_text(ref)

    note.get_by_role("link", name="Release train 2030").click()
    chart = owner.get_by_test_id("burndown-chart")
    expect(chart).to_be_visible()
    # the image loads after the page: wait for it, then it must have drawn something
    owner.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=chart.element_handle()
    )
    expect(owner.get_by_test_id("burndown-table")).to_contain_text("5")
    assert violations == []
