"""CSV imports of the role catalogue and the SoD rules: preview, then apply.

Every line is checked before anything is written; a file with any bad line imports nothing and
reports each bad line by its number (the header is line 1). A line naming an existing role
(by code) or rule (by its set of roles) updates it; other lines create. The preview answers
what applying would do, line by line.

Roles: ``module,code,name,sensitivity,description``.
SoD rules: ``roles,severity,description`` with roles separated by ``|`` (or ``;``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import catalogue
from app.access.models import SENSITIVITIES, SEVERITIES, ErpRole, SodRule
from app.catalogue.models import Module
from app.core import audit
from app.core.errors import ValidationFailed
from app.core.permissions import Permission, require
from app.identity.models import User

MAX_LINES = 5000
MAX_BYTES = 1024 * 1024
ROLE_COLUMNS = ("module", "code", "name", "sensitivity", "description")
RULE_COLUMNS = ("roles", "severity", "description")


@dataclass
class ImportResult:
    """What an import did (or, previewed, would do): one row per line, errors by line."""

    kind: str
    applied: bool = False
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(1 for r in self.rows if r["action"] == "create")

    @property
    def updated(self) -> int:
        return sum(1 for r in self.rows if r["action"] == "update")

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "applied": self.applied,
            "created": self.created,
            "updated": self.updated,
            "rows": self.rows,
            "errors": self.errors,
        }


def _read(text: str, columns: tuple[str, ...]) -> tuple[list[tuple[int, dict[str, str]]], list]:
    """Lines of ``text`` as (line number, values), or the error that stops reading."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        return [], [{"line": 0, "message": f"The file is larger than {MAX_BYTES // 1024} KB."}]
    if "\x00" in text:
        return [], [{"line": 0, "message": "This is not a text file."}]
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader, [])]
    except csv.Error as exc:
        return [], [{"line": 1, "message": f"Unreadable header: {exc}."}]
    missing = [c for c in columns if c not in header and c != "description"]
    if not header or missing:
        return [], [
            {"line": 1, "message": f"The header must name the columns {', '.join(columns)}."}
        ]
    lines = []
    try:
        for row in reader:
            if reader.line_num > MAX_LINES + 1:
                return [], [{"line": reader.line_num, "message": f"At most {MAX_LINES} lines."}]
            if not any(cell.strip() for cell in row):
                continue
            values = {
                name: (row[i].strip() if i < len(row) else "") for i, name in enumerate(header)
            }
            lines.append((reader.line_num, values))
    except csv.Error as exc:
        return [], [{"line": reader.line_num, "message": f"Unreadable line: {exc}."}]
    if not lines:
        return [], [{"line": 0, "message": "The file has no lines to import."}]
    return lines, []


def _finish(result: ImportResult, apply: bool) -> ImportResult:
    for row in result.rows:
        row.pop("key", None)
    if result.errors:
        if apply:
            raise ValidationFailed(
                _l(
                    "%(count)s line(s) are not valid; nothing was imported.",
                    count=len(result.errors),
                ),
                errors={"lines": [f"line {e['line']}: {e['message']}" for e in result.errors]},
                lines=result.errors,
            )
        return result
    result.applied = apply
    return result


def import_roles(session: Session, actor: User, text: str, *, apply: bool) -> ImportResult:
    """Check (and with ``apply``, write) a CSV of roles; nothing is written if a line is bad."""
    require(actor, Permission.ACCESS_MANAGE)
    result = ImportResult("roles")
    lines, result.errors = _read(text, ROLE_COLUMNS)
    modules = {m.code: m for m in session.scalars(select(Module))}
    existing = {r.code: r for r in session.scalars(select(ErpRole))}
    seen: set[str] = set()
    for number, values in lines:
        problems = []
        code = values.get("code", "").upper()
        try:
            code = catalogue._check_code(code)
        except ValidationFailed:
            problems.append(f"code '{code}' is not a valid role code")
        if code in seen:
            problems.append(f"code {code} appears twice in the file")
        seen.add(code)
        if values.get("module", "").upper() not in modules:
            problems.append(f"no ERP module '{values.get('module', '')}'")
        if not values.get("name"):
            problems.append("the name is empty")
        sensitivity = values.get("sensitivity", "").lower() or "standard"
        if sensitivity not in SENSITIVITIES:
            problems.append(f"sensitivity must be one of {', '.join(SENSITIVITIES)}")
        if problems:
            result.errors.append({"line": number, "message": "; ".join(problems)})
            continue
        result.rows.append(
            {
                "line": number,
                "action": "update" if code in existing else "create",
                "code": code,
                "module": values["module"].upper(),
                "name": values["name"][:200],
                "sensitivity": sensitivity,
                "description": values.get("description") or None,
            }
        )
    if result.errors or not apply:
        return _finish(result, apply)
    for row in result.rows:
        values = {k: row[k] for k in ("name", "sensitivity", "description", "module")}
        if row["action"] == "update":
            catalogue.update_role(session, actor, existing[row["code"]], values)
        else:
            catalogue.create_role(session, actor, code=row["code"], **values)
    audit.record(
        session,
        actor,
        "access_import",
        "roles",
        "import",
        created=result.created,
        updated=result.updated,
    )
    return _finish(result, apply)


def _rule_codes(cell: str) -> list[str]:
    parts = cell.replace(";", "|").split("|")
    return list(dict.fromkeys(p.strip().upper() for p in parts if p.strip()))


def import_sod_rules(session: Session, actor: User, text: str, *, apply: bool) -> ImportResult:
    """Check (and with ``apply``, write) a CSV of SoD rules; all lines or none."""
    require(actor, Permission.ACCESS_MANAGE)
    result = ImportResult("sod_rules")
    lines, result.errors = _read(text, RULE_COLUMNS)
    roles = {r.code: r for r in session.scalars(select(ErpRole))}
    rules = {r.role_key: r for r in session.scalars(select(SodRule))}
    seen: set[str] = set()
    for number, values in lines:
        problems = []
        codes = _rule_codes(values.get("roles", ""))
        unknown = [c for c in codes if c not in roles]
        if unknown:
            problems.append(f"unknown roles {', '.join(unknown)}")
        elif len(codes) < 2:
            problems.append("a rule needs two different roles or more")
        severity = values.get("severity", "").lower()
        if severity not in SEVERITIES:
            problems.append(f"severity must be one of {', '.join(SEVERITIES)}")
        if not values.get("description"):
            problems.append("the description (the risk) is empty")
        key = catalogue.role_key([roles[c] for c in codes]) if not unknown and codes else ""
        if key and key in seen:
            problems.append("the same roles appear on an earlier line")
        seen.add(key)
        if problems:
            result.errors.append({"line": number, "message": "; ".join(problems)})
            continue
        result.rows.append(
            {
                "line": number,
                "action": "update" if key in rules else "create",
                "roles": codes,
                "severity": severity,
                "description": values["description"],
                "key": key,
            }
        )
    if result.errors or not apply:
        return _finish(result, apply)
    for row in result.rows:
        if row["action"] == "update":
            catalogue.update_sod_rule(
                session,
                actor,
                rules[row["key"]],
                {"severity": row["severity"], "description": row["description"]},
            )
        else:
            catalogue.create_sod_rule(
                session,
                actor,
                roles=row["roles"],
                severity=row["severity"],
                description=row["description"],
            )
    audit.record(
        session,
        actor,
        "access_import",
        "sod_rules",
        "import",
        created=result.created,
        updated=result.updated,
    )
    return _finish(result, apply)
