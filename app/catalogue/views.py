"""Catalogue pages: ERP modules (list, create, edit) and business calendars (working hours per
weekday, holidays one by one or imported for a country).

Every form answers with a redirect (Post/Redirect/Get, ``app.core.forms``); a refused one comes
back to its page with what was typed and each error beside its field.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from zoneinfo import available_timezones

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app.catalogue import service
from app.catalogue.forms import ModuleForm
from app.catalogue.models import BusinessCalendar, SupportGroup
from app.core import forms
from app.core.db import db
from app.core.errors import PreconditionRequired, StaleWrite, StewardError
from app.core.navigation import EntityPage, NavItem, add_entity_page, add_nav
from app.core.permissions import Permission, Role, can, require
from app.identity.auth import current_actor
from app.identity.models import RoleAssignment, User

blueprint = Blueprint("catalogue", __name__, url_prefix="/catalogue")

add_nav(NavItem(_l("Modules"), "catalogue.modules", Permission.CATALOGUE_MANAGE, order=80))
add_nav(NavItem(_l("Calendars"), "catalogue.calendars", Permission.CATALOGUE_MANAGE, order=81))
add_entity_page(
    EntityPage(
        "module", _l("ERP module"), "catalogue.modules", Permission.CATALOGUE_VIEW, anchor=True
    )
)
add_entity_page(
    EntityPage(
        "business_calendar",
        _l("Business calendar"),
        "catalogue.calendars",
        Permission.CATALOGUE_MANAGE,
        anchor=True,
    )
)
add_entity_page(
    EntityPage(
        "support_group",
        _l("Support group"),
        "catalogue.groups",
        Permission.CATALOGUE_MANAGE,
        anchor=True,
    )
)

WEEKDAYS = (
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
)
FIELD_LABELS = {
    "code": _l("Code"),
    "name": _l("Name"),
    "owner": _l("Owner email"),
    "support_group": _l("Support group"),
    "calendar": _l("Business calendar"),
    "day": _l("Date"),
    "country": _l("Country code"),
    "year": _l("Year"),
    "years": _l("Year"),
    "working_hours": _l("Working hours"),
    "hours": _l("Working hours"),
    "timezone": _l("Time zone"),
    **{f"day{n}": label for n, label in enumerate(WEEKDAYS)},
}


# --- modules -----------------------------------------------------------------------------------


def _fill_choices(form: ModuleForm) -> None:
    groups = db.session.query(SupportGroup).order_by(SupportGroup.name).all()
    calendars = db.session.query(BusinessCalendar).order_by(BusinessCalendar.name).all()
    form.support_group.choices = [("", "—")] + [(g.code, g.name) for g in groups]
    form.calendar.choices = [("", _("none: around the clock"))] + [
        (c.code, c.name) for c in calendars
    ]


def _module_values(form: ModuleForm) -> dict:
    return {
        "name": form.name.data,
        "description": form.description.data or None,
        "owner": form.owner.data or None,
        "support_group": form.support_group.data or None,
        "calendar": form.calendar.data or None,
        "active": form.active.data,
    }


def _form_from_draft(draft: forms.Draft | None, data: dict | None = None) -> ModuleForm:
    """The module form as stored (``data``) or, after a refusal, as it was typed."""
    if draft is None:
        form = ModuleForm(data=data) if data is not None else ModuleForm()
    else:
        form = ModuleForm(formdata=MultiDict(draft.values))
        for name, messages in draft.errors.items():
            field = getattr(form, name, None)
            if field is not None:
                field.errors = list(messages)
    _fill_choices(form)
    return form


def _refuse_module(form: ModuleForm, message: str, exc: StewardError | None = None):
    errors = {k: list(v) for k, v in form.errors.items() if k != "csrf_token"}
    if exc is not None:
        errors.update(exc.errors)
    return forms.refuse(exc, errors=errors, message=message)


@blueprint.route("/modules", methods=["GET", "POST"])
@forms.returns_to("catalogue.modules")
def modules():
    actor = current_actor()
    require(actor, Permission.CATALOGUE_VIEW)
    if request.method == "POST":
        require(actor, Permission.CATALOGUE_MANAGE)
        form = ModuleForm()
        _fill_choices(form)
        if not form.validate():
            return _refuse_module(form, _("The module was not created."))
        try:
            module = service.create_module(
                db.session, actor, code=form.code.data, **_module_values(form)
            )
            db.session.commit()
        except StewardError as exc:
            db.session.rollback()
            return _refuse_module(form, exc.message, exc)
        return forms.accepted(
            url_for("catalogue.modules"), _("Module %(code)s created.", code=module.code)
        )
    draft = forms.draft()
    return render_template(
        "catalogue/modules.html",
        modules=service.list_modules(db.session),
        form=_form_from_draft(draft),
        draft=draft,
        labels=FIELD_LABELS,
        can_manage=can(actor, Permission.CATALOGUE_MANAGE),
    )


@blueprint.route("/modules/<code>", methods=["GET", "POST"])
@forms.returns_to("catalogue.edit_module")
def edit_module(code: str):
    actor = current_actor()
    require(actor, Permission.CATALOGUE_MANAGE)
    module = service.get_module(db.session, code)
    if request.method == "POST":
        form = ModuleForm()
        _fill_choices(form)
        if not form.validate():
            return _refuse_module(form, _("The module was not saved."))
        try:
            forms.check_form_version("module", module.code, module.version)
            service.update_module(db.session, actor, module, **_module_values(form))
            db.session.commit()
        except (StaleWrite, PreconditionRequired):
            db.session.rollback()
            return forms.refuse(message=_stale(module.code), errors={}, form="")
        except StewardError as exc:
            db.session.rollback()
            return _refuse_module(form, exc.message, exc)
        return forms.accepted(
            url_for("catalogue.modules"), _("Module %(code)s saved.", code=module.code)
        )
    draft = forms.draft()
    stored = {
        "code": module.code,
        "name": module.name,
        "description": module.description,
        "owner": module.owner.email if module.owner else "",
        "support_group": module.support_group.code if module.support_group else "",
        "calendar": module.calendar.code if module.calendar else "",
        "active": module.active,
    }
    return render_template(
        "catalogue/module_edit.html",
        module=module,
        form=_form_from_draft(draft if draft and draft.form else None, stored),
        draft=draft,
        labels=FIELD_LABELS,
    )


def _stale(name: str) -> str:
    return _(
        "Someone changed %(name)s while you were editing it, so your change was not saved. "
        "It is shown as it is now: check it and make your change again.",
        name=name,
    )


# --- calendars ---------------------------------------------------------------------------------

_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*(?:-|\u2013|\u2014|to)\s*(\d{1,2}):(\d{2})\s*$")


def hours_text(spans: list[list[str]]) -> str:
    """Working hours of one weekday as typed on the page: "09:00-12:30, 13:30-17:30"."""
    return ", ".join(f"{start}-{end}" for start, end in spans)


def _parse_hours(form) -> tuple[dict[str, list[list[str]]], dict[str, list[str]]]:
    """The weekday fields (``day0`` = Monday ... ``day6``) as the calendar's working hours."""
    hours: dict[str, list[list[str]]] = {}
    errors: dict[str, list[str]] = {}
    for day in range(7):
        text = (form.get(f"day{day}") or "").strip()
        spans = []
        for piece in filter(None, (p.strip() for p in text.split(","))):
            match = _SPAN.match(piece)
            if match is None:
                errors[f"day{day}"] = [
                    _("Write the hours like 09:00-12:30, 13:30-17:30, or leave empty if closed.")
                ]
                break
            h1, m1, h2, m2 = match.groups()
            spans.append([f"{int(h1):02d}:{m1}", f"{int(h2):02d}:{m2}"])
        if spans:
            hours[str(day)] = spans
    return hours, errors


