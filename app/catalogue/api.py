"""Catalogue API: ERP modules, support groups and business calendars (admins change them)."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from sqlalchemy import select

from app.catalogue import service
from app.catalogue.models import BusinessCalendar, Module, SlaPolicy, SupportGroup
from app.catalogue.schemas import (
    CalendarList,
    CalendarPatchSchema,
    CalendarSchema,
    GroupList,
    GroupSchema,
    HolidayImportSchema,
    HolidaySchema,
    ModuleList,
    ModulePatchSchema,
    ModuleSchema,
    SlaPolicyList,
    SlaPolicySchema,
)
from app.core.db import db
from app.core.errors import NotFound, ValidationFailed
from app.core.etag import check_if_match, etag_for
from app.core.pagination import SortKey, paginate
from app.core.permissions import Permission, can, require
from app.core.schemas import PageArgs
from app.identity.auth import current_actor
from app.identity.service import find_user_by_email

blp = Blueprint("catalogue_api", __name__, description="ERP modules, support groups, calendars")


def blueprints() -> list[Blueprint]:
    return [blp]


def _page(model, code, args: dict, dump) -> dict:
    """One page of a catalogue list, in the order of its unique ``code`` column (then id)."""
    keys = [
        SortKey(code, lambda row: getattr(row, code.key)),
        SortKey(model.id, lambda row: row.id),
    ]
    page = paginate(db.session, select(model), keys, args["cursor"], args["limit"])
    return {"items": [dump(row) for row in page.items], "next_cursor": page.next_cursor}


def _sees_emails() -> bool:
    """Staff emails are for those who may view users (the support team); others see names."""
    return can(current_actor(), Permission.USER_VIEW)


def dump_module(module: Module) -> dict:
    data = {
        "id": module.id,
        "code": module.code,
        "name": module.name,
        "description": module.description,
        "active": module.active,
        "owner": module.owner.email if module.owner else None,
        "owner_name": module.owner.name if module.owner else None,
        "support_group": module.support_group.code if module.support_group else None,
        "calendar": module.calendar.code if module.calendar else None,
    }
    if not _sees_emails():
        del data["owner"]
    return data


def dump_group(group: SupportGroup) -> dict:
    members = sorted(group.members, key=lambda u: (u.name, u.id))
    data = {
        "code": group.code,
        "name": group.name,
        "email": group.email,
        "members": sorted(u.email for u in members),
        "member_names": [u.name for u in members],
    }
    if not _sees_emails():
        del data["members"]
    return data


def dump_calendar(calendar: BusinessCalendar) -> dict:
    return {
        "code": calendar.code,
        "name": calendar.name,
        "timezone": calendar.timezone,
        "working_hours": calendar.working_hours,
        "country": calendar.country,
        "holidays": [{"day": h.day, "name": h.name} for h in calendar.holidays],
    }


@blp.route("/modules")
class Modules(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, ModuleList)
    def get(self, args: dict):
        """ERP modules by code, one page at a time (``cursor``, ``limit``)."""
        require(current_actor(), Permission.CATALOGUE_VIEW)
        return _page(Module, Module.code, args, dump_module)

    @blp.arguments(ModuleSchema)
    @blp.response(201, ModuleSchema)
    def post(self, body: dict):
        """Create an ERP module."""
        actor = current_actor()
        require(actor, Permission.CATALOGUE_MANAGE)
        module = service.create_module(db.session, actor, **body)
        db.session.commit()
        return dump_module(module), 201, {"ETag": etag_for("module", module.code, module.version)}


@blp.route("/modules/<code>")
class ModuleItem(MethodView):
    @blp.response(200, ModuleSchema)
    def get(self, code: str):
        """One module."""
        require(current_actor(), Permission.CATALOGUE_VIEW)
        module = service.get_module(db.session, code)
        return dump_module(module), 200, {"ETag": etag_for("module", module.code, module.version)}

    @blp.arguments(ModulePatchSchema)
    @blp.response(200, ModuleSchema)
    def patch(self, body: dict, code: str):
        """Change a module (If-Match)."""
        actor = current_actor()
        require(actor, Permission.CATALOGUE_MANAGE)
        module = service.get_module(db.session, code)
        check_if_match(
            request.headers.get("If-Match"), etag_for("module", module.code, module.version)
        )
        service.update_module(db.session, actor, module, **body)
        db.session.commit()
        return dump_module(module), 200, {"ETag": etag_for("module", module.code, module.version)}


@blp.route("/support-groups")
class Groups(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, GroupList)
    def get(self, args: dict):
        """Support groups and their members, by code, one page at a time."""
        require(current_actor(), Permission.CATALOGUE_VIEW)
        return _page(SupportGroup, SupportGroup.code, args, dump_group)

    @blp.arguments(GroupSchema)
    @blp.response(201, GroupSchema)
    def post(self, body: dict):
        """Create a support group with its members."""
        actor = current_actor()
        require(actor, Permission.CATALOGUE_MANAGE)
        users = []
        for email in body.pop("members"):
            user = find_user_by_email(db.session, email)
            if user is None:
                raise ValidationFailed(
                    _l("Unknown member."),
                    errors={"members": [_l("No user %(email)s.", email=email)]},
                )
            users.append(user)
        group = service.create_group(db.session, actor, **body)  # only once the input is valid
        service.set_group_members(db.session, actor, group, users)
        db.session.commit()
        return dump_group(group)


@blp.route("/calendars")
class Calendars(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, CalendarList)
    def get(self, args: dict):
        """Business calendars with their holidays, by code, one page at a time."""
        require(current_actor(), Permission.CATALOGUE_VIEW)
        return _page(BusinessCalendar, BusinessCalendar.code, args, dump_calendar)

    @blp.arguments(CalendarSchema)
    @blp.response(201, CalendarSchema)
    def post(self, body: dict):
        """Create a business calendar (time zone, working hours per weekday)."""
        actor = current_actor()
        require(actor, Permission.CATALOGUE_MANAGE)
        calendar = service.create_calendar(db.session, actor, **body)
        db.session.commit()
        return (
            dump_calendar(calendar),
            201,
            {"ETag": etag_for("calendar", calendar.code, calendar.version)},
        )


@blp.route("/calendars/<code>")
class CalendarItem(MethodView):
    @blp.response(200, CalendarSchema)
    def get(self, code: str):
        """One calendar."""
        require(current_actor(), Permission.CATALOGUE_VIEW)
        calendar = service.get_calendar(db.session, code)
        return (
            dump_calendar(calendar),
            200,
            {"ETag": etag_for("calendar", calendar.code, calendar.version)},
        )

    @blp.arguments(CalendarPatchSchema)
    @blp.response(200, CalendarSchema)
    def patch(self, body: dict, code: str):
        """Change a calendar's name, zone or hours (If-Match)."""
        actor = current_actor()
        require(actor, Permission.CATALOGUE_MANAGE)
        calendar = service.get_calendar(db.session, code)
        check_if_match(
            request.headers.get("If-Match"), etag_for("calendar", calendar.code, calendar.version)
        )
        service.update_calendar(db.session, actor, calendar, **body)
        db.session.commit()
        return (
            dump_calendar(calendar),
            200,
            {"ETag": etag_for("calendar", calendar.code, calendar.version)},
        )


