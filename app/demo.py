"""The demo company: a plausible mid-size firm some months after its ERP went live.

One seeded, deterministic generator; each domain adds a step to ``STEPS``. A second run finds
the demo administrator and reuses what is there.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalogue import service as catalogue
from app.core.clock import replaying, utcnow
from app.identity.models import User
from app.identity.service import hash_password, save_user

DEMO_PASSWORD = "steward-demo"
DEMO_DOMAIN = "demo.steward.test"
DEMO_LOGINS = [
    (f"admin@{DEMO_DOMAIN}", "admin"),
    (f"agent@{DEMO_DOMAIN}", "agent"),
    (f"requester@{DEMO_DOMAIN}", "requester"),
    (f"keyuser@{DEMO_DOMAIN}", "key_user (FIN)"),
    (f"po@{DEMO_DOMAIN}", "product_owner"),
    (f"approver@{DEMO_DOMAIN}", "approver (FIN)"),
    (f"auditor@{DEMO_DOMAIN}", "auditor"),
    (f"committee@{DEMO_DOMAIN}", "committee_member"),
]

MODULES = [
    ("FIN", "Finance", "General ledger, payables, receivables, closing"),
    ("SAL", "Sales", "Quotes, orders, invoicing, pricing"),
    ("PUR", "Purchasing", "Requisitions, purchase orders, supplier invoices"),
    ("INV", "Inventory", "Stock, warehouses, transfers, counts"),
    ("HR", "Human Resources", "Employees, absences, payroll interface"),
    ("CRM", "Customer Relations", "Accounts, contacts, opportunities, cases"),
    ("MFG", "Manufacturing", "Bills of materials, work orders, routings"),
]
DEPARTMENTS = [
    "Finance",
    "Sales",
    "Purchasing",
    "Logistics",
    "HR",
    "Customer Service",
    "Production",
    "IT",
    "Management",
]
FIRST = [
    "Ana",
    "Ben",
    "Chloé",
    "David",
    "Emma",
    "Farid",
    "Greta",
    "Hugo",
    "Inès",
    "Jonas",
    "Karim",
    "Léa",
    "Marco",
    "Nina",
    "Omar",
    "Paula",
    "Quentin",
    "Rosa",
    "Sami",
    "Tess",
    "Ugo",
    "Vera",
    "Wim",
    "Xenia",
    "Yann",
    "Zoé",
]
LAST = [
    "Martin",
    "Bernard",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Garcia",
    "Roux",
    "Fontaine",
    "Chevalier",
    "Muller",
    "Keller",
    "Rossi",
    "Novak",
    "Jansen",
    "Silva",
    "Costa",
    "Weber",
    "Lambert",
]


@dataclass
class DemoContext:
    """What the steps share: the random source, the time span, and what earlier steps made."""

    rng: random.Random
    now: datetime
    months: int
    user_count: int
    users: list[User] = field(default_factory=list)
    agents: list[User] = field(default_factory=list)
    modules: dict[str, Any] = field(default_factory=dict)
    logins: dict[str, User] = field(default_factory=dict)
    summary: dict[str, int] = field(default_factory=dict)

    @property
    def start(self) -> datetime:
        return self.now - timedelta(days=30 * self.months)


def _catalogue(session: Session, ctx: DemoContext) -> None:
    paris = catalogue.create_calendar(
        session,
        None,
        code="EU_OFFICE",
        name="European office hours",
        timezone="Europe/Paris",
        working_hours={str(d): [["08:30", "12:30"], ["13:30", "17:30"]] for d in range(5)},
        country="FR",
    )
    years = sorted({ctx.start.year, ctx.now.year, ctx.now.year + 1})
    catalogue.import_public_holidays(session, None, paris, "FR", years)
    ny = catalogue.create_calendar(
        session,
        None,
        code="US_OFFICE",
        name="US office hours",
        timezone="America/New_York",
        working_hours={str(d): [["09:00", "17:00"]] for d in range(5)},
        country="US",
    )
    catalogue.import_public_holidays(session, None, ny, "US", years)
    for code, name, description in MODULES:
        group = catalogue.create_group(
            session,
            None,
            code=f"{code}_SUP",
            name=f"{name} support",
            email=f"{code.lower()}-support@{DEMO_DOMAIN}",
        )
        module = catalogue.create_module(
            session,
            None,
            code=code,
            name=name,
            description=description,
            support_group=group.code,
            calendar="US_OFFICE" if code == "CRM" else "EU_OFFICE",
        )
        ctx.modules[code] = module
    ctx.summary["modules"] = len(MODULES)


def _people(session: Session, ctx: DemoContext) -> None:
    demo_hash = hash_password(DEMO_PASSWORD)
    fin = ctx.modules["FIN"].id
    named = [
        ("admin", "Alex Admin", "IT", [("admin", None)]),
        ("agent", "Sam Support", "IT", [("agent", None)]),
        ("requester", "Rita Requester", "Finance", [("requester", None)]),
        ("keyuser", "Kim Keyuser", "Finance", [("requester", None), ("key_user", fin)]),
        ("po", "Pat Owner", "IT", [("product_owner", None)]),
        ("approver", "Aude Approver", "Finance", [("approver", fin)]),
        ("auditor", "Otto Auditor", "Management", [("auditor", None)]),
        ("committee", "Cleo Committee", "Management", [("committee_member", None)]),
    ]
    for local, name, department, roles in named:
        user, _ = save_user(
            session,
            None,
            email=f"{local}@{DEMO_DOMAIN}",
            name=name,
            department=department,
            roles=roles,
        )
        user.password_hash = demo_hash
        user.created_at = ctx.start
        user.timezone = "Europe/Paris"  # the demo company works from Paris
        ctx.logins[local] = user
    ctx.agents.append(ctx.logins["agent"])
    rng = ctx.rng
    for i in range(ctx.user_count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        department = rng.choice(DEPARTMENTS)
        roles: list[tuple[str, int | None]] = [("requester", None)]
        if department == "IT" and len(ctx.agents) < 12:
            roles = [("agent", None)]
        elif i % 40 == 0:
            roles.append(("key_user", rng.choice(list(ctx.modules.values())).id))
        user, _ = save_user(
            session,
            None,
            email=f"{first}.{last}.{i}@{DEMO_DOMAIN}".lower(),
            name=f"{first} {last}",
            department=department,
            roles=roles,
        )
        user.created_at = ctx.start + timedelta(days=rng.randint(0, 20))
        (ctx.agents if roles == [("agent", None)] else ctx.users).append(user)
    ctx.users.append(ctx.logins["requester"])
    ctx.users.append(ctx.logins["keyuser"])
    for module in ctx.modules.values():
        members = rng.sample(ctx.agents, k=min(3, len(ctx.agents)))
        if module.code in {"FIN", "SAL"}:
            members.append(ctx.logins["agent"])
        catalogue.set_group_members(
            session, None, module.support_group, list(dict.fromkeys(members))
        )
    ctx.summary["users"] = len(ctx.users) + len(ctx.agents)


TICKET_SUBJECTS = {
    "FIN": [
        "Invoice posting fails: period closed",
        "VAT report totals differ from ledger",
        "Payment run stuck in approval",
        "Bank statement import rejected",
        "Cannot reverse journal entry",
        "Cost centre missing in dropdown",
    ],
    "SAL": [
        "Price list not applied to order",
        "Order confirmation PDF empty",
        "Credit limit blocks a paid customer",
        "Discount rule applied twice",
        "Delivery date not shown on quote",
    ],
    "PUR": [
        "Purchase order approval loops",
        "Supplier invoice three-way match fails",
        "Requisition cannot be converted",
        "Wrong buyer assigned to category",
    ],
    "INV": [
        "Stock count variance not posted",
        "Transfer order stuck in transit",
        "Negative stock on bin location",
        "Barcode scanner rejects labels",
    ],
    "HR": [
        "Absence request not visible to manager",
        "Payroll export misses overtime",
        "New hire cannot log in",
        "Org chart shows old manager",
    ],
    "CRM": [
        "Opportunity stage cannot be saved",
        "Duplicate contacts after import",
        "Case e-mail not linked to account",
        "Dashboard widget times out",
    ],
    "MFG": [
        "Work order routing missing operation",
        "BOM explosion wrong quantities",
        "Shop floor terminal freezes",
        "Scrap not booked on work order",
    ],
}
# (impact, urgency) weighted so that P3/P4 dominate and P1 is rare, as in real run phases
RATINGS_PROFILE = [
    (("medium", "medium"), 30),
    (("low", "medium"), 18),
    (("medium", "low"), 16),
    (("low", "high"), 9),
    (("high", "low"), 6),
    (("medium", "high"), 8),
    (("high", "medium"), 5),
    (("low", "low"), 6),
    (("high", "high"), 2),
]
RESOLUTION_NOTES = {
    "fixed": "Corrected the configuration error; please try again.",
    "workaround": "Use the manual entry screen until the fix is deployed.",
    "configuration": "The module parameter was adjusted.",
    "user_training": "Explained the correct procedure step by step.",
    "not_reproducible": "Could not reproduce; please reopen with a screenshot if it recurs.",
}


def _business_instant(rng: random.Random, day: datetime) -> datetime:
    # office hours in Paris roughly 07:30-16:30 UTC
    return day.replace(hour=7, minute=30, second=0, microsecond=0) + timedelta(
        minutes=rng.randint(0, 9 * 60)
    )


def _play_ticket(session: Session, ctx: DemoContext, created: datetime) -> None:
    """Replay one ticket's life through the real services at historical instants."""
    from app.core.clock import replaying
    from app.incidents.conversation import add_comment
    from app.incidents.service import create_ticket, rate
    from app.incidents.transitions import perform

    rng = ctx.rng
    code = rng.choice(list(ctx.modules))
    module = ctx.modules[code]
    ((impact, urgency),) = rng.choices(
        [p for p, _ in RATINGS_PROFILE], weights=[w for _, w in RATINGS_PROFILE]
    )
    reporter = ctx.logins["requester"] if rng.random() < 0.01 else rng.choice(ctx.users)
    # recent tickets are still being worked on: leave some of them at an early stage
    stop_at = None
    if ctx.now - created < timedelta(days=10) and rng.random() < 0.6:
        stop_at = rng.choice(["new", "new", "in_progress", "in_progress", "waiting"])
    with replaying(created):
        ticket = create_ticket(
            session,
            reporter,
            title=rng.choice(TICKET_SUBJECTS[code]),
            description="Steps: open the screen, enter the data, save. "
            "An error appears and nothing is saved.",
            module=code,
            impact=impact,
            urgency=urgency,
        )
    if stop_at == "new":
        return
    members = [a for a in module.support_group.members] or ctx.agents
    agent = rng.choice(members)
    response_delay = timedelta(minutes=ticket.response_target_minutes * rng.uniform(0.1, 1.6))
    t = created + response_delay
    if t >= ctx.now:
        return
    with replaying(t):
        perform(session, agent, ticket, "triage", assignee=agent.email)
        perform(session, agent, ticket, "start")
        add_comment(session, agent, ticket, body="We are looking into it.", public=True)
    if stop_at == "in_progress":
        return
    if stop_at == "waiting" or rng.random() < 0.2:
        t += timedelta(hours=rng.uniform(1, 6))
        if t >= ctx.now:
            return
        with replaying(t):
            perform(session, agent, ticket, "wait")
            add_comment(session, agent, ticket, body="Could you send a screenshot of the error?")
        if stop_at == "waiting":
            return
        t += timedelta(hours=rng.uniform(2, 30))
        if t >= ctx.now:
            return
        with replaying(t):
            add_comment(session, reporter, ticket, body="Here is the screenshot you asked for.")
    t += timedelta(minutes=ticket.resolution_target_minutes * rng.uniform(0.2, 2.2))
    if t >= ctx.now:
        return
    code_ = rng.choice(list(RESOLUTION_NOTES))
    with replaying(t):
        perform(
            session,
            agent,
            ticket,
            "resolve",
            resolution_code=code_,
            resolution_note=RESOLUTION_NOTES[code_],
        )
    if rng.random() < 0.07:
        t += timedelta(hours=rng.uniform(2, 48))
        if t >= ctx.now:
            return
        with replaying(t):
            perform(session, reporter, ticket, "reopen")
            add_comment(session, reporter, ticket, body="It happens again since this morning.")
        t += timedelta(hours=rng.uniform(2, 24))
        if t >= ctx.now:
            return
        with replaying(t):
            perform(
                session,
                agent,
                ticket,
                "resolve",
                resolution_code="fixed",
                resolution_note=RESOLUTION_NOTES["fixed"],
            )
        ctx.summary["reopened"] = ctx.summary.get("reopened", 0) + 1
    if rng.random() < 0.45:
        t += timedelta(hours=rng.uniform(1, 72))
        if t < ctx.now:
            stars = rng.choices([1, 2, 3, 4, 5], weights=[4, 6, 15, 35, 40])[0]
            with replaying(t):
                rate(
                    session,
                    reporter,
                    ticket,
                    rating=stars,
                    comment="Thanks!" if stars >= 4 else "Took too long.",
                )
    closed_at = ticket.resolved_at + timedelta(days=7)
    if closed_at < ctx.now:
        with replaying(closed_at):
            perform(session, None, ticket, "close")


