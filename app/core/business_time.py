"""Business-time arithmetic for SLA clocks.

This module owns the pure computation of *business time*: how much working time lies between
two instants, when a given amount of working time will have elapsed, and whether an instant
is working time. It knows nothing about Flask, the database, tickets or SLA policies; callers
build a :class:`WorkingCalendar` and pass timezone-aware datetimes in.

Conventions
-----------
* All inputs must be timezone-aware datetimes (naive ones raise :class:`ValueError`); every
  datetime returned is aware and in UTC (``datetime.UTC``, i.e. ``datetime.timezone.utc``).
* Working hours are given in the calendar's *local wall time*, per weekday. An instant is
  working time exactly when its local date is not a holiday and its local wall-clock reading
  falls in one of that weekday's half-open intervals ``[start, end)``. DST therefore needs no
  special casing: a 09:00-17:00 day lasts 8 hours on both sides of a DST switch, while a 24x7
  calendar in a DST zone has a 23-hour and a 25-hour day.
* End of day: an interval ending at ``time(0)`` ends at 24:00, the midnight that closes the
  day; ``(time(0), time(0))`` is the whole day. ``time.max`` is taken literally (the interval
  then ends one microsecond before midnight). Intervals never cross midnight: split a night
  shift into ``(time(22), time(0))`` on one weekday and ``(time(0), time(6))`` on the next.
* DST gap (spring forward): a wall time that does not exist is clamped to the instant the
  clocks jump, i.e. to the first wall time after the gap. With Paris clocks going 02:00 ->
  03:00, an interval ``02:30-04:00`` lasts one hour (03:00-04:00) that day and an interval
  ``01:00-02:30`` ends at 03:00 CEST, also one hour; an interval lying wholly inside the gap
  contributes nothing.
* DST overlap (fall back): instants whose wall reading falls in an interval count on both
  passes of the repeated hour. With Paris clocks going 03:00 -> 02:00, an interval
  ``02:00-03:00`` lasts two hours that day.
* Searches are bounded: :func:`add_business_time` raises :class:`ValueError` rather than loop
  forever when it meets more than 3660 consecutive local days without working time.

Cost
----
:func:`business_time_between` does not walk the days between its instants. It counts the two
edge days exactly, and the whole days between them as whole weeks of the weekly pattern,
corrected on the few *special* days: holidays, and days near a change of UTC offset (DST), whose
working time may differ from their weekday's. Special days are found by bisection in a sorted
list with running sums, built once per calendar for the years asked about, so a span of ten
years costs about what a span of ten days does.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "WorkingCalendar",
    "add_business_time",
    "business_time_between",
    "is_business_time",
]

Interval = tuple[time, time]
"""A working interval in local wall time; an end of ``time(0)`` means 24:00."""

_MAX_CLOSED_DAYS = 3660
_DAY = timedelta(days=1)
_ZERO = timedelta(0)
_MIDNIGHT = time(0)
# Offsets are sampled this often when looking for DST transitions around a day; two
# transitions closer together than this (never seen in the tz database) would be missed.
_SAMPLE_STEP = timedelta(hours=6)
# Local days whose layout a calendar keeps at hand (a bound: a long-lived calendar starts over).
_DAYS_KEPT = 4096
# Below this many local days between two instants, walking the days is cheaper than the rest.
_WALK_DAYS = 7


class _FrozenHours(Mapping[int, tuple[Interval, ...]]):
    """Immutable, hashable weekday -> intervals mapping, so calendars can be hashed."""

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping[int, tuple[Interval, ...]]) -> None:
        self._data = dict(sorted(data.items()))
        self._hash = hash(frozenset(self._data.items()))

    def __getitem__(self, key: int) -> tuple[Interval, ...]:
        return self._data[key]

    def __iter__(self) -> Iterator[int]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:  # the Mapping default goes through a raise
        return key in self._data

    def get(self, key: int, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return repr(self._data)


@dataclass(frozen=True)
class WorkingCalendar:
    """When the support desk works, in one IANA timezone.

    Attributes:
        timezone: IANA timezone name, e.g. ``"Europe/Paris"``.
        hours: weekday (0 = Monday .. 6 = Sunday) -> working intervals in local wall time,
            e.g. ``{0: ((time(9), time(12)), (time(13), time(17)))}``. A missing weekday (or
            an empty tuple) means closed all day. Each interval needs ``start < end``, except
            that ``end == time(0)`` means 24:00 (so ``(time(0), time(0))`` is the whole day).
            Intervals of one weekday must not overlap. After construction the mapping is
            normalised: immutable, intervals sorted, touching ones merged, closed days dropped.
        holidays: local dates that are closed all day.

    Raises:
        ValueError: on an unknown timezone or a malformed ``hours``/``holidays``.
    """

    timezone: str
    hours: Mapping[int, tuple[Interval, ...]]
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", _load_zone(self.timezone))
        object.__setattr__(self, "hours", _normalise_hours(self.hours))
        object.__setattr__(self, "holidays", _normalise_holidays(self.holidays))
        nominal = tuple(_wall_length(self.hours.get(weekday, ())) for weekday in range(7))
        object.__setattr__(self, "_nominal", nominal)
        object.__setattr__(self, "_week", sum(nominal, _ZERO))
        object.__setattr__(self, "_special", _SpecialDays.EMPTY)
        object.__setattr__(self, "_days", {})

    @classmethod
    def always_open(cls, timezone: str = "UTC") -> WorkingCalendar:
        """A 24x7 calendar without holidays: business time equals elapsed time."""
        return cls(timezone=timezone, hours={day: ((_MIDNIGHT, _MIDNIGHT),) for day in range(7)})

    def working_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working time of local date ``day`` as sorted, disjoint, aware-UTC intervals.

        Each pair is a half-open ``[start, end)``; touching pieces are merged. The list is
        empty on holidays and closed weekdays. On a fall-back day an interval straddling the
        repeated hour may come out as two pieces (see the module docstring).
        """
        if isinstance(day, datetime) or not isinstance(day, date):
            raise ValueError(f"day must be a date, not {type(day).__name__}")
        return [
            (start.replace(tzinfo=UTC), end.replace(tzinfo=UTC)) for start, end in self._pieces(day)
        ]

    # Internal helpers work on naive datetimes that represent UTC instants.

    def _pieces(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """Working intervals of local date ``day`` as naive-UTC pairs (cached per calendar)."""
        days: dict[date, tuple[tuple[datetime, datetime], ...]] = self.__dict__["_days"]
        found = days.get(day)
        if found is None:
            if day.weekday() not in self.hours or day in self.holidays:
                found = ()
            else:
                found = _open_day_pieces(self, day)
            if len(days) >= _DAYS_KEPT:
                days.clear()
            days[day] = found
        return found

    def _local_wall(self, utc_naive: datetime) -> datetime:
        """The naive local wall-clock reading at a naive-UTC instant."""
        zone: tzinfo = self.__dict__["_zone"]
        return utc_naive.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None, fold=0)

    def _day_total(self, day: date) -> timedelta:
        """The working time of local date ``day`` (holidays and DST included)."""
        return sum((end - start for start, end in self._pieces(day)), _ZERO)

    def _whole_days(self, first: date, last: date) -> timedelta:
        """The working time of the local dates ``first`` to ``last`` (inclusive), in O(log n).

        Whole weeks count the weekly total; the days left over count their weekday's total;
        then the special days in the range (holidays, days near a DST switch) add what they
        differ from their weekday, read from running sums by bisection.
        """
        if last < first:
            return _ZERO
        nominal: tuple[timedelta, ...] = self.__dict__["_nominal"]
        weeks, extra = divmod((last - first).days + 1, 7)
        total = self.__dict__["_week"] * weeks
        weekday = first.weekday()
        for offset in range(extra):
            total += nominal[(weekday + offset) % 7]
        return total + self._special_days(first.year, last.year).correction(first, last)

    def _special_days(self, first_year: int, last_year: int) -> _SpecialDays:
        special: _SpecialDays = self.__dict__["_special"]
        if special.covers(first_year, last_year):
            return special
        # Grow the covered years (never shrink), a few years ahead so that clocks running
        # into the next years do not rebuild it; the new table replaces the old one whole.
        low = min(first_year, special.first_year or first_year)
        high = max(last_year + 2, special.last_year or last_year)
        special = _SpecialDays.build(
            self, max(low, date.min.year + 1), min(high, date.max.year - 1)
        )
        object.__setattr__(self, "_special", special)
        return special


