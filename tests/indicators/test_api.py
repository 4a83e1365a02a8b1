"""The indicators contract: the registry, series with status, targets per role with If-Match."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.core.audit import AuditEvent
from app.indicators import registry
from app.indicators.models import IndicatorSnapshot, dimension_of


@pytest.fixture
def points(db_session, finance):
    computed = datetime(2026, 11, 4, 1, 0, tzinfo=UTC)
    for day, overall, fin in [(date(2026, 11, 2), 20.0, 3.0), (date(2026, 11, 3), 25.0, 6.0)]:
        db_session.add(
            IndicatorSnapshot(
                key="dau", day=day, dimension="overall", value=overall, computed_at=computed
            )
        )
        db_session.add(
            IndicatorSnapshot(
                key="dau",
                day=day,
                dimension=dimension_of(finance.id),
                module_id=finance.id,
                value=fin,
                computed_at=computed,
            )
        )
    db_session.commit()


def test_the_registry_is_served_page_by_page(as_, agent):
    client = as_(agent)
    first = client.get("/api/v1/indicators?limit=5")
    assert first.status_code == 200
    body = first.get_json()
    assert [i["key"] for i in body["items"]] == [i.key for i in registry.all_indicators()[:5]]
    assert set(body["items"][0]) >= {
        "key",
        "name",
        "unit",
        "formula",
        "dimensions",
        "higher_is_better",
    }

    keys = [i["key"] for i in body["items"]]
    cursor = body["next_cursor"]
    while cursor:
        page = client.get(f"/api/v1/indicators?limit=5&cursor={cursor}").get_json()
        keys += [i["key"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert keys == [i.key for i in registry.all_indicators()]


def test_a_foreign_cursor_is_refused(as_, agent):
    response = as_(agent).get("/api/v1/indicators?cursor=bm90LWEtY3Vyc29y")
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"


def test_a_series_reads_one_module_between_two_days(as_, agent, points):
    response = as_(agent).get(
        "/api/v1/indicators/dau/series?module=fin&from=2026-11-03&to=2026-11-30"
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["key"] == "dau"
    assert body["points"] == [
        {
            "date": "2026-11-03",
            "value": 6.0,
            "status": None,
            "computed_at": "2026-11-04T01:00:00+00:00",
        }
    ]


def test_a_series_without_module_is_the_overall_one(as_, agent, points):
    body = as_(agent).get("/api/v1/indicators/dau/series").get_json()
    assert [p["value"] for p in body["points"]] == [20.0, 25.0]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/v1/indicators/no_such_key/series", 404),
        ("/api/v1/indicators/dau/series?from=2026-13-01", 422),
        ("/api/v1/indicators/dau/series?from=2026-11-05&to=2026-11-01", 422),
        ("/api/v1/indicators/dau/series?module=NOPE", 422),
        ("/api/v1/targets/no_such_key", 404),
        ("/api/v1/targets/dau?module=NOPE", 422),
        ("/api/v1/targets/dau", 404),
    ],
)
def test_bad_requests_get_the_error_shape(as_, agent, url, status):
    response = as_(agent).get(url)
    assert response.status_code == status
    assert set(response.get_json()) >= {"status", "code", "message", "errors"}


def test_a_requester_may_not_read_indicators(as_, requester):
    assert as_(requester).get("/api/v1/indicators").status_code == 403
    assert as_(requester).get("/api/v1/indicators/dau/series").status_code == 403


def test_an_admin_sets_a_target_and_points_get_their_status(as_, admin, agent, points):
    client = as_(admin)
    created = client.put(
        "/api/v1/targets/dau?module=FIN",
        json={"target": 5, "amber": 1, "direction": "at_least"},
    )
    assert created.status_code == 201
    assert created.get_json() == {
        "key": "dau",
        "module": "FIN",
        "target": 5.0,
        "amber": 1.0,
        "direction": "at_least",
        "updated_at": created.get_json()["updated_at"],
    }
    series = as_(agent).get("/api/v1/indicators/dau/series?module=FIN").get_json()
    assert [p["status"] for p in series["points"]] == ["red", "green"]

    read = as_(agent).get("/api/v1/targets/dau?module=FIN")
    assert read.status_code == 200
    assert read.headers["ETag"] == created.headers["ETag"]


def test_changing_a_target_needs_if_match(as_, admin, db_session):
    client = as_(admin)
    body = {"target": 0.9, "amber": 0.05, "direction": "at_least"}
    created = client.put("/api/v1/targets/fcr_ratio", json=body)
    etag = created.headers["ETag"]

    assert client.put("/api/v1/targets/fcr_ratio", json=body).status_code == 428
    changed = client.put(
        "/api/v1/targets/fcr_ratio", json={**body, "target": 0.8}, headers={"If-Match": etag}
    )
    assert changed.status_code == 200
    assert changed.get_json()["target"] == 0.8
    stale = client.put("/api/v1/targets/fcr_ratio", json=body, headers={"If-Match": etag})
    assert stale.status_code == 412
    actions = [
        e.action
        for e in db_session.scalars(
            db_session.query(AuditEvent)
            .filter(AuditEvent.entity_type == "indicator_target")
            .order_by(AuditEvent.id)
            .statement
        )
    ]
    assert actions == ["target_created", "target_set"]


@pytest.mark.parametrize("role", ["agent", "auditor", "product_owner", "requester"])
def test_only_admins_set_targets(as_, make_user, role):
    response = as_(make_user(role)).put(
        "/api/v1/targets/dau", json={"target": 5, "amber": 1, "direction": "at_least"}
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"target": 5, "direction": "sideways"},
        {"target": "many", "direction": "at_least"},
        {"target": 5, "amber": -1, "direction": "at_least"},
        {"direction": "at_least"},
    ],
)
def test_a_bad_target_is_refused(as_, admin, body):
    response = as_(admin).put("/api/v1/targets/dau", json=body)
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"
