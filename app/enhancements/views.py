"""Enhancement pages: submit and browse requests (with votes), the request itself, the product
owner's backlog and qualification form, the committee's decisions and the decision log.

Every form answers with a redirect (Post/Redirect/Get, ``app.core.forms``): when accepted, to
the page with a confirmation; when refused, back to the form's page with what was typed and
why. A page offers only the forms its viewer may send (``allowed_actions``); the service
checks again whatever is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, render_template, request, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import select

from app.catalogue.service import list_modules, module_refs
from app.core import forms
from app.core.db import db
from app.core.edge import whole_number
from app.core.errors import StewardError, ValidationFailed
from app.core.navigation import EntityPage, NavItem, add_entity_page, add_nav
from app.core.permissions import Permission, can, module_scope, require
from app.enhancements import conversation, governance, queries, service
from app.enhancements.lifecycle import Status
from app.enhancements.schemas import (
    DecisionArgs,
    EnhancementListArgs,
    decision_to_dict,
    enhancement_to_dict,
    page_to_dicts,
)
from app.identity.auth import current_actor
from app.identity.models import User
from app.incidents import service as incidents

blueprint = Blueprint("enhancements", __name__)

add_nav(NavItem(_l("Enhancements"), "enhancements.browse", Permission.ENHANCEMENT_VIEW, order=30))
add_nav(
    NavItem(_l("Backlog"), "enhancements.backlog_page", Permission.ENHANCEMENT_QUALIFY, order=31)
)
add_nav(
    NavItem(_l("Decisions"), "enhancements.decisions_page", Permission.ENHANCEMENT_DECIDE, order=32)
)
add_nav(
    NavItem(_l("Decision log"), "enhancements.decision_log", Permission.ENHANCEMENT_VIEW, order=33)
)
add_entity_page(
    EntityPage(
        "enhancement", _l("Enhancement request"), "enhancements.request_page", argument="ref"
    )
)

DONE = {
    "review": _l("The review has started."),
    "withdraw": _l("The request was withdrawn."),
    "reconsider": _l("The request is under review again."),
    "start": _l("Work started."),
    "done": _l("Marked as done."),
    "release": _l("Marked as released; the requester and the voters are told."),
    "approve": _l("Approved; the requester and the voters are told why."),
    "reject": _l("Rejected; the requester and the voters are told why."),
    "defer": _l("Deferred; the requester and the voters are told why."),
}

FIELD_LABELS = {
    "title": _l("What should change"),
    "problem": _l("The problem to solve"),
    "benefit": _l("Expected business benefit"),
    "module": _l("ERP module"),
    "incidents": _l("Incidents that motivated it"),
    "body": _l("Comment"),
    "business_value": _l("Business value"),
    "time_criticality": _l("Time criticality"),
    "risk_reduction": _l("Risk reduction / opportunity enablement"),
    "job_size": _l("Job size (points)"),
    "decision": _l("Decision"),
    "rationale": _l("Rationale"),
    "position": _l("Position"),
    "action": _l("Action"),
    "ticket": _l("Ticket"),
}

STALE = _l(
    "Someone changed this request while you were editing it, so your change was not saved. "
    "It is shown as it is now: check it and make your change again."
)


# --- browse and submit -----------------------------------------------------------------------


def _args(schema, raw: dict[str, Any]) -> dict[str, Any]:
    try:
        return schema().load(raw)
    except ValidationError as exc:
        flash(
            _("Some filters were not understood and were ignored: %(names)s.")
            % {"names": ", ".join(str(FIELD_LABELS.get(n, n)) for n in sorted(exc.messages))},
            "error",
        )
        return schema().load({k: v for k, v in raw.items() if k not in exc.messages})


@blueprint.get("/enhancements")
def browse():
    actor = current_actor()
    require(actor, Permission.ENHANCEMENT_VIEW)
    raw = {k: v for k, v in request.args.items() if v}
    args = _args(EnhancementListArgs, raw)
    query = queries.EnhancementQuery(
        status=args.get("status"), module=args.get("module"), q=args.get("q"), sort=args["sort"]
    )
    try:
        page = queries.list_enhancements(
            db.session, actor, query, cursor=args["cursor"], limit=args["limit"]
        )
    except ValidationFailed as exc:
        flash(exc.message, "error")
        query.module = None
        page = queries.list_enhancements(db.session, actor, query, cursor=None, limit=25)
    return render_template(
        "enhancements/list.html",
        rows=page_to_dicts(db.session, actor, page.items),
        page=page,
        filters=request.args,
        modules=module_refs(db.session),
        statuses=[s.value for s in Status],
        sorts=queries.SORTS,
        can_submit=can(actor, Permission.ENHANCEMENT_SUBMIT),
    )


NEW_FIELDS = ("title", "problem", "benefit", "module", "incidents")


def _incident_refs(text: str) -> list[str]:
    return [part.strip().upper() for part in text.replace(";", ",").split(",") if part.strip()]


@blueprint.route("/enhancements/new", methods=["GET", "POST"])
@forms.returns_to("enhancements.new_request")
def new_request():
    actor = current_actor()
    require(actor, Permission.ENHANCEMENT_SUBMIT)
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in NEW_FIELDS}
        try:
            enhancement = service.submit(
                db.session,
                actor,
                title=values["title"],
                problem=values["problem"],
                benefit=values["benefit"],
                module=values["module"],
                incidents=_incident_refs(values["incidents"]),
            )
            db.session.commit()
        except StewardError as exc:
            db.session.rollback()
            return forms.refuse(exc, form="new")
        return forms.accepted(
            url_for("enhancements.request_page", ref=enhancement.ref),
            _("Request %(ref)s submitted. The product owner will review it.", ref=enhancement.ref),
        )
    draft = forms.draft()
    values = {k: "" for k in NEW_FIELDS}
    values["incidents"] = request.args.get("incident", "")
    if draft is not None:
        values.update({k: v for k, v in draft.values.items() if k in NEW_FIELDS})
    response = render_template(
        "enhancements/new.html",
        values=values,
        draft=draft,
        errors=draft.errors if draft else {},
        labels=FIELD_LABELS,
        modules=list_modules(db.session, include_inactive=False),
        title_max=service.TITLE_MAX,
    )
    return response, 200, {"Cache-Control": "no-store"}


# --- the request page ------------------------------------------------------------------------


def _render_request(enhancement, draft: forms.Draft | None):
    actor = current_actor()
    voted = service.has_voted(db.session, actor, enhancement)
    data = enhancement_to_dict(
        actor,
        enhancement,
        voted=voted,
        incidents=service.incident_refs(db.session, [enhancement]).get(enhancement.id, []),
    )
    return render_template(
        "enhancements/request.html",
        e=data,
        enhancement=enhancement,
        comments=conversation.comments_for(db.session, actor, enhancement),
        history=_timeline(conversation.history(db.session, actor, enhancement)),
        internal=service.sees_internal(actor, enhancement),
        modules=list_modules(db.session, include_inactive=False),
        scale=governance.SCALE,
        draft=draft,
        labels=FIELD_LABELS,
    )


def _timeline(events) -> list[dict[str, Any]]:
    """The history as people read it: who acted by name (emails stay with the audit log)."""
    ids = {e.actor_id for e in events if e.actor_id is not None}
    names = (
        {i: n for i, n in db.session.execute(select(User.id, User.name).where(User.id.in_(ids)))}
        if ids
        else {}
    )
    return [{"at": e.occurred_at, "who": names.get(e.actor_id), "action": e.action} for e in events]


@blueprint.get("/enhancements/<ref>")
def request_page(ref: str):
    enhancement = service.get_enhancement(db.session, current_actor(), ref)
    return _render_request(enhancement, forms.draft())


def _act_on(ref: str, change: Callable[[Any, Any], str], target: str | None = None) -> Any:
    """Run ``change(actor, enhancement)``, commit, and go back to the form's page either way."""
    actor = current_actor()
    enhancement = service.get_enhancement(db.session, actor, ref)
    return forms.commit_change(
        lambda: change(actor, enhancement),
        target=target or url_for("enhancements.request_page", ref=enhancement.ref),
        stale=STALE,
    )


