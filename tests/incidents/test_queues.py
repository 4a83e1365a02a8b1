"""The support team's queues: GET /api/v1/tickets with named views, filters, the default order by
SLA deadline, and cursor pagination that visits every ticket exactly once."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from app.catalogue import service as catalogue
from app.incidents.service import assign, create_ticket
from app.incidents.transitions import perform
from tests.factories import PASSWORD, comment

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday morning; the modules run 24x7
RESOLUTION = {"resolution_code": "fixed", "resolution_note": "Patched."}
LEVELS = [(i, u) for i in ("high", "medium", "low") for u in ("high", "medium", "low")]


@dataclass
class Board:
    """Five tickets in different situations, and who is who."""

    payment: str  # FIN P1, new, unassigned: its 15-minute response clock runs
    quotation: str  # SAL P3, in progress with Alex
    report: str  # FIN P5, waiting on the requester, with Bea
    search: str  # FIN P4, triaged into group L2, unassigned
    pricing: str  # SAL P2, resolved by Alex
    alex: object
    bea: object
    rita: object


@pytest.fixture
def board(db_session, frozen_clock, make_module, make_user) -> Board:
    frozen_clock(T0)
    make_module("FIN")
    make_module("SAL")
    rita = make_user("requester", email="rita@example.com")
    alex = make_user("agent", email="alex@example.com", password=PASSWORD)
    bea = make_user("agent", email="bea@example.com")
    group = catalogue.create_group(db_session, None, code="L2", name="Finance second level")
    catalogue.set_group_members(db_session, None, group, [bea])

    def report(title, description, module, impact, urgency):
        return create_ticket(
            db_session,
            rita,
            title=title,
            description=description,
            module=module,
            impact=impact,
            urgency=urgency,
        )

    payment = report("Payment run crashes", "Dump in F110 at step 3.", "FIN", "high", "high")
    quotation = report("Quotation PDF empty", "Blank page for Q-991.", "SAL", "medium", "medium")
    report_ = report("Typo in report header", "Says 'Totl'.", "FIN", "low", "low")
    search = report("Slow search", "Invoice search takes 2 min: 100% CPU.", "FIN", "low", "medium")
    pricing = report("Price list not applied", "Customer 42 gets list 1.", "SAL", "high", "medium")
    perform(db_session, alex, quotation, "start")
    perform(db_session, bea, report_, "start")
    perform(db_session, bea, report_, "wait")
    perform(db_session, alex, search, "triage", group="L2")
    perform(db_session, alex, pricing, "start")
    perform(db_session, alex, pricing, "resolve", **RESOLUTION)
    db_session.commit()
    refs = (payment.ref, quotation.ref, report_.ref, search.ref, pricing.ref)
    return Board(*refs, alex=alex, bea=bea, rita=rita)


@pytest.fixture
def alex(board, as_):
    return as_(board.alex)


def listed(client, **query) -> list[str]:
    response = client.get("/api/v1/tickets", query_string=query)
    assert response.status_code == 200, response.get_json()
    return [item["ref"] for item in response.get_json()["items"]]


# --- filters ---------------------------------------------------------------------------------


def test_status_filters_on_one_status(board, alex):
    assert listed(alex, status="new") == [board.payment]


def test_status_filters_on_several_statuses(board, alex):
    assert set(listed(alex, status="new,triaged")) == {board.payment, board.search}


def test_an_unknown_status_is_refused(board, alex):
    response = alex.get("/api/v1/tickets", query_string={"status": "lost"})

    assert response.status_code == 422
    assert "status" in response.get_json()["errors"]


def test_priority_filters_on_one_or_several_priorities(board, alex):
    assert listed(alex, priority="P1") == [board.payment]
    assert set(listed(alex, priority="P1,P5")) == {board.payment, board.report}


def test_module_filters_on_the_module_code(board, alex):
    assert set(listed(alex, module="SAL")) == {board.quotation, board.pricing}


def test_an_unknown_module_filters_everything_out(board, alex):
    assert listed(alex, module="XYZ") == []


def test_assignee_me_lists_what_is_assigned_to_the_caller(board, alex):
    assert set(listed(alex, assignee="me")) == {board.quotation, board.pricing}


def test_assignee_none_lists_the_unassigned(board, alex):
    assert set(listed(alex, assignee="none")) == {board.payment, board.search}


def test_assignee_by_email_lists_that_agents_tickets(board, alex):
    assert listed(alex, assignee="bea@example.com") == [board.report]


def test_the_text_search_looks_in_titles_and_descriptions_ignoring_case(board, alex):
    assert listed(alex, q="PAYMENT RUN") == [board.payment]
    assert listed(alex, q="blank page") == [board.quotation]


def test_the_text_search_takes_percent_and_underscore_literally(board, alex):
    assert listed(alex, q="100%") == [board.search]
    assert listed(alex, q="_") == []


def test_breached_lists_the_tickets_past_a_deadline(board, alex, frozen_clock):
    frozen_clock(T0 + timedelta(hours=1))  # the P1 response was due after 15 minutes

    assert listed(alex, breached="true") == [board.payment]


def test_not_breached_lists_every_other_ticket_even_those_without_a_clock(
    board, alex, frozen_clock
):
    frozen_clock(T0 + timedelta(hours=1))

    assert set(listed(alex, breached="false")) == {
        board.quotation,
        board.report,  # waiting: no deadline runs, so it cannot be past one
        board.search,
        board.pricing,
    }


def test_nothing_is_breached_before_a_deadline_passes(board, alex):
    assert listed(alex, breached="true") == []


def test_filters_combine(board, alex):
    assert listed(alex, module="FIN", assignee="none", status="triaged") == [board.search]


def test_filters_never_widen_what_a_requester_sees(board, as_, make_user):
    other = as_(make_user("requester", email="olga@example.com"))

    assert listed(other) == []
    assert listed(other, module="FIN", view="all") == []


# --- named views -----------------------------------------------------------------------------


def test_the_unassigned_view_holds_open_tickets_nobody_has(board, alex):
    assert set(listed(alex, view="unassigned")) == {board.payment, board.search}


def test_the_mine_view_holds_the_callers_open_tickets(board, alex):
    assert listed(alex, view="mine") == [board.quotation]  # the resolved one is done


def test_the_my_group_view_holds_the_open_tickets_of_the_callers_groups(board, as_):
    assert listed(as_(board.bea), view="my_group") == [board.search]
    assert listed(as_(board.alex), view="my_group") == []


def test_the_waiting_view_holds_the_tickets_waiting_on_their_requester(board, alex):
    assert listed(alex, view="waiting") == [board.report]


def test_the_breached_view_holds_the_open_tickets_past_a_deadline(board, alex, frozen_clock):
    frozen_clock(T0 + timedelta(hours=1))

    assert listed(alex, view="breached") == [board.payment]


def test_an_unknown_view_is_refused(board, alex):
    response = alex.get("/api/v1/tickets", query_string={"view": "everything_now"})

    assert response.status_code == 422
    assert "view" in response.get_json()["errors"]


# --- order -----------------------------------------------------------------------------------


def test_the_default_order_is_the_next_sla_deadline_then_tickets_without_a_clock(board, alex):
    # payment: response due at +15 min; search (P4, no response yet): response due at +8 h;
    # quotation (P3, answered): resolution due at +24 h; the waiting and the resolved ticket
    # have no running clock and come last, oldest first.
    assert listed(alex) == [
        board.payment,
        board.search,
        board.quotation,
        board.report,
        board.pricing,
    ]


def test_the_order_follows_a_deadline_that_moves(board, alex, db_session):
    from app.incidents.service import get_ticket

    ticket = get_ticket(db_session, board.alex, board.search)
    perform(db_session, board.alex, ticket, "start")  # answered: resolution due at +5 x 24 h
    db_session.commit()

    assert listed(alex)[:3] == [board.payment, board.quotation, board.search]


# --- pagination ------------------------------------------------------------------------------


@pytest.fixture
def sixty(db_session, frozen_clock, make_module, make_user, make_ticket) -> list[str]:
    """Sixty tickets over every priority (many sharing a deadline), some waiting or resolved."""
    frozen_clock(T0)
    make_module("FIN")
    agent = make_user("agent", email="alex@example.com")
    reporter = make_user("requester")
    refs = []
    for n in range(60):
        impact, urgency = LEVELS[n % len(LEVELS)]
        ticket = make_ticket(reporter=reporter, impact=impact, urgency=urgency, title=f"#{n}")
        if n % 5 == 0:
            perform(db_session, agent, ticket, "start")
        if n % 10 == 0:
            perform(db_session, agent, ticket, "wait")
        if n % 15 == 0:
            perform(db_session, agent, ticket, "resolve", **RESOLUTION)
        refs.append(ticket.ref)
    db_session.commit()
    return refs


def walk(client, limit: int) -> tuple[list[dict], int]:
    """Follow next_cursor from the first page to the last: (every item, number of pages)."""
    items, pages, cursor = [], 0, None
    while True:
        query = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = client.get("/api/v1/tickets", query_string=query)
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        assert len(page["items"]) <= limit
        items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages


def test_cursor_pagination_visits_every_ticket_exactly_once(sixty, as_, make_user):
    agent = as_(make_user("agent"))

    items, pages = walk(agent, limit=7)

    refs = [item["ref"] for item in items]
    assert len(refs) == 60
    assert set(refs) == set(sixty)
    assert pages == 9  # 8 full pages of 7, then 4


def test_the_pages_together_keep_the_order_of_one_long_page(sixty, as_, make_user):
    agent = as_(make_user("agent"))

    items, _ = walk(agent, limit=7)

    assert [item["ref"] for item in items] == listed(agent, limit=100)


def test_pages_come_in_deadline_order_with_clockless_tickets_last(sixty, as_, make_user):
    agent = as_(make_user("agent"))

    items, _ = walk(agent, limit=7)

    deadlines = [
        (item["status"], item["sla"]["response_due_at"], item["sla"]["resolution_due_at"])
        for item in items
    ]
    without_clock = [
        i
        for i, (status, *_) in enumerate(deadlines)
        if status in {"waiting_on_requester", "resolved"}
    ]
    assert without_clock == list(range(60 - len(without_clock), 60))
    running = [
        response if item["first_response_at"] is None else resolution
        for item, (_, response, resolution) in zip(items, deadlines, strict=True)
        if item["status"] not in {"waiting_on_requester", "resolved"}
    ]
    assert running == sorted(running)
    clockless_refs = [items[i]["ref"] for i in without_clock]
    assert clockless_refs == sorted(clockless_refs)


def test_a_cursor_that_is_not_one_is_refused(board, alex):
    response = alex.get("/api/v1/tickets", query_string={"cursor": "not-a-cursor!"})

    assert response.status_code == 422
    assert "cursor" in response.get_json()["errors"]


def test_a_forged_cursor_of_the_wrong_shape_is_refused(board, alex):
    forged = base64.urlsafe_b64encode(json.dumps([1]).encode()).decode().rstrip("=")

    response = alex.get("/api/v1/tickets", query_string={"cursor": forged})

    assert response.status_code == 422
    assert "cursor" in response.get_json()["errors"]


@pytest.mark.parametrize("limit", [0, 201, "many"])
def test_a_limit_outside_1_to_200_is_refused(board, alex, limit):
    response = alex.get("/api/v1/tickets", query_string={"limit": limit})

    assert response.status_code == 422
    assert "limit" in response.get_json()["errors"]


def test_assigning_moves_a_ticket_between_the_unassigned_and_mine_views(board, alex, db_session):
    from app.incidents.service import get_ticket

    ticket = get_ticket(db_session, board.alex, board.payment)
    assign(db_session, board.alex, ticket, assignee="alex@example.com")
    db_session.commit()

    assert board.payment not in listed(alex, view="unassigned")
    assert board.payment in listed(alex, view="mine")


# --- search: references and comments ------------------------------------------------------


def test_a_reference_finds_its_ticket(board, alex):
    assert listed(alex, q=board.report) == [board.report]
    assert listed(alex, q=board.report.lower().replace("-0000", "-")) == [board.report]


def test_the_search_looks_in_public_comments_for_everyone_who_sees_the_ticket(board, alex, as_):
    assert comment(alex, board.quotation, "The ledger account 4711 was blocked.").status_code == 201

    assert listed(alex, q="LEDGER ACCOUNT") == [board.quotation]
    assert listed(as_(board.rita), q="ledger account") == [board.quotation]


def test_internal_notes_are_searched_for_the_support_team_only(board, alex, as_):
    note = comment(alex, board.report, "Vendor escalation opened.", public=False)
    assert note.status_code == 201

    assert listed(alex, q="vendor escalation") == [board.report]
    assert listed(as_(board.rita), q="vendor escalation") == []


def test_a_search_stays_within_the_view(board, alex):
    comment(alex, board.pricing, "Price list 1 is the customer's.")

    assert listed(alex, q="price list") == [board.pricing]
    assert listed(alex, q="price list", view="open") == []


# --- cost of a page ---------------------------------------------------------------------------


def statements_of(response) -> int:
    """The statements a request sent, from its Server-Timing header (on in development)."""
    timing = response.headers["Server-Timing"]
    return int(re.search(r'desc="(\d+) statements"', timing).group(1))


def test_a_page_of_fifty_costs_the_statements_of_a_page_of_five(sixty, as_, make_user):
    agent = as_(make_user("agent"))
    agent.get("/api/v1/tickets", query_string={"limit": 5})  # caches warm

    five = agent.get("/api/v1/tickets", query_string={"limit": 5})
    fifty = agent.get("/api/v1/tickets", query_string={"limit": 50})

    assert len(fifty.get_json()["items"]) == 50
    assert statements_of(fifty) == statements_of(five) <= 5


def test_the_queue_tabs_are_counted_in_one_query(board, app, signed_in, db_session):
    from app.incidents.queues import TAB_VIEWS, queue_counts

    counts = queue_counts(db_session, board.alex)

    assert counts == {
        "unassigned": 2,
        "mine": 1,
        "my_group": 0,
        "breaching_soon": 0,
        "breached": 0,
        "waiting": 1,
    }
    assert set(counts) == set(TAB_VIEWS)
    browser = signed_in(board.alex)
    browser.get("/queues?view=open")  # caches warm after the sign-in changed the user

    page = browser.get("/queues?view=open")

    assert page.status_code == 200
    # the browser's session, cache generations, the tab counts, the page, its people, the
    # view's total, and the desk's saved views, groups and agents (bulk form): nothing per
    # row, nothing per tab
    assert statements_of(page) == 9


def test_the_open_statuses_of_the_indexes_are_the_lifecycles():
    from app.incidents.lifecycle import OPEN_STATUSES
    from app.incidents.models import OPEN_STATUS_VALUES

    assert set(OPEN_STATUS_VALUES) == {s.value for s in OPEN_STATUSES}


def test_a_page_shows_each_tickets_enhancements_and_rating(board, alex, as_):
    rita = as_(board.rita)
    request = {"title": "Auto-match", "problem": "By hand.", "benefit": "Time.", "module": "FIN"}
    first, second = (
        rita.post("/api/v1/enhancements", json=request).get_json()["ref"] for _ in "ab"
    )
    assert (
        alex.post(
            f"/api/v1/tickets/{board.pricing}/enhancements", json={"enhancement": first}
        ).status_code
        == 200
    )
    alex.post(f"/api/v1/tickets/{board.pricing}/enhancements", json={"enhancement": second})
    assert (
        rita.post(
            f"/api/v1/tickets/{board.pricing}/satisfaction", json={"rating": 4, "comment": "Quick."}
        ).status_code
        == 201
    )

    items = {i["ref"]: i for i in alex.get("/api/v1/tickets").get_json()["items"]}

    assert items[board.pricing]["enhancements"] == [first, second]
    assert items[board.pricing]["satisfaction"]["rating"] == 4
    assert items[board.pricing]["satisfaction"]["comment"] == "Quick."
    assert items[board.quotation]["enhancements"] == []
    assert items[board.quotation]["satisfaction"] is None


def test_a_reference_beyond_any_ticket_number_finds_nothing_and_is_no_error(board, alex):
    assert listed(alex, q="INC-999999999999") == []
