"""Governance gauges for Prometheus: risks needing attention and overdue action items.

Both are indexed counts over small tables (a register of risks, a list of actions), cheap at
scrape time.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import Metric
from sqlalchemy import func, select

from app.core.clock import utcnow
from app.core.db import db
from app.core.metrics import gauge
from app.governance import risks
from app.governance.actions import overdue_clause
from app.governance.models import ActionItem, Risk


def collect_governance_gauges() -> Iterable[Metric]:
    """``steward_governance_risks_alerting`` by reason and ``..._actions_overdue``."""
    today, threshold = utcnow().date(), risks.alert_threshold()
    alerting = gauge(
        "steward_governance_risks_alerting",
        "Live risks at or above the alert score, or past their review date.",
        ["reason"],
    )
    live = Risk.status.in_(risks.LIVE)
    above = db.session.scalar(select(func.count(Risk.id)).where(live, Risk.score >= threshold))
    late = db.session.scalar(select(func.count(Risk.id)).where(live, Risk.review_by < today))
    alerting.add_metric(["score"], above or 0)
    alerting.add_metric(["review_overdue"], late or 0)
    overdue = gauge("steward_governance_actions_overdue", "Open action items past their due date.")
    overdue.add_metric(
        [], db.session.scalar(select(func.count(ActionItem.id)).where(overdue_clause(today))) or 0
    )
    yield alerting
    yield overdue


SCRAPE_COLLECTORS = (collect_governance_gauges,)