@blueprint.post("/enhancements/<ref>/act")
@forms.returns_to("enhancements.request_page")
def act(ref: str):
    def change(actor, enhancement):
        action = request.form.get("action", "")
        governance.act(db.session, actor, enhancement, action)
        return str(DONE.get(action, _("Done.")))

    return _act_on(ref, change)


@blueprint.post("/enhancements/<ref>/update")
@forms.returns_to("enhancements.request_page")
def update(ref: str):
    def change(actor, enhancement):
        forms.check_form_version("enhancement", enhancement.ref, enhancement.version)
        values = {
            k: request.form[k]
            for k in ("title", "problem", "benefit", "module")
            if k in request.form and request.form[k].strip()
        }
        if values.get("module") == enhancement.module.code:
            values.pop("module")
        service.update_enhancement(db.session, actor, enhancement, values)
        return _("Request updated.")

    return _act_on(ref, change)


@blueprint.post("/enhancements/<ref>/vote")
@forms.returns_to("enhancements.request_page")
def vote(ref: str):
    def change(actor, enhancement):
        if request.form.get("vote") == "unvote":
            service.unvote(db.session, actor, enhancement)
            return _("Your vote was taken back.")
        service.vote(db.session, actor, enhancement)
        return _("Thank you for your vote.")

    target = (request.form.get("back") == "list" and url_for("enhancements.browse")) or None
    return _act_on(ref, change, target)


