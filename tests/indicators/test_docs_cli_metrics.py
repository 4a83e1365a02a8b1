"""docs/indicators.md follows the registry; the recompute command; the /metrics gauges."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from app.indicators import docs, metrics
from app.indicators.models import IndicatorSnapshot


def test_the_indicator_docs_are_generated_from_the_registry():
    assert docs.DOCS_PATH.read_text(encoding="utf-8") == docs.render(), (
        "docs/indicators.md differs from the registry: run `flask --app app indicators docs`"
    )


def test_the_docs_command_writes_the_page(runner, tmp_path, monkeypatch):
    target = tmp_path / "indicators.md"
    monkeypatch.setattr(docs, "DOCS_PATH", target)
    monkeypatch.setattr(docs.write, "__defaults__", (target,))
    result = runner.invoke(args=["indicators", "docs"])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == docs.render()


def test_recompute_covers_the_days_asked_and_exits_0(runner, db_session, finance):
    result = runner.invoke(
        args=["indicators", "recompute", "--from", "2026-10-01", "--to", "2026-10-03"]
    )
    assert result.exit_code == 0, result.output
    days = set(db_session.scalars(select(IndicatorSnapshot.day).distinct()))
    assert days == {date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3)}


def test_recompute_refuses_reversed_days(runner, db_session):
    result = runner.invoke(
        args=["indicators", "recompute", "--from", "2026-10-03", "--to", "2026-10-01"]
    )
    assert result.exit_code != 0
    assert db_session.scalar(select(func.count(IndicatorSnapshot.id))) == 0


def test_metrics_expose_the_latest_values_and_when_they_were_computed(
    app, client, db_session, finance
):
    finished = datetime(2026, 11, 4, 1, 0, tzinfo=UTC)
    db_session.add_all(
        [
            IndicatorSnapshot(
                key="tickets_opened", day=date(2026, 11, 2), dimension="overall", value=9.0
            ),
            IndicatorSnapshot(
                key="tickets_opened",
                day=date(2026, 11, 3),
                dimension="overall",
                value=4.0,
                computed_at=finished,
            ),
            IndicatorSnapshot(
                key="tickets_opened",
                day=date(2026, 11, 3),
                dimension=f"module:{finance.id}",
                module_id=finance.id,
                value=3.0,
                computed_at=finished,
            ),
            IndicatorSnapshot(
                key="tickets_opened",
                day=date(2026, 11, 3),
                dimension="priority:2",
                priority=2,
                value=1.0,
                computed_at=finished,
            ),
        ]
    )
    db_session.commit()
    metrics.forget_cached()

    text = client.get("/metrics").get_data(as_text=True)

    assert 'steward_indicator_value{key="tickets_opened",module="all"} 4.0' in text
    assert 'steward_indicator_value{key="tickets_opened",module="FIN"} 3.0' in text
    samples = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("steward_indicator")
    }
    assert samples[
        'steward_indicator_last_computed_timestamp_seconds{indicator="tickets_opened"}'
    ] == (finished.timestamp())
    # the latest day only, overall and per module: no priority label, no older day
    assert sorted(k for k in samples if k.startswith("steward_indicator_value")) == [
        'steward_indicator_value{key="tickets_opened",module="FIN"}',
        'steward_indicator_value{key="tickets_opened",module="all"}',
    ]
