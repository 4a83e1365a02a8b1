"""Modules, support groups and business calendars: creation, change, and holiday import."""

from __future__ import annotations

import re
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays as public_holidays
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalogue.models import BusinessCalendar, Holiday, Module, SlaPolicy, SupportGroup
from app.core import audit
from app.core.business_time import WorkingCalendar
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.identity.models import User

CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{1,15}$")
DEFAULT_HOURS = {str(d): [["09:00", "17:00"]] for d in range(5)}


def _check_code(code: str) -> str:
    code = (code or "").strip().upper()
    if not CODE_PATTERN.match(code):
        raise ValidationFailed(
            "Invalid code.",
            errors={"code": ["2-16 letters, digits or underscores, starting with a letter."]},
        )
    return code


def list_modules(session: Session, *, include_inactive: bool = True) -> list[Module]:
    stmt = select(Module).order_by(Module.code)
    if not include_inactive:
        stmt = stmt.where(Module.active.is_(True))
    return list(session.scalars(stmt))


def get_module(session: Session, code: str) -> Module:
    module = session.scalar(select(Module).where(Module.code == (code or "").upper()))
    if module is None:
        raise NotFound(f"No module {code!r}.")
    return module


def get_group(session: Session, code: str) -> SupportGroup:
    group = session.scalar(select(SupportGroup).where(SupportGroup.code == (code or "").upper()))
    if group is None:
        raise NotFound(f"No support group {code!r}.")
    return group


def get_calendar(session: Session, code: str) -> BusinessCalendar:
    calendar = session.scalar(
        select(BusinessCalendar).where(BusinessCalendar.code == (code or "").upper())
    )
    if calendar is None:
        raise NotFound(f"No business calendar {code!r}.")
    return calendar