def _tickets(session: Session, ctx: DemoContext) -> None:
    from sqlalchemy import delete

    from app.core.outbox import OutboxMessage
    from app.incidents.jobs import scan_sla

    rng = ctx.rng
    day = ctx.start.replace(hour=0, minute=0, second=0, microsecond=0)
    count = 0
    while day < ctx.now:
        weekday = day.weekday() < 5
        for _ in range(rng.randint(3, 11) if weekday else rng.randint(0, 1)):
            created = _business_instant(rng, day)
            if created < ctx.now:
                _play_ticket(session, ctx, created)
                count += 1
        day += timedelta(days=1)
    from app.core.clock import replaying

    with replaying(ctx.now):
        scan_sla(session)
    # history is replayed, not news: nobody is notified about it
    session.execute(delete(OutboxMessage))
    ctx.summary["tickets"] = count


def _watchers(session: Session, ctx: DemoContext) -> None:
    """The demo requester follows two open Finance tickets that colleagues reported."""
    from app.core.clock import replaying
    from app.incidents.lifecycle import OPEN_STATUSES
    from app.incidents.models import Ticket
    from app.incidents.watchers import follow

    requester = ctx.logins["requester"]
    finance = ctx.modules.get("FIN")
    if finance is None:
        return
    others = session.scalars(
        select(Ticket)
        .where(
            Ticket.module_id == finance.id,
            Ticket.reporter_id != requester.id,
            Ticket.status.in_([s.value for s in OPEN_STATUSES]),
        )
        .order_by(Ticket.id)
        .limit(2)
    ).all()
    with replaying(ctx.now):
        for ticket in others:
            follow(session, requester, ticket)
    ctx.summary["watchers"] = len(others)


