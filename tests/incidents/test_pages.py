"""The ticket pages as people use them with a browser session: reporting an incident, the
support queues, acting on a ticket, rating the support, and the admins' SLA policy page."""

from __future__ import annotations

import html
import io
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.catalogue.models import SlaPolicy
from app.incidents.conversation import add_comment
from app.incidents.models import Ticket
from app.incidents.service import get_ticket
from app.incidents.transitions import perform
from tests.factories import PASSWORD, RESOLUTION, tiny_png

FORM = {
    "title": "Invoice posting fails",
    "description": "Posting invoice 4711 fails since this morning.",
    "module": "FIN",
    "impact": "medium",
    "urgency": "high",
}


@pytest.fixture
def requester(make_user, make_module):
    make_module("FIN", name="Finance")
    return make_user("requester", email="rita@example.com", name="Rita Ruiz", password=PASSWORD)


@pytest.fixture
def rita(signed_in, requester):
    return signed_in(requester)


@pytest.fixture
def alex(signed_in, agent):
    return signed_in(agent)


def page_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def path_of(response) -> str:
    return urlsplit(response.headers["Location"]).path


def fresh_ticket(db_session, ref: str) -> Ticket:
    db_session.rollback()  # end the test's transaction: read what the requests committed
    return db_session.scalar(select(Ticket).where(Ticket.id == int(ref.split("-")[1])))


# --- reporting an incident -------------------------------------------------------------------


def test_the_new_ticket_form_renders_with_the_modules(rita):
    response = rita.get("/tickets/new")

    assert response.status_code == 200
    page = page_of(response)
    assert "Report an incident" in page
    assert 'name="title"' in page
    assert "Finance (FIN)" in page


def test_posting_the_form_creates_the_ticket_and_goes_to_its_page(rita, db_session):
    response = rita.post("/tickets/new", data=FORM)

    assert response.status_code == 302
    assert path_of(response) == "/tickets/INC-000001"
    ticket = fresh_ticket(db_session, "INC-000001")
    assert (ticket.title, ticket.priority, ticket.status) == (FORM["title"], "P2", "new")
    page = page_of(rita.get("/tickets/INC-000001"))
    assert "Ticket INC-000001 created" in page
    assert FORM["title"] in page


def test_posting_the_form_with_a_screenshot_attaches_it(rita, db_session):
    data = {**FORM, "file": (io.BytesIO(tiny_png()), "screen.png", "image/png")}

    response = rita.post("/tickets/new", data=data, content_type="multipart/form-data")

    assert response.status_code == 302
    assert "screen.png" in page_of(rita.get(path_of(response)))


def test_a_form_without_a_title_is_shown_again_with_the_message_and_what_was_typed(
    rita, db_session
):
    response = rita.post("/tickets/new", data={**FORM, "title": ""})

    assert response.status_code == 422
    page = page_of(response)
    assert "The ticket is incomplete." in page
    assert "Say in a few words what is broken." in page
    assert f">{FORM['description']}</textarea>" in page
    db_session.rollback()
    assert db_session.scalar(select(Ticket.id)) is None


def test_a_refused_screenshot_keeps_the_form_and_creates_no_ticket(rita, db_session):
    data = {**FORM, "file": (io.BytesIO(b"MZ\x90\x00" * 50), "screen.png", "image/png")}

    response = rita.post("/tickets/new", data=data, content_type="multipart/form-data")

    assert response.status_code == 422
    assert f">{FORM['description']}</textarea>" in page_of(response)
    db_session.rollback()
    assert db_session.scalar(select(Ticket.id)) is None


def test_my_tickets_lists_the_requesters_own_tickets_only(rita, requester, make_ticket, make_user):
    mine = make_ticket(reporter=requester, title="My printer mapping is wrong")
    make_ticket(reporter=make_user("requester"), title="Someone else's trouble")

    page = page_of(rita.get("/tickets"))

    assert mine.ref in page
    assert "Someone else's trouble" not in page


# --- the support team's pages ----------------------------------------------------------------


def test_the_queues_page_lists_the_tickets_waiting_for_the_team(alex, make_ticket, requester):
    first = make_ticket(reporter=requester, title="Payment run crashes")
    second = make_ticket(reporter=requester, title="Dunning letters missing")

    response = alex.get("/queues")

    assert response.status_code == 200
    page = page_of(response)
    for ticket in (first, second):
        assert ticket.ref in page
        assert ticket.title in page


def test_the_mine_queue_shows_only_the_agents_tickets(
    alex, agent, make_ticket, requester, db_session
):
    taken = make_ticket(reporter=requester, title="Payment run crashes")
    make_ticket(reporter=requester, title="Dunning letters missing")
    perform(db_session, agent, taken, "start")
    db_session.commit()

    page = page_of(alex.get("/queues?view=mine"))

    assert "Payment run crashes" in page
    assert "Dunning letters missing" not in page


def test_requesters_have_no_queues(rita):
    assert rita.get("/queues").status_code == 403


def test_an_allowed_action_on_the_ticket_page_is_done(alex, make_ticket, requester, db_session):
    ticket = make_ticket(reporter=requester)

    response = alex.post(f"/tickets/{ticket.ref}/act", data={"action": "start"})

    assert response.status_code == 302
    assert fresh_ticket(db_session, ticket.ref).status == "in_progress"


