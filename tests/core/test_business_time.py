"""Unit and property-based tests for app.core.business_time (SLA business-time arithmetic)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta, timezone
from itertools import pairwise
from zoneinfo import ZoneInfo

import holidays as holiday_data
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.business_time import (
    WorkingCalendar,
    add_business_time,
    business_time_between,
    is_business_time,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
SANTIAGO = ZoneInfo("America/Santiago")

H = timedelta(hours=1)
M = timedelta(minutes=1)
US = timedelta(microseconds=1)

OFFICE_DAY = ((time(9), time(12)), (time(13), time(17)))  # 7 hours with a lunch break
PARIS_OFFICE = WorkingCalendar("Europe/Paris", {day: OFFICE_DAY for day in range(5)})
PARIS_OFFICE_FR = WorkingCalendar(
    "Europe/Paris",
    {day: OFFICE_DAY for day in range(5)},
    holidays=frozenset(holiday_data.France(years=range(2023, 2027)).keys()),
)
PARIS_DAILY = WorkingCalendar("Europe/Paris", {day: ((time(9), time(17)),) for day in range(7)})
NY_OFFICE = WorkingCalendar("America/New_York", {day: ((time(9), time(17)),) for day in range(5)})


def paris(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=PARIS, fold=fold)


def new_york(*args: int) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def total(intervals: list[tuple[datetime, datetime]]) -> timedelta:
    return sum((end - start for start, end in intervals), timedelta(0))


# ----------------------------------------------------------------------------- calendar


class TestWorkingCalendar:
    def test_always_open_is_24x7_without_holidays(self) -> None:
        calendar = WorkingCalendar.always_open()
        assert calendar.timezone == "UTC"
        assert calendar.holidays == frozenset()
        assert set(calendar.hours) == set(range(7))
        assert all(calendar.hours[day] == ((time(0), time(0)),) for day in range(7))
        assert WorkingCalendar.always_open("Europe/Paris").timezone == "Europe/Paris"

    def test_hours_are_normalised_sorted_merged_and_closed_days_dropped(self) -> None:
        messy = WorkingCalendar(
            "UTC",
            {
                0: [(time(13), time(17)), (time(9), time(12))],
                1: [(time(9), time(12)), (time(12), time(17))],
                3: (),
            },
        )
        tidy = WorkingCalendar(
            "UTC", {0: ((time(9), time(12)), (time(13), time(17))), 1: ((time(9), time(17)),)}
        )
        assert messy == tidy
        assert hash(messy) == hash(tidy)
        assert messy.hours[0] == ((time(9), time(12)), (time(13), time(17)))
        assert messy.hours[1] == ((time(9), time(17)),)
        assert 3 not in messy.hours

    def test_calendar_is_immutable_and_detached_from_its_input(self) -> None:
        source = {0: [(time(9), time(17))]}
        calendar = WorkingCalendar("UTC", source, holidays={date(2024, 1, 1)})
        source[1] = [(time(9), time(17))]
        assert 1 not in calendar.hours
        assert isinstance(calendar.holidays, frozenset)
        with pytest.raises(TypeError):
            calendar.hours[2] = ((time(9), time(17)),)  # type: ignore[index]
        with pytest.raises(dataclasses.FrozenInstanceError):
            calendar.timezone = "Europe/Paris"  # type: ignore[misc]

    @pytest.mark.parametrize(
        ("timezone_name", "hours", "holidays"),
        [
            pytest.param("Mars/Olympus_Mons", {}, frozenset(), id="unknown-timezone"),
            pytest.param("", {}, frozenset(), id="empty-timezone"),
            pytest.param("UTC", {0: ((time(17), time(9)),)}, frozenset(), id="start-after-end"),
            pytest.param("UTC", {0: ((time(9), time(9)),)}, frozenset(), id="empty-interval"),
            pytest.param(
                "UTC",
                {0: ((time(9), time(13)), (time(12), time(17)))},
                frozenset(),
                id="overlap",
            ),
            pytest.param(
                "UTC",
                {0: ((time(9), time(17)), (time(9), time(17)))},
                frozenset(),
                id="duplicate",
            ),
            pytest.param(
                "UTC",
                {0: ((time(20), time(0)), (time(21), time(22)))},
                frozenset(),
                id="overlaps-interval-ending-at-midnight",
            ),
            pytest.param("UTC", {7: ((time(9), time(17)),)}, frozenset(), id="weekday-7"),
            pytest.param("UTC", {-1: ((time(9), time(17)),)}, frozenset(), id="weekday-neg"),
            pytest.param("UTC", {"mon": ((time(9), time(17)),)}, frozenset(), id="weekday-str"),
            pytest.param("UTC", {0: ((time(9),),)}, frozenset(), id="not-a-pair"),
            pytest.param("UTC", {0: ((9, 17),)}, frozenset(), id="not-times"),
            pytest.param(
                "UTC",
                {0: ((time(9, tzinfo=UTC), time(17, tzinfo=UTC)),)},
                frozenset(),
                id="aware-times",
            ),
            pytest.param("UTC", [(time(9), time(17))], frozenset(), id="hours-not-mapping"),
            pytest.param("UTC", {}, frozenset({datetime(2024, 1, 1)}), id="holiday-is-a-datetime"),
            pytest.param("UTC", {}, frozenset({"2024-01-01"}), id="holiday-is-a-string"),
        ],
    )
    def test_invalid_calendars_are_rejected(
        self, timezone_name: str, hours: object, holidays: frozenset
    ) -> None:
        with pytest.raises(ValueError):
            WorkingCalendar(timezone_name, hours, holidays)  # type: ignore[arg-type]

    def test_working_intervals_of_a_winter_and_a_summer_office_day(self) -> None:
        assert PARIS_OFFICE.working_intervals(date(2024, 3, 4)) == [
            (utc(2024, 3, 4, 8), utc(2024, 3, 4, 11)),
            (utc(2024, 3, 4, 12), utc(2024, 3, 4, 16)),
        ]
        assert PARIS_OFFICE.working_intervals(date(2024, 7, 1)) == [
            (utc(2024, 7, 1, 7), utc(2024, 7, 1, 10)),
            (utc(2024, 7, 1, 11), utc(2024, 7, 1, 15)),
        ]
        start, end = PARIS_OFFICE.working_intervals(date(2024, 7, 1))[0]
        assert start.tzinfo is UTC and end.tzinfo is UTC

    def test_working_intervals_empty_on_weekend_and_holiday(self) -> None:
        assert PARIS_OFFICE.working_intervals(date(2024, 3, 9)) == []  # Saturday
        assert PARIS_OFFICE.working_intervals(date(2024, 3, 10)) == []  # Sunday
        assert PARIS_OFFICE_FR.working_intervals(date(2024, 5, 1)) == []  # Labour Day
        assert PARIS_OFFICE.working_intervals(date(2024, 5, 1)) != []

    def test_working_intervals_rejects_datetimes(self) -> None:
        with pytest.raises(ValueError):
            PARIS_OFFICE.working_intervals(datetime(2024, 3, 4, 9))  # type: ignore[arg-type]

    def test_midnight_convention_end_time_zero_means_24h00(self) -> None:
        night = WorkingCalendar("UTC", {0: ((time(22), time(0)),), 1: ((time(0), time(6)),)})
        assert night.working_intervals(date(2024, 3, 4)) == [
            (utc(2024, 3, 4, 22), utc(2024, 3, 5, 0))
        ]
        assert is_business_time(night, utc(2024, 3, 4, 23, 59, 59, 999999))
        assert is_business_time(night, utc(2024, 3, 5, 0))
        assert not is_business_time(night, utc(2024, 3, 5, 6))
        # The night shift runs on across midnight without a break.
        assert add_business_time(night, utc(2024, 3, 4, 23), 2 * H) == utc(2024, 3, 5, 1)
        assert business_time_between(night, utc(2024, 3, 4), utc(2024, 3, 6)) == 8 * H

    def test_time_max_is_taken_literally(self) -> None:
        calendar = WorkingCalendar("UTC", {0: ((time(22), time.max),)})
        assert calendar.working_intervals(date(2024, 3, 4)) == [
            (utc(2024, 3, 4, 22), utc(2024, 3, 4, 23, 59, 59, 999999))
        ]
        assert not is_business_time(calendar, utc(2024, 3, 4, 23, 59, 59, 999999))


# ----------------------------------------------------------------------------- DST layout


class TestDaylightSavingLayout:
    @pytest.mark.parametrize(
        ("day", "expected"),
        [
            (date(2024, 3, 30), (utc(2024, 3, 30, 8), utc(2024, 3, 30, 16))),
            (date(2024, 3, 31), (utc(2024, 3, 31, 7), utc(2024, 3, 31, 15))),
            (date(2024, 10, 26), (utc(2024, 10, 26, 7), utc(2024, 10, 26, 15))),
            (date(2024, 10, 27), (utc(2024, 10, 27, 8), utc(2024, 10, 27, 16))),
        ],
    )
    def test_nine_to_five_is_eight_hours_on_both_sides_of_paris_switches(
        self, day: date, expected: tuple[datetime, datetime]
    ) -> None:
        assert PARIS_DAILY.working_intervals(day) == [expected]

    @pytest.mark.parametrize(
        ("zone", "day", "length"),
        [
            ("Europe/Paris", date(2024, 3, 30), 24 * H),
            ("Europe/Paris", date(2024, 3, 31), 23 * H),
            ("Europe/Paris", date(2024, 10, 27), 25 * H),
            ("America/New_York", date(2024, 3, 10), 23 * H),
            ("America/New_York", date(2024, 11, 3), 25 * H),
            # Santiago switches at midnight: 2024-09-08 00:00 does not exist,
            # and 2024-04-06 24:00 falls back to 23:00.
            ("America/Santiago", date(2024, 9, 7), 24 * H),
            ("America/Santiago", date(2024, 9, 8), 23 * H),
            ("America/Santiago", date(2024, 4, 6), 25 * H),
            ("America/Santiago", date(2024, 4, 7), 24 * H),
            # Lord Howe Island moves its clocks by 30 minutes.
            ("Australia/Lord_Howe", date(2024, 4, 7), 24 * H + 30 * M),
            ("Australia/Lord_Howe", date(2024, 10, 6), 23 * H + 30 * M),
        ],
    )
    def test_always_open_day_length_follows_dst(
        self, zone: str, day: date, length: timedelta
    ) -> None:
        intervals = WorkingCalendar.always_open(zone).working_intervals(day)
        assert len(intervals) == 1
        assert total(intervals) == length

    def test_spring_gap_start_is_clamped_to_the_jump(self) -> None:
        # Paris 2024-03-31: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
        calendar = WorkingCalendar("Europe/Paris", {6: ((time(2, 30), time(4)),)})
        assert calendar.working_intervals(date(2024, 3, 31)) == [
            (utc(2024, 3, 31, 1), utc(2024, 3, 31, 2))
        ]

    def test_spring_gap_end_is_clamped_to_the_jump(self) -> None:
        calendar = WorkingCalendar("Europe/Paris", {6: ((time(1), time(2, 30)),)})
        assert calendar.working_intervals(date(2024, 3, 31)) == [
            (utc(2024, 3, 31, 0), utc(2024, 3, 31, 1))
        ]

    def test_interval_wholly_inside_the_gap_is_empty(self) -> None:
        paris_gap = WorkingCalendar("Europe/Paris", {6: ((time(2), time(3)),)})
        assert paris_gap.working_intervals(date(2024, 3, 31)) == []
        assert paris_gap.working_intervals(date(2024, 3, 24)) != []
        santiago_gap = WorkingCalendar("America/Santiago", {6: ((time(0), time(1)),)})
        assert santiago_gap.working_intervals(date(2024, 9, 8)) == []

    def test_new_york_spring_gap(self) -> None:
        # New York 2024-03-10: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
        calendar = WorkingCalendar("America/New_York", {6: ((time(1), time(2, 30)),)})
        assert calendar.working_intervals(date(2024, 3, 10)) == [
            (utc(2024, 3, 10, 6), utc(2024, 3, 10, 7))
        ]

    def test_repeated_autumn_hour_counts_twice(self) -> None:
        # Paris 2024-10-27: 03:00 CEST (01:00 UTC) falls back to 02:00 CET.
        calendar = WorkingCalendar("Europe/Paris", {6: ((time(2), time(3)),)})
        assert calendar.working_intervals(date(2024, 10, 27)) == [
            (utc(2024, 10, 27, 0), utc(2024, 10, 27, 2))
        ]
        split = WorkingCalendar("Europe/Paris", {6: ((time(2, 15), time(2, 45)),)})
        assert split.working_intervals(date(2024, 10, 27)) == [
            (utc(2024, 10, 27, 0, 15), utc(2024, 10, 27, 0, 45)),
            (utc(2024, 10, 27, 1, 15), utc(2024, 10, 27, 1, 45)),
        ]
        assert is_business_time(split, paris(2024, 10, 27, 2, 20, fold=0))
        assert is_business_time(split, paris(2024, 10, 27, 2, 20, fold=1))
        assert not is_business_time(split, utc(2024, 10, 27, 1, 0))


# ----------------------------------------------------------------------------- is_business_time


class TestIsBusinessTime:
    @pytest.mark.parametrize(
        ("at", "expected"),
        [
            (paris(2024, 3, 4, 9), True),  # opening instant is inside
            (paris(2024, 3, 4, 8, 59, 59, 999999), False),
            (paris(2024, 3, 4, 11, 59), True),
            (paris(2024, 3, 4, 12), False),  # lunch
            (paris(2024, 3, 4, 12, 59), False),
            (paris(2024, 3, 4, 13), True),
            (paris(2024, 3, 4, 16, 59, 59), True),
            (paris(2024, 3, 4, 17), False),  # closing instant is outside
            (paris(2024, 3, 9, 10), False),  # Saturday
            (paris(2024, 3, 10, 10), False),  # Sunday
            (utc(2024, 3, 4, 8), True),  # 09:00 Paris
            (utc(2024, 3, 4, 16), False),  # 17:00 Paris
            (datetime(2024, 3, 4, 3, tzinfo=NEW_YORK), True),  # 09:00 Paris
            (datetime(2024, 3, 4, 14, tzinfo=timezone(timedelta(hours=5))), True),  # 10:00
        ],
    )
    def test_paris_office(self, at: datetime, expected: bool) -> None:
        assert is_business_time(PARIS_OFFICE, at) is expected

    def test_holiday(self) -> None:
        assert not is_business_time(PARIS_OFFICE_FR, paris(2024, 12, 25, 10))
        assert is_business_time(PARIS_OFFICE, paris(2024, 12, 25, 10))
        assert is_business_time(PARIS_OFFICE_FR, paris(2024, 12, 26, 10))

    def test_dst_days(self) -> None:
        assert is_business_time(PARIS_DAILY, utc(2024, 3, 31, 7))  # 09:00 CEST
        assert not is_business_time(PARIS_DAILY, utc(2024, 3, 31, 15))  # 17:00 CEST
        assert is_business_time(PARIS_DAILY, utc(2024, 10, 27, 15))  # 16:00 CET
        assert not is_business_time(PARIS_DAILY, utc(2024, 10, 27, 7))  # 08:00 CET


# ----------------------------------------------------------------------------- add_business_time


class TestAddBusinessTime:
    @pytest.mark.parametrize(
        ("start", "duration", "expected"),
        [
            pytest.param(paris(2024, 3, 4, 10), H, paris(2024, 3, 4, 11), id="inside"),
            pytest.param(paris(2024, 3, 4, 10), US, paris(2024, 3, 4, 10, 0, 0, 1), id="1us"),
            pytest.param(paris(2024, 3, 4, 11, 30), H, paris(2024, 3, 4, 13, 30), id="lunch"),
            pytest.param(
                paris(2024, 3, 4, 12, 15), 30 * M, paris(2024, 3, 4, 13, 30), id="in-lunch"
            ),
            pytest.param(paris(2024, 3, 4, 12), M, paris(2024, 3, 4, 13, 1), id="at-lunch"),
            pytest.param(paris(2024, 3, 4, 7), H, paris(2024, 3, 4, 10), id="before-opening"),
            pytest.param(paris(2024, 3, 4, 18), H, paris(2024, 3, 5, 10), id="after-closing"),
            pytest.param(paris(2024, 3, 4, 17), M, paris(2024, 3, 5, 9, 1), id="at-closing"),
            pytest.param(paris(2024, 3, 4, 16, 30), H, paris(2024, 3, 5, 9, 30), id="overnight"),
            pytest.param(paris(2024, 3, 8, 16), 2 * H, paris(2024, 3, 11, 10), id="weekend"),
            pytest.param(paris(2024, 3, 9, 10), H, paris(2024, 3, 11, 10), id="from-saturday"),
            pytest.param(paris(2024, 3, 10, 23, 59), M, paris(2024, 3, 11, 9, 1), id="sun-night"),
            pytest.param(paris(2024, 3, 4, 9), 3 * H, paris(2024, 3, 4, 12), id="morning-end"),
            pytest.param(paris(2024, 3, 4, 9), 7 * H, paris(2024, 3, 4, 17), id="day-end"),
            pytest.param(paris(2024, 3, 4, 9), 35 * H, paris(2024, 3, 8, 17), id="week"),
            pytest.param(paris(2024, 3, 4, 9), 35 * H + M, paris(2024, 3, 11, 9, 1), id="week+1m"),
            pytest.param(paris(2024, 3, 4, 9), 70 * H, paris(2024, 3, 15, 17), id="10-days"),
            pytest.param(
                datetime(2024, 3, 4, 3, tzinfo=NEW_YORK), H, paris(2024, 3, 4, 10), id="ny-input"
            ),
        ],
    )
    def test_paris_office(self, start: datetime, duration: timedelta, expected: datetime) -> None:
        result = add_business_time(PARIS_OFFICE, start, duration)
        assert result == expected
        assert result.tzinfo is UTC

    @pytest.mark.parametrize(
        ("start", "duration", "expected"),
        [
            # Wed 8 May (Victory Day) and Thu 9 May (Ascension) are closed.
            pytest.param(paris(2024, 5, 7, 16), 2 * H, paris(2024, 5, 10, 10), id="bridge"),
            pytest.param(paris(2024, 5, 8, 10), H, paris(2024, 5, 10, 10), id="start-on-holiday"),
            pytest.param(paris(2024, 12, 24, 16), 2 * H, paris(2024, 12, 26, 10), id="christmas"),
            # Mon 25 Mar + 15 business days: crosses the DST switch and Easter Monday.
            pytest.param(paris(2024, 3, 25, 9), 105 * H, paris(2024, 4, 15, 17), id="weeks"),
            pytest.param(
                paris(2024, 4, 24, 14), 20 * 7 * H + 4 * H, paris(2024, 5, 29, 10), id="month"
            ),
        ],
    )
    def test_french_holidays(
        self, start: datetime, duration: timedelta, expected: datetime
    ) -> None:
        assert add_business_time(PARIS_OFFICE_FR, start, duration) == expected

    def test_paris_dst_spring(self) -> None:
        # Sat 16:00 CET + 2h -> Sun 10:00 CEST, i.e. 08:00 UTC.
        assert add_business_time(PARIS_DAILY, paris(2024, 3, 30, 16), 2 * H) == utc(2024, 3, 31, 8)
        assert add_business_time(PARIS_DAILY, paris(2024, 3, 30, 9), 16 * H) == utc(2024, 3, 31, 15)
        # Weekday office across the switch weekend.
        assert add_business_time(PARIS_OFFICE, paris(2024, 3, 29, 16, 30), H) == utc(
            2024, 4, 1, 7, 30
        )
        # 24x7: the 23-hour day means 24 business hours end at 01:00 the next day.
        assert add_business_time(
            WorkingCalendar.always_open("Europe/Paris"), paris(2024, 3, 31), 24 * H
        ) == paris(2024, 4, 1, 1)

    def test_paris_dst_autumn(self) -> None:
        assert add_business_time(PARIS_DAILY, paris(2024, 10, 26, 16), 2 * H) == utc(
            2024, 10, 27, 9
        )
        assert add_business_time(PARIS_OFFICE, paris(2024, 10, 25, 16, 30), H) == utc(
            2024, 10, 28, 8, 30
        )
        assert add_business_time(
            WorkingCalendar.always_open("Europe/Paris"), paris(2024, 10, 27), 24 * H
        ) == paris(2024, 10, 27, 23)

    def test_new_york_dst(self) -> None:
        # Fri 16:00 EST + 2h -> Mon 10:00 EDT (14:00 UTC).
        assert add_business_time(NY_OFFICE, new_york(2024, 3, 8, 16), 2 * H) == utc(2024, 3, 11, 14)
        # Fri 16:00 EDT + 2h -> Mon 10:00 EST (15:00 UTC).
        assert add_business_time(NY_OFFICE, new_york(2024, 11, 1, 16), 2 * H) == utc(
            2024, 11, 4, 15
        )
        assert add_business_time(NY_OFFICE, new_york(2024, 3, 4, 9), 5 * 8 * H) == new_york(
            2024, 3, 8, 17
        )

    def test_spring_gap_opening(self) -> None:
        calendar = WorkingCalendar("Europe/Paris", {6: ((time(2, 30), time(4)),)})
        assert add_business_time(calendar, paris(2024, 3, 30, 12), 30 * M) == utc(
            2024, 3, 31, 1, 30
        )

    def test_zero_duration_returns_start_unchanged(self) -> None:
        outside = paris(2024, 3, 9, 3)  # Saturday night
        result = add_business_time(PARIS_OFFICE, outside, timedelta(0))
        assert result == outside
        assert result.tzinfo is UTC
        inside = paris(2024, 3, 4, 10)
        assert add_business_time(PARIS_OFFICE, inside, timedelta(0)) == inside
        # Even a closed calendar does not raise for a zero duration.
        assert add_business_time(WorkingCalendar("UTC", {}), outside, timedelta(0)) == outside

    def test_negative_duration_is_rejected(self) -> None:
        with pytest.raises(ValueError):
            add_business_time(PARIS_OFFICE, paris(2024, 3, 4, 10), -M)

    def test_naive_start_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            add_business_time(PARIS_OFFICE, datetime(2024, 3, 4, 10), H)

    @pytest.mark.parametrize(
        "calendar",
        [
            pytest.param(WorkingCalendar("UTC", {}), id="no-hours"),
            pytest.param(WorkingCalendar("Europe/Paris", {0: (), 4: []}), id="empty-days"),
            pytest.param(
                WorkingCalendar(
                    "UTC",
                    {0: ((time(9), time(17)),)},
                    holidays=frozenset(date(2024, 1, 1) + timedelta(weeks=n) for n in range(600)),
                ),
                id="every-monday-a-holiday-for-11-years",
            ),
        ],
    )
    def test_calendar_without_working_time_raises_quickly(self, calendar: WorkingCalendar) -> None:
        with pytest.raises(ValueError, match="no working time"):
            add_business_time(calendar, utc(2024, 1, 1), M)

    def test_long_closures_shorter_than_the_bound_are_crossed(self) -> None:
        mondays_2024 = frozenset(date(2024, 1, 1) + timedelta(weeks=n) for n in range(53))
        calendar = WorkingCalendar("UTC", {0: ((time(9), time(17)),)}, holidays=mondays_2024)
        assert add_business_time(calendar, utc(2024, 1, 1), H) == utc(2025, 1, 6, 10)

    def test_search_bound_counts_consecutive_closed_days_only(self) -> None:
        # One hour a week: 600 hours span ~11.5 years, beyond the 3660-day bound.
        calendar = WorkingCalendar("UTC", {0: ((time(9), time(10)),)})
        start = utc(2024, 1, 1)  # a Monday
        assert add_business_time(calendar, start, 600 * H) == utc(2035, 6, 25, 10)
        assert utc(2035, 6, 25) == datetime.combine(date(2024, 1, 1), time(0), UTC) + timedelta(
            weeks=599
        )

    def test_ten_business_days_round_trip_over_a_year(self) -> None:
        for week in range(50):
            start = paris(2091, 1, 1, 9) + timedelta(weeks=week)
            result = add_business_time(PARIS_OFFICE, start, 70 * H)
            assert business_time_between(PARIS_OFFICE, start, result) == 70 * H


# ----------------------------------------------------------------------------- between


class TestBusinessTimeBetween:
    @pytest.mark.parametrize(
        ("start", "end", "expected"),
        [
            pytest.param(paris(2024, 3, 4, 10), paris(2024, 3, 4, 11), H, id="inside"),
            pytest.param(paris(2024, 3, 4, 11), paris(2024, 3, 4, 14), 2 * H, id="lunch"),
            pytest.param(
                paris(2024, 3, 4, 12, 10), paris(2024, 3, 4, 12, 50), 0 * H, id="in-lunch"
            ),
            pytest.param(paris(2024, 3, 4, 6), paris(2024, 3, 4, 20), 7 * H, id="whole-day"),
            pytest.param(paris(2024, 3, 4, 16), paris(2024, 3, 5, 10), 2 * H, id="overnight"),
            pytest.param(paris(2024, 3, 8, 16), paris(2024, 3, 11, 10), 2 * H, id="weekend"),
            pytest.param(paris(2024, 3, 9), paris(2024, 3, 11), 0 * H, id="only-weekend"),
            pytest.param(paris(2024, 3, 4), paris(2024, 3, 11), 35 * H, id="week"),
            pytest.param(paris(2024, 3, 4), paris(2024, 4, 1), 140 * H, id="four-weeks"),
            pytest.param(paris(2024, 3, 4, 11), paris(2024, 3, 4, 10), 0 * H, id="reversed"),
            pytest.param(paris(2024, 3, 4, 10), paris(2024, 3, 4, 10), 0 * H, id="empty"),
            pytest.param(
                paris(2024, 3, 4, 10), paris(2024, 3, 4, 10, 0, 0, 1), US, id="microsecond"
            ),
            pytest.param(
                datetime(2024, 3, 4, 4, tzinfo=NEW_YORK), utc(2024, 3, 4, 12), 2 * H, id="mixed-tz"
            ),
        ],
    )
    def test_paris_office(self, start: datetime, end: datetime, expected: timedelta) -> None:
        assert business_time_between(PARIS_OFFICE, start, end) == expected

    def test_holidays(self) -> None:
        assert (
            business_time_between(PARIS_OFFICE_FR, paris(2024, 5, 6), paris(2024, 5, 13))
            == 3 * 7 * H
        )
        assert business_time_between(
            PARIS_OFFICE_FR, paris(2024, 5, 8, 10), paris(2024, 5, 8, 11)
        ) == timedelta(0)

    def test_year_with_french_holidays(self) -> None:
        year = business_time_between(PARIS_OFFICE_FR, paris(2024, 1, 1), paris(2025, 1, 1))
        assert year == 252 * 7 * H  # 262 weekdays minus 10 weekday public holidays
        weekdays = sum(
            1
            for n in range(366)
            if (day := date(2024, 1, 1) + timedelta(n)).weekday() < 5
            and day not in PARIS_OFFICE_FR.holidays
        )
        assert year == weekdays * 7 * H

    def test_paris_dst_spring(self) -> None:
        weekend = (paris(2024, 3, 30), paris(2024, 4, 1))
        assert business_time_between(PARIS_DAILY, *weekend) == 16 * H
        assert business_time_between(WorkingCalendar.always_open("Europe/Paris"), *weekend) == (
            47 * H
        )
        assert (
            business_time_between(PARIS_OFFICE, paris(2024, 3, 29, 16), paris(2024, 4, 1, 10))
            == 2 * H
        )
        assert business_time_between(PARIS_DAILY, utc(2024, 3, 31, 6), utc(2024, 3, 31, 8)) == H

    def test_paris_dst_autumn(self) -> None:
        weekend = (paris(2024, 10, 26), paris(2024, 10, 28))
        assert business_time_between(PARIS_DAILY, *weekend) == 16 * H
        assert business_time_between(WorkingCalendar.always_open("Europe/Paris"), *weekend) == (
            49 * H
        )
        assert (
            business_time_between(PARIS_OFFICE, paris(2024, 10, 25, 16), paris(2024, 10, 28, 10))
            == 2 * H
        )
        assert business_time_between(PARIS_DAILY, utc(2024, 10, 27, 7), utc(2024, 10, 27, 9)) == H

    def test_new_york_dst(self) -> None:
        spring = (new_york(2024, 3, 8), new_york(2024, 3, 12))
        autumn = (new_york(2024, 11, 1), new_york(2024, 11, 5))
        assert business_time_between(NY_OFFICE, *spring) == 16 * H
        assert business_time_between(NY_OFFICE, *autumn) == 16 * H
        always = WorkingCalendar.always_open("America/New_York")
        assert business_time_between(always, *spring) == 95 * H
        assert business_time_between(always, *autumn) == 97 * H
        assert business_time_between(NY_OFFICE, new_york(2024, 3, 8, 16), utc(2024, 3, 11, 14)) == (
            2 * H
        )

    def test_naive_datetimes_are_rejected(self) -> None:
        with pytest.raises(ValueError, match="start"):
            business_time_between(PARIS_OFFICE, datetime(2024, 3, 4), paris(2024, 3, 5))
        with pytest.raises(ValueError, match="end"):
            business_time_between(PARIS_OFFICE, paris(2024, 3, 4), datetime(2024, 3, 5))
        with pytest.raises(ValueError, match="at"):
            is_business_time(PARIS_OFFICE, datetime(2024, 3, 4, 10))

    def test_closed_calendar_has_no_business_time(self) -> None:
        closed = WorkingCalendar("UTC", {})
        assert business_time_between(closed, utc(2024, 1, 1), utc(2025, 1, 1)) == timedelta(0)
        assert not is_business_time(closed, utc(2024, 1, 1, 12))

    def test_ten_years_counts_every_weekday(self) -> None:
        elapsed = business_time_between(PARIS_OFFICE, paris(2090, 1, 1), paris(2100, 1, 1))
        weekdays = sum(
            1
            for n in range((date(2100, 1, 1) - date(2090, 1, 1)).days)
            if (date(2090, 1, 1) + timedelta(n)).weekday() < 5
        )
        assert elapsed == weekdays * 7 * H


# ----------------------------------------------------------------------------- properties

ZONES = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
]
# DST switch days of the zones above, to make examples land on and around them.
SWITCH_DAYS = [
    date(2024, 3, 10),
    date(2024, 3, 31),
    date(2024, 4, 6),
    date(2024, 4, 7),
    date(2024, 9, 8),
    date(2024, 10, 6),
    date(2024, 10, 27),
    date(2024, 11, 3),
]
QUARTER = timedelta(minutes=15)
PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def quarter_time(index: int) -> time:
    """Boundary ``index`` (0..96) of the 15-minute grid; 96 is 24:00, written time(0)."""
    return (datetime.min + index * QUARTER).time()


# Typical days, mixed with random ones on a 15-minute grid.
DAY_PALETTE = [
    (),
    ((time(9), time(17)),),
    OFFICE_DAY,
    ((time(0), time(0)),),
    ((time(22), time(0)),),
    ((time(0), time(6)), (time(22), time(0))),
    ((time(1), time(2, 30)), (time(3), time(4))),
]


@st.composite
def random_day(draw: st.DrawFn) -> tuple[tuple[time, time], ...]:
    bounds = sorted(set(draw(st.lists(st.integers(0, 96), max_size=4))))
    pairs = zip(bounds[::2], bounds[1::2], strict=False)
    return tuple((quarter_time(a), quarter_time(b)) for a, b in pairs)


day_intervals = st.sampled_from(DAY_PALETTE) | random_day()
HOLIDAY_BASE = date(2023, 12, 1)


@st.composite
def calendars(draw: st.DrawFn) -> WorkingCalendar:
    hours = {day: draw(day_intervals) for day in range(7)}
    if not any(hours.values()):
        hours[draw(st.integers(0, 6))] = ((time(9), time(17)),)
    holidays = frozenset(
        HOLIDAY_BASE + timedelta(days=offset)
        for offset in draw(st.lists(st.integers(0, 450), max_size=12))
    ) | frozenset(draw(st.lists(st.sampled_from(SWITCH_DAYS), max_size=2)))
    return WorkingCalendar(draw(st.sampled_from(ZONES)), hours, holidays)


def _near_switch(day: date, minutes: int) -> datetime:
    return datetime.combine(day - timedelta(days=1), time(0), UTC) + minutes * M


instants = st.one_of(
    st.datetimes(datetime(2023, 12, 1), datetime(2025, 1, 31)).map(
        lambda moment: moment.replace(second=0, microsecond=0, fold=0, tzinfo=UTC)
    ),
    st.builds(_near_switch, st.sampled_from(SWITCH_DAYS), st.integers(0, 3 * 24 * 60)),
)
durations = st.integers(0, 4000).map(lambda minutes: minutes * M)


def pieces_around(calendar: WorkingCalendar, at: datetime) -> list[tuple[datetime, datetime]]:
    local_day = at.astimezone(ZoneInfo(calendar.timezone)).date()
    return [
        piece
        for offset in (-1, 0, 1)
        for piece in calendar.working_intervals(local_day + timedelta(days=offset))
    ]


@PROPERTY_SETTINGS
@given(calendar=calendars(), start=instants, duration=durations)
def test_between_inverts_add(
    calendar: WorkingCalendar, start: datetime, duration: timedelta
) -> None:
    end = add_business_time(calendar, start, duration)
    assert end.tzinfo is UTC
    assert end >= start
    assert end - start >= duration
    assert business_time_between(calendar, start, end) == duration


@PROPERTY_SETTINGS
@given(calendar=calendars(), moments=st.lists(instants, min_size=3, max_size=3))
def test_between_is_additive(calendar: WorkingCalendar, moments: list[datetime]) -> None:
    a, b, c = sorted(moments)
    whole = business_time_between(calendar, a, c)
    assert whole == business_time_between(calendar, a, b) + business_time_between(calendar, b, c)
    assert timedelta(0) <= whole <= c - a
    assert business_time_between(calendar, c, a) == timedelta(0) or a == c


@PROPERTY_SETTINGS
@given(calendar=calendars(), start=instants, first=durations, second=durations)
def test_add_is_strictly_monotonic_in_duration(
    calendar: WorkingCalendar, start: datetime, first: timedelta, second: timedelta
) -> None:
    low, high = sorted((first, second))
    low_end = add_business_time(calendar, start, low)
    high_end = add_business_time(calendar, start, high)
    assert low_end <= high_end
    if low < high:
        assert low_end < high_end
        assert business_time_between(calendar, low_end, high_end) == high - low


@PROPERTY_SETTINGS
@given(calendar=calendars(), start=instants, duration=durations.filter(bool))
def test_add_lands_inside_working_time_or_at_an_interval_end(
    calendar: WorkingCalendar, start: datetime, duration: timedelta
) -> None:
    end = add_business_time(calendar, start, duration)
    # The last microsecond before the result was being counted...
    assert is_business_time(calendar, end - US)
    # ...so the result lies in (piece start, piece end] of one working interval.
    assert any(lo < end <= hi for lo, hi in pieces_around(calendar, end - US))


@PROPERTY_SETTINGS
@given(calendar=calendars(), at=instants, jitter=st.integers(-1, 1))
def test_is_business_time_matches_working_intervals(
    calendar: WorkingCalendar, at: datetime, jitter: int
) -> None:
    at += jitter * US
    expected = any(lo <= at < hi for lo, hi in pieces_around(calendar, at))
    assert is_business_time(calendar, at) is expected
    assert is_business_time(calendar, at.astimezone(ZoneInfo(calendar.timezone))) is expected


@PROPERTY_SETTINGS
@given(
    calendar=calendars(),
    day=st.sampled_from(SWITCH_DAYS) | st.dates(date(2024, 1, 1), date(2024, 12, 31)),
)
def test_working_intervals_are_sorted_disjoint_and_on_their_local_day(
    calendar: WorkingCalendar, day: date
) -> None:
    intervals = calendar.working_intervals(day)
    zone = ZoneInfo(calendar.timezone)
    for lo, hi in intervals:
        assert lo.tzinfo is UTC and hi.tzinfo is UTC
        assert lo < hi
        assert lo.astimezone(zone).date() == day
        assert (hi - US).astimezone(zone).date() == day
        assert is_business_time(calendar, lo)
        assert is_business_time(calendar, hi - US)
    for (_, previous_end), (next_start, _) in pairwise(intervals):
        assert previous_end < next_start
        assert not is_business_time(calendar, previous_end)
    if day in calendar.holidays or day.weekday() not in calendar.hours:
        assert intervals == []


@PROPERTY_SETTINGS
@given(zone=st.sampled_from(ZONES), start=instants, end=instants, duration=durations)
def test_always_open_matches_plain_utc_arithmetic(
    zone: str, start: datetime, end: datetime, duration: timedelta
) -> None:
    calendar = WorkingCalendar.always_open(zone)
    assert add_business_time(calendar, start, duration) == start + duration
    assert business_time_between(calendar, start, end) == max(end - start, timedelta(0))
    assert is_business_time(calendar, start)


# ----------------------------------------------------------------------------- long spans


def walked_between(calendar: WorkingCalendar, start: datetime, end: datetime) -> timedelta:
    """The oracle: walk every local day and add up its working intervals inside the span."""
    if end <= start:
        return timedelta(0)
    zone = ZoneInfo(calendar.timezone)
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    elapsed = timedelta(0)
    while day <= last:
        for lo, hi in calendar.working_intervals(day):
            elapsed += max(timedelta(0), min(hi, end) - max(lo, start))
        day += timedelta(days=1)
    return elapsed


class TestLongSpans:
    def test_two_years_of_french_office_days_with_their_holidays(self) -> None:
        start, end = paris(2024, 1, 2, 10, 30), paris(2026, 1, 5, 15, 15)
        assert business_time_between(PARIS_OFFICE_FR, start, end) == walked_between(
            PARIS_OFFICE_FR, start, end
        )

    @pytest.mark.parametrize(
        ("start", "end"),
        [
            pytest.param(paris(2024, 5, 1, 10), paris(2024, 12, 25, 11), id="both-on-holidays"),
            pytest.param(paris(2024, 4, 30, 23), paris(2024, 12, 24, 23), id="eves-of-holidays"),
            pytest.param(paris(2024, 5, 2), paris(2024, 12, 26), id="mornings-after"),
            pytest.param(paris(2024, 3, 31, 2, 30), paris(2024, 10, 27, 2, 30), id="dst-days"),
            pytest.param(paris(2024, 3, 30, 12), paris(2025, 3, 30, 12), id="dst-eve-to-dst"),
        ],
    )
    def test_spans_starting_and_ending_on_special_days_match_the_walk(
        self, start: datetime, end: datetime
    ) -> None:
        for calendar in (PARIS_OFFICE_FR, PARIS_DAILY, WorkingCalendar.always_open("Europe/Paris")):
            assert business_time_between(calendar, start, end) == walked_between(
                calendar, start, end
            )

    def test_a_year_around_the_clock_in_paris_is_a_year_of_hours(self) -> None:
        always = WorkingCalendar.always_open("Europe/Paris")
        assert business_time_between(always, paris(2024, 1, 1), paris(2025, 1, 1)) == 366 * 24 * H

    def test_the_cost_does_not_grow_with_the_span(self, monkeypatch) -> None:
        calendar = WorkingCalendar(
            "Europe/Paris", PARIS_OFFICE_FR.hours, holidays=PARIS_OFFICE_FR.holidays
        )
        business_time_between(calendar, paris(2023, 1, 2), paris(2027, 1, 1))  # special days
        days_read: list[date] = []
        layout = WorkingCalendar._pieces
        monkeypatch.setattr(
            WorkingCalendar,
            "_pieces",
            lambda self, day: days_read.append(day) or layout(self, day),
        )

        business_time_between(calendar, paris(2023, 1, 2, 10), paris(2026, 12, 30, 16))

        assert len(days_read) <= 6  # the three local days around each end, nothing between

    def test_a_calendar_learns_the_dst_days_of_years_asked_later(self) -> None:
        calendar = WorkingCalendar("America/New_York", NY_OFFICE.hours)
        assert business_time_between(calendar, new_york(2024, 1, 1), new_york(2024, 6, 1)) == (
            walked_between(calendar, new_york(2024, 1, 1), new_york(2024, 6, 1))
        )
        always = WorkingCalendar.always_open("America/New_York")
        business_time_between(always, new_york(2024, 1, 1), new_york(2024, 2, 1))
        start, end = new_york(2010, 2, 1), new_york(2031, 12, 1)
        assert business_time_between(always, start, end) == end - start


LONG_INSTANTS = st.datetimes(datetime(2019, 1, 1), datetime(2031, 12, 31)).map(
    lambda moment: moment.replace(microsecond=0, fold=0, tzinfo=UTC)
)


@st.composite
def long_calendars(draw: st.DrawFn) -> WorkingCalendar:
    hours = {day: draw(day_intervals) for day in range(7)}
    holidays = frozenset(
        date(2019, 1, 1) + timedelta(days=offset)
        for offset in draw(st.lists(st.integers(0, 13 * 366), max_size=40))
    )
    return WorkingCalendar(draw(st.sampled_from(ZONES)), hours, holidays)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendar=long_calendars(), start=LONG_INSTANTS, end=LONG_INSTANTS)
def test_between_over_years_matches_walking_the_days(
    calendar: WorkingCalendar, start: datetime, end: datetime
) -> None:
    assert business_time_between(calendar, start, end) == walked_between(calendar, start, end)


@PROPERTY_SETTINGS
@given(
    calendar=long_calendars(),
    start=LONG_INSTANTS,
    days=st.integers(0, 30),
    minutes=st.integers(0, 1440),
)
def test_between_over_days_matches_walking_the_days(
    calendar: WorkingCalendar, start: datetime, days: int, minutes: int
) -> None:
    end = start + timedelta(days=days, minutes=minutes)
    assert business_time_between(calendar, start, end) == walked_between(calendar, start, end)
