"""The role catalogue and SoD rules: admins write (If-Match on changes), everyone reads,
the auditor only reads; CSV imports preview, apply, and refuse a bad file as a whole."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.access.models import ErpRole, SodRule
from tests.access.support import audit_actions

ROLE = {"code": "FIN_CLOSE", "name": "Close periods", "module": "FIN", "sensitivity": "sensitive"}


@pytest.mark.parametrize(
    "who, status", [("ada", 201), ("rita", 403), ("fiona", 403), ("audrey", 403)]
)
def test_only_an_admin_adds_a_role(api, db_session, who, status):
    response = api[who].post("/api/v1/access/roles", json=ROLE)
    assert response.status_code == status, response.get_json()
    if status == 201:
        assert response.get_json()["sensitivity"] == "sensitive"
        assert response.headers["ETag"]
        assert audit_actions(db_session, "access_role", "FIN_CLOSE") == ["create"]
    else:
        assert db_session.scalar(select(ErpRole).where(ErpRole.code == "FIN_CLOSE")) is None


@pytest.mark.parametrize(
    "change, field",
    [({"sensitivity": "secret"}, "sensitivity"), ({"module": "NOPE"}, "module")],
)
def test_a_bad_role_is_422(api, change, field):
    response = api["ada"].post("/api/v1/access/roles", json={**ROLE, **change})
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_a_taken_code_is_409(api):
    response = api["ada"].post("/api/v1/access/roles", json={**ROLE, "code": "FIN_VIEW"})
    assert response.status_code == 409


def test_everyone_reads_the_catalogue(api):
    for who in ("rita", "audrey", "sam"):
        codes = [
            r["code"] for r in api[who].get("/api/v1/access/roles?limit=2").get_json()["items"]
        ]
        assert codes == ["FIN_PAYMENT", "FIN_SUPPLIER"]
    sales = api["rita"].get("/api/v1/access/roles?module=SAL").get_json()["items"]
    assert [r["code"] for r in sales] == ["SAL_ORDER"]


def test_changing_a_role_needs_if_match(api, db_session):
    url = "/api/v1/access/roles/FIN_VIEW"
    etag = api["ada"].get(url).headers["ETag"]
    assert api["ada"].patch(url, json={"sensitivity": "critical"}).status_code == 428
    assert (
        api["ada"]
        .patch(url, json={"sensitivity": "critical"}, headers={"If-Match": '"x"'})
        .status_code
        == 412
    )
    assert (
        api["audrey"]
        .patch(url, json={"sensitivity": "critical"}, headers={"If-Match": etag})
        .status_code
        == 403
    )
    ok = api["ada"].patch(url, json={"sensitivity": "critical"}, headers={"If-Match": etag})
    assert ok.status_code == 200
    assert ok.get_json()["sensitivity"] == "critical"
    assert ok.headers["ETag"] != etag
    assert audit_actions(db_session, "access_role", "FIN_VIEW")[-1] == "update"
    stale = api["ada"].patch(url, json={"name": "Again"}, headers={"If-Match": etag})
    assert stale.status_code == 412


@pytest.mark.parametrize("who, status", [("ada", 201), ("fiona", 403), ("audrey", 403)])
def test_only_an_admin_adds_an_sod_rule(api, who, status):
    body = {"roles": ["FIN_VIEW", "SAL_ORDER"], "severity": "low", "description": "Odd pair."}
    response = api[who].post("/api/v1/access/sod-rules", json=body)
    assert response.status_code == status
    if status == 201:
        assert response.get_json()["roles"] == ["FIN_VIEW", "SAL_ORDER"]


@pytest.mark.parametrize(
    "body",
    [
        {"roles": ["FIN_VIEW", "FIN_VIEW"], "severity": "low", "description": "x"},
        {"roles": ["FIN_VIEW", "NOPE"], "severity": "low", "description": "x"},
        {"roles": ["FIN_VIEW", "SAL_ORDER"], "severity": "huge", "description": "x"},
    ],
)
def test_a_bad_sod_rule_is_422(api, body):
    assert api["ada"].post("/api/v1/access/sod-rules", json=body).status_code == 422


def test_the_same_rule_twice_is_409(api):
    body = {"roles": ["FIN_PAYMENT", "FIN_SUPPLIER"], "severity": "low", "description": "again"}
    assert api["ada"].post("/api/v1/access/sod-rules", json=body).status_code == 409


def test_changing_an_sod_rule_needs_if_match(api):
    (rule,) = api["rita"].get("/api/v1/access/sod-rules").get_json()["items"]
    url = f"/api/v1/access/sod-rules/{rule['id']}"
    assert api["ada"].patch(url, json={"severity": "critical"}).status_code == 428
    etag = api["ada"].get(url).headers["ETag"]
    ok = api["ada"].patch(url, json={"severity": "critical"}, headers={"If-Match": etag})
    assert ok.get_json()["severity"] == "critical"


ROLES_CSV = """module,code,name,sensitivity,description
FIN,FIN_CLOSE,Close periods,sensitive,Month-end
SAL,SAL_PRICE,Change prices,critical,
FIN,FIN_VIEW,Read finance (renamed),standard,
"""


def test_a_role_import_is_previewed_then_applied(api, db_session):
    preview = api["ada"].post("/api/v1/access/imports/roles", json={"csv": ROLES_CSV})
    assert preview.status_code == 200
    data = preview.get_json()
    assert (data["applied"], data["created"], data["updated"], data["errors"]) == (False, 2, 1, [])
    assert [r["line"] for r in data["rows"]] == [2, 3, 4]
    assert db_session.scalar(select(ErpRole).where(ErpRole.code == "FIN_CLOSE")) is None
    applied = api["ada"].post(
        "/api/v1/access/imports/roles", json={"csv": ROLES_CSV, "apply": True}
    )
    assert applied.get_json()["applied"] is True
    assert (
        db_session.scalar(select(ErpRole).where(ErpRole.code == "FIN_CLOSE")).sensitivity
        == "sensitive"
    )
    assert db_session.scalar(select(ErpRole).where(ErpRole.code == "FIN_VIEW")).name == (
        "Read finance (renamed)"
    )
    assert audit_actions(db_session, "access_import", "roles") == ["import"]


def test_a_role_import_with_bad_lines_imports_nothing_and_names_each_line(api, db_session):
    text = (
        ROLES_CSV
        + "XXX,BAD_MODULE,Name,standard,\nFIN,FIN_OK,Fine,secret,\nFIN,FIN_CLOSE,Twice,standard,\n"
    )
    before = db_session.scalar(select(func.count(ErpRole.id)))
    preview = api["ada"].post("/api/v1/access/imports/roles", json={"csv": text}).get_json()
    assert [e["line"] for e in preview["errors"]] == [5, 6, 7]
    applied = api["ada"].post("/api/v1/access/imports/roles", json={"csv": text, "apply": True})
    assert applied.status_code == 422
    body = applied.get_json()
    assert [e["line"] for e in body["lines"]] == [5, 6, 7]
    assert "no ERP module" in body["lines"][0]["message"]
    assert db_session.scalar(select(func.count(ErpRole.id))) == before


@pytest.mark.parametrize("text", ["", "just,a,header\n", "module,code,name,sensitivity\n", "\x00"])
def test_an_unusable_file_is_refused_not_a_500(api, text):
    response = api["ada"].post(
        "/api/v1/access/imports/roles", json={"csv": text or " ", "apply": True}
    )
    assert response.status_code in (400, 422)


@pytest.mark.parametrize("who", ["fiona", "audrey", "rita"])
def test_only_an_admin_imports(api, who):
    response = api[who].post("/api/v1/access/imports/roles", json={"csv": ROLES_CSV})
    assert response.status_code == 403


def test_an_sod_rule_import_checks_every_line(api, db_session):
    text = (
        "roles,severity,description\n"
        "FIN_VIEW|SAL_ORDER,low,Odd pair\n"
        "FIN_VIEW|NOPE,low,Unknown role\n"
        "FIN_VIEW,medium,Alone\n"
    )
    refused = api["ada"].post("/api/v1/access/imports/sod-rules", json={"csv": text, "apply": True})
    assert refused.status_code == 422
    assert [e["line"] for e in refused.get_json()["lines"]] == [3, 4]
    assert db_session.scalar(select(func.count(SodRule.id))) == 1
    good = (
        "roles,severity,description\n"
        "FIN_VIEW|SAL_ORDER,low,Odd pair\n"
        "FIN_PAYMENT;FIN_SUPPLIER,critical,Fraud\n"
    )
    applied = api["ada"].post("/api/v1/access/imports/sod-rules", json={"csv": good, "apply": True})
    assert (applied.get_json()["created"], applied.get_json()["updated"]) == (1, 1)
    assert db_session.scalar(select(func.count(SodRule.id))) == 2
