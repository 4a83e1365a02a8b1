"""Ticket pages: report an incident, the ticket lists, the support queues, the ticket itself and
the admins' SLA targets.

Every form answers with a redirect (Post/Redirect/Get, ``app.core.forms``): when accepted, to
the page with a confirmation; when refused, back to the form's page, which shows what was typed
and why it was refused. Reload and Back never send a form twice.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import (
    Blueprint,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import format_number
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import select

from app.catalogue.models import SupportGroup, support_group_members
from app.catalogue.service import (
    MAX_TARGET_MINUTES,
    list_modules,
    module_refs,
    sla_policies,
    update_sla_policy,
)
from app.core import forms
from app.core.clock import utcnow
from app.core.db import db
from app.core.edge import whole_number
from app.core.errors import (
    PreconditionRequired,
    StaleWrite,
    StewardError,
    ValidationFailed,
)
from app.core.navigation import (
    EntityPage,
    HomePanel,
    NavItem,
    add_entity_page,
    add_home_panel,
    add_nav,
)
from app.core.permissions import Permission, can, require
from app.enhancements import service as enhancements
from app.identity import service as identity_service
from app.identity.auth import current_actor
from app.identity.models import RoleAssignment, User
from app.incidents import (
    assignment,
    attachments,
    bulk,
    canned,
    conversation,
    live,
    portal,
    queues,
    saved_views,
    service,
    timeline,
    transitions,
    watchers,
)
from app.incidents.lifecycle import OPEN_STATUSES, Status
from app.incidents.models import Ticket
from app.incidents.schemas import ListContext, TicketListArgs, ticket_to_dict
from app.incidents.sla import LEVELS, PRIORITIES

blueprint = Blueprint("incidents", __name__)
blueprint.register_blueprint(portal.blueprint)

add_nav(
    NavItem(_l("Report an incident"), "incidents.new_ticket", Permission.TICKET_CREATE, order=10)
)
add_nav(NavItem(_l("My tickets"), "incidents.my_tickets", Permission.TICKET_VIEW_OWN, order=11))
add_nav(
    NavItem(
        _l("Module tickets"),
        "incidents.module_tickets",
        Permission.TICKET_VIEW_MODULE,
        order=12,
        unless=Permission.TICKET_VIEW_ALL,
    )
)
add_nav(NavItem(_l("Queues"), "incidents.queue", Permission.TICKET_WORK, order=20))
add_nav(
    NavItem(
        _l("All tickets"),
        "incidents.all_tickets",
        Permission.TICKET_VIEW_ALL,
        order=21,
        unless=Permission.TICKET_WORK,
    )
)
add_nav(NavItem(_l("SLA policies"), "incidents.sla_policies_page", Permission.SLA_MANAGE, order=82))
add_entity_page(EntityPage("ticket", _l("Ticket"), "incidents.ticket_page", argument="ref"))
add_entity_page(
    EntityPage(
        "sla_policy",
        _l("SLA policy"),
        "incidents.sla_policies_page",
        Permission.SLA_MANAGE,
        anchor=True,
    )
)

QUEUE_TABS = [
    ("unassigned", _l("Unassigned")),
    ("mine", _l("Mine")),
    ("my_group", _l("My group")),
    ("breaching_soon", _l("Breaching soon")),
    ("breached", _l("Breached")),
    ("waiting", _l("Waiting on requester")),
    ("open", _l("All open")),
    ("all", _l("Everything")),
]

# What a person is told once an action is done.
DONE = {
    "triage": _l("Ticket triaged."),
    "start": _l("Work started."),
    "wait": _l("The requester was asked for an answer; the SLA clock is paused meanwhile."),
    "resume": _l("Work resumed; the SLA clock runs again."),
    "resolve": _l("Ticket resolved; the requester was told what was done."),
    "close": _l("Ticket closed."),
    "reopen": _l("Ticket reopened; the support team will look at it again."),
    "cancel": _l("Ticket cancelled."),
    "duplicate": _l("Ticket closed as a duplicate."),
}

# The names people read for the fields a refusal may name.
FIELD_LABELS = {
    "title": _l("What is broken"),
    "description": _l("What happened"),
    "module": _l("ERP module"),
    "impact": _l("Impact"),
    "urgency": _l("Urgency"),
    "file": _l("File"),
    "resolution_code": _l("Resolution"),
    "resolution_note": _l("Note for the requester"),
    "priority": _l("Priority"),
    "reason": _l("Reason"),
    "assignee": _l("Assignee"),
    "group": _l("Group"),
    "duplicate_of": _l("Duplicate of"),
    "body": _l("Message"),
    "rating": _l("Rating"),
    "comment": _l("Comment"),
    "note": _l("Context for the support team"),
    "enhancement": _l("Enhancement"),
    "action": _l("Action"),
    "version": _l("Version"),
    "response": _l("First response"),
    "resolution": _l("Resolution"),
    "response_minutes": _l("First response"),
    "resolution_minutes": _l("Resolution"),
}


OPEN_VALUES = [s.value for s in OPEN_STATUSES]
ENDED_VALUES = [s.value for s in Status if s not in OPEN_STATUSES]


def _mine(user: User, statuses: list[str], limit: int) -> list:
    query = queues.TicketQuery(view="reported_by_me", status=statuses, sort="updated")
    return queues.list_tickets(db.session, user, query, cursor=None, limit=limit).items


def _my_recent(user: User) -> dict[str, Any]:
    """The requester's portal panel: open tickets by last update, then the last resolved."""
    return {"open": _mine(user, OPEN_VALUES, 5), "ended": _mine(user, ENDED_VALUES, 3)}


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
        _l("My recent tickets"),
        "incidents/_panel_mine.html",
        Permission.TICKET_VIEW_OWN,
        _my_recent,
        order=10,
    )
)
add_home_panel(
    HomePanel(
        _l("Support queues"),
        "incidents/_panel_queues.html",
        Permission.TICKET_WORK,
        _queue_counts,
        order=5,
    )
)
add_home_panel(
    HomePanel(
        _l("Waiting for pre-qualification"),
        "incidents/_panel_prequalify.html",
        Permission.TICKET_PREQUALIFY,
        _awaiting_prequalification,
        order=8,
    )
)


