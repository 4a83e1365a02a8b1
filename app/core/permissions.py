"""The permission policy, in one place: which role may do what, and in which ERP module.

Every API endpoint and page asks ``require(actor, Permission.X, module_id=...)`` or filters its
queries with ``module_scope(actor, Permission.X)``; no other code decides who may do what.
Roles listed in ``MODULE_SCOPED_ROLES`` may be granted for one module (key user *of* Finance);
any role granted without a module applies everywhere. An API token may narrow its holder's
permissions further to a list of scopes (``*`` keeps them all); a permission the token was not
issued for is refused as ``insufficient_scope``, naming the scope.

Who takes part in the conversation on a ticket (comments and files):
- its requester, on their own ticket (``ticket:converse_own``, every role that reports);
- on anyone's ticket they can see: the support team and the key users of the ticket's module
  (``ticket:converse``), who add business context; product owners and approvers read their
  module's tickets but do not answer on them;
- internal notes and internal files: the support team only (``ticket:note_internal``);
- following a ticket (``ticket:watch``): anyone who may report one, on a ticket they see or on
  an open ticket of a module they report in (following is how a requester joins a ticket
  someone else reported instead of filing a duplicate).
The auditor reads everything and changes nothing: the role holds no permission that writes.
Every person lists and revokes their own API tokens (``token:self``).

Beyond the desk:
- enhancement requests: everyone submits, reads, votes and comments; the product owner of a
  module qualifies, ranks and plans its requests and writes internal notes; the steering
  committee (``committee_member``, not module-scoped) and admins decide;
- sprints and release notes: everyone reads; product owners plan, run and release;
- ERP access rights: everyone requests for themself; approvers of a module approve its roles;
  reviewers certify or revoke in campaigns; admins run the catalogue, exceptions, provisioning
  and campaigns; the ERP confirms provisioning with a service token scoped ``access:provision``;
- usage events come from the ERP's service token (``usage:ingest``) or an admin; indicators
  are read by the support team, product owners, the committee, admins and auditors; admins set
  targets;
- governance (objectives, meetings, minutes, actions, risks, budget, report): the committee
  manages, auditors read; everyone updates the action items they own and answers the pulse
  surveys meant for them; admins open and close the surveys.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any, Protocol

from flask_babel import lazy_gettext as _l

from app.core.errors import InsufficientScope, PermissionDenied


class Role(StrEnum):
    REQUESTER = "requester"
    KEY_USER = "key_user"
    AGENT = "agent"
    PRODUCT_OWNER = "product_owner"
    APPROVER = "approver"
    ADMIN = "admin"
    AUDITOR = "auditor"
    COMMITTEE_MEMBER = "committee_member"


MODULE_SCOPED_ROLES = frozenset({Role.KEY_USER, Role.PRODUCT_OWNER, Role.APPROVER})


class Permission(StrEnum):
    TICKET_CREATE = "ticket:create"
    TICKET_VIEW_OWN = "ticket:view_own"
    TICKET_VIEW_MODULE = "ticket:view_module"
    TICKET_VIEW_ALL = "ticket:view_all"
    TICKET_PREQUALIFY = "ticket:prequalify"
    TICKET_WORK = "ticket:work"
    TICKET_VIEW_INTERNAL = "ticket:view_internal"
    TICKET_CONVERSE_OWN = "ticket:converse_own"
    TICKET_CONVERSE = "ticket:converse"
    TICKET_NOTE_INTERNAL = "ticket:note_internal"
    TICKET_WATCH = "ticket:watch"
    SLA_MANAGE = "sla:manage"
    CATALOGUE_VIEW = "catalogue:view"
    CATALOGUE_MANAGE = "catalogue:manage"
    USER_VIEW = "user:view"
    USER_MANAGE = "user:manage"
    TOKEN_MANAGE = "token:manage"
    TOKEN_SELF = "token:self"
    AUDIT_VIEW = "audit:view"
    USAGE_INGEST = "usage:ingest"
    USAGE_VIEW = "usage:view"
    ENHANCEMENT_SUBMIT = "enhancement:submit"
    ENHANCEMENT_VIEW = "enhancement:view"
    ENHANCEMENT_CONVERSE = "enhancement:converse"
    ENHANCEMENT_NOTE_INTERNAL = "enhancement:note_internal"
    ENHANCEMENT_QUALIFY = "enhancement:qualify"
    ENHANCEMENT_DECIDE = "enhancement:decide"
    SPRINT_VIEW = "sprint:view"
    SPRINT_MANAGE = "sprint:manage"
    ACCESS_REQUEST = "access:request"
    ACCESS_VIEW = "access:view"
    ACCESS_APPROVE = "access:approve"
    ACCESS_REVIEW = "access:review"
    ACCESS_MANAGE = "access:manage"
    ACCESS_PROVISION = "access:provision"
    INDICATOR_VIEW = "indicator:view"
    INDICATOR_MANAGE = "indicator:manage"
    GOVERNANCE_VIEW = "governance:view"
    GOVERNANCE_MANAGE = "governance:manage"
    GOVERNANCE_ACTION_OWN = "governance:action_own"
    PULSE_ANSWER = "pulse:answer"
    PULSE_MANAGE = "pulse:manage"


_EVERY_USER = {
    Permission.TICKET_CREATE,
    Permission.TICKET_VIEW_OWN,
    Permission.TICKET_CONVERSE_OWN,
    Permission.TICKET_WATCH,
    Permission.CATALOGUE_VIEW,
    Permission.TOKEN_SELF,
    Permission.ENHANCEMENT_SUBMIT,
    Permission.ENHANCEMENT_VIEW,
    Permission.ENHANCEMENT_CONVERSE,
    Permission.SPRINT_VIEW,
    Permission.ACCESS_REQUEST,
    Permission.GOVERNANCE_ACTION_OWN,
    Permission.PULSE_ANSWER,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.REQUESTER: frozenset(_EVERY_USER),
    Role.KEY_USER: frozenset(
        _EVERY_USER
        | {
            Permission.TICKET_VIEW_MODULE,
            Permission.TICKET_PREQUALIFY,
            Permission.TICKET_CONVERSE,
        }
    ),
    Role.AGENT: frozenset(
        _EVERY_USER
        | {
            Permission.TICKET_VIEW_ALL,
            Permission.TICKET_WORK,
            Permission.TICKET_VIEW_INTERNAL,
            Permission.TICKET_CONVERSE,
            Permission.TICKET_NOTE_INTERNAL,
            Permission.USER_VIEW,
            Permission.INDICATOR_VIEW,
        }
    ),
    Role.PRODUCT_OWNER: frozenset(
        _EVERY_USER
        | {
            Permission.TICKET_VIEW_MODULE,
            Permission.ENHANCEMENT_QUALIFY,
            Permission.ENHANCEMENT_NOTE_INTERNAL,
            Permission.SPRINT_MANAGE,
            Permission.INDICATOR_VIEW,
        }
    ),
    Role.APPROVER: frozenset(
        _EVERY_USER | {Permission.ACCESS_VIEW, Permission.ACCESS_APPROVE, Permission.ACCESS_REVIEW}
    ),
    Role.COMMITTEE_MEMBER: frozenset(
        _EVERY_USER
        | {
            Permission.ENHANCEMENT_DECIDE,
            Permission.ENHANCEMENT_NOTE_INTERNAL,
            Permission.INDICATOR_VIEW,
            Permission.GOVERNANCE_VIEW,
            Permission.GOVERNANCE_MANAGE,
        }
    ),
    # the ERP's own calls (usage feed, provisioning) come from service tokens, never an admin's
    Role.ADMIN: frozenset(Permission) - {Permission.USAGE_INGEST, Permission.ACCESS_PROVISION},
    # read-only: nothing here may write (tests/core/test_permissions.py holds it to that)
    Role.AUDITOR: frozenset(
        {
            Permission.CATALOGUE_VIEW,
            Permission.TICKET_VIEW_ALL,
            Permission.TICKET_VIEW_INTERNAL,
            Permission.AUDIT_VIEW,
            Permission.USER_VIEW,
            Permission.TOKEN_SELF,
            Permission.ENHANCEMENT_VIEW,
            Permission.SPRINT_VIEW,
            Permission.ACCESS_VIEW,
            Permission.USAGE_VIEW,
            Permission.INDICATOR_VIEW,
            Permission.GOVERNANCE_VIEW,
        }
    ),
}

# What reads and changes nothing: the only permissions a read-only role may hold. Revoking
# one's own token (``token:self``) ends a credential; it changes none of Steward's records.
READ_ONLY = frozenset(
    {
        Permission.CATALOGUE_VIEW,
        Permission.TICKET_VIEW_OWN,
        Permission.TICKET_VIEW_MODULE,
        Permission.TICKET_VIEW_ALL,
        Permission.TICKET_VIEW_INTERNAL,
        Permission.AUDIT_VIEW,
        Permission.USER_VIEW,
        Permission.TOKEN_SELF,
        Permission.ENHANCEMENT_VIEW,
        Permission.SPRINT_VIEW,
        Permission.ACCESS_VIEW,
        Permission.USAGE_VIEW,
        Permission.INDICATOR_VIEW,
        Permission.GOVERNANCE_VIEW,
    }
)

ALL_SCOPES = "*"
# Service accounts hold no role; their tokens carry the scope they were issued for.
SERVICE_SCOPES = frozenset({Permission.USAGE_INGEST, Permission.ACCESS_PROVISION})


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
    """A service scope counts only on a service account's token, never on a person's."""
    if not getattr(actor, "is_service_account", False):
        return False
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
    """Raise ``PermissionDenied`` unless ``can(actor, permission, module_id)``.

    A token that was not issued for ``permission`` is refused as ``InsufficientScope``, which
    names the scope, whatever its holder's roles.
    """
    require_any(actor, [permission], module_id)


def require_any(
    actor: Principal | None, permissions: Iterable[Permission], module_id: int | None = None
) -> None:
    """Raise unless ``actor`` holds at least one of ``permissions`` (see ``require``)."""
    wanted = list(permissions)
    if any(can(actor, p, module_id) for p in wanted):
        return
    active = actor is not None and getattr(actor, "active", False)
    if active and not any(_token_allows(actor, p) for p in wanted):
        raise InsufficientScope([p.value for p in wanted])
    names = "' or '".join(p.value for p in wanted)
    raise PermissionDenied(_l("You need the '%(names)s' permission for this.", names=names))


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


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def guard_writes(blueprint: Any, permissions: Iterable[Permission]) -> None:
    """Refuse every write through ``blueprint`` (403) to whoever holds none of
    ``permissions``, before the body is read or the object looked up: a read-only role gets
    the same answer whatever it sends. Each operation still checks its own permission."""
    wanted = tuple(permissions)

    def _writers_only() -> None:
        from flask import request

        from app.core.actor import current_actor

        if request.method in WRITE_METHODS:
            require_any(current_actor(), wanted)

    blueprint.before_request(_writers_only)
