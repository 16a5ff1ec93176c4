from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.calendar import (
    FIRST_YEAR,
    LAST_YEAR,
    TZ,
    FixedClock,
    ManualClock,
    SystemClock,
    add_working_days,
    check_date,
    cutoff,
    in_working_hours,
    is_working_day,
    local_now,
    next_allowed_send,
    next_weekly_fire,
    next_window,
    next_working_hours,
    parse_week_label,
    previous_window,
    quiet_hours,
    week_window,
    week_window_by_label,
    working_days_between,
)
from shared.vn import InvalidField


def vn(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, us, tzinfo=TZ)


# --- week windows ---------------------------------------------------------------


def test_friday_noon_exactly_closes_its_week() -> None:
    w = week_window(vn(2026, 11, 27, 12))
    assert w.label == "2026-W48"
    assert w.start == vn(2026, 11, 20, 12)
    assert w.end == cutoff(w) == vn(2026, 11, 27, 12)
    assert w.contains(vn(2026, 11, 27, 12))
    assert not w.contains(w.start)


def test_one_second_and_one_microsecond_after_noon_is_next_week() -> None:
    assert week_window(vn(2026, 11, 27, 12, 0, 1)).label == "2026-W49"
    assert week_window(vn(2026, 11, 27, 12, 0, 0, 1)).label == "2026-W49"
    assert week_window(vn(2026, 11, 27, 11, 59, 59, 999_999)).label == "2026-W48"


def test_days_of_week_map_to_the_coming_friday() -> None:
    # Saturday through Friday morning all close on Friday 27/11/2026.
    for day in range(21, 28):
        assert week_window(vn(2026, 11, day, 8)).label == "2026-W48"
    assert week_window(vn(2026, 11, 20, 13)).label == "2026-W48"


def test_other_timezones_are_converted_to_local_time() -> None:
    # 05:00 UTC is 12:00 in Hanoi: still the closing instant.
    assert week_window(datetime(2026, 11, 27, 5, tzinfo=UTC)).label == "2026-W48"
    assert week_window(datetime(2026, 11, 27, 5, 0, 1, tzinfo=UTC)).label == "2026-W49"
    # 13:30 in UTC+9 is 11:30 in Hanoi, 14:30 is 12:30.
    tokyo = timezone(timedelta(hours=9))
    assert week_window(datetime(2026, 11, 27, 13, 30, tzinfo=tokyo)).label == "2026-W48"
    assert week_window(datetime(2026, 11, 27, 14, 30, tzinfo=tokyo)).label == "2026-W49"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        week_window(datetime(2026, 11, 27, 12))
    with pytest.raises(ValueError, match="aware"):
        week_window(vn(2026, 11, 27)).contains(datetime(2026, 11, 27))


def test_iso_week_53_and_year_boundary() -> None:
    # 2026 has 53 ISO weeks; its week 53 is named after New Year's Day 2027, a holiday
    # Friday, so it closes at 12:00 on Thursday 31/12/2026 and keeps its label.
    w53 = week_window(vn(2026, 12, 31, 9))
    assert w53.label == "2026-W53"
    assert w53.friday == date(2027, 1, 1)
    assert w53.end == vn(2026, 12, 31, 12)
    assert next_window(w53).label == "2027-W01"
    assert next_window(w53).start == w53.end
    assert next_window(w53).end == vn(2027, 1, 8, 12)
    assert previous_window(w53).label == "2026-W52"
    assert week_window(vn(2026, 12, 31, 12, 0, 1)).label == "2027-W01"
    assert week_window(vn(2027, 1, 1, 9)).label == "2027-W01"
    # 2025 has 52 weeks: the week closing on 26/12/2025 is followed by 2026-W01.
    assert next_window(week_window(vn(2025, 12, 26, 12))).label == "2026-W01"
    assert week_window(vn(2025, 12, 31, 23, 59)).label == "2026-W01"


