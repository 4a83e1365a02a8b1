"""The demo company's ERP usage since go-live: a story the adoption indicators can tell.

- Go-live is the start of the demo period; each person starts using the modules of their
  department some days after it (most within the first weeks: the adoption ramp).
- People work on weekdays; a few log in at weekends.
- Purchasing (PUR) lags: buyers kept ordering by e-mail and spreadsheets, so fewer of them ever
  adopt it, later, and those who do use it on fewer days; in the last weeks half of them give
  up on it, so its active users fall while its tickets do not: the support dashboard's hotspot.
- A few ERP accounts are no Steward user (a shared warehouse login, an interface, a
  consultant): the admins' finding.

History is written straight into the daily rollup in bulk (raw events of months would make the
demo slow); the last ``RAW_DAYS`` days go through the real ingestion, raw events included.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.usage.ingest import DailyRow, EventRow, add_rollup, store_events

RAW_DAYS = 7
LAGGING = "PUR"
# when the lagging module's quitters stop using it: between these many days before today
QUITTING_DAYS = (14, 56)
QUITTERS = 0.5
MODULES_OF_DEPARTMENT = {
    "Finance": ["FIN"],
    "Sales": ["SAL", "CRM"],
    "Purchasing": ["PUR", "INV"],
    "Logistics": ["INV", "PUR"],
    "HR": ["HR"],
    "Customer Service": ["CRM", "SAL"],
    "Production": ["MFG", "INV"],
    "IT": ["FIN", "SAL", "INV"],
    "Management": ["FIN", "SAL"],
}
ACTIONS = {
    "FIN": ["invoice.post", "journal.entry", "payment.run", "report.open"],
    "SAL": ["order.create", "quote.create", "price.check", "invoice.print"],
    "PUR": ["requisition.create", "po.create", "po.approve", "supplier.invoice"],
    "INV": ["stock.move", "count.enter", "transfer.create", "item.lookup"],
    "HR": ["absence.approve", "employee.update", "payroll.export"],
    "CRM": ["case.update", "contact.edit", "opportunity.update"],
    "MFG": ["workorder.release", "bom.view", "routing.edit"],
}
OUTSIDERS = [  # ERP accounts no Steward user matches
    ("wh-shared-login", ["INV"]),
    ("edi.interface", ["SAL", "PUR"]),
    ("consultant@partner.example", ["FIN", "PUR"]),
]


def _adoption_day(rng: random.Random, module: str) -> int | None:
    """Days after go-live a person starts using ``module``; None: never (in the period)."""
    if module == LAGGING:
        return None if rng.random() < 0.55 else int(rng.expovariate(1 / 45))
    return None if rng.random() < 0.08 else int(rng.expovariate(1 / 12))


def _last_day(rng: random.Random, module: str, span: int) -> int:
    """The last day (after go-live) a person uses ``module``: today, unless they give up."""
    if module != LAGGING or rng.random() >= QUITTERS:
        return span
    return span - rng.randint(*QUITTING_DAYS)


def _active(rng: random.Random, module: str, day: date) -> bool:
    if day.weekday() >= 5:
        return rng.random() < 0.04
    return rng.random() < (0.35 if module == LAGGING else 0.8)


def _span(rng: random.Random, day: date, events: int) -> tuple[datetime, datetime]:
    """First and last event of a working day (Paris office hours, in UTC)."""
    start = datetime.combine(day, time(7), tzinfo=UTC) + timedelta(minutes=rng.randrange(120))
    if events == 1:
        return start, start
    end = start + timedelta(minutes=min(540, events * rng.randint(3, 25)))
    return start, end


def demo_usage(
    session: Session,
    *,
    seed: int,
    people: Sequence[Any],
    modules: dict[str, Any],
    start: datetime,
    now: datetime,
) -> int:
    """Write the story above for ``people`` (each with ``email`` and ``department``) between
    go-live ``start`` and ``now``; returns how many events it represents."""
    rng = random.Random(seed)
    first_day, today = start.date(), now.date()
    span = (today - first_day).days
    habits: list[tuple[str, str, int, int]] = []  # (account, module, adoption day, last day)
    for person in people:
        for code in MODULES_OF_DEPARTMENT.get(person.department or "", ["FIN"]):
            adopted = _adoption_day(rng, code)
            if code in modules and adopted is not None:
                habits.append((person.email.lower(), code, adopted, _last_day(rng, code, span)))
    habits += [(account, code, 3, span) for account, codes in OUTSIDERS for code in codes]
    raw_from = today - timedelta(days=RAW_DAYS - 1)
    rollup: list[DailyRow] = []
    raw: list[EventRow] = []
    day = first_day
    while day <= today:
        offset = (day - first_day).days
        for account, code, adopted, last in habits:
            if not adopted <= offset <= last or not _active(rng, code, day):
                continue
            count = max(1, int(rng.lognormvariate(2.2, 0.6)))
            first, last = _span(rng, day, count)
            if day >= raw_from:
                events = _raw_events(rng, account, modules[code].id, code, first, last, count)
                raw += [e for e in events if e.occurred_at <= now]
            else:
                rollup.append(DailyRow(day, modules[code].id, account, count, first, last))
        day += timedelta(days=1)
    add_rollup(session, rollup, now)
    for begin in range(0, len(raw), 5_000):
        store_events(session, sorted(raw[begin : begin + 5_000], key=lambda r: r.event_id), now)
    return sum(r.events for r in rollup) + len(raw)


def _raw_events(
    rng: random.Random,
    account: str,
    module_id: int,
    code: str,
    first: datetime,
    last: datetime,
    count: int,
) -> list[EventRow]:
    count = min(count, 4)  # a lighter day for the raw weeks keeps the demo quick
    step = (last - first) / max(1, count - 1)
    return [
        EventRow(
            event_id=f"demo-{account}-{code}-{first:%Y%m%d}-{n}",
            account=account,
            module_id=module_id,
            action=rng.choice(ACTIONS.get(code, ["screen.open"])),
            occurred_at=first + step * n,
        )
        for n in range(count)
    ]
