"""The daily burndown: one point per sprint and day, whatever how often the job runs."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from app.core.runner import run_job
from app.sprints.jobs import record_burndown
from app.sprints.models import BurndownPoint
from tests.sprints.conftest import created, planned, posted


def test_the_daily_job_records_one_point_per_day_however_often_it_runs(
    app, pat, approved, db_session, monday, frozen_clock
):
    sprint = created(pat)
    first = planned(pat, sprint["id"], approved("A").ref, 5)
    planned(pat, sprint["id"], approved("B").ref, 3)
    posted(pat, f"/api/v1/sprints/{sprint['id']}/start")  # records the first day
    frozen_clock(datetime(2026, 3, 3, 18, 0, tzinfo=UTC))
    posted(pat, f"/api/v1/sprints/{sprint['id']}/items/{first['id']}/transitions", action="done")

    for _ in range(2):
        record_burndown(db_session)
        db_session.commit()

    count = db_session.scalar(select(func.count()).select_from(BurndownPoint))
    assert count == 2
    points = pat.get(f"/api/v1/sprints/{sprint['id']}/burndown").get_json()
    assert points["committed_points"] == 8
    assert points["points"] == [
        {"date": "2026-03-02", "remaining": 8, "done": 0, "scope": 8},
        {"date": "2026-03-03", "remaining": 3, "done": 5, "scope": 8},
    ]


def test_the_job_runs_through_the_job_runner_and_skips_sprints_not_running(
    app, pat, approved, db_session, monday
):
    waiting = created(pat)
    planned(pat, waiting["id"], approved().ref, 5)

    assert run_job("app.sprints.jobs.record_burndown") == 0

    assert db_session.scalar(select(func.count()).select_from(BurndownPoint)) == 0


def test_scope_added_after_start_raises_the_scope_line(pat, approved, monday, db_session):
    sprint = created(pat)
    planned(pat, sprint["id"], approved("A").ref, 5)
    posted(pat, f"/api/v1/sprints/{sprint['id']}/start")
    planned(pat, sprint["id"], approved("B").ref, 2)

    record_burndown(db_session)
    db_session.commit()

    [point] = pat.get(f"/api/v1/sprints/{sprint['id']}/burndown").get_json()["points"]
    assert (point["scope"], point["remaining"], point["done"]) == (7, 7, 0)