@blueprint.post("/enhancements/<ref>/comments")
@forms.returns_to("enhancements.request_page")
def comment(ref: str):
    def change(actor, enhancement):
        public = request.form.get("visibility", "public") != "internal"
        conversation.add_comment(
            db.session, actor, enhancement, body=request.form.get("body", ""), public=public
        )
        return _("Comment added.") if public else _("Internal note added.")

    return _act_on(ref, change)


def _decide(actor, enhancement) -> str:
    decision = request.form.get("decision", "")
    rationale = request.form.get("rationale", "")
    if not rationale.strip():
        # said here so that the form shows it beside the field, whatever else is wrong
        raise ValidationFailed(
            _("The decision was not recorded."),
            errors={"rationale": [_("Say why, for the requester and the decision log.")]},
        )
    governance.decide(db.session, actor, enhancement, decision=decision, rationale=rationale)
    return str(DONE.get(governance.DECISION_ACTIONS.get(decision, decision), _("Done.")))


@blueprint.post("/enhancements/<ref>/decision")
@forms.returns_to("enhancements.request_page")
def decision(ref: str):
    return _act_on(ref, _decide)


# --- qualification ---------------------------------------------------------------------------

SCORE_FIELDS = ("business_value", "time_criticality", "risk_reduction", "job_size")


@blueprint.route("/enhancements/<ref>/qualification", methods=["GET", "POST"])
@forms.returns_to("enhancements.qualification_page")
def qualification_page(ref: str):
    actor = current_actor()
    enhancement = service.get_enhancement(db.session, actor, ref)
    require(actor, Permission.ENHANCEMENT_QUALIFY, enhancement.module_id)
    if request.method == "POST":

        def change(actor, enhancement):
            forms.check_form_version("enhancement", enhancement.ref, enhancement.version)
            scores = {k: whole_number(request.form.get(k)) for k in SCORE_FIELDS}
            governance.qualify(db.session, actor, enhancement, **scores)
            return _("Qualified: WSJF %(wsjf)s.", wsjf=enhancement.wsjf)

        return _act_on(ref, change)
    draft = forms.draft()
    values = {k: getattr(enhancement, k) for k in SCORE_FIELDS}
    if draft is not None:
        values.update({k: v for k, v in draft.values.items() if k in SCORE_FIELDS})
    return render_template(
        "enhancements/qualification.html",
        enhancement=enhancement,
        values=values,
        draft=draft,
        errors=draft.errors if draft else {},
        labels=FIELD_LABELS,
        scale=governance.SCALE,
    )


# --- the backlog -----------------------------------------------------------------------------


def _backlog_module(actor) -> tuple[str | None, list]:
    """The module whose backlog is shown: asked for, else the first the viewer owns."""
    modules = module_refs(db.session)
    owned = module_scope(actor, Permission.ENHANCEMENT_QUALIFY)
    mine = [m for m in modules if owned is None or m.id in owned]
    asked = (request.args.get("module") or "").strip().upper()
    if asked and any(m.code == asked for m in mine):
        return asked, mine
    return (mine[0].code if mine else None), mine


