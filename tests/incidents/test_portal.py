"""The requester portal: my tickets open first (last updated first), then resolved; reporting
with my usual module chosen; the history in plain words with people by name only."""

from __future__ import annotations

import html
import re

import pytest

from tests.factories import PASSWORD, RESOLUTION, act_ok, comment


@pytest.fixture
def browser(signed_in, requester):
    return signed_in(requester)


def text_of(response) -> str:
    assert response.status_code == 200, response.status_code
    body = html.unescape(response.get_data(as_text=True))
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def section(page: str, start: str, end: str) -> str:
    return page.split(start, 1)[1].split(end, 1)[0]


def test_my_tickets_shows_open_ones_by_last_update_then_resolved(
    browser, make_ticket, requester, alex
):
    older = make_ticket(reporter=requester, title="Older ticket")
    newer = make_ticket(reporter=requester, title="Newer ticket")
    done = make_ticket(reporter=requester, title="Solved ticket")
    act_ok(alex, done.ref, "resolve", **RESOLUTION)
    comment(alex, older.ref, "Looking at it.")  # updated last: comes first

    page = text_of(browser.get("/tickets"))

    open_part = section(page, "Open", "Resolved and closed")
    assert open_part.index(older.ref) < open_part.index(newer.ref)
    assert done.ref not in open_part
    assert done.ref in section(page, "Resolved and closed", "Search and filter")


def test_filters_still_give_the_searchable_list(browser, make_ticket, requester):
    ticket = make_ticket(reporter=requester, title="Invoice posting fails")

    page = text_of(browser.get("/tickets?q=invoice"))

    assert ticket.ref in page
    assert "Resolved and closed" not in page


def test_the_home_panel_lists_open_tickets_then_recently_resolved(
    browser, make_ticket, requester, alex
):
    open_one = make_ticket(reporter=requester, title="Still broken")
    done = make_ticket(reporter=requester, title="Fixed already")
    act_ok(alex, done.ref, "resolve", **RESOLUTION)

    page = text_of(browser.get("/"))

    assert page.index(open_one.ref) < page.index("Recently resolved") < page.index(done.ref)


def test_report_an_incident_chooses_my_usual_module(browser, make_ticket, make_module, requester):
    make_module("HR", name="Human resources")
    make_ticket(reporter=requester, module="HR")
    make_ticket(reporter=requester, module="HR")
    make_ticket(reporter=requester, module="FIN")

    body = html.unescape(browser.get("/tickets/new").get_data(as_text=True))

    assert re.search(r'<option value="HR" selected>', body)
    assert "Your usual modules" in body


def test_a_module_in_the_link_wins_over_the_usual_one(browser, make_ticket, make_module, requester):
    make_module("HR", name="Human resources")
    make_ticket(reporter=requester, module="HR")

    body = browser.get("/tickets/new?module=FIN").get_data(as_text=True)

    assert re.search(r'<option value="FIN" selected>', body)


def test_a_first_reporter_has_no_module_chosen(browser):
    body = browser.get("/tickets/new").get_data(as_text=True)

    assert " selected>" not in body.split('id="module"', 1)[1].split("</select>", 1)[0]


# --- the history in plain words ------------------------------------------------------------------


def test_the_requester_reads_the_history_in_sentences_with_names(
    browser, make_ticket, requester, alex
):
    ticket = make_ticket(reporter=requester)
    act_ok(alex, ticket.ref, "triage", assignee="alex@example.com")
    act_ok(alex, ticket.ref, "start")
    act_ok(alex, ticket.ref, "wait")

    page = text_of(browser.get(f"/tickets/{ticket.ref}"))
    history = section(page, "History", "</ol>") if "</ol>" in page else page.split("History")[-1]

    assert "You reported the incident" in history
    assert "Alex Agent started working on it" in history
    assert "Alex Agent asked you for information: waiting for your answer" in history
    assert "Assigned to: Alex Agent" in history
    assert "alex@example.com" not in page
    assert "waiting_on_requester" not in page and "in_progress" not in page


def test_the_support_team_reads_names_too_never_emails_in_the_history(
    signed_in, agent, make_ticket, requester, alex
):
    ticket = make_ticket(reporter=requester)
    act_ok(alex, ticket.ref, "triage", assignee="alex@example.com")

    page = text_of(signed_in(agent).get(f"/tickets/{ticket.ref}"))
    history = page.split("History", 1)[1]

    assert "Rita Ruiz reported the incident" in history
    assert "You looked at it and sent it to the right people" in history
    assert "@" not in history


def test_internal_changes_stay_with_the_support_team(
    browser, signed_in, agent, make_ticket, requester, alex, make_user
):
    ticket = make_ticket(reporter=requester)
    carl = make_user("requester", email="carl@example.com", name="Carl", password=PASSWORD)
    signed_in(carl).post(f"/tickets/{ticket.ref}/follow")

    requester_view = text_of(browser.get(f"/tickets/{ticket.ref}")).split("History", 1)[1]
    agent_view = text_of(signed_in(agent).get(f"/tickets/{ticket.ref}")).split("History", 1)[1]

    assert "Carl started following it" not in requester_view
    assert "Carl started following it" in agent_view
