"""The demo company's governance: a steering committee meeting monthly since go-live, with
published minutes, decisions and action items (some overdue), objectives on the demo's
indicators, a risk register (one risk overdue for review), this year's run budget with actuals
and one closed pulse survey. Small on purpose: the demo test loads it.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.core.clock import replaying
from app.core.outbox import OutboxMessage
from app.governance import actions, budget, meetings, pulse, risks, service
from app.governance.models import ActionItem
from app.identity.models import User
from app.identity.service import hash_password, save_user
from app.indicators.models import IndicatorTarget

OBJECTIVES = [
    ("Resolve incidents within a business day", "mttr_seconds", 8 * 3600.0, 3600.0, "at_most"),
    (
        "Keep 90 % of resolutions within their SLA",
        "sla_resolution_compliance_ratio",
        0.9,
        0.05,
        "at_least",
    ),
    ("Users are satisfied with the support", "csat_average", 4.0, 0.3, "at_least"),
]
RISKS = [
    ("Key users of Finance leave after the year-end close", "people", 3, 5, -20),
    ("Licence count exceeded at the next audit", "licences", 2, 4, 45),
    ("Month-end close slips because of interface failures", "operations", 4, 4, 20),
    ("Support team loses its ERP expert", "people", 2, 3, 60),
    ("Upgrade of the ERP breaks custom reports", "technology", 3, 2, 30),
]
BUDGET = {"support": 42000, "licences": 18000, "infrastructure": 6500, "enhancements": 12000}


def _chair(session: Session, ctx: Any, domain: str, password: str) -> User:
    email = f"committee@{domain}"
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user, _ = save_user(
            session,
            None,
            email=email,
            name="Clara Steering",
            department="Management",
            active=True,
            password=None,
            roles=[("committee_member", None)],
        )
        user.password_hash = hash_password(password)
        user.created_at = ctx.start
        user.timezone = "Europe/Paris"
    return user


def _targets(session: Session) -> None:
    """The demo's objectives are judged against targets; set those not set already."""
    for _, key, target, amber, direction in OBJECTIVES:
        exists = session.scalar(
            select(IndicatorTarget.id).where(
                IndicatorTarget.key == key, IndicatorTarget.dimension == "overall"
            )
        )
        if exists is None:
            session.add(
                IndicatorTarget(
                    key=key, dimension="overall", target=target, amber=amber, direction=direction
                )
            )


def seed_governance(session: Session, ctx: Any, domain: str, password: str) -> None:
    # a random source of its own, seeded from the demo's without drawing from it
    rng = random.Random(ctx.rng.getstate()[1][0])
    chair = _chair(session, ctx, domain, password)
    people = [u for u in ctx.users + ctx.agents if u.active][:40] or [chair]
    members = [chair, ctx.logins.get("admin", chair), ctx.logins.get("po", chair)]
    start = ctx.start
    with replaying(start):
        _targets(session)
        for title, key, *_ in OBJECTIVES:
            service.create_objective(
                session,
                chair,
                title=title,
                owner=chair.email,
                due_date=(ctx.now + timedelta(days=180)).date(),
                indicators=[{"key": key}],
            )
        committee = service.create_committee(
            session,
            chair,
            name="Steering committee",
            cadence="monthly",
            members=sorted({m.email for m in members}),
        )
        for title, category, probability, impact, review_in in RISKS:
            risks.create_risk(
                session,
                chair,
                title=title,
                category=category,
                probability=probability,
                impact=impact,
                owner=rng.choice(members).email,
                mitigation="Named back-ups and a quarterly check.",
                review_by=(ctx.now + timedelta(days=review_in)).date(),
            )
    for month in range(1, ctx.months + 1):
        held = datetime.combine((start + timedelta(days=30 * month)).date(), time(9), UTC)
        if held >= ctx.now:
            break
        with replaying(held - timedelta(days=5)):
            meeting = meetings.create_meeting(session, chair, committee, held)
        with replaying(held + timedelta(hours=2)):
            meetings.record_minutes(
                session,
                chair,
                meeting,
                attendees=sorted({m.email for m in members}),
                notes=f"Monthly review {held:%B %Y}: indicators, risks and budget reviewed.",
                decisions=[
                    {
                        "text": rng.choice(
                            [
                                "Keep the current support staffing for one more month.",
                                "Prioritise interface stability over new reports.",
                                "Ask Finance key users to document the closing steps.",
                            ]
                        )
                    }
                ],
                actions=[
                    {
                        "title": f"Follow up on the {held:%B} review ({n + 1})",
                        "owner": rng.choice(people).email,
                        "due_date": (held + timedelta(days=14 + 7 * n)).date(),
                    }
                    for n in range(2)
                ],
            )
            meetings.publish(session, chair, meeting)
    _close_old_actions(session, chair, ctx, rng)
    _budget(session, chair, ctx, rng)
    _pulse(session, ctx, rng, people)
    # replayed history is not news: nobody is mailed about it
    session.execute(delete(OutboxMessage))
    ctx.summary["governance_meetings"] = max(ctx.months, 0)


def _close_old_actions(session: Session, chair: User, ctx: Any, rng: random.Random) -> None:
    """Most past actions were done; one in three is left open (and so overdue)."""
    today = ctx.now.date()
    for item in session.scalars(select(ActionItem).order_by(ActionItem.id)).all():
        if item.due_date < today and rng.random() > 0.33:
            with replaying(datetime.combine(item.due_date, time(16), UTC)):
                actions.update_action(session, chair, item, {"status": "done"})


def _budget(session: Session, chair: User, ctx: Any, rng: random.Random) -> None:
    year = ctx.now.year
    with replaying(datetime(year, 1, 2, 9, tzinfo=UTC)):
        for category, annual in BUDGET.items():
            monthly = Decimal(annual) / 12
            budget.set_planned(
                session,
                chair,
                year,
                category,
                {f"{m:02d}": float(round(monthly, 2)) for m in range(1, 13)},
            )
    for month in range(1, ctx.now.month):
        with replaying(datetime(year, month, 28, 12, tzinfo=UTC)):
            for category, annual in BUDGET.items():
                spent = Decimal(annual) / 12 * Decimal(str(round(rng.uniform(0.85, 1.2), 2)))
                budget.record_actual(session, chair, year, category, month, round(spent, 2))


def _pulse(session: Session, ctx: Any, rng: random.Random, people: list[User]) -> None:
    admin = ctx.logins.get("admin")
    if admin is None or len(people) < pulse.MIN_ANSWERS:
        return
    opened = ctx.now - timedelta(days=45)
    with replaying(opened):
        survey = pulse.open_survey(
            session,
            admin,
            title="How is the ERP working for you?",
            questions=["The ERP helps me do my job", "Support solves my problems"],
            closes_on=(opened + timedelta(days=14)).date(),
        )
    for person in rng.sample(people, k=min(12, len(people))):
        with replaying(opened + timedelta(days=rng.randint(0, 10))):
            pulse.answer(
                session,
                person,
                survey,
                scores=[rng.randint(2, 5), rng.randint(3, 5)],
                comment=rng.choice([None, None, "Month-end is slow.", "Support is quick."]),
                today=(opened + timedelta(days=1)).date(),
            )
    with replaying(opened + timedelta(days=14)):
        pulse.close_survey(session, admin, survey)
