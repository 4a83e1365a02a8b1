"""The support desk in the browser as a newcomer meets it: the SLA read in business hours and the
viewer's zone, forms that never send twice and never lose what was typed, long text that stays
in its card, the attachment limit, cancelling with a reason, and the lists and admin pages each
role needs.

The session shares one database with the other e2e tests and the demo data (users in Paris),
so every ticket gets a unique title.
"""

from __future__ import annotations

import re

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or fail in CI) and say why
    expect = None

from tests.e2e.conftest import ATTACHMENT_MAX_BYTES
from tests.e2e.test_tickets import TICKET_URL, main_nav, report_incident, unique

PARIS_TIME = re.compile(r"\d{1,2}:\d{2} CES?T")  # the demo users work from Paris
PHONE = {"width": 375, "height": 740}


def overflows(page, selector: str) -> list[str]:
    """The elements matching ``selector`` whose content is wider than they are."""
    return page.eval_on_selector_all(
        selector,
        "els => els.filter(e => e.scrollWidth > e.clientWidth + 1)"
        ".map(e => e.outerHTML.slice(0, 80))",
    )


def page_is_wider_than_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")


# --- the SLA as people read it ---------------------------------------------------------------


def test_the_sla_reads_in_business_hours_and_the_viewers_zone(login_as):
    requester = login_as("requester")
    ref = report_incident(requester, unique("Closing report slow"), impact="medium")

    badge = requester.get_by_test_id("sla-badge")
    expect(badge).to_have_text(re.compile(r"^(\d+ h \d\d min|\d+ min) left$"))
    expect(requester.get_by_test_id("response-sla")).to_contain_text(PARIS_TIME)
    resolution = requester.get_by_test_id("resolution-sla")
    expect(resolution).to_contain_text(PARIS_TIME)
    expect(resolution).to_contain_text("of business time left")
    assert re.search(r"\b\d+d\b", requester.content()) is None  # never 24-hour "days"
    expect(requester.get_by_test_id("ticket-ref")).to_have_text(ref)


# --- long text stays in its card -------------------------------------------------------------


def test_long_unbroken_text_wraps_inside_its_card_on_desktop_and_phone(login_as):
    requester = login_as("requester")
    word = "W" * 190
    ref = report_incident(requester, f"{word} {unique('x')[-10:]}", description="LOGLINE_" * 400)

    for size in ({"width": 1280, "height": 800}, PHONE):
        requester.set_viewport_size(size)
        requester.goto(f"/tickets/{ref}")
        assert overflows(requester, "h1, .card, .description") == [], size
        assert not page_is_wider_than_the_screen(requester), size


# --- forms: never sent twice, never lost -----------------------------------------------------


def test_reload_after_a_refused_form_does_not_send_it_again_and_keeps_the_typing(login_as):
    requester = login_as("requester")
    main_nav(requester).get_by_role("link", name="Report an incident").click()
    requester.get_by_label("ERP module").select_option(value="")  # not the usual one
    requester.get_by_label("What happened").fill("The payment run stops at step 3.")
    requester.get_by_role("button", name="Submit ticket").click()

    expect(requester.get_by_test_id("error")).to_contain_text("The ticket is incomplete.")
    expect(requester.get_by_test_id("error")).to_contain_text("Say in a few words what is broken.")
    expect(requester.get_by_test_id("error")).to_contain_text("Choose the ERP module.")
    with requester.expect_request(lambda r: r.is_navigation_request()) as reload:
        requester.reload()

    assert reload.value.method == "GET"
    expect(requester.get_by_label("What happened")).to_have_value(
        "The payment run stops at step 3."
    )


def test_back_after_sending_a_ticket_shows_an_empty_form(login_as):
    requester = login_as("requester")
    title = unique("Payment run stops")
    report_incident(requester, title)

    requester.go_back()

    expect(requester.get_by_role("heading", level=1)).to_have_text("Report an incident")
    expect(requester.get_by_label("What is broken?")).to_have_value("")
    expect(requester.get_by_label("What happened")).to_have_value("")


def test_an_expired_form_comes_back_with_the_typed_comment(login_as):
    requester = login_as("requester")
    ref = report_incident(requester, unique("Dunning run skipped customers"))
    answer = unique("It happens only for customers in Belgium.")
    requester.get_by_label("Your answer").fill(answer)
    # the form's token is no longer valid (the session it belonged to has ended meanwhile)
    requester.eval_on_selector(
        "[data-testid=comment-form] input[name=csrf_token]", "el => el.value = 'expired'"
    )

    requester.get_by_role("button", name="Send", exact=True).click()

    expect(requester).to_have_url(re.compile(rf"/tickets/{ref}\?draft="))
    expect(requester.get_by_test_id("error")).to_contain_text("This form had expired")
    expect(requester.get_by_label("Your answer")).to_have_value(answer)
    assert "CSRF" not in requester.content()
    requester.get_by_role("button", name="Send", exact=True).click()
    expect(requester.get_by_role("status")).to_have_text("Comment added.")
    expect(requester.locator("article.comment").filter(has_text=answer)).to_have_count(1)


# --- attachments -----------------------------------------------------------------------------


