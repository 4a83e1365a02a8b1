"""Enhancement requests API: submit, list, read, change (If-Match), act, vote, comment,
qualify, decide, rank; the backlog and the committee's decision log."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from app.core.db import db
from app.core.etag import check_if_match, etag_for
from app.core.permissions import Permission, require_any
from app.enhancements import conversation, governance, queries, service
from app.enhancements.schemas import (
    BacklogArgs,
    BacklogPage,
    DecisionArgs,
    DecisionCreateSchema,
    DecisionPage,
    EnhancementCommentCreateSchema,
    EnhancementCommentList,
    EnhancementCommentSchema,
    EnhancementCreateSchema,
    EnhancementFromTicketSchema,
    EnhancementListArgs,
    EnhancementPage,
    EnhancementPatchSchema,
    EnhancementSchema,
    EnhancementTransitionSchema,
    QualificationSchema,
    RankSchema,
    decision_to_dict,
    enhancement_to_dict,
    page_to_dicts,
    person,
)
from app.identity.auth import current_actor
from app.incidents import service as incidents

blp = Blueprint("enhancements_api", __name__, description="Enhancement requests (ENH-...)")
decisions_blp = Blueprint(
    "decisions_api", __name__, description="The steering committee's decision log"
)


def blueprints() -> list[Blueprint]:
    return [blp, decisions_blp]


def enhancement_etag(enhancement) -> str:
    return etag_for("enhancement", enhancement.ref, enhancement.version)


def respond(enhancement, status: int = 200):
    """The request as the caller sees it, with its ETag."""
    actor = current_actor()
    data = enhancement_to_dict(
        actor,
        enhancement,
        voted=service.has_voted(db.session, actor, enhancement),
        incidents=service.incident_refs(db.session, [enhancement]).get(enhancement.id, []),
    )
    return data, status, {"ETag": enhancement_etag(enhancement)}


def commit_and_respond(enhancement, status: int = 200):
    db.session.commit()
    return respond(enhancement, status)


# The permission of each write, asked before the request is even looked up: a role that may
# never do it (the auditor) is refused with 403 whatever the reference. The services check
# again against the request itself (module, requester, state).
WRITES_ANY = (
    Permission.ENHANCEMENT_SUBMIT,
    Permission.ENHANCEMENT_QUALIFY,
    Permission.ENHANCEMENT_DECIDE,
)


def _may(*permissions: Permission):
    actor = current_actor()
    require_any(actor, permissions)
    return actor


def _guard(enhancement) -> None:
    """An optional If-Match guards an action against a request that changed meanwhile."""
    if request.headers.get("If-Match"):
        check_if_match(request.headers["If-Match"], enhancement_etag(enhancement))


@blp.route("/enhancements")
class Enhancements(MethodView):
    @blp.arguments(EnhancementListArgs, location="query")
    @blp.response(200, EnhancementPage)
    def get(self, args: dict):
        """List requests: filter by status (comma-separated), module, text; sort by created
        (newest first), votes, wsjf or rank (the backlog's hand-made order, then WSJF)."""
        actor = current_actor()
        query = queries.EnhancementQuery(
            status=args.get("status"), module=args.get("module"), q=args.get("q"), sort=args["sort"]
        )
        page = queries.list_enhancements(
            db.session, actor, query, cursor=args["cursor"], limit=args["limit"]
        )
        return {
            "items": page_to_dicts(db.session, actor, page.items),
            "next_cursor": page.next_cursor,
        }

    @blp.arguments(EnhancementCreateSchema, example=EnhancementCreateSchema.Meta.example)
    @blp.response(201, EnhancementSchema)
    def post(self, body: dict):
        """Submit a request: the problem, the expected benefit, the module, the incidents that
        motivated it (each must be a ticket you can see, else 422)."""
        enhancement = service.submit(db.session, current_actor(), **body)
        return commit_and_respond(enhancement, 201)


@blp.route("/enhancements/from-ticket")
class EnhancementFromTicket(MethodView):
    @blp.arguments(EnhancementFromTicketSchema)
    @blp.response(201, EnhancementSchema)
    def post(self, body: dict):
        """The support team turns a ticket into a request for its reporter (both linked)."""
        actor = _may(Permission.ENHANCEMENT_SUBMIT)
        ticket = incidents.get_ticket(db.session, actor, body.pop("ticket"))
        enhancement = service.submit_from_ticket(db.session, actor, ticket, **body)
        return commit_and_respond(enhancement, 201)


@blp.route("/enhancements/<ref>")
class EnhancementItem(MethodView):
    @blp.response(200, EnhancementSchema)
    def get(self, ref: str):
        """One request, with what you may do with it (`allowed_actions`)."""
        return respond(service.get_enhancement(db.session, current_actor(), ref))

    @blp.arguments(EnhancementPatchSchema)
    @blp.response(200, EnhancementSchema)
    def patch(self, body: dict, ref: str):
        """Change the words (requester, before review; product owner) or the module (product
        owner); needs If-Match with the request's ETag (428 without, 412 if stale)."""
        actor = _may(Permission.ENHANCEMENT_SUBMIT, Permission.ENHANCEMENT_QUALIFY)
        enhancement = service.get_enhancement(db.session, actor, ref)
        check_if_match(request.headers.get("If-Match"), enhancement_etag(enhancement))
        service.update_enhancement(db.session, actor, enhancement, body)
        return commit_and_respond(enhancement)


@blp.route("/enhancements/<ref>/transitions")
class EnhancementTransitions(MethodView):
    @blp.arguments(EnhancementTransitionSchema, example={"action": "review"})
    @blp.response(200, EnhancementSchema)
    @blp.alt_response(409, description="Not allowed now; the body lists `allowed` actions")
    def post(self, body: dict, ref: str):
        """Take an action: review, start, done, release, withdraw, reconsider."""
        actor = _may(*WRITES_ANY)
        enhancement = service.get_enhancement(db.session, actor, ref)
        _guard(enhancement)
        governance.act(db.session, actor, enhancement, body["action"])
        return commit_and_respond(enhancement)


@blp.route("/enhancements/<ref>/votes")
class EnhancementVotes(MethodView):
    @blp.response(200, EnhancementSchema)
    def post(self, ref: str):
        """Vote for the request; voting again changes nothing (200 either way)."""
        actor = _may(Permission.ENHANCEMENT_SUBMIT)
        enhancement = service.get_enhancement(db.session, actor, ref)
        service.vote(db.session, actor, enhancement)
        return commit_and_respond(enhancement)

    @blp.response(200, EnhancementSchema)
    def delete(self, ref: str):
        """Take your vote back (200 whether or not you had voted)."""
        actor = _may(Permission.ENHANCEMENT_SUBMIT)
        enhancement = service.get_enhancement(db.session, actor, ref)
        service.unvote(db.session, actor, enhancement)
        return commit_and_respond(enhancement)


def dump_comment(comment, viewer) -> dict:
    return {
        "id": comment.id,
        "body": comment.body,
        "public": comment.public,
        "author": person(comment.author, viewer),
        "created_at": comment.created_at,
    }


@blp.route("/enhancements/<ref>/comments")
class EnhancementComments(MethodView):
    @blp.response(200, EnhancementCommentList)
    def get(self, ref: str):
        """The conversation; internal notes only for the product owner and the committee."""
        actor = current_actor()
        enhancement = service.get_enhancement(db.session, actor, ref)
        items = [
            dump_comment(c, actor)
            for c in conversation.comments_for(db.session, actor, enhancement)
        ]
        return {"items": items, "next_cursor": None}

    @blp.arguments(EnhancementCommentCreateSchema)
    @blp.response(201, EnhancementCommentSchema)
    def post(self, body: dict, ref: str):
        """Comment publicly, or (product owner of the module, committee) add an internal note."""
        actor = _may(Permission.ENHANCEMENT_CONVERSE, Permission.ENHANCEMENT_NOTE_INTERNAL)
        enhancement = service.get_enhancement(db.session, actor, ref)
        comment = conversation.add_comment(db.session, actor, enhancement, **body)
        db.session.commit()
        return dump_comment(comment, actor), 201


@blp.route("/enhancements/<ref>/qualification")
class EnhancementQualification(MethodView):
    @blp.arguments(QualificationSchema, example=QualificationSchema.Meta.example)
    @blp.response(200, EnhancementSchema)
    @blp.alt_response(409, description="The request is not under review")
    def post(self, body: dict, ref: str):
        """The module's product owner scores the request under review; WSJF is computed as
        (business value + time criticality + risk reduction) / job size."""
        actor = _may(Permission.ENHANCEMENT_QUALIFY)
        enhancement = service.get_enhancement(db.session, actor, ref)
        _guard(enhancement)
        governance.qualify(db.session, actor, enhancement, **body)
        return commit_and_respond(enhancement)


@blp.route("/enhancements/<ref>/decision")
class EnhancementDecide(MethodView):
    @blp.arguments(DecisionCreateSchema, example=DecisionCreateSchema.Meta.example)
    @blp.response(200, EnhancementSchema)
    @blp.alt_response(409, description="Already decided (and not reconsidered), or not reviewed")
    def post(self, body: dict, ref: str):
        """The committee (or an admin) approves, rejects or defers, with the rationale; the
        requester and the voters are told why."""
        actor = _may(Permission.ENHANCEMENT_DECIDE)
        enhancement = service.get_enhancement(db.session, actor, ref)
        _guard(enhancement)
        governance.decide(db.session, actor, enhancement, **body)
        return commit_and_respond(enhancement)


@blp.route("/enhancements/<ref>/rank")
class EnhancementRank(MethodView):
    @blp.arguments(RankSchema)
    @blp.response(200, EnhancementSchema)
    @blp.alt_response(409, description="Only approved requests in the backlog are ranked")
    def post(self, body: dict, ref: str):
        """The product owner puts an approved request at a place in its module's backlog."""
        actor = _may(Permission.ENHANCEMENT_QUALIFY)
        enhancement = service.get_enhancement(db.session, actor, ref)
        _guard(enhancement)
        governance.move(db.session, actor, enhancement, body["position"])
        return commit_and_respond(enhancement)


@blp.route("/backlog")
class Backlog(MethodView):
    @blp.arguments(BacklogArgs, location="query")
    @blp.response(200, BacklogPage)
    def get(self, args: dict):
        """Approved requests not yet planned, in backlog order: the product owner's hand-made
        rank first, then WSJF; each with its `position` and its `wsjf_rank`."""
        actor = current_actor()
        page = queries.backlog(
            db.session, actor, module=args.get("module"), cursor=args["cursor"], limit=args["limit"]
        )
        dicts = page_to_dicts(db.session, actor, [row.enhancement for row in page.items])
        items = [
            data | {"position": row.position, "wsjf_rank": row.wsjf_rank}
            for data, row in zip(dicts, page.items, strict=True)
        ]
        return {"items": items, "next_cursor": page.next_cursor}


@decisions_blp.route("/decisions")
class Decisions(MethodView):
    @decisions_blp.arguments(DecisionArgs, location="query")
    @decisions_blp.response(200, DecisionPage)
    def get(self, args: dict):
        """Every decision of the committee, newest first: filter by module, decision, period
        (`since`, `until`) and who decided (`decided_by`, an email)."""
        actor = current_actor()
        query = queries.DecisionQuery(
            **{k: args.get(k) for k in ("module", "decision", "since", "until", "decided_by")}
        )
        page = queries.decisions(
            db.session, actor, query, cursor=args["cursor"], limit=args["limit"]
        )
        return {
            "items": [decision_to_dict(actor, d) for d in page.items],
            "next_cursor": page.next_cursor,
        }
