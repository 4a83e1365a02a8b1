"""Incident tickets in the browser: report, triage, work, resolve, rate; refusals; visibility; SLA.

The session shares one database with the other e2e tests and the demo data, so every ticket
gets a unique title and each test finds its own tickets by searching for it.
"""

from __future__ import annotations

import re
import uuid

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or fail in CI) and say why
    expect = None

from app.demo import DEMO_DOMAIN

AGENT_NAME = "Sam Support"
AGENT_EMAIL = f"agent@{DEMO_DOMAIN}"
REQUESTER_NAME = "Rita Requester"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TICKET_URL = re.compile(r"/tickets/(INC-\d{6})$")
TIME_LEFT = re.compile(r"^(\d+ h \d\d min|\d+ min) left$")  # business time, never days


def unique(label: str) -> str:
    return f"{label} {uuid.uuid4().hex[:10]}"


def main_nav(page):
    return page.get_by_role("navigation", name="Main")


def report_incident(
    page,
    title: str,
    *,
    module: str = "FIN",
    description: str = "Posting the journal fails with an error since this morning.",
    impact: str = "medium",
    urgency: str = "medium",
) -> str:
    """Fill and submit "Report an incident"; returns the new ticket's reference."""
    main_nav(page).get_by_role("link", name="Report an incident").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Report an incident")
    page.get_by_label("What is broken?").fill(title)
    page.get_by_label("ERP module").select_option(module)
    page.get_by_label("What happened").fill(description)
    page.get_by_label("Impact").select_option(impact)
    page.get_by_label("Urgency").select_option(urgency)
    page.get_by_role("button", name="Submit ticket").click()

    expect(page).to_have_url(TICKET_URL)
    ref = TICKET_URL.search(page.url).group(1)
    expect(page.get_by_test_id("ticket-ref")).to_have_text(ref)
    return ref


def cancel_ticket(page, reason: str) -> None:
    """Open the confirmation, say why, and cancel."""
    page.get_by_text("Cancel this ticket…").click()
    page.get_by_label("Why is it no longer needed?").fill(reason)
    page.get_by_role("button", name="Yes, cancel the ticket").click()


def find_in_queue(page, tab: str, title: str):
    """Open the agent's Queues page on ``tab``, search ``title``; returns the ticket's row."""
    main_nav(page).get_by_role("link", name="Queues").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Support queues")
    tabs = page.get_by_role("navigation", name="Queues")
    tabs.get_by_role("link", name=re.compile(rf"^{re.escape(tab)}\b")).click()
    expect(tabs.get_by_role("link", name=re.compile(rf"^{re.escape(tab)}\b"))).to_have_attribute(
        "aria-current", "page"
    )
    page.get_by_label("Search").fill(title)
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"[?&]q="))
    row = page.get_by_role("row").filter(has_text=title)
    expect(row).to_have_count(1)
    return row


