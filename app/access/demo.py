"""The demo company's access rights: a role catalogue with SoD rules, grants of the demo
people (some temporary, some dormant, two held together under an approved exception), requests
awaiting approval, one closed review with its evidence and one running.

History is replayed through the real services at past instants, so every record carries the
timestamps and audit trail it would have had.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.access import approvals, campaigns, catalogue, grants, requesting
from app.access.models import AccessGrant
from app.core.clock import replaying
from app.core.outbox import OutboxMessage

ROLES = [
    ("FIN", "FIN_VIEW", "Read finance", "standard"),
    ("FIN", "FIN_SUPPLIER", "Maintain suppliers", "sensitive"),
    ("FIN", "FIN_PAYMENT", "Approve payments", "critical"),
    ("FIN", "FIN_CLOSE", "Close periods", "sensitive"),
    ("SAL", "SAL_ORDER", "Enter sales orders", "standard"),
    ("SAL", "SAL_PRICE", "Change price lists", "sensitive"),
    ("PUR", "PUR_REQ", "Request purchases", "standard"),
    ("PUR", "PUR_ORDER", "Issue purchase orders", "sensitive"),
    ("PUR", "PUR_RECEIVE", "Receive goods", "standard"),
    ("INV", "INV_VIEW", "Read stock", "standard"),
    ("INV", "INV_ADJUST", "Adjust stock", "sensitive"),
]
SOD_RULES = [
    (
        ["FIN_SUPPLIER", "FIN_PAYMENT"],
        "critical",
        "Create a supplier and pay it: fictitious vendor.",
    ),
    (["PUR_ORDER", "PUR_RECEIVE"], "high", "Order and receive the same goods: receipt fraud."),
    (
        ["PUR_ORDER", "FIN_PAYMENT"],
        "high",
        "Order and pay: purchases without a second pair of eyes.",
    ),
    (["SAL_ORDER", "SAL_PRICE"], "medium", "Set prices and sell at them: unauthorised discounts."),
]
COMMON = ["FIN_VIEW", "SAL_ORDER", "PUR_REQ", "INV_VIEW", "PUR_RECEIVE"]


def _granted(session: Session, ctx: Any, person, roles: list[str], when: datetime, **extra):
    """Replay a request by ``person`` approved by the FIN approver and the admin, provisioned."""
    admin, approver = ctx.logins["admin"], ctx.logins["approver"]
    with replaying(when):
        request = requesting.submit_request(
            session, person, roles=roles, justification="Daily work in my team.", **extra
        )
    if request.status == "needs_exception":
        with replaying(when + timedelta(hours=1)):
            requesting.file_exception(
                session,
                person,
                request,
                mitigating_control="Monthly review of supplier payments by the controller.",
                expires_on=(ctx.now + timedelta(days=120)).date(),
            )
    for hours, who in ((3, approver), (5, admin)):
        if request.status != "pending_approval":
            break
        if not requesting.request_parties(who, request) - {requesting.RequestParty.REQUESTER}:
            continue  # the demo approver approves Finance only
        with replaying(when + timedelta(hours=hours)):
            approvals.decide(session, who, request, decision="approve", comment="OK")
    with replaying(when + timedelta(days=1)):
        for grant in request_grants(session, request):
            grants.provision(session, admin, grant)
    return request


def request_grants(session: Session, request) -> list[AccessGrant]:
    return list(session.scalars(select(AccessGrant).where(AccessGrant.request_id == request.id)))


def seed_access(session: Session, ctx: Any) -> None:
    """The demo step of access rights (see the module docstring)."""
    start = ctx.now - timedelta(days=200)
    with replaying(start):
        for module, code, name, sensitivity in ROLES:
            catalogue.create_role(
                session, None, code=code, name=name, module=module, sensitivity=sensitivity
            )
        for roles, severity, description in SOD_RULES:
            catalogue.create_sod_rule(
                session, None, roles=roles, severity=severity, description=description
            )
    rng = ctx.rng
    people = sorted(rng.sample(ctx.users, k=min(18, len(ctx.users))), key=lambda u: u.id)
    count = 0
    for i, person in enumerate(people):
        # the first ones got their access long ago and never used it: dormant
        when = start + timedelta(days=5 + i * 6)
        roles = [COMMON[i % len(COMMON)]]
        extra = {}
        if i % 5 == 2:
            extra["end_date"] = (ctx.now + timedelta(days=30 + i)).date()
        _granted(session, ctx, person, roles, when, **extra)
        count += 1
    # held together under an approved exception
    holder = ctx.logins["keyuser"]
    _granted(session, ctx, holder, ["FIN_SUPPLIER"], start + timedelta(days=20))
    _granted(session, ctx, holder, ["FIN_PAYMENT"], start + timedelta(days=40))
    # awaiting a decision: for the approver's inbox and the requester's own page
    with replaying(ctx.now - timedelta(days=2)):
        requesting.submit_request(
            session,
            ctx.logins["requester"],
            roles=["FIN_CLOSE"],
            justification="I take over the month-end closing from Léa.",
        )
    with replaying(ctx.now - timedelta(days=1)):
        requesting.submit_request(
            session,
            people[-1],
            roles=["INV_ADJUST", "SAL_PRICE"],
            justification="Stock corrections at month end.",
        )
    _reviews(session, ctx, start)
    with replaying(ctx.now):
        grants.detect_dormant(session)
    # history is replayed, not news: nobody is notified about it
    session.execute(delete(OutboxMessage))
    ctx.summary["access_grants"] = count + 2


def _reviews(session: Session, ctx: Any, start: datetime) -> None:
    admin, approver = ctx.logins["admin"], ctx.logins["approver"]
    with replaying(ctx.now - timedelta(days=40)):
        closed = campaigns.open_campaign(
            session,
            admin,
            name="Finance recertification",
            modules=["FIN"],
            deadline=(ctx.now - timedelta(days=20)).date(),
        )
    items = list(session.scalars(campaigns.items_query(closed)))
    with replaying(ctx.now - timedelta(days=30)):
        for n, item in enumerate(items):
            if item.user_id == approver.id:
                continue
            revoke = n == 0
            campaigns.decide_items(
                session,
                approver,
                closed,
                [item.id],
                decision="revoke" if revoke else "certify",
                comment="Changed team" if revoke else None,
            )
    with replaying(ctx.now - timedelta(days=19)):
        campaigns.close_campaign(session, admin, closed)
    with replaying(ctx.now - timedelta(days=5)):
        running = campaigns.open_campaign(
            session,
            admin,
            name="Quarterly review, all modules",
            deadline=(ctx.now + timedelta(days=10)).date(),
        )
    items = list(session.scalars(campaigns.items_query(running)))
    with replaying(ctx.now - timedelta(days=2)):
        for item in items[: len(items) // 3]:
            campaigns.decide_items(session, admin, running, [item.id], decision="certify")
