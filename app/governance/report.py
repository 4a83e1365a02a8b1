"""The governance report for a period: a week (``2026-W45``), a month (``2026-11``) or a
meeting (``meeting:12``, from the committee's previous meeting to that one).

One plain dictionary feeds the JSON answer, the CSV, the page and the PDF, so the four always
say the same. Sections whose domain is not installed yet (sprints, access reviews) are empty
and say so. Everything here reads stored data: indicator snapshots, never raw events.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from importlib import import_module
from importlib.util import find_spec

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.catalogue.models import Module
from app.core.clock import utcnow
from app.core.permissions import Permission, require
from app.governance import pulse
from app.governance import risks as risk_register
from app.governance.actions import ActionStatus, overdue_clause
from app.governance.budget import budget_year
from app.governance.models import ActionItem, Decision, Meeting, Objective, Risk
from app.governance.service import invalid, objective_kpis, objective_status, read_kpi
from app.identity.models import User
from app.indicators.models import IndicatorTarget

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MEETING = re.compile(r"^meeting:(\d{1,12})$")
TOP_RISKS = 5


def parse_period(session: Session, period: str | None, today: date) -> tuple[str, date, date]:
    """(label, first day, last day) of ``period``; the current month when none is given."""
    period = period or today.strftime("%Y-%m")
    if match := _MONTH.match(period):
        year, month = int(match[1]), int(match[2])
        if not 2000 <= year <= 2999 or not 1 <= month <= 12:
            raise invalid("period", _l("A month from 2000-01 to 2999-12."))
        start = date(year, month, 1)
        end = (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)
        return period, start, end
    if match := _WEEK.match(period):
        try:
            start = date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError:
            raise invalid("period", _l("No such ISO week.")) from None
        if not 2000 <= start.year <= 2999:
            raise invalid("period", _l("A week from 2000 to 2999."))
        return period, start, start + timedelta(days=6)
    if match := _MEETING.match(period):
        meeting = session.get(Meeting, int(match[1]))
        if meeting is None:
            raise invalid("period", _l("No meeting %(value)s.", value=match[1]))
        previous = session.scalar(
            select(func.max(Meeting.scheduled_at)).where(
                Meeting.committee_id == meeting.committee_id,
                Meeting.scheduled_at < meeting.scheduled_at,
            )
        )
        end = meeting.scheduled_at.date()
        start = previous.date() + timedelta(days=1) if previous else end - timedelta(days=30)
        return f"{meeting.committee.name} {end.isoformat()}", start, end
    raise invalid("period", _l("A month (2026-11), an ISO week (2026-W45) or meeting:<id>."))


def _optional(module: str, function: str):
    try:
        if find_spec(module) is None:
            return None
    except ModuleNotFoundError:  # the domain's package itself is not there yet
        return None
    reader = getattr(import_module(module), function, None)
    return reader if callable(reader) else None


def _kpi_dict(kpi) -> dict:
    return {
        "key": kpi.key,
        "name": kpi.name,
        "module": kpi.module,
        "value": kpi.value,
        "target": kpi.target,
        "status": kpi.status,
        "trend": kpi.trend,
    }


def build_report(session: Session, actor: User | None, period: str | None) -> dict:
    """The report of ``period`` as plain data (dates as ISO text, amounts as floats)."""
    if actor is not None:
        require(actor, Permission.GOVERNANCE_VIEW)
    today = utcnow().date()
    label, start, end = parse_period(session, period, today)
    as_of = min(end, today)
    begin = datetime.combine(start, datetime.min.time(), UTC)
    finish = datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC)

    objectives = []
    for objective in session.scalars(select(Objective).order_by(Objective.id)):
        kpis = objective_kpis(session, objective, as_of)
        status, trend = objective_status(kpis)
        objectives.append(
            {
                "id": objective.id,
                "title": objective.title,
                "owner": objective.owner.name,
                "due_date": objective.due_date.isoformat() if objective.due_date else None,
                "status": status,
                "trend": trend,
                "kpis": [_kpi_dict(k) for k in kpis],
            }
        )

    kpis = []
    for target in session.scalars(
        select(IndicatorTarget).order_by(IndicatorTarget.key, IndicatorTarget.dimension)
    ):
        module = session.get(Module, target.module_id) if target.module_id else None
        kpis.append(_kpi_dict(read_kpi(session, target.key, module, as_of)))
    hotspots = [k for k in kpis if k["status"] == "red"]

    decisions = [
        {
            "date": d.decided_at.date().isoformat(),
            "committee": d.meeting.committee.name,
            "text": d.text,
            "enhancement": d.enhancement.ref if d.enhancement else None,
            "outcome": d.outcome,
        }
        for d in session.scalars(
            select(Decision)
            .where(Decision.decided_at >= begin, Decision.decided_at < finish)
            .order_by(Decision.decided_at, Decision.id)
        )
    ]

    sprints_reader = _optional("app.sprints.service", "outcomes_between")
    sprints = list(sprints_reader(session, start, end)) if sprints_reader else None
    access_reader = _optional("app.access.service", "review_status")
    access = access_reader(session, as_of) if access_reader else None

    top_risks = [
        {
            "id": r.id,
            "title": r.title,
            "category": r.category,
            "score": r.score,
            "owner": r.owner.name,
            "status": r.status,
            "review_by": r.review_by.isoformat() if r.review_by else None,
        }
        for r in session.scalars(
            select(Risk)
            .where(Risk.status.in_(risk_register.LIVE))
            .order_by(Risk.score.desc(), Risk.id)
            .limit(TOP_RISKS)
        )
    ]

    year = budget_year(session, None, as_of.year, as_of)
    budget = {
        "year": year.year,
        "planned_year": float(year.total.planned_year),
        "planned_to_date": float(year.total.planned_to_date),
        "actual_to_date": float(year.total.actual_to_date),
        "variance_to_date": float(year.total.variance_to_date),
        "forecast": float(year.total.forecast),
        "status": year.status if year.categories else None,
    }

    def action_dict(a: ActionItem) -> dict:
        return {
            "id": a.id,
            "title": a.title,
            "owner": a.owner.name,
            "due_date": a.due_date.isoformat(),
            "overdue": a.due_date < today,
        }

    open_actions = [
        action_dict(a)
        for a in session.scalars(
            select(ActionItem)
            .where(ActionItem.status == ActionStatus.OPEN)
            .order_by(ActionItem.due_date, ActionItem.id)
        )
    ]
    overdue_count = session.scalar(select(func.count(ActionItem.id)).where(overdue_clause(today)))
    survey, satisfaction = pulse.latest_average(session)
    return {
        "period": {"label": label, "start": start.isoformat(), "end": end.isoformat()},
        "generated_at": utcnow().isoformat(),
        "objectives": objectives,
        "kpis": kpis,
        "hotspots": hotspots,
        "decisions": decisions,
        "sprints": sprints,
        "access": access,
        "risks": top_risks,
        "budget": budget,
        "actions": {"open": open_actions, "overdue": overdue_count or 0},
        "satisfaction": {"survey": survey.title if survey else None, "average": satisfaction},
    }


def to_csv(report: dict) -> str:
    """One line per fact: section, item, measure, value (a spreadsheet pivots it)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "item", "measure", "value"])
    period = report["period"]
    writer.writerow(["period", period["label"], "from", period["start"]])
    writer.writerow(["period", period["label"], "to", period["end"]])
    for o in report["objectives"]:
        writer.writerow(["objective", o["title"], "status", o["status"] or ""])
        writer.writerow(["objective", o["title"], "trend", o["trend"] or ""])
    for k in report["kpis"]:
        item = k["name"] + (f" ({k['module']})" if k["module"] else "")
        for measure in ("value", "target", "status", "trend"):
            value = k[measure]
            writer.writerow(["kpi", item, measure, "" if value is None else value])
    for d in report["decisions"]:
        writer.writerow(["decision", d["text"], d["outcome"] or "", d["enhancement"] or ""])
    for r in report["risks"]:
        writer.writerow(["risk", r["title"], "score", r["score"]])
    for measure, value in report["budget"].items():
        writer.writerow(
            ["budget", report["budget"]["year"], measure, "" if value is None else value]
        )
    for a in report["actions"]["open"]:
        writer.writerow(["action", a["title"], "due_date", a["due_date"]])
    writer.writerow(["actions", "overdue", "count", report["actions"]["overdue"]])
    satisfaction = report["satisfaction"]
    writer.writerow(
        [
            "satisfaction",
            satisfaction["survey"] or "",
            "average",
            "" if satisfaction["average"] is None else satisfaction["average"],
        ]
    )
    return out.getvalue()
