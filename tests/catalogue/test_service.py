"""The catalogue service: what a stored calendar means for SLA arithmetic, and how modules,
groups and holidays change (each change audited)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.catalogue import service
from app.core.audit import AuditEvent
from app.core.business_time import (
    WorkingCalendar,
    add_business_time,
    business_time_between,
    is_business_time,
)
from app.core.errors import Conflict, ValidationFailed

OFFICE_HOURS = {str(d): [["08:30", "12:30"], ["13:30", "17:30"]] for d in range(5)}


@pytest.fixture
def paris(db_session):
    calendar = service.create_calendar(
        db_session,
        None,
        code="EU_OFFICE",
        name="European office hours",
        timezone="Europe/Paris",
        working_hours=OFFICE_HOURS,
        country="FR",
    )
    service.import_public_holidays(db_session, None, calendar, "FR", [2026])
    db_session.commit()
    return calendar


def audit_actions(session, entity_type: str, entity_id: str) -> list[str]:
    return list(
        session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
            .order_by(AuditEvent.id)
        )
    )


def test_a_resolution_target_skips_the_french_national_day(paris):
    calendar = service.working_calendar(paris)
    # Monday 13 July 2026, 16:30 in Paris; Tuesday 14 July is a public holiday.
    opened = datetime(2026, 7, 13, 14, 30, tzinfo=UTC)

    due = add_business_time(calendar, opened, timedelta(hours=4))

    # 1 h on Monday (16:30-17:30), nothing on the 14th, 3 h on Wednesday (08:30-11:30 CEST).
    assert due == datetime(2026, 7, 15, 9, 30, tzinfo=UTC)
    assert business_time_between(calendar, opened, due) == timedelta(hours=4)


def test_the_stored_calendar_keeps_its_zone_hours_and_lunch_break(paris):
    calendar = service.working_calendar(paris)

    assert isinstance(calendar, WorkingCalendar)
    assert calendar.timezone == "Europe/Paris"
    assert date(2026, 7, 14) in calendar.holidays
    monday = date(2026, 3, 2)
    assert is_business_time(calendar, datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # 09:00 CET
    assert not is_business_time(calendar, datetime(2026, 3, 2, 12, 0, tzinfo=UTC))  # lunch
    assert sum(
        (end - start for start, end in calendar.working_intervals(monday)), timedelta()
    ) == timedelta(hours=8)


def test_no_calendar_means_the_clock_runs_around_the_clock(db_session):
    calendar = service.working_calendar(None)
    saturday_night = datetime(2026, 7, 18, 23, 0, tzinfo=UTC)

    assert add_business_time(calendar, saturday_night, timedelta(hours=2)) == datetime(
        2026, 7, 19, 1, 0, tzinfo=UTC
    )


def test_24_00_closes_a_day_that_is_open_until_midnight(db_session):
    stored = service.create_calendar(
        db_session,
        None,
        code="WEEKEND",
        name="Weekend on call",
        timezone="UTC",
        working_hours={"5": [["00:00", "24:00"]]},
    )

    calendar = service.working_calendar(stored)

    saturday = date(2026, 7, 18)
    assert calendar.working_intervals(saturday) == [
        (datetime(2026, 7, 18, tzinfo=UTC), datetime(2026, 7, 19, tzinfo=UTC))
    ]


def test_a_calendar_with_hours_that_do_not_parse_is_refused(db_session):
    with pytest.raises(ValidationFailed) as refused:
        service.create_calendar(
            db_session,
            None,
            code="BAD",
            name="Bad",
            timezone="UTC",
            working_hours={"0": [["09:00", "25:00"]]},
        )

    assert "25:00" in refused.value.errors["working_hours"][0]


def test_changing_hours_is_validated_too(db_session, paris):
    with pytest.raises(ValidationFailed):
        service.update_calendar(db_session, None, paris, working_hours={"0": [["17:00", "09:00"]]})


def test_importing_holidays_counts_what_was_added_and_keeps_existing_days(db_session, paris):
    assert service.import_public_holidays(db_session, None, paris, "FR", [2026]) == 0

    added = service.import_public_holidays(db_session, None, paris, "FR", [2026, 2027])

    assert added == len({d for d in (h.day for h in paris.holidays) if d.year == 2027})
    assert added > 0
    assert audit_actions(db_session, "business_calendar", "EU_OFFICE") == [
        "created",
        "holidays_imported",
        "holidays_imported",
    ]


def test_an_own_holiday_is_added_once(db_session, paris):
    service.add_holiday(db_session, None, paris, date(2026, 12, 24), "Christmas Eve")

    with pytest.raises(Conflict):
        service.add_holiday(db_session, None, paris, date(2026, 12, 24), "Again")


def test_a_removed_holiday_is_a_working_day_again(db_session, paris):
    service.remove_holiday(db_session, None, paris, date(2026, 7, 14))

    calendar = service.working_calendar(paris)

    assert is_business_time(calendar, datetime(2026, 7, 14, 8, 0, tzinfo=UTC))


def test_a_module_code_is_normalised_and_its_creation_audited(db_session):
    module = service.create_module(db_session, None, code=" fin ", name="Finance")

    assert module.code == "FIN"
    assert audit_actions(db_session, "module", "FIN") == ["created"]


def test_an_unchanged_module_writes_no_audit_event(db_session):
    module = service.create_module(db_session, None, code="FIN", name="Finance")

    service.update_module(db_session, None, module, name="Finance")

    assert audit_actions(db_session, "module", "FIN") == ["created"]


def test_group_members_are_audited_only_when_they_change(db_session, make_user):
    sam, ada = make_user("agent"), make_user("agent")
    group = service.create_group(db_session, None, code="FIN_SUP", name="Finance support")

    service.set_group_members(db_session, None, group, [sam, ada])
    service.set_group_members(db_session, None, group, [ada, sam])

    assert {u.id for u in group.members} == {sam.id, ada.id}
    assert audit_actions(db_session, "support_group", "FIN_SUP") == ["created", "members_changed"]
