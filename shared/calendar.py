"""Time as the task force lives it: Asia/Ho_Chi_Minh weeks, working days, quiet hours.

Everything here is pure. Functions take aware datetimes and return aware
datetimes in `TZ`; a naive datetime is refused rather than guessed at, because a
guess silently shifts a deadline by seven hours.

Vietnam has had no daylight saving since 1975, so a local day is always 24 hours;
arithmetic is still done in UTC so that historical dates cannot surprise us.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays

from shared.vn import InvalidField

TZ = ZoneInfo("Asia/Ho_Chi_Minh")

# The years a week label or date from outside may name: none before the system could hold
# data, none so far ahead that nothing could be about it. One range for every parser
# (intake, reporting, the CLI), and it keeps date arithmetic far from datetime's limits
# (year 1 minus a week is an OverflowError, not a ValueError).
FIRST_YEAR = 2020
LAST_YEAR = 2099

FRIDAY = 4
THURSDAY = 3
# The weekly report is due "before 12:00 on Friday", local time.
CUTOFF_TIME = time(12, 0)


def _holiday_cutoff(raw: str | None) -> time | None:
    """THAOGO_HOLIDAY_CUTOFF: the local time ("HH:MM") the cutoff falls at when it moves
    off a holiday Friday, or "none" to keep it on the Friday. Every service reads it,
    since they must all agree where a week ends."""
    if raw is None or not raw.strip():
        return CUTOFF_TIME
    if raw.strip().lower() == "none":
        return None
    try:
        return time.fromisoformat(raw.strip())
    except ValueError:
        raise ValueError(f"THAOGO_HOLIDAY_CUTOFF must be HH:MM or 'none', got {raw!r}") from None


# When the Friday is a public holiday the reports are due at this time of the last
# working day before it (Monday to Thursday of that week); None keeps the Friday.
HOLIDAY_CUTOFF_TIME: time | None = _holiday_cutoff(os.environ.get("THAOGO_HOLIDAY_CUTOFF"))
QUIET_START = time(21, 0)
QUIET_END = time(7, 0)
# Office hours of the province's agencies (7:30 to 17:00 on a working day): outside
# them only what an officer or a member vouches for is urgent enough to wake the head.
WORK_START = time(7, 30)
WORK_END = time(17, 0)

_WEEK = timedelta(days=7)
_DAY = timedelta(days=1)
_LABEL_RE = re.compile(r"^(\d{4})-W(\d{2})$")


def _require_aware(t: datetime, what: str = "datetime") -> None:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {t.isoformat()}")


def to_local(t: datetime) -> datetime:
    """`t` seen from Asia/Ho_Chi_Minh. Refuses naive datetimes."""
    _require_aware(t)
    return t.astimezone(TZ)


def _local_midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=TZ)


# --- clocks ------------------------------------------------------------------


class Clock(Protocol):
    """Where services get "now" from, so tests can control time."""

    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(TZ)


class FixedClock:
    """Always the same instant."""

    def __init__(self, at: datetime) -> None:
        self._at = to_local(at)

    def now(self) -> datetime:
        return self._at


class ManualClock:
    """A clock a test moves forward by hand."""

    def __init__(self, start: datetime) -> None:
        self._now = to_local(start)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now = (self._now.astimezone(UTC) + delta).astimezone(TZ)
        return self._now

    def set(self, t: datetime) -> None:
        self._now = to_local(t)


def local_now(clock: Clock | None = None) -> datetime:
    """The current local time, from `clock` if given."""
    return to_local((clock or SystemClock()).now())


# --- report weeks --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WeekWindow:
    """A report week: the interval (start, end], from one cutoff to the next.

    The cutoff is Friday 12:00 local time, or, when that Friday is a public holiday,
    12:00 (HOLIDAY_CUTOFF_TIME) of the last working day before it in the same week
    (a week with no working day before its Friday, as in Tết, keeps the Friday).
    Left-open so that a report stamped exactly at the cutoff still counts for the
    week it was due in. The label is the ISO week of the nominal Friday, whether or
    not the cutoff moved, so labels never change with the holiday calendar.
    """

    start: datetime
    end: datetime
    label: str

    def contains(self, t: datetime) -> bool:
        _require_aware(t)
        return self.start < t <= self.end

    @property
    def friday(self) -> date:
        """The nominal Friday the week is named after (its label's Friday)."""
        return _friday_of_label(self.label)


def cutoff_at(friday: date) -> datetime:
    """When the week named after `friday` closes (see WeekWindow)."""
    if not is_working_day(friday) and HOLIDAY_CUTOFF_TIME is not None:
        # Monday to Thursday only: the cutoff must stay after the previous week's.
        for back in range(1, FRIDAY + 1):
            day = friday - timedelta(days=back)
            if is_working_day(day):
                return datetime.combine(day, HOLIDAY_CUTOFF_TIME, tzinfo=TZ)
    return datetime.combine(friday, CUTOFF_TIME, tzinfo=TZ)


def _window_closing_on(friday: date) -> WeekWindow:
    # The start is the previous week's (possibly moved) cutoff, so weeks tile exactly.
    iso = friday.isocalendar()
    return WeekWindow(start=cutoff_at(friday - _WEEK), end=cutoff_at(friday),
                      label=f"{iso.year:04d}-W{iso.week:02d}")


def week_window(t: datetime) -> WeekWindow:
    """The report week containing `t`; exactly the cutoff closes its week."""
    local = to_local(t)
    friday = local.date() + timedelta(days=(FRIDAY - local.weekday()) % 7)
    w = _window_closing_on(friday)
    return w if local <= w.end else _window_closing_on(friday + _WEEK)


def _friday_of_label(label: str) -> date:
    m = _LABEL_RE.match(label.strip()) if isinstance(label, str) else None
    if m is None:
        raise ValueError(f"week label must look like '2026-W48', got {label!r}")
    year, week = int(m.group(1)), int(m.group(2))
    try:
        return date.fromisocalendar(year, week, FRIDAY + 1)
    except ValueError:
        # Only some ISO years have a week 53; say so rather than echo a bare range error.
        raise ValueError(f"ISO year {year} has no week {week:02d} (label {label!r})") from None


def week_window_by_label(label: str) -> WeekWindow:
    """The report week labelled e.g. "2026-W48" (ISO week of its nominal Friday)."""
    try:
        return _window_closing_on(_friday_of_label(label))
    except OverflowError:
        # Year 1's first week starts before datetime's first instant.
        raise ValueError(f"week {label!r} is out of range") from None


def check_year(year: int, field: str) -> None:
    """Refuses a year outside [FIRST_YEAR, LAST_YEAR], naming `field`."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidField(
            field, f"the year must be between {FIRST_YEAR} and {LAST_YEAR}",
            f"năm phải từ {FIRST_YEAR} đến {LAST_YEAR}")


def check_date(d: date, field: str) -> None:
    """Refuses a date (or datetime) from outside whose year is not in the accepted range."""
    check_year(d.year, field)


def parse_week_label(label: str, field: str) -> WeekWindow:
    """A week label from outside (a request, a form, a command line): its window, or
    InvalidField naming `field` when it is malformed, names a week its ISO year does not
    have, or a year outside [FIRST_YEAR, LAST_YEAR]."""
    m = _LABEL_RE.match(label.strip()) if isinstance(label, str) else None
    if m is None:
        raise InvalidField(field, "must be an ISO week such as 2026-W48",
                           "phải là tuần theo ISO, ví dụ 2026-W48")
    year, week = int(m.group(1)), int(m.group(2))
    check_year(year, field)
    try:
        return week_window_by_label(label)
    except ValueError:
        raise InvalidField(field, f"ISO year {year} has no week {week:02d}",
                           f"năm {year} không có tuần {week:02d} theo ISO") from None


def previous_window(w: WeekWindow) -> WeekWindow:
    return _window_closing_on(w.friday - _WEEK)


def next_window(w: WeekWindow) -> WeekWindow:
    return _window_closing_on(w.friday + _WEEK)


def cutoff(w: WeekWindow) -> datetime:
    """When week `w`'s reports are due and its rollup is published."""
    return w.end


# --- working days ----------------------------------------------------------------


@functools.cache
def _year_calendar(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(public holidays, Saturdays/Sundays worked in compensation) of one year."""
    # The next year is loaded too because a compensating workday can fall in the
    # year before the holiday it pays for (e.g. 27/12/2014 for 2/1/2015).
    # country_holidays rather than holidays.Vietnam: the latter is attached lazily
    # at runtime with an untyped constructor, which mypy --strict rejects.
    cal = holidays.country_holidays("VN", years=(year, year + 1))
    days_off = frozenset(d for d in cal if d.year == year)
    worked = frozenset(d for d in cal.weekend_workdays if d.year == year)
    return days_off, worked


def is_public_holiday(d: date) -> bool:
    return d in _year_calendar(d.year)[0]


def is_working_day(d: date) -> bool:
    """Monday to Friday and not a public holiday (Tết and observed days included).

    A weekend day the government declares worked in exchange for a bridge holiday
    (e.g. Saturday 22/8/2026 for Monday 31/8/2026) counts as a working day, since
    agencies are open then.
    """
    if isinstance(d, datetime):
        d = d.date()
    return _is_working_date(d)


@functools.lru_cache(maxsize=4096)
def _is_working_date(d: date) -> bool:
    days_off, worked = _year_calendar(d.year)
    if d in worked:
        return True
    return d.weekday() < 5 and d not in days_off


def next_working_day(d: date) -> date:
    """The first working day strictly after `d`."""
    d += _DAY
    while not is_working_day(d):
        d += _DAY
    return d


def add_working_days(start: datetime, days: float) -> datetime:
    """The deadline `days` working days after `start`.

    Rule: a clock runs during every minute of a working day (all 24 hours of it)
    and stands still on weekends and holidays; the deadline is when it has run
    `days` * 24 hours since `start`. Consequences:

    - on a working day, N days later is the Nth following working day at the
      same local time (Friday 16:00 + 1 = Monday 16:00);
    - from a weekend or holiday the clock starts at the next working day's
      00:00, so the deadline is the end (24:00) of the Nth working day
      (Saturday + 1 = Tuesday 00:00, i.e. end of Monday);
    - fractions are time on that clock (0.5 = 12 hours of working day);
    - days == 0 gives the first working instant at or after `start`.
    The result is the earliest such instant, so when it falls exactly at a day
    boundary it is the 00:00 right after the last working day counted.
    """
    if days < 0:
        raise ValueError(f"days must be >= 0, got {days}")
    remaining = timedelta(days=days)
    cur = to_local(start).astimezone(UTC)
    # Day by day, as dates: each day's end is the next day's start, and both answers
    # below are cached per date (notify works out several deadlines per assignment, and
    # converting every day of each to and from local time was most of its CPU).
    day = cur.astimezone(TZ).date()
    while True:
        day_end = _day_start_utc(day + _DAY)
        if _is_working_date(day):
            available = day_end - cur
            if remaining <= available:
                return (cur + remaining).astimezone(TZ)
            remaining -= available
        cur = day_end
        day += _DAY


@functools.lru_cache(maxsize=4096)
def _day_start_utc(d: date) -> datetime:
    return _local_midnight(d).astimezone(UTC)


def working_days_between(a: datetime, b: datetime) -> float:
    """Working time from `a` to `b`, in working days (negative if b is before a).

    The inverse of `add_working_days`: for a deadline d, working_days_between(d, now)
    > 0 means overdue by that many working days.
    """
    if b < a:
        return -working_days_between(b, a)
    lo, hi = to_local(a).astimezone(UTC), to_local(b).astimezone(UTC)
    total = timedelta(0)
    day = lo.astimezone(TZ).date()
    last = hi.astimezone(TZ).date()
    while day <= last:
        if is_working_day(day):
            day_start = _local_midnight(day).astimezone(UTC)
            day_end = _local_midnight(day + _DAY).astimezone(UTC)
            overlap = min(hi, day_end) - max(lo, day_start)
            if overlap > timedelta(0):
                total += overlap
        day += _DAY
    return total / _DAY


# --- quiet hours and schedules -----------------------------------------------------


def _naive_time(at: time, what: str) -> time:
    # A tz-aware time-of-day would be ambiguous next to our "local" convention.
    if at.tzinfo is not None:
        raise ValueError(f"{what} must be a naive local time-of-day, got {at.isoformat()}")
    return at


def quiet_hours(t: datetime, start: time = QUIET_START, end: time = QUIET_END) -> bool:
    """Whether `t` falls in the local quiet period [start, end) (may wrap midnight).

    start == end means no quiet period.
    """
    now = to_local(t).time()
    start, end = _naive_time(start, "start"), _naive_time(end, "end")
    if start == end:
        return False
    if start < end:
        return start <= now < end
    return now >= start or now < end


def next_allowed_send(t: datetime, start: time = QUIET_START, end: time = QUIET_END) -> datetime:
    """`t` itself, or if it is in quiet hours, the local `end` time they lift at."""
    local = to_local(t)
    if not quiet_hours(local, start, end):
        return local
    release = datetime.combine(local.date(), end, tzinfo=TZ)
    if release <= local:
        release = datetime.combine(local.date() + _DAY, end, tzinfo=TZ)
    return release


def in_working_hours(t: datetime, start: time = WORK_START, end: time = WORK_END) -> bool:
    """Whether `t` falls in office hours: [start, end) local time of a working day."""
    local = to_local(t)
    start, end = _naive_time(start, "start"), _naive_time(end, "end")
    return is_working_day(local.date()) and start <= local.time() < end


def next_working_hours(t: datetime, start: time = WORK_START, end: time = WORK_END
                       ) -> datetime:
    """`t` itself in office hours, else when they next begin: `start` of the same day
    when `t` is before it on a working day, else `start` of the next working day."""
    local = to_local(t)
    if in_working_hours(local, start, end):
        return local
    day = local.date()
    if not (is_working_day(day) and local.time() < _naive_time(start, "start")):
        day = next_working_day(day)
    return datetime.combine(day, start, tzinfo=TZ)


def next_weekly_fire(t: datetime, weekday: int, at: time) -> datetime:
    """The first local `weekday` (0 = Monday) at `at` strictly after `t`."""
    if not 0 <= weekday <= 6:
        raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday}")
    at = _naive_time(at, "at")
    local = to_local(t)
    day = local.date() + timedelta(days=(weekday - local.weekday()) % 7)
    fire = datetime.combine(day, at, tzinfo=TZ)
    if fire <= local:
        fire = datetime.combine(day + _WEEK, at, tzinfo=TZ)
    return fire
