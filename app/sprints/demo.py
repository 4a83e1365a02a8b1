"""The demo company's sprints: four past Finance sprints replayed through the real services
(velocity, carry-over both ways, scope change, burndown, release notes), and the running sprint
with tasks and their dependencies. Deterministic and small: the same plan every time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.core.clock import replaying
from app.core.outbox import OutboxMessage
from app.enhancements.models import Enhancement, EnhancementVote
from app.sprints import releases, service, tasks
from app.sprints.models import Sprint, SprintItem

TITLES = [
    ("Post recurring journals automatically", "Saves two days at every month-end close."),
    ("Match bank statements by reference", "Cash is reconciled daily instead of weekly."),
    ("Warn before posting into a closed period", "No more reversals after the close."),
    ("Export the VAT return as the tax office file", "The return is filed without retyping."),
    ("Approve supplier invoices from the e-mail", "Approvers answer within the day."),
    ("Show the cost centre owner on every line", "Questions go to the right person at once."),
    ("Split a payment over several invoices", "Partial payments are booked in one step."),
    ("Remind customers before the due date", "Fewer late payments, less chasing."),
    ("Lock exchange rates for the closing", "Reports match between entities."),
    ("Attach the receipt to an expense line", "Auditors find the evidence in one click."),
    ("Budget versus actual per project", "Project leads see overruns early."),
    ("Mass-change payment terms", "Master data stays consistent after a policy change."),
    ("Ageing report by sales region", "Collections focus on the right customers."),
    ("Accrual templates for recurring costs", "Accruals are booked the same way every month."),
    ("Block duplicate supplier invoices", "The same invoice is never paid twice."),
    ("Intercompany invoices created automatically", "Entities stay in balance."),
    ("Fixed asset depreciation preview", "Controllers check the run before posting."),
    ("Credit note linked to its invoice", "Customer balances read correctly."),
    ("Dunning letters in the customer's language", "Customers understand what is due."),
    ("Period-end checklist with owners", "Everyone knows what is left to close."),
    ("Treasury forecast from open items", "Cash needs are known two weeks ahead."),
    ("Journal import from spreadsheets", "Manual entries take minutes, not hours."),
    ("Payment file for the new bank", "Payments run on the day they are due."),
]


@dataclass
class Plan:
    """One past sprint: items as (points, working day it was done or None), scope changes."""

    name: str
    goal: str
    items: list[tuple[int, int | None]]
    added: list[tuple[int, int, int | None]] = field(default_factory=list)  # points, day, done
    removed: list[tuple[int, int]] = field(default_factory=list)  # item index, day
    carry_over: str = "next"


PAST = [
    Plan("Sprint 1", "Faster month-end close", [(5, 3), (3, 5), (8, 8), (2, None)]),
    Plan(
        "Sprint 2",
        "Bank reconciliation",
        [(5, 2), (8, 7), (3, None)],
        added=[(2, 4, 9)],
        carry_over="backlog",
    ),
    Plan(
        "Sprint 3",
        "Supplier invoices",
        [(8, 4), (5, 6), (5, None), (3, None)],
        removed=[(2, 3)],
    ),
    Plan("Sprint 4", "Receivables", [(5, 3), (8, 6), (2, 8)]),
]


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=UTC)


def _working_days(start: date, end: date) -> list[date]:
    days, day = [], start
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


class _Backlog:
    """Approved Finance requests to plan: those already there first, then demo ones."""

    def __init__(self, session: Session, ctx: Any) -> None:
        self.session, self.ctx = session, ctx
        self.found = list(
            session.scalars(
                select(Enhancement)
                .where(Enhancement.status == "approved", Enhancement.module_id == self.fin.id)
                .order_by(Enhancement.id)
            )
        )
        self.made = 0

    @property
    def fin(self):
        return self.ctx.modules["FIN"]

    def take(self) -> Enhancement:
        if self.found:
            return self.found.pop(0)
        title, benefit = TITLES[self.made % len(TITLES)]
        self.made += 1
        rng, ctx = self.ctx.rng, self.ctx
        requester = ctx.users[rng.randrange(len(ctx.users))] if ctx.users else ctx.logins["po"]
        request = Enhancement(
            title=title,
            problem="Today this is done by hand, with spreadsheets and e-mails.",
            benefit=benefit,
            module_id=self.fin.id,
            requester_id=requester.id,
            status="approved",
            created_at=ctx.now - timedelta(days=120),
            approved_at=ctx.now - timedelta(days=100),
            decision="approve",
            decision_rationale="Clear benefit for the close; small enough for one sprint.",
            decided_at=ctx.now - timedelta(days=100),
        )
        self.session.add(request)
        self.session.flush()
        voters = {u.id for u in rng.sample(ctx.users, k=min(3, len(ctx.users)))} - {requester.id}
        for voter in sorted(voters):
            self.session.add(EnhancementVote(enhancement_id=request.id, user_id=voter))
        request.vote_count = len(voters)
        return request


def _play_past(
    session: Session, po, backlog: _Backlog, sprint: Sprint, plan: Plan, carried: list[SprintItem]
) -> None:
    days = _working_days(sprint.start_date, sprint.end_date)
    with replaying(_at(sprint.start_date, 8)):
        items = [
            service.add_item(session, po, sprint, ref=backlog.take().ref, points=p)
            for p, _ in plan.items
        ]
        service.start_sprint(session, po, sprint)
    # carried items were finished on the first day of their new sprint
    done_on = {item.id: 1 for item in carried} | {
        items[i].id: d for i, (_, d) in enumerate(plan.items) if d
    }
    every = carried + items
    for number, day in enumerate(days, start=1):
        with replaying(_at(day, 10)):
            for points, added_day, done_day in plan.added:
                if added_day == number:
                    extra = service.add_item(
                        session, po, sprint, ref=backlog.take().ref, points=points
                    )
                    every.append(extra)
                    if done_day:
                        done_on[extra.id] = done_day
            for index, removed_day in plan.removed:
                if removed_day == number:
                    service.remove_item(session, po, sprint, items[index])
        with replaying(_at(day, 15)):
            for item in every:
                if done_on.get(item.id) == number and item.in_scope:
                    service.move_item(session, po, sprint, item, "done")
            service.record_burndown_point(session, sprint, day)


def play_sprints(session: Session, ctx: Any) -> None:
    """Replay the past sprints, release what they delivered, and set up the running one."""
    po = ctx.logins["po"]
    backlog = _Backlog(session, ctx)
    today = ctx.now.date()
    running_start = today - timedelta(days=today.weekday() + 7)  # Monday of last week
    starts = [running_start - timedelta(days=14 * k) for k in range(len(PAST), 0, -1)]
    with replaying(_at(starts[0], 7) - timedelta(days=3)):
        sprints = [
            service.create_sprint(
                session,
                po,
                name=plan.name,
                goal=plan.goal,
                start_date=start,
                end_date=start + timedelta(days=11),
                capacity_points=20,
                module="FIN",
            )
            for plan, start in zip(PAST, starts, strict=True)
        ]
        running = service.create_sprint(
            session,
            po,
            name=f"Sprint {len(PAST) + 1}",
            goal="Treasury and payments",
            start_date=running_start,
            end_date=running_start + timedelta(days=11),
            capacity_points=20,
            module="FIN",
        )
    carried: list[SprintItem] = []
    for sprint, plan in zip(sprints, PAST, strict=True):
        _play_past(session, po, backlog, sprint, plan, carried)
        with replaying(_at(sprint.end_date, 16)):
            service.close_sprint(session, po, sprint, carry_over=plan.carry_over)
            releases.release_sprint(session, po, sprint)
        carried = list(
            session.scalars(
                select(SprintItem).where(
                    SprintItem.carried_over.is_(None),
                    SprintItem.id.in_(
                        select(SprintItem.carried_to_id).where(SprintItem.sprint_id == sprint.id)
                    ),
                )
            )
        )
    _play_running(session, ctx, po, backlog, running)
    for _ in range(3):  # a few approved requests stay in the backlog
        backlog.take()
    # history is replayed, not news: nobody is told about it
    session.execute(delete(OutboxMessage).where(OutboxMessage.job.like("app.sprints.%")))
    ctx.summary["sprints"] = len(sprints) + 1


def _play_running(session: Session, ctx: Any, po, backlog: _Backlog, sprint: Sprint) -> None:
    """The running sprint: one item done, one in progress with a chain of dependent tasks."""
    days = _working_days(sprint.start_date, min(sprint.end_date, ctx.now.date()))
    with replaying(_at(sprint.start_date, 8)):
        items = [
            service.add_item(session, po, sprint, ref=backlog.take().ref, points=p)
            for p in (5, 8, 3, 2)
        ]
        service.start_sprint(session, po, sprint)
        developer = ctx.agents[0] if ctx.agents else po
        owner = developer.email

        def task(item, title, days_, *blockers):
            return tasks.add_task(
                session,
                po,
                sprint,
                item,
                title=title,
                estimate_days=days_,
                owner=owner,
                blocked_by=[b.id for b in blockers],
            )

        design = task(items[1], "Agree the cash positions with treasury", 2)
        build = task(items[1], "Build the forecast from open items", 3, design)
        rates = task(items[1], "Load the planned exchange rates", 1, design)
        task(items[1], "Check the forecast against last month", 2, build, rates)
        task(items[2], "Bank file format and test payments", 4)
        task(items[3], "Map payment terms", 1)
    first_day = days[0] if days else sprint.start_date
    with replaying(_at(first_day, 15)):
        service.record_burndown_point(session, sprint, first_day)
    if len(days) >= 3:
        with replaying(_at(days[2], 15)):
            service.move_item(session, po, sprint, items[0], "done")
            service.move_item(session, po, sprint, items[1], "start")
            tasks.move_task(session, po, sprint, design, "finish")
            tasks.move_task(session, po, sprint, build, "start")
    for day in days[1:]:
        with replaying(_at(day, 15)):
            service.record_burndown_point(session, sprint, day)
