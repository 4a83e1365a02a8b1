"""Access rights API: catalogue and imports, requests and approvals, grants, review campaigns."""

from __future__ import annotations

from flask import Response, request
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from sqlalchemy import select

from app.access import approvals, campaigns, catalogue, grants, imports, requesting, service
from app.access.lifecycle import UNDECIDED
from app.access.models import (
    AccessApproval,
    AccessGrant,
    AccessRequest,
    AccessRequestRole,
    CampaignItem,
    ErpRole,
    ReviewCampaign,
    SodRule,
)
from app.access.schemas import (
    ApprovalCreateSchema,
    BulkDecisionResultSchema,
    BulkDecisionSchema,
    BulkRevokeResultSchema,
    BulkRevokeSchema,
    CampaignCreateSchema,
    CampaignItemPage,
    CampaignItemSchema,
    CampaignPage,
    CampaignSchema,
    CatalogueImportSchema,
    ErpRolePage,
    ErpRoleSchema,
    ExceptionCreateSchema,
    GrantListArgs,
    GrantPage,
    GrantSchema,
    ImportSchema,
    ItemListArgs,
    RequestCreateSchema,
    RequestListArgs,
    RequestPage,
    RequestSchema,
    ReviewDecisionSchema,
    RevokeSchema,
    RoleCreateSchema,
    RoleListArgs,
    RolePatchSchema,
    SodCheckResultSchema,
    SodCheckSchema,
    SodRuleCreateSchema,
    SodRulePage,
    SodRulePatchSchema,
    SodRuleSchema,
    campaign_to_dict,
    grant_to_dict,
    item_to_dict,
    request_to_dict,
    role_to_dict,
    rule_to_dict,
)
from app.catalogue.models import Module
from app.core.db import db
from app.core.errors import NotFound
from app.core.etag import check_if_match, etag_for
from app.core.pagination import SortKey, paginate
from app.core.permissions import Permission, guard_writes, module_scope, require, require_any
from app.core.schemas import PageArgs
from app.identity.auth import current_actor
from app.identity.models import User

blp = Blueprint("access_api", __name__, description="ERP access rights (ACC-...)")
guard_writes(
    blp,
    (
        Permission.ACCESS_REQUEST,
        Permission.ACCESS_APPROVE,
        Permission.ACCESS_REVIEW,
        Permission.ACCESS_MANAGE,
        Permission.ACCESS_PROVISION,
    ),
)


def blueprints() -> list[Blueprint]:
    return [blp]


def _etag(kind: str, key, version: int) -> dict[str, str]:
    return {"ETag": etag_for(kind, key, version)}


def _if_match_when_given(current: str) -> None:
    if request.headers.get("If-Match"):
        check_if_match(request.headers["If-Match"], current)


# --- catalogue --------------------------------------------------------------------------------


def _may_read_catalogue() -> User:
    actor = current_actor()
    require_any(actor, [Permission.ACCESS_REQUEST, Permission.ACCESS_VIEW])
    return actor


@blp.route("/access/roles")
class Roles(MethodView):
    @blp.arguments(RoleListArgs, location="query")
    @blp.response(200, ErpRolePage)
    def get(self, args: dict):
        """The ERP role catalogue (everyone who may request access reads it)."""
        _may_read_catalogue()
        stmt = select(ErpRole)
        if args.get("module"):
            stmt = stmt.join(Module, Module.id == ErpRole.module_id).where(
                Module.code == args["module"].upper()
            )
        if args.get("sensitivity"):
            stmt = stmt.where(ErpRole.sensitivity == args["sensitivity"])
        page = paginate(
            db.session,
            stmt,
            [SortKey(ErpRole.code, lambda r: r.code)],
            args["cursor"],
            args["limit"],
        )
        return {"items": [role_to_dict(r) for r in page.items], "next_cursor": page.next_cursor}

    @blp.arguments(RoleCreateSchema, example=RoleCreateSchema.Meta.example)
    @blp.response(201, ErpRoleSchema)
    def post(self, body: dict):
        """Add a role (admins); sensitivity standard, sensitive or critical."""
        role = catalogue.create_role(db.session, current_actor(), **body)
        db.session.commit()
        return role_to_dict(role), 201, _etag("role", role.code, role.version)