Step = Callable[[Session, DemoContext], None]


def _usage(session: Session, ctx: DemoContext) -> None:
    """ERP usage since go-live (app/usage/demo.py tells the story: Purchasing lags)."""
    from app.usage.demo import demo_usage

    ctx.summary["usage_events"] = demo_usage(
        session,
        seed=ctx.rng.randrange(2**32),
        people=[*ctx.users, *ctx.agents],
        modules=ctx.modules,
        start=ctx.start,
        now=ctx.now,
    )


DEMO_TARGETS = [
    # key, target, amber, direction
    ("sla_resolution_compliance_ratio", 0.9, 0.05, "at_least"),
    ("sla_response_compliance_ratio", 0.95, 0.05, "at_least"),
    ("csat_average", 4.0, 0.3, "at_least"),
    ("mttr_seconds", 8 * 3600.0, 4 * 3600.0, "at_most"),
    ("stickiness_ratio", 0.4, 0.1, "at_least"),
]
# days of indicators computed when the demo loads (the dashboards' default period)
DEMO_INDICATOR_DAYS = 90


def _indicators(session: Session, ctx: DemoContext) -> None:
    """Indicators of the last months, and a few targets, so the dashboards tell something."""
    from app.indicators.compute import days_between, recompute
    from app.indicators.models import IndicatorTarget

    last = ctx.now.date()
    first = max(ctx.start.date(), last - timedelta(days=DEMO_INDICATOR_DAYS - 1))
    with replaying(ctx.now):
        run = recompute(session, days_between(first, last), reason="demo")
    for key, target, amber, direction in DEMO_TARGETS:
        session.add(
            IndicatorTarget(
                key=key,
                dimension="overall",
                target=target,
                amber=amber,
                direction=direction,
                updated_at=ctx.now,
            )
        )
    ctx.summary["indicator_snapshots"] = run.snapshots


