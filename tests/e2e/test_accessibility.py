"""WCAG 2.1 AA in a real browser: axe-core on every main page of every demo role, failing on
any serious or critical violation; and the skip link and visible focus a keyboard user needs."""

from __future__ import annotations

import pytest

from tests.e2e.pages import ROLES, main_pages

try:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or fail in CI) and say why
    Axe = expect = None

BLOCKING = {"serious", "critical"}
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def blocking_violations(page) -> list[str]:
    results = Axe().run(page, options={**WCAG_AA, "resultTypes": ["violations"]})
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] in BLOCKING:
            targets = [" ".join(map(str, n["target"])) for n in violation["nodes"][:3]]
            found.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return found


@pytest.mark.parametrize("role", ROLES)
def test_no_serious_violation_on_any_main_page(login_as, role):
    page = login_as(role)
    problems = {}
    for path in main_pages(page):
        page.goto(path)
        found = blocking_violations(page)
        if found:
            problems[path] = found

    assert problems == {}


def test_the_report_form_with_its_errors_has_no_serious_violation(login_as):
    page = login_as("requester")
    page.goto("/tickets/new")
    page.get_by_role("button", name="Submit ticket").click()  # empty: every error shown

    expect(page.locator("[aria-invalid=true]").first).to_be_visible()
    assert blocking_violations(page) == []
    title = page.get_by_label("What is broken?")
    expect(title).to_have_attribute("aria-describedby", "title-error")


def test_the_skip_link_comes_first_and_leads_to_the_content(login_as):
    page = login_as("agent")
    page.goto("/queues")

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")

    assert page.evaluate("document.activeElement.id") == "main"


def test_focus_is_visible_on_links_and_buttons(login_as):
    page = login_as("requester")
    page.goto("/tickets/new")
    page.get_by_role("button", name="Submit ticket").focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")

    outline = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; })()"
    )
    assert outline[0] != "none" and outline[1] >= 2
