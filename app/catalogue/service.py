"""Modules, support groups and business calendars: creation, change, and holiday import.

The read side every request needs (a module by id or code, its working calendar, the SLA
targets) is served from the ``"catalogue"`` cache (``app.core.cache``): these rows change on an
administrator's edit, and any ORM write to them makes every process read them again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays as public_holidays
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalogue.models import BusinessCalendar, Holiday, Module, SlaPolicy, SupportGroup
from app.core import audit, cache
from app.core.business_time import WorkingCalendar
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.identity.models import User

CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{1,15}$")
DEFAULT_HOURS = {str(d): [["09:00", "17:00"]] for d in range(5)}
CACHE = "catalogue"
for _model in (Module, SupportGroup, BusinessCalendar, Holiday, SlaPolicy):
    cache.watch(_model, CACHE)


def _check_code(code: str) -> str:
    code = (code or "").strip().upper()
    if not CODE_PATTERN.match(code):
        raise ValidationFailed(
            _l("Invalid code."),
            errors={"code": [_l("2-16 letters, digits or underscores, starting with a letter.")]},
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
        raise NotFound(_l("No module %(code)s.", code=repr(code)))
    return module


def get_group(session: Session, code: str) -> SupportGroup:
    group = session.scalar(select(SupportGroup).where(SupportGroup.code == (code or "").upper()))
    if group is None:
        raise NotFound(_l("No support group %(code)s.", code=repr(code)))
    return group


def get_calendar(session: Session, code: str) -> BusinessCalendar:
    calendar = session.scalar(
        select(BusinessCalendar).where(BusinessCalendar.code == (code or "").upper())
    )
    if calendar is None:
        raise NotFound(_l("No business calendar %(code)s.", code=repr(code)))
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
                raise ValidationFailed(
                    _l("Unknown owner."), errors={"owner": [_l("No such user.")]}
                )
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
        raise Conflict(
            _l("Module %(code)s already exists.", code=code), errors={"code": [_l("Already used.")]}
        )
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
        raise Conflict(
            _l("Group %(code)s already exists.", code=code), errors={"code": [_l("Already used.")]}
        )
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
            _l("Invalid working hours."),
            errors={"working_hours": [_l("%(raw)s is not HH:MM.", raw=repr(raw))]},
        ) from exc


def check_working_hours(hours: dict[str, list[list[str]]]) -> dict[str, list[list[str]]]:
    """Validate {"weekday": [["HH:MM", "HH:MM"], ...]} by building the calendar from it."""
    if not isinstance(hours, dict):
        raise ValidationFailed(
            _l("Invalid working hours."), errors={"working_hours": [_l("Must be an object.")]}
        )
    for day, intervals in hours.items():
        if day not in {str(d) for d in range(7)}:
            raise ValidationFailed(
                _l("Invalid working hours."),
                errors={"working_hours": [_l("Weekday %(day)s is not 0-6.", day=repr(day))]},
            )
        if not isinstance(intervals, list) or not all(
            isinstance(i, list | tuple) and len(i) == 2 for i in intervals
        ):
            raise ValidationFailed(
                _l("Invalid working hours."),
                errors={
                    "working_hours": [_l("Each weekday maps to a list of [start, end] pairs.")]
                },
            )
    try:
        to_working_calendar_parts("UTC", hours, frozenset())
    except ValueError as exc:
        raise ValidationFailed(
            _l("Invalid working hours."), errors={"working_hours": [str(exc)]}
        ) from exc
    return hours


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValidationFailed(
            _l("Unknown time zone."),
            errors={"timezone": [_l("%(name)s is not an IANA zone.", name=repr(name))]},
        ) from exc
    if name not in available_timezones() and name != "UTC":
        raise ValidationFailed(
            _l("Unknown time zone."),
            errors={"timezone": [_l("%(name)s is not an IANA zone.", name=repr(name))]},
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
        raise Conflict(
            _l("Calendar %(code)s already exists.", code=code),
            errors={"code": [_l("Already used.")]},
        )
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
        raise Conflict(
            _l("%(day)s is already a holiday.", day=day), errors={"day": [_l("Already a holiday.")]}
        )
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
    raise NotFound(_l("%(day)s is not a holiday of %(code)s.", day=day, code=calendar.code))


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
            _l("Unknown country."),
            errors={"country": [_l("No holidays for %(country)s.", country=repr(country))]},
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
MAX_TARGET_MINUTES = 365 * 24 * 60  # a year: the API and the pages refuse longer targets
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
        raise NotFound(_l("No SLA policy for %(priority)s.", priority=repr(priority)))
    response = values.get("response_minutes", policy.response_minutes)
    resolution = values.get("resolution_minutes", policy.resolution_minutes)
    errors: dict[str, list[str]] = {}
    for name, minutes in (("response_minutes", response), ("resolution_minutes", resolution)):
        if minutes < 1:
            errors[name] = [_l("A target is at least one minute.")]
        elif minutes > MAX_TARGET_MINUTES:
            errors[name] = [
                _l(
                    "A target is at most %(value)s hours (a year).",
                    value=format(MAX_TARGET_MINUTES // 60, ","),
                )
            ]
    if not errors and response > resolution:
        errors["response_minutes"] = [_l("The first response cannot be due after the resolution.")]
    if errors:
        raise ValidationFailed(
            _l("The targets of %(priority)s were not changed.", priority=priority), errors=errors
        )
    changes = audit.apply_changes(policy, values)
    if changes:
        session.flush()
        audit.record(session, actor, "sla_policy", priority, "updated", changes)
    return policy


# --- cached read side ----------------------------------------------------------------------


@dataclass(frozen=True)
class ModuleRef:
    """What requests read about a module, shared by every request of a process."""

    id: int
    code: str
    name: str
    active: bool
    calendar_id: int | None
    support_group_id: int | None


@dataclass(frozen=True)
class GroupRef:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class SlaTargets:
    priority: str
    response_minutes: int
    resolution_minutes: int
    business_hours: bool


@dataclass(frozen=True)
class _Catalogue:
    modules: dict[int, ModuleRef]
    modules_by_code: dict[str, ModuleRef]
    groups: dict[int, GroupRef]


def _load_catalogue(session: Session) -> _Catalogue:
    modules = [
        ModuleRef(*row)
        for row in session.execute(
            select(
                Module.id,
                Module.code,
                Module.name,
                Module.active,
                Module.calendar_id,
                Module.support_group_id,
            ).order_by(Module.code)
        )
    ]
    groups = [
        GroupRef(*row)
        for row in session.execute(select(SupportGroup.id, SupportGroup.code, SupportGroup.name))
    ]
    return _Catalogue(
        modules={m.id: m for m in modules},
        modules_by_code={m.code: m for m in modules},
        groups={g.id: g for g in groups},
    )


def _catalogue(session: Session) -> _Catalogue:
    return cache.cached(session, CACHE, "catalogue", lambda: _load_catalogue(session))


def module_refs(session: Session, *, include_inactive: bool = True) -> list[ModuleRef]:
    """Every module (cached), ordered by code."""
    return [m for m in _catalogue(session).modules.values() if include_inactive or m.active]


def module_ref(session: Session, module_id: int) -> ModuleRef | None:
    """The module with this id (cached)."""
    return _catalogue(session).modules.get(module_id)


def module_ref_by_code(session: Session, code: str) -> ModuleRef | None:
    """The module with this code, any case (cached)."""
    return _catalogue(session).modules_by_code.get((code or "").strip().upper())


def group_ref(session: Session, group_id: int | None) -> GroupRef | None:
    """The support group with this id (cached)."""
    return _catalogue(session).groups.get(group_id) if group_id is not None else None


def calendar_of_module(session: Session, module_id: int | None) -> WorkingCalendar:
    """The working calendar the module's SLA clocks count in (cached; 24x7 UTC when none)."""
    module = module_ref(session, module_id) if module_id is not None else None
    calendar_id = module.calendar_id if module else None
    return cache.cached(
        session, CACHE, ("calendar", calendar_id), lambda: _load_calendar(session, calendar_id)
    )