# --- ticket lists ------------------------------------------------------------------------------


def _list_args() -> dict[str, Any]:
    # the queue page's own arguments (saved view, the pager's way back) are not filters
    raw = {
        k: v for k, v in request.args.items() if v not in ("", None) and k not in ("saved", "trail")
    }
    try:
        return TicketListArgs().load(raw)
    except ValidationError as exc:
        flash(
            _("Some filters were not understood and were ignored: %(names)s.")
            % {"names": ", ".join(str(FIELD_LABELS.get(n, n)) for n in sorted(exc.messages))},
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
    total = queues.count_tickets(db.session, actor, query)
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
        can_create=can(actor, Permission.TICKET_CREATE),
        now=now,
        total=total,
        **extra,
    )


@blueprint.get("/tickets")
def my_tickets():
    actor = current_actor()
    require(actor, Permission.TICKET_VIEW_OWN)
    if not request.args:
        return _portal(actor)
    return _render_list("incidents/list.html", "reported_by_me", _("My tickets"))


PORTAL_LIMIT = 50


def _rows_of(actor: User, query: queues.TicketQuery, limit: int) -> tuple[list[dict], bool]:
    """Rows of ``query`` as the list shows them, and whether there are more."""
    found = queues.list_ticket_rows(
        db.session, actor, query, cursor=None, limit=limit, summary=True
    )
    now, ratio, session = utcnow(), service.warning_ratio(), db.session()
    catalogue = ListContext(session)
    rows = [
        ticket_to_dict(
            session, actor, t, now, ratio, people=found.people, summary=True, catalogue=catalogue
        )
        for t in found.page.items
    ]
    return rows, found.page.next_cursor is not None


def _followed_rows(actor: User) -> list[dict]:
    ids = watchers.followed_by(db.session, actor)
    if not ids:
        return []
    tickets = db.session.scalars(
        select(Ticket).where(Ticket.id.in_(ids)).order_by(Ticket.updated_at.desc()).limit(20)
    ).all()
    now, ratio = utcnow(), service.warning_ratio()
    return [ticket_to_dict(db.session, actor, t, now, ratio, summary=True) for t in tickets]


def _portal(actor: User):
    """My tickets as a requester reads them: open ones first, most recently updated first,
    then the resolved and closed ones, then the tickets I follow."""
    open_rows, more_open = _rows_of(
        actor,
        queues.TicketQuery(view="reported_by_me", status=OPEN_VALUES, sort="updated"),
        PORTAL_LIMIT,
    )
    ended_rows, more_ended = _rows_of(
        actor,
        queues.TicketQuery(view="reported_by_me", status=ENDED_VALUES, sort="updated"),
        20,
    )
    return render_template(
        "incidents/portal.html",
        open_rows=open_rows,
        more_open=more_open,
        ended_rows=ended_rows,
        more_ended=more_ended,
        followed=_followed_rows(actor) if can(actor, Permission.TICKET_WATCH) else [],
        can_create=can(actor, Permission.TICKET_CREATE),
        open_statuses=",".join(OPEN_VALUES),
        ended_statuses=",".join(ENDED_VALUES),
    )


