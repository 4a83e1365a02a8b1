"""Governance services shared by the rest of the domain: people, objectives and committees.

Every function takes the caller's session and acting user, checks the permission of what it
does, writes its audit event in the same transaction and leaves the commit to the caller.
Meetings and minutes live in ``meetings.py``, action items in ``actions.py``, risks in
``risks.py``, the run budget in ``budget.py``, pulse surveys in ``pulse.py``.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.catalogue.models import Module
from app.core import audit
from app.core.clock import utcnow
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.pagination import Page, SortKey, paginate
from app.core.permissions import Permission, require
from app.governance.models import Committee, CommitteeMember, Objective, ObjectiveIndicator
from app.identity.models import User
from app.indicators import registry
from app.indicators import service as indicators

CADENCES = ("weekly", "biweekly", "monthly", "quarterly")
COMMITTEE_KINDS = ("steering", "operational")
TITLE_MAX = 200
TEXT_MAX = 5000
# how far back an indicator's trend looks (the latest point against the first in the window)
TREND_DAYS = 28
STATUS_RANK = {"green": 0, "amber": 1, "red": 2}


def invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        _l("%(field)s: %(message)s", field=field, message=message), errors={field: [message]}
    )


def user_by_email(session: Session, email: str, field: str = "owner") -> User:
    """The active user with ``email``; 422 naming ``field`` otherwise."""
    user = session.scalar(select(User).where(func.lower(User.email) == (email or "").lower()))
    if user is None or not user.active:
        raise invalid(field, _l("No active user '%(email)s'.", email=email))
    return user


def module_by_code(session: Session, code: str | None, field: str = "module") -> Module | None:
    if code is None:
        return None
    module = session.scalar(select(Module).where(Module.code == code))
    if module is None:
        raise invalid(field, _l("No module '%(code)s'.", code=code))
    return module


# --- objectives ------------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiReading:
    """One indicator of an objective as the committee reads it."""

    key: str
    name: str
    module: str | None
    value: float | None
    target: float | None
    direction: str | None
    status: str | None
    trend: str | None  # improving / worsening / stable, None without two points
    day: date | None


def trend_of(key: str, module_id: int | None, session: Session, today: date) -> str | None:
    """Whether ``key`` moved the right way over the last ``TREND_DAYS`` days."""
    points = [
        p
        for p in indicators.series(
            session, key, module_id=module_id, start=today - timedelta(days=TREND_DAYS), end=today
        )
        if p.value is not None
    ]
    if len(points) < 2 or points[0].value == points[-1].value:
        return None if len(points) < 2 else "stable"
    rising = points[-1].value > points[0].value
    return "improving" if rising == registry.get(key).higher_is_better else "worsening"


def read_kpi(session: Session, key: str, module: Module | None, today: date) -> KpiReading:
    module_id = module.id if module else None
    point = indicators.latest(session, key, module_id)
    target = indicators.target_for(session, key, module_id)
    return KpiReading(
        key=key,
        name=registry.get(key).name,
        module=module.code if module else None,
        value=point.value if point else None,
        target=target.target if target else None,
        direction=target.direction if target else None,
        status=point.status if point else None,
        trend=trend_of(key, module_id, session, today),
        day=point.day if point else None,
    )


def worst_status(statuses: list[str | None]) -> str | None:
    known = [s for s in statuses if s in STATUS_RANK]
    return max(known, key=STATUS_RANK.__getitem__) if known else None


def objective_kpis(session: Session, objective: Objective, today: date) -> list[KpiReading]:
    return [read_kpi(session, link.key, link.module, today) for link in objective.indicators]


def objective_status(kpis: list[KpiReading]) -> tuple[str | None, str | None]:
    """(status, trend): the worst indicator status; worsening if any indicator worsens."""
    trends = {k.trend for k in kpis}
    trend = next((t for t in ("worsening", "improving", "stable") if t in trends), None)
    return worst_status([k.status for k in kpis]), trend


def _indicator_links(session: Session, items: list[dict]) -> list[ObjectiveIndicator]:
    if not items:
        raise invalid("indicators", _l("An objective is measured by at least one indicator."))
    links, seen = [], set()
    for item in items:
        try:
            registry.get(item["key"])
        except NotFound:
            raise invalid("indicators", _l("No indicator '%(key)s'.", key=item["key"])) from None
        module = module_by_code(session, item.get("module"), "indicators")
        pair = (item["key"], module.id if module else None)
        if pair in seen:
            continue
        seen.add(pair)
        links.append(ObjectiveIndicator(key=pair[0], module_id=pair[1], module=module))
    return links


def create_objective(
    session: Session,
    actor: User,
    *,
    title: str,
    owner: str,
    indicators: list[dict],
    due_date: date | None = None,
    description: str | None = None,
) -> Objective:
    """Record a business objective measured by ``indicators`` (``[{"key", "module"}]``)."""
    require(actor, Permission.GOVERNANCE_MANAGE)
    objective = Objective(
        title=title.strip(),
        description=description,
        owner=user_by_email(session, owner),
        due_date=due_date,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    objective.indicators = _indicator_links(session, indicators)
    session.add(objective)
    session.flush()
    audit.record(
        session,
        actor,
        "objective",
        objective.id,
        "create",
        {"title": [None, objective.title]},
        indicators=[f"{link.key}@{link.module_id or 'overall'}" for link in objective.indicators],
    )
    return objective


def update_objective(
    session: Session, actor: User, objective: Objective, values: dict[str, Any]
) -> Objective:
    """Change an objective's title, description, owner, due date or indicators."""
    require(actor, Permission.GOVERNANCE_MANAGE)
    plain = {k: values[k] for k in ("title", "description", "due_date") if k in values}
    if "owner" in values:
        plain["owner_id"] = user_by_email(session, values["owner"]).id
    changes = audit.apply_changes(objective, plain)
    if "indicators" in values:
        before = sorted(f"{i.key}@{i.module_id}" for i in objective.indicators)
        objective.indicators = _indicator_links(session, values["indicators"])
        after = sorted(f"{i.key}@{i.module_id}" for i in objective.indicators)
        if before != after:
            changes["indicators"] = [before, after]
    if changes:
        objective.updated_at = utcnow()
        session.flush()
        audit.record(session, actor, "objective", objective.id, "update", changes)
    return objective


