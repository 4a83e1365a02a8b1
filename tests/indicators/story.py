"""Generated history for the indicator tests, and the straightforward computation to check by.

The history crosses the end of summer time in Paris (2026-10-25) and a public holiday, has
days without any ticket or usage, tickets that wait on their requester, are reopened, rated,
answered several times, resolved late; usage events come out of order, with duplicates and
accounts in mixed case. ``expected`` recomputes every indicator from that history in plain
Python, one ticket and one event at a time, with the SLA clock's own functions.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

from sqlalchemy import insert, select

from app.catalogue.models import Module
from app.core.business_time import business_time_between
from app.core.clock import replaying
from app.enhancements.models import Enhancement
from app.incidents import sla
from app.incidents.conversation import add_comment
from app.incidents.models import Comment, Satisfaction, Ticket
from app.incidents.service import create_ticket, rate
from app.incidents.transitions import perform
from app.usage.models import UsageDaily

FIRST_DAY = date(2026, 10, 19)
LAST_DAY = date(2026, 11, 4)
HOLIDAY = date(2026, 11, 2)
QUIET_DAYS = {date(2026, 10, 31), date(2026, 11, 1)}  # nothing happens at all
DAY = timedelta(days=1)


def at(day: date, hours: float) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC) + timedelta(hours=hours)


def days() -> list[date]:
    return [FIRST_DAY + n * DAY for n in range((LAST_DAY - FIRST_DAY).days + 1)]


@dataclass
class Story:
    modules: dict[str, Module]
    events: list[tuple[str, str, str, datetime]] = field(default_factory=list)


def build(session, make_user, make_module, make_calendar, seed: int = 7) -> Story:
    """Play tickets, ratings, enhancements and usage through the services, as they happened."""
    rng = random.Random(seed)
    make_calendar(code="PARIS", timezone="Europe/Paris", holidays=(HOLIDAY,))
    # New York leaves summer time a week after Paris (2026-11-01)
    make_calendar(
        code="NYC",
        timezone="America/New_York",
        hours={str(d): [["08:00", "12:00"], ["13:00", "18:30"]] for d in range(6)},
    )
    modules = {
        "FIN": make_module("FIN", name="Finance", calendar="PARIS"),
        "SAL": make_module("SAL", name="Sales", calendar="NYC"),
        "CRM": make_module("CRM", name="Customers"),  # no calendar: a 24x7 clock
        "HR": make_module("HR", name="Human resources"),  # never used: empty groups
    }
    agent = make_user("agent")
    reporters = [make_user("requester") for _ in range(4)]
    for day in days():
        if day in QUIET_DAYS:
            continue
        for _ in range(rng.randint(0, 4)):
            module = rng.choice(["FIN", "SAL", "CRM"])
            _play(session, rng, agent, rng.choice(reporters), day, module)
    _enhancements(session, rng, reporters[0], modules)
    story = Story(modules)
    _usage(session, rng, story)
    session.commit()
    return story


def _play(session, rng, agent, reporter, day: date, module: str) -> None:
    created = at(day, rng.uniform(0, 24))
    impact, urgency = rng.choice([("high", "high"), ("medium", "medium"), ("low", "low")])
    with replaying(created):
        ticket = create_ticket(
            session,
            reporter,
            title="Posting fails",
            description="An error appears.",
            module=module,
            impact=impact,
            urgency=urgency,
        )
    t = created + timedelta(hours=rng.uniform(0.1, 30))
    if t > at(LAST_DAY, 24) or rng.random() < 0.15:
        if rng.random() < 0.4:
            with replaying(t):
                perform(session, reporter, ticket, "cancel")
        return  # left untouched (in the backlog) or cancelled
    with replaying(t):
        perform(session, agent, ticket, "start")
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            add_comment(session, agent, ticket, body="Looking into it.", public=True)
        if rng.random() < 0.3:
            add_comment(session, agent, ticket, body="internal", public=False)
    if rng.random() < 0.35:
        t += timedelta(hours=rng.uniform(1, 20))
        with replaying(t):
            perform(session, agent, ticket, "wait")
        if rng.random() < 0.7:
            t += timedelta(hours=rng.uniform(1, 40))
            with replaying(t):
                add_comment(session, reporter, ticket, body="Here it is.")  # resumes
    t += timedelta(hours=rng.uniform(0.5, 60))
    if rng.random() < 0.2:
        return
    with replaying(t):
        perform(session, agent, ticket, "resolve", resolution_code="fixed", resolution_note="ok")
    if rng.random() < 0.25:
        t += timedelta(hours=rng.uniform(1, 30))
        with replaying(t):
            perform(session, reporter, ticket, "reopen")
        t += timedelta(hours=rng.uniform(1, 30))
        with replaying(t):
            perform(
                session, agent, ticket, "resolve", resolution_code="fixed", resolution_note="ok"
            )
    if rng.random() < 0.6:
        t += timedelta(hours=rng.uniform(0.5, 30))
        with replaying(t):
            rate(session, reporter, ticket, rating=rng.randint(1, 5))
    if rng.random() < 0.3:
        t += timedelta(hours=rng.uniform(1, 72))
        with replaying(t):
            perform(session, reporter, ticket, "close")


def _enhancements(session, rng, requester, modules) -> None:
    for n in range(8):
        module = rng.choice(["FIN", "SAL"])
        created = at(FIRST_DAY - 40 * DAY, 0) + timedelta(hours=rng.uniform(0, 24 * 50))
        released = created + timedelta(hours=rng.uniform(24, 24 * 30)) if n % 4 else None
        session.add(
            Enhancement(
                title=f"Change {n}",
                problem="p",
                benefit="b",
                module_id=modules[module].id,
                requester_id=requester.id,
                status="released" if released else "submitted",
                created_at=created,
                updated_at=released or created,
                released_at=released,
            )
        )
    session.flush()


def _usage(session, rng, story: Story) -> None:
    accounts = [f"user{n}@erp.example" for n in range(12)] + ["EXT-0042"]
    start = FIRST_DAY - 35 * DAY  # a month before, so that MAU has a history
    day = start
    serial = 0
    while day <= LAST_DAY:
        if day not in QUIET_DAYS:
            weekend = day.weekday() >= 5
            for _ in range(rng.randint(0, 4) if weekend else rng.randint(5, 30)):
                serial += 1
                account = rng.choice(accounts)
                account = account.upper() if rng.random() < 0.2 else account
                module = rng.choice(["FIN", "FIN", "SAL", "CRM"])
                when = at(day, rng.choice([0.0, 23.999, rng.uniform(0, 24)]))
                event = (f"e{serial}", account, module, when)
                story.events.append(event)
                if rng.random() < 0.1:
                    story.events.append(event)  # the ERP sent it twice
        day += DAY
    rng.shuffle(story.events)  # arrival order is not time order
    # the daily rollup the usage domain maintains: one row per account, module and UTC day
    seen: set[str] = set()
    rollup: dict[tuple, dict] = {}
    for event_id, account, module, when in story.events:
        if event_id in seen:
            continue
        seen.add(event_id)
        key = (when.date(), story.modules[module].id, account.lower())
        row = rollup.setdefault(
            key,
            {
                "day": key[0],
                "module_id": key[1],
                "account": key[2],
                "events": 0,
                "first_at": when,
                "last_at": when,
            },
        )
        row["events"] += 1
        row["first_at"] = min(row["first_at"], when)
        row["last_at"] = max(row["last_at"], when)
    session.execute(insert(UsageDaily), list(rollup.values()))


# --- the straightforward computation ----------------------------------------------------------


def _within(instant: datetime | None, day: date, days_: int = 1) -> bool:
    if instant is None:
        return False
    return day - (days_ - 1) * DAY <= instant.astimezone(UTC).date() <= day


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _share(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def _of_module(module_id: int, ticket: Ticket) -> bool:
    return ticket.module_id == module_id


def _of_priority(priority: str, ticket: Ticket) -> bool:
    return ticket.priority == priority


def expected(session, story: Story) -> dict[tuple[str, date, str], float | None]:
    """Every indicator for every day and dimension, computed one row at a time."""
    tickets = list(session.scalars(select(Ticket)))
    comments = list(session.scalars(select(Comment)))
    ratings = list(session.scalars(select(Satisfaction)))
    enhancements = list(session.scalars(select(Enhancement)))
    by_ticket = {t.id: t for t in tickets}
    replies: dict[int, int] = defaultdict(int)
    for c in comments:
        if c.public and c.author_id != by_ticket[c.ticket_id].reporter_id:
            replies[c.ticket_id] += 1

    seen: set[str] = set()
    activity: list[tuple[date, int, str]] = []
    for event_id, account, module, when in story.events:
        if event_id not in seen:
            seen.add(event_id)
            activity.append((when.date(), story.modules[module].id, account.lower()))

    module_ids = [m.id for m in story.modules.values()]
    scopes: list[tuple[str, Callable]] = [("overall", lambda t: True)]
    scopes += [(f"module:{m}", partial(_of_module, m)) for m in module_ids]
    priorities = [(f"priority:{p}", partial(_of_priority, f"P{p}")) for p in range(1, 6)]

    def active(day: date, window: int, module_id: int | None) -> int:
        return len(
            {
                a
                for d, m, a in activity
                if day - (window - 1) * DAY <= d <= day and module_id in (None, m)
            }
        )

    out: dict[tuple[str, date, str], float | None] = {}
    for day in days():
        end = at(day, 24)
        for dim, keep in scopes + priorities:
            mine = [t for t in tickets if keep(t)]
            resolved = [t for t in mine if _within(t.resolved_at, day)]
            responded = [t for t in mine if _within(t.first_response_at, day)]
            out[("tickets_opened", day, dim)] = float(sum(_within(t.created_at, day) for t in mine))
            out[("tickets_resolved", day, dim)] = float(len(resolved))
            out[("backlog_open", day, dim)] = float(
                sum(
                    t.created_at < end
                    and not any(s is not None and s < end for s in (t.resolved_at, t.closed_at))
                    for t in mine
                )
            )
            out[("mtta_seconds", day, dim)] = _mean(
                [
                    business_time_between(
                        sla.calendar_of(t, session), t.created_at, t.first_response_at
                    ).total_seconds()
                    for t in responded
                ]
            )
            out[("mttr_seconds", day, dim)] = _mean(
                [sla.resolution_elapsed(t, t.resolved_at).total_seconds() for t in resolved]
            )
            out[("sla_response_compliance_ratio", day, dim)] = _share(
                [
                    t.response_breached_at is None
                    and (t.response_due_at is None or t.first_response_at <= t.response_due_at)
                    for t in resolved
                ]
            )
            out[("sla_resolution_compliance_ratio", day, dim)] = _share(
                [
                    t.resolution_breached_at is None
                    and (
                        t.resolution_due_at is None
                        or (t.paused_since or t.resolved_at) <= t.resolution_due_at
                    )
                    for t in resolved
                ]
            )
            out[("fcr_ratio", day, dim)] = _share(
                [t.reopen_count == 0 and replies[t.id] <= 1 for t in resolved]
            )
            out[("reopen_ratio", day, dim)] = _share([t.reopen_count > 0 for t in resolved])
            if dim.startswith("priority"):
                continue
            rated = [
                r for r in ratings if keep(by_ticket[r.ticket_id]) and _within(r.created_at, day)
            ]
            out[("csat_average", day, dim)] = _mean([r.rating for r in rated])
            out[("csat_satisfied_ratio", day, dim)] = _share([r.rating >= 4 for r in rated])
            module_id = None if dim == "overall" else int(dim.split(":")[1])
            d, w, m = (active(day, n, module_id) for n in (1, 7, 30))
            out[("dau", day, dim)] = float(d)
            out[("wau", day, dim)] = float(w)
            out[("mau", day, dim)] = float(m)
            out[("stickiness_ratio", day, dim)] = d / m if m else None
            opened_30 = sum(_within(t.created_at, day, 30) for t in mine)
            out[("tickets_per_100_mau", day, dim)] = 100 * opened_30 / m if m else None
            released = [
                e
                for e in enhancements
                if _within(e.released_at, day, 30) and module_id in (None, e.module_id)
            ]
            out[("enhancement_lead_time_seconds", day, dim)] = _mean(
                [(e.released_at - e.created_at).total_seconds() for e in released]
            )
    return out