@blueprint.get("/tickets/module")
def module_tickets():
    require(current_actor(), Permission.TICKET_VIEW_MODULE)
    return _render_list("incidents/list.html", None, _("Tickets of my modules"))


@blueprint.get("/tickets/all")
def all_tickets():
    require(current_actor(), Permission.TICKET_VIEW_ALL)
    return _render_list("incidents/list.html", "all", _("All tickets"))


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
        _("Support queues"),
        tabs=QUEUE_TABS,
        counts=queues.queue_counts(db.session, actor),
        **_desk_context(actor),
    )


def _desk_context(actor: User) -> dict[str, Any]:
    """What the queue page adds to a list: saved views, the bulk form's choices, the pager's
    way back (the cursors of the pages before, carried in the URL) and the agent's status.

    Three statements whatever the page holds: the views, the groups (with whether the agent
    belongs to each), the agents' names.
    """
    trail = [c for c in (request.args.get("trail") or "").split(".") if c]
    mine = (
        select(support_group_members.c.group_id)
        .where(
            support_group_members.c.group_id == SupportGroup.id,
            support_group_members.c.user_id == actor.id,
        )
        .exists()
    )
    groups = db.session.execute(
        select(SupportGroup.code, SupportGroup.name, mine.label("mine")).order_by(SupportGroup.name)
    ).all()
    agents = db.session.execute(
        select(User.email, User.name)
        .where(User.active.is_(True), User.roles.any(RoleAssignment.role == "agent"))
        .order_by(User.name)
    ).all()
    return {
        "saved": saved_views.list_views(db.session, actor),
        "saved_id": whole_number(request.args.get("saved")),
        "groups": groups,
        "my_groups": [g for g in groups if g.mine],
        "agents": agents,
        "trail": trail[-50:],
        "me": actor,
    }


# --- reporting an incident ---------------------------------------------------------------------

NEW_TICKET_FIELDS = ("title", "description", "module", "impact", "urgency")


def usual_modules(user: User, limit: int = 3) -> list[str]:
    """The codes of the modules ``user`` reported in most (recent tickets first on a tie)."""
    recent = db.session.scalars(
        select(Ticket.module_id)
        .where(Ticket.reporter_id == user.id)
        .order_by(Ticket.id.desc())
        .limit(50)
    ).all()
    counts: dict[int, int] = {}
    for module_id in recent:  # newest first: dict order breaks ties by recency
        counts[module_id] = counts.get(module_id, 0) + 1
    ranked = sorted(counts, key=lambda m: -counts[m])
    codes = {m.id: m.code for m in module_refs(db.session, include_inactive=False)}
    return [codes[m] for m in ranked if m in codes][:limit]


def _check_similar(actor: User):
    """The "look for similar tickets first" button: back to the form, what was typed kept,
    with the open tickets like it (the form works the same without JavaScript)."""
    values = {k: request.form.get(k, "") for k in NEW_TICKET_FIELDS}
    found = watchers.similar_open_tickets(db.session, actor, values["module"], values["title"])
    token = forms.keep(
        db.session,
        page=url_for("incidents.new_ticket"),
        user_id=actor.id,
        values=values,
        errors={},
        form="new",
        extra={"similar": [dataclasses.asdict(t) | {"updated_at": None} for t in found]},
    )
    db.session.commit()
    return redirect(url_for("incidents.new_ticket", draft=token, _anchor="similar"), 303)


@blueprint.route("/tickets/new", methods=["GET", "POST"])
@forms.returns_to("incidents.new_ticket")
def new_ticket():
    actor = current_actor()
    require(actor, Permission.TICKET_CREATE)
    if request.method == "POST" and request.form.get("check_similar"):
        return _check_similar(actor)
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in NEW_TICKET_FIELDS}
        try:
            ticket = service.create_ticket(db.session, actor, **values)
            assignment.assign_on_arrival(db.session, ticket)
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
        except StewardError as exc:
            db.session.rollback()
            return forms.refuse(exc, form="new")
        return forms.accepted(
            url_for("incidents.ticket_page", ref=ticket.ref),
            _("Ticket %(ref)s created. We will get back to you.", ref=ticket.ref),
        )
    draft = forms.draft()
    usual = usual_modules(actor)
    chosen = (request.args.get("module") or "").strip().upper()
    values = {"title": "", "description": "", "impact": "medium", "urgency": "medium"}
    values["module"] = chosen or (usual[0] if usual else "")
    if draft is not None:
        values.update({k: v for k, v in draft.values.items() if k in NEW_TICKET_FIELDS})
    modules = list_modules(db.session, include_inactive=False)
    rank = {code: n for n, code in enumerate(usual)}
    response = render_template(
        "incidents/new.html",
        values=values,
        draft=draft,
        errors=draft.errors if draft else {},
        labels=FIELD_LABELS,
        modules=sorted(modules, key=lambda m: (rank.get(m.code, len(rank)), m.name)),
        usual=usual,
        similar=(draft.extra.get("similar") if draft else None),
        levels=LEVELS,
        title_max=service.TITLE_MAX,
        description_max=service.DESCRIPTION_MAX,
        description_limit=format_number(service.DESCRIPTION_MAX),
        upload_limit=forms.upload_limit_text(),
    )
    # Back after sending must not show the filled form again (an invitation to a duplicate)
    return response, 200, {"Cache-Control": "no-store"}