def _load_calendar(session: Session, calendar_id: int | None) -> WorkingCalendar:
    if calendar_id is None:
        return WorkingCalendar.always_open("UTC")
    row = session.execute(
        select(BusinessCalendar.timezone, BusinessCalendar.working_hours).where(
            BusinessCalendar.id == calendar_id
        )
    ).one_or_none()
    if row is None:
        return WorkingCalendar.always_open("UTC")
    days = frozenset(session.scalars(select(Holiday.day).where(Holiday.calendar_id == calendar_id)))
    return to_working_calendar_parts(row.timezone, row.working_hours, days)


class CatalogueView:
    """The cached catalogue as one request sees it: for pages that look up the module, group
    and calendar of many tickets, each lookup a dictionary read."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._catalogue = _catalogue(session)
        self._calendars: dict[int | None, WorkingCalendar] = {}

    def module(self, module_id: int) -> ModuleRef | None:
        return self._catalogue.modules.get(module_id)

    def group(self, group_id: int | None) -> GroupRef | None:
        return self._catalogue.groups.get(group_id) if group_id is not None else None

    def calendar(self, module_id: int | None) -> WorkingCalendar:
        module = self._catalogue.modules.get(module_id) if module_id is not None else None
        calendar_id = module.calendar_id if module else None
        found = self._calendars.get(calendar_id)
        if found is None:
            found = self._calendars[calendar_id] = cache.cached(
                self._session,
                CACHE,
                ("calendar", calendar_id),
                lambda: _load_calendar(self._session, calendar_id),
            )
        return found


def sla_targets(session: Session) -> dict[str, SlaTargets]:
    """The SLA targets of every priority (cached; the defaults are created when missing)."""
    targets = cache.cached(session, CACHE, "sla", lambda: _load_sla_targets(session))
    if targets is None:  # a policy is missing: create it (uncached, in this transaction)
        return {
            p.priority: SlaTargets(
                p.priority, p.response_minutes, p.resolution_minutes, p.business_hours
            )
            for p in sla_policies(session).values()
        }
    return targets


def _load_sla_targets(session: Session) -> dict[str, SlaTargets] | None:
    rows = session.execute(
        select(
            SlaPolicy.priority,
            SlaPolicy.response_minutes,
            SlaPolicy.resolution_minutes,
            SlaPolicy.business_hours,
        )
    )
    targets = {row.priority: SlaTargets(*row) for row in rows}
    return targets if set(DEFAULT_SLA_POLICIES) <= set(targets) else None
