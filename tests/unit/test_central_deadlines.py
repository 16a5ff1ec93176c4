"""The central level's own deadline (#20 item 5): the ministry's answer within 20 days,
then progress every 7, in working days or in calendar days, Vietnamese holidays off."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from shared.calendar import TZ
from shared.deadlines import add_days, at_central_level, central_schedule, deadlines_for
from shared.events import AgencyLevel, AssignmentRole, Urgency
from shared.provinces import CentralDeadline, DayCount, Deadlines, load_province
from tests.unit.test_provinces import MINI, one_error, write


def local(y: int, mo: int, d: int, h: int = 0) -> datetime:
    return datetime(y, mo, d, h, tzinfo=TZ)


def test_the_defaults_are_the_portal_rule_in_working_days() -> None:
    rule = Deadlines().central
    assert (rule.days, rule.answer, rule.progress_every) == (DayCount.WORKING, 20, 7)


def test_twenty_working_days_then_every_seven_skip_weekends_and_new_year() -> None:
    # Monday 7 December 2026, 10:00: four weeks of working days reach Monday 4 January,
    # but 1 January 2027 (a Friday) is a holiday, so one more day.
    points = central_schedule(local(2026, 12, 7, 10), CentralDeadline(progress_reminders=2))
    assert points == [local(2027, 1, 5, 10), local(2027, 1, 14, 10), local(2027, 1, 25, 10)]


def test_working_days_stand_still_over_tet() -> None:
    # Friday 22 January 2027: Tết holds 4-10 February 2027 off (five working days).
    assert add_days(local(2027, 1, 22, 9), 20, DayCount.WORKING) == local(2027, 2, 26, 9)


def test_calendar_days_count_every_day_and_end_on_the_next_working_day() -> None:
    rule = CentralDeadline(days=DayCount.CALENDAR, progress_reminders=2)
    # Twenty days after Monday 7 December is Sunday 27 December: the period ends Monday.
    assert central_schedule(local(2026, 12, 7, 10), rule) == [
        local(2026, 12, 28, 10), local(2027, 1, 4, 10), local(2027, 1, 11, 10)]
    # Twenty days after Friday 15 January 2027 is Thursday 4 February, in Tết: the
    # period ends on the first working day after it, Thursday 11 February.
    assert add_days(local(2027, 1, 15, 9), 20, DayCount.CALENDAR) == local(2027, 2, 11, 9)


def test_a_ministry_has_the_answer_deadline_for_both_and_a_province_its_own() -> None:
    d = Deadlines()
    at = local(2026, 12, 7, 10)
    central = deadlines_for(at, Urgency.URGENT, d, central=True)
    assert central.ack == central.resolve == local(2027, 1, 5, 10)
    assert deadlines_for(at, Urgency.NORMAL, d).resolve == local(2026, 12, 21, 10)
    assert at_central_level(AssignmentRole.ESCALATION, AgencyLevel.CENTRAL)
    assert at_central_level("escalation", "central")
    assert not at_central_level(AssignmentRole.ESCALATION, AgencyLevel.PROVINCE)
    assert not at_central_level(AssignmentRole.LEAD, AgencyLevel.CENTRAL)


def test_the_central_rule_is_kept_in_the_province_configuration(tmp_path: Path) -> None:
    assert load_province(write(tmp_path, MINI)).deadlines.central == CentralDeadline()
    text = MINI.replace("  urgent: {ack: 1, resolve: 3}\n",
                        "  urgent: {ack: 1, resolve: 3}\n"
                        "  central: {days: calendar, answer: 30, progress_every: 10}\n")
    rule = load_province(write(tmp_path, text)).deadlines.central
    assert (rule.days, rule.answer, rule.progress_every) == (DayCount.CALENDAR, 30, 10)


@pytest.mark.parametrize(("given", "path"), [
    ("{days: weeks}", "deadlines.central.days"),
    ("{answer: 0}", "deadlines.central.answer"),
    ("{progress_every: 0}", "deadlines.central.progress_every"),
    ("{answer: 20, every: 7}", "deadlines.central.every"),
])
def test_a_wrong_central_rule_is_refused_naming_its_field(tmp_path: Path, given: str,
                                                          path: str) -> None:
    text = MINI.replace("  urgent: {ack: 1, resolve: 3}\n",
                        f"  urgent: {{ack: 1, resolve: 3}}\n  central: {given}\n")
    assert one_error(tmp_path, text).path == path