@blp.route("/access/roles/<code>")
class RoleItem(MethodView):
    @blp.response(200, ErpRoleSchema)
    def get(self, code: str):
        """One role."""
        _may_read_catalogue()
        role = service.role_by_code(db.session, code.upper())
        return role_to_dict(role), 200, _etag("role", role.code, role.version)

    @blp.arguments(RolePatchSchema)
    @blp.response(200, ErpRoleSchema)
    def patch(self, body: dict, code: str):
        """Change a role (admins); needs If-Match (428 without, 412 when stale)."""
        actor = current_actor()
        require(actor, Permission.ACCESS_MANAGE)
        role = service.role_by_code(db.session, code.upper())
        check_if_match(request.headers.get("If-Match"), etag_for("role", role.code, role.version))
        catalogue.update_role(db.session, actor, role, body)
        db.session.commit()
        return role_to_dict(role), 200, _etag("role", role.code, role.version)


@blp.route("/access/sod-rules")
class SodRules(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, SodRulePage)
    def get(self, args: dict):
        """Segregation-of-duties rules."""
        _may_read_catalogue()
        page = paginate(
            db.session,
            select(SodRule),
            [SortKey(SodRule.id, lambda r: r.id)],
            args["cursor"],
            args["limit"],
        )
        return {"items": [rule_to_dict(r) for r in page.items], "next_cursor": page.next_cursor}

    @blp.arguments(SodRuleCreateSchema, example=SodRuleCreateSchema.Meta.example)
    @blp.response(201, SodRuleSchema)
    def post(self, body: dict):
        """Add a rule: two or more roles that one person must not hold together (admins)."""
        rule = catalogue.create_sod_rule(db.session, current_actor(), **body)
        db.session.commit()
        return rule_to_dict(rule), 201, _etag("sod-rule", rule.id, rule.version)


@blp.route("/access/sod-rules/<int:rule_id>")
class SodRuleItem(MethodView):
    @blp.response(200, SodRuleSchema)
    def get(self, rule_id: int):
        """One rule."""
        _may_read_catalogue()
        rule = catalogue.get_sod_rule(db.session, rule_id)
        return rule_to_dict(rule), 200, _etag("sod-rule", rule.id, rule.version)

    @blp.arguments(SodRulePatchSchema)
    @blp.response(200, SodRuleSchema)
    def patch(self, body: dict, rule_id: int):
        """Change a rule's severity, description or whether it applies; needs If-Match."""
        actor = current_actor()
        require(actor, Permission.ACCESS_MANAGE)
        rule = catalogue.get_sod_rule(db.session, rule_id)
        check_if_match(request.headers.get("If-Match"), etag_for("sod-rule", rule.id, rule.version))
        catalogue.update_sod_rule(db.session, actor, rule, body)
        db.session.commit()
        return rule_to_dict(rule), 200, _etag("sod-rule", rule.id, rule.version)


@blp.route("/access/sod-check")
class SodCheck(MethodView):
    @blp.arguments(SodCheckSchema)
    @blp.response(200, SodCheckResultSchema)
    def post(self, body: dict):
        """The SoD conflicts a request for these roles would raise (nothing is written)."""
        actor = current_actor()
        _, _, conflicts = requesting.check_roles(db.session, actor, body.get("user"), body["roles"])
        return {"sod_conflicts": conflicts}


def _import(kind: str, body: dict):
    actor = current_actor()
    run = imports.import_roles if kind == "roles" else imports.import_sod_rules
    result = run(db.session, actor, body["csv"], apply=body["apply"])
    if result.applied:
        db.session.commit()
    else:
        db.session.rollback()
    return result.as_dict()


@blp.route("/access/imports/roles")
class RoleImport(MethodView):
    @blp.arguments(ImportSchema, example=ImportSchema.Meta.example)
    @blp.response(200, CatalogueImportSchema)
    def post(self, body: dict):
        """Import roles from CSV (module,code,name,sensitivity,description): preview, or apply.

        Applying a file with any bad line answers 422 with the errors by line; nothing is
        imported.
        """
        return _import("roles", body)


