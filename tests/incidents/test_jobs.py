"""The ticket jobs the scheduler runs: auto-close of resolved tickets, and the schedule itself;
and the one window for second thoughts that auto-close leaves the requester.

Here resolved tickets close after 3 days (TICKET_AUTO_CLOSE_DAYS) and may be reopened until 10
days after their resolution (TICKET_REOPEN_DAYS), so the tests prove the settings are read
rather than the defaults of 7 and 14.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditEvent
from app.core.queue import QUEUE_NAMES
from app.core.runner import resolve, run_job
from app.core.schedule import periodic_jobs
from app.incidents.jobs import auto_close_resolved
from app.incidents.models import Ticket
from app.incidents.transitions import perform

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
DAY = timedelta(days=1)
RESOLUTION = {"resolution_code": "fixed", "resolution_note": "Period reopened."}


@pytest.fixture
def app_config() -> dict:
    return {"TICKET_AUTO_CLOSE_DAYS": 3, "TICKET_REOPEN_DAYS": 10}


@pytest.fixture
def agent(make_user):
    return make_user("agent")


@pytest.fixture
def resolved_at(db_session, frozen_clock, make_ticket, agent):
    """resolved_at(instant): a ticket the agent resolved at ``instant``."""

    def build(instant: datetime) -> Ticket:
        frozen_clock(instant - timedelta(hours=1))
        ticket = make_ticket()
        frozen_clock(instant)
        perform(db_session, agent, ticket, "resolve", **RESOLUTION)
        db_session.commit()
        return ticket

    return build


def closures(db_session, ticket: Ticket) -> int:
    return db_session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.entity_id == ticket.ref, AuditEvent.action == "close"
        )
    )


# --- auto-close -----------------------------------------------------------------------------


def test_a_ticket_resolved_longer_ago_than_the_window_is_closed_by_the_system(
    db_session, frozen_clock, resolved_at
):
    ticket = resolved_at(T0)
    frozen_clock(T0 + 3 * DAY + timedelta(minutes=1))

    closed = auto_close_resolved(db_session)
    db_session.commit()

    assert closed == 1
    assert ticket.status == "closed"
    assert ticket.closed_at == T0 + 3 * DAY + timedelta(minutes=1)
    event = db_session.scalar(
        select(AuditEvent).where(AuditEvent.entity_id == ticket.ref, AuditEvent.action == "close")
    )
    assert event.actor_id is None
    assert event.changes["status"] == ["resolved", "closed"]


def test_a_ticket_resolved_within_the_window_stays_resolved(db_session, frozen_clock, resolved_at):
    ticket = resolved_at(T0 + DAY)
    frozen_clock(T0 + 3 * DAY + timedelta(minutes=1))  # resolved two days ago

    assert auto_close_resolved(db_session) == 0
    db_session.commit()

    assert ticket.status == "resolved"
    assert ticket.closed_at is None


def test_open_and_reopened_tickets_are_never_auto_closed(
    db_session, frozen_clock, make_ticket, resolved_at, agent
):
    frozen_clock(T0)
    untouched = make_ticket()
    reopened = resolved_at(T0)
    frozen_clock(T0 + DAY)
    perform(db_session, agent, reopened, "reopen")
    db_session.commit()
    frozen_clock(T0 + 30 * DAY)

    assert auto_close_resolved(db_session) == 0
    db_session.commit()

    assert (untouched.status, reopened.status) == ("new", "in_progress")


def test_auto_close_run_twice_closes_each_ticket_once(db_session, frozen_clock, resolved_at):
    ticket = resolved_at(T0)
    frozen_clock(T0 + 4 * DAY)

    first = auto_close_resolved(db_session)
    db_session.commit()
    second = auto_close_resolved(db_session)
    db_session.commit()

    assert (first, second) == (1, 0)
    assert closures(db_session, ticket) == 1


def test_the_worker_entry_point_runs_auto_close_in_its_own_committed_transaction(
    db_session, frozen_clock, resolved_at
):
    ticket = resolved_at(T0)
    frozen_clock(T0 + 4 * DAY)

    assert run_job("app.incidents.jobs.auto_close_resolved") == 1

    db_session.commit()  # a fresh snapshot: the job committed on its own connection
    assert db_session.get(Ticket, ticket.id).status == "closed"


# --- reopening after auto-close ----------------------------------------------------------


@pytest.fixture
def auto_closed(db_session, frozen_clock, resolved_at):
    """A ticket resolved at T0 and closed by the system three days later."""
    ticket = resolved_at(T0)
    frozen_clock(T0 + 3 * DAY + timedelta(minutes=1))
    auto_close_resolved(db_session)
    db_session.commit()
    return ticket


def ticket_as(as_, user, ticket: Ticket) -> dict:
    response = as_(user).get(f"/api/v1/tickets/{ticket.ref}")
    assert response.status_code == 200
    return response.get_json()


def test_the_requester_may_reopen_an_auto_closed_ticket_within_the_reopen_window(
    db_session, frozen_clock, auto_closed, as_
):
    requester = auto_closed.reporter
    frozen_clock(T0 + 9 * DAY)
    offered = ticket_as(as_, requester, auto_closed)["allowed_actions"]

    response = as_(requester).post(
        f"/api/v1/tickets/{auto_closed.ref}/transitions", json={"action": "reopen"}
    )

    assert "reopen" in offered
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["status"], body["closed_at"], body["resolved_at"]) == ("in_progress", None, None)
    assert body["reopen_count"] == 1


def test_past_the_reopen_window_a_closed_ticket_stays_closed(
    db_session, frozen_clock, auto_closed, as_
):
    requester = auto_closed.reporter
    frozen_clock(T0 + 10 * DAY + timedelta(minutes=1))
    offered = ticket_as(as_, requester, auto_closed)["allowed_actions"]

    response = as_(requester).post(
        f"/api/v1/tickets/{auto_closed.ref}/transitions", json={"action": "reopen"}
    )

    assert "reopen" not in offered
    assert response.status_code == 409
    assert response.get_json()["errors"]["action"] == ["Reopen within 10 days of resolution."]
    assert ticket_as(as_, requester, auto_closed)["status"] == "closed"


def test_a_ticket_closed_as_a_duplicate_is_never_reopened(
    db_session, frozen_clock, make_ticket, agent, as_
):
    frozen_clock(T0)
    original = make_ticket(title="Invoice posting fails")
    duplicate = make_ticket(title="Cannot post invoice", reporter=original.reporter)
    perform(db_session, agent, duplicate, "duplicate", duplicate_of=original.ref)
    db_session.commit()
    frozen_clock(T0 + DAY)

    response = as_(duplicate.reporter).post(
        f"/api/v1/tickets/{duplicate.ref}/transitions", json={"action": "reopen"}
    )

    assert response.status_code == 409
    assert response.get_json()["code"] == "invalid_transition"
    assert "reopen" not in ticket_as(as_, duplicate.reporter, duplicate)["allowed_actions"]


# --- the periodic schedule ------------------------------------------------------------------


def test_the_schedule_runs_the_sla_scan_every_minute_and_auto_close(app):
    jobs = {entry.job: entry for entry in periodic_jobs(app)}

    assert jobs["app.incidents.jobs.scan_sla"].every_seconds == 60
    assert jobs["app.incidents.jobs.scan_sla"].queue == "high"
    assert "app.incidents.jobs.auto_close_resolved" in jobs


def test_every_scheduled_job_names_a_callable_on_a_known_queue(app):
    entries = periodic_jobs(app)

    assert {entry.job for entry in entries} >= {
        "app.core.jobs.sweep_outbox",
        "app.identity.jobs.prune_login_attempts",
        "app.incidents.jobs.scan_sla",
        "app.incidents.jobs.auto_close_resolved",
    }
    for entry in entries:
        assert callable(resolve(entry.job)), entry.job
        assert entry.queue in QUEUE_NAMES, entry.job
        assert entry.every_seconds > 0 and entry.timeout > 0, entry.job
