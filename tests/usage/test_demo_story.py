"""The demo's usage story: the lagging module loses active users in the last weeks while the
others do not, so the support dashboard has a hotspot to show on first start."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import sqlalchemy as sa

from app.usage.demo import LAGGING, demo_usage
from app.usage.models import UsageDaily

NOW = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
START = NOW - timedelta(days=180)


def monthly_active(session, module_id: int, day: date) -> int:
    """Distinct accounts with a day of use in the 30 days ending ``day`` (computed here)."""
    rows = session.execute(
        sa.select(UsageDaily.account, UsageDaily.day).where(UsageDaily.module_id == module_id)
    ).all()
    return len({a for a, d in rows if day - timedelta(days=29) <= d <= day})


def test_the_lagging_module_loses_users_in_the_last_weeks(db_session, make_module):
    modules = {code: make_module(code) for code in ("FIN", "SAL", "PUR", "INV", "HR", "CRM", "MFG")}
    people = [
        SimpleNamespace(email=f"buyer{n}@example.com", department="Purchasing") for n in range(40)
    ]

    demo_usage(db_session, seed=7, people=people, modules=modules, start=START, now=NOW)
    db_session.commit()

    today, before = NOW.date(), NOW.date() - timedelta(days=28)
    lagging = modules[LAGGING].id
    steady = modules["INV"].id
    assert monthly_active(db_session, lagging, today) < monthly_active(db_session, lagging, before)
    assert monthly_active(db_session, steady, today) >= monthly_active(db_session, steady, before)