def test_requester_reports_agent_triages_and_resolves_requester_rates(login_as, new_page, tmp_path):
    title = unique("Journal posting fails")
    answer = unique("We found a locked period; please try again now.")
    note = unique("Reopened the accounting period 2024-05.")
    rating_comment = unique("Quick and clear")

    # The requester reports the incident.
    requester = login_as("requester")
    ref = report_incident(requester, title, impact="medium", urgency="high")
    expect(requester.get_by_role("status")).to_contain_text(f"Ticket {ref} created")
    expect(requester.get_by_role("heading", level=1)).to_have_text(f"{ref} — {title}")
    expect(requester.get_by_test_id("status")).to_have_text("new")
    expect(requester.get_by_test_id("priority")).to_have_text("P2")
    expect(requester.get_by_test_id("assignee")).to_have_text("not assigned yet")
    # A requester gets no support controls.
    expect(requester.get_by_test_id("triage-form")).to_have_count(0)
    expect(requester.get_by_test_id("resolve-form")).to_have_count(0)

    # The agent finds it among the unassigned tickets and opens it.
    agent = login_as("agent", page=new_page())
    row = find_in_queue(agent, "Unassigned", title)
    expect(row).to_contain_text(ref)
    expect(row).to_contain_text("P2")
    expect(row).to_contain_text("new")
    row.get_by_role("link", name=ref).click()
    expect(agent).to_have_url(re.compile(rf"/tickets/{ref}$"))

    # Triage: keep the priority, assign to themselves.
    triage = agent.get_by_test_id("triage-form")
    expect(triage.get_by_label("Priority")).to_have_value("P2")
    triage.get_by_label("Assignee").select_option(label=AGENT_NAME)
    expect(triage.get_by_label("Assignee")).to_have_value(AGENT_EMAIL)
    triage.get_by_role("button", name="Triage").click()
    expect(agent.get_by_role("status")).to_have_text("Ticket triaged.")
    expect(agent.get_by_test_id("status")).to_have_text("triaged")
    expect(agent.get_by_test_id("priority")).to_have_text("P2")
    expect(agent.get_by_test_id("assignee")).to_have_text(AGENT_NAME)

    # Start work, answer publicly, resolve.
    agent.get_by_role("button", name="Start work").click()
    expect(agent.get_by_test_id("status")).to_have_text("in progress")

    agent.get_by_label("Message").fill(answer)
    expect(agent.get_by_label("public answer")).to_be_checked()
    agent.get_by_role("button", name="Send public answer").click()
    expect(agent.get_by_role("status")).to_have_text("Comment added.")
    expect(agent.locator("article.comment").filter(has_text=answer)).to_contain_text(AGENT_NAME)

    resolve = agent.get_by_test_id("resolve-form")
    resolve.get_by_label("Resolution").select_option("configuration")
    resolve.get_by_label("Note for the requester").fill(note)
    resolve.get_by_role("button", name="Resolve").click()
    expect(agent.get_by_test_id("status")).to_have_text("resolved")
    expect(agent.get_by_test_id("resolution")).to_have_text(f"configuration — {note}")
    expect(agent.get_by_test_id("resolve-form")).to_have_count(0)
    # Only the requester rates.
    expect(agent.get_by_test_id("rating-form")).to_have_count(0)

    # The requester sees the outcome.
    requester.reload()
    expect(requester.get_by_test_id("status")).to_have_text("resolved")
    expect(requester.get_by_test_id("resolution")).to_contain_text(note)
    answer_shown = requester.locator("article.comment").filter(has_text=answer)
    expect(answer_shown).to_have_count(1)
    expect(answer_shown).to_contain_text(AGENT_NAME)
    expect(answer_shown.get_by_text("internal note")).to_have_count(0)

    # Sending without stars is refused and keeps the comment; then 4 stars.
    rating_form = requester.get_by_test_id("rating-form")
    rating_form.get_by_label("Comment (optional)").fill(rating_comment)
    with requester.expect_response(lambda r: r.request.method == "POST") as refused:
        rating_form.get_by_role("button", name="Send rating").click()
    assert refused.value.status == 303  # back to the ticket (Post/Redirect/Get)
    expect(requester.get_by_test_id("error")).to_contain_text("From 1 to 5 stars.")
    rating_form = requester.get_by_test_id("rating-form")
    expect(rating_form.get_by_label("Comment (optional)")).to_have_value(rating_comment)

    rating_form.get_by_label("4 ★").check()
    rating_form.get_by_role("button", name="Send rating").click()
    expect(requester).to_have_url(re.compile(rf"/tickets/{ref}$"))
    expect(requester.get_by_role("status")).to_have_text("Thank you for your rating.")
    expect(requester.get_by_test_id("rating")).to_have_text(f"★★★★☆ {rating_comment}")
    expect(requester.get_by_test_id("rating-form")).to_have_count(0)
    expect(requester.get_by_test_id("history")).to_contain_text("rated")

    shot = tmp_path / "ticket.png"
    requester.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
    assert shot.read_bytes()[:8] == PNG_SIGNATURE


def test_resolve_without_note_is_refused_with_message_and_typed_values_kept(login_as, new_page):
    title = unique("Supplier invoice stuck")
    requester = login_as("requester")
    ref = report_incident(requester, title, module="FIN")

    agent = login_as("agent", page=new_page())
    agent.goto(f"/tickets/{ref}")
    resolve = agent.get_by_test_id("resolve-form")
    resolve.get_by_label("Resolution").select_option("workaround")
    with agent.expect_response(lambda r: r.request.method == "POST") as refused:
        resolve.get_by_role("button", name="Resolve").click()

    assert refused.value.status == 303  # back to the ticket (Post/Redirect/Get)
    error = agent.get_by_test_id("error")
    expect(error).to_contain_text("A resolution needs a code and a note.")
    expect(error).to_contain_text("Note for the requester: Tell the requester what was done.")
    expect(agent.get_by_test_id("status")).to_have_text("new")
    resolve = agent.get_by_test_id("resolve-form")
    expect(resolve.get_by_label("Resolution")).to_have_value("workaround")
    expect(resolve.get_by_label("Note for the requester")).to_have_value("")

    # The page still works from there: fill the note and resolve.
    resolve.get_by_label("Note for the requester").fill("Posted manually meanwhile.")
    resolve.get_by_role("button", name="Resolve").click()
    expect(agent).to_have_url(re.compile(rf"/tickets/{ref}$"))
    expect(agent.get_by_test_id("status")).to_have_text("resolved")
    expect(agent.get_by_test_id("resolution")).to_have_text(
        "workaround — Posted manually meanwhile."
    )