# --- the ticket page ---------------------------------------------------------------------------


def _agents_for(ticket) -> list[User]:
    agents = db.session.scalars(
        select(User)
        .where(User.active.is_(True), User.roles.any(RoleAssignment.role == "agent"))
        .order_by(User.name)
    )
    return [a for a in agents if can(a, Permission.TICKET_WORK, ticket.module_id)]


def render_ticket(ticket, draft: forms.Draft | None = None):
    actor = current_actor()
    now, ratio = utcnow(), service.warning_ratio()
    data = ticket_to_dict(db.session, actor, ticket, now, ratio)
    internal = service.sees_internal(actor, ticket)
    support = "agent" in {p.value for p in service.parties(actor, ticket)}
    can_write_internal = conversation.may_converse(actor, ticket, public=False)
    groups = db.session.scalars(select(SupportGroup).order_by(SupportGroup.name)).all()
    return render_template(
        "incidents/ticket.html",
        t=data,
        ticket=ticket,
        comments=conversation.comments_for(db.session, actor, ticket),
        files=attachments.attachments_of(db.session, actor, ticket),
        history=timeline.plain_history(
            db.session,
            actor,
            ticket,
            service.history(db.session, actor, ticket),
            internal=internal,
            group_names={g.code: g.name for g in groups},
        ),
        watching=watchers.is_watching(db.session, actor, ticket),
        can_watch=can(actor, Permission.TICKET_WATCH) and ticket.reporter_id != actor.id,
        watcher_names=[u.name for u in watchers.watchers_of(db.session, ticket)],
        support=support,
        internal=internal,
        can_converse=conversation.may_converse(actor, ticket),
        can_write_internal=can_write_internal,
        can_prequalify=ticket.status == Status.NEW
        and can(actor, Permission.TICKET_PREQUALIFY, ticket.module_id),
        is_requester=ticket.reporter_id == actor.id,
        agents=_agents_for(ticket) if support else [],
        groups=groups if support else [],
        group_names={g.code: g.name for g in groups},
        priorities=PRIORITIES,
        levels=LEVELS,
        resolution_codes=[c for c in transitions.RESOLUTION_CODES if c != "duplicate"],
        draft=draft,
        labels=FIELD_LABELS,
        upload_limit=forms.upload_limit_text(),
        now=now,
        enhancement_links=_enhancement_links(ticket),
        canned=canned.list_canned(db.session, actor, module_id=ticket.module_id)
        if can_write_internal
        else [],
        reply_mode=(actor.reply_mode or "public") if can_write_internal else "public",
        can_take=support
        and ticket.status not in (Status.CLOSED, Status.CANCELLED)
        and ticket.assignee_id != actor.id,
    )


def _enhancement_links(ticket) -> list[dict[str, Any]]:
    """Each linked request with its status now (None: a stored reference naming no request)."""
    ids = [link.enhancement_id for link in ticket.enhancement_links if link.enhancement_id]
    statuses = enhancements.statuses_of(db.session, ids)
    return [
        {"ref": link.enhancement_ref, "status": statuses.get(link.enhancement_id)}
        for link in ticket.enhancement_links
    ]


@blueprint.get("/tickets/<ref>")
def ticket_page(ref: str):
    ticket = service.get_ticket(db.session, current_actor(), ref)
    return render_ticket(ticket, forms.draft())


STALE_TICKET = _l(
    "Someone changed this ticket while you were editing it, so your change was not saved. "
    "The ticket is shown as it is now: check it and make your change again."
)