def test_a_forbidden_action_re_renders_the_ticket_with_409_and_what_is_possible(
    alex, make_ticket, requester, db_session
):
    ticket = make_ticket(reporter=requester)

    response = alex.post(f"/tickets/{ticket.ref}/act", data={"action": "reopen"})

    assert response.status_code == 409
    page = page_of(response)
    assert "Cannot reopen a ticket that is new." in page
    assert "Possible now: cancel, duplicate, resolve, start, triage." in page
    assert fresh_ticket(db_session, ticket.ref).status == "new"


def test_a_resolution_without_a_note_re_renders_with_the_field_error(
    alex, make_ticket, requester, db_session
):
    ticket = make_ticket(reporter=requester)

    response = alex.post(
        f"/tickets/{ticket.ref}/act", data={"action": "resolve", "resolution_code": "fixed"}
    )

    assert response.status_code == 422
    assert "Tell the requester what was done." in page_of(response)
    assert fresh_ticket(db_session, ticket.ref).status == "new"


def test_the_requester_does_not_see_internal_notes_on_the_ticket_page(
    rita, alex, agent, requester, make_ticket, db_session
):
    ticket = make_ticket(reporter=requester)
    add_comment(db_session, agent, ticket, body="Looking into it.", public=True)
    add_comment(db_session, agent, ticket, body="Blame the month-end job.", public=False)
    db_session.commit()

    theirs = page_of(rita.get(f"/tickets/{ticket.ref}"))
    support = page_of(alex.get(f"/tickets/{ticket.ref}"))

    assert "Looking into it." in theirs
    assert "Blame the month-end job." not in theirs
    assert "Blame the month-end job." in support


# --- rating ----------------------------------------------------------------------------------


@pytest.fixture
def resolved(db_session, make_ticket, requester, agent) -> str:
    ticket = make_ticket(reporter=requester)
    perform(db_session, agent, ticket, "start")
    perform(db_session, agent, ticket, "resolve", **RESOLUTION)
    db_session.commit()
    return ticket.ref


def test_the_requester_sees_the_rating_form_on_a_resolved_ticket(rita, resolved):
    page = page_of(rita.get(f"/tickets/{resolved}"))

    assert 'data-testid="rating-form"' in page
    assert "How did we do?" in page


def test_the_requesters_rating_is_saved_and_shown(rita, resolved, db_session):
    response = rita.post(
        f"/tickets/{resolved}/rating", data={"rating": "4", "comment": "Quick and clear."}
    )

    assert response.status_code == 302
    satisfaction = fresh_ticket(db_session, resolved).satisfaction
    assert (satisfaction.rating, satisfaction.comment) == (4, "Quick and clear.")
    page = page_of(rita.get(f"/tickets/{resolved}"))
    assert "★★★★☆ Quick and clear." in page
    assert 'data-testid="rating-form"' not in page


def test_a_rating_without_stars_is_shown_again_with_the_message(rita, resolved, db_session):
    response = rita.post(f"/tickets/{resolved}/rating", data={"comment": "Meh"})

    assert response.status_code == 422
    page = page_of(response)
    assert "From 1 to 5 stars." in page
    assert 'value="Meh"' in page
    assert fresh_ticket(db_session, resolved).satisfaction is None


def test_the_agent_gets_no_rating_form(alex, resolved):
    assert 'data-testid="rating-form"' not in page_of(alex.get(f"/tickets/{resolved}"))


# --- SLA policies ----------------------------------------------------------------------------


@pytest.fixture
def admin(signed_in, make_user):
    return signed_in(make_user("admin", email="ada@example.com", password=PASSWORD))


def test_agents_may_not_open_the_sla_policies(alex):
    assert alex.get("/admin/sla").status_code == 403
    assert alex.post("/admin/sla", data={"priority": "P3"}).status_code == 403


def test_admins_see_every_priority_with_its_targets(admin):
    response = admin.get("/admin/sla")

    assert response.status_code == 200
    page = page_of(response)
    for priority in ("P1", "P2", "P3", "P4", "P5"):
        assert f"Save {priority}" in page
    assert 'value="15"' in page  # P1's first response, in minutes


def test_admins_change_a_priority_s_targets(admin, db_session):
    response = admin.post(
        "/admin/sla",
        data={
            "priority": "P3",
            "response_minutes": "120",
            "resolution_minutes": "960",
            "business_hours": "on",
        },
    )

    assert response.status_code == 302
    db_session.rollback()
    policy = db_session.scalar(select(SlaPolicy).where(SlaPolicy.priority == "P3"))
    assert (policy.response_minutes, policy.resolution_minutes, policy.business_hours) == (
        120,
        960,
        True,
    )
    assert "SLA for P3 saved." in page_of(admin.get("/admin/sla"))


def test_the_new_targets_apply_to_tickets_submitted_afterwards(admin, rita, db_session, requester):
    admin.post(
        "/admin/sla",
        data={"priority": "P2", "response_minutes": "30", "resolution_minutes": "240"},
    )

    rita.post("/tickets/new", data=FORM)  # medium x high = P2

    ticket = get_ticket(db_session, requester, "INC-000001")
    assert (ticket.response_target_minutes, ticket.resolution_target_minutes) == (30, 240)
    assert ticket.sla_business_hours is False


def test_inconsistent_targets_are_refused_with_the_message(admin):
    response = admin.post(
        "/admin/sla",
        data={"priority": "P3", "response_minutes": "600", "resolution_minutes": "60"},
    )

    assert response.status_code == 422
    assert "Invalid SLA targets." in page_of(response)
    page = page_of(admin.get("/admin/sla"))
    assert 'value="600"' not in page
    assert 'value="240"' in page  # P3's first response stays at its default 4 hours
