"""The run budget: planned and actual amounts per year, category and month.

Planned months are set per category for a year (one versioned plan, so concurrent edits are
detected); actuals are entered month by month or imported from CSV. The year's view gives,
per category and in total, what was planned and spent to date, the variance, a forecast at
year end from the run rate and a status against the tolerance (``GOVERNANCE_BUDGET_TOLERANCE``,
a share of the year's plan, 5 % by default).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from app.core import audit
from app.core.clock import utcnow
from app.core.edge import whole_number
from app.core.errors import ValidationFailed
from app.core.permissions import Permission, require
from app.governance.models import BudgetMonth, BudgetPlan
from app.governance.service import invalid
from app.identity.models import User

ENTITY = "budget"
CATEGORIES = ("support", "licences", "enhancements", "infrastructure", "training", "other")
DEFAULT_TOLERANCE = 0.05
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")


def tolerance() -> float:
    if has_app_context():
        return float(current_app.config.get("GOVERNANCE_BUDGET_TOLERANCE", DEFAULT_TOLERANCE))
    return DEFAULT_TOLERANCE


def money(value: object, field_name: str) -> Decimal:
    """An amount in cents; 422 for anything else (negative, not finite, too large)."""
    try:
        amount = Decimal(str(value)).quantize(CENT)
    except (InvalidOperation, ValueError):
        raise invalid(field_name, _l("Not an amount.")) from None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise invalid(field_name, _l("An amount between 0 and 999,999,999,999.99."))
    return amount


def month_number(value: str | int, field_name: str = "month") -> int:
    month = whole_number(str(value))
    if month is None or not 1 <= month <= 12:
        raise invalid(field_name, _l("A month from 01 to 12."))
    return month


def get_plan(session: Session, year: int, category: str) -> BudgetPlan | None:
    return session.scalar(
        select(BudgetPlan).where(BudgetPlan.year == year, BudgetPlan.category == category)
    )


def _plan(session: Session, year: int, category: str) -> BudgetPlan:
    plan = get_plan(session, year, category)
    if plan is None:
        plan = BudgetPlan(year=year, category=category, updated_at=utcnow())
        plan.months = [BudgetMonth(month=m, planned=Decimal("0")) for m in range(1, 13)]
        session.add(plan)
    return plan


def set_planned(
    session: Session, actor: User, year: int, category: str, planned: dict[str, object]
) -> BudgetPlan:
    """Set the planned amount of the months given (``{"01": 1000.0}``); others keep theirs."""
    require(actor, Permission.GOVERNANCE_MANAGE)
    amounts = {month_number(k, "planned"): money(v, "planned") for k, v in planned.items()}
    plan = _plan(session, year, category)
    changes: dict[str, list] = {}
    for line in plan.months:
        if line.month in amounts and line.planned != amounts[line.month]:
            changes[f"planned_{line.month:02d}"] = [str(line.planned), str(amounts[line.month])]
            line.planned = amounts[line.month]
    plan.updated_at = utcnow()
    if changes:
        flag_modified(plan, "updated_at")  # a new version (ETag) even within one clock tick
        session.flush()
        audit.record(session, actor, ENTITY, f"{year}/{category}", "plan", changes)
    else:
        session.flush()
    return plan


def record_actual(
    session: Session, actor: User, year: int, category: str, month: str | int, amount: object
) -> BudgetPlan:
    """Enter what a month actually cost for a category (replacing an earlier figure)."""
    require(actor, Permission.GOVERNANCE_MANAGE)
    number, value = month_number(month), money(amount, "amount")
    plan = _plan(session, year, category)
    line = next(m for m in plan.months if m.month == number)
    before = line.actual
    line.actual = value
    plan.updated_at = utcnow()
    if before != value:
        flag_modified(plan, "updated_at")
    session.flush()
    if before != value:
        audit.record(
            session,
            actor,
            ENTITY,
            f"{year}/{category}",
            "actual",
            {f"actual_{number:02d}": [None if before is None else str(before), str(value)]},
        )
    return plan


def import_actuals(session: Session, actor: User, year: int, text: str) -> int:
    """Import ``category,month,amount`` lines (a header line is allowed); returns the count.

    Every line is checked before any is written: a file with one bad line changes nothing.
    """
    require(actor, Permission.GOVERNANCE_MANAGE)
    rows, errors = [], {}
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or (number == 1 and row[0].strip().lower() == "category"):
            continue
        try:
            if len(row) != 3 or row[0].strip() not in CATEGORIES:
                raise ValueError("expected category,month,amount with a known category")
            rows.append((row[0].strip(), month_number(row[1].strip()), money(row[2], "amount")))
        except (ValueError, ValidationFailed) as exc:
            errors[f"line {number}"] = [getattr(exc, "message", str(exc))]
    if errors:
        raise ValidationFailed(_l("The file has lines that cannot be imported."), errors=errors)
    for category, month, amount in rows:
        record_actual(session, actor, year, category, month, amount)
    return len(rows)


@dataclass
class BudgetFigures:
    """Planned, actual, variance and forecast, per month and to date."""

    category: str
    months: list[dict] = field(default_factory=list)
    planned_year: Decimal = Decimal("0")
    planned_to_date: Decimal = Decimal("0")
    actual_to_date: Decimal = Decimal("0")
    forecast: Decimal = Decimal("0")
    version: int = 0

    @property
    def variance_to_date(self) -> Decimal:
        """Spent minus planned to date: positive is over budget."""
        return self.actual_to_date - self.planned_to_date

    def status(self, share: float) -> str:
        """Green within plan, amber within ``share`` over it, red beyond (by the forecast)."""
        if self.planned_year <= 0:
            return "green" if self.forecast <= 0 else "red"
        over = float((self.forecast - self.planned_year) / self.planned_year)
        if over <= 0:
            return "green"
        return "amber" if over <= share else "red"


def _figures(category: str, months: list[BudgetMonth], year: int, today: date) -> BudgetFigures:
    figures = BudgetFigures(category=category)
    last_closed = 12 if year < today.year else (today.month - 1 if year == today.year else 0)
    entered = [m for m in months if m.actual is not None]
    for m in months:
        variance = None if m.actual is None else m.actual - m.planned
        figures.months.append(
            {
                "month": f"{m.month:02d}",
                "planned": m.planned,
                "actual": m.actual,
                "variance": variance,
            }
        )
        figures.planned_year += m.planned
        if m.month <= max(last_closed, max((e.month for e in entered), default=0)):
            figures.planned_to_date += m.planned
    figures.actual_to_date = sum((m.actual for m in entered), Decimal("0"))
    if not entered:  # nothing spent yet: the plan is the only forecast there is
        figures.forecast = figures.planned_year
        return figures
    # run rate: the mean of the months with actuals, for every month still to come
    remaining = 12 - max(e.month for e in entered)
    rate = figures.actual_to_date / len(entered)
    figures.forecast = (figures.actual_to_date + rate * remaining).quantize(CENT)
    return figures


@dataclass
class BudgetYear:
    year: int
    categories: list[BudgetFigures]
    total: BudgetFigures
    tolerance: float

    @property
    def status(self) -> str:
        return self.total.status(self.tolerance)


def budget_year(session: Session, actor: User | None, year: int, today: date) -> BudgetYear:
    """The year's budget per category and in total, as of ``today``."""
    if actor is not None:
        require(actor, Permission.GOVERNANCE_VIEW)
    plans = list(
        session.scalars(
            select(BudgetPlan).where(BudgetPlan.year == year).order_by(BudgetPlan.category)
        )
    )
    categories = []
    for plan in plans:
        figures = _figures(plan.category, plan.months, year, today)
        figures.version = plan.version
        categories.append(figures)
    total = BudgetFigures(category="total")
    for month in range(12):
        planned = sum((c.months[month]["planned"] for c in categories), Decimal("0"))
        actuals = [c.months[month]["actual"] for c in categories if c.months[month]["actual"]]
        actual = sum(actuals, Decimal("0")) if actuals else None
        total.months.append(
            {
                "month": f"{month + 1:02d}",
                "planned": planned,
                "actual": actual,
                "variance": None if actual is None else actual - planned,
            }
        )
    for c in categories:
        total.planned_year += c.planned_year
        total.planned_to_date += c.planned_to_date
        total.actual_to_date += c.actual_to_date
        total.forecast += c.forecast
    return BudgetYear(year=year, categories=categories, total=total, tolerance=tolerance())