def add_business_time(calendar: WorkingCalendar, start: datetime, duration: timedelta) -> datetime:
    """The instant at which ``duration`` of business time has elapsed after ``start``.

    If ``start`` is outside working time the clock starts at the next opening. When the
    budget runs out exactly at the end of a working interval, that end is returned (not the
    next opening). A zero ``duration`` returns ``start`` itself (converted to UTC), even
    outside working time.

    Args:
        calendar: the working calendar to count in.
        start: timezone-aware start instant (any timezone).
        duration: non-negative amount of business time.

    Returns:
        An aware UTC datetime.

    Raises:
        ValueError: if ``start`` is naive, ``duration`` is negative, or the calendar has no
            working time in more than 3660 consecutive days (e.g. a calendar that never opens).
    """
    cursor = _to_utc_naive(start, "start")
    if not isinstance(duration, timedelta):
        raise TypeError(f"duration must be a timedelta, not {type(duration).__name__}")
    if duration < _ZERO:
        raise ValueError(f"duration must not be negative, got {duration!r}")
    if duration == _ZERO:
        return cursor.replace(tzinfo=UTC)

    remaining = duration
    day = calendar._local_wall(cursor).date() - _DAY
    closed_days = 0
    while True:
        open_today = False
        for piece_start, piece_end in calendar._pieces(day):
            if piece_end <= cursor:
                continue
            open_today = True
            begin = max(piece_start, cursor)
            available = piece_end - begin
            if remaining <= available:
                return (begin + remaining).replace(tzinfo=UTC)
            remaining -= available
            cursor = piece_end
        closed_days = 0 if open_today else closed_days + 1
        if closed_days > _MAX_CLOSED_DAYS:
            raise ValueError(
                f"calendar has no working time in the {_MAX_CLOSED_DAYS} local days up to "
                f"{day.isoformat()}; cannot add {duration}"
            )
        day += _DAY