@pytest.mark.parametrize("label", ["2026-W48", "2026-W53", "2027-W01", "2020-W53", "2025-W01"])
def test_labels_round_trip(label: str) -> None:
    w = week_window_by_label(label)
    assert w.label == label
    assert w.friday.weekday() == 4 and w.end.time() == time(12)
    assert w.friday.isocalendar()[:2] == (int(label[:4]), int(label[-2:]))
    # The weeks 53 close on Thursday 31/12 (their Friday is New Year's Day); the others
    # on Friday.
    assert (w.end.date() == w.friday) == (label not in ("2026-W53", "2020-W53"))
    assert w.start == previous_window(w).end
    assert week_window(w.end) == w
    assert week_window(w.start + timedelta(microseconds=1)) == w


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("2027-W53", "has no week 53"),
        ("2026-W00", "has no week 00"),
        ("2026-48", "must look like"),
        ("2026-W5", "must look like"),
        ("W48-2026", "must look like"),
        ("", "must look like"),
    ],
)
def test_bad_labels_are_refused_clearly(label: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        week_window_by_label(label)


def test_previous_and_next_are_inverse() -> None:
    w = week_window_by_label("2027-W05")
    assert previous_window(next_window(w)) == w
    assert next_window(w).start == w.end


@given(
    st.datetimes(
        min_value=datetime(1980, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from([TZ, UTC, timezone(timedelta(hours=-5))]),
    )
)
def test_week_window_contains_its_instant(t: datetime) -> None:
    w = week_window(t)
    assert w.contains(t)
    assert not previous_window(w).contains(t)
    assert not next_window(w).contains(t)
    assert week_window_by_label(w.label) == w


# --- working days ------------------------------------------------------------------


def test_working_days_basic() -> None:
    assert is_working_day(date(2026, 11, 27))  # Friday
    assert not is_working_day(date(2026, 11, 28))  # Saturday
    assert not is_working_day(date(2026, 11, 29))  # Sunday


@pytest.mark.parametrize(
    "holiday",
    [
        date(2027, 2, 4),  # 29 Tết
        date(2027, 2, 5),
        date(2027, 2, 8),
        date(2027, 2, 9),
        date(2027, 2, 10),  # fifth day of Tết
        date(2027, 4, 30),
        date(2027, 5, 3),  # 1/5 falls on a Saturday: observed Monday
        date(2027, 9, 2),
        date(2027, 9, 3),
        date(2026, 8, 31),  # bridge day, paid for by Saturday 22/8
        date(2026, 9, 1),
        date(2026, 9, 2),
    ],
)
def test_public_holidays_are_not_working_days(holiday: date) -> None:
    assert not is_working_day(holiday)


def test_compensating_saturday_is_a_working_day() -> None:
    assert is_working_day(date(2026, 8, 22))
    assert not is_working_day(date(2026, 8, 29))


def test_deadline_across_tet_2027() -> None:
    # Wednesday before Tết: Thu 4/2 .. Wed 10/2 are off, Thursday 11/2 is next.
    start = vn(2027, 2, 3, 10)
    assert add_working_days(start, 1) == vn(2027, 2, 11, 10)
    assert add_working_days(start, 2) == vn(2027, 2, 12, 10)
    assert add_working_days(start, 3) == vn(2027, 2, 15, 10)
    assert working_days_between(start, vn(2027, 2, 15, 10)) == 3


def test_deadline_across_30_4_and_1_5_2027() -> None:
    # Thu 29/4 + 1: Fri 30/4 off, weekend, Mon 3/5 observed for 1/5 -> Tue 4/5.
    assert add_working_days(vn(2027, 4, 29, 15, 30), 1) == vn(2027, 5, 4, 15, 30)


def test_deadline_across_2_9() -> None:
    # 2027: Thu 2/9 and Fri 3/9 off.
    assert add_working_days(vn(2027, 9, 1, 9), 1) == vn(2027, 9, 6, 9)
    # 2026: Sat 22/8 is worked, Mon 31/8 .. Wed 2/9 are off.
    assert add_working_days(vn(2026, 8, 21, 9), 1) == vn(2026, 8, 22, 9)
    assert add_working_days(vn(2026, 8, 28, 9), 1) == vn(2026, 9, 3, 9)


def test_start_outside_working_days_counts_from_next_working_day() -> None:
    saturday = vn(2026, 11, 28, 15)
    assert add_working_days(saturday, 1) == vn(2026, 12, 1)  # end of Monday
    assert add_working_days(saturday, 0) == vn(2026, 11, 30)  # Monday 00:00
    # Ending exactly at a day boundary gives the end of the last day counted,
    # not the start of the next working day.
    assert add_working_days(vn(2027, 2, 3), 1) == vn(2027, 2, 4)


def test_same_time_of_day_and_fractions() -> None:
    friday = vn(2026, 11, 27, 16)
    assert add_working_days(friday, 1) == vn(2026, 11, 30, 16)
    assert add_working_days(friday, 0) == friday
    assert add_working_days(friday, 0.5) == vn(2026, 11, 30, 4)
    assert working_days_between(friday, vn(2026, 11, 30, 4)) == 0.5


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError):
        add_working_days(vn(2026, 11, 27), -1)


def test_working_days_between_for_overdue() -> None:
    deadline = vn(2026, 11, 27, 16)
    assert working_days_between(deadline, vn(2026, 11, 29, 23)) == 1 / 3  # weekend free
    assert working_days_between(deadline, vn(2026, 12, 1, 16)) == 2
    assert working_days_between(vn(2026, 12, 1, 16), deadline) == -2
    assert working_days_between(deadline, deadline) == 0


@given(
    st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2029, 12, 1), timezones=st.just(TZ)
    ),
    st.integers(min_value=0, max_value=40),
)
def test_working_days_between_inverts_add(start: datetime, n: int) -> None:
    deadline = add_working_days(start, n)
    assert deadline >= start
    assert deadline.tzinfo is TZ
    first = add_working_days(start, 0)
    assert working_days_between(first, deadline) == pytest.approx(n)


