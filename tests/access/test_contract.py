"""The access API keeps the contract its OpenAPI document states, under fuzzing (the suite-wide
test in tests/test_openapi_contract.py does the same for every operation, with its own data)."""

from __future__ import annotations

import pytest
import schemathesis
from schemathesis import GenerationMode

from tests.access.support import approved, asked, grants_of
from tests.test_openapi_contract import fuzz

EXAMPLES = 6


@pytest.fixture(params=["ada", "rita"])
def caller(request, api, db_session):
    """Something of everything (a grant, a pending request, a campaign), and who calls."""
    approved(api, ["FIN_VIEW"])
    pending = asked(api["rita"], ["SAL_ORDER"])
    grant = grants_of(db_session, "rita@example.com")[0]
    api["ada"].post(f"/api/v1/access/grants/{grant.id}/provisioned")
    campaign = (
        api["ada"]
        .post("/api/v1/access/campaigns", json={"name": "Q", "deadline": "2099-01-01"})
        .get_json()
    )
    item = api["ada"].get(f"/api/v1/access/campaigns/{campaign['id']}/items").get_json()["items"][0]
    rule = api["ada"].get("/api/v1/access/sod-rules").get_json()["items"][0]
    values = {
        "ref": pending["ref"],
        "code": "FIN_VIEW",
        "rule_id": rule["id"],
        "grant_id": grant.id,
        "campaign_id": campaign["id"],
        "item_id": item["id"],
    }
    return api[request.param], values


def test_every_access_operation_keeps_the_contract(app, caller):
    client, values = caller
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    headers = {"Authorization": f"Bearer {client.token}"}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if "/access/" not in operation.path:
            continue
        operations += 1
        wanted = {name for name in values if "{" + name + "}" in operation.path}
        aims = [({n: values[n] for n in wanted}, EXAMPLES)] + ([(None, 2)] if wanted else [])
        for aim, examples in aims:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                try:
                    fuzz(operation, mode, headers, aim, examples)
                except (Exception, BaseExceptionGroup) as exc:  # all reported together
                    failures.append(f"{operation.label} {aim} ({mode.value}): {exc}")
    assert operations >= 20
    assert not failures, "\n\n".join(failures)