@blp.route("/access/imports/sod-rules")
class SodRuleImport(MethodView):
    @blp.arguments(ImportSchema)
    @blp.response(200, CatalogueImportSchema)
    def post(self, body: dict):
        """Import SoD rules from CSV (roles separated by '|',severity,description)."""
        return _import("sod_rules", body)


# --- requests ---------------------------------------------------------------------------------


def _request_response(access_request: AccessRequest, status: int = 200):
    return (
        request_to_dict(access_request),
        status,
        _etag("access-request", access_request.ref, access_request.version),
    )


@blp.route("/access/requests")
class Requests(MethodView):
    @blp.arguments(RequestListArgs, location="query")
    @blp.response(200, RequestPage)
    def get(self, args: dict):
        """Requests you may see, newest first: yours, and those of the modules you view."""
        actor = current_actor()
        require_any(actor, [Permission.ACCESS_REQUEST, Permission.ACCESS_VIEW])
        stmt = service.visible_requests(db.session, actor)
        if args.get("status"):
            stmt = stmt.where(AccessRequest.status == args["status"])
        if args["view"] == "mine":
            stmt = stmt.where(
                (AccessRequest.requester_id == actor.id) | (AccessRequest.subject_id == actor.id)
            )
        elif args["view"] == "to_approve":
            stmt = _awaiting(stmt, actor)
        page = paginate(
            db.session,
            stmt,
            [SortKey(AccessRequest.id, lambda r: r.id, descending=True)],
            args["cursor"],
            args["limit"],
        )
        return {"items": [request_to_dict(r) for r in page.items], "next_cursor": page.next_cursor}

    @blp.arguments(RequestCreateSchema, example=RequestCreateSchema.Meta.example)
    @blp.response(201, RequestSchema)
    def post(self, body: dict):
        """Ask for ERP roles (for yourself; admins and module approvers for someone else).

        The answer says ``pending_approval``, or ``needs_exception`` with the SoD conflicts.
        """
        created = requesting.submit_request(db.session, current_actor(), **body)
        db.session.commit()
        return _request_response(created, 201)


def _awaiting(stmt, actor: User):
    """Undecided requests of the modules ``actor`` approves, not theirs, not decided by them."""
    scope = module_scope(actor, Permission.ACCESS_APPROVE)
    stmt = stmt.where(
        AccessRequest.status.in_(list(UNDECIDED)),
        AccessRequest.requester_id != actor.id,
        AccessRequest.subject_id != actor.id,
        ~AccessRequest.id.in_(
            select(AccessApproval.request_id).where(AccessApproval.approver_id == actor.id)
        ),
    )
    if scope is None:
        return stmt
    return stmt.where(
        AccessRequest.id.in_(
            select(AccessRequestRole.request_id)
            .join(ErpRole, ErpRole.id == AccessRequestRole.role_id)
            .where(ErpRole.module_id.in_(scope or {0}))
        )
    )


@blp.route("/access/requests/<ref>")
class RequestItem(MethodView):
    @blp.response(200, RequestSchema)
    def get(self, ref: str):
        """One request (404 unless it is yours or of a module you view)."""
        return _request_response(service.get_request(db.session, current_actor(), ref))


@blp.route("/access/requests/<ref>/exception")
class RequestException(MethodView):
    @blp.arguments(ExceptionCreateSchema)
    @blp.response(200, RequestSchema)
    def post(self, body: dict, ref: str):
        """File an SoD exception (mitigating control, expiry) for a blocked request; an admin
        must then approve it, on top of the normal approvals."""
        actor = current_actor()
        found = service.get_request(db.session, actor, ref)
        _if_match_when_given(etag_for("access-request", found.ref, found.version))
        requesting.file_exception(db.session, actor, found, **body)
        db.session.commit()
        return _request_response(found)


@blp.route("/access/requests/<ref>/approvals")
class RequestApprovals(MethodView):
    @blp.arguments(ApprovalCreateSchema)
    @blp.response(201, RequestSchema)
    @blp.alt_response(409, description="Decided already, or blocked until an SoD exception")
    def post(self, body: dict, ref: str):
        """Approve or reject (a comment is required to reject). 403 for the requester or the
        person the access is for, whatever their roles; 409 once decided."""
        actor = current_actor()
        found = service.get_request(db.session, actor, ref)
        _if_match_when_given(etag_for("access-request", found.ref, found.version))
        approvals.decide(db.session, actor, found, **body)
        db.session.commit()
        return _request_response(found, 201)


