"""Access-rights pages: request access (with a live SoD check), my access, the approvals
inbox, a request, the grants list (bulk revoke of dormant grants), the role and SoD catalogue
with CSV import, review campaigns (bulk decisions, progress, printable evidence).

Every form answers with a redirect (Post/Redirect/Get, ``app.core.forms``); the services check
the permission of every action, the pages only decide what to offer.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from app.access import approvals, campaigns, catalogue, grants, imports, requesting, service
from app.access.lifecycle import UNDECIDED, GrantStatus
from app.access.models import (
    SENSITIVITIES,
    SEVERITIES,
    AccessApproval,
    AccessGrant,
    AccessRequest,
    AccessRequestRole,
    CampaignItem,
    ErpRole,
    ReviewCampaign,
    SodRule,
)
from app.access.schemas import item_to_dict
from app.catalogue.models import Module
from app.core import forms
from app.core.db import db
from app.core.edge import whole_number
from app.core.errors import StewardError, ValidationFailed
from app.core.navigation import EntityPage, NavItem, add_entity_page, add_nav
from app.core.pagination import SortKey, paginate
from app.core.permissions import Permission, can, module_scope, require, require_any
from app.identity.auth import current_actor
from app.identity.models import User

blueprint = Blueprint("access", __name__)

add_nav(NavItem(_l("Request access"), "access.new_request", Permission.ACCESS_REQUEST, order=40))
add_nav(NavItem(_l("My access"), "access.my_access", Permission.ACCESS_REQUEST, order=41))
add_nav(
    NavItem(_l("Access approvals"), "access.approvals_inbox", Permission.ACCESS_APPROVE, order=42)
)
add_nav(NavItem(_l("Grants"), "access.grants_page", Permission.ACCESS_VIEW, order=43))
add_nav(NavItem(_l("Access reviews"), "access.campaigns_page", Permission.ACCESS_REVIEW, order=44))
add_nav(
    NavItem(
        _l("Access reviews"),
        "access.campaigns_page",
        Permission.ACCESS_VIEW,
        order=44,
        unless=Permission.ACCESS_REVIEW,
    )
)
add_nav(NavItem(_l("Roles and SoD"), "access.catalogue_page", Permission.ACCESS_MANAGE, order=85))
add_entity_page(
    EntityPage("access_request", _l("Access request"), "access.request_page", argument="ref")
)
add_entity_page(
    EntityPage(
        "access_campaign", _l("Access review"), "access.campaign_page", argument="campaign_id"
    )
)

STATUS = {
    "needs_exception": _l("Blocked: needs an SoD exception"),
    "pending_approval": _l("Awaiting approval"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "cancelled": _l("Cancelled"),
    "pending_provisioning": _l("Being set up in the ERP"),
    "active": _l("Active"),
    "expired": _l("Expired"),
    "revoked": _l("Revoked"),
    "open": _l("Open"),
    "closed": _l("Closed"),
    "pending": _l("Awaiting an admin"),
    "withdrawn": _l("Withdrawn"),
    "certify": _l("Certified"),
    "revoke": _l("Revoke"),
    "undecided": _l("Undecided"),
}
SENSITIVITY = {
    "standard": _l("standard"),
    "sensitive": _l("sensitive"),
    "critical": _l("critical"),
}
SEVERITY = {
    "low": _l("low"),
    "medium": _l("medium"),
    "high": _l("high"),
    "critical": _l("critical"),
}
LABELS = {
    "roles": _l("Roles"),
    "user": _l("For whom"),
    "justification": _l("Why"),
    "end_date": _l("Until"),
    "mitigating_control": _l("Mitigating control"),
    "expires_on": _l("Exception ends on"),
    "comment": _l("Comment"),
    "reason": _l("Reason"),
    "code": _l("Code"),
    "name": _l("Name"),
    "module": _l("Module"),
    "modules": _l("Modules"),
    "sensitivity": _l("Sensitivity"),
    "severity": _l("Severity"),
    "description": _l("Description"),
    "deadline": _l("Deadline"),
    "lines": _l("Lines"),
}


@blueprint.app_context_processor
def _access_words() -> dict[str, Any]:
    return {
        "access_status": STATUS,
        "access_sensitivity": SENSITIVITY,
        "access_severity": SEVERITY,
        "access_labels": LABELS,
    }


def _date(name: str, *, required: bool = False) -> date | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        if required:
            raise ValidationFailed(_("A date is required."), errors={name: [_("Required.")]})
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            _("That is not a date."), errors={name: [_("A date like 2026-12-31.")]}
        ) from None


def _refused(exc: StewardError, **kwargs):
    db.session.rollback()
    return forms.refuse(exc, **kwargs)


# --- request access ---------------------------------------------------------------------------


def _catalogue_by_module() -> list[tuple[Module, list[ErpRole]]]:
    roles = list(
        db.session.scalars(
            select(ErpRole)
            .where(ErpRole.active.is_(True))
            .order_by(ErpRole.module_id, ErpRole.code)
        )
    )
    grouped: dict[int, tuple[Module, list[ErpRole]]] = {}
    for role in roles:
        grouped.setdefault(role.module_id, (role.module, []))[1].append(role)
    return sorted(grouped.values(), key=lambda pair: pair[0].code)


def _may_ask_for_others(actor: User) -> bool:
    return can(actor, Permission.ACCESS_MANAGE) or bool(
        module_scope(actor, Permission.ACCESS_APPROVE) != set()
    )


@blueprint.route("/access/request", methods=["GET", "POST"])
@forms.returns_to("access.new_request")
def new_request():
    actor = current_actor()
    require(actor, Permission.ACCESS_REQUEST)
    if request.method == "POST":
        try:
            created = requesting.submit_request(
                db.session,
                actor,
                roles=request.form.getlist("roles"),
                justification=request.form.get("justification", ""),
                user=(request.form.get("user") or "").strip() or None,
                end_date=_date("end_date"),
            )
            db.session.commit()
        except StewardError as exc:
            ticked = ",".join(request.form.getlist("roles"))
            return _refused(exc, values={**request.form.to_dict(), "roles": ticked})
        message = (
            _(
                "Request %(ref)s is blocked by a segregation-of-duties conflict: "
                "file an exception.",
                ref=created.ref,
            )
            if created.status == "needs_exception"
            else _("Request %(ref)s was sent for approval.", ref=created.ref)
        )
        return forms.accepted(url_for("access.request_page", ref=created.ref), message)
    chosen = request.args.getlist("roles")
    conflicts = _check(actor, request.args.get("user"), chosen) if chosen else None
    return render_template(
        "access/new_request.html",
        catalogue=_catalogue_by_module(),
        chosen=set(chosen),
        conflicts=conflicts,
        for_others=_may_ask_for_others(actor),
        draft=forms.draft(),
    )


def _check(actor: User, email: str | None, codes: list[str]) -> list[dict] | str:
    try:
        return requesting.check_roles(db.session, actor, (email or "").strip() or None, codes)[2]
    except StewardError as exc:
        return exc.message


@blueprint.route("/access/request/check")
def sod_check_fragment():
    """The SoD conflicts of the roles ticked so far (the request page fetches this live)."""
    actor = current_actor()
    require(actor, Permission.ACCESS_REQUEST)
    conflicts = _check(actor, request.args.get("user"), request.args.getlist("roles"))
    return render_template("access/_conflicts.html", conflicts=conflicts)


# --- requests ---------------------------------------------------------------------------------


def _page_of_requests(stmt, limit: int = 50):
    return paginate(
        db.session,
        stmt,
        [SortKey(AccessRequest.id, lambda r: r.id, descending=True)],
        request.args.get("cursor"),
        limit,
    )


@blueprint.route("/access/mine")
def my_access():
    actor = current_actor()
    require(actor, Permission.ACCESS_REQUEST)
    held = list(
        db.session.scalars(
            select(AccessGrant)
            .where(AccessGrant.user_id == actor.id)
            .order_by(AccessGrant.id.desc())
        )
    )
    mine = or_(AccessRequest.requester_id == actor.id, AccessRequest.subject_id == actor.id)
    page = _page_of_requests(select(AccessRequest).where(mine))
    return render_template("access/mine.html", grants=held, page=page)


@blueprint.route("/access/approvals")
def approvals_inbox():
    actor = current_actor()
    require(actor, Permission.ACCESS_APPROVE)
    scope = module_scope(actor, Permission.ACCESS_APPROVE)
    stmt = select(AccessRequest).where(
        AccessRequest.status.in_(list(UNDECIDED)),
        AccessRequest.requester_id != actor.id,
        AccessRequest.subject_id != actor.id,
        ~AccessRequest.id.in_(
            select(AccessApproval.request_id).where(AccessApproval.approver_id == actor.id)
        ),
    )
    if scope is not None:
        stmt = stmt.where(
            AccessRequest.id.in_(
                select(AccessRequestRole.request_id)
                .join(ErpRole, ErpRole.id == AccessRequestRole.role_id)
                .where(ErpRole.module_id.in_(scope or {0}))
            )
        )
    return render_template("access/approvals.html", page=_page_of_requests(stmt))


@blueprint.route("/access/requests/<ref>", methods=["GET", "POST"])
@forms.returns_to("access.request_page")
def request_page(ref: str):
    actor = current_actor()
    found = service.get_request(db.session, actor, ref)
    if request.method == "POST":
        return _act_on_request(actor, found)
    parties = requesting.request_parties(actor, found)
    return render_template(
        "access/request.html",
        r=found,
        may_decide=approvals.may_decide(actor, found),
        may_file=found.status == "needs_exception"
        and bool(parties & {requesting.RequestParty.REQUESTER, requesting.RequestParty.ADMIN}),
        may_cancel=found.status in UNDECIDED and requesting.RequestParty.REQUESTER in parties,
        missing=approvals.missing_approvals(found),
        modules={i.role.module_id: i.role.module.code for i in found.items},
        draft=forms.draft(),
    )


def _act_on_request(actor: User, found: AccessRequest):
    action = request.form.get("action", "")
    try:
        if action == "exception":
            requesting.file_exception(
                db.session,
                actor,
                found,
                mitigating_control=request.form.get("mitigating_control", ""),
                expires_on=_date("expires_on", required=True),
            )
            message = _("The exception is filed; an admin must approve it.")
        elif action in ("approve", "reject"):
            approvals.decide(
                db.session, actor, found, decision=action, comment=request.form.get("comment")
            )
            message = _("Your decision is recorded.")
        elif action == "cancel":
            requesting.cancel_request(db.session, actor, found)
            message = _("The request is cancelled.")
        else:
            raise ValidationFailed(_("Choose an action."))
        db.session.commit()
    except StewardError as exc:
        return _refused(exc)
    return forms.accepted(url_for("access.request_page", ref=found.ref), message)


# --- grants -----------------------------------------------------------------------------------


def _grant_filters() -> dict[str, Any]:
    args = {k: (request.args.get(k) or "").strip() or None for k in ("user", "module", "role")}
    status = request.args.get("status")
    args["status"] = status if status in {s.value for s in GrantStatus} else None
    dormant = request.args.get("dormant")
    args["dormant"] = True if dormant == "yes" else False if dormant == "no" else None
    return args


@blueprint.route("/access/grants", methods=["GET", "POST"])
@forms.returns_to("access.grants_page")
def grants_page():
    actor = current_actor()
    require(actor, Permission.ACCESS_VIEW)
    if request.method == "POST" and request.form.get("provision"):
        return _confirm_provisioning(actor, request.form["provision"])
    if request.method == "POST":
        try:
            ids = _ticked("grant")
            if not ids:
                raise ValidationFailed(
                    _("Tick the grants to revoke."), errors={"grant": [_("None ticked.")]}
                )
            ended = grants.revoke_many(db.session, actor, ids, reason=request.form.get("reason"))
            db.session.commit()
        except StewardError as exc:
            return _refused(exc)
        return forms.accepted(
            url_for("access.grants_page", **request.args),
            _("%(n)d grant(s) revoked; the ERP is asked to remove them.", n=len(ended)),
        )
    filters = _grant_filters()
    page = paginate(
        db.session,
        service.grant_query(db.session, actor, filters),
        [SortKey(AccessGrant.id, lambda g: g.id, descending=True)],
        request.args.get("cursor"),
        50,
    )
    return render_template(
        "access/grants.html",
        page=page,
        filters=filters,
        modules=db.session.scalars(select(Module).order_by(Module.code)).all(),
        statuses=[s.value for s in GrantStatus],
        may_revoke=can(actor, Permission.ACCESS_MANAGE),
        may_provision=can(actor, Permission.ACCESS_MANAGE),
        draft=forms.draft(),
    )


def _ticked(field: str) -> list[int]:
    """The ids of the ticked boxes named ``field`` (anything that is not an id is ignored)."""
    return [n for n in map(whole_number, request.form.getlist(field)) if n]


def _confirm_provisioning(actor: User, raw_id: str):
    try:
        grant = service.get_grant(db.session, actor, whole_number(raw_id) or 0)
        grants.provision(db.session, actor, grant)
        db.session.commit()
    except StewardError as exc:
        return _refused(exc)
    return forms.accepted(
        url_for("access.grants_page", **request.args),
        _("%(role)s is active for %(who)s.", role=grant.role.code, who=grant.user.name),
    )


# --- catalogue --------------------------------------------------------------------------------


@blueprint.route("/access/catalogue", methods=["GET", "POST"])
@forms.returns_to("access.catalogue_page")
def catalogue_page():
    actor = current_actor()
    require(actor, Permission.ACCESS_MANAGE)
    preview = None
    if request.method == "POST":
        form = request.form.get("form")
        try:
            if form == "role":
                role = catalogue.create_role(
                    db.session,
                    actor,
                    code=request.form.get("code", ""),
                    name=request.form.get("name", ""),
                    module=request.form.get("module", ""),
                    sensitivity=request.form.get("sensitivity", "standard"),
                    description=request.form.get("description"),
                )
                message = _("Role %(code)s added.", code=role.code)
            elif form == "rule":
                catalogue.create_sod_rule(
                    db.session,
                    actor,
                    roles=request.form.getlist("roles"),
                    severity=request.form.get("severity", ""),
                    description=request.form.get("description", ""),
                )
                message = _("SoD rule added.")
            elif form in ("import-roles", "import-rules"):
                preview = _import(actor, form)
                if not preview.applied:
                    db.session.rollback()
                    return _catalogue(preview=preview, text=_import_text())
                message = _(
                    "Imported: %(created)d created, %(updated)d updated.",
                    created=preview.created,
                    updated=preview.updated,
                )
            else:
                raise ValidationFailed(_("Choose a form."))
            db.session.commit()
        except StewardError as exc:
            return _refused(exc, values={k: v for k, v in request.form.items() if k != "csv"})
        return forms.accepted(url_for("access.catalogue_page"), message)
    return _catalogue()


def _import_text() -> str:
    upload = request.files.get("file")
    if upload and upload.filename:
        return upload.read(imports.MAX_BYTES + 1).decode("utf-8", "replace")
    return request.form.get("csv", "")


def _import(actor: User, form: str) -> imports.ImportResult:
    run = imports.import_roles if form == "import-roles" else imports.import_sod_rules
    return run(db.session, actor, _import_text(), apply=request.form.get("apply") == "yes")


def _catalogue(preview: imports.ImportResult | None = None, text: str = ""):
    return render_template(
        "access/catalogue.html",
        roles=db.session.scalars(select(ErpRole).order_by(ErpRole.code)).all(),
        rules=db.session.scalars(select(SodRule).order_by(SodRule.id)).all(),
        modules=db.session.scalars(select(Module).order_by(Module.code)).all(),
        sensitivities=SENSITIVITIES,
        severities=SEVERITIES,
        preview=preview,
        preview_text=text,
        preview_form=request.form.get("form"),
        draft=forms.draft(),
    )


# --- campaigns --------------------------------------------------------------------------------


def _campaign_reader() -> User:
    actor = current_actor()
    require_any(actor, [Permission.ACCESS_VIEW, Permission.ACCESS_REVIEW])
    return actor


@blueprint.route("/access/campaigns", methods=["GET", "POST"])
@forms.returns_to("access.campaigns_page")
def campaigns_page():
    actor = _campaign_reader()
    if request.method == "POST":
        try:
            campaign = campaigns.open_campaign(
                db.session,
                actor,
                name=request.form.get("name", ""),
                deadline=_date("deadline", required=True),
                modules=request.form.getlist("modules"),
                sensitivities=request.form.getlist("sensitivities"),
                auto_revoke=request.form.get("auto_revoke") == "on",
            )
            db.session.commit()
        except StewardError as exc:
            return _refused(exc)
        return forms.accepted(
            url_for("access.campaign_page", campaign_id=campaign.id), _("The review is open.")
        )
    rows = db.session.scalars(select(ReviewCampaign).order_by(ReviewCampaign.id.desc()).limit(100))
    return render_template(
        "access/campaigns.html",
        campaigns=[(c, campaigns.progress(db.session, c)) for c in rows],
        may_open=can(actor, Permission.ACCESS_MANAGE),
        modules=db.session.scalars(select(Module).order_by(Module.code)).all(),
        sensitivities=SENSITIVITIES,
        draft=forms.draft(),
    )


@blueprint.route("/access/campaigns/<int:campaign_id>", methods=["GET", "POST"])
@forms.returns_to("access.campaign_page")
def campaign_page(campaign_id: int):
    actor = _campaign_reader()
    campaign = campaigns.get_campaign(db.session, actor, campaign_id)
    if request.method == "POST":
        return _act_on_campaign(actor, campaign)
    reviewable = campaigns.reviewable_ids(db.session, actor, campaign)
    rows = []
    for item in db.session.scalars(campaigns.items_query(campaign).order_by(CampaignItem.id)):
        rows.append(
            (item_to_dict(item), item.id in reviewable, campaigns.item_conflicts(db.session, item))
        )
    return render_template(
        "access/campaign.html",
        campaign=campaign,
        rows=rows,
        progress=campaigns.progress(db.session, campaign),
        may_close=campaign.status == "open" and can(actor, Permission.ACCESS_MANAGE),
        may_review=campaign.status == "open" and bool(reviewable),
        draft=forms.draft(),
    )


def _act_on_campaign(actor: User, campaign: ReviewCampaign):
    try:
        if request.form.get("action") == "close":
            campaigns.close_campaign(db.session, actor, campaign)
            message = _("The review is closed; revocations are applied.")
        else:
            ids = _ticked("item")
            if not ids:
                raise ValidationFailed(
                    _("Tick the items to decide."), errors={"item": [_("None ticked.")]}
                )
            decided = campaigns.decide_items(
                db.session,
                actor,
                campaign,
                ids,
                decision=request.form.get("decision", ""),
                comment=request.form.get("comment"),
            )
            message = _("%(n)d item(s) decided.", n=len(decided))
        db.session.commit()
    except StewardError as exc:
        return _refused(exc)
    return forms.accepted(url_for("access.campaign_page", campaign_id=campaign.id), message)


@blueprint.route("/access/campaigns/<int:campaign_id>/evidence")
def campaign_evidence(campaign_id: int):
    actor = current_actor()
    require(actor, Permission.ACCESS_VIEW)
    campaign = campaigns.get_campaign(db.session, actor, campaign_id)
    if request.args.get("format") == "csv":
        return Response(
            campaigns.evidence_csv(db.session, campaign),
            mimetype="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="campaign-{campaign.id}-evidence.csv"'
            },
        )
    return render_template(
        "access/evidence.html",
        campaign=campaign,
        rows=campaigns.evidence_rows(db.session, campaign),
        progress=campaigns.progress(db.session, campaign),
    )
