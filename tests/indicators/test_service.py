"""Reading indicators: status against targets, module targets falling back to overall ones."""

from __future__ import annotations

from datetime import date

import pytest

from app.core.errors import NotFound
from app.indicators import registry, service
from app.indicators.models import IndicatorSnapshot, IndicatorTarget, dimension_of


def _target(key="dau", target=100.0, amber=10.0, direction="at_least", module_id=None):
    return IndicatorTarget(
        key=key,
        dimension=dimension_of(module_id),
        module_id=module_id,
        target=target,
        amber=amber,
        direction=direction,
    )


@pytest.mark.parametrize(
    ("value", "direction", "expected"),
    [
        (100.0, "at_least", "green"),
        (95.0, "at_least", "amber"),
        (90.0, "at_least", "amber"),
        (89.9, "at_least", "red"),
        (100.0, "at_most", "green"),
        (105.0, "at_most", "amber"),
        (111.0, "at_most", "red"),
        (None, "at_least", None),
    ],
)
def test_status_follows_the_direction_and_the_amber_band(value, direction, expected):
    assert service.status_of(value, _target(direction=direction)) == expected


def test_no_target_means_no_status():
    assert service.status_of(42.0, None) is None


def test_the_module_target_wins_over_the_overall_one(db_session, finance):
    db_session.add_all([_target(target=100.0), _target(target=10.0, module_id=finance.id)])
    db_session.flush()

    assert service.target_for(db_session, "dau", finance.id).target == 10.0
    assert service.target_for(db_session, "dau", None).target == 100.0


def test_series_and_latest_read_one_dimension_with_its_status(db_session, finance):
    db_session.add(_target(target=5.0, amber=1.0, module_id=finance.id))
    for day, overall, fin in [(date(2026, 11, 2), 20.0, 3.0), (date(2026, 11, 3), 25.0, 6.0)]:
        db_session.add(IndicatorSnapshot(key="dau", day=day, dimension="overall", value=overall))
        db_session.add(
            IndicatorSnapshot(
                key="dau",
                day=day,
                dimension=dimension_of(finance.id),
                module_id=finance.id,
                value=fin,
            )
        )
    db_session.flush()

    points = service.series(db_session, "dau", module_id=finance.id, start=date(2026, 11, 1))
    assert [(p.day.day, p.value, p.status) for p in points] == [(2, 3.0, "red"), (3, 6.0, "green")]
    assert service.latest(db_session, "dau").value == 25.0
    assert service.latest(db_session, "mau") is None


def test_an_unknown_key_is_not_found(db_session):
    with pytest.raises(NotFound):
        service.series(db_session, "no_such_indicator")


def test_keys_are_unique_and_described():
    keys = [i.key for i in registry.all_indicators()]
    assert len(keys) == len(set(keys))
    assert all(i.name and i.formula for i in registry.all_indicators())
    with pytest.raises(ValueError):
        registry.register(registry.get("dau"))