def business_time_between(calendar: WorkingCalendar, start: datetime, end: datetime) -> timedelta:
    """Business time elapsed from ``start`` to ``end``; ``timedelta(0)`` if ``end <= start``.

    Both instants must be timezone-aware (any timezone). The cost does not grow with their
    distance: the local days around each instant are counted piece by piece, the whole days
    between them by weeks, holidays and DST days (see the module docstring).
    """
    lo = _to_utc_naive(start, "start")
    hi = _to_utc_naive(end, "end")
    if hi <= lo:
        return _ZERO
    first = calendar._local_wall(lo).date()
    last = calendar._local_wall(hi).date()
    if (last - first).days < _WALK_DAYS:
        return _overlap(calendar, lo, hi, first - _DAY, last + _DAY)
    # Every instant of a local date two days or more after ``first`` (before ``last``) lies
    # strictly between ``lo`` and ``hi`` (offsets differ by less than a day), so those dates
    # count whole; the dates around each end are counted piece by piece.
    return (
        _overlap(calendar, lo, hi, first - _DAY, first + _DAY)
        + calendar._whole_days(first + 2 * _DAY, last - 2 * _DAY)
        + _overlap(calendar, lo, hi, last - _DAY, last + _DAY)
    )


def _overlap(calendar: WorkingCalendar, lo: datetime, hi: datetime, day: date, last: date):
    """Working time in ``[lo, hi)`` of the pieces of local dates ``day`` to ``last``."""
    total = _ZERO
    while day <= last:
        for piece_start, piece_end in calendar._pieces(day):
            overlap_start = max(piece_start, lo)
            overlap_end = min(piece_end, hi)
            if overlap_start < overlap_end:
                total += overlap_end - overlap_start
        day += _DAY
    return total


def is_business_time(calendar: WorkingCalendar, at: datetime) -> bool:
    """Whether the aware instant ``at`` is working time (interval starts in, ends out)."""
    wall = calendar._local_wall(_to_utc_naive(at, "at"))
    day = wall.date()
    if day in calendar.holidays:
        return False
    return any(
        datetime.combine(day, start) <= wall < _wall_end(day, end)
        for start, end in calendar.hours.get(day.weekday(), ())
    )


# --------------------------------------------------------------------------- helpers


