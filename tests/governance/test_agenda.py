"""Each agenda source reads its own domain; the ones whose domain is absent add nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app.governance import agenda, budget, risks, service
from app.governance.agenda import Context

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def context(db_session, committee) -> Context:
    return Context(db_session, committee, None, date(2026, 12, 1))


def test_sources_of_absent_domains_add_nothing(db_session, chair):
    committee = service.create_committee(db_session, chair, name="S", cadence="weekly", members=[])
    ctx = context(db_session, committee)

    assert agenda.sprint_outcomes(ctx) == []
    assert agenda.late_access_campaigns(ctx) == []


def test_high_and_late_risks_and_budget_overruns_are_on_the_agenda(db_session, chair, owner):
    committee = service.create_committee(db_session, chair, name="S", cadence="weekly", members=[])
    risks.create_risk(
        db_session,
        chair,
        title="Late",
        category="x",
        probability=1,
        impact=1,
        owner=owner.email,
        review_by=date(2026, 11, 1),
    )
    risks.create_risk(
        db_session,
        chair,
        title="Calm",
        category="x",
        probability=1,
        impact=1,
        owner=owner.email,
        review_by=date(2027, 1, 1),
    )
    budget.set_planned(db_session, chair, 2026, "support", {f"{m:02d}": 100 for m in range(1, 13)})
    for month in range(1, 12):
        budget.record_actual(db_session, chair, 2026, "support", month, 150)

    points = agenda.build(db_session, committee, None, date(2026, 12, 1))

    assert [(p.kind, p.source) for p in points if p.kind in ("risk", "budget")] == [
        ("risk", "risk:1"),
        ("budget", "budget:2026"),
    ]


def test_a_worsening_objective_is_on_the_agenda(db_session, chair, owner, out_of_target_kpi):
    committee = service.create_committee(db_session, chair, name="S", cadence="weekly", members=[])
    objective = service.create_objective(
        db_session,
        chair,
        title="Fast fixes",
        owner=owner.email,
        indicators=[{"key": "mttr_seconds"}],
    )

    points = agenda.objectives_off_track(context(db_session, committee))

    assert [(p.kind, p.source) for p in points] == [("objective", f"objective:{objective.id}")]
    assert "red and worsening" in points[0].title
