"""Hotspots: modules where tickets per 100 active users rise while adoption falls.

Read from two snapshot days of each module (the latest computed day and four weeks before):
a module is a hotspot when its tickets per 100 MAU went up and its MAU went down. They are
ranked by how much worse both got, together: the relative rise of the ticket rate plus the
relative fall of the active users.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalogue.service import module_refs
from app.indicators.models import IndicatorSnapshot

COMPARED_DAYS = 28


@dataclass(frozen=True)
class Hotspot:
    module_code: str
    module_name: str
    tickets_before: float
    tickets_now: float
    mau_before: float
    mau_now: float

    @property
    def tickets_rise(self) -> float:
        """Relative rise of tickets per 100 MAU (1.0 = doubled; from zero counts as 1.0)."""
        if self.tickets_before <= 0:
            return 1.0
        return (self.tickets_now - self.tickets_before) / self.tickets_before

    @property
    def adoption_fall(self) -> float:
        """Relative fall of MAU (0.25 = a quarter fewer active users)."""
        return (self.mau_before - self.mau_now) / self.mau_before if self.mau_before else 0.0

    @property
    def score(self) -> float:
        return self.tickets_rise + self.adoption_fall


def _values(session: Session, key: str, day: date) -> dict[int, float]:
    rows = session.execute(
        select(IndicatorSnapshot.module_id, IndicatorSnapshot.value).where(
            IndicatorSnapshot.key == key,
            IndicatorSnapshot.day == day,
            IndicatorSnapshot.module_id.is_not(None),
            IndicatorSnapshot.value.is_not(None),
        )
    )
    return {module_id: value for module_id, value in rows}


def hotspots(session: Session, day: date | None = None) -> list[Hotspot]:
    """The modules getting worse on both counts, worst first (empty before any snapshot)."""
    if day is None:
        day = session.scalar(
            select(IndicatorSnapshot.day)
            .where(IndicatorSnapshot.key == "mau", IndicatorSnapshot.dimension == "overall")
            .order_by(IndicatorSnapshot.day.desc())
            .limit(1)
        )
        if day is None:
            return []
    before = day - timedelta(days=COMPARED_DAYS)
    rate_now, rate_before = (_values(session, "tickets_per_100_mau", d) for d in (day, before))
    mau_now, mau_before = (_values(session, "mau", d) for d in (day, before))
    found = []
    for module in module_refs(session):
        m = module.id
        if m not in rate_now or m not in rate_before or m not in mau_now or m not in mau_before:
            continue
        if rate_now[m] > rate_before[m] and mau_now[m] < mau_before[m]:
            found.append(
                Hotspot(
                    module.code, module.name, rate_before[m], rate_now[m], mau_before[m], mau_now[m]
                )
            )
    return sorted(found, key=lambda h: (-h.score, h.module_code))