def _wall_length(intervals: tuple[Interval, ...]) -> timedelta:
    """The wall-clock length of a weekday's intervals (its working time on a day without DST)."""
    day = date(2024, 1, 1)  # any date: only lengths are read
    return sum(
        (_wall_end(day, end) - datetime.combine(day, start) for start, end in intervals), _ZERO
    )


@dataclass(frozen=True)
class _SpecialDays:
    """A calendar's days whose working time differs from their weekday's, with running sums.

    ``days`` is sorted; ``sums[i]`` is what ``days[:i]`` add to their weekdays' totals
    (negative for a holiday). Holidays are all listed; DST days only for the covered years.
    """

    first_year: int | None
    last_year: int | None
    days: tuple[date, ...]
    sums: tuple[timedelta, ...]

    EMPTY: ClassVar[_SpecialDays]

    def covers(self, first_year: int, last_year: int) -> bool:
        return (
            self.first_year is not None
            and self.last_year is not None
            and self.first_year <= first_year
            and last_year <= self.last_year
        )

    def correction(self, first: date, last: date) -> timedelta:
        """What the special days in ``[first, last]`` add to their weekdays' totals."""
        return self.sums[bisect_right(self.days, last)] - self.sums[bisect_left(self.days, first)]

    @classmethod
    def build(cls, calendar: WorkingCalendar, first_year: int, last_year: int) -> _SpecialDays:
        candidates = set(calendar.holidays)
        for year in range(first_year, last_year + 1):
            candidates.update(_unsteady_days(calendar.timezone, year))
        nominal: tuple[timedelta, ...] = calendar.__dict__["_nominal"]
        days: list[date] = []
        sums = [_ZERO]
        for day in sorted(candidates):
            difference = calendar._day_total(day) - nominal[day.weekday()]
            if difference:
                days.append(day)
                sums.append(sums[-1] + difference)
        return cls(first_year, last_year, tuple(days), tuple(sums))


_SpecialDays.EMPTY = _SpecialDays(None, None, (), (_ZERO,))


@lru_cache(maxsize=1024)
def _unsteady_days(zone_name: str, year: int) -> tuple[date, ...]:
    """Local dates of ``year`` close enough to a change of UTC offset to be laid out unlike
    their weekday (a superset: the days whose :func:`_segments` window sees the change).

    Offsets are sampled on the same six-hour grid as :func:`_segments`, so both see the same
    changes.
    """
    zone = ZoneInfo(zone_name)
    sample = datetime(year, 1, 1) - 3 * _DAY
    stop = datetime(year + 1, 1, 1) + 3 * _DAY
    before = _offset(zone, sample)
    days: set[date] = set()
    while sample < stop:
        following = sample + _SAMPLE_STEP
        offset = _offset(zone, following)
        if offset != before:
            near = following.date()
            days.update(near + shift * _DAY for shift in range(-3, 4))
            before = offset
        sample = following
    return tuple(sorted(day for day in days if day.year == year))


