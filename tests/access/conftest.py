"""People, modules and a small role catalogue for the access-rights suites.

Finance (FIN) and Sales (SAL); roles FIN_VIEW (standard), FIN_SUPPLIER (sensitive),
FIN_PAYMENT (critical), SAL_ORDER (standard); one SoD rule: FIN_SUPPLIER + FIN_PAYMENT (high).
Rita asks; Fiona and Felix approve Finance; Sam approves Sales; Ada is the admin; Audrey
audits; the ERP confirms provisioning with a service token.
"""

from __future__ import annotations

import pytest

from app.access import catalogue
from app.identity.service import save_user


@pytest.fixture
def modules(make_module):
    return make_module("FIN", name="Finance"), make_module("SAL", name="Sales")


@pytest.fixture
def roles(db_session, modules):
    for code, module, sensitivity in (
        ("FIN_VIEW", "FIN", "standard"),
        ("FIN_SUPPLIER", "FIN", "sensitive"),
        ("FIN_PAYMENT", "FIN", "critical"),
        ("SAL_ORDER", "SAL", "standard"),
    ):
        catalogue.create_role(
            db_session, None, code=code, name=code.title(), module=module, sensitivity=sensitivity
        )
    catalogue.create_sod_rule(
        db_session,
        None,
        roles=["FIN_SUPPLIER", "FIN_PAYMENT"],
        severity="high",
        description="Create a supplier and pay it: fictitious vendor fraud.",
    )
    db_session.commit()


@pytest.fixture
def people(make_user, modules, roles):
    """Everyone of the story, by first name."""

    def user(role, module=None, name=""):
        # no password: hashing one costs more than a test (pages sign in with ``with_password``)
        return make_user(role, module, email=f"{name.lower()}@example.com", name=name)

    return {
        "rita": user("requester", name="Rita"),
        "fiona": user("approver", "FIN", name="Fiona"),
        "felix": user("approver", "FIN", name="Felix"),
        "sam": user("approver", "SAL", name="Sam"),
        "ada": user("admin", name="Ada"),
        "otto": user("admin", name="Otto"),
        "audrey": user("auditor", name="Audrey"),
    }


@pytest.fixture
def api(as_, people) -> dict:
    """The API as each person of the story."""
    return {name: as_(person) for name, person in people.items()}


@pytest.fixture
def erp(db_session, as_):
    """The ERP's service account, with a token scoped ``access:provision`` only."""
    account, _ = save_user(
        db_session, None, email="erp@example.com", name="ERP", roles=[], is_service_account=True
    )
    db_session.commit()
    return as_(account, scopes=["access:provision"])