@blp.route("/access/requests/<ref>/cancel")
class RequestCancel(MethodView):
    @blp.response(200, RequestSchema)
    def post(self, ref: str):
        """Withdraw your undecided request."""
        actor = current_actor()
        found = service.get_request(db.session, actor, ref)
        requesting.cancel_request(db.session, actor, found)
        db.session.commit()
        return _request_response(found)


# --- grants -----------------------------------------------------------------------------------


@blp.route("/access/grants")
class Grants(MethodView):
    @blp.arguments(GrantListArgs, location="query")
    @blp.response(200, GrantPage)
    def get(self, args: dict):
        """Grants you may see (yours; those of the modules you view), newest first."""
        actor = current_actor()
        require_any(actor, [Permission.ACCESS_REQUEST, Permission.ACCESS_VIEW])
        page = paginate(
            db.session,
            service.grant_query(db.session, actor, args),
            [SortKey(AccessGrant.id, lambda g: g.id, descending=True)],
            args["cursor"],
            args["limit"],
        )
        return {"items": [grant_to_dict(g) for g in page.items], "next_cursor": page.next_cursor}


@blp.route("/access/grants/revoke")
class GrantsBulkRevoke(MethodView):
    @blp.arguments(BulkRevokeSchema)
    @blp.response(200, BulkRevokeResultSchema)
    def post(self, body: dict):
        """Revoke several grants at once, e.g. the dormant ones (admins): all or none."""
        ended = grants.revoke_many(db.session, current_actor(), body["ids"], reason=body["reason"])
        db.session.commit()
        return {"revoked": [g.id for g in ended]}


@blp.route("/access/grants/<int:grant_id>")
class GrantItem(MethodView):
    @blp.response(200, GrantSchema)
    def get(self, grant_id: int):
        """One grant (its holder, or a viewer of its module)."""
        grant = service.get_grant(db.session, current_actor(), grant_id)
        return grant_to_dict(grant), 200, _etag("grant", grant.id, grant.version)


@blp.route("/access/grants/<int:grant_id>/provisioned")
class GrantProvisioned(MethodView):
    @blp.response(200, GrantSchema)
    def post(self, grant_id: int):
        """The ERP confirms the role exists there (service token ``access:provision``, or an
        admin): the grant becomes active."""
        actor = current_actor()
        require_any(actor, [Permission.ACCESS_MANAGE, Permission.ACCESS_PROVISION])
        grant = db.session.get(AccessGrant, grant_id)
        if grant is None:
            raise NotFound(_l("No such grant."))
        grants.provision(db.session, actor, grant)
        db.session.commit()
        return grant_to_dict(grant), 200, _etag("grant", grant.id, grant.version)


@blp.route("/access/grants/<int:grant_id>/revoke")
class GrantRevoke(MethodView):
    @blp.arguments(RevokeSchema)
    @blp.response(200, GrantSchema)
    def post(self, body: dict, grant_id: int):
        """End a grant now (admins), with the reason; the ERP is asked to remove it."""
        actor = current_actor()
        require(actor, Permission.ACCESS_MANAGE)
        grant = service.get_grant(db.session, actor, grant_id)
        _if_match_when_given(etag_for("grant", grant.id, grant.version))
        grants.revoke(db.session, actor, grant, reason=body["reason"])
        db.session.commit()
        return grant_to_dict(grant), 200, _etag("grant", grant.id, grant.version)


# --- campaigns --------------------------------------------------------------------------------


def _campaign_reader() -> User:
    actor = current_actor()
    require_any(actor, [Permission.ACCESS_VIEW, Permission.ACCESS_REVIEW])
    return actor


@blp.route("/access/campaigns")
class Campaigns(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, CampaignPage)
    def get(self, args: dict):
        """Review campaigns, newest first (reviewers, admins, auditors)."""
        _campaign_reader()
        page = paginate(
            db.session,
            select(ReviewCampaign),
            [SortKey(ReviewCampaign.id, lambda c: c.id, descending=True)],
            args["cursor"],
            args["limit"],
        )
        return {
            "items": [campaign_to_dict(db.session, c) for c in page.items],
            "next_cursor": page.next_cursor,
        }

    @blp.arguments(CampaignCreateSchema, example=CampaignCreateSchema.Meta.example)
    @blp.response(201, CampaignSchema)
    def post(self, body: dict):
        """Open a campaign (admins): every active grant in scope becomes an item."""
        campaign = campaigns.open_campaign(db.session, current_actor(), **body)
        db.session.commit()
        return campaign_to_dict(db.session, campaign), 201


