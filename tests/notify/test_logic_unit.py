"""Notify's pure rules: keys, schedules, quiet hours, weekly fires, backoff, rendering."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, time, timedelta

from services.intake import logic as intake_logic
from services.notify import logic
from services.reporting import usecases
from shared.calendar import TZ, week_window
from shared.events import (
    ActorKind,
    AgencyLevel,
    AssignmentRole,
    BreakdownRow,
    Category,
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyUrgencyConfirmed,
    Kind,
    Urgency,
    UrgencySource,
    WeeklyReport,
    ZoneType,
)
from shared.provinces import ConfigHolder, Deadlines
from tests.reporting.conftest import received

CONFIGS = ConfigHolder().current
QUIET = logic.Quiet()


def local(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=TZ)


def assignment(urgency: Urgency = Urgency.NORMAL, at: datetime | None = None,
               role: AssignmentRole = AssignmentRole.LEAD) -> DifficultyAssigned:
    return DifficultyAssigned(
        assignment_id=uuid.uuid4(), difficulty_id=uuid.uuid4(), tracking_code="TG-ABC123",
        province_code="79", agency_id="binh-duong.bql-kcn", agency_level=AgencyLevel.PROVINCE,
        role=role, rule="zone_type:KCN->lead", reason="KCN", config_version="v",
        urgency=urgency, kind=Kind.DIFFICULTY, category=Category.RAW_MATERIALS,
        assigned_at=at or local(2026, 3, 9, 9),
    )


def test_assignment_goes_to_each_channel_of_the_agency_under_stable_keys() -> None:
    a = assignment()
    owed = logic.assignment_messages(a, CONFIGS, now=local(2026, 3, 9, 9), quiet=QUIET)
    assert sorted(o.channel for o in owed) == ["email", "webhook"]
    assert {o.kind for o in owed} == {"assignment"}
    again = logic.assignment_messages(a, CONFIGS, now=local(2026, 3, 9, 10), quiet=QUIET)
    assert {o.key for o in owed} == {o.key for o in again}
    assert all(o.key.startswith(logic.assignment_message_key(a)) for o in owed)


HEAD = "binh-duong.to-truong"
DEPUTY = "binh-duong.to-pho-thuong-truc"


def test_a_businesss_urgent_flag_reaches_the_lead_at_once_and_the_head_at_office_hours(
) -> None:
    """Monday 22:00, an item the business marked urgent: the lead agency's systems get it
    at once; the head and the permanent deputy at 07:30 on Tuesday, not dropped."""
    night = local(2026, 3, 9, 22)
    owed = logic.assignment_messages(assignment(Urgency.URGENT, night), CONFIGS, now=night,
                                     quiet=QUIET)
    lead = [o for o in owed if o.kind == logic.ASSIGNMENT]
    assert {o.recipient_id for o in lead} == {"binh-duong.bql-kcn"}
    assert all(o.due_at == night and o.urgent and not o.held for o in lead)
    alarm = [o for o in owed if o.kind == logic.URGENT_DIFFICULTY]
    assert {o.recipient_id for o in alarm} == {HEAD, DEPUTY}
    assert {o.due_at for o in alarm} == {local(2026, 3, 10, 7, 30)}
    assert all(o.held and not o.urgent for o in alarm)


def test_a_businesss_urgent_flag_on_friday_night_waits_for_monday() -> None:
    night = local(2026, 3, 13, 22)
    owed = logic.assignment_messages(assignment(Urgency.URGENT, night), CONFIGS, now=night,
                                     quiet=QUIET)
    assert {o.due_at for o in owed if o.kind == logic.URGENT_DIFFICULTY} == {
        local(2026, 3, 16, 7, 30)}


def test_a_businesss_urgent_flag_in_office_hours_reaches_the_head_at_once() -> None:
    day = local(2026, 3, 10, 10)
    owed = logic.assignment_messages(assignment(Urgency.URGENT, day), CONFIGS, now=day,
                                     quiet=QUIET)
    alarm = [o for o in owed if o.kind == logic.URGENT_DIFFICULTY]
    assert len(alarm) == 4 and {o.due_at for o in alarm} == {day}


def test_a_businesss_urgent_flag_wakes_no_member_and_no_deputy_as_a_member() -> None:
    """A member's notice of an unconfirmed urgent item keeps quiet hours; when the member
    is the permanent deputy, office hours."""
    night = local(2026, 3, 9, 22)
    for member, due in (("binh-duong.to-pho-kcn", local(2026, 3, 10, 7)),
                        (DEPUTY, local(2026, 3, 10, 7, 30))):
        a = assignment(Urgency.URGENT, night, role=AssignmentRole.MEMBER).model_copy(
            update={"member_id": member})
        owed = logic.assignment_messages(a, CONFIGS, now=night, quiet=QUIET)
        assert {o.recipient_id for o in owed} == {member}
        assert {o.due_at for o in owed} == {due} and not any(o.urgent for o in owed)


def confirmation(a: DifficultyAssigned, at: datetime, *, reported: bool = False
                 ) -> DifficultyUrgencyConfirmed:
    return DifficultyUrgencyConfirmed(
        confirmation_id=DifficultyUrgencyConfirmed.id_for(a.difficulty_id),
        difficulty_id=a.difficulty_id, tracking_code=a.tracking_code,
        province_code=a.province_code, task_force="binh-duong",
        actor_kind=ActorKind.AGENCY, actor_id=a.agency_id, reported=reported,
        confirmed_at=at)


def test_confirmed_urgent_reaches_the_head_at_once_under_the_held_alarms_key() -> None:
    night = local(2026, 3, 9, 22)
    a = assignment(Urgency.URGENT, night)
    held = {o.key for o in logic.assignment_messages(a, CONFIGS, now=night, quiet=QUIET)
            if o.kind == logic.URGENT_DIFFICULTY}
    later = local(2026, 3, 9, 23, 15)
    owed = logic.confirmation_messages(confirmation(a, later), CONFIGS, now=later,
                                       quiet=QUIET)
    assert {o.key for o in owed} == held  # the same message, hastened: never a second
    assert {o.recipient_id for o in owed} == {HEAD, DEPUTY}
    assert all(o.due_at == later and o.urgent and not o.held for o in owed)
    text = logic.render(logic.URGENT_DIFFICULTY, {**a.model_dump(mode="json"),
                                                  **owed[0].payload}).text
    assert "binh-duong.bql-kcn xác nhận" in text


def test_member_reported_urgent_reaches_the_head_at_once() -> None:
    """A member files an urgent difficulty at 22:00 (an import): intake vouches for it as
    it arrives, and notify tells the head and the permanent deputy at once."""
    night = local(2026, 3, 9, 22)
    d = received(night, n=7, urgency=Urgency.URGENT).model_copy(
        update={"urgency_source": UrgencySource.MEMBER})
    c = intake_logic.reported_urgent(d, "binh-duong.to-pho-kcn")
    assert c is not None and c.reported and c.actor_kind is ActorKind.MEMBER
    owed = logic.confirmation_messages(c, CONFIGS, now=night, quiet=QUIET)
    assert {o.recipient_id for o in owed} == {HEAD, DEPUTY}
    assert all(o.due_at == night and o.urgent for o in owed)
    assert "phản ánh" in logic.render(logic.URGENT_DIFFICULTY, owed[0].payload).text
    # The business's own flag is not vouched for, nor is a normal item.
    assert intake_logic.reported_urgent(d.model_copy(
        update={"urgency_source": UrgencySource.BUSINESS}), "x") is None
    assert intake_logic.reported_urgent(d.model_copy(
        update={"urgency": Urgency.NORMAL}), "binh-duong.to-pho-kcn") is None


def test_an_old_received_event_reads_as_the_businesss_flag() -> None:
    d = received(local(2026, 3, 9, 22), n=8, urgency=Urgency.URGENT)
    body = d.model_dump(mode="json")
    del body["urgency_source"]
    old = DifficultyReceived.model_validate(body)
    assert old.urgency_source is UrgencySource.BUSINESS
    assert intake_logic.reported_urgent(old, "anyone") is None


def test_head_release_by_who_vouched() -> None:
    hours = logic.Hours()
    night = local(2026, 3, 9, 22)
    assert logic.head_release(night, vouched=True, hours=hours) == night
    assert logic.head_release(night, vouched=False, hours=hours) == local(2026, 3, 10, 7, 30)
    early = local(2026, 3, 10, 6)
    assert logic.head_release(early, vouched=False, hours=logic.Hours(time(8), time(17))) == \
        local(2026, 3, 10, 8)


def test_normal_assignment_at_night_is_held_until_seven() -> None:
    night = local(2026, 3, 9, 22, 30)
    owed = logic.assignment_messages(assignment(at=night), CONFIGS, now=night, quiet=QUIET)
    assert {o.due_at for o in owed} == {local(2026, 3, 10, 7)}
    assert all(o.held for o in owed)


def test_reminder_schedule_counts_working_days_and_skips_holidays() -> None:
    d = Deadlines(reminder_every=1, reminders_before_escalation=2)
    # Deadline Wednesday 29 April 2026 10:00; 30/4 and 1/5 are holidays, then a weekend.
    sched = logic.reminder_schedule(local(2026, 4, 29, 10), d, urgent=False, quiet=QUIET)
    assert sched == [local(2026, 4, 29, 10), local(2026, 5, 4, 10), local(2026, 5, 5, 10)]


def test_reminder_in_quiet_hours_moves_to_morning_unless_urgent() -> None:
    d = Deadlines(reminder_every=1, reminders_before_escalation=0)
    assert logic.reminder_schedule(local(2026, 3, 9, 22), d, urgent=False, quiet=QUIET) == [
        local(2026, 3, 10, 7)]
    assert logic.reminder_schedule(local(2026, 3, 9, 22), d, urgent=True, quiet=QUIET) == [
        local(2026, 3, 9, 22)]


def test_member_assignments_are_not_followed() -> None:
    assert logic.follow(assignment(role=AssignmentRole.MEMBER), CONFIGS, quiet=QUIET) is None
    f = logic.follow(assignment(), CONFIGS, quiet=QUIET)
    assert f is not None and len(f.ack_due) == 3  # two reminders, then the deputy
    assert f.deputy_id == "binh-duong.to-pho-thuong-truc"


REMINDERS = logic.parse_weekly(["3 16:00", "4 09:00"])
GRACE = timedelta(hours=6)


def test_weekly_fires_thursday_friday_and_cutoff() -> None:
    assert logic.weekly_fires(local(2026, 3, 12, 15, 59), REMINDERS, missing_grace=GRACE) == []
    thu = logic.weekly_fires(local(2026, 3, 12, 16), REMINDERS, missing_grace=GRACE)
    assert [(f.kind, f.slot, f.window.label) for f in thu] == [
        ("weekly_reminder", "thu1600", "2026-W11")]
    fri = logic.weekly_fires(local(2026, 3, 13, 9, 30), REMINDERS, missing_grace=GRACE)
    assert [f.slot for f in fri] == ["thu1600", "fri0900"]  # both owed: keys dedupe
    noon = logic.weekly_fires(local(2026, 3, 13, 12), REMINDERS, missing_grace=GRACE)
    assert ("weekly_missing", "2026-W11") in [(f.kind, f.window.label) for f in noon]
    after = logic.weekly_fires(local(2026, 3, 13, 12, 1), REMINDERS, missing_grace=GRACE)
    assert [(f.kind, f.window.label) for f in after] == [("weekly_missing", "2026-W11")]
    late = logic.weekly_fires(local(2026, 3, 13, 18, 1), REMINDERS, missing_grace=GRACE)
    assert late == []


def test_weekly_reminders_follow_a_cutoff_moved_off_a_holiday_friday() -> None:
    # Friday 30/4/2027 is Reunification Day: 2027-W17 closes on Thursday 29/4 at 12:00,
    # so its reminders come a day earlier (Wed 16:00, Thu 09:00) and none on the holiday.
    wed = logic.weekly_fires(local(2027, 4, 28, 16), REMINDERS, missing_grace=GRACE)
    assert [(f.slot, f.at, f.window.label) for f in wed] == [
        ("thu1600", local(2027, 4, 28, 16), "2027-W17")]
    thu = logic.weekly_fires(local(2027, 4, 29, 9), REMINDERS, missing_grace=GRACE)
    assert [f.slot for f in thu] == ["thu1600", "fri0900"]
    noon = logic.weekly_fires(local(2027, 4, 29, 12, 1), REMINDERS, missing_grace=GRACE)
    assert [(f.kind, f.at, f.window.label) for f in noon] == [
        ("weekly_missing", local(2027, 4, 29, 12), "2027-W17")]
    # On the holiday itself nothing is owed: the next week's reminders are days away.
    assert logic.weekly_fires(local(2027, 4, 30, 9, 30), REMINDERS, missing_grace=GRACE) == []
    # Friday 1/5/2026 (Labour Day) after Thursday 30/4 (Reunification Day): Wednesday
    # 29/4, two days early, so the reminders are Tuesday 16:00 and Wednesday 09:00.
    fires = logic.weekly_fires(local(2026, 4, 29, 12), REMINDERS, missing_grace=GRACE)
    assert [(f.kind, f.window.label) for f in fires] == [
        ("weekly_reminder", "2026-W18"), ("weekly_reminder", "2026-W18"),
        ("weekly_missing", "2026-W18")]
    assert {f.at for f in fires} == {local(2026, 4, 28, 16), local(2026, 4, 29, 9),
                                     local(2026, 4, 29, 12)}


def test_weekly_messages_skip_members_who_reported() -> None:
    cfg = CONFIGS["binh-duong"]
    fire = logic.weekly_fires(local(2026, 3, 12, 16), REMINDERS, missing_grace=GRACE)[0]
    members = [m.id for m in cfg.task_force.active_members()]
    owed = logic.weekly_messages(fire, cfg, set(members[1:]), quiet=QUIET)
    assert {o.recipient_id for o in owed} == {members[0]}
    missing = logic.weekly_messages(
        logic.weekly_fires(local(2026, 3, 13, 12, 5), REMINDERS, missing_grace=GRACE)[0],
        cfg, set(members[1:]), quiet=QUIET)
    assert {o.recipient_id for o in missing} == {cfg.task_force.permanent_deputy.id}
    assert [m["id"] for m in missing[0].payload["missing"]] == [members[0]]


def test_rendered_text_is_vietnamese_and_escaped_in_html() -> None:
    r = logic.render(logic.WEEKLY_REPORT, {"week_label": "2026-W11",
                                           "url": "https://x.vn/reports/a/2026-W11?a=<b>"})
    assert r.subject == "[thaogo] Báo cáo tổng hợp tuần 2026-W11"
    assert "&lt;b&gt;" in r.html and "<b>" not in r.html
    assert logic.Quiet(time(21), time(7)).release(local(2026, 3, 9, 6), False) == local(
        2026, 3, 9, 7)


def test_the_final_report_is_announced_as_such() -> None:
    r = logic.render(logic.WEEKLY_REPORT, {"week_label": "final", "final": True,
                                           "url": "https://x.vn/reports/a/final",
                                           "handed_over": 3})
    assert r.subject == "[thaogo] Báo cáo tổng kết nhiệm vụ của Tổ công tác"
    assert "https://x.vn/reports/a/final" in r.text and "bàn giao: 3" in r.text


# --- report.weekly.v1: the compiled week, the final report, urgent interims ----------------

SIGNED = "https://bc.example.vn/reports/binh-duong/2026-W11?exp=1790000000&sig=abc"


def urgent_received(at: datetime) -> DifficultyReceived:
    return received(at, n=random.randrange(10_000), urgency=Urgency.URGENT)


def compiled_week(label: str = "2026-W11", page_url: str | None = SIGNED) -> WeeklyReport:
    w = week_window(local(2026, 3, 12, 9))
    assert w.label == label
    total = BreakdownRow(dimension="total", value="all", received=3, resolved=1, open=2,
                         overdue=0, escalated_central=0, median_resolution_hours=None,
                         p90_resolution_hours=None)
    return WeeklyReport(
        report_id=uuid.uuid4(), province_code="79", week_label=label, window_start=w.start,
        window_end=w.end, generated_at=w.end, rows=[total], urgent_items=[],
        recommendations=[], members_reported=[], members_missing=["binh-duong.m01"],
        page_url=page_url)


def report_keys(r: WeeklyReport) -> set[str]:
    return {o.key for o in logic.weekly_report_messages(
        r, CONFIGS, base_url="https://notify-default.example.vn", now=local(2026, 3, 13, 12, 1),
        quiet=QUIET)}


def test_urgent_interims_and_the_compiled_week_are_distinct_messages() -> None:
    first = usecases.urgent_report(urgent_received(local(2026, 3, 10, 9)),
                                  generated_at=local(2026, 3, 10, 9),
                                  page_url=lambda w: SIGNED.replace("2026-W11", w))
    second = usecases.urgent_report(urgent_received(local(2026, 3, 11, 9)),
                                   generated_at=local(2026, 3, 11, 9))
    friday = compiled_week()
    assert first.interim and second.interim and not friday.interim
    assert first.week_label == second.week_label == friday.week_label == "2026-W11"
    keys = [report_keys(r) for r in (first, second, friday)]
    assert all(len(k) == 4 for k in keys)  # head and deputy, e-mail and webhook each
    assert not (keys[0] & keys[1]) and not (keys[0] & keys[2]) and not (keys[1] & keys[2])
    # The same publication again (a replay, another replica) maps to the same keys.
    assert report_keys(first) == keys[0] and report_keys(friday) == keys[2]
    assert all(k.startswith("weekly_report:binh-duong:2026-W11:") for k in keys[2])
    assert all(k.startswith("interim_report:binh-duong:2026-W11:") for k in keys[0])
    final = friday.model_copy(update={"final": True, "week_label": "final"})
    assert not final.interim and not (report_keys(final) & keys[2])


def test_the_mail_carries_the_reports_signed_link_and_says_what_it_is() -> None:
    friday = compiled_week()
    owed = logic.weekly_report_messages(friday, CONFIGS, base_url="https://x.example.vn",
                                        now=local(2026, 3, 13, 12, 1), quiet=QUIET)
    assert {o.kind for o in owed} == {logic.WEEKLY_REPORT}
    assert {o.payload["url"] for o in owed} == {SIGNED}
    r = logic.render(logic.WEEKLY_REPORT, owed[0].payload)
    assert SIGNED in r.text and r.subject == "[thaogo] Báo cáo tổng hợp tuần 2026-W11"

    d = urgent_received(local(2026, 3, 10, 9))
    interim = usecases.urgent_report(d, generated_at=local(2026, 3, 10, 9),
                                    page_url=lambda w: SIGNED.replace("2026-W11", w))
    owed = logic.weekly_report_messages(interim, CONFIGS, base_url="https://x.example.vn",
                                        now=local(2026, 3, 10, 9), quiet=QUIET)
    assert {o.kind for o in owed} == {logic.INTERIM_REPORT}
    assert {o.recipient_id for o in owed} == {"binh-duong.to-truong",
                                              "binh-duong.to-pho-thuong-truc"}
    r = logic.render(logic.INTERIM_REPORT, owed[0].payload)
    assert "tổng hợp tuần 2026-W11 đã sẵn sàng" not in r.text
    assert "Báo cáo tổng hợp" not in r.subject and d.tracking_code in r.subject
    assert "đột xuất" in r.subject and SIGNED in r.text and d.title in r.text


def test_an_interim_report_at_night_waits_for_office_hours() -> None:
    """Reporting's interim report is of an item the business alone may have called urgent:
    it reaches the head in office hours (the alarm of a vouched-for item goes at once)."""
    night = local(2026, 3, 13, 22)
    interim = usecases.urgent_report(urgent_received(night), generated_at=night)
    owed = logic.weekly_report_messages(interim, CONFIGS, base_url="https://x.example.vn",
                                        now=night, quiet=QUIET)
    assert {o.due_at for o in owed} == {local(2026, 3, 16, 7, 30)}
    friday = logic.weekly_report_messages(compiled_week(), CONFIGS, base_url="https://x.vn",
                                          now=local(2026, 3, 13, 12, 1), quiet=QUIET)
    assert {o.due_at for o in friday} == {local(2026, 3, 13, 12, 1)}


def test_a_report_without_a_link_of_its_own_gets_the_plain_one() -> None:
    owed = logic.weekly_report_messages(compiled_week(page_url=None), CONFIGS,
                                        base_url="https://x.example.vn/",
                                        now=local(2026, 3, 13, 12, 1), quiet=QUIET)
    assert {o.payload["url"] for o in owed} == {
        "https://x.example.vn/reports/binh-duong/2026-W11"}


def central_assignment(at: datetime) -> DifficultyAssigned:
    return assignment(at=at, role=AssignmentRole.ESCALATION).model_copy(update={
        "agency_id": "central.bo-tai-chinh", "agency_level": AgencyLevel.CENTRAL,
        "rule": "escalation.default"})


def test_a_central_escalation_is_chased_by_the_deputy_at_the_answer_then_every_7_days(
) -> None:
    """#20 item 5: no acknowledgement is asked of a ministry; the permanent deputy is
    reminded at the answer's deadline (20 working days) and each progress point after."""
    f = logic.follow(central_assignment(local(2026, 12, 7, 10)), CONFIGS, quiet=QUIET)
    assert f is not None and f.central and f.ack_due == []
    rule = CONFIGS["binh-duong"].deadlines.central
    assert len(f.resolve_due) == rule.progress_reminders + 1
    assert f.resolve_due[:3] == [local(2027, 1, 5, 10), local(2027, 1, 14, 10),
                                 local(2027, 1, 25, 10)]
    assert f.resolve_deadline == f.next_check_at == local(2027, 1, 5, 10)
    assert f.deputy_id == "binh-duong.to-pho-thuong-truc" and f.agency_contacts == []
    # An escalation at night: each point is kept off quiet hours.
    night = logic.follow(central_assignment(local(2026, 12, 7, 22)), CONFIGS, quiet=QUIET)
    assert night is not None and night.resolve_due[0] == local(2027, 1, 6, 7)


