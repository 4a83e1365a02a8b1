"""The permission policy, in one place: which role may do what, and in which ERP module.

Every API endpoint and page asks ``require(actor, Permission.X, module_id=...)`` or filters its
queries with ``module_scope(actor, Permission.X)``; no other code decides who may do what.
Roles listed in ``MODULE_SCOPED_ROLES`` may be granted for one module (key user *of* Finance);
any role granted without a module applies everywhere. An API token may narrow its holder's
permissions further to a list of scopes (``*`` keeps them all).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Protocol

from app.core.errors import PermissionDenied


class Role(StrEnum):
    REQUESTER = "requester"
    KEY_USER = "key_user"
    AGENT = "agent"
    PRODUCT_OWNER = "product_owner"
    APPROVER = "approver"
    ADMIN = "admin"
    AUDITOR = "auditor"


MODULE_SCOPED_ROLES = frozenset({Role.KEY_USER, Role.PRODUCT_OWNER, Role.APPROVER})


class Permission(StrEnum):
    TICKET_CREATE = "ticket:create"
    TICKET_VIEW_OWN = "ticket:view_own"
    TICKET_VIEW_MODULE = "ticket:view_module"
    TICKET_VIEW_ALL = "ticket:view_all"
    TICKET_PREQUALIFY = "ticket:prequalify"
    TICKET_WORK = "ticket:work"
    TICKET_VIEW_INTERNAL = "ticket:view_internal"
    SLA_MANAGE = "sla:manage"
    CATALOGUE_VIEW = "catalogue:view"
    CATALOGUE_MANAGE = "catalogue:manage"
    USER_VIEW = "user:view"
    USER_MANAGE = "user:manage"
    TOKEN_MANAGE = "token:manage"
    AUDIT_VIEW = "audit:view"
    USAGE_INGEST = "usage:ingest"


_EVERY_USER = {Permission.TICKET_CREATE, Permission.TICKET_VIEW_OWN, Permission.CATALOGUE_VIEW}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.REQUESTER: frozenset(_EVERY_USER),
    Role.KEY_USER: frozenset(
        _EVERY_USER | {Permission.TICKET_VIEW_MODULE, Permission.TICKET_PREQUALIFY}
    ),
    Role.AGENT: frozenset(
        _EVERY_USER
        | {
            Permission.TICKET_VIEW_ALL,
            Permission.TICKET_WORK,
            Permission.TICKET_VIEW_INTERNAL,
            Permission.USER_VIEW,
        }
    ),
    Role.PRODUCT_OWNER: frozenset(_EVERY_USER | {Permission.TICKET_VIEW_MODULE}),
    Role.APPROVER: frozenset(_EVERY_USER),
    Role.ADMIN: frozenset(Permission) - {Permission.USAGE_INGEST},
    Role.AUDITOR: frozenset(
        {
            Permission.CATALOGUE_VIEW,
            Permission.TICKET_VIEW_ALL,
            Permission.TICKET_VIEW_INTERNAL,
            Permission.AUDIT_VIEW,
            Permission.USER_VIEW,
        }
    ),
}

ALL_SCOPES = "*"
# Service accounts hold no role; their tokens carry the scope they were issued for.
SERVICE_SCOPES = frozenset({Permission.USAGE_INGEST})


class Principal(Protocol):
    """What the policy needs to know about an actor (a user, or a token's holder)."""

    id: int
    active: bool

    def role_pairs(self) -> Iterable[tuple[str, int | None]]: ...

    @property
    def token_scopes(self) -> list[str] | None: ...


def _token_allows(actor: Principal, permission: Permission) -> bool:
    scopes = getattr(actor, "token_scopes", None)
    return scopes is None or ALL_SCOPES in scopes or permission.value in scopes


def _service_allows(actor: Principal, permission: Permission) -> bool:
    scopes = getattr(actor, "token_scopes", None) or []
    return permission in SERVICE_SCOPES and permission.value in scopes


def can(actor: Principal | None, permission: Permission, module_id: int | None = None) -> bool:
    """Whether ``actor`` holds ``permission`` (for ``module_id``, or for some module if None)."""
    if actor is None or not getattr(actor, "active", False):
        return False
    if not _token_allows(actor, permission):
        return False
    if _service_allows(actor, permission):
        return True
    for role, scope in actor.role_pairs():
        if permission not in ROLE_PERMISSIONS.get(Role(role), frozenset()):
            continue
        if scope is None or module_id is None or scope == module_id:
            return True
    return False


def require(actor: Principal | None, permission: Permission, module_id: int | None = None) -> None:
    """Raise ``PermissionDenied`` unless ``can(actor, permission, module_id)``."""
    if not can(actor, permission, module_id):
        raise PermissionDenied(f"You need the '{permission.value}' permission for this.")


def module_scope(actor: Principal | None, permission: Permission) -> set[int] | None:
    """The module ids where ``actor`` holds ``permission``: ``None`` means every module."""
    if actor is None or not getattr(actor, "active", False):
        return set()
    if not _token_allows(actor, permission):
        return set()
    modules: set[int] = set()
    for role, scope in actor.role_pairs():
        if permission in ROLE_PERMISSIONS.get(Role(role), frozenset()):
            if scope is None:
                return None
            modules.add(scope)
    return modules
