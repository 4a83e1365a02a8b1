"""The demo company: a plausible mid-size firm some months after its ERP went live.

One seeded, deterministic generator; each domain adds a step to ``STEPS``. A second run finds
the demo administrator and reuses what is there.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalogue import service as catalogue
from app.core.clock import utcnow
from app.identity.models import User
from app.identity.service import hash_password, save_user

DEMO_PASSWORD = "steward-demo"
DEMO_DOMAIN = "demo.steward.test"
DEMO_LOGINS = [
    (f"admin@{DEMO_DOMAIN}", "admin"),
    (f"agent@{DEMO_DOMAIN}", "agent"),
    (f"requester@{DEMO_DOMAIN}", "requester"),
    (f"keyuser@{DEMO_DOMAIN}", "key_user (FIN)"),
    (f"po@{DEMO_DOMAIN}", "product_owner"),
    (f"approver@{DEMO_DOMAIN}", "approver (FIN)"),
    (f"auditor@{DEMO_DOMAIN}", "auditor"),
]

MODULES = [
    ("FIN", "Finance", "General ledger, payables, receivables, closing"),
    ("SAL", "Sales", "Quotes, orders, invoicing, pricing"),
    ("PUR", "Purchasing", "Requisitions, purchase orders, supplier invoices"),
    ("INV", "Inventory", "Stock, warehouses, transfers, counts"),
    ("HR", "Human Resources", "Employees, absences, payroll interface"),
    ("CRM", "Customer Relations", "Accounts, contacts, opportunities, cases"),
    ("MFG", "Manufacturing", "Bills of materials, work orders, routings"),
]
DEPARTMENTS = [
    "Finance",
    "Sales",
    "Purchasing",
    "Logistics",
    "HR",
    "Customer Service",
    "Production",
    "IT",
    "Management",
]
FIRST = [
    "Ana",
    "Ben",
    "Chloé",
    "David",
    "Emma",
    "Farid",
    "Greta",
    "Hugo",
    "Inès",
    "Jonas",
    "Karim",
    "Léa",
    "Marco",
    "Nina",
    "Omar",
    "Paula",
    "Quentin",
    "Rosa",
    "Sami",
    "Tess",
    "Ugo",
    "Vera",
    "Wim",
    "Xenia",
    "Yann",
    "Zoé",
]
LAST = [
    "Martin",
    "Bernard",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Garcia",
    "Roux",
    "Fontaine",
    "Chevalier",
    "Muller",
    "Keller",
    "Rossi",
    "Novak",
    "Jansen",
    "Silva",
    "Costa",
    "Weber",
    "Lambert",
]


@dataclass
class DemoContext:
    """What the steps share: the random source, the time span, and what earlier steps made."""

    rng: random.Random
    now: datetime
    months: int
    user_count: int
    users: list[User] = field(default_factory=list)
    agents: list[User] = field(default_factory=list)
    modules: dict[str, Any] = field(default_factory=dict)
    logins: dict[str, User] = field(default_factory=dict)
    summary: dict[str, int] = field(default_factory=dict)

    @property
    def start(self) -> datetime:
        return self.now - timedelta(days=30 * self.months)


def _catalogue(session: Session, ctx: DemoContext) -> None:
    paris = catalogue.create_calendar(
        session,
        None,
        code="EU_OFFICE",
        name="European office hours",
        timezone="Europe/Paris",
        working_hours={str(d): [["08:30", "12:30"], ["13:30", "17:30"]] for d in range(5)},
        country="FR",
    )
    years = sorted({ctx.start.year, ctx.now.year, ctx.now.year + 1})
    catalogue.import_public_holidays(session, None, paris, "FR", years)
    ny = catalogue.create_calendar(
        session,
        None,
        code="US_OFFICE",
        name="US office hours",
        timezone="America/New_York",
        working_hours={str(d): [["09:00", "17:00"]] for d in range(5)},
        country="US",
    )
    catalogue.import_public_holidays(session, None, ny, "US", years)
    for code, name, description in MODULES:
        group = catalogue.create_group(
            session,
            None,
            code=f"{code}_SUP",
            name=f"{name} support",
            email=f"{code.lower()}-support@{DEMO_DOMAIN}",
        )
        module = catalogue.create_module(
            session,
            None,
            code=code,
            name=name,
            description=description,
            support_group=group.code,
            calendar="US_OFFICE" if code == "CRM" else "EU_OFFICE",
        )
        ctx.modules[code] = module
    ctx.summary["modules"] = len(MODULES)


def _people(session: Session, ctx: DemoContext) -> None:
    demo_hash = hash_password(DEMO_PASSWORD)
    fin = ctx.modules["FIN"].id
    named = [
        ("admin", "Alex Admin", "IT", [("admin", None)]),
        ("agent", "Sam Support", "IT", [("agent", None)]),
        ("requester", "Rita Requester", "Finance", [("requester", None)]),
        ("keyuser", "Kim Keyuser", "Finance", [("requester", None), ("key_user", fin)]),
        ("po", "Pat Owner", "IT", [("product_owner", None)]),
        ("approver", "Aude Approver", "Finance", [("approver", fin)]),
        ("auditor", "Otto Auditor", "Management", [("auditor", None)]),
    ]
    for local, name, department, roles in named:
        user, _ = save_user(
            session,
            None,
            email=f"{local}@{DEMO_DOMAIN}",
            name=name,
            department=department,
            roles=roles,
        )
        user.password_hash = demo_hash
        ctx.logins[local] = user
    ctx.agents.append(ctx.logins["agent"])
    rng = ctx.rng
    for i in range(ctx.user_count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        department = rng.choice(DEPARTMENTS)
        roles: list[tuple[str, int | None]] = [("requester", None)]
        if department == "IT" and len(ctx.agents) < 12:
            roles = [("agent", None)]
        elif i % 40 == 0:
            roles.append(("key_user", rng.choice(list(ctx.modules.values())).id))
        user, _ = save_user(
            session,
            None,
            email=f"{first}.{last}.{i}@{DEMO_DOMAIN}".lower(),
            name=f"{first} {last}",
            department=department,
            roles=roles,
        )
        user.created_at = ctx.start + timedelta(days=rng.randint(0, 20))
        (ctx.agents if roles == [("agent", None)] else ctx.users).append(user)
    ctx.users.append(ctx.logins["requester"])
    ctx.users.append(ctx.logins["keyuser"])
    for module in ctx.modules.values():
        members = rng.sample(ctx.agents, k=min(3, len(ctx.agents)))
        if module.code in {"FIN", "SAL"}:
            members.append(ctx.logins["agent"])
        catalogue.set_group_members(
            session, None, module.support_group, list(dict.fromkeys(members))
        )
    ctx.summary["users"] = len(ctx.users) + len(ctx.agents)


Step = Callable[[Session, DemoContext], None]
STEPS: list[Step] = [_catalogue, _people]


def generate(
    session: Session,
    *,
    seed: int = 42,
    user_count: int = 300,
    months: int = 6,
    now: datetime | None = None,
) -> dict[str, int] | None:
    """Create the demo company; None when it already exists (nothing is changed then)."""
    if session.scalar(select(User.id).where(User.email == f"admin@{DEMO_DOMAIN}")):
        return None
    now = now or utcnow()
    ctx = DemoContext(
        rng=random.Random(seed), now=now.astimezone(UTC), months=months, user_count=user_count
    )
    for step in STEPS:
        step(session, ctx)
        session.flush()
    return ctx.summary
