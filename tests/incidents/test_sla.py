"""The SLA clock of a ticket, on a real module calendar and a frozen clock.

Finance works 09:00-17:00 Monday to Friday in Paris; Whit Monday (25 May 2026) is a holiday.
All instants below are Paris wall time in May 2026 (CEST). The default targets are P1 15 min /
4 h around the clock; P2 1 h / 8 business hours; P3 4 h / 3 business days; P4 1 / 5 business
days; P5 2 / 10 business days, a business day being 8 hours.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.business_time import WorkingCalendar, add_business_time, business_time_between
from app.core.outbox import dispatch_committed
from app.incidents.conversation import add_comment
from app.incidents.jobs import scan_sla
from app.incidents.transitions import perform
from tests.factories import RESOLUTION

PARIS = ZoneInfo("Europe/Paris")
WHIT_MONDAY = date(2026, 5, 25)
OFFICE_HOURS = {str(day): [["09:00", "17:00"]] for day in range(5)}
FINANCE_CALENDAR = WorkingCalendar(
    "Europe/Paris",
    {day: ((time(9), time(17)),) for day in range(5)},
    holidays=frozenset({WHIT_MONDAY}),
)
H = timedelta(hours=1)
# impact, urgency giving each priority through the ITIL matrix
RATING = {
    "P1": ("high", "high"),
    "P2": ("high", "medium"),
    "P3": ("medium", "medium"),
    "P4": ("medium", "low"),
    "P5": ("low", "low"),
}


def paris(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
def finance(make_calendar, make_module):
    make_calendar("PARIS", "Europe/Paris", hours=OFFICE_HOURS, holidays=(WHIT_MONDAY,))
    return make_module("FIN", name="Finance", calendar="PARIS")


@pytest.fixture
def requester(make_user, finance):
    return make_user("requester")


@pytest.fixture
def agent(make_user):
    return make_user("agent")


@pytest.fixture
def commit(app, db_session):
    """Commit as a request would: then hand the outbox rows to the queue."""

    def run() -> None:
        db_session.commit()
        dispatch_committed(app, db_session)

    return run


@pytest.fixture
def open_ticket(frozen_clock, make_ticket, requester, commit):
    """open_ticket(priority, at): the requester reports a Finance incident at ``at``."""

    def build(priority: str, at: datetime):
        frozen_clock(at)
        impact, urgency = RATING[priority]
        ticket = make_ticket(reporter=requester, module="FIN", impact=impact, urgency=urgency)
        commit()
        return ticket

    return build


@pytest.fixture
def act(db_session, frozen_clock, agent, commit):
    """act(ticket, action, at, **params): the agent takes ``action`` at ``at``, committed."""

    def run(ticket, action: str, at: datetime, **params):
        frozen_clock(at)
        perform(db_session, agent, ticket, action, **params)
        commit()
        return ticket

    return run


@pytest.fixture
def sla_of(app, api_client, agent, frozen_clock):
    """sla_of(ticket, at): the ``sla`` block the API shows the agent at ``at``."""

    def read(ticket, at: datetime) -> dict:
        frozen_clock(at)
        response = api_client(agent).get(f"/api/v1/tickets/{ticket.ref}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()["sla"]

    return read


# --- due times ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "response_due", "resolution_due"),
    [
        # P1 runs around the clock: Friday evening counts
        ("P1", paris(5, 15, 16, 15), paris(5, 15, 20, 0)),
        # 1 h Friday; then 1 h Friday + 7 h Monday
        ("P2", paris(5, 15, 17, 0), paris(5, 18, 16, 0)),
        # 1 h Friday + 3 h Monday; 1 + 8 + 8 + 7 h
        ("P3", paris(5, 18, 12, 0), paris(5, 20, 16, 0)),
        # 1 + 7 h; 1 + 4 x 8 + 7 h
        ("P4", paris(5, 18, 16, 0), paris(5, 22, 16, 0)),
        # 1 + 8 + 7 h; 1 + 9 x 8 + 7 h, skipping Whit Monday
        ("P5", paris(5, 19, 16, 0), paris(6, 1, 16, 0)),
    ],
)
def test_a_ticket_submitted_friday_afternoon_is_due_in_business_time_of_its_module(
    api_client, frozen_clock, requester, priority, response_due, resolution_due
):
    frozen_clock(paris(5, 15, 16, 0))
    impact, urgency = RATING[priority]

    response = api_client(requester).post(
        "/api/v1/tickets",
        json={
            "title": "Invoice posting fails",
            "description": "Error 'period closed' when posting.",
            "module": "FIN",
            "impact": impact,
            "urgency": urgency,
        },
    )

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["priority"] == priority
    assert parse(body["sla"]["response_due_at"]) == response_due
    assert parse(body["sla"]["resolution_due_at"]) == resolution_due


def test_a_holiday_monday_is_skipped_by_the_response_clock(open_ticket):
    ticket = open_ticket("P3", paris(5, 22, 16, 0))  # the Friday before Whit Monday

    assert ticket.response_due_at == paris(5, 26, 12, 0)  # 1 h Friday + 3 h Tuesday


def test_a_p1_ticket_counts_around_the_clock_even_at_night_on_a_weekend(open_ticket):
    ticket = open_ticket("P1", paris(5, 16, 3, 0))  # Saturday, 3 in the morning

    assert ticket.response_due_at == paris(5, 16, 3, 15)
    assert ticket.resolution_due_at == paris(5, 16, 7, 0)


def test_the_ticket_shows_the_business_time_elapsed_and_remaining(open_ticket, sla_of):
    ticket = open_ticket("P3", paris(5, 18, 9, 0))

    sla = sla_of(ticket, paris(5, 18, 20, 0))  # evenings do not count

    assert sla["resolution_elapsed_seconds"] == 8 * 3600
    assert sla["resolution_remaining_seconds"] == 16 * 3600


def test_a_ticket_left_open_for_years_shows_every_business_hour_it_used(open_ticket, act, sla_of):
    from tests.core.test_business_time import walked_between

    ticket = open_ticket("P4", paris(5, 4, 9, 0))
    act(ticket, "start", paris(5, 4, 10, 0))
    later = datetime(2028, 6, 7, 15, 30, tzinfo=PARIS)

    sla = sla_of(ticket, later)

    used = walked_between(FINANCE_CALENDAR, paris(5, 4, 9, 0), later)
    assert sla["resolution_elapsed_seconds"] == used.total_seconds()
    assert sla["resolution_remaining_seconds"] == 5 * 8 * 3600 - used.total_seconds()
    assert sla["resolution_breached"] is True


def test_a_paused_ticket_shows_the_time_used_until_its_pause(open_ticket, act, sla_of):
    ticket = open_ticket("P3", paris(5, 18, 9, 0))
    act(ticket, "start", paris(5, 18, 9, 30))
    act(ticket, "wait", paris(5, 18, 16, 0))

    sla = sla_of(ticket, paris(6, 30, 12, 0))  # weeks later, still waiting

    assert sla["paused"] is True
    assert sla["resolution_elapsed_seconds"] == 7 * 3600
    assert sla["resolution_remaining_seconds"] == 17 * 3600


# --- pauses: waiting on the requester, resolution and reopen --------------------------------


def test_waiting_on_the_requester_pushes_the_resolution_back_by_the_business_time_waited(
    open_ticket, act
):
    ticket = open_ticket("P3", paris(5, 18, 9, 0))
    act(ticket, "start", paris(5, 18, 9, 30))
    due_before = ticket.resolution_due_at
    assert due_before == paris(5, 20, 17, 0)

    act(ticket, "wait", paris(5, 18, 16, 0))
    act(ticket, "resume", paris(5, 19, 10, 0))  # 16-17 Monday + 9-10 Tuesday

    assert ticket.paused_seconds == 2 * 3600
    assert business_time_between(FINANCE_CALENDAR, due_before, ticket.resolution_due_at) == 2 * H
    assert ticket.resolution_due_at == paris(5, 21, 11, 0)


def test_while_waiting_the_resolution_clock_stands_still_and_cannot_breach(
    open_ticket, act, sla_of
):
    ticket = open_ticket("P2", paris(5, 18, 9, 0))
    act(ticket, "start", paris(5, 18, 9, 10))
    act(ticket, "wait", paris(5, 18, 11, 0))

    sla = sla_of(ticket, paris(5, 20, 12, 0))  # long past the 8 h target

    assert sla["paused"] is True
    assert sla["resolution_elapsed_seconds"] == 2 * 3600
    assert sla["resolution_breached"] is False
    assert sla["at_risk"] is False


def test_reopening_continues_the_clock_where_resolution_stopped_it(open_ticket, act, sla_of):
    ticket = open_ticket("P3", paris(5, 18, 9, 0))
    act(ticket, "resolve", paris(5, 18, 11, 0), **RESOLUTION)  # 2 h used of 24

    act(ticket, "reopen", paris(5, 20, 9, 0))

    # the 22 h left run from Wednesday 09:00: 8 + 8 + 6 h
    assert ticket.resolution_due_at == paris(5, 22, 15, 0)
    assert sla_of(ticket, paris(5, 20, 9, 0))["resolution_elapsed_seconds"] == 2 * 3600


# --- at risk --------------------------------------------------------------------------------


def test_a_ticket_is_at_risk_once_80_percent_of_its_response_target_is_used(open_ticket, sla_of):
    ticket = open_ticket("P2", paris(5, 18, 9, 0))  # respond within 60 min

    assert sla_of(ticket, paris(5, 18, 9, 47))["at_risk"] is False
    assert sla_of(ticket, paris(5, 18, 9, 48))["at_risk"] is True


def test_a_ticket_is_at_risk_once_80_percent_of_its_resolution_target_is_used(
    open_ticket, act, sla_of
):
    ticket = open_ticket("P2", paris(5, 18, 9, 0))  # resolve within 8 h: at risk after 6 h 24
    act(ticket, "start", paris(5, 18, 9, 5))

    assert sla_of(ticket, paris(5, 18, 15, 23))["at_risk"] is False
    assert sla_of(ticket, paris(5, 18, 15, 24))["at_risk"] is True


# --- breaches -------------------------------------------------------------------------------


def test_breaches_found_by_the_scan_stay_recorded_after_resolution(
    db_session, frozen_clock, open_ticket, act, sla_of, commit
):
    ticket = open_ticket("P1", paris(5, 18, 9, 0))  # respond by 09:15, resolve by 13:00
    frozen_clock(paris(5, 18, 13, 30))
    scan_sla(db_session)
    commit()

    act(ticket, "resolve", paris(5, 18, 13, 30), **RESOLUTION)

    sla = sla_of(ticket, paris(5, 19, 10, 0))
    assert sla["response_breached"] is True
    assert sla["resolution_breached"] is True
    assert sla["at_risk"] is False


def test_resolving_after_the_deadline_records_the_resolution_breach(open_ticket, act, sla_of):
    ticket = open_ticket("P2", paris(5, 18, 9, 0))  # due Monday 17:00
    act(ticket, "start", paris(5, 18, 9, 5))

    act(ticket, "resolve", paris(5, 19, 9, 30), **RESOLUTION)

    assert ticket.resolution_breached_at is not None
    assert sla_of(ticket, paris(5, 19, 10, 0))["resolution_breached"] is True


def test_a_late_first_response_records_a_response_breach_at_once(
    db_session, open_ticket, agent, frozen_clock, sla_of, commit
):
    ticket = open_ticket("P2", paris(5, 18, 9, 0))  # respond by 10:00
    frozen_clock(paris(5, 18, 10, 30))

    add_comment(db_session, agent, ticket, body="Looking into it.", public=True)
    commit()

    assert ticket.response_breached_at == paris(5, 18, 10, 0)
    assert sla_of(ticket, paris(5, 18, 10, 31))["response_breached"] is True


def test_a_first_response_in_time_stops_the_response_clock(
    db_session, open_ticket, agent, frozen_clock, sla_of, commit
):
    ticket = open_ticket("P2", paris(5, 18, 9, 0))
    frozen_clock(paris(5, 18, 9, 30))

    add_comment(db_session, agent, ticket, body="Looking into it.", public=True)
    commit()

    sla = sla_of(ticket, paris(5, 18, 12, 0))
    assert sla["response_breached"] is False
    assert ticket.response_breached_at is None


# --- priority and policy changes ------------------------------------------------------------


def test_overriding_the_priority_recomputes_the_due_times(open_ticket, act):
    ticket = open_ticket("P3", paris(5, 15, 16, 0))
    assert ticket.response_due_at == paris(5, 18, 12, 0)

    act(ticket, "triage", paris(5, 15, 16, 5), priority="P1", reason="Payroll run is blocked.")

    assert ticket.priority == "P1"
    assert ticket.response_due_at == paris(5, 15, 16, 15)  # 24x7 from submission
    assert ticket.resolution_due_at == paris(5, 15, 20, 0)


def test_a_changed_sla_policy_applies_to_tickets_submitted_afterwards(
    api_client, make_user, open_ticket
):
    before = open_ticket("P3", paris(5, 18, 9, 0))
    admin = api_client(make_user("admin"))
    etag = admin.get("/api/v1/sla-policies/P3").headers["ETag"]

    response = admin.patch(
        "/api/v1/sla-policies/P3",
        json={"response_minutes": 120, "resolution_minutes": 16 * 60},
        headers={"If-Match": etag},
    )
    after = open_ticket("P3", paris(5, 18, 9, 0))

    assert response.status_code == 200, response.get_json()
    assert (after.response_due_at, after.resolution_due_at) == (
        paris(5, 18, 11, 0),
        paris(5, 19, 17, 0),
    )
    assert (before.response_due_at, before.resolution_due_at) == (
        paris(5, 18, 13, 0),
        paris(5, 20, 17, 0),
    )


# --- property: pauses only ever push the deadline back, by exactly the time waited ------------

STEPS = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=3 * 24 * 60),  # minutes worked before waiting
        st.integers(min_value=1, max_value=4 * 24 * 60),  # minutes waited on the requester
    ),
    min_size=1,
    max_size=4,
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(start_offset=st.integers(min_value=0, max_value=7 * 24 * 60 - 1), steps=STEPS)
def test_pauses_push_the_resolution_back_by_exactly_the_business_time_waited(
    open_ticket, act, start_offset, steps
):
    created = paris(5, 11, 0, 0) + timedelta(minutes=start_offset)
    ticket = open_ticket("P4", created)
    now = created + timedelta(minutes=1)
    act(ticket, "start", now)
    waited = timedelta(0)

    for worked, paused in steps:
        wait_at = now + timedelta(minutes=worked)
        now = wait_at + timedelta(minutes=paused)
        act(ticket, "wait", wait_at)
        act(ticket, "resume", now)
        waited += business_time_between(FINANCE_CALENDAR, wait_at, now)

    target = timedelta(minutes=ticket.resolution_target_minutes)
    assert ticket.paused_seconds == int(waited.total_seconds())
    assert business_time_between(FINANCE_CALENDAR, created, ticket.resolution_due_at) >= target
    assert ticket.resolution_due_at == add_business_time(FINANCE_CALENDAR, created, target + waited)
