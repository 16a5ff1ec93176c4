"""The business on its case (#20 items 4 and 6), pure rules: the SLA clock while it is
asked a question, its rating once the case is closed."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from services.intake import logic as intake
from services.notify import logic as notify
from shared import vn
from shared.calendar import TZ, add_working_days, working_days_between
from shared.deadlines import resumed
from shared.events import AssignmentRole, Status, Step

MON = datetime(2026, 3, 9, 9, tzinfo=TZ)  # an ordinary week: no holiday until April
FRI = MON + timedelta(days=4)


def test_the_working_time_left_at_the_pause_is_left_at_the_answer() -> None:
    due = add_working_days(MON, 5)  # next Monday 09:00
    asked, answered = MON + timedelta(days=1), MON + timedelta(days=3)  # Tue -> Thu
    moved = resumed(due, paused_at=asked, resumed_at=answered)
    assert working_days_between(answered, moved) == working_days_between(asked, due) == 4
    assert moved == add_working_days(MON, 7)  # two working days waited: Wednesday after


def test_a_weekend_spent_waiting_costs_nothing() -> None:
    due = add_working_days(MON, 10)
    saturday, monday = FRI + timedelta(days=1, hours=1), FRI + timedelta(days=3, hours=-9)
    # Asked on Saturday, answered as Monday begins: no working time passed.
    assert resumed(due, paused_at=saturday, resumed_at=monday) == due


def test_what_was_past_at_the_pause_stays_past_and_no_wait_moves_nothing() -> None:
    assert resumed(MON, paused_at=MON + timedelta(hours=1), resumed_at=FRI) == MON
    due = MON + timedelta(days=2)
    assert resumed(due, paused_at=MON, resumed_at=MON) == due


def test_notify_moves_only_what_was_ahead_and_checks_the_first_still_owed() -> None:
    ack = [MON + timedelta(days=i) for i in (1, 2, 3)]
    res = [MON + timedelta(days=i) for i in (8, 9, 10)]
    asked, answered = MON + timedelta(days=1, hours=2), MON + timedelta(days=2, hours=2)
    r = notify.resume(paused_at=asked, resumed_at=answered, ack_deadline=ack[0],
                      resolve_deadline=res[0], ack_due=ack, resolve_due=res,
                      acknowledged=True, urgent=True, quiet=notify.Quiet())
    assert r.ack_due[0] == ack[0]  # sent before the question: stays
    assert r.resolve_due == [add_working_days(t, 1) for t in res]
    assert r.next_check_at == r.resolve_due[0]  # acknowledged: the ack reminders are done
    assert r.ack_deadline == ack[0]
    assert r.resolve_deadline == add_working_days(res[0], 1)


def held(role: AssignmentRole, step: Step | None = None) -> intake.Held:
    return intake.Held(uuid.uuid4(), role, "binh-duong.bql-kcn", None, step)


def test_an_agency_asks_with_a_question_a_member_does_not() -> None:
    lead = held(AssignmentRole.LEAD)
    assert intake.clean_question(Step.NEED_INFO, lead, " Cần bản sao GCN? ") == "Cần bản sao GCN?"
    assert intake.clean_question(Step.NEED_INFO, held(AssignmentRole.CO_HANDLER), "Hỏi?")
    with pytest.raises(vn.InvalidField) as e:
        intake.clean_question(Step.NEED_INFO, lead, "  ")
    assert e.value.field == "question"
    with pytest.raises(vn.InvalidField):
        intake.clean_question(Step.IN_PROGRESS, lead, "why?")
    with pytest.raises(intake.StatusForbidden):
        intake.clean_question(Step.NEED_INFO, held(AssignmentRole.MEMBER), "Hỏi?")


def test_one_question_at_a_time_and_the_lead_asking_leaves_the_difficulty_as_it_was() -> None:
    intake.check_step(Step.IN_PROGRESS, Step.NEED_INFO)
    intake.check_step(Step.NEED_INFO, Step.IN_PROGRESS)  # the business's answer
    with pytest.raises(intake.StepRefused):
        intake.check_step(Step.NEED_INFO, Step.NEED_INFO)
    assert intake.step_status(held(AssignmentRole.LEAD), Step.NEED_INFO, "in_progress") is None


def test_the_business_answers_only_a_part_that_waits() -> None:
    waiting, running = held(AssignmentRole.LEAD, Step.NEED_INFO), held(
        AssignmentRole.CO_HANDLER, Step.IN_PROGRESS)
    assert intake.waiting_part([waiting, running], waiting.assignment_id) is waiting
    assert intake.waiting_part([waiting, running], running.assignment_id) is None
    assert intake.waiting_part([waiting], uuid.uuid4()) is None


def test_the_business_rates_a_closed_difficulty_from_1_to_5_and_says_if_it_was_resolved(
) -> None:
    f = intake.build_feedback(status="resolved", resolved="yes", rating="4",
                              comment=" Nhanh, rõ ràng ")
    assert (f.resolved, f.rating, f.comment) == (True, 4, "Nhanh, rõ ràng")
    assert intake.build_feedback(status="rejected", resolved="no", rating="",
                                 comment="").resolved is False
    for status, resolved, rating, field in (
            ("in_progress", "yes", "5", "rating"),  # not closed yet
            ("resolved", "", "", "rating"),  # nothing said
            ("resolved", "", "6", "rating"), ("resolved", "", "0", "rating"),
            ("resolved", "maybe", "", "resolved")):
        with pytest.raises(vn.InvalidField) as e:
            intake.build_feedback(status=status, resolved=resolved, rating=rating, comment="")
        assert e.value.field == field


def test_not_resolved_reopens_to_the_lead_once_then_goes_to_the_deputy() -> None:
    no = intake.build_feedback(status="resolved", resolved="no", rating="", comment="Chưa")
    yes = intake.build_feedback(status="resolved", resolved="yes", rating="", comment="")
    assert intake.reopened_status("resolved", no, 0) is Status.IN_PROGRESS
    assert intake.reopened_status("resolved", no, 1) is Status.REASSIGN_REQUESTED
    assert intake.reopened_status("resolved", no, 2) is Status.REASSIGN_REQUESTED
    assert intake.reopened_status("resolved", yes, 0) is None
    rated = intake.build_feedback(status="resolved", resolved="", rating="3", comment="")
    assert intake.reopened_status("resolved", rated, 0) is None
    # A rejection the business disagrees with is read by the task force, not reopened.
    assert intake.reopened_status("rejected", no, 0) is None
