"""The permission policy: roles, module scoping, token scopes, inactive users, service accounts."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from app.core.clock import utcnow
from app.core.errors import InsufficientScope, PermissionDenied
from app.core.permissions import (
    MODULE_SCOPED_ROLES,
    READ_ONLY,
    SERVICE_SCOPES,
    Permission,
    Role,
    can,
    module_scope,
    require,
)
from app.identity.service import issue_token, user_for_token
from tests.factories import tiny_png

FIN, SAL = 1, 2  # module ids


@dataclass
class Person:
    """A principal as the policy sees it: roles (each for a module or for all) and token scopes."""

    roles: list[tuple[str, int | None]] = field(default_factory=list)
    active: bool = True
    token_scopes: list[str] | None = None
    id: int = 1
    is_service_account: bool = False

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

    held = {permission for permission in Permission if can(admin, permission)}

    assert held == set(Permission) - SERVICE_SCOPES  # the ERP's own calls are not an admin's


# --- service accounts -----------------------------------------------------------------------


def test_a_service_account_token_with_usage_ingest_may_ingest_and_nothing_else():
    erp = Person(roles=[], token_scopes=["usage:ingest"], is_service_account=True)

    assert can(erp, Permission.USAGE_INGEST)
    assert [p for p in Permission if can(erp, p)] == [Permission.USAGE_INGEST]


def test_a_service_account_without_the_ingest_scope_may_not_ingest():
    for scopes in (["*"], ["catalogue:view"]):
        erp = Person(roles=[], token_scopes=scopes, is_service_account=True)
        assert not can(erp, Permission.USAGE_INGEST)


def test_a_persons_token_never_carries_a_service_scope():
    person = Person(roles=[(Role.ADMIN, None)], token_scopes=["usage:ingest", "access:provision"])

    assert not can(person, Permission.USAGE_INGEST)
    assert not can(person, Permission.ACCESS_PROVISION)


def test_a_service_scope_is_not_issued_to_a_person(make_user, api_client):
    admin = api_client(make_user("admin"))
    make_user("requester", email="pat@example.com")

    issued = admin.post(
        "/api/v1/tokens",
        json={"user": "pat@example.com", "name": "feed", "scopes": ["access:provision"]},
    )

    assert issued.status_code == 422
    assert "scopes" in issued.get_json()["errors"]


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


# --- the auditor reads everything and writes nothing ----------------------------------------


def test_the_auditor_role_holds_only_permissions_that_read():
    auditor = Person(roles=[(Role.AUDITOR, None)])

    held = {p for p in Permission if can(auditor, p)}

    assert held <= READ_ONLY
    assert Permission.TICKET_VIEW_INTERNAL in held


@pytest.mark.parametrize("role", [Role.REQUESTER, Role.KEY_USER, Role.AGENT, Role.ADMIN])
def test_every_other_person_writes_something(role):
    assert any(can(Person(roles=[(role, None)]), p) for p in set(Permission) - READ_ONLY)


@pytest.mark.parametrize(
    ("role", "converses", "internal"),
    [
        (Role.REQUESTER, False, False),
        (Role.KEY_USER, True, False),
        (Role.PRODUCT_OWNER, False, False),
        (Role.APPROVER, False, False),
        (Role.AGENT, True, True),
        (Role.ADMIN, True, True),
        (Role.AUDITOR, False, False),
    ],
)
def test_who_takes_part_in_the_conversation_on_someone_elses_ticket(role, converses, internal):
    person = Person(roles=[(role, FIN if role in MODULE_SCOPED_ROLES else None)])

    assert can(person, Permission.TICKET_CONVERSE, module_id=FIN) is converses
    assert can(person, Permission.TICKET_NOTE_INTERNAL, module_id=FIN) is internal


def test_a_key_user_converses_only_on_their_modules_tickets():
    assert not can(key_user_of(FIN), Permission.TICKET_CONVERSE, module_id=SAL)


def test_a_scope_the_token_lacks_is_refused_naming_it():
    admin_reader = Person(roles=[(Role.ADMIN, None)], token_scopes=["catalogue:view"])

    with pytest.raises(InsufficientScope) as refused:
        require(admin_reader, Permission.USER_MANAGE)

    assert refused.value.status == 403
    assert refused.value.code == "insufficient_scope"
    assert refused.value.to_dict()["missing_scopes"] == ["user:manage"]


def test_a_permission_the_role_lacks_is_forbidden_whatever_the_token():
    with pytest.raises(PermissionDenied) as refused:
        require(Person(roles=[(Role.REQUESTER, None)], token_scopes=["*"]), Permission.USER_MANAGE)

    assert refused.value.code == "forbidden"


def test_an_empty_scope_list_grants_nothing():
    admin = Person(roles=[(Role.ADMIN, None)], token_scopes=[])

    assert not any(can(admin, p) for p in Permission)


@pytest.fixture
def auditors_world(make_user, make_module, make_calendar, make_ticket, api_client, db_session):
    """Something to write on for every write operation, and the auditor's API client."""
    make_module("FIN")
    make_calendar("OFFICE")
    ticket = make_ticket()
    someone = make_user("agent", email="someone@example.com")
    others_token, _ = issue_token(
        db_session,
        None,
        someone,
        name="laptop",
        scopes=["*"],
        expires_at=utcnow() + timedelta(days=1),
    )
    db_session.commit()
    auditor = api_client(make_user("auditor", email="audrey@example.com"))
    return {
        "ref": ticket.ref,
        "user_id": someone.id,
        "token_id": others_token.id,
        "code": "FIN",
        "priority": "P3",
        "attachment_id": 1,
        "key": "dau",
    }, auditor


