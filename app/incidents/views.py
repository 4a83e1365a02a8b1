"""Ticket pages: report an incident, my tickets, the support queues and the ticket itself.

Forms post plain fields (CSRF-checked app-wide); a refused change re-renders the page with the
message and what was typed, with the status code the API would give.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from marshmallow import ValidationError
from sqlalchemy import select

from app.catalogue.models import SupportGroup
from app.catalogue.service import (
    list_modules,
    module_refs,
    sla_policies,
    update_sla_policy,
)
from app.core.clock import utcnow
from app.core.db import db
from app.core.errors import StaleWrite, StewardError, ValidationFailed
from app.core.navigation import HomePanel, NavItem, add_home_panel, add_nav
from app.core.permissions import Permission, can, require
from app.identity.auth import current_actor
from app.identity.models import RoleAssignment, User
from app.incidents import attachments, conversation, queues, service, transitions
from app.incidents.lifecycle import Status
from app.incidents.schemas import ListContext, TicketListArgs, history_to_dicts, ticket_to_dict
from app.incidents.sla import LEVELS, PRIORITIES

blueprint = Blueprint("incidents", __name__)

add_nav(NavItem("Report an incident", "incidents.new_ticket", Permission.TICKET_CREATE, order=10))
add_nav(NavItem("My tickets", "incidents.my_tickets", Permission.TICKET_VIEW_OWN, order=11))
add_nav(
    NavItem("Module tickets", "incidents.module_tickets", Permission.TICKET_PREQUALIFY, order=12)
)
add_nav(NavItem("Queues", "incidents.queue", Permission.TICKET_WORK, order=20))
add_nav(NavItem("SLA policies", "incidents.sla_policies_page", Permission.SLA_MANAGE, order=82))

QUEUE_TABS = [
    ("unassigned", "Unassigned"),
    ("mine", "Mine"),
    ("my_group", "My group"),
    ("breaching_soon", "Breaching soon"),
    ("breached", "Breached"),
    ("waiting", "Waiting on requester"),
    ("open", "All open"),
    ("all", "Everything"),
]


def _my_recent(user: User) -> dict[str, Any]:
    page = queues.list_tickets(
        db.session,
        user,
        queues.TicketQuery(view="reported_by_me", sort="updated"),
        cursor=None,
        limit=5,
    )
    return {"tickets": page.items}


def _queue_counts(user: User) -> dict[str, Any]:
    return {"counts": queues.queue_counts(db.session, user), "tabs": QUEUE_TABS}


def _awaiting_prequalification(user: User) -> dict[str, Any]:
    page = queues.list_tickets(
        db.session,
        user,
        queues.TicketQuery(status=[Status.NEW.value], sort="created"),
        cursor=None,
        limit=5,
    )
    return {"tickets": page.items}


add_home_panel(
    HomePanel(
        "My recent tickets",
        "incidents/_panel_mine.html",
        Permission.TICKET_VIEW_OWN,
        _my_recent,
        order=10,
    )
)
add_home_panel(
    HomePanel(
        "Support queues",
        "incidents/_panel_queues.html",
        Permission.TICKET_WORK,
        _queue_counts,
        order=5,
    )
)
add_home_panel(
    HomePanel(
        "Waiting for pre-qualification",
        "incidents/_panel_prequalify.html",
        Permission.TICKET_PREQUALIFY,
        _awaiting_prequalification,
        order=8,
    )
)


def _list_args() -> dict[str, Any]:
    raw = {k: v for k, v in request.args.items() if v not in ("", None)}
    try:
        return TicketListArgs().load(raw)
    except ValidationError as exc:
        flash(
            "Some filters were not understood and were ignored: " + ", ".join(sorted(exc.messages)),
            "error",
        )
        return TicketListArgs().load({})


def _render_list(template: str, view: str | None, title: str, **extra):
    actor = current_actor()
    args = _list_args()
    query = queues.TicketQuery(
        view=view or args.get("view"),
        **{
            k: args.get(k)
            for k in ("status", "priority", "module", "assignee", "group", "breached", "q")
        },
        sort=args["sort"],
    )
    found = queues.list_ticket_rows(
        db.session, actor, query, cursor=args["cursor"], limit=args["limit"], summary=True
    )
    page = found.page
    now, ratio = utcnow(), service.warning_ratio()
    session = db.session()
    catalogue = ListContext(session)
    rows = [
        ticket_to_dict(
            session, actor, t, now, ratio, people=found.people, summary=True, catalogue=catalogue
        )
        for t in page.items
    ]
    return render_template(
        template,
        rows=rows,
        page=page,
        title=title,
        filters=request.args,
        view=query.view,
        modules=module_refs(db.session),
        priorities=PRIORITIES,
        statuses=[s.value for s in Status],
        now=now,
        **extra,
    )


@blueprint.get("/tickets")
def my_tickets():
    require(current_actor(), Permission.TICKET_VIEW_OWN)
    return _render_list("incidents/list.html", "reported_by_me", "My tickets")


@blueprint.get("/tickets/module")
def module_tickets():
    require(current_actor(), Permission.TICKET_PREQUALIFY)
    return _render_list("incidents/list.html", None, "Tickets of my modules")


@blueprint.get("/queues")
def queue():
    actor = current_actor()
    require(actor, Permission.TICKET_WORK)
    view = request.args.get("view") or "unassigned"
    if view not in queues.VIEWS:
        view = "unassigned"
    return _render_list(
        "incidents/queue.html",
        view,
        "Support queues",
        tabs=QUEUE_TABS,
        counts=queues.queue_counts(db.session, actor),
    )


@blueprint.route("/tickets/new", methods=["GET", "POST"])
def new_ticket():
    actor = current_actor()
    require(actor, Permission.TICKET_CREATE)
    values = {"title": "", "description": "", "module": "", "impact": "medium", "urgency": "medium"}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        values.update({k: request.form.get(k, "").strip() for k in values})
        try:
            ticket = service.create_ticket(db.session, actor, **values)
            upload = request.files.get("file")
            if upload is not None and upload.filename:
                attachments.store_attachment(
                    db.session,
                    actor,
                    ticket,
                    stream=upload.stream,
                    filename=upload.filename,
                    content_type=upload.mimetype,
                )
            db.session.commit()
            flash(f"Ticket {ticket.ref} created. We will get back to you.", "success")
            return redirect(url_for("incidents.ticket_page", ref=ticket.ref))
        except StewardError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            errors, status = exc.errors, exc.status
    return render_template(
        "incidents/new.html",
        values=values,
        errors=errors,
        modules=list_modules(db.session, include_inactive=False),
        levels=LEVELS,
    ), status


def _agents_for(ticket) -> list[User]:
    agents = db.session.scalars(
        select(User)
        .where(User.active.is_(True), User.roles.any(RoleAssignment.role == "agent"))
        .order_by(User.name)
    )
    return [a for a in agents if can(a, Permission.TICKET_WORK, ticket.module_id)]


def render_ticket(
    ticket, *, status: int = 200, error: StewardError | None = None, form: dict | None = None
):
    actor = current_actor()
    now, ratio = utcnow(), service.warning_ratio()
    data = ticket_to_dict(db.session, actor, ticket, now, ratio)
    internal = service.sees_internal(actor, ticket)
    support = "agent" in {p.value for p in service.parties(actor, ticket)}
    return render_template(
        "incidents/ticket.html",
        t=data,
        ticket=ticket,
        comments=conversation.comments_for(db.session, actor, ticket),
        files=attachments.attachments_of(db.session, ticket),
        history=history_to_dicts(service.history(db.session, actor, ticket), internal),
        support=support,
        internal=internal,
        can_prequalify=ticket.status == Status.NEW
        and can(actor, Permission.TICKET_PREQUALIFY, ticket.module_id),
        is_requester=ticket.reporter_id == actor.id,
        agents=_agents_for(ticket) if support else [],
        groups=db.session.query(SupportGroup).order_by(SupportGroup.code).all() if support else [],
        priorities=PRIORITIES,
        resolution_codes=transitions.RESOLUTION_CODES,
        error=error,
        form=form or {},
        now=now,
    ), status


@blueprint.get("/tickets/<ref>")
def ticket_page(ref: str):
    return render_ticket(service.get_ticket(db.session, current_actor(), ref))


def _act_on(ref: str, change) -> Any:
    """Run ``change(actor, ticket)``, commit, and come back to the page (or re-render on error)."""
    actor = current_actor()
    ticket = service.get_ticket(db.session, actor, ref)
    try:
        message = change(actor, ticket)
        db.session.commit()
    except StewardError as exc:
        db.session.rollback()
        ticket = service.get_ticket(db.session, actor, ref)
        return render_ticket(ticket, status=exc.status, error=exc, form=request.form.to_dict())
    if message:
        flash(message, "success")
    return redirect(url_for("incidents.ticket_page", ref=ticket.ref))


def _form_params(*names: str) -> dict[str, str]:
    return {n: request.form[n].strip() for n in names if request.form.get(n, "").strip()}


@blueprint.post("/tickets/<ref>/act")
def act(ref: str):
    def change(actor, ticket):
        action = request.form.get("action", "")
        params = _form_params(
            "resolution_code", "resolution_note", "priority", "reason", "duplicate_of"
        )
        for key in ("assignee", "group"):
            if key in request.form:
                params[key] = request.form[key].strip() or None
        transitions.perform(db.session, actor, ticket, action, **params)
        return f"{ticket.ref}: {action} done."

    return _act_on(ref, change)


@blueprint.post("/tickets/<ref>/update")
def update(ref: str):
    def change(actor, ticket):
        values: dict[str, Any] = {}
        for key in ("title", "description", "module", "impact", "urgency"):
            if request.form.get(key):
                values[key] = request.form[key].strip()
        for key in ("assignee", "group"):
            if key in request.form:
                values[key] = request.form[key].strip() or None
        expected = request.form.get("version")
        if expected and expected != str(ticket.version):
            raise StaleWrite()
        service.update_ticket(db.session, actor, ticket, values)
        return "Ticket updated."

    return _act_on(ref, change)


@blueprint.post("/tickets/<ref>/comments")
def comment(ref: str):
    def change(actor, ticket):
        conversation.add_comment(
            db.session,
            actor,
            ticket,
            body=request.form.get("body", ""),
            public=request.form.get("visibility", "public") != "internal",
        )
        return "Comment added."

    return _act_on(ref, change)


@blueprint.post("/tickets/<ref>/rating")
def rating(ref: str):
    def change(actor, ticket):
        raw = request.form.get("rating", "")
        stars = int(raw) if raw.isdigit() else 0
        service.rate(db.session, actor, ticket, rating=stars, comment=request.form.get("comment"))
        return "Thank you for your rating."

    return _act_on(ref, change)


@blueprint.post("/tickets/<ref>/prequalification")
def prequalification(ref: str):
    def change(actor, ticket):
        service.prequalify(
            db.session,
            actor,
            ticket,
            priority=request.form.get("priority") or None,
            note=request.form.get("note"),
        )
        return "Pre-qualification saved."

    return _act_on(ref, change)


@blueprint.post("/tickets/<ref>/links")
def link(ref: str):
    def change(actor, ticket):
        service.link_enhancement(db.session, actor, ticket, request.form.get("enhancement", ""))
        return "Enhancement linked."

    return _act_on(ref, change)


@blueprint.post("/tickets/<ref>/attachments")
def upload(ref: str):
    def change(actor, ticket):
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ValidationFailed("Choose a file to attach.", errors={"file": ["No file."]})
        attachments.store_attachment(
            db.session,
            actor,
            ticket,
            stream=upload.stream,
            filename=upload.filename,
            content_type=upload.mimetype,
        )
        return "File attached."

    return _act_on(ref, change)


@blueprint.get("/tickets/<ref>/attachments/<int:attachment_id>")
def download(ref: str, attachment_id: int):
    ticket = service.get_ticket(db.session, current_actor(), ref)
    attachment, path = attachments.attachment_path(db.session, ticket, attachment_id)
    return send_file(
        path,
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
        max_age=0,
    )


@blueprint.route("/admin/sla", methods=["GET", "POST"])
def sla_policies_page():
    actor = current_actor()
    require(actor, Permission.SLA_MANAGE)
    status = 200
    if request.method == "POST":
        priority = request.form.get("priority", "")
        try:
            update_sla_policy(
                db.session,
                actor,
                priority,
                response_minutes=int(request.form.get("response_minutes", "0") or 0),
                resolution_minutes=int(request.form.get("resolution_minutes", "0") or 0),
                business_hours=request.form.get("business_hours") == "on",
            )
            db.session.commit()
            flash(f"SLA for {priority} saved.", "success")
            return redirect(url_for("incidents.sla_policies_page"))
        except (StewardError, ValueError) as exc:
            db.session.rollback()
            flash(getattr(exc, "message", "Targets are whole numbers of minutes."), "error")
            status = getattr(exc, "status", 422)
    policies = sla_policies(db.session)
    db.session.commit()
    return render_template(
        "incidents/sla.html", policies=[policies[p] for p in sorted(policies)]
    ), status