def _act_on(ref: str, change) -> Any:
    """Run ``change(actor, ticket)``, commit, and come back to the ticket page either way."""
    actor = current_actor()
    ticket = service.get_ticket(db.session, actor, ref)
    return forms.commit_change(
        lambda: change(actor, ticket),
        target=url_for("incidents.ticket_page", ref=ticket.ref),
        stale=STALE_TICKET,
    )


def _form_params(*names: str) -> dict[str, str]:
    return {n: request.form[n].strip() for n in names if request.form.get(n, "").strip()}


@blueprint.post("/tickets/<ref>/act")
@forms.returns_to("incidents.ticket_page")
def act(ref: str):
    def change(actor, ticket):
        action = request.form.get("action", "")
        params = _form_params(
            "resolution_code", "resolution_note", "priority", "reason", "duplicate_of"
        )
        for key in ("assignee", "group"):
            if key in request.form:
                params[key] = request.form[key].strip() or None
        if action == "cancel" and not params.get("reason"):
            # a cancelled ticket cannot come back: the page asks why before doing it
            raise ValidationFailed(
                _("The ticket was not cancelled."),
                errors={"reason": [_("Say why the ticket is no longer needed.")]},
            )
        transitions.perform(db.session, actor, ticket, action, **params)
        return str(DONE.get(action, _("Done.")))

    return _act_on(ref, change)


@blueprint.post("/tickets/<ref>/update")
@forms.returns_to("incidents.ticket_page")
def update(ref: str):
    def change(actor, ticket):
        forms.check_form_version("ticket", ticket.ref, ticket.version)
        values: dict[str, Any] = {}
        for key in ("title", "description", "module", "impact", "urgency"):
            if request.form.get(key):
                values[key] = request.form[key].strip()
        for key in ("assignee", "group"):
            if key in request.form:
                values[key] = request.form[key].strip() or None
        service.update_ticket(db.session, actor, ticket, values)
        return _("Ticket updated.")

    return _act_on(ref, change)


@blueprint.post("/tickets/<ref>/comments")
@forms.returns_to("incidents.ticket_page")
def comment(ref: str):
    if request.form.get("insert"):
        return _insert_canned(ref)

    def change(actor, ticket):
        public = request.form.get("visibility", "public") != "internal"
        conversation.add_comment(
            db.session, actor, ticket, body=request.form.get("body", ""), public=public
        )
        return _("Comment added.") if public else _("Internal note added.")

    return _act_on(ref, change)


def _insert_canned(ref: str):
    """Without a script, "Insert" sends the reply box: it comes back with the canned response
    (filled for the ticket) added to what was typed, and nothing is sent to anyone."""
    actor = current_actor()
    ticket = service.get_ticket(db.session, actor, ref)
    values = dict(request.form.items())
    values.pop("insert", None)
    try:
        item = canned.get_canned(db.session, actor, whole_number(request.form.get("canned")) or 0)
        text = canned.render_for(db.session, actor, item, ticket)
    except StewardError as exc:
        return forms.refuse(exc, values=values, form="comment", errors={"canned": [exc.message]})
    typed = (values.get("body") or "").rstrip()
    values["body"] = f"{typed}\n\n{text}" if typed else text
    return forms.refuse(values=values, form="comment", errors={}, message="")


@blueprint.post("/tickets/<ref>/rating")
@forms.returns_to("incidents.ticket_page")
def rating(ref: str):
    def change(actor, ticket):
        stars = whole_number(request.form.get("rating")) or 0
        service.rate(db.session, actor, ticket, rating=stars, comment=request.form.get("comment"))
        return _("Thank you for your rating.")

    return _act_on(ref, change)


@blueprint.post("/tickets/<ref>/prequalification")
@forms.returns_to("incidents.ticket_page")
def prequalification(ref: str):
    def change(actor, ticket):
        service.prequalify(
            db.session,
            actor,
            ticket,
            priority=request.form.get("priority") or None,
            note=request.form.get("note"),
        )
        return _("Pre-qualification saved.")

    return _act_on(ref, change)


@blueprint.post("/tickets/<ref>/links")
@forms.returns_to("incidents.ticket_page")
def link(ref: str):
    def change(actor, ticket):
        service.link_enhancement(db.session, actor, ticket, request.form.get("enhancement", ""))
        return _("Enhancement linked.")

    return _act_on(ref, change)


@blueprint.post("/tickets/<ref>/attachments")
@forms.returns_to("incidents.ticket_page")
def upload(ref: str):
    def change(actor, ticket):
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ValidationFailed(
                _("No file was attached."), errors={"file": [_("Choose a file to attach.")]}
            )
        attachments.store_attachment(
            db.session,
            actor,
            ticket,
            stream=upload.stream,
            filename=upload.filename,
            content_type=upload.mimetype,
            public=request.form.get("visibility", "public") != "internal",
        )
        return _("File attached.")

    return _act_on(ref, change)


