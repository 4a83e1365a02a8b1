"""ERP access rights in the browser: a request blocked by an SoD conflict goes through an
exception and two approvals to a grant; a reviewer revokes a grant in a review and it ends.

The session shares one database with the other e2e tests and the demo data (which holds the
demo role catalogue: FIN_SUPPLIER + FIN_PAYMENT may not be held together).
"""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or fail in CI) and say why
    expect = None

REQUEST_URL = re.compile(r"/access/requests/(ACC-\d{6})")


# the request, the approvals and closing a review each send mail and ERP calls through the
# embedded job runner of the same server process: on a busy machine a page load takes longer
PATIENCE_MS = 30_000


def patient(page):
    page.set_default_timeout(PATIENCE_MS)
    return page


def main_nav(page):
    return page.get_by_role("navigation", name="Main")


def test_a_conflicting_request_goes_through_an_exception_and_approvals(login_as, new_page):
    rita = patient(login_as("requester"))
    main_nav(rita).get_by_role("link", name="Request access").click()
    rita.get_by_label(re.compile("FIN_SUPPLIER")).check()
    rita.get_by_label(re.compile("FIN_PAYMENT")).check()
    # the live check tells about the conflict before anything is sent
    expect(rita.get_by_test_id("sod-conflicts")).to_contain_text("FIN_PAYMENT + FIN_SUPPLIER")
    rita.get_by_label("Why do you need it?").fill("Covering the payables clerk during leave.")
    rita.get_by_role("button", name="Send the request").click()
    expect(rita).to_have_url(REQUEST_URL)
    ref = REQUEST_URL.search(rita.url).group(1)
    expect(rita.get_by_role("heading", level=1)).to_contain_text("Blocked: needs an SoD exception")

    until = (date.today() + timedelta(days=60)).isoformat()
    rita.get_by_label("Mitigating control").fill("Every payment above 5,000 EUR is counter-signed.")
    rita.get_by_label("Exception ends on").fill(until)
    rita.get_by_role("button", name="File the exception").click()
    expect(rita.get_by_role("heading", level=1)).to_contain_text("Awaiting approval")
    expect(rita.get_by_test_id("decision-form")).to_have_count(0)  # never her own

    approver = login_as("approver", page=patient(new_page()))
    approver.goto("/access/approvals")
    approver.get_by_role("link", name=ref).click()
    approver.get_by_role("button", name="Approve").click()
    expect(approver.get_by_test_id("approvals")).to_contain_text("Aude Approver")

    admin = login_as("admin", page=patient(new_page()))
    admin.goto(f"/access/requests/{ref}")
    admin.get_by_role("button", name="Approve").click()
    expect(admin.get_by_role("heading", level=1)).to_contain_text("Approved")

    admin.goto("/access/grants?user=requester@demo.steward.test&role=FIN_PAYMENT")
    admin.get_by_role("button", name="Confirm it is set up").first.click()
    expect(admin.get_by_test_id("grants")).to_contain_text("Active")

    rita.goto("/access/mine")
    expect(rita.get_by_test_id("my-grants")).to_contain_text("FIN_PAYMENT")
    expect(rita.get_by_test_id("my-grants")).to_contain_text("Active")


def test_a_reviewer_revokes_in_a_review_and_the_grant_ends(login_as, new_page):
    admin = patient(login_as("admin"))
    name = f"Finance review {uuid.uuid4().hex[:8]}"
    admin.goto("/access/campaigns")
    form = admin.get_by_test_id("open-campaign")
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("Finance", exact=True).check()
    form.get_by_label("Deadline", exact=True).fill((date.today() + timedelta(days=14)).isoformat())
    admin.get_by_role("button", name="Open the review").click()
    expect(admin.get_by_role("heading", level=1)).to_contain_text(name)
    review_url = admin.url

    reviewer = login_as("approver", page=patient(new_page()))
    reviewer.goto(review_url)
    row = (
        reviewer.get_by_test_id("campaign-items")
        .locator("tbody tr")
        .filter(has=reviewer.locator("input[name=item]"))
        .first
    )
    holder = row.locator("td").nth(1).inner_text().strip()
    role = row.locator("td").nth(2).inner_text().split()[0]
    row.locator("input[name=item]").check()
    reviewer.get_by_label("Comment (required to revoke)").fill("No longer needed in this team.")
    reviewer.get_by_role("button", name="Revoke").click()
    expect(reviewer.get_by_text("1 item(s) decided.")).to_be_visible()

    admin.goto(review_url)
    admin.get_by_role("button", name="Close the review and apply revocations").click()
    expect(admin.get_by_role("heading", level=1)).to_contain_text("Closed")
    admin.goto(f"/access/grants?user={holder}&role={role}&status=revoked")
    expect(admin.get_by_test_id("grants")).to_contain_text(role)
    expect(admin.get_by_test_id("grants")).to_contain_text("Revoked")

    auditor = login_as("auditor", page=patient(new_page()))
    auditor.goto(review_url + "/evidence")
    expect(auditor.get_by_test_id("evidence")).to_contain_text("No longer needed in this team.")
