"""Grants: the ERP (or an admin) confirms provisioning; admins revoke; the periodic scans
expire, deprovision leavers, flag movers and dormant access; the indicators' reads."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.access import grants, jobs, service
from app.access.models import AccessGrant
from app.identity.service import save_user
from app.usage.models import UsageDaily
from tests.access.support import approved, audit_actions, grants_of, outbox_of

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def pending(api, db_session) -> AccessGrant:
    approved(api, ["FIN_VIEW"])
    (grant,) = grants_of(db_session, "rita@example.com")
    return grant


@pytest.mark.parametrize(
    "who, status", [("erp", 200), ("ada", 200), ("rita", 403), ("fiona", 403), ("audrey", 403)]
)
def test_provisioning_is_confirmed_by_the_erp_or_an_admin(
    api, erp, pending, db_session, who, status
):
    client = erp if who == "erp" else api[who]
    response = client.post(f"/api/v1/access/grants/{pending.id}/provisioned")
    assert response.status_code == status, response.get_json()
    db_session.refresh(pending)
    if status == 200:
        assert response.get_json()["status"] == "active"
        assert pending.provisioned_at is not None
        assert audit_actions(db_session, "access_grant", pending.id) == ["grant", "provision"]
        assert {"event": "active", "grant_id": pending.id} in outbox_of(
            db_session, "send_access_email"
        )
    else:
        assert pending.status == "pending_provisioning"


def test_the_erp_token_does_nothing_else(erp, pending):
    assert (
        erp.post(f"/api/v1/access/grants/{pending.id}/revoke", json={"reason": "x"}).status_code
        == 403
    )
    assert erp.get("/api/v1/access/requests").status_code == 403


def test_confirming_twice_is_409(api, pending):
    url = f"/api/v1/access/grants/{pending.id}/provisioned"
    assert api["ada"].post(url).status_code == 200
    assert api["ada"].post(url).status_code == 409


@pytest.mark.parametrize(
    "who, status", [("ada", 200), ("fiona", 403), ("rita", 403), ("audrey", 403)]
)
def test_only_an_admin_revokes(api, pending, db_session, who, status):
    response = api[who].post(
        f"/api/v1/access/grants/{pending.id}/revoke", json={"reason": "Left team"}
    )
    assert response.status_code == status
    db_session.refresh(pending)
    if status == 200:
        assert pending.status == "revoked"
        assert pending.end_reason == "Left team"
        assert {"grant_id": pending.id, "action": "deprovision"} in outbox_of(
            db_session, "tell_erp"
        )
    else:
        assert pending.status == "pending_provisioning"


def test_a_revocation_needs_a_reason(api, pending):
    response = api["ada"].post(f"/api/v1/access/grants/{pending.id}/revoke", json={"reason": " "})
    assert response.status_code == 422


def test_grants_are_listed_with_filters_and_only_ones_own_for_a_requester(api, pending):
    approved(api, ["SAL_ORDER"], approvers=("sam",), user="felix@example.com")
    everyone = api["ada"].get("/api/v1/access/grants").get_json()["items"]
    assert {g["user"] for g in everyone} == {"rita@example.com", "felix@example.com"}
    assert set(everyone[0]) >= {
        "id",
        "user",
        "role",
        "status",
        "granted_at",
        "expires_on",
        "last_used_at",
        "dormant",
    }
    mine = api["rita"].get("/api/v1/access/grants").get_json()["items"]
    assert [g["role"] for g in mine] == ["FIN_VIEW"]
    fin = api["fiona"].get("/api/v1/access/grants").get_json()["items"]
    assert [g["module"] for g in fin] == ["FIN"]
    by_role = api["audrey"].get("/api/v1/access/grants?role=SAL_ORDER").get_json()["items"]
    assert [g["user"] for g in by_role] == ["felix@example.com"]
    by_user = api["ada"].get(
        "/api/v1/access/grants?user=rita@example.com&status=pending_provisioning"
    )
    assert len(by_user.get_json()["items"]) == 1
    assert api["ada"].get("/api/v1/access/grants?dormant=true").get_json()["items"] == []
    assert api["ada"].get("/api/v1/access/grants?status=bogus").status_code == 422


def test_a_temporary_grant_expires_and_is_deprovisioned(api, db_session, frozen_clock):
    frozen_clock(START)
    approved(api, ["FIN_VIEW"])
    grant = grants_of(db_session, "rita@example.com")[0]
    grant.expires_on = date(2026, 3, 31)
    db_session.commit()
    frozen_clock(datetime(2026, 3, 31, 23, 0, tzinfo=UTC))
    assert jobs.expire_grants(db_session) == 0
    frozen_clock(datetime(2026, 4, 1, 0, 30, tzinfo=UTC))
    assert jobs.expire_grants(db_session) == 1
    db_session.commit()
    assert grant.status == "expired"
    assert jobs.expire_grants(db_session) == 0
    assert {"grant_id": grant.id, "action": "deprovision"} in outbox_of(db_session, "tell_erp")


def test_a_leaver_loses_every_grant_and_a_mover_is_flagged(api, db_session, people):
    approved(api, ["FIN_VIEW"])
    approved(api, ["SAL_ORDER"], approvers=("sam",), user="felix@example.com")
    rita, felix = people["rita"], people["felix"]
    save_user(
        db_session,
        None,
        email=rita.email,
        name=rita.name,
        roles=[("requester", None)],
        active=False,
        department=rita.department,
    )
    save_user(
        db_session,
        None,
        email=felix.email,
        name=felix.name,
        roles=[(r.role, r.module_id) for r in felix.roles],
        department="Sales",
    )
    db_session.commit()
    assert jobs.leavers_and_movers(db_session) == {"leavers": 1, "movers": 1}
    db_session.commit()
    assert [g.status for g in grants_of(db_session, rita.email)] == ["revoked"]
    (moved,) = grants_of(db_session, felix.email)
    assert moved.status == "pending_provisioning"
    assert moved.review_reason == "department changed from Finance to Sales"
    assert jobs.leavers_and_movers(db_session) == {"leavers": 0, "movers": 0}


def _used(db_session, grant, when: datetime) -> None:
    db_session.add(
        UsageDaily(
            day=when.date(),
            module_id=grant.module_id,
            account=grant.user.email,
            events=3,
            first_at=when,
            last_at=when,
        )
    )
    db_session.commit()


def test_dormant_access_comes_from_usage_and_clears_on_use(api, db_session, frozen_clock):
    frozen_clock(START)
    approved(api, ["FIN_VIEW"])
    grant = grants_of(db_session, "rita@example.com")[0]
    grants.provision(db_session, _admin(db_session), grant)
    db_session.commit()
    _used(db_session, grant, START + timedelta(days=3))
    frozen_clock(START + timedelta(days=60))
    assert jobs.detect_dormant_grants(db_session) == 0
    db_session.commit()
    assert grant.last_used_at == START + timedelta(days=3)
    assert grant.first_used_at == START + timedelta(days=3)
    frozen_clock(START + timedelta(days=94))
    assert jobs.detect_dormant_grants(db_session) == 1
    db_session.commit()
    assert grant.dormant
    assert service.dormant_grants(db_session) == 1
    assert api["ada"].get("/api/v1/access/grants?dormant=true").get_json()["items"][0]["dormant"]
    assert jobs.detect_dormant_grants(db_session) == 1
    assert audit_actions(db_session, "access_grant", grant.id).count("dormant") == 1
    _used(db_session, grant, START + timedelta(days=94))
    assert jobs.detect_dormant_grants(db_session) == 0
    db_session.commit()
    assert not grant.dormant


def _admin(db_session):
    from sqlalchemy import select

    from app.identity.models import User

    return db_session.scalar(select(User).where(User.email == "ada@example.com"))


def test_dormant_grants_are_revoked_in_bulk_by_an_admin_only(api, db_session):
    approved(api, ["FIN_VIEW"])
    approved(api, ["SAL_ORDER"], approvers=("sam",))
    ids = [g.id for g in grants_of(db_session, "rita@example.com")]
    body = {"ids": ids, "reason": "Dormant for 90 days"}
    assert api["fiona"].post("/api/v1/access/grants/revoke", json=body).status_code == 403
    assert api["audrey"].post("/api/v1/access/grants/revoke", json=body).status_code == 403
    unknown = api["ada"].post("/api/v1/access/grants/revoke", json={**body, "ids": [*ids, 99999]})
    assert unknown.status_code == 422
    assert {g.status for g in grants_of(db_session, "rita@example.com")} == {"pending_provisioning"}
    ok = api["ada"].post("/api/v1/access/grants/revoke", json=body)
    assert sorted(ok.get_json()["revoked"]) == sorted(ids)
    assert {g.status for g in grants_of(db_session, "rita@example.com")} == {"revoked"}


def test_the_indicator_reads(api, db_session, frozen_clock):
    frozen_clock(START)
    approved(api, ["FIN_VIEW"])
    from tests.access.support import asked

    asked(api["rita"], ["SAL_ORDER"])
    grant = grants_of(db_session, "rita@example.com")[0]
    grants.provision(db_session, _admin(db_session), grant)
    db_session.commit()
    fin = grant.module_id
    assert service.pending_requests(db_session) == 1
    assert service.active_grant_accounts(db_session, fin) == {"rita@example.com"}
    assert service.active_grants_per_module(db_session) == {fin: 1}
    assert service.approval_seconds(db_session, START, START + timedelta(days=1)) == [0.0]
    _used(db_session, grant, START + timedelta(days=5))
    frozen_clock(START + timedelta(days=6))
    jobs.detect_dormant_grants(db_session)
    db_session.commit()
    assert service.grant_activation(db_session, START, START + timedelta(days=1)) == (1, 1)
    assert service.open_sod_exceptions(db_session, START.date()) == 0
    assert service.overdue_review_items(db_session, START.date()) == 0
