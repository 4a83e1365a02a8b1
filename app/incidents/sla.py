"""Priority from impact x urgency, and the SLA clock of a ticket.

The clock counts business time of the module's calendar (or 24x7 when the policy says so).
Response runs from creation to the first response. Resolution runs from creation to
resolution, pauses while the ticket waits on its requester, and after a reopen continues from
where it stopped (the resolved period counts as a pause). Due and warning instants are stored
on the ticket; breaches and warnings are recorded once and never cleared.

What a ticket shows (elapsed, remaining, at risk) is read from its stored deadline: the
business time between the clock's stop (or now) and the resolution due instant, in the
module's calendar from the catalogue cache, at a cost that does not grow with the ticket's age.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, object_session

from app.catalogue.service import CatalogueView, calendar_of_module, working_calendar
from app.core.business_time import WorkingCalendar, add_business_time, business_time_between
from app.incidents.lifecycle import OPEN_STATUSES, Status
from app.incidents.models import Ticket

LEVELS = ("high", "medium", "low")
PRIORITIES = ("P1", "P2", "P3", "P4", "P5")
# ITIL matrix: (impact, urgency) -> priority
_MATRIX = {
    ("high", "high"): "P1",
    ("high", "medium"): "P2",
    ("medium", "high"): "P2",
    ("high", "low"): "P3",
    ("medium", "medium"): "P3",
    ("low", "high"): "P3",
    ("medium", "low"): "P4",
    ("low", "medium"): "P4",
    ("low", "low"): "P5",
}


def priority_for(impact: str, urgency: str) -> str:
    """The ITIL priority for an impact and an urgency (each high, medium or low)."""
    return _MATRIX[(impact, urgency)]


AROUND_THE_CLOCK = WorkingCalendar.always_open("UTC")


def calendar_of(
    ticket: Ticket, session: Session | None = None, catalogue: CatalogueView | None = None
) -> WorkingCalendar:
    """The calendar the ticket's clocks count in (from the catalogue cache)."""
    if not ticket.sla_business_hours:
        return AROUND_THE_CLOCK
    if catalogue is not None:
        return catalogue.calendar(ticket.module_id)
    session = session or object_session(ticket)
    if session is None or ticket.module_id is None:  # not in a session yet: its module says
        return working_calendar(ticket.module.calendar if ticket.module else None)
    return calendar_of_module(session, ticket.module_id)


def _minutes(value: int) -> timedelta:
    return timedelta(minutes=value)


def refresh_due_times(ticket: Ticket, warning_ratio: float, session: Session | None = None) -> None:
    """Recompute due and warning instants from the targets, the pauses and the calendar."""
    calendar = calendar_of(ticket, session)
    start = ticket.created_at
    paused = timedelta(seconds=ticket.paused_seconds)
    response = _minutes(ticket.response_target_minutes)
    resolution = _minutes(ticket.resolution_target_minutes)
    ticket.response_due_at = add_business_time(calendar, start, response)
    ticket.response_warn_at = add_business_time(calendar, start, response * warning_ratio)
    ticket.resolution_due_at = add_business_time(calendar, start, resolution + paused)
    ticket.resolution_warn_at = add_business_time(
        calendar, start, resolution * warning_ratio + paused
    )
    ticket.next_due_at = next_due(ticket)


def next_due(ticket: Ticket) -> datetime | None:
    """The deadline the support team races against now (None when no clock runs)."""
    if ticket.status not in OPEN_STATUSES:
        return None
    if ticket.first_response_at is None:
        return ticket.response_due_at
    if ticket.status == Status.WAITING:
        return None
    return ticket.resolution_due_at


def pause(ticket: Ticket, now: datetime) -> None:
    if ticket.paused_since is None:
        ticket.paused_since = now


def resume(ticket: Ticket, now: datetime, warning_ratio: float) -> None:
    """End a pause: its business time pushes the resolution deadline back."""
    if ticket.paused_since is not None:
        gap = business_time_between(calendar_of(ticket), ticket.paused_since, now)
        ticket.paused_seconds += int(gap.total_seconds())
        ticket.paused_since = None
    refresh_due_times(ticket, warning_ratio)


@dataclass(frozen=True)
class ClockView:
    """What a ticket shows about its SLA at one instant."""

    response_due_at: datetime | None
    resolution_due_at: datetime | None
    response_breached: bool
    resolution_breached: bool
    at_risk: bool
    paused: bool
    resolution_elapsed_seconds: int
    resolution_remaining_seconds: int


def resolution_elapsed(ticket: Ticket, now: datetime) -> timedelta:
    """Business time counted against the resolution target so far."""
    calendar = calendar_of(ticket)
    stop = ticket.paused_since or now
    elapsed = business_time_between(calendar, ticket.created_at, stop)
    return max(timedelta(0), elapsed - timedelta(seconds=ticket.paused_seconds))


def resolution_remaining(
    ticket: Ticket, now: datetime, calendar: WorkingCalendar | None = None
) -> timedelta:
    """Business time left until the stored resolution deadline (negative once late), counted
    from where the clock stands: now, or the start of the current pause."""
    due = ticket.resolution_due_at
    if due is None:
        target = _minutes(ticket.resolution_target_minutes)
        return target - resolution_elapsed(ticket, now)
    calendar = calendar or calendar_of(ticket)
    stop = ticket.paused_since or now
    if stop <= due:
        return business_time_between(calendar, stop, due)
    return -business_time_between(calendar, due, stop)


def response_breached(ticket: Ticket, now: datetime) -> bool:
    if ticket.response_breached_at is not None:
        return True
    if ticket.first_response_at is not None or ticket.response_due_at is None:
        return False
    return ticket.status in OPEN_STATUSES and now >= ticket.response_due_at


def resolution_breached(ticket: Ticket, now: datetime) -> bool:
    if ticket.resolution_breached_at is not None:
        return True
    running = ticket.status in OPEN_STATUSES and ticket.paused_since is None
    return running and ticket.resolution_due_at is not None and now >= ticket.resolution_due_at


def clock_view(
    ticket: Ticket,
    now: datetime,
    warning_ratio: float,
    calendar: WorkingCalendar | None = None,
) -> ClockView:
    """The SLA as users see it: deadlines, breaches, at-risk, elapsed and remaining time.

    The resolution deadline was stored as creation + target + pauses in business time, so
    the time elapsed is the target less what remains until that deadline.
    """
    target = _minutes(ticket.resolution_target_minutes)
    elapsed = max(timedelta(0), target - resolution_remaining(ticket, now, calendar))
    open_ = ticket.status in OPEN_STATUSES
    awaiting_response = open_ and ticket.first_response_at is None
    breached_response = response_breached(ticket, now)
    breached_resolution = resolution_breached(ticket, now)
    at_risk = False
    if awaiting_response and not breached_response and ticket.response_warn_at:
        at_risk = now >= ticket.response_warn_at
    if open_ and ticket.paused_since is None and not breached_resolution:
        at_risk = at_risk or elapsed >= target * warning_ratio
    return ClockView(
        response_due_at=ticket.response_due_at,
        resolution_due_at=ticket.resolution_due_at,
        response_breached=breached_response,
        resolution_breached=breached_resolution,
        at_risk=at_risk,
        paused=ticket.paused_since is not None and open_,
        resolution_elapsed_seconds=int(elapsed.total_seconds()),
        resolution_remaining_seconds=int((target - elapsed).total_seconds()),
    )