Step = Callable[[Session, DemoContext], None]


def _governance(session: Session, ctx: DemoContext) -> None:
    from app.governance.demo import seed_governance

    seed_governance(session, ctx, DEMO_DOMAIN, DEMO_PASSWORD)


Step = Callable[[Session, DemoContext], None]

# (title, module, the state it reaches, scores (value, criticality, risk, size) or None)
ENHANCEMENTS = [
    ("Match supplier invoices to goods receipts automatically", "PUR", "released", (13, 8, 5, 8)),
    ("Show the credit limit on the sales order screen", "SAL", "done", (8, 8, 3, 3)),
    ("Bulk approval of purchase requisitions", "PUR", "in_progress", (8, 5, 2, 5)),
    ("Dunning letters in the customer's language", "FIN", "planned", (5, 3, 8, 5)),
    ("Payment proposal grouped by due date", "FIN", "approved", (13, 13, 8, 5)),
    ("Cycle count list sorted by bin location", "INV", "approved", (5, 5, 2, 2)),
    ("Quote templates per customer segment", "SAL", "approved", (8, 3, 3, 13)),
    ("Export the trial balance to the consolidation tool", "FIN", "approved", (8, 8, 13, 8)),
    ("Automatic reminder before a contract expires", "SAL", "under_review", (5, 8, 5, 5)),
    ("Attach scanned receipts to expense lines", "HR", "under_review", None),
    ("Dark mode for the ERP client", "CRM", "rejected", (1, 1, 1, 8)),
    ("New chart of accounts for the Spanish subsidiary", "FIN", "deferred", (8, 2, 5, 20)),
    ("A second approval step for small orders", "PUR", "withdrawn", None),
    ("Warehouse transfer from the mobile scanner", "INV", "submitted", None),
    ("Lead scoring from the website forms", "CRM", "submitted", None),
]
DELIVERY_PATH = ("plan", "start", "done", "release")
DELIVERY_STEPS = {"planned": 1, "in_progress": 2, "done": 3, "released": 4}
RATIONALES = {
    "approve": "Clear saving for the business and a small job: worth doing this quarter.",
    "reject": "Cosmetic, no business benefit: the budget goes to the closing improvements.",
    "defer": "Depends on the new subsidiary's go-live date; reconsider next quarter.",
}