@blp.route("/access/campaigns/<int:campaign_id>")
class CampaignView(MethodView):
    @blp.response(200, CampaignSchema)
    def get(self, campaign_id: int):
        """A campaign with its progress (decided items, per reviewer)."""
        actor = _campaign_reader()
        return campaign_to_dict(db.session, campaigns.get_campaign(db.session, actor, campaign_id))


@blp.route("/access/campaigns/<int:campaign_id>/items")
class CampaignItems(MethodView):
    @blp.arguments(ItemListArgs, location="query")
    @blp.response(200, CampaignItemPage)
    def get(self, args: dict, campaign_id: int):
        """The items: holder, role, sensitivity, when, why and by whom it was granted, last use."""
        actor = _campaign_reader()
        campaign = campaigns.get_campaign(db.session, actor, campaign_id)
        stmt = campaigns.items_query(campaign)
        if args.get("undecided"):
            stmt = stmt.where(CampaignItem.decision.is_(None))
        if args.get("mine"):
            stmt = stmt.where(
                CampaignItem.id.in_(campaigns.reviewable_ids(db.session, actor, campaign) or {0})
            )
        page = paginate(
            db.session,
            stmt,
            [SortKey(CampaignItem.id, lambda i: i.id)],
            args["cursor"],
            args["limit"],
        )
        return {"items": [item_to_dict(i) for i in page.items], "next_cursor": page.next_cursor}


@blp.route("/access/campaigns/<int:campaign_id>/items/<int:item_id>/decision")
class CampaignItemDecision(MethodView):
    @blp.arguments(ReviewDecisionSchema)
    @blp.response(200, CampaignItemSchema)
    def post(self, body: dict, campaign_id: int, item_id: int):
        """Certify or revoke one item (a comment is required to revoke)."""
        actor = _campaign_reader()
        campaign = campaigns.get_campaign(db.session, actor, campaign_id)
        (item,) = campaigns.decide_items(db.session, actor, campaign, [item_id], **body)
        db.session.commit()
        return item_to_dict(item)


@blp.route("/access/campaigns/<int:campaign_id>/decisions")
class CampaignBulkDecision(MethodView):
    @blp.arguments(BulkDecisionSchema)
    @blp.response(200, BulkDecisionResultSchema)
    def post(self, body: dict, campaign_id: int):
        """Certify or revoke many items at once: all of them, or none."""
        actor = _campaign_reader()
        campaign = campaigns.get_campaign(db.session, actor, campaign_id)
        items = campaigns.decide_items(
            db.session,
            actor,
            campaign,
            body["items"],
            decision=body["decision"],
            comment=body["comment"],
        )
        db.session.commit()
        return {"decided": [i.id for i in items]}


@blp.route("/access/campaigns/<int:campaign_id>/close")
class CampaignClose(MethodView):
    @blp.response(200, CampaignSchema)
    def post(self, campaign_id: int):
        """Close (admins): revocations are applied; the evidence is final."""
        actor = _campaign_reader()
        campaign = campaigns.get_campaign(db.session, actor, campaign_id)
        campaigns.close_campaign(db.session, actor, campaign)
        db.session.commit()
        return campaign_to_dict(db.session, campaign)


@blp.route("/access/campaigns/<int:campaign_id>/evidence.csv")
class CampaignEvidence(MethodView):
    @blp.response(200, {"type": "string"}, content_type="text/csv")
    def get(self, campaign_id: int):
        """Every item, decision, reviewer, time and comment, as CSV (auditors)."""
        actor = current_actor()
        require(actor, Permission.ACCESS_VIEW)
        campaign = campaigns.get_campaign(db.session, actor, campaign_id)
        body = campaigns.evidence_csv(db.session, campaign)
        return Response(
            body,
            mimetype="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="campaign-{campaign.id}-evidence.csv"'
            },
        )
