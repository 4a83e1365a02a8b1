"""Computing indicator snapshots: one function per registry key, SQL aggregations only.

Each function answers the points of one UTC day for every dimension its registry entry lists
(overall, each module, each priority), from grouped aggregate queries: the database does the
counting; Python only names the groups. ``recompute_day`` replaces the day's snapshots of every
indicator in one transaction (delete, then insert), each stamped with ``computed_at``.

Access rights and sprints are read through their models (grants, requests, closed sprints).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import (
    and_,
    case,
    delete,
    distinct,
    func,
    insert,
    null,
    or_,
    select,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select
from sqlalchemy.sql.expression import ColumnElement

from app.access.lifecycle import UNDECIDED
from app.access.models import AccessGrant, AccessRequest, AccessRequestRole, ErpRole
from app.catalogue.models import Module
from app.core.clock import utcnow
from app.enhancements.models import Enhancement
from app.incidents.models import Comment, Satisfaction, Ticket
from app.indicators import registry
from app.indicators.business_clock import business_seconds, ensure_spans, epoch
from app.indicators.models import IndicatorRun, IndicatorSnapshot, dimension_of
from app.indicators.registry import Dimension
from app.sprints.lifecycle import SprintStatus
from app.sprints.models import Sprint
from app.usage.models import UsageDaily

PRIORITY_NUMBERS = (1, 2, 3, 4, 5)
DAY = timedelta(days=1)
ACTIVATION_DAYS = 14


@dataclass(frozen=True)
class Point:
    """One computed value of an indicator for one dimension of the day."""

    module_id: int | None = None
    priority: int | None = None
    value: float | None = None
    numerator: float | None = None
    denominator: float | None = None


@dataclass
class Day:
    """What every computation of one day needs: the session, the day's bounds, the modules."""

    session: Session
    day: date
    module_ids: list[int]
    active: dict[int, dict[int | None, int]] = field(default_factory=dict)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.day, time(0), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.start + DAY

    def window_start(self, days: int) -> datetime:
        """The start of the ``days`` UTC days ending with this one."""
        return self.start - (days - 1) * DAY


class Kind:
    COUNT = "count"  # value = numerator; an empty group is 0
    RATIO = "ratio"  # value = numerator / denominator; none when the denominator is 0


def _priority_number(raw: str | int | None) -> int | None:
    if raw is None:
        return None
    text = str(raw)
    return int(text[1:]) if text[:1] in "Pp" else int(text)