def _calendar_rows(calendar: BusinessCalendar) -> list[dict[str, Any]]:
    hours = calendar.working_hours or {}
    return [
        {"key": f"day{n}", "label": label, "text": hours_text(hours.get(str(n), []))}
        for n, label in enumerate(WEEKDAYS)
    ]


@blueprint.get("/calendars")
def calendars():
    actor = current_actor()
    require(actor, Permission.CATALOGUE_MANAGE)
    items = db.session.query(BusinessCalendar).order_by(BusinessCalendar.code).all()
    return render_template(
        "catalogue/calendars.html",
        calendars=[(c, _calendar_rows(c)) for c in items],
        draft=forms.draft(),
        labels=FIELD_LABELS,
        this_year=date.today().year,
        zones=sorted(available_timezones() | {"UTC"}),
    )


def _calendar_or_refuse(code: str):
    actor = current_actor()
    require(actor, Permission.CATALOGUE_MANAGE)
    return actor, service.get_calendar(db.session, code)


def _back_to(calendar: BusinessCalendar) -> str:
    return url_for("catalogue.calendars", _anchor=f"business_calendar-{calendar.code}")


@blueprint.post("/calendars/<code>/hours")
@forms.returns_to("catalogue.calendars")
def working_hours(code: str):
    actor, calendar = _calendar_or_refuse(code)
    hours, errors = _parse_hours(request.form)
    if errors:
        return forms.refuse(
            message=_("The working hours of %(name)s were not changed.", name=calendar.name),
            errors=errors,
        )
    try:
        forms.check_form_version("calendar", calendar.code, calendar.version)
        service.update_calendar(db.session, actor, calendar, working_hours=hours)
        db.session.commit()
    except (StaleWrite, PreconditionRequired):
        db.session.rollback()
        return forms.refuse(message=_stale(calendar.name), errors={}, form="")
    except StewardError as exc:
        db.session.rollback()
        errors = {"hours": [m for ms in exc.errors.values() for m in ms]} if exc.errors else {}
        return forms.refuse(exc, errors=errors)
    return forms.accepted(
        _back_to(calendar), _("Working hours of %(name)s saved.", name=calendar.name)
    )