def _resolve_refs(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    """Turn the API's references (owner email, group and calendar codes) into ids."""
    resolved = dict(values)
    if "owner" in resolved:
        email = resolved.pop("owner")
        owner = None
        if email:
            owner = session.scalar(select(User).where(User.email == email.strip().lower()))
            if owner is None:
                raise ValidationFailed("Unknown owner.", errors={"owner": ["No such user."]})
        resolved["owner_id"] = owner.id if owner else None
    for key, getter, column in (
        ("support_group", get_group, "support_group_id"),
        ("calendar", get_calendar, "calendar_id"),
    ):
        if key in resolved:
            code = resolved.pop(key)
            try:
                resolved[column] = getter(session, code).id if code else None
            except NotFound as exc:
                raise ValidationFailed(exc.message, errors={key: [exc.message]}) from exc
    return resolved


def create_module(session: Session, actor: User, **values: Any) -> Module:
    """Create an ERP module; the code is unique and upper-case."""
    code = _check_code(values.pop("code", ""))
    if session.scalar(select(Module.id).where(Module.code == code)):
        raise Conflict(f"Module {code} already exists.", errors={"code": ["Already used."]})
    module = Module(code=code, **_resolve_refs(session, values))
    session.add(module)
    session.flush()
    audit.record(
        session,
        actor,
        "module",
        module.code,
        "created",
        {"code": [None, code], "name": [None, module.name]},
    )
    return module


def update_module(session: Session, actor: User, module: Module, **values: Any) -> Module:
    """Change a module's name, description, owner, group, calendar or active flag."""
    changes = audit.apply_changes(module, _resolve_refs(session, values))
    if changes:
        session.flush()
        audit.record(session, actor, "module", module.code, "updated", changes)
    return module


def create_group(
    session: Session, actor: User, *, code: str, name: str, email: str | None = None
) -> SupportGroup:
    code = _check_code(code)
    if session.scalar(select(SupportGroup.id).where(SupportGroup.code == code)):
        raise Conflict(f"Group {code} already exists.", errors={"code": ["Already used."]})
    group = SupportGroup(code=code, name=name, email=email)
    session.add(group)
    session.flush()
    audit.record(session, actor, "support_group", code, "created", {"name": [None, name]})
    return group


def set_group_members(
    session: Session, actor: User, group: SupportGroup, users: list[User]
) -> None:
    before = sorted(u.email for u in group.members)
    after = sorted(u.email for u in users)
    if before != after:
        group.members = list(users)
        audit.record(
            session,
            actor,
            "support_group",
            group.code,
            "members_changed",
            {"members": [before, after]},
        )


def _parse_hhmm(raw: str) -> time:
    if raw == "24:00":
        return time(0)
    try:
        return time.fromisoformat(raw)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(
            "Invalid working hours.", errors={"working_hours": [f"{raw!r} is not HH:MM."]}
        ) from exc


def check_working_hours(hours: dict[str, list[list[str]]]) -> dict[str, list[list[str]]]:
    """Validate {"weekday": [["HH:MM", "HH:MM"], ...]} by building the calendar from it."""
    if not isinstance(hours, dict):
        raise ValidationFailed(
            "Invalid working hours.", errors={"working_hours": ["Must be an object."]}
        )
    for day, intervals in hours.items():
        if day not in {str(d) for d in range(7)}:
            raise ValidationFailed(
                "Invalid working hours.", errors={"working_hours": [f"Weekday {day!r} is not 0-6."]}
            )
        if not isinstance(intervals, list) or not all(
            isinstance(i, list | tuple) and len(i) == 2 for i in intervals
        ):
            raise ValidationFailed(
                "Invalid working hours.",
                errors={"working_hours": ["Each weekday maps to a list of [start, end] pairs."]},
            )
    try:
        to_working_calendar_parts("UTC", hours, frozenset())
    except ValueError as exc:
        raise ValidationFailed(
            "Invalid working hours.", errors={"working_hours": [str(exc)]}
        ) from exc
    return hours


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValidationFailed(
            "Unknown time zone.", errors={"timezone": [f"{name!r} is not an IANA zone."]}
        ) from exc
    if name not in available_timezones() and name != "UTC":
        raise ValidationFailed(
            "Unknown time zone.", errors={"timezone": [f"{name!r} is not an IANA zone."]}
        )
    return name


def create_calendar(
    session: Session,
    actor: User,
    *,
    code: str,
    name: str,
    timezone: str,
    working_hours: dict | None = None,
    country: str | None = None,
) -> BusinessCalendar:
    code = _check_code(code)
    if session.scalar(select(BusinessCalendar.id).where(BusinessCalendar.code == code)):
        raise Conflict(f"Calendar {code} already exists.", errors={"code": ["Already used."]})
    calendar = BusinessCalendar(
        code=code,
        name=name,
        timezone=check_timezone(timezone),
        working_hours=check_working_hours(working_hours or DEFAULT_HOURS),
        country=country,
    )
    session.add(calendar)
    session.flush()
    audit.record(
        session, actor, "business_calendar", code, "created", {"timezone": [None, timezone]}
    )
    return calendar


def update_calendar(
    session: Session, actor: User, calendar: BusinessCalendar, **values: Any
) -> BusinessCalendar:
    if "timezone" in values:
        check_timezone(values["timezone"])
    if "working_hours" in values:
        check_working_hours(values["working_hours"])
    changes = audit.apply_changes(calendar, values)
    if changes:
        session.flush()
        audit.record(session, actor, "business_calendar", calendar.code, "updated", changes)
    return calendar


def add_holiday(
    session: Session, actor: User, calendar: BusinessCalendar, day: date, name: str
) -> Holiday:
    if any(h.day == day for h in calendar.holidays):
        raise Conflict(f"{day} is already a holiday.", errors={"day": ["Already a holiday."]})
    holiday = Holiday(day=day, name=name)
    calendar.holidays.append(holiday)
    session.flush()
    audit.record(
        session,
        actor,
        "business_calendar",
        calendar.code,
        "holiday_added",
        {"holiday": [None, f"{day} {name}"]},
    )
    return holiday


def remove_holiday(session: Session, actor: User, calendar: BusinessCalendar, day: date) -> None:
    for holiday in list(calendar.holidays):
        if holiday.day == day:
            calendar.holidays.remove(holiday)
            audit.record(
                session,
                actor,
                "business_calendar",
                calendar.code,
                "holiday_removed",
                {"holiday": [f"{day} {holiday.name}", None]},
            )
            return
    raise NotFound(f"{day} is not a holiday of {calendar.code}.")


def import_public_holidays(
    session: Session, actor: User | None, calendar: BusinessCalendar, country: str, years: list[int]
) -> int:
    """Add the public holidays of ``country`` for ``years`` (existing days kept); count added.

    A calendar that follows no country yet follows this one from now on: the daily job
    (``app.catalogue.jobs``) keeps its current and next years imported.
    """
    try:
        source = public_holidays.country_holidays(country.upper(), years=years)
    except NotImplementedError as exc:
        raise ValidationFailed(
            "Unknown country.", errors={"country": [f"No holidays for {country!r}."]}
        ) from exc
    known = {h.day for h in calendar.holidays}
    added = 0
    for day, name in sorted(source.items()):
        if day not in known:
            calendar.holidays.append(Holiday(day=day, name=name[:120]))
            added += 1
    changes: dict[str, list] = {}
    if calendar.country is None:  # from now on the daily job keeps this country's years
        calendar.country = country.upper()
        changes["country"] = [None, calendar.country]
    if added:
        changes["holidays"] = [None, f"{added} from {country.upper()} {years}"]
    if changes:
        session.flush()
        audit.record(
            session, actor, "business_calendar", calendar.code, "holidays_imported", changes
        )
    return added


def to_working_calendar_parts(
    timezone: str, hours: dict[str, list[list[str]]], holiday_days: frozenset[date]
) -> WorkingCalendar:
    intervals = {
        int(day): tuple((_parse_hhmm(start), _parse_hhmm(end)) for start, end in spans)
        for day, spans in hours.items()
        if spans
    }
    return WorkingCalendar(timezone=timezone, hours=intervals, holidays=holiday_days)


def working_calendar(calendar: BusinessCalendar | None) -> WorkingCalendar:
    """The pure business-time calendar for SLA arithmetic (24x7 UTC when there is none)."""
    if calendar is None:
        return WorkingCalendar.always_open("UTC")
    return to_working_calendar_parts(
        calendar.timezone, calendar.working_hours, frozenset(h.day for h in calendar.holidays)
    )


BUSINESS_DAY_MINUTES = 8 * 60
DEFAULT_SLA_POLICIES = {
    # priority: (first response, resolution, counted in business hours?)
    "P1": (15, 4 * 60, False),
    "P2": (60, 8 * 60, True),
    "P3": (4 * 60, 3 * BUSINESS_DAY_MINUTES, True),
    "P4": (BUSINESS_DAY_MINUTES, 5 * BUSINESS_DAY_MINUTES, True),
    "P5": (2 * BUSINESS_DAY_MINUTES, 10 * BUSINESS_DAY_MINUTES, True),
}


def sla_policies(session: Session) -> dict[str, SlaPolicy]:
    """The SLA policy of every priority (created with the defaults when missing)."""
    policies = {p.priority: p for p in session.scalars(select(SlaPolicy))}
    for priority, (response, resolution, business) in DEFAULT_SLA_POLICIES.items():
        if priority not in policies:
            policy = SlaPolicy(
                priority=priority,
                response_minutes=response,
                resolution_minutes=resolution,
                business_hours=business,
            )
            session.add(policy)
            policies[priority] = policy
    return policies


def update_sla_policy(session: Session, actor: User, priority: str, **values: Any) -> SlaPolicy:
    """Change one priority's targets; tickets created afterwards (or re-prioritised) use them."""
    policy = sla_policies(session).get(priority)
    if policy is None:
        raise NotFound(f"No SLA policy for {priority!r}.")
    response = values.get("response_minutes", policy.response_minutes)
    resolution = values.get("resolution_minutes", policy.resolution_minutes)
    if response <= 0 or resolution <= 0 or response > resolution:
        raise ValidationFailed(
            "Invalid SLA targets.",
            errors={"response_minutes": ["Targets are positive and response <= resolution."]},
        )
    changes = audit.apply_changes(policy, values)
    if changes:
        session.flush()
        audit.record(session, actor, "sla_policy", priority, "updated", changes)
    return policy