def _add(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else a + b


def _grouped(
    ctx: Day,
    key: str,
    kind: str,
    base: Callable[[list[ColumnElement]], Select],
    module_col: ColumnElement | None,
    priority_col: ColumnElement | None = None,
) -> list[Point]:
    """Run ``base`` (a select of a numerator and a denominator, both sums or counts) grouped
    by module and priority in one query, add the groups up for each dimension of ``key``, and
    complete the groups nobody appeared in. Sums and counts add up exactly; the few grouped
    rows (modules x priorities) are all Python sees."""
    dims = registry.get(key).dimensions
    groups = [c for c in (module_col, priority_col) if c is not None]
    totals: dict[tuple[str, int | None], tuple[float | None, float | None]] = {}
    for row in ctx.session.execute(base(groups).group_by(*groups)):
        num, den, rest = row[0], row[1], list(row[2:])
        module_id = rest.pop(0) if module_col is not None else None
        priority = _priority_number(rest.pop(0)) if priority_col is not None else None
        for scope in (("overall", None), ("module", module_id), ("priority", priority)):
            before = totals.get(scope, (None, None))
            totals[scope] = (_add(before[0], num), _add(before[1], den))

    def point(scope, module_id=None, priority=None) -> Point:
        num, den = totals.get(scope, (None, None))
        num = float(num) if num is not None else (0.0 if kind == Kind.COUNT else None)
        den = float(den) if den is not None else None
        if kind == Kind.COUNT:
            return Point(module_id, priority, num, num, None)
        value = num / den if den and num is not None else None
        return Point(module_id, priority, value, num or 0.0, den or 0.0)

    points = [point(("overall", None))]
    if Dimension.MODULE in dims and module_col is not None:
        points += [point(("module", m), module_id=m) for m in ctx.module_ids]
    if Dimension.PRIORITY in dims and priority_col is not None:
        points += [point(("priority", p), priority=p) for p in PRIORITY_NUMBERS]
    return points


# --- support: tickets and the SLA clock ---------------------------------------------------------


def _tickets(ctx: Day, key: str, kind: str, num, den, *where) -> list[Point]:
    def base(groups: list[ColumnElement]) -> Select:
        return (
            select(num, den, *groups)
            .select_from(Ticket)
            .join(Module, Module.id == Ticket.module_id)
            .where(*where)
        )

    return _grouped(ctx, key, kind, base, Ticket.module_id, Ticket.priority)


def _within(col: ColumnElement, start: datetime, end: datetime) -> ColumnElement:
    return and_(col >= start, col < end)


_COUNT = func.count(Ticket.id)
_NONE = null()  # a count has no denominator


def _clock_stop() -> ColumnElement:
    """Where the resolution clock stopped: the pause that resolving starts (or one already
    running when the ticket was resolved while waiting on its requester)."""
    return func.coalesce(Ticket.paused_since, Ticket.resolved_at)


def _business(start: ColumnElement, stop: ColumnElement) -> ColumnElement:
    # the ticket queries join its module, so the calendar is a column of the row
    return business_seconds(Module.calendar_id, Ticket.sla_business_hours, start, stop)


def tickets_opened(ctx: Day) -> list[Point]:
    return _tickets(
        ctx,
        "tickets_opened",
        Kind.COUNT,
        _COUNT,
        _NONE,
        _within(Ticket.created_at, ctx.start, ctx.end),
    )


def tickets_resolved(ctx: Day) -> list[Point]:
    return _tickets(
        ctx,
        "tickets_resolved",
        Kind.COUNT,
        _COUNT,
        _NONE,
        _within(Ticket.resolved_at, ctx.start, ctx.end),
    )


def backlog_open(ctx: Day) -> list[Point]:
    stop = func.coalesce(Ticket.resolved_at, Ticket.closed_at)
    return _tickets(
        ctx,
        "backlog_open",
        Kind.COUNT,
        _COUNT,
        _NONE,
        Ticket.created_at < ctx.end,
        or_(stop.is_(None), stop >= ctx.end),
    )


def mtta_seconds(ctx: Day) -> list[Point]:
    seconds = _business(Ticket.created_at, Ticket.first_response_at)
    return _tickets(
        ctx,
        "mtta_seconds",
        Kind.RATIO,
        func.sum(seconds),
        func.count(Ticket.id),
        _within(Ticket.first_response_at, ctx.start, ctx.end),
    )


def mttr_seconds(ctx: Day) -> list[Point]:
    seconds = _business(Ticket.created_at, _clock_stop()) - Ticket.paused_seconds
    return _tickets(
        ctx,
        "mttr_seconds",
        Kind.RATIO,
        func.sum(case((seconds > 0, seconds), else_=0.0)),
        func.count(Ticket.id),
        _within(Ticket.resolved_at, ctx.start, ctx.end),
    )


def _share_of_resolved(ctx: Day, key: str, condition: ColumnElement) -> list[Point]:
    return _tickets(
        ctx,
        key,
        Kind.RATIO,
        func.sum(case((condition, 1), else_=0)),
        func.count(Ticket.id),
        _within(Ticket.resolved_at, ctx.start, ctx.end),
    )


def sla_response_compliance_ratio(ctx: Day) -> list[Point]:
    met = and_(
        Ticket.response_breached_at.is_(None),
        or_(
            Ticket.response_due_at.is_(None),
            and_(
                Ticket.first_response_at.is_not(None),
                Ticket.first_response_at <= Ticket.response_due_at,
            ),
        ),
    )
    return _share_of_resolved(ctx, "sla_response_compliance_ratio", met)


def sla_resolution_compliance_ratio(ctx: Day) -> list[Point]:
    met = and_(
        Ticket.resolution_breached_at.is_(None),
        or_(Ticket.resolution_due_at.is_(None), _clock_stop() <= Ticket.resolution_due_at),
    )
    return _share_of_resolved(ctx, "sla_resolution_compliance_ratio", met)


def fcr_ratio(ctx: Day) -> list[Point]:
    # an agent reply: a public comment by anyone but the requester who reported the ticket
    replies = (
        select(func.count(Comment.id))
        .where(
            Comment.ticket_id == Ticket.id,
            Comment.public.is_(True),
            Comment.author_id != Ticket.reporter_id,
        )
        .scalar_subquery()
    )
    first_contact = and_(Ticket.reopen_count == 0, replies <= 1)
    return _share_of_resolved(ctx, "fcr_ratio", first_contact)


def reopen_ratio(ctx: Day) -> list[Point]:
    return _share_of_resolved(ctx, "reopen_ratio", Ticket.reopen_count > 0)


def _ratings(ctx: Day, key: str, num: ColumnElement) -> list[Point]:
    def base(groups: list[ColumnElement]) -> Select:
        return (
            select(num, func.count(Satisfaction.id), *groups)
            .select_from(Satisfaction)
            .join(Ticket, Ticket.id == Satisfaction.ticket_id)
            .where(_within(Satisfaction.created_at, ctx.start, ctx.end))
        )

    return _grouped(ctx, key, Kind.RATIO, base, Ticket.module_id, Ticket.priority)


def csat_average(ctx: Day) -> list[Point]:
    return _ratings(ctx, "csat_average", func.sum(Satisfaction.rating))


def csat_satisfied_ratio(ctx: Day) -> list[Point]:
    return _ratings(
        ctx, "csat_satisfied_ratio", func.sum(case((Satisfaction.rating >= 4, 1), else_=0))
    )


# --- adoption: the daily usage rollup -------------------------------------------------------


def _active_accounts(ctx: Day, days: int) -> dict[int | None, int]:
    """Distinct accounts active in the ``days`` days ending this one: overall (None) and per
    module (read once per day and window: several indicators share them)."""
    known = ctx.active.get(days)
    if known is None:
        known = ctx.active[days] = _count_active_accounts(ctx, days)
    return known


def _count_active_accounts(ctx: Day, days: int) -> dict[int | None, int]:
    first = ctx.day - timedelta(days=days - 1)
    window = and_(UsageDaily.day >= first, UsageDaily.day <= ctx.day)
    overall = ctx.session.scalar(select(func.count(distinct(UsageDaily.account))).where(window))
    counts: dict[int | None, int] = {None: overall or 0}
    for module_id, count in ctx.session.execute(
        select(UsageDaily.module_id, func.count(distinct(UsageDaily.account)))
        .where(window)
        .group_by(UsageDaily.module_id)
    ):
        counts[module_id] = count
    return counts


def _scopes(ctx: Day) -> list[int | None]:
    return [None, *ctx.module_ids]


def _active_points(ctx: Day, days: int) -> list[Point]:
    counts = _active_accounts(ctx, days)
    return [
        Point(m, None, float(counts.get(m, 0)), float(counts.get(m, 0)), None) for m in _scopes(ctx)
    ]


def dau(ctx: Day) -> list[Point]:
    return _active_points(ctx, 1)


def wau(ctx: Day) -> list[Point]:
    return _active_points(ctx, 7)


def mau(ctx: Day) -> list[Point]:
    return _active_points(ctx, 30)


def _ratio(num: float, den: float, module_id: int | None) -> Point:
    return Point(module_id, None, num / den if den else None, num, den)


def stickiness_ratio(ctx: Day) -> list[Point]:
    daily, monthly = _active_accounts(ctx, 1), _active_accounts(ctx, 30)
    return [_ratio(daily.get(m, 0), monthly.get(m, 0), m) for m in _scopes(ctx)]


def tickets_per_100_mau(ctx: Day) -> list[Point]:
    monthly = _active_accounts(ctx, 30)
    window = _within(Ticket.created_at, ctx.window_start(30), ctx.end)
    opened: dict[int | None, int] = {None: 0}
    for module_id, count in ctx.session.execute(
        select(Ticket.module_id, func.count(Ticket.id)).where(window).group_by(Ticket.module_id)
    ):
        opened[module_id] = count
        opened[None] += count
    return [_ratio(100.0 * opened.get(m, 0), monthly.get(m, 0), m) for m in _scopes(ctx)]


# --- access rights: grants and requests ---------------------------------------------------
# A grant holds from its provisioning (``provisioned_at``: active in the ERP; ``granted_at`` is
# only its approval) until it ends; a request waits from submission until its decision
# (approval, rejection or cancellation all stamp ``decided_at``).


def _active_grants(ctx: Day) -> ColumnElement:
    g = AccessGrant
    return and_(
        g.provisioned_at.is_not(None),
        g.provisioned_at < ctx.end,
        or_(g.ended_at.is_(None), g.ended_at >= ctx.end),
    )


def _grant_counts(ctx: Day, count: ColumnElement, *where) -> dict[int | None, int]:
    g = AccessGrant
    query = select(count).select_from(g).where(*where)
    found: dict[int | None, int] = {None: ctx.session.scalar(query) or 0}
    grouped = select(g.module_id, count).select_from(g).where(*where).group_by(g.module_id)
    for module_id, n in ctx.session.execute(grouped):
        found[module_id] = n
    return found


def license_utilisation_ratio(ctx: Day) -> list[Point]:
    monthly = _active_accounts(ctx, 30)
    holders = _grant_counts(ctx, func.count(distinct(AccessGrant.user_id)), _active_grants(ctx))
    return [_ratio(monthly.get(m, 0), holders.get(m, 0), m) for m in _scopes(ctx)]


def activation_ratio(ctx: Day) -> list[Point]:
    g = AccessGrant
    started = _within(
        g.provisioned_at,
        ctx.window_start(30) - ACTIVATION_DAYS * DAY,
        ctx.end - ACTIVATION_DAYS * DAY,
    )
    used = and_(
        g.first_used_at.is_not(None),
        g.first_used_at < ctx.end,
        epoch(g.first_used_at) - epoch(g.provisioned_at) <= ACTIVATION_DAYS * 86400,
    )
    total = _grant_counts(ctx, func.count(g.id), started)
    activated = _grant_counts(ctx, func.count(g.id), started, used)
    return [_ratio(activated.get(m, 0), total.get(m, 0), m) for m in _scopes(ctx)]


def dormant_grants(ctx: Day) -> list[Point]:
    # ``dormant_since`` is when the dormancy period ran out, as the dormant scan recorded it
    g = AccessGrant
    counts = _grant_counts(
        ctx,
        func.count(g.id),
        _active_grants(ctx),
        g.dormant_since.is_not(None),
        g.dormant_since < ctx.end,
    )
    return [Point(m, None, float(counts.get(m, 0)), float(counts.get(m, 0))) for m in _scopes(ctx)]


def pending_access_requests(ctx: Day) -> list[Point]:
    r = AccessRequest
    undecided = and_(r.decided_at.is_(None), r.status.in_([s.value for s in UNDECIDED]))
    pending = and_(r.created_at < ctx.end, or_(undecided, r.decided_at >= ctx.end))
    overall = ctx.session.scalar(select(func.count(r.id)).where(pending)) or 0
    counts: dict[int | None, int] = {None: overall}
    per_module = (
        select(ErpRole.module_id, func.count(distinct(r.id)))
        .select_from(r)
        .join(AccessRequestRole, AccessRequestRole.request_id == r.id)
        .join(ErpRole, ErpRole.id == AccessRequestRole.role_id)
        .where(pending)
        .group_by(ErpRole.module_id)
    )
    for module_id, n in ctx.session.execute(per_module):
        counts[module_id] = n
    return [Point(m, None, float(counts.get(m, 0)), float(counts.get(m, 0))) for m in _scopes(ctx)]


# --- sprints: velocity and predictability at close -----------------------------------------


def _last_sprints(ctx: Day) -> Select:
    """Per module and overall, the three sprints closed last on or before the day, ranked."""
    s = Sprint
    last_first = (s.closed_at.desc(), s.id.desc())
    return select(
        s.module_id,
        s.committed_points,
        s.done_points,
        func.row_number().over(partition_by=s.module_id, order_by=last_first).label("m"),
        func.row_number().over(order_by=last_first).label("o"),
    ).where(s.status == SprintStatus.CLOSED.value, s.closed_at.is_not(None), s.closed_at < ctx.end)


def _sprint_sums(ctx: Day) -> dict[int | None, tuple[float, float, int]]:
    ranked = _last_sprints(ctx).subquery()
    sums: dict[int | None, tuple[float, float, int]] = {}
    overall = ctx.session.execute(
        select(
            func.sum(ranked.c.done_points),
            func.sum(ranked.c.committed_points),
            func.count(),
        ).where(ranked.c.o <= 3)
    ).one()
    sums[None] = (float(overall[0] or 0), float(overall[1] or 0), overall[2])
    for module_id, done, committed, n in ctx.session.execute(
        select(
            ranked.c.module_id,
            func.sum(ranked.c.done_points),
            func.sum(ranked.c.committed_points),
            func.count(),
        )
        .where(ranked.c.m <= 3, ranked.c.module_id.is_not(None))
        .group_by(ranked.c.module_id)
    ):
        sums[module_id] = (float(done or 0), float(committed or 0), n)
    return sums


def velocity_points(ctx: Day) -> list[Point]:
    sums = _sprint_sums(ctx)
    return [_ratio(sums.get(m, (0, 0, 0))[0], sums.get(m, (0, 0, 0))[2], m) for m in _scopes(ctx)]


def predictability_ratio(ctx: Day) -> list[Point]:
    sums = _sprint_sums(ctx)
    return [_ratio(sums.get(m, (0, 0, 0))[0], sums.get(m, (0, 0, 0))[1], m) for m in _scopes(ctx)]


def enhancement_lead_time_seconds(ctx: Day) -> list[Point]:
    seconds = epoch(Enhancement.released_at) - epoch(Enhancement.created_at)

    def base(groups: list[ColumnElement]) -> Select:
        return select(func.sum(seconds), func.count(Enhancement.id), *groups).where(
            _within(Enhancement.released_at, ctx.window_start(30), ctx.end)
        )

    return _grouped(ctx, "enhancement_lead_time_seconds", Kind.RATIO, base, Enhancement.module_id)


Computation = Callable[[Day], "list[Point] | None"]

COMPUTATIONS: dict[str, Computation] = {
    "tickets_opened": tickets_opened,
    "tickets_resolved": tickets_resolved,
    "backlog_open": backlog_open,
    "mtta_seconds": mtta_seconds,
    "mttr_seconds": mttr_seconds,
    "sla_response_compliance_ratio": sla_response_compliance_ratio,
    "sla_resolution_compliance_ratio": sla_resolution_compliance_ratio,
    "fcr_ratio": fcr_ratio,
    "reopen_ratio": reopen_ratio,
    "csat_average": csat_average,
    "csat_satisfied_ratio": csat_satisfied_ratio,
    "dau": dau,
    "wau": wau,
    "mau": mau,
    "stickiness_ratio": stickiness_ratio,
    "license_utilisation_ratio": license_utilisation_ratio,
    "activation_ratio": activation_ratio,
    "tickets_per_100_mau": tickets_per_100_mau,
    "dormant_grants": dormant_grants,
    "pending_access_requests": pending_access_requests,
    "enhancement_lead_time_seconds": enhancement_lead_time_seconds,
    "velocity_points": velocity_points,
    "predictability_ratio": predictability_ratio,
}


def _module_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Module.id).order_by(Module.id)))


