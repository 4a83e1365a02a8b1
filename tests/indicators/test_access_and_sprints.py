"""The access-rights and sprint indicators equal the straightforward computation on a generated
history of grants, requests, usage and sprints, on both backends.

Grants hold from their provisioning (not their approval) until they end; requests wait from
submission until any decision; velocity and predictability read the last three closed sprints
(team sprints count overall only).
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import insert, select

from app.access.models import AccessGrant, AccessRequest, AccessRequestRole, ErpRole
from app.indicators import compute
from app.indicators.models import IndicatorSnapshot
from app.sprints.models import Sprint
from app.usage.models import UsageDaily

KEYS = (
    "license_utilisation_ratio",
    "activation_ratio",
    "dormant_grants",
    "pending_access_requests",
    "velocity_points",
    "predictability_ratio",
)
FIRST_DAY = date(2026, 11, 1)
DAYS = [FIRST_DAY + timedelta(days=n) for n in range(0, 40, 3)]
DAY = timedelta(days=1)
UNDECIDED = ("pending_approval", "needs_exception")


def _at(day: date, hours: float) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC) + timedelta(hours=hours)


def _some_time(rng: random.Random, first: date, last: date) -> datetime:
    day = first + timedelta(days=rng.randint(0, (last - first).days))
    return _at(day, rng.choice([0.0, 23.999, rng.uniform(0, 24)]))


@pytest.fixture
def history(db_session, make_user, make_module):
    rng = random.Random(11)
    modules = [make_module(code) for code in ("FIN", "SAL", "HR")]  # HR: nothing ever happens
    people = [make_user("requester") for _ in range(8)]
    roles = []
    for module in modules[:2]:
        for n in range(2):
            role = ErpRole(code=f"{module.code}_{n}", name=f"Role {n}", module_id=module.id)
            roles.append(role)
    db_session.add_all(roles)
    db_session.flush()

    for _ in range(40):
        role = rng.choice(roles)
        granted = _some_time(rng, FIRST_DAY - 60 * DAY, DAYS[-1])
        provisioned = granted + timedelta(hours=rng.uniform(0, 72)) if rng.random() < 0.8 else None
        grant = AccessGrant(
            user_id=rng.choice(people).id,
            role_id=role.id,
            module_id=role.module_id,
            status="active",
            granted_at=granted,
            provisioned_at=provisioned,
        )
        if provisioned is not None:
            if rng.random() < 0.6:
                grant.first_used_at = provisioned + timedelta(days=rng.uniform(0, 25))
            if rng.random() < 0.4:
                grant.dormant_since = provisioned + timedelta(days=rng.uniform(10, 50))
        if rng.random() < 0.3:
            grant.ended_at = (provisioned or granted) + timedelta(days=rng.uniform(0, 40))
            grant.status = "revoked"
        db_session.add(grant)

    for _ in range(30):
        created = _some_time(rng, FIRST_DAY - 10 * DAY, DAYS[-1])
        status = rng.choice(["pending_approval", "needs_exception", "approved", "rejected"])
        decided = None
        if status not in UNDECIDED:
            decided = created + timedelta(days=rng.uniform(0, 12))
        request = AccessRequest(
            requester_id=people[0].id,
            subject_id=rng.choice(people).id,
            justification="work",
            status=status,
            created_at=created,
            decided_at=decided,
        )
        db_session.add(request)
        db_session.flush()
        for role in rng.sample(roles, rng.randint(1, 3)):
            db_session.add(AccessRequestRole(request_id=request.id, role_id=role.id))

    for n in range(14):
        module = rng.choice([modules[0], modules[1], None])  # None: a team sprint
        closed = _some_time(rng, FIRST_DAY - 20 * DAY, DAYS[-1]) if rng.random() < 0.85 else None
        db_session.add(
            Sprint(
                name=f"S{n}",
                start_date=FIRST_DAY,
                end_date=FIRST_DAY,
                capacity_points=40,
                module_id=module.id if module else None,
                status="closed" if closed else "active",
                committed_points=rng.choice([0, 10, 20, 30]),
                done_points=rng.randint(0, 30),
                closed_at=closed,
            )
        )

    rows = {}
    for _ in range(400):
        when = _some_time(rng, FIRST_DAY - 40 * DAY, DAYS[-1])
        module = rng.choice(modules[:2])
        account = rng.choice(people).email.lower()
        rows[(when.date(), module.id, account)] = {
            "day": when.date(),
            "module_id": module.id,
            "account": account,
            "events": 1,
            "first_at": when,
            "last_at": when,
        }
    db_session.execute(insert(UsageDaily), list(rows.values()))
    db_session.commit()
    return [m.id for m in modules]


# --- the straightforward computation ----------------------------------------------------------


def _end(day: date) -> datetime:
    return _at(day + DAY, 0)


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _held(grant: AccessGrant, day: date) -> bool:
    end = _end(day)
    started = grant.provisioned_at is not None and grant.provisioned_at < end
    return started and (grant.ended_at is None or grant.ended_at >= end)


def _expected(session, module_ids: list[int]) -> dict[tuple[str, date, str], float | None]:
    grants = list(session.scalars(select(AccessGrant)))
    requests = list(session.scalars(select(AccessRequest)))
    sprints = list(session.scalars(select(Sprint)))
    usage = list(session.scalars(select(UsageDaily)))
    found: dict[tuple[str, date, str], float | None] = {}
    for day in DAYS:
        end = _end(day)
        for scope in [None, *module_ids]:
            dim = "overall" if scope is None else f"module:{scope}"

            def mine(module_id: int | None, scope=scope) -> bool:
                return scope is None or module_id == scope

            mau = {u.account for u in usage if mine(u.module_id) and day - 29 * DAY <= u.day <= day}
            holders = {g.user_id for g in grants if mine(g.module_id) and _held(g, day)}
            found[("license_utilisation_ratio", day, dim)] = _ratio(len(mau), len(holders))

            first_start, last_start = end - 44 * DAY, end - 14 * DAY
            started = [
                g
                for g in grants
                if mine(g.module_id)
                and g.provisioned_at is not None
                and first_start <= g.provisioned_at < last_start
            ]
            used = [
                g
                for g in started
                if g.first_used_at is not None
                and g.first_used_at < end
                and g.first_used_at - g.provisioned_at <= 14 * DAY
            ]
            found[("activation_ratio", day, dim)] = _ratio(len(used), len(started))

            found[("dormant_grants", day, dim)] = float(
                sum(
                    1
                    for g in grants
                    if mine(g.module_id)
                    and _held(g, day)
                    and g.dormant_since is not None
                    and g.dormant_since < end
                )
            )

            waiting = [
                r
                for r in requests
                if r.created_at < end
                and (
                    (r.decided_at is None and r.status in UNDECIDED)
                    or (r.decided_at is not None and r.decided_at >= end)
                )
                and (scope is None or any(item.role.module_id == scope for item in r.items))
            ]
            found[("pending_access_requests", day, dim)] = float(len(waiting))

            closed = sorted(
                (
                    s
                    for s in sprints
                    if s.closed_at is not None
                    and s.closed_at < end
                    and (scope is None or s.module_id == scope)
                ),
                key=lambda s: (s.closed_at, s.id),
                reverse=True,
            )[:3]
            done = sum(s.done_points for s in closed)
            found[("velocity_points", day, dim)] = _ratio(done, len(closed))
            committed = sum(s.committed_points for s in closed)
            found[("predictability_ratio", day, dim)] = _ratio(done, committed)
    return found


def _same(found: float | None, wanted: float | None) -> bool:
    if found is None or wanted is None:
        return found is None and wanted is None
    return math.isclose(found, wanted, rel_tol=1e-9, abs_tol=1e-9)


def test_access_and_sprint_indicators_equal_the_straightforward_computation(db_session, history):
    for day in DAYS:
        compute.recompute_day(db_session, day, KEYS)
    db_session.commit()

    found = {
        (s.key, s.day, s.dimension): s.value for s in db_session.scalars(select(IndicatorSnapshot))
    }
    wanted = _expected(db_session, history)
    assert set(found) == set(wanted)
    wrong = [
        (k, found[k], wanted[k]) for k in sorted(wanted, key=str) if not _same(found[k], wanted[k])
    ]
    assert not wrong, wrong[:5]
    # the history is not trivial: every indicator had real, varying numbers to compare
    for key in KEYS:
        values = {v for k, v in wanted.items() if k[0] == key and v}
        assert len(values) >= 2, key