@blp.route("/calendars/<code>/holidays")
class CalendarHolidays(MethodView):
    @blp.arguments(HolidaySchema)
    @blp.response(201, CalendarSchema)
    def post(self, body: dict, code: str):
        """Add a holiday."""
        actor = current_actor()
        require(actor, Permission.CATALOGUE_MANAGE)
        calendar = service.get_calendar(db.session, code)
        service.add_holiday(db.session, actor, calendar, body["day"], body["name"])
        db.session.commit()
        return dump_calendar(calendar)


@blp.route("/calendars/<code>/holidays/import")
class CalendarHolidayImport(MethodView):
    @blp.arguments(HolidayImportSchema)
    @blp.response(200, CalendarSchema)
    def post(self, body: dict, code: str):
        """Import a country's public holidays for some years (from the holidays package)."""
        actor = current_actor()
        require(actor, Permission.CATALOGUE_MANAGE)
        calendar = service.get_calendar(db.session, code)
        service.import_public_holidays(db.session, actor, calendar, body["country"], body["years"])
        db.session.commit()
        return dump_calendar(calendar)


def dump_policy(policy) -> dict:
    return {
        "priority": policy.priority,
        "response_minutes": policy.response_minutes,
        "resolution_minutes": policy.resolution_minutes,
        "business_hours": policy.business_hours,
        "version": policy.version,
    }


@blp.route("/sla-policies")
class SlaPolicies(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, SlaPolicyList)
    def get(self, args: dict):
        """SLA targets per priority (minutes; a business day counts 8 hours)."""
        require(current_actor(), Permission.CATALOGUE_VIEW)
        service.sla_policies(db.session)
        db.session.commit()  # defaults are stored the first time they are read
        return _page(SlaPolicy, SlaPolicy.priority, args, dump_policy)


@blp.route("/sla-policies/<priority>")
class SlaPolicyItem(MethodView):
    @blp.response(200, SlaPolicySchema)
    def get(self, priority: str):
        """One priority's targets."""
        require(current_actor(), Permission.CATALOGUE_VIEW)
        policy = service.sla_policies(db.session).get(priority.upper())
        if policy is None:
            raise NotFound(_l("No SLA policy for %(priority)s.", priority=repr(priority)))
        db.session.commit()
        return dump_policy(policy), 200, {"ETag": etag_for("sla", policy.priority, policy.version)}

    @blp.arguments(SlaPolicySchema)
    @blp.response(200, SlaPolicySchema)
    def patch(self, body: dict, priority: str):
        """Change targets (admins; If-Match). Applies to tickets (re)prioritised afterwards."""
        actor = current_actor()
        require(actor, Permission.SLA_MANAGE)
        policy = service.sla_policies(db.session).get(priority.upper())
        if policy is None:
            raise NotFound(_l("No SLA policy for %(priority)s.", priority=repr(priority)))
        check_if_match(
            request.headers.get("If-Match"), etag_for("sla", policy.priority, policy.version)
        )
        service.update_sla_policy(db.session, actor, policy.priority, **body)
        db.session.commit()
        return dump_policy(policy), 200, {"ETag": etag_for("sla", policy.priority, policy.version)}
