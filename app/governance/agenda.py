"""The draft agenda of a meeting, built from the data: one independent source per subject.

Each source reads one domain and returns the points it wants discussed, each naming what it
comes from (``objective:3``, ``indicator:mttr_seconds@overall``, ``enhancement:ENH-000045``,
``risk:7``, ``action:12``, ``budget:2026``, ``sprint:4``, ``access_campaign:2``). A source
whose domain is not installed (its tables or its reading function absent) returns nothing, so
each section appears as its domain lands. The chair then adds, removes and orders points.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from app.enhancements.lifecycle import Status as EnhancementStatus
from app.enhancements.models import Enhancement
from app.governance import risks as risk_register
from app.governance.actions import overdue_clause
from app.governance.budget import budget_year
from app.governance.models import ActionItem, Committee, Objective
from app.governance.service import objective_kpis, objective_status
from app.indicators import registry
from app.indicators import service as indicators
from app.indicators.models import IndicatorTarget

# at most this many points from one source: an agenda is read in an hour
PER_SOURCE = 15


@dataclass(frozen=True)
class Draft:
    kind: str
    title: str
    source: str | None


@dataclass(frozen=True)
class Context:
    session: Session
    committee: Committee
    since: datetime | None  # the previous meeting of the committee, if any
    today: date


def objectives_off_track(ctx: Context) -> list[Draft]:
    """Objectives whose indicators are out of target (amber, red) or worsening."""
    points = []
    for objective in ctx.session.scalars(select(Objective).order_by(Objective.id)):
        status, trend = objective_status(objective_kpis(ctx.session, objective, ctx.today))
        if status in ("amber", "red") or trend == "worsening":
            state = status or ""
            worse = " and worsening" if trend == "worsening" else ""
            points.append(
                Draft(
                    "objective",
                    f"Objective {objective.title}: {state}{worse}".strip(),
                    f"objective:{objective.id}",
                )
            )
    return points


def indicators_out_of_target(ctx: Context) -> list[Draft]:
    """Every indicator with a target whose latest value is red."""
    points = []
    targets = ctx.session.scalars(
        select(IndicatorTarget).order_by(IndicatorTarget.key, IndicatorTarget.dimension)
    )
    for target in targets:
        try:
            indicator = registry.get(target.key)
        except Exception:  # a target of an indicator no longer defined: nothing to read
            continue
        point = indicators.latest(ctx.session, target.key, target.module_id)
        if point is None or point.status != "red":
            continue
        where = "" if target.module_id is None else f" ({_module_code(ctx, target.module_id)})"
        points.append(
            Draft(
                "indicator",
                f"{indicator.name}{where}: {point.value:g} against a target of {target.target:g}",
                f"indicator:{target.key}@{target.module_id or 'overall'}",
            )
        )
    return points


def _module_code(ctx: Context, module_id: int) -> str:
    from app.catalogue.models import Module

    module = ctx.session.get(Module, module_id)
    return module.code if module else str(module_id)


def enhancements_awaiting_decision(ctx: Context) -> list[Draft]:
    """Requests qualified by their product owner and waiting for the committee."""
    rows = ctx.session.scalars(
        select(Enhancement)
        .where(Enhancement.status == EnhancementStatus.UNDER_REVIEW)
        .order_by(Enhancement.wsjf.desc().nulls_last(), Enhancement.id)
    )
    return [
        Draft("enhancement_decision", f"Decide on {e.ref}: {e.title}", f"enhancement:{e.ref}")
        for e in rows
    ]


def _optional_source(module: str, function: str) -> Callable | None:
    """``app.<module>.<function>`` when that domain and its tables exist, else None."""
    try:
        if importlib.util.find_spec(module) is None:
            return None
    except ModuleNotFoundError:  # the domain's package itself is not there yet
        return None
    reader = getattr(importlib.import_module(module), function, None)
    return reader if callable(reader) else None


def _has_tables(session: Session, *tables: str) -> bool:
    names = set(inspect(session.get_bind()).get_table_names())
    return all(t in names for t in tables)


def sprint_outcomes(ctx: Context) -> list[Draft]:
    """Sprints closed since the last meeting (``app.sprints.service.outcomes_since``)."""
    reader = _optional_source("app.sprints.service", "outcomes_since")
    if reader is None or not _has_tables(ctx.session, "sprints"):
        return []
    return [
        Draft("sprint_outcome", item["title"], item.get("source"))
        for item in reader(ctx.session, ctx.since)
    ]


def risks_needing_attention(ctx: Context) -> list[Draft]:
    """Live risks at or above the alert threshold, or not reviewed by their date."""
    threshold = risk_register.alert_threshold()
    points = []
    for risk in risk_register.needing_attention(ctx.session, ctx.today, threshold):
        why = []
        if risk.score >= threshold:
            why.append(f"score {risk.score}")
        if risk.review_by and risk.review_by < ctx.today:
            why.append(f"review due {risk.review_by.isoformat()}")
        points.append(Draft("risk", f"Risk {risk.title} ({', '.join(why)})", f"risk:{risk.id}"))
    return points


def overdue_actions(ctx: Context) -> list[Draft]:
    rows = ctx.session.scalars(
        select(ActionItem).where(overdue_clause(ctx.today)).order_by(ActionItem.due_date)
    )
    return [
        Draft(
            "overdue_action",
            f"Overdue: {a.title} ({a.owner.name}, due {a.due_date.isoformat()})",
            f"action:{a.id}",
        )
        for a in rows
    ]


def late_access_campaigns(ctx: Context) -> list[Draft]:
    """Review campaigns past their deadline (``app.access.service.late_campaigns``)."""
    reader = _optional_source("app.access.service", "late_campaigns")
    if reader is None or not _has_tables(ctx.session, "access_campaigns"):
        return []
    return [
        Draft("access_campaign", item["title"], item.get("source"))
        for item in reader(ctx.session, ctx.today)
    ]


def budget_variance(ctx: Context) -> list[Draft]:
    """The year's run budget when its forecast is beyond plan."""
    year = budget_year(ctx.session, None, ctx.today.year, ctx.today)
    if not year.categories or year.status == "green":
        return []
    total = year.total
    return [
        Draft(
            "budget",
            f"Run budget {year.year}: forecast {total.forecast:,.0f} for a plan of "
            f"{total.planned_year:,.0f} ({year.status})",
            f"budget:{year.year}",
        )
    ]


# the order the committee reviews them: objectives first (the "what matters")
SOURCES: tuple[Callable[[Context], list[Draft]], ...] = (
    objectives_off_track,
    indicators_out_of_target,
    enhancements_awaiting_decision,
    sprint_outcomes,
    risks_needing_attention,
    overdue_actions,
    late_access_campaigns,
    budget_variance,
)


def build(
    session: Session, committee: Committee, since: datetime | None, today: date
) -> list[Draft]:
    """The draft agenda: every source's points, in the order of ``SOURCES``."""
    ctx = Context(session, committee, since, today)
    points: list[Draft] = []
    for source in SOURCES:
        points.extend(source(ctx)[:PER_SOURCE])
    return points