WRITE_BODIES = {
    "/api/v1/users": {"email": "new@example.com", "name": "New"},
    "/api/v1/users/{user_id}": {"name": "Renamed"},
    "/api/v1/tokens": {"user": "someone@example.com", "name": "more"},
    "/api/v1/modules": {"code": "HR", "name": "Human resources"},
    "/api/v1/modules/{code}": {"name": "Renamed"},
    "/api/v1/support-groups": {"code": "HR_SUP", "name": "HR support"},
    "/api/v1/calendars": {"code": "NIGHT", "name": "Night", "timezone": "UTC"},
    "/api/v1/calendars/{code}": {"name": "Renamed"},
    "/api/v1/calendars/{code}/holidays": {"day": "2026-12-24", "name": "Eve"},
    "/api/v1/calendars/{code}/holidays/import": {"country": "FR", "years": [2026]},
    "/api/v1/sla-policies/{priority}": {"response_minutes": 60},
    "/api/v1/tickets": {
        "title": "t",
        "description": "d",
        "module": "FIN",
        "impact": "low",
        "urgency": "low",
    },
    "/api/v1/tickets/{ref}": {"title": "Renamed"},
    "/api/v1/tickets/{ref}/transitions": {"action": "cancel"},
    "/api/v1/tickets/{ref}/comments": {"body": "Noted."},
    "/api/v1/tickets/{ref}/satisfaction": {"rating": 5},
    "/api/v1/tickets/{ref}/prequalification": {"priority": "P1"},
    "/api/v1/tickets/{ref}/enhancements": {"enhancement": "ENH-000045"},
    "/api/v1/enhancements": {"title": "t", "problem": "p", "benefit": "b", "module": "FIN"},
    "/api/v1/enhancements/from-ticket": {"ticket": "INC-000001", "benefit": "b"},
    "/api/v1/enhancements/{ref}": {"title": "Renamed"},
    "/api/v1/enhancements/{ref}/transitions": {"action": "review"},
    "/api/v1/enhancements/{ref}/votes": {},
    "/api/v1/enhancements/{ref}/comments": {"body": "Noted."},
    "/api/v1/enhancements/{ref}/qualification": {
        "business_value": 1,
        "time_criticality": 1,
        "risk_reduction": 1,
        "job_size": 1,
    },
    "/api/v1/enhancements/{ref}/decision": {"decision": "approve", "rationale": "Why not."},
    "/api/v1/enhancements/{ref}/rank": {"position": 1},
    "/api/v1/tickets/{ref}/watchers/me": {},
    "/api/v1/tickets/bulk": {"action": "close", "tickets": ["INC-000001"]},
    "/api/v1/saved-views": {"name": "Mine"},
    "/api/v1/canned-responses": {"title": "Hello", "body": "Hello."},
    "/api/v1/support-groups/{code}/rotation": {"enabled": True},
    "/api/v1/targets/{key}": {"target": 1.0, "direction": "at_least"},
    "/api/v1/objectives": {
        "title": "Close in 5 days",
        "owner": "someone@example.com",
        "indicators": [{"key": "dau"}],
    },
}
# Not writes to Steward's records: signing in, ending one's own credentials, and the time zone
# and language one reads pages in (an auditor chooses theirs too).
NOT_RECORD_WRITES = {("post", "/api/v1/auth/tokens"), ("patch", "/api/v1/me/settings")}


def test_every_write_operation_of_the_api_refuses_the_auditor(client, auditors_world):
    values, auditor = auditors_world
    spec = client.get("/api/openapi.json").get_json()
    tried, wrong = [], []

    for path, operations in spec["paths"].items():
        for method in sorted(set(operations) & {"post", "put", "patch", "delete"}):
            if (method, path) in NOT_RECORD_WRITES:
                continue
            names = re.findall(r"{(\w+)}", path)
            url = path.format(**{name: values.get(name, 1) for name in names})
            kwargs: dict = {}
            if "multipart/form-data" in str(operations[method].get("requestBody")):
                png = (io.BytesIO(tiny_png()), "x.png", "image/png")
                kwargs = {"data": {"file": png}, "content_type": "multipart/form-data"}
            elif method != "delete":
                kwargs = {"json": WRITE_BODIES.get(path, {})}
            if method == "patch":  # a current ETag, so that only the permission can refuse
                kwargs["headers"] = {"If-Match": auditor.get(url).headers.get("ETag", "")}

            response = getattr(auditor, method)(url, **kwargs)

            expected = 404 if path == "/api/v1/tokens/{token_id}" else 403  # not theirs to see
            if response.status_code != expected:
                wrong.append((method, url, response.status_code))
            tried.append((method, path))

    assert not wrong, wrong
    assert len(tried) >= len(WRITE_BODIES)
