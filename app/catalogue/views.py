"""Catalogue pages: modules (list, create, edit) and business calendars."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for

from app.catalogue import service
from app.catalogue.forms import HolidayImportForm, ModuleForm
from app.catalogue.models import BusinessCalendar, SupportGroup
from app.core.db import db
from app.core.errors import StewardError
from app.core.navigation import NavItem, add_nav
from app.core.permissions import Permission, can, require
from app.identity.auth import current_actor

blueprint = Blueprint("catalogue", __name__, url_prefix="/catalogue")

add_nav(NavItem("Modules", "catalogue.modules", Permission.CATALOGUE_MANAGE, order=80))
add_nav(NavItem("Calendars", "catalogue.calendars", Permission.CATALOGUE_MANAGE, order=81))


def _fill_choices(form: ModuleForm) -> None:
    groups = db.session.query(SupportGroup).order_by(SupportGroup.code).all()
    calendars = db.session.query(BusinessCalendar).order_by(BusinessCalendar.code).all()
    form.support_group.choices = [("", "—")] + [(g.code, g.name) for g in groups]
    form.calendar.choices = [("", "—")] + [(c.code, c.name) for c in calendars]


def _module_values(form: ModuleForm) -> dict:
    return {
        "name": form.name.data,
        "description": form.description.data or None,
        "owner": form.owner.data or None,
        "support_group": form.support_group.data or None,
        "calendar": form.calendar.data or None,
        "active": form.active.data,
    }


@blueprint.route("/modules", methods=["GET", "POST"])
def modules():
    actor = current_actor()
    require(actor, Permission.CATALOGUE_VIEW)
    form = ModuleForm()
    _fill_choices(form)
    status = 200
    if form.validate_on_submit():
        require(actor, Permission.CATALOGUE_MANAGE)
        try:
            module = service.create_module(
                db.session, actor, code=form.code.data, **_module_values(form)
            )
            db.session.commit()
            flash(f"Module {module.code} created.", "success")
            return redirect(url_for("catalogue.modules"))
        except StewardError as exc:
            db.session.rollback()
            _show_errors(form, exc)
            status = 422
    elif form.is_submitted():
        status = 422
    return render_template(
        "catalogue/modules.html",
        modules=service.list_modules(db.session),
        form=form,
        can_manage=can(actor, Permission.CATALOGUE_MANAGE),
    ), status


@blueprint.route("/modules/<code>", methods=["GET", "POST"])
def edit_module(code: str):
    actor = current_actor()
    require(actor, Permission.CATALOGUE_MANAGE)
    module = service.get_module(db.session, code)
    form = (
        ModuleForm(
            data={
                "code": module.code,
                "name": module.name,
                "description": module.description,
                "owner": module.owner.email if module.owner else "",
                "support_group": module.support_group.code if module.support_group else "",
                "calendar": module.calendar.code if module.calendar else "",
                "active": module.active,
            }
        )
        if not ModuleForm().is_submitted()
        else ModuleForm()
    )
    _fill_choices(form)
    status = 200
    if form.validate_on_submit():
        try:
            service.update_module(db.session, actor, module, **_module_values(form))
            db.session.commit()
            flash(f"Module {module.code} saved.", "success")
            return redirect(url_for("catalogue.modules"))
        except StewardError as exc:
            db.session.rollback()
            _show_errors(form, exc)
            status = 422
    elif form.is_submitted():
        status = 422
    return render_template("catalogue/module_edit.html", module=module, form=form), status


def _show_errors(form, exc: StewardError) -> None:
    flash(exc.message, "error")
    for name, messages in exc.errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors) + list(messages)


@blueprint.route("/calendars", methods=["GET", "POST"])
def calendars():
    actor = current_actor()
    require(actor, Permission.CATALOGUE_MANAGE)
    form = HolidayImportForm()
    return render_template(
        "catalogue/calendars.html",
        calendars=db.session.query(BusinessCalendar).order_by(BusinessCalendar.code).all(),
        form=form,
    )


@blueprint.post("/calendars/<code>/import")
def import_holidays(code: str):
    actor = current_actor()
    require(actor, Permission.CATALOGUE_MANAGE)
    calendar = service.get_calendar(db.session, code)
    form = HolidayImportForm()
    if form.validate_on_submit() and form.year.data.isdigit():
        try:
            added = service.import_public_holidays(
                db.session, actor, calendar, form.country.data, [int(form.year.data)]
            )
            db.session.commit()
            flash(f"{added} holidays added to {calendar.code}.", "success")
        except StewardError as exc:
            db.session.rollback()
            flash(exc.message, "error")
    else:
        flash("Give a country code and a four-digit year.", "error")
    return redirect(url_for("catalogue.calendars"))