@blueprint.get("/tickets/<ref>/attachments/<int:attachment_id>")
def download(ref: str, attachment_id: int):
    actor = current_actor()
    ticket = service.get_ticket(db.session, actor, ref)
    attachment, path = attachments.attachment_path(db.session, actor, ticket, attachment_id)
    return send_file(
        path,
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
        max_age=0,
    )


# --- SLA targets -------------------------------------------------------------------------------

_WHOLE = re.compile(r"[0-9]{1,9}")


def _target_minutes(form, clock: str, errors: dict[str, list[str]]) -> int | None:
    """Hours and minutes typed for one clock, in minutes (None, with an error, if unreadable)."""
    hours_text = (form.get(f"{clock}_hours") or "").strip() or "0"
    minutes_text = (form.get(f"{clock}_minutes") or "").strip() or "0"
    if not _WHOLE.fullmatch(hours_text):
        errors[clock] = [_("Type the hours as a whole number, like 8.")]
        return None
    if not _WHOLE.fullmatch(minutes_text) or int(minutes_text) > 59:
        errors[clock] = [_("Type the minutes as a whole number from 0 to 59.")]
        return None
    return int(hours_text) * 60 + int(minutes_text)


def _clock_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """The service names targets in minutes; the page shows each clock's hours and minutes."""
    renamed = {"response_minutes": "response", "resolution_minutes": "resolution"}
    return {renamed.get(k, k): v for k, v in errors.items()}


