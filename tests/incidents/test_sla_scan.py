"""The periodic SLA scan: each warning and each breach is recorded, audited and notified once.

Finance works 09:00-17:00 Monday to Friday in Paris. A P2 ticket submitted Monday 18 May 2026
at 09:00 must get a first response by 10:00 (warning from 09:48) and be resolved by 17:00
(warning from 15:24); a P1 ticket runs 24x7 (15 min / 4 h).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.catalogue import service as catalogue
from app.core.audit import AuditEvent
from app.core.outbox import OutboxMessage
from app.incidents.jobs import scan_sla
from app.incidents.notifications import EMAIL_JOB, WEBHOOK_JOB
from app.incidents.service import update_ticket
from app.incidents.sla import clock_view
from app.incidents.transitions import perform

PARIS = ZoneInfo("Europe/Paris")
OFFICE_HOURS = {str(day): [["09:00", "17:00"]] for day in range(5)}
NOTHING = {
    "response_warning": 0,
    "resolution_warning": 0,
    "response_breach": 0,
    "resolution_breach": 0,
}


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 5, day, hour, minute, tzinfo=PARIS)


def found(**counts: int) -> dict[str, int]:
    return {**NOTHING, **counts}


@pytest.fixture
def finance(db_session, make_calendar, make_module):
    make_calendar("PARIS", "Europe/Paris", hours=OFFICE_HOURS)
    catalogue.create_group(
        db_session, None, code="FINSUP", name="Finance support", email="fin@example.com"
    )
    db_session.commit()
    return make_module("FIN", name="Finance", calendar="PARIS", support_group="FINSUP")


@pytest.fixture
def agent(make_user):
    return make_user("agent")


@pytest.fixture
def open_ticket(frozen_clock, make_ticket, make_user, finance):
    def build(impact: str, urgency: str, at: datetime):
        frozen_clock(at)
        return make_ticket(
            reporter=make_user("requester"), module="FIN", impact=impact, urgency=urgency
        )

    return build


@pytest.fixture
def p2(open_ticket):
    return open_ticket("high", "medium", paris(18, 9, 0))


@pytest.fixture
def scan(db_session, frozen_clock):
    """scan(at): the periodic job runs at ``at`` and its transaction commits."""

    def run(at: datetime) -> dict[str, int]:
        frozen_clock(at)
        counts = scan_sla(db_session)
        db_session.commit()
        return counts

    return run


@pytest.fixture
def act(db_session, frozen_clock, agent):
    def run(ticket, action: str, at: datetime, **params) -> None:
        frozen_clock(at)
        perform(db_session, agent, ticket, action, **params)
        db_session.commit()

    return run


def sla_events(db_session, ticket) -> list[tuple[str, str]]:
    """(action, clock) of the ticket's sla_* audit events, oldest first."""
    events = db_session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.entity_type == "ticket",
            AuditEvent.entity_id == ticket.ref,
            AuditEvent.action.like("sla_%"),
        )
        .order_by(AuditEvent.id)
    )
    return [(e.action, e.changes["clock"][1]) for e in events]


def notices(db_session, ticket) -> list[tuple[str, str, str]]:
    """(job, event, dedupe key) of the SLA notifications recorded in the outbox."""
    rows = db_session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.dedupe_key.is_not(None))
        .order_by(OutboxMessage.id)
    )
    return [
        (row.job, row.kwargs["event"], row.dedupe_key)
        for row in rows
        if row.kwargs.get("ticket_id") == ticket.id and "_created" not in row.kwargs["event"]
    ]


# --- warnings -------------------------------------------------------------------------------


def test_a_ticket_nearing_its_response_deadline_is_warned_once(db_session, p2, scan):
    assert scan(paris(18, 9, 47)) == NOTHING

    assert scan(paris(18, 9, 48)) == found(response_warning=1)
    assert scan(paris(18, 9, 48)) == NOTHING
    assert scan(paris(18, 9, 55)) == NOTHING

    assert p2.response_warned_at == paris(18, 9, 48)
    assert sla_events(db_session, p2) == [("sla_warning", "response")]
    assert notices(db_session, p2) == [
        (EMAIL_JOB, "response_warning", f"mail:warning:response:{p2.id}")
    ]


