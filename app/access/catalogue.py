"""The ERP role catalogue and the segregation-of-duties rules (admins write, everyone reads)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.models import SENSITIVITIES, SEVERITIES, ErpRole, SodRule
from app.access.service import clean_text, module_by_code
from app.core import audit
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.permissions import Permission, require
from app.identity.models import User

CODE_MAX = 64
NAME_MAX = 200


def _check_choice(value: str, choices: tuple[str, ...], field: str) -> str:
    if value not in choices:
        raise ValidationFailed(
            _l("Unknown %(field)s '%(value)s'.", field=field, value=value),
            errors={field: [_l("One of: %(value)s.", value=", ".join(choices))]},
        )
    return value


def _check_code(code: str) -> str:
    code = (code or "").strip().upper()
    if not code or len(code) > CODE_MAX or not all(c.isalnum() or c in "_-." for c in code):
        raise ValidationFailed(
            _l("The role code is not valid."),
            errors={
                "code": [
                    _l("Letters, digits, '_', '-' or '.', at most %(code_max)s.", code_max=CODE_MAX)
                ]
            },
        )
    return code


def create_role(
    session: Session,
    actor: User | None,
    *,
    code: str,
    name: str,
    module: str,
    sensitivity: str = "standard",
    description: str | None = None,
) -> ErpRole:
    """Add an ERP role to the catalogue (409 if the code is taken)."""
    if actor is not None:
        require(actor, Permission.ACCESS_MANAGE)
    code = _check_code(code)
    if session.scalar(select(ErpRole.id).where(ErpRole.code == code)) is not None:
        raise Conflict(_l("The role %(code)s exists already.", code=code))
    role = ErpRole(
        code=code,
        name=clean_text(name, "name")[:NAME_MAX],
        description=clean_text(description, "description", required=False),
        module_id=module_by_code(session, module).id,
        sensitivity=_check_choice(sensitivity, SENSITIVITIES, "sensitivity"),
    )
    session.add(role)
    session.flush()
    audit.record(
        session, actor, "access_role", code, "create", {"sensitivity": [None, role.sensitivity]}
    )
    return role


def update_role(
    session: Session, actor: User | None, role: ErpRole, values: dict[str, Any]
) -> ErpRole:
    """Change a role's name, description, sensitivity, module or whether it may be requested."""
    if actor is not None:
        require(actor, Permission.ACCESS_MANAGE)
    new: dict[str, Any] = {}
    if "name" in values:
        new["name"] = clean_text(values["name"], "name")[:NAME_MAX]
    if "description" in values:
        new["description"] = clean_text(values["description"], "description", required=False)
    if "sensitivity" in values:
        new["sensitivity"] = _check_choice(values["sensitivity"], SENSITIVITIES, "sensitivity")
    if "module" in values:
        new["module_id"] = module_by_code(session, values["module"]).id
    if "active" in values:
        new["active"] = bool(values["active"])
    changes = audit.apply_changes(role, new)
    if changes:
        session.flush()
        audit.record(session, actor, "access_role", role.code, "update", changes)
    return role


def role_key(roles: list[ErpRole]) -> str:
    return ",".join(str(i) for i in sorted({r.id for r in roles}))


def roles_by_codes(session: Session, codes: list[str], field: str = "roles") -> list[ErpRole]:
    """The roles of ``codes`` (422 naming those that do not exist)."""
    wanted = [c.strip().upper() for c in codes]
    found = {r.code: r for r in session.scalars(select(ErpRole).where(ErpRole.code.in_(wanted)))}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise ValidationFailed(
            _l("Unknown ERP roles."), errors={field: [f"No role {c}." for c in missing]}
        )
    return [found[c] for c in dict.fromkeys(wanted)]


def create_sod_rule(
    session: Session,
    actor: User | None,
    *,
    roles: list[str],
    severity: str,
    description: str,
) -> SodRule:
    """A rule: these roles (two or more) must not be held by one person."""
    if actor is not None:
        require(actor, Permission.ACCESS_MANAGE)
    found = roles_by_codes(session, roles)
    if len(found) < 2:
        raise ValidationFailed(
            _l("A rule needs two different roles or more."),
            errors={"roles": [_l("Name at least two different roles.")]},
        )
    key = role_key(found)
    if session.scalar(select(SodRule.id).where(SodRule.role_key == key)) is not None:
        raise Conflict(_l("A rule for these roles exists already."))
    rule = SodRule(
        role_key=key,
        severity=_check_choice(severity, SEVERITIES, "severity"),
        description=clean_text(description, "description"),
        roles=found,
    )
    session.add(rule)
    session.flush()
    audit.record(
        session,
        actor,
        "sod_rule",
        rule.id,
        "create",
        {"roles": [None, [r.code for r in found]], "severity": [None, rule.severity]},
    )
    return rule


def update_sod_rule(
    session: Session, actor: User | None, rule: SodRule, values: dict[str, Any]
) -> SodRule:
    """Change a rule's severity, description, or whether it is enforced."""
    if actor is not None:
        require(actor, Permission.ACCESS_MANAGE)
    new: dict[str, Any] = {}
    if "severity" in values:
        new["severity"] = _check_choice(values["severity"], SEVERITIES, "severity")
    if "description" in values:
        new["description"] = clean_text(values["description"], "description")
    if "active" in values:
        new["active"] = bool(values["active"])
    changes = audit.apply_changes(rule, new)
    if changes:
        session.flush()
        audit.record(session, actor, "sod_rule", rule.id, "update", changes)
    return rule


def get_sod_rule(session: Session, rule_id: int) -> SodRule:
    rule = session.get(SodRule, rule_id)
    if rule is None:
        raise NotFound(_l("No such SoD rule."))
    return rule
