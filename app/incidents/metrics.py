"""Ticket gauges for Prometheus, read at scrape time from indexed counts of open tickets.

Open tickets are a small, indexed slice of the table (status index), so these counts stay
cheap at any history size; heavier indicators belong to the snapshot workers.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import Metric
from sqlalchemy import func, select

from app.catalogue.models import Module
from app.core.clock import utcnow
from app.core.db import db
from app.core.metrics import gauge
from app.incidents.lifecycle import OPEN_STATUSES
from app.incidents.models import Ticket
from app.incidents.queues import breached_clause


def collect_ticket_gauges() -> Iterable[Metric]:
    """``steward_tickets_open`` and ``steward_tickets_breached_open`` by priority and module."""
    now = utcnow()
    open_ = gauge("steward_tickets_open", "Open tickets.", ["priority", "module"])
    breached = gauge(
        "steward_tickets_breached_open",
        "Open tickets whose SLA is breached.",
        ["priority", "module"],
    )
    base = (
        select(Ticket.priority, Module.code, func.count(Ticket.id))
        .join(Module, Module.id == Ticket.module_id)
        .where(Ticket.status.in_([s.value for s in OPEN_STATUSES]))
        .group_by(Ticket.priority, Module.code)
    )
    for priority, module, count in db.session.execute(base):
        open_.add_metric([priority, module], count)
    for priority, module, count in db.session.execute(base.where(breached_clause(now))):
        breached.add_metric([priority, module], count)
    yield open_
    yield breached


SCRAPE_COLLECTORS = (collect_ticket_gauges,)