@blueprint.route("/admin/sla", methods=["GET", "POST"])
@forms.returns_to("incidents.sla_policies_page")
def sla_policies_page():
    actor = current_actor()
    require(actor, Permission.SLA_MANAGE)
    if request.method == "POST":
        return _save_sla_policy(actor)
    policies = sla_policies(db.session)
    db.session.commit()  # defaults are stored the first time they are read
    return render_template(
        "incidents/sla.html",
        policies=[policies[p] for p in sorted(policies)],
        draft=forms.draft(),
        labels=FIELD_LABELS,
        max_hours=format_number(MAX_TARGET_MINUTES // 60),
    )


def _save_sla_policy(actor: User):
    priority = (request.form.get("priority") or "").strip().upper()
    policy = sla_policies(db.session).get(priority)
    if policy is None:
        return forms.refuse(message=_("Choose one of the priorities P1 to P5."), form="")
    try:
        forms.check_form_version("sla", priority, policy.version)
    except (StaleWrite, PreconditionRequired):
        db.session.rollback()
        message = _(
            "Someone changed the targets of %(priority)s while you were editing them, so your "
            "change was not saved. The current targets are shown: check them and save again.",
            priority=priority,
        )
        return forms.refuse(message=message, errors={}, form="")
    errors: dict[str, list[str]] = {}
    response = _target_minutes(request.form, "response", errors)
    resolution = _target_minutes(request.form, "resolution", errors)
    if errors or response is None or resolution is None:
        message = _("The targets of %(priority)s were not changed.", priority=priority)
        return forms.refuse(message=message, errors=errors)
    try:
        update_sla_policy(
            db.session,
            actor,
            priority,
            response_minutes=response,
            resolution_minutes=resolution,
            business_hours=request.form.get("business_hours") == "on",
        )
        db.session.commit()
    except StewardError as exc:
        db.session.rollback()
        return forms.refuse(exc, errors=_clock_errors(exc.errors))
    return forms.accepted(
        url_for("incidents.sla_policies_page", _anchor=f"sla_policy-{priority}"),
        _("The targets of %(priority)s are saved.", priority=priority),
    )


# --- the agents' desk: assign to me, bulk actions, saved views, canned responses, live -------


def _back_to_queue() -> str:
    """The queue page the form was sent from (its filters kept), never another site."""
    back = request.form.get("back") or ""
    if back.startswith("/queues") and not back.startswith("//"):
        return back
    return url_for("incidents.queue")


@blueprint.post("/tickets/<ref>/assign-to-me")
@forms.returns_to("incidents.ticket_page")
def take(ref: str):
    def change(actor, ticket):
        forms.check_form_version("ticket", ticket.ref, ticket.version)
        assignment.assign_to_me(db.session, actor, ticket)
        return _("%(ref)s is assigned to you.", ref=ticket.ref)

    return _act_on(ref, change)


@blueprint.post("/queues/take")
def take_from_queue():
    """ "Assign to me" on a queue row: back to the same queue, saying what happened."""
    actor = current_actor()
    require(actor, Permission.TICKET_WORK)
    try:
        [outcome] = bulk.apply_bulk(
            db.session, actor, [request.form.get("ref", "")], "assign_to_me"
        )
        db.session.commit()
    except StewardError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(_back_to_queue(), 303)
    if outcome.done:
        flash(_("%(ref)s is assigned to you.", ref=outcome.ref), "success")
    else:
        flash(_("%(ref)s: not assigned — %(why)s", ref=outcome.ref, why=outcome.message), "error")
    return redirect(_back_to_queue(), 303)


BULK_DONE = {
    "assign_to_me": _l("assigned to you"),
    "assign": _l("assigned"),
    "group": _l("moved to the group"),
    "priority": _l("priority changed"),
    "duplicate": _l("closed as a duplicate"),
    "close": _l("closed"),
}


@blueprint.post("/queues/bulk")
def bulk_action():
    """A bulk action from the queue page; each ticket's outcome is reported on the queue."""
    actor = current_actor()
    require(actor, Permission.TICKET_WORK)
    action = request.form.get("bulk_action", "")
    params = _form_params("assignee", "group", "priority", "reason", "duplicate_of")
    refs = request.form.getlist("tickets")
    try:
        outcomes = bulk.apply_bulk(db.session, actor, refs, action, **params)
        db.session.commit()
    except StewardError as exc:
        db.session.rollback()
        reasons = "; ".join(
            f"{FIELD_LABELS.get(k, k)}: {' '.join(v)}" for k, v in (exc.errors or {}).items()
        )
        flash(f"{_('Nothing was changed.')} {exc.message} {reasons}".strip(), "error")
        return redirect(_back_to_queue(), 303)
    done = [o for o in outcomes if o.done]
    flash(
        _(
            "%(done)d of %(total)d tickets %(what)s.",
            done=len(done),
            total=len(outcomes),
            what=BULK_DONE.get(action, _("done")),
        ),
        "success" if len(done) == len(outcomes) else "info",
    )
    for outcome in outcomes:
        if not outcome.done:
            flash(
                _("%(ref)s was not changed: %(why)s", ref=outcome.ref, why=outcome.message), "error"
            )
    return redirect(_back_to_queue(), 303)


@blueprint.post("/queues/views")
def save_view():
    actor = current_actor()
    require(actor, Permission.TICKET_WORK)
    back = _back_to_queue()
    filters = {
        k: v for k, v in parse_qs(urlsplit(back).query).items() if k in saved_views.FILTER_KEYS
    }
    try:
        view = saved_views.create_view(
            db.session,
            actor,
            name=request.form.get("name", ""),
            filters={k: v[0] for k, v in filters.items()},
            group=request.form.get("share_group") or None,
        )
        db.session.commit()
    except StewardError as exc:
        db.session.rollback()
        reasons = " ".join(m for v in (exc.errors or {}).values() for m in v)
        flash(f"{_('The view was not saved.')} {reasons}".strip(), "error")
        return redirect(back, 303)
    flash(_("View “%(name)s” saved.", name=view.name), "success")
    return redirect(url_for("incidents.queue", saved=view.id, **view.filters), 303)


@blueprint.post("/queues/views/<int:view_id>/delete")
def delete_view(view_id: int):
    actor = current_actor()
    require(actor, Permission.TICKET_WORK)
    try:
        view = saved_views.get_view(db.session, actor, view_id)
        name = view.name
        saved_views.delete_view(db.session, actor, view)
        db.session.commit()
    except StewardError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(_back_to_queue(), 303)
    flash(_("View “%(name)s” deleted.", name=name), "success")
    return redirect(url_for("incidents.queue"), 303)


@blueprint.get("/queues/counts.json")
def live_counts():
    """The queue counts, polled by the queue page to follow others' work."""
    actor = current_actor()
    require(actor, Permission.TICKET_WORK)
    return jsonify(counts=queues.queue_counts(db.session, actor))


@blueprint.get("/tickets/<ref>/version.json")
def live_version(ref: str):
    """The ticket's version and who changed it last, polled by the ticket page."""
    ticket = service.get_ticket(db.session, current_actor(), ref)
    data = live.ticket_version(db.session, ticket, f'"ticket-{ticket.ref}-v{ticket.version}"')
    data["updated_at"] = data["updated_at"].isoformat()
    return jsonify(data)


@blueprint.get("/tickets/<ref>/canned/<int:canned_id>.json")
def canned_text(ref: str, canned_id: int):
    """A canned response filled for the ticket, inserted in the reply box by the page's script."""
    actor = current_actor()
    ticket = service.get_ticket(db.session, actor, ref)
    item = canned.get_canned(db.session, actor, canned_id)
    return jsonify(
        id=item.id, title=item.title, text=canned.render_for(db.session, actor, item, ticket)
    )


@blueprint.post("/settings/reply-mode")
def reply_mode_setting():
    """The reply box's default mode, chosen on the ticket page."""
    actor = current_actor()
    require(actor, Permission.TICKET_WORK)
    user = identity_service.get_user(db.session, actor.id)
    try:
        identity_service.update_desk_settings(
            db.session, actor, user, {"reply_mode": request.form.get("reply_mode", "")}
        )
        db.session.commit()
    except StewardError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(_("Your reply box now opens in this mode."), "success")
    back = request.form.get("back") or ""
    return redirect(back if back.startswith("/tickets/") else url_for("identity.home"), 303)


@blueprint.post("/settings/absent")
def absent_setting():
    """Away or back: round-robin skips an agent who is away."""
    actor = current_actor()
    require(actor, Permission.TICKET_WORK)
    user = identity_service.get_user(db.session, actor.id)
    away = request.form.get("absent") == "yes"
    try:
        identity_service.update_desk_settings(db.session, actor, user, {"absent": away})
        db.session.commit()
    except StewardError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(
            _("You are away: no ticket is handed to you.") if away else _("Welcome back."),
            "success",
        )
    return redirect(_back_to_queue(), 303)


# --- desk administration: canned responses and round-robin ------------------------------------

add_nav(NavItem(_l("Desk settings"), "incidents.desk_admin", Permission.CATALOGUE_MANAGE, order=83))


@blueprint.get("/admin/desk")
def desk_admin():
    actor = current_actor()
    require(actor, Permission.CATALOGUE_MANAGE)
    return render_template(
        "incidents/desk_admin.html",
        canned=canned.list_canned(db.session, actor),
        modules=module_refs(db.session),
        rotations=assignment.rotations(db.session, actor),
        placeholders=canned.PLACEHOLDERS,
        draft=forms.draft(),
        labels=FIELD_LABELS,
    )


def _canned_values() -> dict[str, str]:
    return {k: request.form.get(k, "") for k in ("title", "body", "module")}


@blueprint.post("/admin/desk/canned")
@forms.returns_to("incidents.desk_admin")
def canned_create():
    actor = current_actor()
    require(actor, Permission.CATALOGUE_MANAGE)
    try:
        item = canned.create_canned(db.session, actor, **_canned_values())
        db.session.commit()
    except StewardError as exc:
        db.session.rollback()
        return forms.refuse(exc, form="canned-new")
    return forms.accepted(
        url_for("incidents.desk_admin", _anchor=f"canned-{item.id}"),
        _("Canned response “%(title)s” saved.", title=item.title),
    )


@blueprint.post("/admin/desk/canned/<int:canned_id>")
@forms.returns_to("incidents.desk_admin")
def canned_update(canned_id: int):
    actor = current_actor()
    require(actor, Permission.CATALOGUE_MANAGE)
    try:
        item = canned.get_canned(db.session, actor, canned_id)
        forms.check_form_version("canned", item.id, item.version)
        if request.form.get("delete"):
            canned.delete_canned(db.session, actor, item)
            message = _("Canned response deleted.")
        else:
            canned.update_canned(db.session, actor, item, _canned_values())
            message = _("Canned response “%(title)s” saved.", title=item.title)
        db.session.commit()
    except (StaleWrite, PreconditionRequired):
        db.session.rollback()
        return forms.refuse(
            message=_("Someone changed this response meanwhile; it is shown as it is now."),
            errors={},
            form="",
        )
    except StewardError as exc:
        db.session.rollback()
        return forms.refuse(exc, form=f"canned-{canned_id}")
    return forms.accepted(url_for("incidents.desk_admin"), message)


@blueprint.post("/admin/desk/rotation")
@forms.returns_to("incidents.desk_admin")
def rotation_update():
    actor = current_actor()
    require(actor, Permission.CATALOGUE_MANAGE)
    enabled = request.form.get("enabled") == "yes"
    code = request.form.get("group", "")
    try:
        assignment.set_rotation(db.session, actor, code, enabled=enabled)
        db.session.commit()
    except StewardError as exc:
        db.session.rollback()
        return forms.refuse(exc, form="rotation")
    message = (
        _("%(group)s now hands out its tickets round-robin.", group=code.upper())
        if enabled
        else _("%(group)s no longer hands out its tickets round-robin.", group=code.upper())
    )
    return forms.accepted(url_for("incidents.desk_admin"), message)
