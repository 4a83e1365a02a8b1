"""Shapes of enhancement requests, votes, comments, qualification, decisions and the backlog in
the API (with OpenAPI examples), and the one function that turns a request into its answer."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate
from webargs.fields import DelimitedList

from app.core.permissions import Permission, can
from app.core.schemas import PageArgs
from app.enhancements import governance, service
from app.enhancements.lifecycle import Status
from app.enhancements.models import Enhancement
from app.enhancements.queries import SORTS

DECISION_NAMES = ("approve", "reject", "defer")
INCIDENT_REF = validate.Regexp(r"^INC-\d{1,12}$", error="Like INC-000123.")


class EnhancementPersonSchema(Schema):
    email = fields.Str(metadata={"description": "shown to the support team, and of oneself"})
    name = fields.Str()


class EnhancementCreateSchema(Schema):
    title = fields.Str(required=True, validate=validate.Length(min=1, max=service.TITLE_MAX))
    problem = fields.Str(
        required=True,
        validate=validate.Length(min=1, max=service.TEXT_MAX),
        metadata={"description": "the problem to solve, not only the wished solution"},
    )
    benefit = fields.Str(
        required=True,
        validate=validate.Length(min=1, max=service.TEXT_MAX),
        metadata={"description": "the expected business benefit"},
    )
    module = fields.Str(
        required=True,
        validate=validate.Length(min=1, max=16),
        metadata={"description": "module code", "example": "FIN"},
    )
    incidents = fields.List(
        fields.Str(validate=INCIDENT_REF),
        load_default=list,
        validate=validate.Length(max=service.INCIDENTS_MAX),
        metadata={"description": "tickets that motivated the request"},
    )

    class Meta:
        example = {
            "title": "Match supplier invoices to receipts automatically",
            "problem": "Clerks match 400 invoices a week by hand; mistakes delay payments.",
            "benefit": "Two days a week of clerical work saved; fewer late-payment fees.",
            "module": "FIN",
            "incidents": ["INC-000001"],
        }


class EnhancementFromTicketSchema(Schema):
    ticket = fields.Str(required=True, validate=INCIDENT_REF, metadata={"example": "INC-000001"})
    title = fields.Str(validate=validate.Length(max=service.TITLE_MAX))
    problem = fields.Str(validate=validate.Length(max=service.TEXT_MAX))
    benefit = fields.Str(required=True, validate=validate.Length(min=1, max=service.TEXT_MAX))


class EnhancementPatchSchema(Schema):
    title = fields.Str(validate=validate.Length(min=1, max=service.TITLE_MAX))
    problem = fields.Str(validate=validate.Length(min=1, max=service.TEXT_MAX))
    benefit = fields.Str(validate=validate.Length(min=1, max=service.TEXT_MAX))
    module = fields.Str(validate=validate.Length(min=1, max=16))


class EnhancementSchema(Schema):
    ref = fields.Str(metadata={"example": "ENH-000001"})
    title = fields.Str()
    problem = fields.Str()
    benefit = fields.Str()
    module = fields.Str()
    module_name = fields.Str()
    status = fields.Str(metadata={"enum": [s.value for s in Status]})
    requester = fields.Nested(EnhancementPersonSchema)
    votes = fields.Int()
    voted = fields.Bool(metadata={"description": "whether the caller voted for it"})
    incidents = fields.List(fields.Str())
    business_value = fields.Int(allow_none=True)
    time_criticality = fields.Int(allow_none=True)
    risk_reduction = fields.Int(allow_none=True)
    job_size = fields.Int(allow_none=True)
    wsjf = fields.Float(allow_none=True, metadata={"description": "computed, 2 decimals"})
    qualified_at = fields.DateTime(allow_none=True)
    manual_rank = fields.Int(
        allow_none=True, metadata={"description": "the product owner's place in the backlog"}
    )
    decision = fields.Str(allow_none=True, metadata={"description": "approve, reject or defer"})
    decision_rationale = fields.Str(allow_none=True)
    decided_by = fields.Nested(EnhancementPersonSchema, allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    allowed_actions = fields.List(fields.Str())
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    review_started_at = fields.DateTime(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    planned_at = fields.DateTime(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    done_at = fields.DateTime(allow_none=True)
    released_at = fields.DateTime(allow_none=True)
    withdrawn_at = fields.DateTime(allow_none=True)
    version = fields.Int()


class EnhancementPage(Schema):
    items = fields.List(fields.Nested(EnhancementSchema))
    next_cursor = fields.Str(allow_none=True)


class EnhancementListArgs(PageArgs):
    status = DelimitedList(fields.Str(validate=validate.OneOf([s.value for s in Status])))
    module = fields.Str(validate=validate.Length(max=16))
    sort = fields.Str(load_default="created", validate=validate.OneOf(SORTS))
    q = fields.Str(validate=validate.Length(max=200), metadata={"description": "text search"})


class EnhancementTransitionSchema(Schema):
    action = fields.Str(
        required=True, validate=validate.OneOf([a.value for a in governance.ENDPOINT_ACTIONS])
    )

    class Meta:
        example = {"action": "review"}


class EnhancementCommentCreateSchema(Schema):
    body = fields.Str(required=True, validate=validate.Length(min=1, max=20000))
    public = fields.Bool(
        load_default=True,
        metadata={"description": "false: an internal note (product owner, committee)"},
    )


class EnhancementCommentSchema(Schema):
    id = fields.Int()
    body = fields.Str()
    public = fields.Bool()
    author = fields.Nested(EnhancementPersonSchema)
    created_at = fields.DateTime()


class EnhancementCommentList(Schema):
    items = fields.List(fields.Nested(EnhancementCommentSchema))
    next_cursor = fields.Str(allow_none=True)


Score = validate.OneOf(governance.SCALE, error="One of 1, 2, 3, 5, 8, 13, 20.")


class QualificationSchema(Schema):
    business_value = fields.Int(required=True, strict=True, validate=Score)
    time_criticality = fields.Int(required=True, strict=True, validate=Score)
    risk_reduction = fields.Int(
        required=True,
        strict=True,
        validate=Score,
        metadata={"description": "risk reduction / opportunity enablement"},
    )
    job_size = fields.Int(
        required=True,
        strict=True,
        validate=validate.Range(min=1, max=governance.JOB_SIZE_MAX),
        metadata={"description": "points, more than 0"},
    )

    class Meta:
        example = {"business_value": 8, "time_criticality": 5, "risk_reduction": 3, "job_size": 5}


class DecisionCreateSchema(Schema):
    decision = fields.Str(required=True, validate=validate.OneOf(DECISION_NAMES))
    rationale = fields.Str(required=True, validate=validate.Length(min=1, max=5000))

    class Meta:
        example = {"decision": "approve", "rationale": "Saves two days of work a week in AP."}


class RankSchema(Schema):
    position = fields.Int(
        required=True,
        strict=True,
        validate=validate.Range(min=1, max=100_000),
        metadata={"description": "1 is the top of the module's backlog"},
    )


class BacklogItemSchema(EnhancementSchema):
    position = fields.Int(metadata={"description": "place in the backlog shown"})
    wsjf_rank = fields.Int(metadata={"description": "place by WSJF alone"})


class BacklogPage(Schema):
    items = fields.List(fields.Nested(BacklogItemSchema))
    next_cursor = fields.Str(allow_none=True)


class BacklogArgs(PageArgs):
    module = fields.Str(validate=validate.Length(max=16))


class DecisionSchema(Schema):
    id = fields.Int()
    ref = fields.Str(metadata={"example": "ENH-000001"})
    title = fields.Str()
    module = fields.Str()
    decision = fields.Str(metadata={"enum": list(DECISION_NAMES)})
    rationale = fields.Str()
    decided_by = fields.Nested(EnhancementPersonSchema, allow_none=True)
    decided_at = fields.DateTime()
    status = fields.Str(metadata={"description": "the request's status now"})


class DecisionPage(Schema):
    items = fields.List(fields.Nested(DecisionSchema))
    next_cursor = fields.Str(allow_none=True)


class DecisionArgs(PageArgs):
    module = fields.Str(validate=validate.Length(max=16))
    decision = fields.Str(validate=validate.OneOf(DECISION_NAMES))
    since = fields.AwareDateTime(metadata={"description": "decided at or after"})
    until = fields.AwareDateTime(metadata={"description": "decided before"})
    decided_by = fields.Str(validate=validate.Length(max=320), metadata={"description": "email"})


# --- answers ---------------------------------------------------------------------------------


def person(user, viewer) -> dict | None:
    """Name, and email if ``viewer`` may see it (the support team, or their own)."""
    if user is None:
        return None
    if user.id == viewer.id or can(viewer, Permission.USER_VIEW):
        return {"email": user.email, "name": user.name}
    return {"name": user.name}


def enhancement_to_dict(
    actor, enhancement: Enhancement, *, voted: bool, incidents: list[str]
) -> dict[str, Any]:
    """The request as ``actor`` sees it, with what ``actor`` may do with it now."""
    return {
        "ref": enhancement.ref,
        "title": enhancement.title,
        "problem": enhancement.problem,
        "benefit": enhancement.benefit,
        "module": enhancement.module.code,
        "module_name": enhancement.module.name,
        "status": enhancement.status,
        "requester": person(enhancement.requester, actor),
        "votes": enhancement.vote_count,
        "voted": voted,
        "incidents": incidents,
        "business_value": enhancement.business_value,
        "time_criticality": enhancement.time_criticality,
        "risk_reduction": enhancement.risk_reduction,
        "job_size": enhancement.job_size,
        "wsjf": float(enhancement.wsjf) if enhancement.wsjf is not None else None,
        "qualified_at": enhancement.qualified_at,
        "manual_rank": enhancement.manual_rank,
        "decision": enhancement.decision,
        "decision_rationale": enhancement.decision_rationale,
        "decided_by": person(enhancement.decided_by, actor) if enhancement.decided_by_id else None,
        "decided_at": enhancement.decided_at,
        "allowed_actions": governance.actions_for(actor, enhancement, voted=voted),
        "created_at": enhancement.created_at,
        "updated_at": enhancement.updated_at,
        "review_started_at": enhancement.review_started_at,
        "approved_at": enhancement.approved_at,
        "planned_at": enhancement.planned_at,
        "started_at": enhancement.started_at,
        "done_at": enhancement.done_at,
        "released_at": enhancement.released_at,
        "withdrawn_at": enhancement.withdrawn_at,
        "version": enhancement.version,
    }


def page_to_dicts(session, actor, enhancements: list[Enhancement]) -> list[dict[str, Any]]:
    """A page of requests, with the caller's votes and the linked tickets read once."""
    voted = service.voted_ids(session, actor, [e.id for e in enhancements])
    links = service.incident_refs(session, enhancements)
    return [
        enhancement_to_dict(actor, e, voted=e.id in voted, incidents=links.get(e.id, []))
        for e in enhancements
    ]


def decision_to_dict(actor, decision) -> dict[str, Any]:
    enhancement = decision.enhancement
    return {
        "id": decision.id,
        "ref": enhancement.ref,
        "title": enhancement.title,
        "module": enhancement.module.code,
        "decision": decision.decision,
        "rationale": decision.rationale,
        "decided_by": person(decision.decided_by, actor),
        "decided_at": decision.decided_at,
        "status": enhancement.status,
    }
