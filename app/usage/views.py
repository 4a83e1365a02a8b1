"""Usage pages: the CSV back-fill (admins) with its report, and the ERP accounts that send
usage but match no Steward user (a finding for admins; auditors read it too)."""

from __future__ import annotations

import io

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core import forms
from app.core.db import db
from app.core.edge import whole_number
from app.core.errors import StewardError
from app.core.navigation import EntityPage, NavItem, add_entity_page, add_nav
from app.core.permissions import Permission
from app.identity.auth import current_actor
from app.usage import service
from app.usage.backfill import import_csv

blueprint = Blueprint("usage", __name__)


@blueprint.app_template_filter("rejection_reason")
def rejection_reason(reason: str) -> str:
    """Why an event was rejected (stored as the API answers it, in English), in words."""
    return str(service.REJECTIONS.in_words(reason))


add_nav(NavItem(_l("Usage import"), "usage.import_page", Permission.TOKEN_MANAGE, order=86))
add_nav(
    NavItem(_l("Unknown ERP accounts"), "usage.unknown_accounts", Permission.USAGE_VIEW, order=87)
)
add_entity_page(
    EntityPage(
        "usage_import",
        _l("Usage import"),
        "usage.import_report",
        Permission.TOKEN_MANAGE,
        argument="import_id",
    )
)

LABELS = {"file": _l("CSV file")}


@blueprint.route("/usage/import", methods=["GET", "POST"])
@forms.returns_to("usage.import_page")
def import_page():
    actor = current_actor()
    service.require_ingest(actor)
    if request.method == "POST":
        return _import(actor)
    return render_template(
        "usage/import.html",
        draft=forms.draft(),
        labels=LABELS,
        imports=service.recent_imports(db.session, actor),
        fields=service.FIELDS,
        limit=forms.upload_limit_text(),
    )


def _import(actor):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return forms.refuse(
            message=_("Choose a CSV file to import."),
            errors={"file": [_("No file was chosen.")]},
        )
    text = io.TextIOWrapper(upload.stream, encoding="utf-8-sig", errors="replace", newline="")
    try:
        lines, result = import_csv(db.session, actor, text)
        record = service.record_import(db.session, actor, upload.filename, lines, result)
    except StewardError as exc:
        db.session.rollback()
        return forms.refuse(exc, message=_("Nothing was imported."))
    db.session.flush()
    return forms.accepted(
        url_for("usage.import_report", import_id=record.id),
        _(
            "%(accepted)s events imported, %(duplicates)s already known, %(rejected)s lines "
            "rejected.",
            accepted=result.accepted,
            duplicates=result.duplicates,
            rejected=len(result.rejected),
        ),
    )


@blueprint.get("/usage/imports/<int:import_id>")
def import_report(import_id: int):
    record = service.get_import(db.session, current_actor(), import_id)
    if record is None:
        abort(404)
    return render_template("usage/report.html", record=record)


@blueprint.get("/usage/unknown-accounts")
def unknown_accounts():
    limit = whole_number(request.args.get("limit"), maximum=200) or 50
    page = service.unknown_accounts(
        db.session, current_actor(), cursor=request.args.get("cursor") or None, limit=limit
    )
    return render_template("usage/unknown_accounts.html", page=page)