def _to_utc_naive(value: datetime, name: str) -> datetime:
    """Validate an aware datetime and return it as a naive datetime in UTC."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    return value.astimezone(UTC).replace(tzinfo=None)


def _wall_end(day: date, end: time) -> datetime:
    """The naive local end of an interval on ``day``; ``time(0)`` means the next midnight."""
    if end == _MIDNIGHT:
        return datetime.combine(day + _DAY, _MIDNIGHT)
    return datetime.combine(day, end)


def _load_zone(name: Any) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise ValueError(f"timezone must be a non-empty IANA name, got {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name!r}") from exc


def _normalise_hours(hours: Any) -> _FrozenHours:
    if not isinstance(hours, Mapping):
        raise ValueError(f"hours must be a mapping weekday -> intervals, got {hours!r}")
    result: dict[int, tuple[Interval, ...]] = {}
    for weekday, intervals in hours.items():
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise ValueError(f"weekday must be an int from 0 (Monday) to 6, got {weekday!r}")
        spans = sorted(_check_interval(weekday, item) for item in _as_tuple(weekday, intervals))
        merged: list[Interval] = []
        for span_start, span_end in spans:
            if merged:
                prev_start, prev_end = merged[-1]
                if prev_end == _MIDNIGHT or span_start < prev_end:
                    raise ValueError(
                        f"overlapping intervals on weekday {weekday}: "
                        f"{(prev_start, prev_end)!r} and {(span_start, span_end)!r}"
                    )
                if span_start == prev_end:
                    merged[-1] = (prev_start, span_end)
                    continue
            merged.append((span_start, span_end))
        if merged:
            result[weekday] = tuple(merged)
    return _FrozenHours(result)


def _as_tuple(weekday: int, intervals: Any) -> tuple[Any, ...]:
    if isinstance(intervals, str | bytes):
        raise ValueError(f"intervals of weekday {weekday} must be pairs of times")
    try:
        return tuple(intervals)
    except TypeError:
        raise ValueError(f"intervals of weekday {weekday} must be pairs of times") from None


def _check_interval(weekday: int, item: Any) -> Interval:
    try:
        start, end = item
    except (TypeError, ValueError):
        raise ValueError(f"interval {item!r} on weekday {weekday} is not a pair") from None
    for value in (start, end):
        if not isinstance(value, time) or value.tzinfo is not None:
            raise ValueError(f"interval bounds must be naive times, got {value!r}")
    start, end = start.replace(fold=0), end.replace(fold=0)
    if end != _MIDNIGHT and start >= end:
        raise ValueError(
            f"interval {(start, end)!r} on weekday {weekday} must have start < end "
            "(use time(0) as the end for 24:00)"
        )
    return (start, end)


def _normalise_holidays(holidays: Any) -> frozenset[date]:
    try:
        days = frozenset(holidays)
    except TypeError:
        raise ValueError(f"holidays must be a collection of dates, got {holidays!r}") from None
    for day in days:
        if isinstance(day, datetime) or not isinstance(day, date):
            raise ValueError(f"holidays must be dates, got {day!r}")
    return days


def _offset(zone: tzinfo, utc_naive: datetime) -> timedelta:
    offset = utc_naive.replace(tzinfo=UTC).astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset
    return offset


@lru_cache(maxsize=8192)
def _open_day_pieces(calendar: WorkingCalendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """Naive-UTC working pieces of the open, non-holiday local date ``day``."""
    intervals = calendar.hours[day.weekday()]
    walls = [(datetime.combine(day, start), _wall_end(day, end)) for start, end in intervals]
    pieces: list[tuple[datetime, datetime]] = []
    for seg_start, seg_end, offset in _segments(calendar.timezone, day):
        seg_wall_start, seg_wall_end = seg_start + offset, seg_end + offset
        for wall_start, wall_end in walls:
            lo = max(wall_start, seg_wall_start)
            hi = min(wall_end, seg_wall_end)
            if lo < hi:
                pieces.append((lo - offset, hi - offset))
    pieces.sort()
    merged: list[tuple[datetime, datetime]] = []
    for start, end in pieces:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


@lru_cache(maxsize=4096)
def _segments(zone_name: str, day: date) -> tuple[tuple[datetime, datetime, timedelta], ...]:
    """Constant-offset naive-UTC segments covering every instant whose local date is ``day``.

    The window is ``[day - 1 day, day + 2 days)`` read as UTC, wide enough for any UTC offset
    strictly within +-24h. Transitions are located to the second by bisection.
    """
    zone = ZoneInfo(zone_name)
    window_start = datetime.combine(day - _DAY, _MIDNIGHT)
    window_end = window_start + 3 * _DAY
    cuts: list[tuple[datetime, timedelta]] = [(window_start, _offset(zone, window_start))]
    sample = window_start
    while sample < window_end:
        following = sample + _SAMPLE_STEP
        offset = _offset(zone, following)
        if offset != cuts[-1][1]:
            cuts.append((_transition(zone, sample, following, cuts[-1][1]), offset))
        sample = following
    bounds = [cut for cut, _ in cuts[1:]] + [window_end]
    return tuple((cut, bound, offset) for (cut, offset), bound in zip(cuts, bounds, strict=True))


def _transition(zone: tzinfo, lo: datetime, hi: datetime, before: timedelta) -> datetime:
    """First whole second in ``(lo, hi]`` whose offset differs from ``before``."""
    lo_s, hi_s = 0, int((hi - lo).total_seconds())
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        if _offset(zone, lo + timedelta(seconds=mid)) == before:
            lo_s = mid
        else:
            hi_s = mid
    return lo + timedelta(seconds=hi_s)