@blueprint.get("/enhancements/backlog")
def backlog_page():
    actor = current_actor()
    require(actor, Permission.ENHANCEMENT_QUALIFY)
    module, mine = _backlog_module(actor)
    rows: list[dict[str, Any]] = []
    next_cursor = None
    if module is not None:
        cursor = request.args.get("cursor") or None
        try:
            page = queries.backlog(db.session, actor, module=module, cursor=cursor, limit=50)
        except ValidationFailed:
            page = queries.backlog(db.session, actor, module=module, cursor=None, limit=50)
        dicts = page_to_dicts(db.session, actor, [r.enhancement for r in page.items])
        rows = [
            d | {"position": r.position, "wsjf_rank": r.wsjf_rank}
            for d, r in zip(dicts, page.items, strict=True)
        ]
        next_cursor = page.next_cursor
    return render_template(
        "enhancements/backlog.html",
        rows=rows,
        module=module,
        modules=mine,
        next_cursor=next_cursor,
        draft=forms.draft(),
        labels=FIELD_LABELS,
    )


@blueprint.post("/enhancements/<ref>/rank")
@forms.returns_to("enhancements.backlog_page")
def rank(ref: str):
    def change(actor, enhancement):
        position = whole_number(request.form.get("position"))
        if position is None:
            raise ValidationFailed(
                _("The request was not moved."), errors={"position": [_("1 is the top.")]}
            )
        governance.move(db.session, actor, enhancement, position)
        return _("%(ref)s is now number %(rank)s.", ref=enhancement.ref, rank=position)

    actor = current_actor()
    enhancement = service.get_enhancement(db.session, actor, ref)
    target = url_for("enhancements.backlog_page", module=enhancement.module.code)
    return _act_on(ref, change, target)


# --- the committee ---------------------------------------------------------------------------


@blueprint.get("/enhancements/decisions")
def decisions_page():
    actor = current_actor()
    require(actor, Permission.ENHANCEMENT_DECIDE)
    query = queries.EnhancementQuery(status=[Status.UNDER_REVIEW.value], sort="wsjf")
    page = queries.list_enhancements(
        db.session, actor, query, cursor=request.args.get("cursor") or None, limit=50
    )
    return render_template(
        "enhancements/decisions.html",
        rows=page_to_dicts(db.session, actor, page.items),
        page=page,
        draft=forms.draft(),
        labels=FIELD_LABELS,
    )


@blueprint.post("/enhancements/decisions/<ref>")
@forms.returns_to("enhancements.decisions_page")
def decide_from_list(ref: str):
    return _act_on(ref, _decide, url_for("enhancements.decisions_page"))


def _day_start(text: str) -> str:
    """Midnight of a date typed in the form, in the viewer's zone (their days, not UTC's)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return text  # not a date: the arguments schema names it
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(str(get_timezone()))).isoformat()


@blueprint.get("/enhancements/decisions/log")
def decision_log():
    actor = current_actor()
    require(actor, Permission.ENHANCEMENT_VIEW)
    raw = {k: v for k, v in request.args.items() if v}
    for name in ("since", "until"):
        if name in raw:
            raw[name] = _day_start(raw[name])
    args = _args(DecisionArgs, raw)
    query = queries.DecisionQuery(
        **{k: args.get(k) for k in ("module", "decision", "since", "until", "decided_by")}
    )
    try:
        page = queries.decisions(
            db.session, actor, query, cursor=args["cursor"], limit=args["limit"]
        )
    except ValidationFailed as exc:
        flash(exc.message, "error")
        page = queries.decisions(
            db.session, actor, queries.DecisionQuery(), cursor=None, limit=args["limit"]
        )
    return render_template(
        "enhancements/decision_log.html",
        rows=[decision_to_dict(actor, d) for d in page.items],
        page=page,
        filters=request.args,
        modules=module_refs(db.session),
    )


# --- from a ticket ---------------------------------------------------------------------------


@blueprint.post("/tickets/<ref>/enhancement")
@forms.returns_to("incidents.ticket_page")
def from_ticket(ref: str):
    """The support team turns the ticket into a request (the form is on the ticket page)."""
    actor = current_actor()
    ticket = incidents.get_ticket(db.session, actor, ref)
    try:
        enhancement = service.submit_from_ticket(
            db.session,
            actor,
            ticket,
            title=request.form.get("title"),
            problem=request.form.get("problem"),
            benefit=request.form.get("benefit"),
        )
        db.session.commit()
    except StewardError as exc:
        db.session.rollback()
        return forms.refuse(exc, form="to_enhancement")
    return forms.accepted(
        url_for("enhancements.request_page", ref=enhancement.ref),
        _("Request %(ref)s created from %(ticket)s.", ref=enhancement.ref, ticket=ticket.ref),
    )
