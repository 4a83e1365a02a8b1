"""The requester portal in a real browser: while a title is typed the open tickets like it are
suggested, and following one adds the requester as a watcher instead of filing a duplicate."""

from __future__ import annotations

import re

from tests.e2e.test_tickets import TICKET_URL, report_incident, unique

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or fail in CI) and say why
    expect = None


def test_follow_a_similar_ticket_instead_of_reporting_it_again(login_as, new_page):
    keyuser = login_as("keyuser")
    marker = unique("Bankreconciliation")
    ref = report_incident(keyuser, f"{marker} import rejects the statement", module="FIN")

    requester = login_as("requester", page=new_page())
    requester.goto("/tickets/new")
    requester.get_by_label("ERP module").select_option("FIN")
    requester.get_by_label("What is broken?").fill(f"{marker} statement")

    suggestion = requester.get_by_test_id("similar").locator(f"li[data-ref='{ref}']")
    expect(suggestion).to_be_visible()
    suggestion.get_by_role("button", name="Follow it instead").click()

    expect(requester).to_have_url(TICKET_URL)
    assert ref in requester.url
    expect(requester.get_by_role("status")).to_contain_text(f"You follow {ref} now")
    expect(requester.get_by_test_id("watch-button")).to_have_text("Stop following")
    requester.goto("/tickets")
    expect(requester.get_by_test_id("followed")).to_contain_text(ref)


def test_the_history_reads_in_plain_words(login_as):
    requester = login_as("requester")
    ref = report_incident(requester, unique("Plain words"))
    requester.goto(f"/tickets/{ref}")

    history = requester.get_by_test_id("history")
    expect(history).to_contain_text("You reported the incident")
    assert not re.search(r"@|_[a-z]+", history.inner_text())  # no emails, no field codes


def test_my_tickets_lists_open_ones_first(login_as):
    requester = login_as("requester")
    ref = report_incident(requester, unique("Portal order"))
    requester.goto("/tickets")

    expect(requester.get_by_test_id("my-open")).to_contain_text(ref)
    expect(requester.get_by_test_id("my-resolved")).not_to_contain_text(ref)
