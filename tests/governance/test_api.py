"""The governance contract, as scripts and integrations use it, role by role."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.core.audit import AuditEvent
from app.core.outbox import OutboxMessage
from app.enhancements.models import Enhancement

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _december(frozen_clock):
    frozen_clock(NOW)


def created(response, status=201) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def committee(client, *emails) -> dict:
    return created(
        client.post(
            "/api/v1/committees",
            json={"name": "Steering", "cadence": "monthly", "members": list(emails)},
        )
    )


# --- objectives ------------------------------------------------------------------------------


def test_an_objective_takes_its_status_from_its_indicators(claire, owner, out_of_target_kpi):
    body = created(
        claire.post(
            "/api/v1/objectives",
            json={
                "title": "Resolve Finance incidents within the hour",
                "owner": owner.email,
                "due_date": "2027-06-30",
                "indicators": [{"key": "mttr_seconds", "module": None}],
            },
        )
    )

    listed = claire.get("/api/v1/objectives").get_json()["items"]
    assert body["status"] == "red"
    assert [(o["title"], o["status"], o["trend"]) for o in listed] == [
        ("Resolve Finance incidents within the hour", "red", "worsening")
    ]


def test_an_objective_needs_a_known_indicator(claire, owner):
    response = claire.post(
        "/api/v1/objectives",
        json={"title": "X", "owner": owner.email, "indicators": [{"key": "nonsense"}]},
    )

    assert response.status_code == 422
    assert "indicators" in response.get_json()["errors"]


def test_changing_an_objective_needs_its_etag(claire, owner, out_of_target_kpi):
    body = created(
        claire.post(
            "/api/v1/objectives",
            json={"title": "Fast", "owner": owner.email, "indicators": [{"key": "mttr_seconds"}]},
        )
    )
    url = f"/api/v1/objectives/{body['id']}"
    etag = claire.get(url).headers["ETag"]

    assert claire.patch(url, json={"title": "Faster"}).status_code == 428
    assert (
        claire.patch(url, json={"title": "Faster"}, headers={"If-Match": etag}).status_code == 200
    )
    assert (
        claire.patch(url, json={"title": "Fastest"}, headers={"If-Match": etag}).status_code == 412
    )


def test_the_auditor_reads_objectives_and_may_not_set_one(audrey, owner):
    assert audrey.get("/api/v1/objectives").status_code == 200
    response = audrey.post(
        "/api/v1/objectives",
        json={"title": "X", "owner": owner.email, "indicators": [{"key": "mttr_seconds"}]},
    )
    assert response.status_code == 403


def test_a_requester_sees_no_governance(olga):
    assert olga.get("/api/v1/objectives").status_code == 403
    assert olga.get("/api/v1/risks").status_code == 403
    assert olga.get("/api/v1/committees").status_code == 403


# --- committees, meetings, minutes ----------------------------------------------------------


def test_a_meeting_agenda_is_built_from_the_data(
    claire, member, out_of_target_kpi, pending_enhancement
):
    steering = committee(claire, member.email)
    meeting = created(
        claire.post(
            f"/api/v1/committees/{steering['id']}/meetings",
            json={"scheduled_at": "2026-12-08T09:00:00+00:00"},
        )
    )

    kinds = {(p["kind"], p["source"]) for p in meeting["agenda"]}
    assert ("indicator", "indicator:mttr_seconds@overall") in kinds
    assert ("enhancement_decision", f"enhancement:{pending_enhancement.ref}") in kinds
    assert all({"kind", "title", "source"} <= set(p) for p in meeting["agenda"])
    assert sorted(steering["members"]) == ["chair@example.com", "mo@example.com"]


def test_minutes_decide_the_enhancement_and_publishing_mails_the_members(
    claire, member, owner, pending_enhancement, db_session
):
    steering = committee(claire, member.email)
    meeting = created(
        claire.post(
            f"/api/v1/committees/{steering['id']}/meetings",
            json={"scheduled_at": "2026-12-08T09:00:00+00:00"},
        )
    )
    minutes = created(
        claire.post(
            f"/api/v1/meetings/{meeting['id']}/minutes",
            json={
                "attendees": [member.email],
                "notes": "Quorum reached.",
                "decisions": [
                    {
                        "text": "Worth a day a month.",
                        "enhancement": pending_enhancement.ref,
                        "outcome": "approve",
                    }
                ],
                "actions": [
                    {"title": "Write the spec", "owner": owner.email, "due_date": "2026-12-20"}
                ],
            },
        ),
        200,
    )
    published = created(claire.post(f"/api/v1/meetings/{meeting['id']}/publish"), 200)

    request = db_session.get(Enhancement, pending_enhancement.id)
    assert (request.status, request.decision, request.decision_rationale) == (
        "approved",
        "approve",
        "Worth a day a month.",
    )
    assert minutes["decisions"][0]["outcome"] == "approve"
    assert published["status"] == "published"
    assert [v["number"] for v in published["versions"]] == [1]
    mails = db_session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.job == "app.governance.jobs.send_governance_email"
        )
    ).all()
    assert [m.kwargs["event"] for m in mails] == ["minutes_published"]
    log = db_session.scalars(
        select(AuditEvent.action).where(AuditEvent.entity_type == "enhancement")
    ).all()
    assert "approve" in log


def test_a_correction_is_a_new_version_and_both_are_kept(claire, member):
    steering = committee(claire, member.email)
    meeting = created(
        claire.post(
            f"/api/v1/committees/{steering['id']}/meetings",
            json={"scheduled_at": "2026-12-08T09:00:00+00:00"},
        )
    )
    url = f"/api/v1/meetings/{meeting['id']}"
    claire.post(f"{url}/minutes", json={"notes": "First."})
    created(claire.post(f"{url}/publish"), 200)

    assert claire.post(f"{url}/publish").status_code == 409
    created(claire.post(f"{url}/minutes", json={"notes": "Corrected."}), 200)
    final = created(claire.post(f"{url}/publish"), 200)

    assert [(v["number"], v["content"]["notes"]) for v in final["versions"]] == [
        (1, "First."),
        (2, "Corrected."),
    ]


def test_the_chair_orders_adds_and_removes_points(claire, member, out_of_target_kpi):
    steering = committee(claire, member.email)
    meeting = created(
        claire.post(
            f"/api/v1/committees/{steering['id']}/meetings",
            json={"scheduled_at": "2026-12-08T09:00:00+00:00"},
        )
    )
    url = f"/api/v1/meetings/{meeting['id']}/agenda"
    added = created(claire.post(url, json={"title": "Any other business"}))
    ids = [p["id"] for p in added["agenda"]]
    reordered = created(claire.post(f"{url}/order", json={"order": ids[::-1]}), 200)
    removed = created(claire.delete(f"{url}/{ids[0]}"), 200)

    assert reordered["agenda"][0]["title"] == "Any other business"
    assert ids[0] not in [p["id"] for p in removed["agenda"]]
    assert [p["position"] for p in removed["agenda"]] == list(range(1, len(ids)))


def test_the_auditor_may_not_touch_a_meeting(claire, audrey, member):
    steering = committee(claire, member.email)
    meeting = created(
        claire.post(
            f"/api/v1/committees/{steering['id']}/meetings",
            json={"scheduled_at": "2026-12-08T09:00:00+00:00"},
        )
    )
    url = f"/api/v1/meetings/{meeting['id']}"

    assert audrey.get(url).status_code == 200
    assert audrey.post(f"{url}/minutes", json={"notes": "x"}).status_code == 403
    assert audrey.post(f"{url}/publish").status_code == 403
    assert audrey.post(f"{url}/agenda", json={"title": "x"}).status_code == 403
    assert (
        audrey.post("/api/v1/committees", json={"name": "X", "cadence": "weekly"}).status_code
        == 403
    )


def test_a_stale_if_match_on_minutes_is_refused(claire, member):
    steering = committee(claire, member.email)
    meeting = created(
        claire.post(
            f"/api/v1/committees/{steering['id']}/meetings",
            json={"scheduled_at": "2026-12-08T09:00:00+00:00"},
        )
    )
    url = f"/api/v1/meetings/{meeting['id']}"
    etag = claire.get(url).headers["ETag"]
    claire.post(f"{url}/minutes", json={"notes": "One."}, headers={"If-Match": etag})

    assert (
        claire.post(
            f"{url}/minutes", json={"notes": "Two."}, headers={"If-Match": etag}
        ).status_code
        == 412
    )


# --- action items ----------------------------------------------------------------------------


def test_actions_filter_by_owner_status_and_overdue(claire, owner, member):
    for title, due in [("Late", "2026-11-20"), ("Soon", "2026-12-20")]:
        created(
            claire.post(
                "/api/v1/actions", json={"title": title, "owner": owner.email, "due_date": due}
            )
        )
    created(
        claire.post(
            "/api/v1/actions",
            json={"title": "Other", "owner": member.email, "due_date": "2026-11-01"},
        )
    )

    mine = claire.get(f"/api/v1/actions?owner={owner.email}").get_json()["items"]
    overdue = claire.get("/api/v1/actions?overdue=true&status=open").get_json()["items"]

    assert sorted(a["title"] for a in mine) == ["Late", "Soon"]
    assert sorted(a["title"] for a in overdue) == ["Late", "Other"]


def test_an_owner_sees_and_closes_only_their_own_actions(claire, olga, owner, member):
    mine = created(
        claire.post(
            "/api/v1/actions",
            json={"title": "Mine", "owner": owner.email, "due_date": "2026-12-20"},
        )
    )
    other = created(
        claire.post(
            "/api/v1/actions",
            json={"title": "Not mine", "owner": member.email, "due_date": "2026-12-20"},
        )
    )

    listed = olga.get("/api/v1/actions").get_json()["items"]
    etag = olga.get(f"/api/v1/actions/{mine['id']}").headers["ETag"]
    closed = olga.patch(
        f"/api/v1/actions/{mine['id']}", json={"status": "done"}, headers={"If-Match": etag}
    )
    retitled = olga.patch(
        f"/api/v1/actions/{mine['id']}",
        json={"title": "x"},
        headers={"If-Match": closed.headers["ETag"]},
    )

    assert [a["title"] for a in listed] == ["Mine"]
    assert closed.status_code == 200 and closed.get_json()["status"] == "done"
    assert retitled.status_code == 403
    assert olga.get(f"/api/v1/actions/{other['id']}").status_code == 404
    assert (
        olga.post(
            "/api/v1/actions", json={"title": "x", "owner": owner.email, "due_date": "2026-12-20"}
        ).status_code
        == 403
    )


def test_an_action_source_must_exist(claire, owner):
    response = claire.post(
        "/api/v1/actions",
        json={"title": "x", "owner": owner.email, "due_date": "2026-12-20", "source": "risk:999"},
    )
    assert response.status_code == 422


# --- risks -----------------------------------------------------------------------------------

RISK = {
    "title": "Key users leave",
    "description": "Two of three Finance key users leave in Q1.",
    "category": "people",
    "probability": 4,
    "impact": 5,
    "mitigation": "Train back-ups.",
    "review_by": "2027-01-15",
}


def test_a_risk_is_scored_and_its_score_history_kept(claire, owner):
    risk = created(claire.post("/api/v1/risks", json={**RISK, "owner": owner.email}))
    url = f"/api/v1/risks/{risk['id']}"
    changed = created(
        claire.patch(
            url, json={"probability": 2}, headers={"If-Match": claire.get(url).headers["ETag"]}
        ),
        200,
    )

    assert risk["score"] == 20 and risk["alerting"] is True
    assert [h["score"] for h in changed["history"]] == [20, 10]


def test_risks_filter_by_status_and_min_score(claire, owner):
    created(claire.post("/api/v1/risks", json={**RISK, "owner": owner.email}))
    created(
        claire.post(
            "/api/v1/risks",
            json={**RISK, "title": "Small", "probability": 1, "impact": 2, "owner": owner.email},
        )
    )

    high = claire.get("/api/v1/risks?min_score=15&status=open").get_json()["items"]

    assert [r["title"] for r in high] == ["Key users leave"]


@pytest.mark.parametrize("bad", [{"probability": 0}, {"impact": 6}, {"probability": "x"}])
def test_a_risk_level_outside_one_to_five_is_refused(claire, owner, bad):
    response = claire.post("/api/v1/risks", json={**RISK, "owner": owner.email, **bad})
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"


def test_the_auditor_may_not_record_a_risk(audrey, owner):
    assert audrey.post("/api/v1/risks", json={**RISK, "owner": owner.email}).status_code == 403


# --- budget ----------------------------------------------------------------------------------


def test_budget_planned_actuals_variance_and_forecast(claire):
    planned = {f"{m:02d}": 1000.0 for m in range(1, 13)}
    first = claire.put("/api/v1/budget/2026/support", json={"planned": planned})
    assert first.status_code == 200, first.get_json()
    for month in range(1, 12):
        created(
            claire.post(
                "/api/v1/budget/2026/support/actuals",
                json={"month": f"{month:02d}", "amount": 1100.0},
            )
        )

    year = claire.get("/api/v1/budget/2026").get_json()
    support = year["categories"][0]

    assert support["planned_to_date"] == 11000.0
    assert support["actual_to_date"] == 12100.0
    assert support["variance_to_date"] == 1100.0
    assert support["forecast"] == 13200.0
    assert support["status"] == "red"  # 10 % over a 5 % tolerance
    assert support["months"][2] == {
        "month": "03",
        "planned": 1000.0,
        "actual": 1100.0,
        "variance": 100.0,
    }


def test_changing_a_plan_needs_its_etag(claire):
    first = claire.put("/api/v1/budget/2026/licences", json={"planned": {"01": 10.0}})
    again = claire.put("/api/v1/budget/2026/licences", json={"planned": {"01": 20.0}})
    fresh = claire.put(
        "/api/v1/budget/2026/licences",
        json={"planned": {"01": 20.0}},
        headers={"If-Match": first.headers["ETag"]},
    )
    stale = claire.put(
        "/api/v1/budget/2026/licences",
        json={"planned": {"01": 30.0}},
        headers={"If-Match": first.headers["ETag"]},
    )

    assert (first.status_code, again.status_code, fresh.status_code, stale.status_code) == (
        200,
        428,
        200,
        412,
    )


def test_actuals_import_from_csv_all_or_nothing(claire):
    good = claire.post(
        "/api/v1/budget/2026/actuals/import",
        json={"csv": "category,month,amount\nsupport,01,10\nlicences,02,5.5\n"},
    )
    bad = claire.post(
        "/api/v1/budget/2026/actuals/import", json={"csv": "support,03,10\nnowhere,13,x\n"}
    )

    assert good.get_json() == {"imported": 2}
    assert bad.status_code == 422 and "line 2" in bad.get_json()["errors"]
    months = claire.get("/api/v1/budget/2026").get_json()["categories"]
    support = next(c for c in months if c["category"] == "support")
    assert support["months"][2]["actual"] is None


def test_an_unknown_category_is_not_found(claire):
    assert (
        claire.put("/api/v1/budget/2026/yachts", json={"planned": {"01": 1.0}}).status_code == 404
    )


def test_the_auditor_reads_the_budget_and_may_not_change_it(audrey):
    assert audrey.get("/api/v1/budget/2026").status_code == 200
    assert (
        audrey.put("/api/v1/budget/2026/support", json={"planned": {"01": 1.0}}).status_code == 403
    )
    assert (
        audrey.post(
            "/api/v1/budget/2026/support/actuals", json={"month": "01", "amount": 1.0}
        ).status_code
        == 403
    )


# --- report ----------------------------------------------------------------------------------


def test_the_report_in_json_and_csv(claire, owner, out_of_target_kpi):
    created(claire.post("/api/v1/risks", json={**RISK, "owner": owner.email}))

    data = claire.get("/api/v1/governance/report?period=2026-11").get_json()
    csv_text = claire.get("/api/v1/governance/report.csv?period=2026-11").get_data(as_text=True)

    assert data["period"] == {"label": "2026-11", "start": "2026-11-01", "end": "2026-11-30"}
    assert [k["status"] for k in data["hotspots"]] == ["red"]
    assert data["risks"][0]["title"] == "Key users leave"
    assert "kpi,Mean time to resolve,status,red" in csv_text
    assert "risk,Key users leave,score,20" in csv_text


@pytest.mark.parametrize("period", ["2026-13", "nonsense", "2026-W60", "meeting:999"])
def test_a_bad_period_is_a_422(claire, period):
    response = claire.get(f"/api/v1/governance/report?period={period}")
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"