# --- clocks ----------------------------------------------------------------------------


def test_clocks() -> None:
    t0 = datetime(2026, 11, 27, 5, tzinfo=UTC)
    assert FixedClock(t0).now() == vn(2026, 11, 27, 12)
    clock = ManualClock(t0)
    assert clock.advance(timedelta(hours=1)) == vn(2026, 11, 27, 13)
    assert local_now(clock) == vn(2026, 11, 27, 13)
    assert local_now(clock).tzinfo is TZ
    assert local_now().tzinfo is TZ
    assert abs(SystemClock().now() - datetime.now(UTC)) < timedelta(seconds=5)
    with pytest.raises(ValueError):
        ManualClock(datetime(2026, 1, 1))


# --- quiet hours and schedules ----------------------------------------------------------


@pytest.mark.parametrize(
    ("t", "quiet"),
    [
        (vn(2026, 11, 27, 20, 59, 59), False),
        (vn(2026, 11, 27, 21), True),
        (vn(2026, 11, 27, 23, 30), True),
        (vn(2026, 11, 28, 0), True),
        (vn(2026, 11, 28, 6, 59, 59), True),
        (vn(2026, 11, 28, 7), False),
        (vn(2026, 11, 28, 12), False),
    ],
)
def test_quiet_hours(t: datetime, quiet: bool) -> None:
    assert quiet_hours(t) is quiet


def test_quiet_hours_uses_local_time() -> None:
    assert quiet_hours(datetime(2026, 11, 27, 14, tzinfo=UTC))  # 21:00 in Hanoi
    assert not quiet_hours(datetime(2026, 11, 27, 0, tzinfo=UTC))  # 07:00 in Hanoi


def test_non_wrapping_and_empty_quiet_windows() -> None:
    assert quiet_hours(vn(2026, 1, 1, 13), time(12), time(14))
    assert not quiet_hours(vn(2026, 1, 1, 14), time(12), time(14))
    assert not quiet_hours(vn(2026, 1, 1, 3), time(7), time(7))


def test_next_allowed_send() -> None:
    assert next_allowed_send(vn(2026, 11, 27, 22)) == vn(2026, 11, 28, 7)
    assert next_allowed_send(vn(2026, 11, 28, 3)) == vn(2026, 11, 28, 7)
    assert next_allowed_send(vn(2026, 11, 28, 9, 15)) == vn(2026, 11, 28, 9, 15)
    assert next_allowed_send(datetime(2026, 11, 27, 15, tzinfo=UTC)) == vn(2026, 11, 28, 7)


@pytest.mark.parametrize(
    ("t", "inside"),
    [
        (vn(2026, 11, 26, 7, 29, 59), False),  # Thursday, before the offices open
        (vn(2026, 11, 26, 7, 30), True),
        (vn(2026, 11, 26, 16, 59, 59), True),
        (vn(2026, 11, 26, 17), False),
        (vn(2026, 11, 28, 10), False),  # Saturday
        (vn(2026, 9, 2, 10), False),  # National Day
    ],
)
def test_working_hours(t: datetime, inside: bool) -> None:
    assert in_working_hours(t) is inside


@pytest.mark.parametrize(
    ("t", "opens"),
    [
        (vn(2026, 11, 26, 9), vn(2026, 11, 26, 9)),  # inside: at once
        (vn(2026, 11, 26, 3), vn(2026, 11, 26, 7, 30)),  # before, same working day
        (vn(2026, 11, 25, 22), vn(2026, 11, 26, 7, 30)),  # Wednesday night: Thursday
        (vn(2026, 11, 27, 22), vn(2026, 11, 30, 7, 30)),  # Friday night: Monday
        (vn(2026, 11, 28, 7, 45), vn(2026, 11, 30, 7, 30)),  # Saturday morning: Monday
        # Friday before National Day, bridged to Monday 31/8: Thursday 3/9.
        (vn(2026, 8, 28, 20), vn(2026, 9, 3, 7, 30)),
        (datetime(2026, 11, 25, 15, tzinfo=UTC), vn(2026, 11, 26, 7, 30)),  # 22:00 local
    ],
)
def test_next_working_hours(t: datetime, opens: datetime) -> None:
    assert next_working_hours(t) == opens
    assert in_working_hours(opens)