def test_a_ticket_nearing_its_resolution_deadline_is_warned_once(db_session, p2, act, scan):
    act(p2, "start", paris(18, 9, 5))

    assert scan(paris(18, 15, 23)) == NOTHING
    assert scan(paris(18, 15, 24)) == found(resolution_warning=1)
    assert scan(paris(18, 16, 0)) == NOTHING

    assert sla_events(db_session, p2) == [("sla_warning", "resolution")]


# --- breaches -------------------------------------------------------------------------------


def test_a_missed_response_deadline_is_recorded_and_notified_once(db_session, p2, scan):
    scan(paris(18, 9, 50))  # the warning

    assert scan(paris(18, 10, 0)) == found(response_breach=1)
    assert scan(paris(18, 10, 0)) == NOTHING
    assert scan(paris(18, 11, 0)) == NOTHING

    assert p2.response_breached_at is not None
    assert sla_events(db_session, p2) == [
        ("sla_warning", "response"),
        ("sla_breach", "response"),
    ]
    assert notices(db_session, p2) == [
        (EMAIL_JOB, "response_warning", f"mail:warning:response:{p2.id}"),
        (EMAIL_JOB, "response_breach", f"mail:breach:response:{p2.id}"),
        (WEBHOOK_JOB, "response_breach", f"webhook:breach:response:{p2.id}"),
    ]


def test_each_clock_breaches_once_on_its_own(db_session, open_ticket, scan):
    p1 = open_ticket("high", "high", paris(18, 9, 0))  # 09:15 / 13:00, around the clock

    assert scan(paris(18, 13, 30)) == found(response_breach=1, resolution_breach=1)
    assert scan(paris(18, 20, 0)) == NOTHING

    assert sla_events(db_session, p1) == [
        ("sla_breach", "response"),
        ("sla_breach", "resolution"),
    ]
    assert p1.response_breached_at is not None
    assert p1.resolution_breached_at is not None


def test_a_breach_is_dated_at_its_deadline_not_when_the_scan_noticed_it(
    db_session, open_ticket, scan
):
    p1 = open_ticket("high", "high", paris(18, 9, 0))  # 09:15 / 13:00, around the clock

    scan(paris(18, 14, 30))  # the scan runs late: the scheduler was down

    assert p1.response_breached_at == paris(18, 9, 15)
    assert p1.resolution_breached_at == paris(18, 13, 0)


def test_a_breach_found_first_is_never_followed_by_its_warning(db_session, p2, scan):
    assert scan(paris(18, 10, 30)) == found(response_breach=1)  # nobody scanned before

    assert scan(paris(18, 11, 0)) == NOTHING
    assert ("sla_warning", "response") not in sla_events(db_session, p2)
    assert p2.response_warned_at is not None


def test_a_breach_stays_recorded_when_a_lower_priority_moves_the_deadline_later(
    db_session, p2, agent, act, scan
):
    act(p2, "start", paris(18, 9, 5))
    scan(paris(18, 17, 0))

    update_ticket(db_session, agent, p2, {"impact": "medium", "urgency": "low"})  # now P4
    db_session.commit()

    assert p2.priority == "P4"
    assert p2.resolution_due_at > paris(19, 9, 0)
    assert scan(paris(19, 9, 0)) == NOTHING
    assert p2.resolution_breached_at is not None
    assert clock_view(p2, paris(19, 9, 0), 0.8).resolution_breached is True


# --- what the scan leaves alone -------------------------------------------------------------


def test_a_ticket_waiting_on_its_requester_is_skipped(db_session, p2, act, scan):
    act(p2, "start", paris(18, 9, 5))
    act(p2, "wait", paris(18, 9, 10))

    assert scan(paris(20, 12, 0)) == NOTHING  # days past the 17:00 deadline

    assert sla_events(db_session, p2) == []
    assert p2.resolution_breached_at is None
    assert notices(db_session, p2) == []


def test_a_resolved_ticket_is_skipped(db_session, p2, act, scan):
    act(p2, "resolve", paris(18, 9, 30), resolution_code="fixed", resolution_note="Done.")

    assert scan(paris(20, 12, 0)) == NOTHING

    assert sla_events(db_session, p2) == []


def test_a_ticket_answered_in_time_gets_no_response_warning(db_session, p2, act, scan):
    act(p2, "start", paris(18, 9, 30))

    assert scan(paris(18, 10, 30)) == NOTHING
