"""Every indicator equals the straightforward computation on a generated history, on both
backends; recomputing a day replaces it; access and sprint indicators are computed too."""

from __future__ import annotations

import math
from datetime import date

import pytest
from sqlalchemy import func, select

from app.indicators import compute
from app.indicators.models import IndicatorRun, IndicatorSnapshot
from tests.indicators import story


def _snapshots(session) -> dict[tuple[str, date, str], float | None]:
    return {
        (s.key, s.day, s.dimension): s.value for s in session.scalars(select(IndicatorSnapshot))
    }


def _same(found: float | None, wanted: float | None) -> bool:
    if found is None or wanted is None:
        return found is None and wanted is None
    return math.isclose(found, wanted, rel_tol=1e-9, abs_tol=1e-3)


@pytest.fixture
def history(db_session, make_user, make_module, make_calendar):
    return story.build(db_session, make_user, make_module, make_calendar)


def test_every_indicator_equals_the_straightforward_computation(db_session, history):
    compute.recompute(db_session, story.days())
    db_session.commit()

    found = _snapshots(db_session)
    wanted = story.expected(db_session, history)
    missing = sorted(set(wanted) - set(found))
    assert not missing, missing[:5]
    wrong = [(k, found[k], wanted[k]) for k in wanted if not _same(found[k], wanted[k])]
    assert not wrong, wrong[:5]
    # the history is not trivial: the checks above compared real numbers
    keys_with_values = {k[0] for k, v in wanted.items() if v}
    assert {"mttr_seconds", "reopen_ratio", "fcr_ratio", "csat_average", "stickiness_ratio"} <= (
        keys_with_values
    )
    assert {"enhancement_lead_time_seconds", "sla_resolution_compliance_ratio"} <= keys_with_values


def test_an_empty_day_has_zero_counts_and_no_ratios(db_session, history):
    quiet = date(2027, 1, 15)  # long after the story: no ticket moved, nobody used the ERP
    compute.recompute(db_session, [quiet])
    db_session.commit()

    found = _snapshots(db_session)
    assert found[("tickets_opened", quiet, "overall")] == 0.0
    assert found[("dau", quiet, "overall")] == 0.0
    assert found[("mau", quiet, "overall")] == 0.0
    assert found[("stickiness_ratio", quiet, "overall")] is None
    assert found[("tickets_per_100_mau", quiet, "overall")] is None
    assert found[("mttr_seconds", quiet, "overall")] is None
    assert found[("csat_average", quiet, "overall")] is None
    assert found[("backlog_open", quiet, "overall")] > 0


def test_recomputing_a_day_replaces_it(db_session, history):
    day = date(2026, 10, 27)
    compute.recompute(db_session, [day])
    db_session.commit()
    first = _snapshots(db_session)
    first_computed = db_session.scalar(select(func.max(IndicatorSnapshot.computed_at)))

    compute.recompute(db_session, [day])
    db_session.commit()

    assert _snapshots(db_session) == first
    count = db_session.scalar(select(func.count(IndicatorSnapshot.id)))
    assert count == len(first)
    assert db_session.scalar(select(func.max(IndicatorSnapshot.computed_at))) >= first_computed
    assert db_session.scalar(select(func.count(IndicatorRun.id))) == 2


def test_every_dimension_of_the_registry_is_written(db_session, history):
    day = date(2026, 10, 28)
    compute.recompute(db_session, [day])
    db_session.commit()

    dims = {
        (key, dim)
        for key, dim in db_session.execute(
            select(IndicatorSnapshot.key, IndicatorSnapshot.dimension)
        )
    }
    modules = [m.id for m in history.modules.values()]
    assert {("backlog_open", f"priority:{p}") for p in range(1, 6)} <= dims
    assert {("dau", f"module:{m}") for m in modules} <= dims
    assert ("csat_average", "priority:1") not in dims


def test_access_and_sprint_indicators_are_computed_with_the_others(db_session, history):
    compute.recompute(db_session, [date(2026, 10, 28)])
    db_session.commit()

    keys = set(db_session.scalars(select(IndicatorSnapshot.key).distinct()))
    assert set(compute.COMPUTATIONS) == keys
    assert {
        "velocity_points",
        "predictability_ratio",
        "dormant_grants",
        "license_utilisation_ratio",
        "activation_ratio",
        "pending_access_requests",
    } <= keys
