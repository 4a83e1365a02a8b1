"""Review campaigns: admins open and close; module reviewers certify or revoke (never their
own grant); closing applies revocations; evidence for auditors; reminders and escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.access import grants, jobs
from app.access.models import ReviewCampaign
from app.identity.models import User
from tests.access.support import approved, audit_actions, grants_of, outbox_of

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DEADLINE = "2026-03-20"


def by_email(db_session, email):
    return db_session.scalar(select(User).where(User.email == email))


@pytest.fixture
def active(api, db_session, frozen_clock):
    """Rita holds FIN_VIEW and SAL_ORDER, Fiona FIN_SUPPLIER; all provisioned."""
    frozen_clock(START)
    approved(api, ["FIN_VIEW"])
    approved(api, ["SAL_ORDER"], approvers=("sam",))
    approved(api, ["FIN_SUPPLIER"], approvers=("felix", "otto"), user="fiona@example.com")
    admin = by_email(db_session, "ada@example.com")
    for grant in grants_of(db_session, "rita@example.com") + grants_of(
        db_session, "fiona@example.com"
    ):
        grants.provision(db_session, admin, grant)
    db_session.commit()


def open_campaign(client, **extra):
    body = {"name": "Q1 review", "modules": ["FIN"], "deadline": DEADLINE, **extra}
    return client.post("/api/v1/access/campaigns", json=body)


def items(client, campaign_id, query=""):
    return client.get(f"/api/v1/access/campaigns/{campaign_id}/items{query}").get_json()["items"]


def decide(client, campaign_id, item_id, decision, comment=None):
    return client.post(
        f"/api/v1/access/campaigns/{campaign_id}/items/{item_id}/decision",
        json={"decision": decision, "comment": comment},
    )


@pytest.mark.parametrize(
    "who, status", [("ada", 201), ("fiona", 403), ("audrey", 403), ("rita", 403)]
)
def test_only_an_admin_opens_a_campaign(api, active, who, status):
    response = open_campaign(api[who])
    assert response.status_code == status
    if status == 201:
        assert response.get_json()["progress"]["total"] == 2  # the Finance grants only


def test_bad_campaigns_are_422(api, active):
    assert open_campaign(api["ada"], modules=["NOPE"]).status_code == 422
    assert open_campaign(api["ada"], deadline="2001-01-01").status_code == 422
    assert open_campaign(api["ada"], sensitivities=["secret"]).status_code == 422
    assert open_campaign(api["ada"], reviewers=["rita@example.com"]).status_code == 422


def test_items_show_what_a_reviewer_needs(api, active):
    campaign = open_campaign(api["ada"]).get_json()
    first = items(api["felix"], campaign["id"])[0]
    assert first["user"] == "rita@example.com"
    assert first["role"] == "FIN_VIEW"
    assert first["sensitivity"] == "standard"
    assert first["justification"] == "Needed for month-end closing."
    assert first["granted_by"] == ["fiona@example.com"]
    assert first["last_used_at"] is None
    assert first["decision"] is None


def test_a_module_reviewer_decides_and_nobody_reviews_their_own_grant(api, active, db_session):
    campaign_id = open_campaign(api["ada"]).get_json()["id"]
    rita_item, fiona_item = items(api["ada"], campaign_id)
    assert decide(api["sam"], campaign_id, rita_item["id"], "certify").status_code == 403
    assert decide(api["rita"], campaign_id, rita_item["id"], "certify").status_code == 403
    assert decide(api["audrey"], campaign_id, rita_item["id"], "certify").status_code == 403
    assert decide(api["fiona"], campaign_id, fiona_item["id"], "certify").status_code == 403
    assert decide(api["fiona"], campaign_id, rita_item["id"], "revoke").status_code == 422
    ok = decide(api["fiona"], campaign_id, rita_item["id"], "revoke", "No longer in Finance")
    assert ok.status_code == 200
    assert ok.get_json()["decided_by"] == "fiona@example.com"
    assert decide(api["felix"], campaign_id, fiona_item["id"], "certify").status_code == 200
    assert audit_actions(db_session, "access_campaign_item", rita_item["id"]) == ["revoke"]
    progress = api["audrey"].get(f"/api/v1/access/campaigns/{campaign_id}").get_json()["progress"]
    assert progress["decided"] == 2
    assert progress["by_reviewer"] == {"felix@example.com": 1, "fiona@example.com": 1}


def test_bulk_decisions_are_all_or_nothing(api, active):
    campaign_id = open_campaign(api["ada"]).get_json()["id"]
    ids = [i["id"] for i in items(api["ada"], campaign_id)]
    url = f"/api/v1/access/campaigns/{campaign_id}/decisions"
    own = api["fiona"].post(url, json={"items": ids, "decision": "certify"})
    assert own.status_code == 403  # one of them is her own grant
    assert all(i["decision"] is None for i in items(api["ada"], campaign_id))
    ok = api["felix"].post(url, json={"items": ids, "decision": "certify"})
    assert sorted(ok.get_json()["decided"]) == sorted(ids)


def test_closing_applies_revocations_and_leaves_the_evidence(api, active, db_session):
    campaign_id = open_campaign(api["ada"]).get_json()["id"]
    rita_item, fiona_item = items(api["ada"], campaign_id)
    decide(api["fiona"], campaign_id, rita_item["id"], "revoke", "No longer in Finance")
    assert api["felix"].post(f"/api/v1/access/campaigns/{campaign_id}/close").status_code == 403
    assert api["audrey"].post(f"/api/v1/access/campaigns/{campaign_id}/close").status_code == 403
    closed = api["ada"].post(f"/api/v1/access/campaigns/{campaign_id}/close")
    assert closed.get_json()["status"] == "closed"
    statuses = {g.role.code: g.status for g in grants_of(db_session, "rita@example.com")}
    assert statuses == {"FIN_VIEW": "revoked", "SAL_ORDER": "active"}
    assert grants_of(db_session, "fiona@example.com")[0].status == "active"  # undecided, kept
    assert decide(api["felix"], campaign_id, fiona_item["id"], "certify").status_code == 409
    assert api["ada"].post(f"/api/v1/access/campaigns/{campaign_id}/close").status_code == 409
    evidence = api["audrey"].get(f"/api/v1/access/campaigns/{campaign_id}/evidence.csv")
    assert evidence.status_code == 200
    assert evidence.mimetype == "text/csv"
    lines = evidence.get_data(as_text=True).splitlines()
    assert lines[0].startswith("campaign,item,holder,role")
    assert "rita@example.com,FIN_VIEW,FIN,standard" in lines[1]
    assert "revoke,fiona@example.com" in lines[1] and "No longer in Finance" in lines[1]
    assert "undecided" in lines[2]
    assert (
        api["rita"].get(f"/api/v1/access/campaigns/{campaign_id}/evidence.csv").status_code == 403
    )


def test_auto_revoke_at_the_deadline_and_reminders_before_it(api, active, db_session, frozen_clock):
    campaign_id = open_campaign(api["ada"], auto_revoke=True).get_json()["id"]
    frozen_clock(START + timedelta(days=10))
    assert jobs.campaign_deadlines(db_session)["reminded"] == 0
    frozen_clock(datetime(2026, 3, 18, 8, tzinfo=UTC))
    jobs.campaign_deadlines(db_session)
    jobs.campaign_deadlines(db_session)
    db_session.commit()
    reminders = [m for m in outbox_of(db_session, "send_access_email") if m["event"] == "reminder"]
    assert len(reminders) == 1
    frozen_clock(datetime(2026, 3, 21, 8, tzinfo=UTC))
    assert jobs.campaign_deadlines(db_session)["closed"] == 1
    db_session.commit()
    assert db_session.get(ReviewCampaign, campaign_id).status == "closed"
    assert {g.status for g in grants_of(db_session, "fiona@example.com")} == {"revoked"}


def test_escalation_after_the_deadline_happens_once(api, active, db_session, frozen_clock):
    campaign_id = open_campaign(api["ada"]).get_json()["id"]
    frozen_clock(datetime(2026, 3, 21, 8, tzinfo=UTC))
    assert jobs.campaign_deadlines(db_session)["escalated"] == 1
    db_session.commit()
    assert jobs.campaign_deadlines(db_session)["escalated"] == 0
    assert db_session.get(ReviewCampaign, campaign_id).status == "open"
    escalations = [
        m for m in outbox_of(db_session, "send_access_email") if m["event"] == "escalated"
    ]
    assert len(escalations) == 1
    from app.access import service

    assert service.overdue_review_items(db_session, datetime(2026, 3, 21).date()) == 2
