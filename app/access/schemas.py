"""Shapes of access rights in the API: catalogue, requests, grants, campaigns, imports."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from app.access.approvals import missing_approvals
from app.access.campaigns import ITEM_DECISIONS, progress
from app.access.lifecycle import CampaignStatus, GrantStatus, RequestStatus
from app.access.models import (
    SENSITIVITIES,
    SEVERITIES,
    AccessGrant,
    AccessRequest,
    CampaignItem,
    ErpRole,
    ReviewCampaign,
    SodRule,
)
from app.core.schemas import PageArgs, page_schema

Code = fields.Str(validate=validate.Length(min=1, max=64))
Text = validate.Length(min=1, max=5000)


class RoleCreateSchema(Schema):
    code = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    module = fields.Str(required=True, validate=validate.Length(min=1, max=16))
    sensitivity = fields.Str(load_default="standard", validate=validate.OneOf(SENSITIVITIES))
    description = fields.Str(allow_none=True, validate=validate.Length(max=5000))

    class Meta:
        example = {
            "code": "FIN_PAYMENT",
            "name": "Approve payments",
            "module": "FIN",
            "sensitivity": "critical",
        }


class RolePatchSchema(Schema):
    name = fields.Str(validate=validate.Length(min=1, max=200))
    module = fields.Str(validate=validate.Length(min=1, max=16))
    sensitivity = fields.Str(validate=validate.OneOf(SENSITIVITIES))
    description = fields.Str(allow_none=True, validate=validate.Length(max=5000))
    active = fields.Bool()


class ErpRoleSchema(Schema):
    code = fields.Str()
    name = fields.Str()
    module = fields.Str()
    sensitivity = fields.Str()
    description = fields.Str(allow_none=True)
    active = fields.Bool()


ErpRolePage = page_schema(ErpRoleSchema)


class RoleListArgs(PageArgs):
    module = fields.Str(validate=validate.Length(max=16))
    sensitivity = fields.Str(validate=validate.OneOf(SENSITIVITIES))


class SodRuleCreateSchema(Schema):
    roles = fields.List(
        fields.Str(validate=validate.Length(min=1, max=64)),
        required=True,
        validate=validate.Length(min=2, max=20),
    )
    severity = fields.Str(required=True, validate=validate.OneOf(SEVERITIES))
    description = fields.Str(required=True, validate=Text)

    class Meta:
        example = {
            "roles": ["FIN_SUPPLIER", "FIN_PAYMENT"],
            "severity": "high",
            "description": "Create a supplier and approve its payment: fictitious vendor fraud.",
        }


class SodRulePatchSchema(Schema):
    severity = fields.Str(validate=validate.OneOf(SEVERITIES))
    description = fields.Str(validate=Text)
    active = fields.Bool()


class SodRuleSchema(Schema):
    id = fields.Int()
    roles = fields.List(fields.Str())
    severity = fields.Str()
    description = fields.Str()
    active = fields.Bool()


SodRulePage = page_schema(SodRuleSchema)


class ConflictSchema(Schema):
    roles = fields.List(fields.Str())
    severity = fields.Str()
    description = fields.Str()


class SodCheckSchema(Schema):
    user = fields.Str(validate=validate.Length(min=1, max=320), metadata={"description": "email"})
    roles = fields.List(
        fields.Str(validate=validate.Length(min=1, max=64)),
        required=True,
        validate=validate.Length(max=50),
    )


class SodCheckResultSchema(Schema):
    sod_conflicts = fields.List(fields.Nested(ConflictSchema))


class ImportSchema(Schema):
    csv = fields.Str(required=True, validate=validate.Length(min=1, max=1024 * 1024))
    apply = fields.Bool(load_default=False, metadata={"description": "false: preview only"})

    class Meta:
        example = {
            "csv": "module,code,name,sensitivity,description\nFIN,FIN_VIEW,Read finance,standard,",
            "apply": False,
        }


class ImportLineError(Schema):
    line = fields.Int()
    message = fields.Str()


class CatalogueImportSchema(Schema):
    kind = fields.Str()
    applied = fields.Bool()
    created = fields.Int()
    updated = fields.Int()
    rows = fields.List(fields.Dict())
    errors = fields.List(fields.Nested(ImportLineError))


class RequestCreateSchema(Schema):
    user = fields.Str(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=320),
        metadata={"description": "email of who gets the roles; default the caller"},
    )
    roles = fields.List(
        fields.Str(validate=validate.Length(min=1, max=64)),
        required=True,
        validate=validate.Length(min=1, max=50),
    )
    justification = fields.Str(required=True, validate=Text)
    end_date = fields.Date(load_default=None, allow_none=True)

    class Meta:
        example = {
            "roles": ["FIN_VIEW"],
            "justification": "Month-end closing needs read access to the ledger.",
            "end_date": None,
        }


class ExceptionCreateSchema(Schema):
    mitigating_control = fields.Str(required=True, validate=Text)
    expires_on = fields.Date(required=True)


class ApprovalCreateSchema(Schema):
    decision = fields.Str(required=True, validate=validate.OneOf(["approve", "reject"]))
    comment = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=5000))


class RequestRoleSchema(Schema):
    code = fields.Str()
    name = fields.Str()
    module = fields.Str()
    sensitivity = fields.Str()


class ExceptionSchema(Schema):
    mitigating_control = fields.Str()
    expires_on = fields.Date()
    status = fields.Str()
    filed_by = fields.Str()
    filed_at = fields.DateTime()
    approved_by = fields.Str(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)


class ApprovalSchema(Schema):
    approver = fields.Str()
    decision = fields.Str()
    comment = fields.Str(allow_none=True)
    decided_at = fields.DateTime()


class MissingSchema(Schema):
    module = fields.Str()
    approvals = fields.Int()


class RequestSchema(Schema):
    ref = fields.Str(metadata={"example": "ACC-000001"})
    status = fields.Str(validate=validate.OneOf([s.value for s in RequestStatus]))
    user = fields.Str()
    requester = fields.Str()
    roles = fields.List(fields.Nested(RequestRoleSchema))
    justification = fields.Str()
    end_date = fields.Date(allow_none=True)
    sod_conflicts = fields.List(fields.Nested(ConflictSchema))
    exception = fields.Nested(ExceptionSchema, allow_none=True)
    approvals = fields.List(fields.Nested(ApprovalSchema))
    approvals_missing = fields.List(fields.Nested(MissingSchema))
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)


RequestPage = page_schema(RequestSchema)


class RequestListArgs(PageArgs):
    status = fields.Str(validate=validate.OneOf([s.value for s in RequestStatus]))
    view = fields.Str(
        load_default="all",
        validate=validate.OneOf(["all", "mine", "to_approve"]),
        metadata={"description": "mine: asked by or for me; to_approve: awaiting my decision"},
    )


class GrantSchema(Schema):
    id = fields.Int()
    user = fields.Str()
    role = fields.Str()
    module = fields.Str()
    sensitivity = fields.Str()
    status = fields.Str(validate=validate.OneOf([s.value for s in GrantStatus]))
    request = fields.Str(allow_none=True)
    granted_at = fields.DateTime()
    provisioned_at = fields.DateTime(allow_none=True)
    expires_on = fields.Date(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    end_reason = fields.Str(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)
    dormant = fields.Bool()
    review_reason = fields.Str(allow_none=True)


GrantPage = page_schema(GrantSchema)


class GrantListArgs(PageArgs):
    user = fields.Str(validate=validate.Length(max=320), metadata={"description": "email"})
    module = fields.Str(validate=validate.Length(max=16))
    role = fields.Str(validate=validate.Length(max=64))
    status = fields.Str(validate=validate.OneOf([s.value for s in GrantStatus]))
    dormant = fields.Bool()


class RevokeSchema(Schema):
    reason = fields.Str(required=True, validate=Text)


class BulkRevokeSchema(Schema):
    ids = fields.List(
        fields.Int(validate=validate.Range(min=1, max=2**31 - 1)),
        required=True,
        validate=validate.Length(min=1, max=500),
    )
    reason = fields.Str(required=True, validate=Text)


class BulkRevokeResultSchema(Schema):
    revoked = fields.List(fields.Int())


class CampaignCreateSchema(Schema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    modules = fields.List(fields.Str(validate=validate.Length(min=1, max=16)), load_default=list)
    sensitivities = fields.List(
        fields.Str(validate=validate.OneOf(SENSITIVITIES)), load_default=list
    )
    reviewers = fields.List(
        fields.Str(validate=validate.Length(min=1, max=320)),
        load_default=list,
        metadata={"description": "emails; default: the approvers of each module"},
    )
    deadline = fields.Date(required=True)
    auto_revoke = fields.Bool(load_default=False)

    class Meta:
        example = {
            "name": "Finance Q4 recertification",
            "modules": ["FIN"],
            "sensitivities": ["standard", "sensitive", "critical"],
            "deadline": "2026-12-31",
            "auto_revoke": False,
        }


class ProgressSchema(Schema):
    total = fields.Int()
    decided = fields.Int()
    certified = fields.Int()
    revoked = fields.Int()
    by_reviewer = fields.Dict(keys=fields.Str(), values=fields.Int())


class CampaignSchema(Schema):
    id = fields.Int()
    name = fields.Str()
    status = fields.Str(validate=validate.OneOf([s.value for s in CampaignStatus]))
    modules = fields.List(fields.Str())
    sensitivities = fields.List(fields.Str())
    deadline = fields.Date()
    auto_revoke = fields.Bool()
    created_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    progress = fields.Nested(ProgressSchema)


CampaignPage = page_schema(CampaignSchema)


class CampaignItemSchema(Schema):
    id = fields.Int()
    grant = fields.Int()
    user = fields.Str()
    role = fields.Str()
    module = fields.Str()
    sensitivity = fields.Str()
    granted_at = fields.DateTime()
    request = fields.Str(allow_none=True)
    justification = fields.Str(allow_none=True)
    granted_by = fields.List(fields.Str())
    last_used_at = fields.DateTime(allow_none=True)
    dormant = fields.Bool()
    decision = fields.Str(allow_none=True)
    comment = fields.Str(allow_none=True)
    decided_by = fields.Str(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    applied_at = fields.DateTime(allow_none=True)


CampaignItemPage = page_schema(CampaignItemSchema)


class ItemListArgs(PageArgs):
    undecided = fields.Bool()
    mine = fields.Bool(metadata={"description": "only the items I review"})


class ReviewDecisionSchema(Schema):
    decision = fields.Str(required=True, validate=validate.OneOf(ITEM_DECISIONS))
    comment = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=5000))


class BulkDecisionSchema(ReviewDecisionSchema):
    items = fields.List(
        fields.Int(validate=validate.Range(min=1, max=2**31 - 1)),
        required=True,
        validate=validate.Length(min=1, max=500),
    )


class BulkDecisionResultSchema(Schema):
    decided = fields.List(fields.Int())


# --- dumping ----------------------------------------------------------------------------------


def role_to_dict(role: ErpRole) -> dict[str, Any]:
    return {
        "code": role.code,
        "name": role.name,
        "module": role.module.code,
        "sensitivity": role.sensitivity,
        "description": role.description,
        "active": role.active,
    }


def rule_to_dict(rule: SodRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "roles": [r.code for r in rule.roles],
        "severity": rule.severity,
        "description": rule.description,
        "active": rule.active,
    }


def request_to_dict(request: AccessRequest) -> dict[str, Any]:
    exception = request.exception
    modules = {i.role.module_id: i.role.module.code for i in request.items}
    return {
        "ref": request.ref,
        "status": request.status,
        "user": request.subject.email,
        "requester": request.requester.email,
        "roles": [
            {
                "code": r.code,
                "name": r.name,
                "module": r.module.code,
                "sensitivity": r.sensitivity,
            }
            for r in request.roles
        ],
        "justification": request.justification,
        "end_date": request.end_date,
        "sod_conflicts": [
            {k: c[k] for k in ("roles", "severity", "description")} for c in request.sod_conflicts
        ],
        "exception": None
        if exception is None
        else {
            "mitigating_control": exception.mitigating_control,
            "expires_on": exception.expires_on,
            "status": exception.status,
            "filed_by": exception.filed_by.email,
            "filed_at": exception.filed_at,
            "approved_by": exception.approved_by.email if exception.approved_by else None,
            "approved_at": exception.approved_at,
        },
        "approvals": [
            {
                "approver": a.approver.email,
                "decision": a.decision,
                "comment": a.comment,
                "decided_at": a.decided_at,
            }
            for a in request.approvals
        ],
        "approvals_missing": [
            {"module": modules[m], "approvals": n}
            for m, n in sorted(missing_approvals(request).items())
        ]
        if request.status in ("pending_approval", "needs_exception")
        else [],
        "created_at": request.created_at,
        "decided_at": request.decided_at,
    }


def grant_to_dict(grant: AccessGrant) -> dict[str, Any]:
    return {
        "id": grant.id,
        "user": grant.user.email,
        "role": grant.role.code,
        "module": grant.role.module.code,
        "sensitivity": grant.role.sensitivity,
        "status": grant.status,
        "request": grant.request.ref if grant.request_id else None,
        "granted_at": grant.granted_at,
        "provisioned_at": grant.provisioned_at,
        "expires_on": grant.expires_on,
        "ended_at": grant.ended_at,
        "end_reason": grant.end_reason,
        "last_used_at": grant.last_used_at,
        "dormant": grant.dormant,
        "review_reason": grant.review_reason,
    }


def campaign_to_dict(session, campaign: ReviewCampaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "status": campaign.status,
        "modules": campaign.modules,
        "sensitivities": campaign.sensitivities,
        "deadline": campaign.deadline,
        "auto_revoke": campaign.auto_revoke,
        "created_at": campaign.created_at,
        "closed_at": campaign.closed_at,
        "progress": progress(session, campaign),
    }


def item_to_dict(item: CampaignItem) -> dict[str, Any]:
    grant = item.grant
    request = grant.request
    return {
        "id": item.id,
        "grant": grant.id,
        "user": item.user.email,
        "role": grant.role.code,
        "module": grant.role.module.code,
        "sensitivity": grant.role.sensitivity,
        "granted_at": grant.granted_at,
        "request": request.ref if request else None,
        "justification": request.justification if request else None,
        "granted_by": [a.approver.email for a in request.approvals if a.decision == "approve"]
        if request
        else [],
        "last_used_at": grant.last_used_at,
        "dormant": item.dormant or grant.dormant,
        "decision": item.decision,
        "comment": item.comment,
        "decided_by": item.decided_by.email if item.decided_by else None,
        "decided_at": item.decided_at,
        "applied_at": item.applied_at,
    }