def _enhancements(session: Session, ctx: DemoContext) -> None:
    """A backlog ranked by WSJF (one request moved by hand), votes, a decision log and requests
    in every state, replayed through the real services over the last weeks."""
    from sqlalchemy import delete

    from app.core.clock import replaying
    from app.core.outbox import OutboxMessage
    from app.enhancements import governance, service
    from app.enhancements.notifications import EMAIL_JOB
    from app.enhancements.transitions import perform

    rng, owner, committee = ctx.rng, ctx.logins["po"], ctx.logins["committee"]
    askers = [ctx.logins["requester"], ctx.logins["keyuser"], *ctx.users[:20]]
    voters = ctx.users[:60] or [ctx.logins["requester"]]
    made = {}
    for n, (title, module, goal, scores) in enumerate(ENHANCEMENTS):
        t = ctx.now - timedelta(days=40 - 2 * n, hours=rng.randint(0, 8))
        with replaying(t):
            request = service.submit(
                session,
                rng.choice(askers),
                title=title,
                problem=f"Today this is done by hand: {title.lower()} is missing from the ERP.",
                benefit="Less manual work and fewer mistakes for the team using it every day.",
                module=module,
            )
            for voter in rng.sample(voters, k=min(len(voters), rng.randint(0, 9))):
                service.vote(session, voter, request)
        made[title] = request
        if goal == "submitted":
            continue
        if goal == "withdrawn":
            with replaying(t + timedelta(days=1)):
                perform(session, request.requester, request, "withdraw")
            continue
        with replaying(t + timedelta(days=1)):
            perform(session, owner, request, "review")
            if scores:
                value, criticality, risk, size = scores
                governance.qualify(
                    session,
                    owner,
                    request,
                    business_value=value,
                    time_criticality=criticality,
                    risk_reduction=risk,
                    job_size=size,
                )
        if goal == "under_review":
            continue
        decision = {"rejected": "reject", "deferred": "defer"}.get(goal, "approve")
        with replaying(t + timedelta(days=3)):
            governance.decide(
                session, committee, request, decision=decision, rationale=RATIONALES[decision]
            )
        for i, action in enumerate(DELIVERY_PATH[: DELIVERY_STEPS.get(goal, 0)]):
            with replaying(t + timedelta(days=5 + 3 * i)):
                perform(session, None, request, action)
    with replaying(ctx.now - timedelta(days=1)):
        governance.move(
            session, owner, made["Export the trial balance to the consolidation tool"], 1
        )
    # history is replayed, not news: nobody is notified about it
    session.execute(delete(OutboxMessage).where(OutboxMessage.job == EMAIL_JOB))
    ctx.summary["enhancements"] = len(made)