def test_priority_override_without_reason_is_refused_and_keeps_the_triage_choices(
    login_as, new_page
):
    title = unique("Payment run slow")
    requester = login_as("requester")
    ref = report_incident(requester, title, impact="low", urgency="medium")
    expect(requester.get_by_test_id("priority")).to_have_text("P4")

    agent = login_as("agent", page=new_page())
    agent.goto(f"/tickets/{ref}")
    triage = agent.get_by_test_id("triage-form")
    triage.get_by_label("Priority").select_option("P2")
    triage.get_by_label("Assignee").select_option(AGENT_EMAIL)
    with agent.expect_response(lambda r: r.request.method == "POST") as refused:
        triage.get_by_role("button", name="Triage").click()

    assert refused.value.status == 303  # back to the ticket (Post/Redirect/Get)
    expect(agent.get_by_test_id("error")).to_contain_text("Changing the priority needs a reason.")
    expect(agent.get_by_test_id("status")).to_have_text("new")
    expect(agent.get_by_test_id("priority")).to_have_text("P4")
    triage = agent.get_by_test_id("triage-form")
    expect(triage.get_by_label("Priority")).to_have_value("P2")
    expect(triage.get_by_label("Assignee")).to_have_value(AGENT_EMAIL)

    triage.get_by_label("Reason").fill("Blocks the month-end closing.")
    triage.get_by_role("button", name="Triage").click()
    expect(agent.get_by_test_id("status")).to_have_text("triaged")
    expect(agent.get_by_test_id("priority")).to_have_text("P2")
    expect(agent.get_by_test_id("assignee")).to_have_text(AGENT_NAME)


def test_action_on_a_stale_page_is_refused_with_the_allowed_actions(login_as, new_page):
    title = unique("Stock transfer blocked")
    requester = login_as("requester")
    ref = report_incident(requester, title, module="FIN")

    agent = login_as("agent", page=new_page())
    agent.goto(f"/tickets/{ref}")
    # The requester cancels while the agent still has the page open with "Start work".
    cancel_ticket(requester, "Found the answer myself.")
    expect(requester.get_by_test_id("status")).to_have_text("cancelled")

    with agent.expect_response(lambda r: r.request.method == "POST") as refused:
        agent.get_by_role("button", name="Start work").click()

    assert refused.value.status == 303  # back to the ticket (Post/Redirect/Get)
    error = agent.get_by_test_id("error")
    expect(error).to_contain_text("Cannot start a ticket that is cancelled.")
    expect(error).to_contain_text("Possible now: nothing.")
    expect(agent.get_by_test_id("status")).to_have_text("cancelled")
    expect(agent.get_by_role("button", name="Start work")).to_have_count(0)


def test_requester_never_sees_internal_notes_nor_others_tickets(login_as, new_page):
    title = unique("Closing report totals wrong")
    internal = unique("Suspect the custom view VW_CLOSE; do not tell the user yet.")
    public = unique("We are looking into it.")

    requester = login_as("requester")
    ref = report_incident(requester, title)

    agent = login_as("agent", page=new_page())
    agent.goto(f"/tickets/{ref}")
    agent.get_by_label("Message").fill(internal)
    agent.get_by_label("internal note").check()
    agent.get_by_role("button", name="Add internal note").click()
    expect(agent.get_by_role("status")).to_have_text("Internal note added.")
    note = agent.locator("article.comment").filter(has_text=internal)
    expect(note).to_have_count(1)
    expect(note.get_by_text("internal note")).to_be_visible()
    agent.get_by_label("Message").fill(public)
    agent.get_by_role("button", name="Send public answer").click()
    expect(agent.locator("article.comment").filter(has_text=public)).to_have_count(1)

    requester.reload()
    expect(requester.locator("article.comment").filter(has_text=public)).to_have_count(1)
    expect(requester.get_by_text(internal)).to_have_count(0)
    assert internal not in requester.content()
    expect(requester.get_by_label("internal note")).to_have_count(0)

    # Another user's ticket (the admin's) does not exist as far as the requester knows.
    admin_title = unique("Admin-only: VAT codes")
    admin = login_as("admin", page=new_page())
    other = report_incident(admin, admin_title)

    response = requester.goto(f"/tickets/{other}")
    assert response is not None and response.status == 404
    expect(requester.get_by_role("heading", level=1)).to_have_text("We could not find this")
    expect(requester.get_by_test_id("error-message")).to_have_text(f"No ticket '{other}'.")
    assert admin_title not in requester.content()
    expect(requester.get_by_role("link", name="Back to home")).to_be_visible()

    main_nav(requester).get_by_role("link", name="My tickets").click()
    requester.get_by_role("link", name="Search and filter my tickets").click()
    requester.get_by_label("Search").fill(admin_title)
    requester.get_by_role("button", name="Filter").click()
    expect(requester.get_by_role("cell", name="No tickets here.")).to_be_visible()


def test_new_p1_shows_sla_time_left_on_ticket_and_in_queue(login_as, new_page):
    title = unique("Whole ledger down")
    requester = login_as("requester")
    ref = report_incident(requester, title, impact="high", urgency="high")

    expect(requester.get_by_test_id("priority")).to_have_text("P1")
    badge = requester.get_by_test_id("sla-badge")
    expect(badge).to_have_text(TIME_LEFT)
    # P1: 4 h resolution target on a 24x7 clock, just started.
    expect(badge).to_have_text(re.compile(r"^(3 h 5\d min|4 h 00 min) left$"))
    expect(badge).to_have_class(re.compile(r"\bbadge-green\b"))

    agent = login_as("agent", page=new_page())
    row = find_in_queue(agent, "All open", title)
    expect(row).to_contain_text(ref)
    expect(row).to_contain_text("P1")
    expect(row.get_by_test_id("sla-badge")).to_have_text(TIME_LEFT)
