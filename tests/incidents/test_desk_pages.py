"""The agents' desk as a browser without scripts uses it: the queue page (assign to me, bulk
actions reported per row, sortable columns, total, previous and next page, saved views), the
ticket page's reply box (mode, default mode, canned responses) and the live reads."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from app.incidents.canned import create_canned
from app.incidents.models import SavedView, Ticket
from tests.incidents.conftest import ROLES


def page_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def browser(signed_in, desk_people):
    opened: dict = {}

    def open_as(name: str):
        if name not in opened:
            opened[name] = signed_in(desk_people[name])
        return opened[name]

    return open_as


@pytest.fixture
def tickets(make_ticket, desk_people):
    return [make_ticket(reporter=desk_people["requester"], title=f"Broken {n}") for n in range(3)]


def test_the_queue_shows_the_total_and_a_way_to_take_each_row(browser, tickets):
    page = page_of(browser("agent").get("/queues"))

    assert re.search(r'data-testid="total">3 tickets<', page)
    assert page.count("data-take") == 3
    assert page.count('name="tickets"') == 3


def test_assign_to_me_on_a_row_comes_back_to_the_queue(browser, tickets, db_session):
    response = browser("agent").post(
        "/queues/take", data={"ref": tickets[0].ref, "back": "/queues?view=unassigned"}
    )

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/queues?view=unassigned")
    assert db_session.get(Ticket, tickets[0].id).assignee.email == "agent@example.com"
    assert "is assigned to you" in page_of(browser("agent").get("/queues"))


def test_a_bulk_action_reports_every_refused_row_with_why(browser, tickets, db_session):
    refs = [t.ref for t in tickets]
    response = browser("agent").post(
        "/queues/bulk", data={"bulk_action": "close", "tickets": refs, "back": "/queues"}
    )

    assert response.status_code == 303
    page = page_of(browser("agent").get("/queues"))
    assert "0 of 3 tickets closed" in page
    for ref in refs:
        assert f"{ref} was not changed" in page


def test_a_bulk_assign_from_the_page_assigns_the_ticked_rows(browser, tickets, db_session):
    ticked = [tickets[0].ref, tickets[2].ref]

    browser("agent").post(
        "/queues/bulk",
        data={"bulk_action": "assign", "assignee": "admin@example.com", "tickets": ticked},
    )

    db_session.expire_all()
    assigned = {t.ref for t in db_session.scalars(select(Ticket)) if t.assignee_id}
    assert assigned == set(ticked)
    assert "2 of 2 tickets assigned" in page_of(browser("agent").get("/queues"))


def test_an_incomplete_bulk_form_changes_nothing_and_says_why(browser, tickets, db_session):
    browser("agent").post(
        "/queues/bulk",
        data={"bulk_action": "priority", "priority": "P1", "tickets": [tickets[0].ref]},
    )

    page = page_of(browser("agent").get("/queues"))
    assert "Nothing was changed." in page
    assert db_session.get(Ticket, tickets[0].id).priority == "P3"


PAGE_WRITE = {
    "requester": 403,
    "key_user": 403,
    "agent": 303,
    "product_owner": 403,
    "auditor": 403,
    "admin": 303,
}


@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize(
    "url, form",
    [
        ("/queues/bulk", {"bulk_action": "assign_to_me"}),
        ("/queues/take", {}),
        ("/queues/views", {"name": "Mine", "back": "/queues?view=mine"}),
    ],
)
def test_desk_forms_are_for_the_support_team(browser, tickets, role, url, form, db_session):
    data = {**form, "tickets": [tickets[0].ref], "ref": tickets[0].ref}

    response = browser(role).post(url, data=data)

    assert response.status_code == PAGE_WRITE[role]
    if PAGE_WRITE[role] == 403:
        db_session.expire_all()
        assert db_session.get(Ticket, tickets[0].id).assignee_id is None
        assert db_session.scalar(select(SavedView.id)) is None


def test_the_auditor_sees_no_desk_forms(browser, tickets):
    assert browser("auditor").get("/queues").status_code == 403
    page = page_of(browser("auditor").get(f"/tickets/{tickets[0].ref}"))
    assert "assign-to-me" not in page
    assert 'id="reply-form"' not in page


def test_the_columns_sort_the_queue(browser, make_ticket, desk_people):
    make_ticket(reporter=desk_people["requester"], title="Low one", impact="low", urgency="low")
    make_ticket(reporter=desk_people["requester"], title="Top one", impact="high", urgency="high")

    page = page_of(browser("agent").get("/queues?view=open&sort=priority"))

    assert page.index("Top one") < page.index("Low one")
    assert 'data-sort="priority"' in page


def test_next_then_previous_page_come_back_to_the_first(browser, make_ticket, desk_people):
    for n in range(5):
        make_ticket(reporter=desk_people["requester"], title=f"Ticket number {n}")
    agent = browser("agent")

    first = page_of(agent.get("/queues?view=open&sort=created&limit=2"))
    second_url = re.search(r'href="([^"]+)" rel="next"', first).group(1)
    second = page_of(agent.get(second_url))
    third = page_of(agent.get(re.search(r'href="([^"]+)" rel="next"', second).group(1)))
    back_to_second = page_of(agent.get(re.search(r'href="([^"]+)" rel="prev"', third).group(1)))
    back_to_first = page_of(
        agent.get(re.search(r'href="([^"]+)" rel="prev"', back_to_second).group(1))
    )

    assert "Ticket number 4" in third and "Ticket number 2" in second
    assert "Ticket number 2" in back_to_second and "Ticket number 3" in back_to_second
    assert "Ticket number 0" in back_to_first and 'rel="prev"' not in back_to_first


def test_a_view_saved_on_the_page_keeps_the_filters_and_is_listed(browser, db_session):
    response = browser("agent").post(
        "/queues/views", data={"name": "P1 open", "back": "/queues?view=open&priority=P1"}
    )

    view = db_session.scalar(select(SavedView))
    assert view.filters == {"view": "open", "priority": "P1"}
    assert response.status_code == 303
    page = page_of(browser("agent").get(response.headers["Location"]))
    assert "P1 open" in page


def test_the_reply_box_opens_in_the_agents_mode(browser, tickets):
    agent = browser("agent")
    page = page_of(agent.get(f"/tickets/{tickets[0].ref}"))
    assert "reply reply-public" in page

    agent.post(
        "/settings/reply-mode",
        data={"reply_mode": "internal", "back": f"/tickets/{tickets[0].ref}"},
    )

    page = page_of(agent.get(f"/tickets/{tickets[0].ref}"))
    assert "reply reply-internal" in page
    assert re.search(r'value="internal" data-testid="mode-internal" checked', page)


def test_a_canned_response_is_inserted_without_a_script(browser, tickets, desk_people, db_session):
    item = create_canned(
        db_session, desk_people["admin"], title="Hello", body="Hello {{requester_name}}."
    )
    db_session.commit()
    agent = browser("agent")

    response = agent.post(
        f"/tickets/{tickets[0].ref}/comments",
        data={"form": "comment", "body": "Thanks.", "canned": str(item.id), "insert": "1"},
    )

    assert response.status_code == 303
    page = page_of(agent.get(response.headers["Location"]))
    assert "Thanks.\n\nHello Requester.</textarea>" in page
    assert db_session.scalar(select(Ticket.first_response_at)) is None


def test_the_live_reads_follow_changes(browser, tickets):
    agent, admin = browser("agent"), browser("admin")
    before = agent.get(f"/tickets/{tickets[0].ref}/version.json").get_json()

    admin.post("/queues/take", data={"ref": tickets[0].ref})

    after = agent.get(f"/tickets/{tickets[0].ref}/version.json").get_json()
    assert after["version"] > before["version"] and after["changed_by"] == "Admin"
    assert agent.get("/queues/counts.json").get_json()["counts"]["unassigned"] == 2
    assert browser("requester").get("/queues/counts.json").status_code == 403


ADMIN_ONLY = {
    "requester": 403,
    "key_user": 403,
    "agent": 403,
    "product_owner": 403,
    "auditor": 403,
    "admin": 303,
}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_the_desk_settings_page_is_for_admins(browser, role, db_session):
    from app.catalogue import service as catalogue
    from app.incidents.models import CannedResponse, GroupRotation

    catalogue.create_group(db_session, None, code="L1", name="First level")
    db_session.commit()
    user = browser(role)

    created = user.post("/admin/desk/canned", data={"title": "Hi", "body": "Hello."})
    turned = user.post("/admin/desk/rotation", data={"group": "L1", "enabled": "yes"})

    assert (created.status_code, turned.status_code) == (ADMIN_ONLY[role],) * 2
    assert user.get("/admin/desk").status_code == (200 if role == "admin" else 403)
    db_session.expire_all()
    written = db_session.scalar(select(CannedResponse.id)) is not None
    rotating = db_session.scalar(select(GroupRotation.enabled)) is True
    assert written is rotating is (role == "admin")


@pytest.mark.parametrize("role", sorted(ROLES))
def test_the_reply_mode_and_away_are_set_by_the_support_team(
    browser, role, desk_people, db_session
):
    user = browser(role)

    mode = user.post("/settings/reply-mode", data={"reply_mode": "internal"})
    away = user.post("/settings/absent", data={"absent": "yes"})

    expected = 303 if role in ("agent", "admin") else 403
    assert (mode.status_code, away.status_code) == (expected, expected)
    db_session.expire_all()
    person = db_session.get(type(desk_people[role]), desk_people[role].id)
    assert (person.reply_mode == "internal") is (expected == 303)
    assert person.absent is (expected == 303)


def test_an_admin_edits_a_canned_response_with_its_version(browser, desk_people, db_session):
    item = create_canned(db_session, desk_people["admin"], title="Hi", body="Hello.")
    db_session.commit()
    admin = browser("admin")

    stale = admin.post(
        f"/admin/desk/canned/{item.id}", data={"title": "Hey", "body": "Hello.", "version": "0"}
    )
    fresh = admin.post(
        f"/admin/desk/canned/{item.id}",
        data={"title": "Hey", "body": "Hello.", "version": str(item.version)},
    )

    assert "draft=" in stale.headers["Location"]
    assert fresh.status_code == 303 and "draft=" not in fresh.headers["Location"]
    db_session.expire_all()
    assert db_session.get(type(item), item.id).title == "Hey"