def test_the_central_reminders_say_what_to_chase() -> None:
    p = {"tracking_code": "TG-ABC123", "agency_id": "central.bo-tai-chinh", "n": 2,
         "deadline": local(2027, 1, 5, 10).isoformat()}
    first = logic.render(logic.CENTRAL_ANSWER, {**p, "n": 1})
    later = logic.render(logic.CENTRAL_PROGRESS, p)
    assert "TG-ABC123" in first.subject and "05/01/2027" in first.text
    assert "lần 2" in later.subject and "central.bo-tai-chinh" in later.text


def test_the_deputies_of_an_items_zone_are_named_on_its_holding_assignment() -> None:
    """#21 item 4: the lead of a difficulty in an industrial park carries the parks'
    deputy; outside parks and clusters, the permanent deputy (zone NONE in Bình Dương); a
    co-handler's part and a ministry's carry none, nor a difficulty without a zone."""
    configs = ConfigHolder().current

    def a(zone: ZoneType | None, role: AssignmentRole = AssignmentRole.LEAD,
          level: AgencyLevel = AgencyLevel.PROVINCE) -> DifficultyAssigned:
        return DifficultyAssigned(
            assignment_id=uuid.uuid4(), difficulty_id=uuid.uuid4(), tracking_code="TG-1",
            province_code="79", agency_id="binh-duong.bql-kcn", agency_level=level,
            role=role, rule="r", reason="r", config_version="v", urgency=Urgency.NORMAL,
            kind=Kind.DIFFICULTY, category=Category.TAX, zone_type=zone,
            assigned_at=datetime(2026, 12, 7, 9, tzinfo=TZ))

    def named(x: DifficultyAssigned) -> list[str]:
        f = logic.follow(x, configs, quiet=logic.Quiet())
        assert f is not None
        return [d["id"] for d in f.zone_deputies]

    assert named(a(ZoneType.KCN)) == ["binh-duong.to-pho-kcn"]
    assert named(a(ZoneType.CCN, AssignmentRole.TRIAGE)) == ["binh-duong.to-pho-ccn"]
    assert named(a(ZoneType.NONE)) == ["binh-duong.to-pho-thuong-truc"]
    assert named(a(ZoneType.KCN, AssignmentRole.CO_HANDLER)) == []
    assert named(a(ZoneType.KCN, AssignmentRole.ESCALATION, AgencyLevel.CENTRAL)) == []
    assert named(a(None)) == []
    contacts = logic.follow(a(ZoneType.KCN), configs, quiet=logic.Quiet())
    assert contacts is not None
    assert {c["channel"] for c in contacts.zone_deputies[0]["contacts"]} == {"email", "zalo"}