def get_objective(session: Session, actor: User, objective_id: int) -> Objective:
    require(actor, Permission.GOVERNANCE_VIEW)
    objective = session.get(Objective, objective_id)
    if objective is None:
        raise NotFound(_l("No such objective."))
    return objective


def list_objectives(
    session: Session, actor: User, cursor: str | None = None, limit: int = 25
) -> Page[Objective]:
    """Objectives in the order they were set."""
    require(actor, Permission.GOVERNANCE_VIEW)
    keys = [SortKey(Objective.id, lambda o: o.id)]
    return paginate(session, select(Objective), keys, cursor, limit)


# --- committees ------------------------------------------------------------------------------


def next_occurrence(cadence: str, after: datetime) -> datetime:
    """The meeting after one held at ``after``, by the committee's cadence."""
    if cadence in ("weekly", "biweekly"):
        return after + timedelta(weeks=1 if cadence == "weekly" else 2)
    return add_months(after, 1 if cadence == "monthly" else 3)


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` ``months`` later, on the same day or the month's last one."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(
        year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1])
    )


def create_committee(
    session: Session,
    actor: User,
    *,
    name: str,
    cadence: str,
    members: list[str],
    kind: str = "steering",
    chair: str | None = None,
    next_meeting_at: datetime | None = None,
) -> Committee:
    """A committee with its members (emails); the chair defaults to its creator."""
    require(actor, Permission.GOVERNANCE_MANAGE)
    if session.scalar(select(Committee.id).where(Committee.name == name.strip())):
        raise Conflict(_l("A committee '%(name)s' exists already.", name=name))
    people = {user.id: user for user in (user_by_email(session, e, "members") for e in members)}
    chair_user = user_by_email(session, chair, "chair") if chair else actor
    people.setdefault(chair_user.id, chair_user)
    committee = Committee(
        name=name.strip(),
        kind=kind,
        cadence=cadence,
        chair_id=chair_user.id,
        next_meeting_at=next_meeting_at,
        created_at=utcnow(),
    )
    committee.members = [CommitteeMember(user_id=uid, user=u) for uid, u in people.items()]
    session.add(committee)
    session.flush()
    audit.record(
        session,
        actor,
        "committee",
        committee.id,
        "create",
        {"name": [None, committee.name], "cadence": [None, cadence]},
        members=sorted(u.email for u in people.values()),
    )
    return committee


def get_committee(session: Session, actor: User, committee_id: int) -> Committee:
    require(actor, Permission.GOVERNANCE_VIEW)
    committee = session.get(Committee, committee_id)
    if committee is None:
        raise NotFound(_l("No such committee."))
    return committee


def list_committees(
    session: Session, actor: User, cursor: str | None = None, limit: int = 25
) -> Page[Committee]:
    require(actor, Permission.GOVERNANCE_VIEW)
    return paginate(
        session, select(Committee), [SortKey(Committee.id, lambda c: c.id)], cursor, limit
    )


def member_emails(committee: Committee) -> list[str]:
    return sorted(m.user.email for m in committee.members if m.user.active)
