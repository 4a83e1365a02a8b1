"""The permission policy: roles, module scoping, token scopes, inactive users, service accounts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pytest

from app.core.errors import PermissionDenied
from app.core.permissions import Permission, Role, can, module_scope, require
from app.identity.service import user_for_token

FIN, SAL = 1, 2  # module ids


@dataclass
class Person:
    """A principal as the policy sees it: roles (each for a module or for all) and token scopes."""

    roles: list[tuple[str, int | None]] = field(default_factory=list)
    active: bool = True
    token_scopes: list[str] | None = None
    id: int = 1

    def role_pairs(self) -> Iterable[tuple[str, int | None]]:
        return self.roles


def key_user_of(module_id: int, **kwargs) -> Person:
    return Person(roles=[(Role.REQUESTER, None), (Role.KEY_USER, module_id)], **kwargs)


# --- module scoping -------------------------------------------------------------------------


def test_a_key_user_of_finance_sees_finance_tickets_but_not_sales_ones():
    kim = key_user_of(FIN)

    assert can(kim, Permission.TICKET_VIEW_MODULE, module_id=FIN)
    assert not can(kim, Permission.TICKET_VIEW_MODULE, module_id=SAL)


def test_a_key_user_holds_the_permission_for_some_module_when_none_is_named():
    assert can(key_user_of(FIN), Permission.TICKET_PREQUALIFY)


def test_the_module_scope_of_a_key_user_is_their_modules():
    kim = Person(roles=[(Role.KEY_USER, FIN), (Role.KEY_USER, SAL)])

    assert module_scope(kim, Permission.TICKET_VIEW_MODULE) == {FIN, SAL}
    assert module_scope(kim, Permission.TICKET_VIEW_ALL) == set()


def test_a_role_granted_without_a_module_applies_to_every_module():
    agent = Person(roles=[(Role.AGENT, None)])

    assert can(agent, Permission.TICKET_WORK, module_id=FIN)
    assert can(agent, Permission.TICKET_WORK, module_id=SAL)
    assert module_scope(agent, Permission.TICKET_VIEW_ALL) is None  # None: every module


def test_a_module_role_grants_nothing_its_role_does_not_have():
    kim = key_user_of(FIN)

    assert not can(kim, Permission.TICKET_WORK, module_id=FIN)
    assert not can(kim, Permission.CATALOGUE_MANAGE, module_id=FIN)


@pytest.mark.parametrize(
    ("role", "permission", "allowed"),
    [
        (Role.REQUESTER, Permission.TICKET_CREATE, True),
        (Role.REQUESTER, Permission.TICKET_VIEW_ALL, False),
        (Role.REQUESTER, Permission.AUDIT_VIEW, False),
        (Role.AGENT, Permission.TICKET_VIEW_INTERNAL, True),
        (Role.AGENT, Permission.AUDIT_VIEW, False),
        (Role.AGENT, Permission.USER_MANAGE, False),
        (Role.ADMIN, Permission.USER_MANAGE, True),
        (Role.ADMIN, Permission.AUDIT_VIEW, True),
        (Role.AUDITOR, Permission.AUDIT_VIEW, True),
        (Role.AUDITOR, Permission.TICKET_VIEW_ALL, True),
        (Role.AUDITOR, Permission.TICKET_CREATE, False),
        (Role.AUDITOR, Permission.CATALOGUE_MANAGE, False),
    ],
)
def test_what_each_role_may_do(role, permission, allowed):
    assert can(Person(roles=[(role, None)]), permission) is allowed


def test_holding_several_roles_gives_the_union_of_their_permissions():
    both = Person(roles=[(Role.AGENT, None), (Role.AUDITOR, None)])

    assert can(both, Permission.TICKET_WORK)
    assert can(both, Permission.AUDIT_VIEW)


# --- who has nothing ------------------------------------------------------------------------


def test_an_inactive_user_has_no_permission_at_all():
    former_admin = Person(roles=[(Role.ADMIN, None)], active=False)

    assert not any(can(former_admin, permission) for permission in Permission)
    assert module_scope(former_admin, Permission.TICKET_VIEW_ALL) == set()


def test_nobody_has_no_permission():
    assert not can(None, Permission.CATALOGUE_VIEW)
    assert module_scope(None, Permission.CATALOGUE_VIEW) == set()


def test_require_raises_a_403_naming_the_missing_permission():
    with pytest.raises(PermissionDenied) as denied:
        require(Person(roles=[(Role.REQUESTER, None)]), Permission.USER_MANAGE)

    assert denied.value.status == 403
    assert "user:manage" in denied.value.message


def test_require_lets_an_allowed_actor_through():
    require(key_user_of(FIN), Permission.TICKET_VIEW_MODULE, module_id=FIN)


# --- token scopes ---------------------------------------------------------------------------


def test_a_scoped_token_narrows_its_holders_permissions():
    admin_with_read_token = Person(roles=[(Role.ADMIN, None)], token_scopes=["user:view"])

    assert can(admin_with_read_token, Permission.USER_VIEW)
    assert not can(admin_with_read_token, Permission.USER_MANAGE)
    assert module_scope(admin_with_read_token, Permission.TICKET_VIEW_ALL) == set()


def test_a_scope_never_adds_a_permission_the_holder_lacks():
    requester = Person(roles=[(Role.REQUESTER, None)], token_scopes=["user:manage"])

    assert not can(requester, Permission.USER_MANAGE)


def test_the_wildcard_scope_keeps_every_permission_of_the_holder():
    admin = Person(roles=[(Role.ADMIN, None)], token_scopes=["*"])

    assert all(
        can(admin, permission) for permission in Permission if permission != Permission.USAGE_INGEST
    )


# --- service accounts -----------------------------------------------------------------------


def test_a_service_account_token_with_usage_ingest_may_ingest_and_nothing_else():
    erp = Person(roles=[], token_scopes=["usage:ingest"])

    assert can(erp, Permission.USAGE_INGEST)
    assert [p for p in Permission if can(erp, p)] == [Permission.USAGE_INGEST]


def test_a_service_account_without_the_ingest_scope_may_not_ingest():
    assert not can(Person(roles=[], token_scopes=["*"]), Permission.USAGE_INGEST)
    assert not can(Person(roles=[], token_scopes=["catalogue:view"]), Permission.USAGE_INGEST)


def test_not_even_an_admin_ingests_usage_with_a_personal_token():
    assert not can(Person(roles=[(Role.ADMIN, None)], token_scopes=["*"]), Permission.USAGE_INGEST)


# --- the same policy on real users and tokens -----------------------------------------------


def test_a_service_account_issued_through_the_api_holds_only_usage_ingest(
    make_user, api_client, client, db_session
):
    admin = api_client(make_user("admin"))
    issued = admin.post(
        "/api/v1/tokens",
        json={
            "user": "erp@example.com",
            "name": "ERP usage feed",
            "scopes": ["usage:ingest"],
            "service_account": True,
        },
    )
    assert issued.status_code == 201, issued.get_json()

    erp = user_for_token(db_session, issued.get_json()["token"])

    assert erp.is_service_account
    assert [p for p in Permission if can(erp, p)] == [Permission.USAGE_INGEST]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {issued.get_json()['token']}"})
    assert me.get_json()["roles"] == []
    modules = client.get(
        "/api/v1/modules", headers={"Authorization": f"Bearer {issued.get_json()['token']}"}
    )
    assert modules.status_code == 403


def test_a_token_scoped_to_reading_the_catalogue_cannot_list_users(make_user, api_client):
    admin = make_user("admin")
    reader = api_client(admin, scopes=["catalogue:view"])

    assert reader.get("/api/v1/modules").status_code == 200
    assert reader.get("/api/v1/users").status_code == 403
    assert api_client(admin).get("/api/v1/users").status_code == 200


def test_a_key_user_of_finance_can_view_finance_but_not_sales(make_user, make_module):
    kim = make_user("key_user", module="FIN")
    fin, sal = make_module("FIN"), make_module("SAL")

    assert can(kim, Permission.TICKET_VIEW_MODULE, module_id=fin.id)
    assert not can(kim, Permission.TICKET_VIEW_MODULE, module_id=sal.id)
    assert module_scope(kim, Permission.TICKET_VIEW_MODULE) == {fin.id}


def test_a_deactivated_user_token_stops_working(make_user, api_client, db_session):
    user = make_user("agent")
    api = api_client(user)
    user.active = False
    db_session.commit()

    response = api.get("/api/v1/me")

    assert response.status_code == 401
