"""Enhancement requests in the browser: a user asks for an improvement, the product owner
reviews and qualifies it, the steering committee approves it with its rationale.

The session shares one database with the other e2e tests and the demo data, so the request
gets a unique title and is found by it.
"""

from __future__ import annotations

import re
import uuid

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or fail in CI) and say why
    expect = None

REQUEST_URL = re.compile(r"/enhancements/(ENH-\d{6})$")


def unique(label: str) -> str:
    return f"{label} {uuid.uuid4().hex[:10]}"


def main_nav(page):
    return page.get_by_role("navigation", name="Main")


def test_a_request_is_submitted_qualified_and_approved(login_as, new_page):
    title = unique("Group the payment proposal by due date")
    rationale = unique("Saves a payment run a week")

    # A business user asks for the improvement.
    requester = login_as("requester")
    main_nav(requester).get_by_role("link", name="Enhancements").click()
    requester.get_by_test_id("new-request").click()
    requester.get_by_label("What should change?").fill(title)
    requester.get_by_label("ERP module").select_option("FIN")
    requester.get_by_label("What problem does it solve?").fill("Five payment runs a week.")
    requester.get_by_label("What does the business gain").fill("One run, fewer bank fees.")
    requester.get_by_role("button", name="Submit the request").click()
    expect(requester).to_have_url(REQUEST_URL)
    ref = REQUEST_URL.search(requester.url).group(1)
    expect(requester.get_by_role("status")).to_contain_text(f"Request {ref} submitted")
    expect(requester.get_by_test_id("status")).to_have_text("submitted")
    expect(requester.get_by_test_id("decision-form")).to_have_count(0)

    # The product owner reviews it and qualifies it.
    owner = login_as("po", page=new_page())
    owner.goto(f"/enhancements/{ref}")
    owner.locator('button[data-action="review"]').click()
    expect(owner.get_by_test_id("status")).to_have_text("under review")
    owner.locator('a[data-action="qualify"]').click()
    owner.get_by_label("Business value").select_option("8")
    owner.get_by_label("Time criticality").select_option("5")
    owner.get_by_label("Risk reduction").select_option("3")
    owner.get_by_label("Job size").fill("5")
    owner.get_by_role("button", name="Save the qualification").click()
    expect(owner.get_by_role("status")).to_contain_text("WSJF 3.20")
    expect(owner.get_by_test_id("wsjf")).to_contain_text("3.20")

    # The committee finds it among the decisions to take and approves it, saying why.
    committee = login_as("committee", page=new_page())
    main_nav(committee).get_by_role("link", name="Decisions", exact=True).click()
    card = committee.locator(f'section[data-ref="{ref}"]')
    expect(card).to_contain_text(title)
    card.get_by_label("Decision").select_option("approve")
    card.get_by_label("Why?").fill(rationale)
    card.get_by_role("button", name="Record").click()
    expect(committee.get_by_role("status")).to_contain_text("Approved")

    # The requester sees the decision and its rationale; the log keeps it.
    requester.reload()
    expect(requester.get_by_test_id("status")).to_have_text("approved")
    expect(requester.get_by_test_id("decision")).to_contain_text(rationale)
    main_nav(requester).get_by_role("link", name="Decision log").click()
    expect(requester.get_by_test_id("decision-log")).to_contain_text(rationale)
