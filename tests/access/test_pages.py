"""The access pages: each person sees what they may do, forms work without JavaScript, the
auditor sees no write form and is refused if they post one anyway."""

from __future__ import annotations

import re

import pytest

from app.identity.service import hash_password
from tests.access.support import approved, asked, grants_of
from tests.factories import PASSWORD


@pytest.fixture
def browser(db_session, people, signed_in):
    """browser(name): a signed-in page client (passwords set only here: hashing is slow)."""
    opened = {}

    def open_as(name: str):
        if name not in opened:
            person = people[name]
            person.password_hash = hash_password(PASSWORD)
            db_session.commit()
            opened[name] = signed_in(person)
        return opened[name]

    return open_as


def test_a_request_through_the_pages_then_its_approval(browser, db_session):
    rita = browser("rita")
    form = rita.get("/access/request")
    assert form.status_code == 200
    assert b"FIN_VIEW" in form.data
    sent = rita.post(
        "/access/request",
        data={"roles": ["FIN_VIEW"], "justification": "Month-end", "end_date": ""},
    )
    assert sent.status_code == 303
    assert sent.headers["Location"].endswith("/access/requests/ACC-000001")
    fiona = browser("fiona")
    inbox = fiona.get("/access/approvals")
    assert b"ACC-000001" in inbox.data
    page = fiona.get("/access/requests/ACC-000001")
    assert b'data-testid="decision-form"' in page.data
    done = fiona.post("/access/requests/ACC-000001", data={"action": "approve", "comment": ""})
    assert done.status_code == 303
    assert grants_of(db_session, "rita@example.com")[0].status == "pending_provisioning"
    mine = rita.get("/access/mine")
    assert b"FIN_VIEW" in mine.data
    assert b"Being set up in the ERP" in mine.data


def test_the_requester_sees_no_decision_form_and_cannot_post_one(browser):
    rita = browser("rita")
    asked_ = rita.post("/access/request", data={"roles": ["FIN_VIEW"], "justification": "x"})
    assert asked_.status_code == 303
    page = rita.get("/access/requests/ACC-000001")
    assert b'data-testid="decision-form"' not in page.data
    refused = rita.post("/access/requests/ACC-000001", data={"action": "approve"})
    assert refused.status_code == 303
    assert "draft=" in refused.headers["Location"]
    again = rita.get(refused.headers["Location"])
    assert b"Your role does not allow this change." in again.data


def test_the_live_sod_check_fragment(api, browser):
    approved(api, ["FIN_SUPPLIER"], approvers=("fiona", "felix"))
    rita = browser("rita")
    conflict = rita.get("/access/request/check?roles=FIN_PAYMENT")
    assert b"fictitious vendor fraud" in conflict.data
    clean = rita.get("/access/request/check?roles=SAL_ORDER")
    assert b"No segregation-of-duties conflict" in clean.data
    without_js = rita.get("/access/request?roles=FIN_PAYMENT")
    assert b"fictitious vendor fraud" in without_js.data


@pytest.mark.parametrize(
    "url", ["/access/grants", "/access/campaigns", "/access/request", "/access/mine"]
)
def test_the_auditor_reads_without_write_forms(api, browser, url):
    approved(api, ["FIN_VIEW"])
    page = browser("audrey").get(url)
    if url in ("/access/request", "/access/mine"):
        assert page.status_code == 403
        return
    assert page.status_code == 200
    assert b'name="grant"' not in page.data
    assert b'data-testid="open-campaign"' not in page.data


def test_the_auditor_is_refused_a_posted_write(api, browser, db_session):
    approved(api, ["FIN_VIEW"])
    grant = grants_of(db_session, "rita@example.com")[0]
    audrey = browser("audrey")
    response = audrey.post("/access/grants", data={"grant": [str(grant.id)], "reason": "x"})
    assert response.status_code in (303, 403)
    db_session.refresh(grant)
    assert grant.status == "pending_provisioning"
    assert browser("audrey").get("/access/catalogue").status_code == 403


def test_an_admin_revokes_ticked_grants_from_the_list(api, browser, db_session):
    approved(api, ["FIN_VIEW"])
    grant = grants_of(db_session, "rita@example.com")[0]
    ada = browser("ada")
    assert b'name="grant"' in ada.get("/access/grants").data
    done = ada.post("/access/grants", data={"grant": [str(grant.id)], "reason": "Left the team"})
    assert done.status_code == 303
    db_session.refresh(grant)
    assert grant.status == "revoked"


def test_a_csv_import_is_previewed_then_applied_on_the_page(browser, db_session):
    from sqlalchemy import select

    from app.access.models import ErpRole

    ada = browser("ada")
    text = "module,code,name,sensitivity,description\nFIN,FIN_CLOSE,Close periods,sensitive,\n"
    preview = ada.post("/access/catalogue", data={"form": "import-roles", "csv": text})
    assert preview.status_code == 200
    assert b'data-testid="import-preview"' in preview.data
    assert db_session.scalar(select(ErpRole).where(ErpRole.code == "FIN_CLOSE")) is None
    applied = ada.post(
        "/access/catalogue", data={"form": "import-roles", "csv": text, "apply": "yes"}
    )
    assert applied.status_code == 303
    assert db_session.scalar(select(ErpRole).where(ErpRole.code == "FIN_CLOSE")) is not None
    bad = ada.post("/access/catalogue", data={"form": "import-roles", "csv": text + "X,Y,Z,q,\n"})
    assert b"line 3" in bad.data


def test_a_reviewer_decides_in_bulk_on_the_campaign_page(api, browser, db_session):
    from app.access import grants

    approved(api, ["FIN_VIEW"])
    grant = grants_of(db_session, "rita@example.com")[0]
    grants.provision(db_session, _person(db_session, "ada"), grant)
    db_session.commit()
    ada = browser("ada")
    opened = ada.post(
        "/access/campaigns",
        data={"name": "Q1", "modules": ["FIN"], "deadline": "2099-01-01"},
    )
    assert opened.status_code == 303
    campaign_url = opened.headers["Location"].split("?")[0]
    felix = browser("felix")
    page = felix.get(campaign_url)
    assert b'name="item"' in page.data
    item_id = page.data.split(b'name="item" value="')[1].split(b'"')[0].decode()
    done = felix.post(
        campaign_url, data={"item": [item_id], "decision": "revoke", "comment": "Moved"}
    )
    assert done.status_code == 303
    closed = ada.post(campaign_url, data={"action": "close"})
    assert closed.status_code == 303
    db_session.refresh(grant)
    assert grant.status == "revoked"
    audrey = browser("audrey")
    evidence = audrey.get(campaign_url + "/evidence")
    assert b"Moved" in evidence.data
    # times in the reader's zone and words, not the export's ISO text and codes
    assert not re.search(rb"\d{4}-\d\d-\d\dT\d\d:", evidence.data)
    assert b"<td>standard</td>" in evidence.data
    # an auditor's view of the campaign holds no decision form, not even an empty one
    assert b'<form method="post" novalidate>' not in audrey.get(campaign_url).data


def _person(db_session, name):
    from sqlalchemy import select

    from app.identity.models import User

    return db_session.scalar(select(User).where(User.email == f"{name}@example.com"))


def test_nothing_to_see_for_another_modules_approver(api, browser):
    asked(api["rita"], ["FIN_VIEW"])
    assert browser("sam").get("/access/requests/ACC-000001").status_code == 404