def test_an_attachment_over_the_limit_comes_back_to_the_ticket_with_the_limit(login_as):
    requester = login_as("requester")
    ref = report_incident(requester, unique("Export file truncated"))
    upload = requester.get_by_test_id("upload-form")
    expect(upload).to_contain_text("At most 1 MiB")

    upload.get_by_label("File to attach").set_input_files(
        {"name": "export.csv", "mimeType": "text/csv", "buffer": b"a;b\n" * ATTACHMENT_MAX_BYTES}
    )
    upload.get_by_role("button", name="Attach", exact=True).click()

    expect(requester).to_have_url(re.compile(rf"/tickets/{ref}\?draft="))
    expect(requester.get_by_test_id("error")).to_contain_text(
        "The file was not sent: a file may be at most 1 MiB."
    )
    expect(requester.get_by_test_id("files")).to_contain_text("No files.")


# --- cancelling ------------------------------------------------------------------------------


def test_cancelling_asks_for_a_reason_before_it_cancels(login_as):
    requester = login_as("requester")
    report_incident(requester, unique("Duplicate vendor created"))
    expect(requester.get_by_role("button", name="Cancel ticket")).to_have_count(0)

    requester.get_by_text("Cancel this ticket…").click()
    requester.get_by_role("button", name="Yes, cancel the ticket").click()  # no reason yet
    expect(requester.get_by_test_id("status")).to_have_text("new")

    requester.get_by_label("Why is it no longer needed?").fill("The vendor team merged it already.")
    requester.get_by_role("button", name="Yes, cancel the ticket").click()
    expect(requester.get_by_role("status")).to_have_text("Ticket cancelled.")
    expect(requester.get_by_test_id("status")).to_have_text("cancelled")
    expect(requester.get_by_test_id("cancel-reason")).to_have_text(
        "The vendor team merged it already."
    )


# --- the lists each role needs ---------------------------------------------------------------


def test_the_auditor_reads_every_ticket_from_the_menu(login_as):
    auditor = login_as("auditor")
    nav = main_nav(auditor)
    expect(nav.get_by_role("link", name="Report an incident")).to_have_count(0)

    nav.get_by_role("link", name="All tickets").click()

    expect(auditor.get_by_role("heading", level=1)).to_have_text("All tickets")
    first = auditor.get_by_role("row").nth(1).get_by_role("link").first
    ref = first.inner_text()
    first.click()
    expect(auditor).to_have_url(re.compile(rf"/tickets/{ref}$"))
    expect(auditor.get_by_test_id("ticket-ref")).to_have_text(ref)


def test_the_product_owner_reads_the_module_tickets(login_as):
    owner = login_as("po")

    main_nav(owner).get_by_role("link", name="Module tickets").click()

    expect(owner.get_by_role("heading", level=1)).to_have_text("Tickets of my modules")
    expect(owner.get_by_role("row").nth(1).get_by_role("link").first).to_have_text(
        re.compile(r"^INC-\d{6}$")
    )


# --- the admins' pages -----------------------------------------------------------------------


def test_sla_targets_are_typed_in_hours_and_minutes_and_an_error_keeps_them(login_as):
    admin = login_as("admin")
    main_nav(admin).get_by_role("link", name="SLA policies").click()
    p5 = admin.get_by_test_id("sla-P5")
    resolution = p5.get_by_role("group", name="Resolution")
    expect(resolution.get_by_label("hours")).to_have_value("80")  # ten business days

    resolution.get_by_label("hours").fill("9000")
    resolution.get_by_label("minutes").fill("30")
    p5.get_by_role("button", name="Save P5").click()

    expect(admin.get_by_test_id("error")).to_contain_text("The targets of P5 were not changed.")
    expect(admin.get_by_test_id("error")).to_contain_text(
        "Resolution: A target is at most 8,760 hours (a year)."
    )
    resolution = admin.get_by_test_id("sla-P5").get_by_role("group", name="Resolution")
    expect(resolution.get_by_label("hours")).to_have_value("9000")
    expect(resolution.get_by_label("minutes")).to_have_value("30")


def test_a_holiday_is_added_then_removed_on_its_own(login_as):
    admin = login_as("admin")
    main_nav(admin).get_by_role("link", name="Calendars").click()
    office = admin.get_by_test_id("calendar-EU_OFFICE")

    office.get_by_label("Date").fill("2099-06-15")
    office.get_by_role("textbox", name="Name").fill("Company day")
    office.get_by_role("button", name="Add holiday").click()

    expect(admin.get_by_role("status")).to_have_text("Company day added to European office hours.")
    office = admin.get_by_test_id("calendar-EU_OFFICE")
    office.get_by_text(re.compile(r"^\d+ holidays$")).click()
    office.get_by_role("button", name="Remove Jun 15, 2099, Company day").click()
    expect(admin.get_by_role("status")).to_have_text(
        "The holiday is removed from European office hours."
    )
    expect(admin.get_by_role("button", name="Remove Jun 15, 2099, Company day")).to_have_count(0)


def test_the_audit_log_filters_by_choice_and_links_to_the_ticket(login_as):
    admin = login_as("admin")
    ref = report_incident(admin, unique("Audit trail check"))
    main_nav(admin).get_by_role("link", name="Audit log").click()

    filters = admin.get_by_test_id("audit-filters")
    filters.get_by_label("Entity").select_option(label="Ticket")
    filters.get_by_label("Reference").fill(ref)
    filters.locator("select[name=action]").select_option("created")
    filters.get_by_role("button", name="Filter").click()

    rows = admin.get_by_test_id("audit-events").get_by_role("row")
    expect(rows).to_have_count(2)  # the header and the event
    expect(rows.nth(1)).to_contain_text("status: new")
    expect(rows.nth(1)).not_to_contain_text("None")
    rows.nth(1).get_by_role("link", name=ref).click()
    expect(admin).to_have_url(TICKET_URL)
