"""The messages the outbox carries: the ERP hears about provisioning through its webhook (or
an email to its administrators), people hear about their requests and grants."""

from __future__ import annotations

import pytest

from app.access import jobs
from tests.access.support import approved, asked, grants_of


@pytest.fixture
def app_config(webhook_receiver) -> dict:
    return {"ACCESS_WEBHOOK_URL": webhook_receiver.url}


def test_the_erp_is_asked_through_its_webhook(api, db_session, webhook_receiver):
    approved(api, ["FIN_VIEW"])
    grant = grants_of(db_session, "rita@example.com")[0]
    assert jobs.tell_erp(db_session, grant_id=grant.id, action="provision") == "webhook"
    (body,) = webhook_receiver.bodies
    assert body["action"] == "provision"
    assert (body["user"], body["role"], body["module"]) == ("rita@example.com", "FIN_VIEW", "FIN")
    assert body["confirm_url"].endswith(f"/access/grants/{grant.id}/provisioned")


def test_without_a_webhook_the_erp_administrators_get_an_email(api, db_session, app):
    app.config["ACCESS_WEBHOOK_URL"] = None
    approved(api, ["FIN_VIEW"])
    grant = grants_of(db_session, "rita@example.com")[0]
    assert jobs.tell_erp(db_session, grant_id=grant.id, action="deprovision") == "email"


def test_approvers_hear_of_a_new_request_and_the_requester_of_the_decision(api, db_session):
    from app.access.models import AccessRequest

    ref = asked(api["rita"], ["FIN_VIEW"])["ref"]
    request = db_session.get(AccessRequest, int(ref[4:]))
    to_approve = jobs.send_access_email(db_session, event="pending_approval", request_id=request.id)
    assert sorted(to_approve) == [
        "ada@example.com",
        "felix@example.com",
        "fiona@example.com",
        "otto@example.com",
    ]
    decided = jobs.send_access_email(db_session, event="approved", request_id=request.id)
    assert decided == ["rita@example.com"]
    assert jobs.send_access_email(db_session, event="approved", request_id=999999) == []