Step = Callable[[Session, DemoContext], None]


def _access(session: Session, ctx: DemoContext) -> None:
    from app.access.demo import seed_access

    seed_access(session, ctx)


def _sprints(session: Session, ctx: DemoContext) -> None:
    from app.sprints.demo import play_sprints

    play_sprints(session, ctx)


Step = Callable[[Session, DemoContext], None]


def _agent_desk(session: Session, ctx: DemoContext) -> None:
    """Canned responses and a saved view shared with the Finance support group."""
    from app.incidents.canned import create_canned
    from app.incidents.saved_views import create_view

    admin, agent = ctx.logins["admin"], ctx.logins["agent"]
    create_canned(
        session,
        admin,
        title="We are on it",
        body="Hello {{requester_name}},\n\nthank you for reporting {{ticket_ref}}; "
        "we are looking into it and will come back to you shortly.\n\n{{agent_name}}",
    )
    create_canned(
        session,
        admin,
        title="Posting period reopened",
        module="FIN",
        body="Hello {{requester_name}},\n\nthe posting period is open again: "
        "please post once more and tell us if {{ticket_ref}} still happens.",
    )
    create_view(
        session,
        agent,
        name="Finance, urgent",
        filters={"view": "open", "module": "FIN", "priority": "P1,P2"},
        group="FIN_SUP",
    )
    ctx.summary["canned_responses"] = 2


Step = Callable[[Session, DemoContext], None]


STEPS: list[Step] = [
    _catalogue,
    _people,
    _tickets,
    _watchers,
    _enhancements,
    _sprints,
    _usage,
    _access,
    _indicators,
    _governance,
    _agent_desk,
]


def generate(
    session: Session,
    *,
    seed: int = 42,
    user_count: int = 300,
    months: int = 6,
    now: datetime | None = None,
) -> dict[str, int] | None:
    """Create the demo company; None when it already exists (nothing is changed then)."""
    if session.scalar(select(User.id).where(User.email == f"admin@{DEMO_DOMAIN}")):
        return None
    now = now or utcnow()
    ctx = DemoContext(
        rng=random.Random(seed), now=now.astimezone(UTC), months=months, user_count=user_count
    )
    for step in STEPS:
        step(session, ctx)
        session.flush()
    return ctx.summary
