"""The agents' desk in a real browser: bulk assign from the queue, a canned response inserted in
the reply box (and the box's two modes), a saved view, round-robin assignment of a new ticket,
the keyboard help, and the ticket page noticing someone else's change.

The session shares one database with the other e2e tests, so every ticket gets a unique title
and round-robin is turned on for a module no other test reports in (and off again).
"""

from __future__ import annotations

import re
import uuid

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or fail in CI) and say why
    expect = None

from tests.e2e.test_tickets import main_nav, report_incident, unique

LIVE_WAIT_MS = 25_000  # the ticket page polls every 15 s


def test_bulk_assign_from_the_queue(login_as, new_page):
    tag = uuid.uuid4().hex[:10]
    requester = login_as("requester")
    refs = [report_incident(requester, f"Bulk {tag} printer {n}") for n in range(2)]
    agent = login_as("agent", page=new_page())

    agent.goto(f"/queues?view=unassigned&q={tag}")
    for ref in refs:
        agent.get_by_label(f"Select {ref}").check()
    agent.get_by_test_id("bulk-action").select_option("assign")
    agent.get_by_test_id("bulk-form").get_by_label("Agent").select_option(label="Sam Support")
    agent.get_by_role("button", name="Apply").click()

    expect(agent.get_by_text("2 of 2 tickets assigned.")).to_be_visible()
    agent.goto(f"/queues?view=open&q={tag}")
    expect(agent.get_by_test_id("row-assignee")).to_have_text(["Sam Support", "Sam Support"])


def test_a_canned_response_is_inserted_in_the_reply_box(login_as, new_page):
    title = unique("Greeting")
    admin = login_as("admin")
    main_nav(admin).get_by_role("link", name="Desk settings").click()
    form = admin.get_by_test_id("canned-new")
    form.get_by_label("Title").fill(title)
    form.get_by_label("Module").select_option("FIN")
    form.get_by_label("Text").fill("Hello {{requester_name}}, about {{ticket_ref}} ({{module}}).")
    form.get_by_role("button", name="Add the canned response").click()
    expect(admin.get_by_text(f"Canned response “{title}” saved.")).to_be_visible()

    requester = login_as("requester", page=new_page())
    ref = report_incident(requester, unique("Ledger locked"), module="FIN")
    agent = login_as("agent", page=new_page())
    agent.goto(f"/tickets/{ref}")
    box = agent.get_by_label("Message")
    box.fill("Thanks for reporting.")
    agent.get_by_test_id("canned-select").select_option(label=title)
    agent.get_by_role("button", name="Insert").click()

    expect(box).to_have_value(
        f"Thanks for reporting.\nHello Rita Requester, about {ref} (Finance)."
    )
    # the button's name is what people read and hear: one label per mode
    expect(agent.get_by_role("button", name="Send public answer")).to_be_visible()
    agent.get_by_test_id("mode-internal").check()
    expect(agent.get_by_role("button", name="Add internal note")).to_be_visible()
    expect(agent.get_by_role("button", name="Send public answer")).to_have_count(0)
    expect(agent.get_by_text("Internal note: the requester will not see it.")).to_be_visible()


def test_a_saved_view_brings_its_filters_back(login_as):
    name = unique("Urgent open")
    agent = login_as("agent")
    agent.goto("/queues?view=open&priority=P1")
    agent.get_by_text("Save these filters as a view…").click()
    agent.get_by_test_id("save-view-form").get_by_label("Name").fill(name)
    agent.get_by_role("button", name="Save view").click()
    expect(agent.get_by_text(f"View “{name}” saved.")).to_be_visible()

    agent.goto("/queues")
    agent.get_by_test_id("saved-views").get_by_role("link", name=name).click()

    expect(agent).to_have_url(re.compile(r"priority=P1"))
    expect(agent.locator("form.filters select[name=priority]")).to_have_value("P1")


def test_the_keyboard_help_opens_and_closes(login_as):
    agent = login_as("agent")
    agent.goto("/queues")
    agent.wait_for_load_state("load")

    agent.keyboard.press("?")
    expect(agent.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    agent.keyboard.press("Escape")
    expect(agent.get_by_test_id("shortcuts")).to_be_hidden()


def test_round_robin_assigns_a_new_ticket_of_the_group(login_as, new_page):
    admin = login_as("admin")
    admin.goto("/admin/desk")
    admin.locator('[data-rotation="MFG_SUP"]').click()
    expect(admin.get_by_text("MFG_SUP now hands out its tickets round-robin.")).to_be_visible()
    try:
        requester = login_as("requester", page=new_page())
        ref = report_incident(requester, unique("Work order stuck"), module="MFG")
        agent = login_as("agent", page=new_page())
        agent.goto(f"/tickets/{ref}")
        expect(agent.get_by_test_id("assignee")).not_to_have_text("not assigned yet")
    finally:
        admin.goto("/admin/desk")
        admin.locator('[data-rotation="MFG_SUP"]').click()
        expect(admin.get_by_text("MFG_SUP no longer hands out")).to_be_visible()


def test_the_ticket_page_says_when_someone_else_changed_it(login_as, new_page):
    requester = login_as("requester")
    ref = report_incident(requester, unique("Dunning run empty"), module="FIN")
    agent = login_as("agent", page=new_page())
    agent.goto(f"/tickets/{ref}")
    admin = login_as("admin", page=new_page())
    admin.goto(f"/tickets/{ref}")

    admin.get_by_role("button", name="Assign to me").click()

    expect(agent.get_by_test_id("live-banner")).to_contain_text(
        "Alex Admin changed this ticket just now", timeout=LIVE_WAIT_MS
    )
