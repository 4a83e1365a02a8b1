"""The ticket pages as people use them with a browser session: reporting an incident, the ticket
lists of each role, reading the SLA, acting on a ticket, rating the support, and the admins' SLA
targets.

Every form answers with a redirect (Post/Redirect/Get): accepted, to the page with a
confirmation; refused, back to its page, which shows what was typed and why.
"""

from __future__ import annotations

import html
import io
import re
from datetime import datetime
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.catalogue import service as catalogue
from app.catalogue.models import SlaPolicy
from app.core.outbox import OutboxMessage
from app.incidents.conversation import add_comment
from app.incidents.models import Attachment, Ticket
from app.incidents.service import get_ticket
from app.incidents.transitions import perform
from tests.factories import PASSWORD, RESOLUTION, tiny_png

PARIS = ZoneInfo("Europe/Paris")
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


def text_of(response) -> str:
    """What a person reads: the page without its tags, spaces collapsed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def path_of(response) -> str:
    return urlsplit(response.headers["Location"]).path


def draft_of(response) -> str:
    return parse_qs(urlsplit(response.headers["Location"]).query)["draft"][0]


def refused(browser, response, page: str):
    """A refused form answers 303 to its page with a draft; returns that page as shown."""
    assert response.status_code == 303, response.status_code
    assert path_of(response) == page
    assert draft_of(response)
    shown = browser.get(response.headers["Location"])
    assert shown.status_code == 200
    return shown


def fresh_ticket(db_session, ref: str) -> Ticket:
    db_session.rollback()  # end the test's transaction: read what the requests committed
    return db_session.scalar(select(Ticket).where(Ticket.id == int(ref.split("-")[1])))


def badge_of(response) -> str:
    match = re.search(r'data-testid="sla-badge"[^>]*>([^<]*)<', page_of(response))
    assert match, "no SLA badge"
    return match.group(1).strip()


def shown_in(response, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</d[dt]>', page_of(response), re.S)
    assert match, f"no {testid}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


# --- reporting an incident -------------------------------------------------------------------


def test_the_new_ticket_form_renders_with_the_modules_and_its_limits(rita):
    response = rita.get("/tickets/new")

    assert response.status_code == 200
    page = page_of(response)
    assert "Report an incident" in page
    assert 'name="title"' in page
    assert "Finance (FIN)" in page
    assert 'maxlength="20000"' in page
    assert "Up to 20,000 characters." in page
    assert "At most 10 MiB" in page


def test_posting_the_form_creates_the_ticket_and_redirects_to_its_page(rita, db_session):
    response = rita.post("/tickets/new", data=FORM)

    assert response.status_code == 303
    assert path_of(response) == "/tickets/INC-000001"
    ticket = fresh_ticket(db_session, "INC-000001")
    assert (ticket.title, ticket.priority, ticket.status) == (FORM["title"], "P2", "new")
    page = page_of(rita.get("/tickets/INC-000001"))
    assert "Ticket INC-000001 created" in page
    assert FORM["title"] in page


def test_posting_the_form_with_a_screenshot_attaches_it(rita, db_session):
    data = {**FORM, "file": (io.BytesIO(tiny_png()), "screen.png", "image/png")}

    response = rita.post("/tickets/new", data=data, content_type="multipart/form-data")

    assert response.status_code == 303
    assert "screen.png" in page_of(rita.get(path_of(response)))


def test_an_empty_form_names_every_missing_field_at_once_in_plain_words(rita, db_session):
    response = rita.post(
        "/tickets/new", data={**FORM, "title": "", "module": "", "description": ""}
    )

    page = page_of(refused(rita, response, "/tickets/new"))
    assert "The ticket is incomplete." in page
    assert "Say in a few words what is broken." in page
    assert "Describe what happened and what you expected." in page
    assert "Choose the ERP module." in page
    assert "No module" not in page
    db_session.rollback()
    assert db_session.scalar(select(Ticket.id)) is None


def test_a_refused_form_keeps_what_was_typed(rita, db_session):
    response = rita.post("/tickets/new", data={**FORM, "title": ""})

    page = page_of(refused(rita, response, "/tickets/new"))
    assert "Say in a few words what is broken." in page
    assert f">{FORM['description']}</textarea>" in page
    assert '<option value="FIN" selected>' in page
    assert '<option value="high" selected>high — work is blocked now' in page


def test_a_description_over_the_limit_is_refused_by_the_page_as_by_the_api(
    rita, as_, requester, db_session
):
    too_long = "x" * 30_000

    response = rita.post("/tickets/new", data={**FORM, "description": too_long})
    api = as_(requester).post("/api/v1/tickets", json={**FORM, "description": too_long})

    page = page_of(refused(rita, response, "/tickets/new"))
    assert "At most 20,000 characters (this one has 30,000)." in page
    assert f">{too_long}</textarea>" in page  # kept, to be shortened rather than retyped
    assert api.status_code == 422
    assert "description" in api.get_json()["errors"]
    db_session.rollback()
    assert db_session.scalar(select(Ticket.id)) is None


def test_a_refused_screenshot_keeps_the_form_and_creates_no_ticket(rita, db_session):
    data = {**FORM, "file": (io.BytesIO(b"MZ\x90\x00" * 50), "screen.png", "image/png")}

    response = rita.post("/tickets/new", data=data, content_type="multipart/form-data")

    page = page_of(refused(rita, response, "/tickets/new"))
    assert "The file's content does not match its type." in page
    assert f">{FORM['description']}</textarea>" in page
    db_session.rollback()
    assert db_session.scalar(select(Ticket.id)) is None


def test_back_after_sending_shows_an_empty_form_not_the_sent_one(rita, db_session):
    first = rita.post("/tickets/new", data={**FORM, "title": ""})
    typed_again = rita.post("/tickets/new", data=FORM)
    assert typed_again.status_code == 303

    back = rita.get(first.headers["Location"])  # Back lands on the refused form's address

    page = page_of(back)
    assert FORM["description"] not in page
    assert 'value=""' in page
    assert back.headers["Cache-Control"] == "no-store"


def test_someone_elses_draft_is_not_shown(rita, signed_in, make_user, db_session):
    refusal = rita.post("/tickets/new", data={**FORM, "title": ""})
    other = signed_in(make_user("requester", password=PASSWORD))

    page = page_of(other.get(refusal.headers["Location"]))

    assert FORM["description"] not in page


# --- the ticket lists of each role ------------------------------------------------------------


def test_my_tickets_lists_the_requesters_own_tickets_only(rita, requester, make_ticket, make_user):
    mine = make_ticket(reporter=requester, title="My printer mapping is wrong")
    make_ticket(reporter=make_user("requester"), title="Someone else's trouble")

    page = page_of(rita.get("/tickets"))

    assert mine.ref in page
    assert "Someone else's trouble" not in page


def test_the_product_owner_lists_the_tickets_of_their_module(
    signed_in, make_user, make_ticket, make_module
):
    make_module("SAL", name="Sales")
    owner = make_user("product_owner", module="FIN", password=PASSWORD)
    ours = make_ticket(module="FIN", title="Dunning letters missing")
    make_ticket(module="SAL", title="Quote printout broken")

    response = signed_in(owner).get("/tickets/module")

    assert response.status_code == 200
    page = page_of(response)
    assert ours.ref in page
    assert "Quote printout broken" not in page


def test_the_auditor_lists_every_ticket_without_a_way_to_report_one(
    signed_in, make_user, make_ticket
):
    auditor = make_user("auditor", password=PASSWORD)
    ticket = make_ticket(title="Payment run crashes")

    response = signed_in(auditor).get("/tickets/all")

    assert response.status_code == 200
    page = page_of(response)
    assert ticket.ref in page
    assert "Report an incident" not in page


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


def test_ticket_states_read_as_words_in_lists(alex, agent, make_ticket, requester, db_session):
    ticket = make_ticket(reporter=requester)
    perform(db_session, agent, ticket, "start")
    perform(db_session, agent, ticket, "wait")
    db_session.commit()

    page = text_of(alex.get("/queues?view=waiting"))

    assert "waiting on requester" in page
    assert "waiting_on_requester" not in page


# --- the SLA as people read it ---------------------------------------------------------------

OFFICE_HOURS = {str(day): [["09:00", "17:00"]] for day in range(5)}
MONDAY_9 = datetime(2026, 5, 18, 9, 0, tzinfo=PARIS)


@pytest.fixture
def office(db_session, make_calendar, make_module):
    """Finance works 09:00-17:00 Monday to Friday in Paris."""
    make_calendar("PARIS", "Europe/Paris", hours=OFFICE_HOURS)
    return make_module("FIN", name="Finance", calendar="PARIS")


@pytest.fixture
def parisian(db_session, make_user, office):
    user = make_user("requester", email="pia@example.com", name="Pia", password=PASSWORD)
    user.timezone = "Europe/Paris"
    db_session.commit()
    return user


def test_time_left_is_business_hours_and_minutes_beside_the_due_date_in_the_viewers_zone(
    frozen_clock, signed_in, parisian, make_ticket
):
    frozen_clock(MONDAY_9)
    ticket = make_ticket(reporter=parisian, impact="medium", urgency="low")  # P4: 5 days of 8 h

    page = signed_in(parisian).get(f"/tickets/{ticket.ref}")

    assert badge_of(page) == "40 h 00 min left"
    resolution = shown_in(page, "resolution-sla")
    assert "due May 22, 2026, 17:00 CEST" in resolution
    assert "40 h 00 min of business time left" in resolution
    assert "due May 18, 2026, 17:00 CEST" in shown_in(page, "response-sla")
    assert "May 18, 2026, 09:00 CEST" in text_of(page)  # when it was reported
    assert "1d " not in page_of(page)


def test_a_viewer_elsewhere_reads_the_deadline_in_their_own_zone(
    frozen_clock, signed_in, make_user, make_ticket, office, db_session
):
    frozen_clock(MONDAY_9)
    ticket = make_ticket(impact="medium", urgency="low")
    new_yorker = make_user("agent", password=PASSWORD)
    new_yorker.timezone = "America/New_York"
    db_session.commit()

    page = signed_in(new_yorker).get(f"/tickets/{ticket.ref}")

    assert "due May 22, 2026, 11:00 EDT" in shown_in(page, "resolution-sla")


def test_a_missed_first_response_says_which_clock_is_breached(
    frozen_clock, signed_in, parisian, make_ticket
):
    frozen_clock(MONDAY_9)
    ticket = make_ticket(reporter=parisian, impact="high", urgency="medium")  # P2: 1 h / 8 h
    frozen_clock(datetime(2026, 5, 18, 10, 30, tzinfo=PARIS))

    page = signed_in(parisian).get(f"/tickets/{ticket.ref}")

    assert badge_of(page) == "First response breached"
    assert "breached" in shown_in(page, "response-sla")


def test_a_missed_resolution_says_so_and_how_late(
    frozen_clock, signed_in, parisian, agent, make_ticket, db_session
):
    frozen_clock(MONDAY_9)
    ticket = make_ticket(reporter=parisian, impact="high", urgency="medium")  # P2: 1 h / 8 h
    perform(db_session, agent, ticket, "start")
    db_session.commit()
    frozen_clock(datetime(2026, 5, 19, 10, 15, tzinfo=PARIS))  # 17:00 + 1 h 15 of office time

    page = signed_in(parisian).get(f"/tickets/{ticket.ref}")

    assert badge_of(page) == "Resolution breached · 1 h 15 min late"


# --- acting on a ticket ----------------------------------------------------------------------


def test_an_allowed_action_is_done_and_confirmed_in_a_sentence(
    alex, make_ticket, requester, db_session
):
    ticket = make_ticket(reporter=requester)

    response = alex.post(f"/tickets/{ticket.ref}/act", data={"action": "triage"})

    assert response.status_code == 303
    assert fresh_ticket(db_session, ticket.ref).status == "triaged"
    page = page_of(alex.get(path_of(response)))
    assert "Ticket triaged." in page
    assert "triage done" not in page


def test_a_forbidden_action_comes_back_with_what_is_possible_in_words(
    alex, make_ticket, requester, db_session
):
    ticket = make_ticket(reporter=requester)

    response = alex.post(f"/tickets/{ticket.ref}/act", data={"action": "reopen"})

    page = page_of(refused(alex, response, f"/tickets/{ticket.ref}"))
    assert "Cannot reopen a ticket that is new." in page
    assert "Possible now: cancel, close as a duplicate, resolve, start work, triage." in text_of(
        alex.get(response.headers["Location"])
    )
    assert fresh_ticket(db_session, ticket.ref).status == "new"


def test_a_resolution_without_a_note_comes_back_with_the_field_error_and_the_choice(
    alex, make_ticket, requester, db_session
):
    ticket = make_ticket(reporter=requester)

    response = alex.post(
        f"/tickets/{ticket.ref}/act",
        data={"form": "resolve", "action": "resolve", "resolution_code": "workaround"},
    )

    page = page_of(refused(alex, response, f"/tickets/{ticket.ref}"))
    assert "Tell the requester what was done." in page
    assert '<option value="workaround" selected>' in page
    assert fresh_ticket(db_session, ticket.ref).status == "new"


def test_the_resolve_form_preselects_no_resolution(alex, make_ticket, requester):
    ticket = make_ticket(reporter=requester)

    page = page_of(alex.get(f"/tickets/{ticket.ref}"))

    form = re.search(r'data-testid="resolve-form".*?</form>', page, re.S).group(0)
    assert "selected" not in form
    assert '<option value="">— choose —</option>' in form


def test_cancelling_asks_for_a_reason_behind_a_confirmation(rita, requester, make_ticket):
    ticket = make_ticket(reporter=requester)

    page = page_of(rita.get(f"/tickets/{ticket.ref}"))

    confirmation = re.search(
        r'<details class="danger" data-testid="cancel".*?</details>', page, re.S
    )
    assert confirmation, "cancelling is behind a confirmation"
    assert "Why is it no longer needed?" in confirmation.group(0)
    assert "Yes, cancel the ticket" in confirmation.group(0)
    assert page.count('name="action" value="cancel"') == 1  # no one-click cancel elsewhere


def test_a_cancel_without_a_reason_cancels_nothing(rita, requester, make_ticket, db_session):
    ticket = make_ticket(reporter=requester)

    response = rita.post(
        f"/tickets/{ticket.ref}/act", data={"form": "cancel", "action": "cancel", "reason": ""}
    )

    page = page_of(refused(rita, response, f"/tickets/{ticket.ref}"))
    assert "Say why the ticket is no longer needed." in page
    assert '<details class="danger" data-testid="cancel" open>' in page
    assert fresh_ticket(db_session, ticket.ref).status == "new"


def test_a_cancel_with_its_reason_cancels_and_shows_why(rita, requester, make_ticket, db_session):
    ticket = make_ticket(reporter=requester)

    response = rita.post(
        f"/tickets/{ticket.ref}/act",
        data={"form": "cancel", "action": "cancel", "reason": "Found the answer in the wiki."},
    )

    assert response.status_code == 303
    assert fresh_ticket(db_session, ticket.ref).status == "cancelled"
    page = page_of(rita.get(path_of(response)))
    assert "Ticket cancelled." in page
    assert "Found the answer in the wiki." in page


def test_a_group_reads_by_its_name_everywhere(alex, make_ticket, requester, db_session):
    catalogue.create_group(db_session, None, code="FIN_SUP", name="Finance support")
    db_session.commit()
    ticket = make_ticket(reporter=requester)
    alex.post(
        f"/tickets/{ticket.ref}/update",
        data={"version": str(ticket.version), "group": "FIN_SUP"},
    )

    page = text_of(alex.get(f"/tickets/{ticket.ref}"))

    assert "Group Finance support" in page
    assert "Group: Finance support" in page  # the history's change
    assert "FIN_SUP" not in page


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


def test_an_empty_comment_comes_back_to_its_form(alex, make_ticket, requester, db_session):
    ticket = make_ticket(reporter=requester)

    response = alex.post(f"/tickets/{ticket.ref}/comments", data={"form": "comment", "body": "   "})

    page = page_of(refused(alex, response, f"/tickets/{ticket.ref}"))
    assert "The comment is empty." in page
    assert "Write something." in page


# --- the routing form detects stale writes as the API does -----------------------------------


def test_the_routing_form_needs_its_version(alex, make_ticket, requester, db_session):
    ticket = make_ticket(reporter=requester)

    response = alex.post(f"/tickets/{ticket.ref}/update", data={"impact": "high"})

    page = page_of(refused(alex, response, f"/tickets/{ticket.ref}"))
    assert "your change was not saved" in page
    assert fresh_ticket(db_session, ticket.ref).impact == "medium"


def test_a_stale_routing_form_changes_nothing(alex, agent, make_ticket, requester, db_session):
    ticket = make_ticket(reporter=requester)
    seen = ticket.version
    perform(db_session, agent, ticket, "triage")  # someone else saves meanwhile
    db_session.commit()

    response = alex.post(
        f"/tickets/{ticket.ref}/update", data={"version": str(seen), "impact": "high"}
    )

    page = page_of(refused(alex, response, f"/tickets/{ticket.ref}"))
    assert "Someone changed this ticket while you were editing it" in page
    assert fresh_ticket(db_session, ticket.ref).impact == "medium"


def test_a_current_routing_form_is_saved(alex, make_ticket, requester, db_session):
    ticket = make_ticket(reporter=requester)

    response = alex.post(
        f"/tickets/{ticket.ref}/update", data={"version": str(ticket.version), "impact": "high"}
    )

    assert response.status_code == 303
    assert fresh_ticket(db_session, ticket.ref).impact == "high"


# --- who hears that the requester answered ---------------------------------------------------


@pytest.fixture
def waiting(db_session, make_ticket, requester, agent):
    ticket = make_ticket(reporter=requester)
    perform(db_session, agent, ticket, "start")
    perform(db_session, agent, ticket, "wait")
    db_session.commit()
    return ticket


def answered_notices(db_session, ticket) -> list[str]:
    db_session.rollback()
    rows = db_session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    return [
        row.kwargs["audience"]
        for row in rows
        if row.kwargs.get("ticket_id") == ticket.id and row.kwargs.get("event") == "resume"
    ]


def test_the_team_resuming_a_ticket_does_not_say_the_requester_answered(alex, waiting, db_session):
    response = alex.post(f"/tickets/{waiting.ref}/act", data={"action": "resume"})

    assert response.status_code == 303
    assert fresh_ticket(db_session, waiting.ref).status == "in_progress"
    assert answered_notices(db_session, waiting) == []


def test_the_requesters_answer_tells_the_assignee(rita, waiting, db_session):
    response = rita.post(
        f"/tickets/{waiting.ref}/comments", data={"body": "The invoice number is 4711."}
    )

    assert response.status_code == 303
    assert fresh_ticket(db_session, waiting.ref).status == "in_progress"
    assert answered_notices(db_session, waiting) == ["team"]


def test_the_requester_answers_rather_than_resumes(rita, waiting):
    page = page_of(rita.get(f"/tickets/{waiting.ref}"))

    assert 'data-action="resume"' not in page
    assert "Your answer sends the ticket back to the support team." in page


# --- attachments -----------------------------------------------------------------------------


def test_the_attach_form_tells_the_size_limit(rita, requester, make_ticket):
    ticket = make_ticket(reporter=requester)

    page = page_of(rita.get(f"/tickets/{ticket.ref}"))

    assert "At most 10 MiB: PDF, images, text, CSV, Office documents or ZIP." in page
    assert '<label for="attachment">File to attach</label>' in page


class TestSmallUploadLimit:
    LIMIT = 1024

    @pytest.fixture
    def app_config(self):
        # a request may be a little larger than a file (the form around it), as in production
        return {"ATTACHMENT_MAX_BYTES": self.LIMIT, "MAX_CONTENT_LENGTH": 4 * self.LIMIT}

    def test_a_file_over_the_limit_comes_back_to_the_ticket_with_the_limit(
        self, rita, requester, make_ticket, db_session
    ):
        ticket = make_ticket(reporter=requester)
        big = b"a" * (2 * self.LIMIT)

        response = rita.post(
            f"/tickets/{ticket.ref}/attachments",
            data={"form": "upload", "file": (io.BytesIO(big), "notes.txt", "text/plain")},
            content_type="multipart/form-data",
        )

        page = page_of(refused(rita, response, f"/tickets/{ticket.ref}"))
        assert "The file is too large." in page
        assert "At most 1 KiB." in page
        db_session.rollback()
        assert db_session.scalar(select(Attachment.id)) is None

    def test_a_request_over_the_server_limit_comes_back_to_the_ticket_not_a_413(
        self, rita, requester, make_ticket, db_session
    ):
        ticket = make_ticket(reporter=requester)
        huge = b"a" * (10 * self.LIMIT)

        response = rita.post(
            f"/tickets/{ticket.ref}/attachments",
            data={"form": "upload", "file": (io.BytesIO(huge), "dump.txt", "text/plain")},
            content_type="multipart/form-data",
        )

        page = page_of(refused(rita, response, f"/tickets/{ticket.ref}"))
        assert "The file was not sent: a file may be at most 1 KiB." in page
        assert "The file is larger than 1 KiB." in page

    def test_an_oversized_screenshot_keeps_the_typed_ticket(self, rita, db_session):
        data = {**FORM, "form": "new", "file": (io.BytesIO(b"a" * 8000), "s.txt", "text/plain")}

        response = rita.post("/tickets/new", data=data, content_type="multipart/form-data")

        page = page_of(refused(rita, response, "/tickets/new"))
        assert "The file is larger than 1 KiB." in page
        assert f">{FORM['description']}</textarea>" in page
        assert f'value="{FORM["title"]}"' in page
        db_session.rollback()
        assert db_session.scalar(select(Ticket.id)) is None

    def test_a_form_too_large_without_a_file_says_so_without_blaming_a_file(self, rita):
        data = {**FORM, "form": "new", "description": "x" * 8000}

        response = rita.post("/tickets/new", data=data, content_type="multipart/form-data")

        page = page_of(refused(rita, response, "/tickets/new"))
        assert "This form was too large to be sent: shorten the longest text." in page
        assert "The file" not in page


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

    assert response.status_code == 303
    satisfaction = fresh_ticket(db_session, resolved).satisfaction
    assert (satisfaction.rating, satisfaction.comment) == (4, "Quick and clear.")
    page = page_of(rita.get(f"/tickets/{resolved}"))
    assert "★★★★☆ Quick and clear." in page
    assert 'data-testid="rating-form"' not in page


@pytest.mark.parametrize("stars", ["", "²", "6", "4.5"])
def test_a_rating_without_valid_stars_comes_back_with_the_comment(
    rita, resolved, db_session, stars
):
    response = rita.post(
        f"/tickets/{resolved}/rating", data={"form": "rating", "rating": stars, "comment": "Meh"}
    )

    page = page_of(refused(rita, response, f"/tickets/{resolved}"))
    assert "From 1 to 5 stars." in page
    assert 'value="Meh"' in page
    assert fresh_ticket(db_session, resolved).satisfaction is None


def test_the_agent_gets_no_rating_form(alex, resolved):
    assert 'data-testid="rating-form"' not in page_of(alex.get(f"/tickets/{resolved}"))


# --- SLA policies ----------------------------------------------------------------------------


@pytest.fixture
def ada(make_user):
    return make_user("admin", email="ada@example.com", password=PASSWORD)


@pytest.fixture
def admin(signed_in, ada):
    return signed_in(ada)


def sla_post(admin, priority: str, response=(4, 0), resolution=(24, 0), **extra):
    data = {
        "form": f"sla-{priority}",
        "priority": priority,
        "response_hours": str(response[0]),
        "response_minutes": str(response[1]),
        "resolution_hours": str(resolution[0]),
        "resolution_minutes": str(resolution[1]),
        "business_hours": "on",
        **extra,
    }
    data.setdefault("version", str(policy(admin, priority).version))
    return admin.post("/admin/sla", data={k: v for k, v in data.items() if v is not None})


def policy(_browser, priority: str) -> SlaPolicy:
    from app.core.db import db

    db.session.rollback()
    return db.session.scalar(select(SlaPolicy).where(SlaPolicy.priority == priority))


@pytest.fixture
def stored_policies(db_session):
    catalogue.sla_policies(db_session)
    db_session.commit()


def test_agents_may_not_open_the_sla_policies(alex):
    assert alex.get("/admin/sla").status_code == 403
    assert alex.post("/admin/sla", data={"priority": "P3"}).status_code == 403


def test_admins_see_every_target_in_hours_and_minutes_each_input_labelled(admin):
    response = admin.get("/admin/sla")

    assert response.status_code == 200
    page = page_of(response)
    for priority in ("P1", "P2", "P3", "P4", "P5"):
        assert f"Save {priority}" in page
    # P1's first response is 15 minutes; P3's resolution three business days of 8 hours
    assert re.search(r'id="P1-response-hours" name="response_hours" value="0"', page)
    assert re.search(r'id="P1-response-minutes" name="response_minutes" value="15"', page)
    assert re.search(r'id="P3-resolution-hours" name="resolution_hours" value="24"', page)
    inputs = re.findall(r'<input [^>]*\bid="([^"]+)"', page)
    assert len(inputs) == 25  # 5 priorities x (4 durations + 1 checkbox)
    for input_id in inputs:
        assert f'<label for="{input_id}">' in page


def test_admins_change_a_priority_s_targets_in_hours_and_minutes(admin, stored_policies):
    response = sla_post(admin, "P3", response=(2, 30), resolution=(16, 0))

    assert response.status_code == 303
    saved = policy(admin, "P3")
    assert (saved.response_minutes, saved.resolution_minutes, saved.business_hours) == (
        150,
        960,
        True,
    )
    assert "The targets of P3 are saved." in page_of(admin.get("/admin/sla"))


def test_the_new_targets_apply_to_tickets_submitted_afterwards(
    admin, rita, db_session, requester, stored_policies
):
    sla_post(admin, "P2", response=(0, 30), resolution=(4, 0), business_hours=None)

    rita.post("/tickets/new", data=FORM)  # medium x high = P2

    ticket = get_ticket(db_session, requester, "INC-000001")
    assert (ticket.response_target_minutes, ticket.resolution_target_minutes) == (30, 240)
    assert ticket.sla_business_hours is False


def test_inconsistent_targets_name_the_field_and_keep_what_was_typed(admin, stored_policies):
    response = sla_post(admin, "P3", response=(10, 0), resolution=(1, 0))

    page = page_of(refused(admin, response, "/admin/sla"))
    assert "The targets of P3 were not changed." in page
    assert (
        "<strong>First response</strong>: The first response cannot be due after the resolution."
        in page
    )
    assert 'id="P3-response-hours" name="response_hours" value="10"' in page
    assert policy(admin, "P3").response_minutes == 240


@pytest.mark.parametrize("hours", ["9000", "99999999999"])
def test_a_target_beyond_a_year_is_refused_as_the_api_refuses_it(
    admin, api_client, ada, stored_policies, hours
):
    response = sla_post(admin, "P4", response=(8, 0), resolution=(hours, 0))
    etag = api_client(ada).get("/api/v1/sla-policies/P4").headers["ETag"]
    api = api_client(ada).patch(
        "/api/v1/sla-policies/P4",
        json={"resolution_minutes": 9000 * 60},
        headers={"If-Match": etag},
    )

    page = page_of(refused(admin, response, "/admin/sla"))
    assert "The targets of P4 were not changed." in page
    assert api.status_code == 422
    assert policy(admin, "P4").resolution_minutes == 5 * 8 * 60


def test_a_target_typed_as_a_year_of_hours_names_the_limit(admin, stored_policies):
    response = sla_post(admin, "P4", response=(8, 0), resolution=(9000, 0))

    page = page_of(refused(admin, response, "/admin/sla"))
    assert "A target is at most 8,760 hours (a year)." in page


@pytest.mark.parametrize(("field", "value"), [("response_hours", "²"), ("response_minutes", "75")])
def test_unreadable_hours_or_minutes_are_named(admin, stored_policies, field, value):
    response = sla_post(admin, "P3", **{field: value})

    page = page_of(refused(admin, response, "/admin/sla"))
    assert "<strong>First response</strong>: Type the" in page
    assert 'aria-invalid="true"' in page
    assert policy(admin, "P3").response_minutes == 240


def test_a_stale_sla_form_keeps_the_other_change_and_says_so(admin, stored_policies):
    seen = policy(admin, "P3").version
    sla_post(admin, "P3", response=(3, 0), resolution=(24, 0))  # someone else, first

    response = sla_post(admin, "P3", response=(1, 0), resolution=(24, 0), version=str(seen))

    page = page_of(refused(admin, response, "/admin/sla"))
    assert "Someone changed the targets of P3 while you were editing them" in page
    assert policy(admin, "P3").response_minutes == 180
    assert 'id="P3-response-hours" name="response_hours" value="3"' in page


def test_a_sla_form_without_its_version_is_refused(admin, stored_policies):
    response = sla_post(admin, "P3", response=(1, 0), version="")

    refused(admin, response, "/admin/sla")
    assert policy(admin, "P3").response_minutes == 240


def test_a_form_refused_by_the_permission_policy_says_so_in_plain_words(
    alex, make_ticket, requester
):
    ticket = make_ticket(reporter=requester)

    response = alex.post(f"/tickets/{ticket.ref}/prequalification", data={"priority": "P2"})

    page = page_of(refused(alex, response, f"/tickets/{ticket.ref}"))
    assert "Your role does not allow this change." in page
    assert "permission" not in page


# --- every form answers with a redirect ------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("act", {"action": "fly"}),
        ("update", {"version": "1", "module": "NOPE"}),
        ("comments", {"body": ""}),
        ("links", {"enhancement": "nope"}),
        ("attachments", {}),
        ("prequalification", {"priority": "P9"}),
    ],
)
def test_every_ticket_form_answers_a_refusal_with_a_redirect_to_the_ticket(
    alex, make_ticket, requester, path, data
):
    ticket = make_ticket(reporter=requester)

    response = alex.post(f"/tickets/{ticket.ref}/{path}", data=data)

    refused(alex, response, f"/tickets/{ticket.ref}")