@blueprint.post("/calendars/<code>/holidays")
@forms.returns_to("catalogue.calendars")
def add_holiday(code: str):
    actor, calendar = _calendar_or_refuse(code)
    errors: dict[str, list[str]] = {}
    name = (request.form.get("name") or "").strip()
    try:
        day = date.fromisoformat((request.form.get("day") or "").strip())
    except ValueError:
        day = None
        errors["day"] = [_("Pick a date.")]
    if not name:
        errors["name"] = [_("Give the holiday a name.")]
    elif len(name) > 120:
        errors["name"] = [_("At most 120 characters.")]
    if errors or day is None:
        return forms.refuse(message=_("The holiday was not added."), errors=errors)
    try:
        service.add_holiday(db.session, actor, calendar, day, name)
        db.session.commit()
    except StewardError as exc:
        db.session.rollback()
        return forms.refuse(exc, message=_("The holiday was not added."))
    return forms.accepted(
        _back_to(calendar),
        _("%(name)s added to %(calendar)s.", name=name, calendar=calendar.name),
    )


@blueprint.post("/calendars/<code>/holidays/<day>/delete")
@forms.returns_to("catalogue.calendars")
def remove_holiday(code: str, day: str):
    actor, calendar = _calendar_or_refuse(code)
    try:
        when = date.fromisoformat(day)
        service.remove_holiday(db.session, actor, calendar, when)
        db.session.commit()
    except ValueError:
        return forms.refuse(message=_("No such holiday."), errors={}, form="")
    except StewardError as exc:
        db.session.rollback()
        return forms.refuse(exc, errors={}, form="")
    return forms.accepted(
        _back_to(calendar), _("The holiday is removed from %(name)s.", name=calendar.name)
    )


@blueprint.post("/calendars/<code>/import")
@forms.returns_to("catalogue.calendars")
def import_holidays(code: str):
    actor, calendar = _calendar_or_refuse(code)
    country = (request.form.get("country") or "").strip()
    year = (request.form.get("year") or "").strip()
    errors: dict[str, list[str]] = {}
    if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,3})?", country):
        errors["country"] = [_("A country code, like FR or US.")]
    if not re.fullmatch(r"20[0-9]{2}|2100", year):
        errors["year"] = [_("A year from 2000 to 2100.")]
    if errors:
        return forms.refuse(message=_("No holidays were imported."), errors=errors)
    try:
        added = service.import_public_holidays(db.session, actor, calendar, country, [int(year)])
        db.session.commit()
    except StewardError as exc:
        db.session.rollback()
        return forms.refuse(exc, message=_("No holidays were imported."))
    return forms.accepted(
        _back_to(calendar),
        _("%(count)s holidays added to %(name)s.", count=added, name=calendar.name),
    )


@blueprint.post("/calendars")
@forms.returns_to("catalogue.calendars")
def create_calendar():
    """A new calendar: code, name and time zone; working hours start as Monday to Friday."""
    actor = current_actor()
    require(actor, Permission.CATALOGUE_MANAGE)
    code = (request.form.get("code") or "").strip().upper()
    name = (request.form.get("name") or "").strip()
    zone = (request.form.get("timezone") or "").strip()
    errors: dict[str, list[str]] = {}
    if not re.fullmatch(r"[A-Z0-9_]{2,16}", code):
        errors["code"] = [_("2 to 16 letters, digits or _, like PARIS.")]
    if not name or len(name) > 120:
        errors["name"] = [_("Give the calendar a name (at most 120 characters).")]
    if not zone:
        errors["timezone"] = [_("Choose a time zone.")]
    if errors:
        return forms.refuse(message=_("The calendar was not created."), errors=errors)
    try:
        calendar = service.create_calendar(db.session, actor, code=code, name=name, timezone=zone)
        db.session.commit()
    except StewardError as exc:
        db.session.rollback()
        return forms.refuse(exc, message=_("The calendar was not created."))
    return forms.accepted(
        _back_to(calendar), _("Calendar %(name)s created: set its hours.", name=calendar.name)
    )