def _first_ticket_day(session: Session) -> date | None:
    first = session.scalar(select(func.min(Ticket.created_at)))
    return first.astimezone(UTC).date() if first else None


def prepare(session: Session, first: date, last: date) -> None:
    """Lay out the business calendars for the tickets these days can read (their creation)."""
    since = _first_ticket_day(session) or first
    ensure_spans(session, min(since, first) - DAY, last + DAY)


def recompute_day(
    session: Session, day: date, keys: Iterable[str] | None = None, *, module_ids=None
) -> int:
    """Replace the snapshots of ``day`` (every indicator, or ``keys``); returns how many points
    were written. The caller commits: the delete and the inserts land together."""
    ctx = Day(session, day, module_ids if module_ids is not None else _module_ids(session))
    now = utcnow()
    wanted = list(keys) if keys is not None else list(COMPUTATIONS)
    rows: list[dict] = []
    for key in wanted:
        registry.get(key)
        points = COMPUTATIONS[key](ctx)
        if points is None:
            continue
        rows += [
            {
                "key": key,
                "day": day,
                "dimension": dimension_of(p.module_id, p.priority),
                "module_id": p.module_id,
                "priority": p.priority,
                "value": p.value,
                "numerator": p.numerator,
                "denominator": p.denominator,
                "computed_at": now,
            }
            for p in points
        ]
    session.execute(
        delete(IndicatorSnapshot).where(
            IndicatorSnapshot.day == day, IndicatorSnapshot.key.in_(wanted)
        ),
        execution_options={"synchronize_session": False},
    )
    if rows:
        session.execute(insert(IndicatorSnapshot), rows)
    return len(rows)


def recompute(session: Session, days: Iterable[date], reason: str = "manual") -> IndicatorRun:
    """Recompute every indicator of ``days`` and record the run; the caller commits.

    Each day is replaced whole (delete + insert in the caller's transaction), so running it
    twice gives the same snapshots with a later ``computed_at``.
    """
    wanted = sorted(set(days))
    run = IndicatorRun(
        reason=reason,
        first_day=wanted[0] if wanted else utcnow().date(),
        last_day=wanted[-1] if wanted else utcnow().date(),
        started_at=utcnow(),
        days=0,
        snapshots=0,
    )
    session.add(run)
    if wanted:
        prepare(session, wanted[0], wanted[-1])
        module_ids = _module_ids(session)
        for day in wanted:
            run.snapshots += recompute_day(session, day, module_ids=module_ids)
    run.days = len(wanted)
    run.finished_at = utcnow()
    session.flush()
    return run


def days_between(first: date, last: date) -> list[date]:
    """Every day from ``first`` to ``last``, inclusive."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