def test_next_weekly_fire_is_strictly_after() -> None:
    thu = 3
    # From Thursday 16:00 exactly, the next Thursday 16:00 is a week later.
    assert next_weekly_fire(vn(2026, 11, 26, 16), thu, time(16)) == vn(2026, 12, 3, 16)
    assert next_weekly_fire(vn(2026, 11, 26, 15, 59), thu, time(16)) == vn(2026, 11, 26, 16)
    assert next_weekly_fire(vn(2026, 11, 27, 8), thu, time(16)) == vn(2026, 12, 3, 16)
    # Friday 08:00 reminder, asked late on Thursday (UTC input).
    assert next_weekly_fire(datetime(2026, 11, 26, 20, tzinfo=UTC), 4, time(8)) == vn(
        2026, 11, 27, 8
    )
    with pytest.raises(ValueError):
        next_weekly_fire(vn(2026, 11, 26), 7, time(8))


@pytest.mark.parametrize("label", ["0001-W01", "1900-W01", "2019-W52", "2100-W01", "9999-W52"])
def test_weeks_from_outside_are_refused_out_of_range_naming_the_field(label: str) -> None:
    with pytest.raises(InvalidField) as e:
        parse_week_label(label, "week")
    assert e.value.field == "week"
    assert f"{FIRST_YEAR} and {LAST_YEAR}" in e.value.reason_en


@pytest.mark.parametrize(("label", "reason"), [("2027-W53", "has no week 53"),
                                               ("2026-48", "ISO week such as")])
def test_weeks_from_outside_name_the_field_when_malformed(label: str, reason: str) -> None:
    with pytest.raises(InvalidField, match=reason) as e:
        parse_week_label(label, "week_label")
    assert e.value.field == "week_label" and e.value.reason_vi


def test_accepted_weeks_parse_as_internal_labels_do() -> None:
    for label in (f"{FIRST_YEAR}-W01", "2026-W53", f"{LAST_YEAR}-W52"):
        assert parse_week_label(label, "week") == week_window_by_label(label)


def test_year_one_is_a_value_error_not_an_overflow() -> None:
    # Its first Friday minus a week is before datetime's first instant.
    with pytest.raises(ValueError, match="out of range"):
        week_window_by_label("0001-W01")
    with pytest.raises(InvalidField):
        check_date(date(1900, 1, 1), "cursor")
    check_date(date(FIRST_YEAR, 1, 1), "cursor")


# Holiday Fridays, checked against the holidays package's Vietnamese calendar.
@pytest.mark.parametrize(("friday", "closes", "label"), [
    # Quốc khánh: Friday 3/9/2027 (the 2/9 holiday's second day); Thursday 2/9 is off too.
    (date(2027, 9, 3), vn(2027, 9, 1, 12), "2027-W35"),
    # Giỗ Tổ Hùng Vương, Friday 16/4/2027: Thursday.
    (date(2027, 4, 16), vn(2027, 4, 15, 12), "2027-W15"),
    # Quốc khánh, Friday 1/9/2028 (with Saturday 2/9): Thursday 31/8.
    (date(2028, 9, 1), vn(2028, 8, 31, 12), "2028-W35"),
    # Tết 2025: Friday 31/1/2025 is the third day of Tết, Monday to Thursday off as well:
    # no working day before it that week, so it keeps the Friday.
    (date(2025, 1, 31), vn(2025, 1, 31, 12), "2025-W05"),
])
def test_holiday_friday_moves_the_cutoff_to_the_last_working_day(
    friday: date, closes: datetime, label: str,
) -> None:
    assert not is_working_day(friday)
    w = week_window_by_label(label)
    assert w.friday == friday and w.end == closes
    assert w.label == label  # the label is still the ISO week of the Friday
    # The weeks tile: each starts where the one before closed.
    assert next_window(w).start == w.end and previous_window(w).end == w.start
    assert week_window(closes) == w
    assert week_window(closes + timedelta(microseconds=1)) == next_window(w)
    assert week_window(w.start + timedelta(microseconds=1)) == w
    assert cutoff(w) == closes


def test_holiday_cutoff_setting() -> None:
    from shared.calendar import _holiday_cutoff

    assert _holiday_cutoff(None) == time(12)
    assert _holiday_cutoff("16:30") == time(16, 30)
    assert _holiday_cutoff("none") is None
    with pytest.raises(ValueError, match="THAOGO_HOLIDAY_CUTOFF"):
        _holiday_cutoff("noon")