@blueprint.post("/calendars/<code>/timezone")
@forms.returns_to("catalogue.calendars")
def calendar_timezone(code: str):
    actor, calendar = _calendar_or_refuse(code)
    zone = (request.form.get("timezone") or "").strip()
    try:
        forms.check_form_version("calendar", calendar.code, calendar.version)
        service.update_calendar(db.session, actor, calendar, timezone=zone)
        db.session.commit()
    except (StaleWrite, PreconditionRequired):
        db.session.rollback()
        return forms.refuse(message=_stale(calendar.name), errors={}, form="")
    except StewardError as exc:
        db.session.rollback()
        return forms.refuse(exc, message=_("The time zone was not changed."))
    return forms.accepted(
        _back_to(calendar), _("%(name)s now counts in %(zone)s.", name=calendar.name, zone=zone)
    )


# --- support groups ----------------------------------------------------------------------------

add_nav(NavItem(_l("Support groups"), "catalogue.groups", Permission.CATALOGUE_MANAGE, order=79))


def _agents() -> list[User]:
    """Who may be in a support group: active people with the agent role."""
    return db.session.scalars(
        select(User)
        .where(User.active.is_(True), User.roles.any(RoleAssignment.role == Role.AGENT.value))
        .order_by(User.name)
    ).all()


@blueprint.route("/groups", methods=["GET", "POST"])
@forms.returns_to("catalogue.groups")
def groups():
    """Support groups (who answers a module's tickets) and their members."""
    actor = current_actor()
    require(actor, Permission.CATALOGUE_MANAGE)
    if request.method == "POST":
        code = (request.form.get("code") or "").strip().upper()
        name = (request.form.get("name") or "").strip()
        email = (request.form.get("email") or "").strip() or None
        errors: dict[str, list[str]] = {}
        if not re.fullmatch(r"[A-Z0-9_]{2,16}", code):
            errors["code"] = [_("2 to 16 letters, digits or _, like FIN_SUP.")]
        if not name or len(name) > 120:
            errors["name"] = [_("Give the group a name (at most 120 characters).")]
        if email and (len(email) > 320 or not re.fullmatch(r"[^@\s]+@[^@\s]+", email)):
            errors["email"] = [_("A mailbox address, like finance-support@example.com.")]
        if errors:
            return forms.refuse(message=_("The group was not created."), errors=errors)
        try:
            group = service.create_group(db.session, actor, code=code, name=name, email=email)
            db.session.commit()
        except StewardError as exc:
            db.session.rollback()
            return forms.refuse(exc, message=_("The group was not created."))
        return forms.accepted(
            url_for("catalogue.groups", _anchor=f"support_group-{group.code}"),
            _("Group %(name)s created: add its members.", name=group.name),
        )
    items = db.session.scalars(select(SupportGroup).order_by(SupportGroup.name)).all()
    return render_template(
        "catalogue/groups.html",
        groups=items,
        agents=_agents(),
        draft=forms.draft(),
        labels={**FIELD_LABELS, "email": _l("Shared mailbox"), "members": _l("Members")},
    )


@blueprint.post("/groups/<code>/members")
@forms.returns_to("catalogue.groups")
def group_members(code: str):
    actor = current_actor()
    require(actor, Permission.CATALOGUE_MANAGE)
    group = service.get_group(db.session, code)
    wanted = {value for value in request.form.getlist("members") if value.isdigit()}
    chosen = [a for a in _agents() if str(a.id) in wanted]
    # members who are no longer agents stay unless unticked (they are listed to be unticked)
    kept = [m for m in group.members if str(m.id) in wanted and m not in chosen]
    try:
        service.set_group_members(db.session, actor, group, chosen + kept)
        db.session.commit()
    except StewardError as exc:
        db.session.rollback()
        return forms.refuse(exc, errors={}, form="")
    return forms.accepted(
        url_for("catalogue.groups", _anchor=f"support_group-{group.code}"),
        _("Members of %(name)s saved.", name=group.name),
    )
