"""Intake's pure rules: the status state machine, notes, report weeks, text cleaning,
tokens, the rate limiter and the language of refusals. No I/O."""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from datetime import datetime
from typing import Any

import pytest
from pydantic import ValidationError

from services.intake import logic
from services.intake.models import DifficultyIn
from shared import auth, errors, vn
from shared.calendar import TZ
from shared.events import (
    ActorKind,
    AssignmentRole,
    DifficultyReceived,
    Outcome,
    Resolution,
    Status,
    Step,
)
from shared.http import TokenBuckets
from shared.provinces import ConfigHolder
from tests.intake.conftest import submission


@pytest.mark.parametrize("final", [Status.RESOLVED, Status.REJECTED])
def test_nothing_follows_a_final_status(final: Status) -> None:
    for wanted in logic.POSTABLE:
        with pytest.raises(logic.TransitionRefused) as e:
            logic.check_transition(final.value, wanted)
        assert "no further update" in e.value.reasons()[0]


def test_the_usual_path_and_its_limits() -> None:
    path = [Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.IN_PROGRESS, Status.RESOLVED]
    current = Status.RECEIVED
    for wanted in path:
        logic.check_transition(current.value, wanted)
        current = wanted
    with pytest.raises(logic.TransitionRefused):
        logic.check_transition("acknowledged", Status.ACKNOWLEDGED)
    with pytest.raises(logic.TransitionRefused) as e:
        logic.check_transition("in_progress", Status.ACKNOWLEDGED)
    en, vi = e.value.reasons()
    assert "in_progress to acknowledged" in en and "Đang xử lý" in vi
    # A handed-on difficulty starts over with its new holder.
    logic.check_transition("escalated", Status.ACKNOWLEDGED)
    logic.check_transition("reassign_requested", Status.ACKNOWLEDGED)


@pytest.mark.parametrize("status", [Status.RESOLVED, Status.ESCALATED, Status.REJECTED])
def test_notes_are_required_where_a_reason_is_owed(status: Status) -> None:
    for blank in (None, "", "  \n "):
        with pytest.raises(vn.InvalidField) as e:
            logic.clean_note(status, blank)
        assert e.value.field == "note"
    assert logic.clean_note(status, " Đã  xử lý\r\nxong ") == "Đã xử lý\nxong"


def test_notes_are_optional_elsewhere() -> None:
    assert logic.clean_note(Status.ACKNOWLEDGED, "  ") is None


def local(*a: int) -> datetime:
    return datetime(*a, tzinfo=TZ)


def test_report_week_current_late_and_future() -> None:
    now = local(2026, 11, 25, 9)  # Wednesday; the week closes Friday 27/11 12:00 (W48)
    assert logic.report_week(None, now) == ("2026-W48", False)
    assert logic.report_week("2026-W48", now) == ("2026-W48", False)
    assert logic.report_week("2026-W47", now) == ("2026-W47", True)
    with pytest.raises(vn.InvalidField, match="future"):
        logic.report_week("2026-W49", now)
    with pytest.raises(vn.InvalidField) as e:
        logic.report_week("2026-W60", now)
    assert e.value.field == "week_label"
    # Just after the cutoff, the new week is current and W48 is late.
    after = local(2026, 11, 27, 12, 0, 1)
    assert logic.report_week(None, after) == ("2026-W49", False)
    assert logic.report_week("2026-W48", after) == ("2026-W48", True)


def test_a_replaced_report_keeps_its_id() -> None:
    assert logic.report_id("binh-duong.m01", "2026-W48") == logic.report_id(
        "binh-duong.m01", "2026-W48")
    assert logic.report_id("binh-duong.m01", "2026-W48") != logic.report_id(
        "binh-duong.m02", "2026-W48")


def received(raw: dict[str, Any]) -> DifficultyReceived:
    return DifficultyIn.model_validate(raw).received(
        difficulty_id=uuid.uuid4(), code="TG-AAAA-BBBB", now=local(2026, 1, 5, 8))


def refused(raw: dict[str, Any]) -> list[errors.Problem]:
    """The problems the typed submission finds, as the 422 will name them."""
    with pytest.raises(ValidationError) as e:
        DifficultyIn.model_validate(raw)
    return errors.validation_problems(e.value.errors())


def test_submissions_are_stored_as_nfc_clean_text() -> None:
    nfd = "Thiếu nguyên liệu"  # NFD on input
    import unicodedata

    raw = submission(title="  " + unicodedata.normalize("NFD", nfd) + "   sản xuất ",
                     description="Dòng 1  \r\n\r\n\r\n\r\nDòng 2\t cuối ",
                     sector="  ", province="tinh binh duong")
    event = received(raw)
    assert event.title == nfd + " sản xuất"
    assert unicodedata.is_normalized("NFC", event.title)
    assert event.description == "Dòng 1\n\nDòng 2 cuối"
    assert event.sector is None
    assert (event.province_code, event.task_force) == ("79", "binh-duong")


def test_invisible_characters_are_removed_from_every_text_field() -> None:
    # "Trojan Source": U+202E shows "Thiếu điện gdp.exe" as "Thiếu điện exe.pdg"; zero-width
    # characters make two names that look alike compare different.
    rlo, zwsp, zwj, bom, lri, pdi = "\u202e", "\u200b", "\u200d", "\ufeff", "\u2066", "\u2069"
    import unicodedata

    nfd_title = unicodedata.normalize("NFD", "Thiếu điện")
    raw = submission(title=f"{bom}{nfd_title[:2]}{zwsp}{nfd_title[2:]} {rlo}gdp.exe",
                     enterprise_name=f"Công{zwj} ty {lri}Bình Dương{pdi}",
                     description=f"Dòng 1{zwsp}\nDòng 2{rlo}",
                     contact={"name": f"Nguyễn{zwsp} Văn A"}, ward=f"{zwsp}Phường 1")
    event = received(raw)
    assert event.title == "Thiếu điện gdp.exe"
    assert unicodedata.is_normalized("NFC", event.title)
    assert event.enterprise_name == "Công ty Bình Dương"
    assert event.description == "Dòng 1\nDòng 2"
    assert event.contact.name == "Nguyễn Văn A"
    assert event.ward == "Phường 1"
    note = logic.clean_note(Status.RESOLVED, f"Đã xử lý{rlo} xong")
    assert note == "Đã xử lý xong"
    [problem] = refused(submission(title=zwsp * 3))
    assert problem.field == "title" and "empty" in problem.reason("en")
    assert problem.reason("vi") == "không được để trống" and problem.kind == "invalid"
    [problem] = refused(submission(contact={"name": zwsp}, ward="  "))
    assert problem.field == "contact.name"  # a blank optional field is no field


def test_control_characters_and_unknown_provinces_are_refused_by_field() -> None:
    [problem] = refused(submission(title="a\x00b"))
    assert problem.field == "title" and "U+0000" in problem.reason("vi")
    [problem] = refused(submission(province="Atlantis"))
    assert problem.field == "province" and "Atlantis" in problem.reason("en")
    # Every refused field at once: the cleaning, the tax code and the model's own checks.
    problems = refused(submission(tax_code="0123456788", province="Atlantis",
                                  description="x\x07", contact={"name": "An", "email": "@"}))
    assert {p.field for p in problems} == {"tax_code", "province", "description",
                                            "contact.email"}
    assert {p.field: p.kind for p in problems}["tax_code"] == "invalid"


def test_tax_code_is_stored_in_standard_form() -> None:
    body = DifficultyIn.model_validate(submission(tax_code=" 0100 233.488 "))
    assert body.tax_code == "0100233488"


def test_tokens_have_a_kind_prefix_and_are_stored_hashed() -> None:
    a, m = auth.new_token(auth.TokenKind.AGENCY), auth.new_token(auth.TokenKind.MEMBER)
    assert a.startswith("tga_") and m.startswith("tgm_") and a != auth.new_token(
        auth.TokenKind.AGENCY)
    assert auth.kind_of(a) == auth.TokenKind.AGENCY
    assert auth.kind_of(m) == auth.TokenKind.MEMBER
    o = auth.new_token(auth.TokenKind.OPERATOR)
    assert o.startswith("tgo_") and auth.kind_of(o) == auth.TokenKind.OPERATOR
    assert auth.kind_of("Bearer xyz") is None
    assert auth.kind_of("tga_" + "x" * 200) is None
    assert len(auth.token_hash(a)) == 32 and auth.token_hash(a) != auth.token_hash(m)
    from shared.logs import redact

    assert a[4:] not in redact(f"oops {a}")


def test_token_subjects_come_from_the_province_configuration() -> None:
    configs = ConfigHolder().current
    assert auth.subject_problem(configs, auth.TokenKind.AGENCY, "binh-duong.bql-kcn") is None
    assert auth.subject_problem(configs, auth.TokenKind.MEMBER, "binh-duong.m01") is None
    assert auth.subject_problem(configs, auth.TokenKind.AGENCY, "binh-duong.m01")
    assert auth.subject_problem(configs, auth.TokenKind.MEMBER, "binh-duong.bql-kcn")
    # Operators are not in the province files: a short slug is all that is asked.
    assert auth.subject_problem(configs, auth.TokenKind.OPERATOR, "ops-desk") is None
    for bad in ("", "Ops", "binh-duong.m01", "a" * 41, "-ops", "ops desk"):
        assert auth.subject_problem(configs, auth.TokenKind.OPERATOR, bad), bad


def test_token_bucket_allows_bursts_then_asks_to_wait() -> None:
    b = TokenBuckets(per_minute=60, burst=3)
    assert [b.take("a", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert b.take("a", 0.0) == pytest.approx(1.0)
    assert b.take("b", 0.0) == 0.0  # another client has its own bucket
    assert b.take("a", 0.5) == pytest.approx(0.5)
    assert b.take("a", 1.0) == 0.0  # one token refilled after a second


def test_token_bucket_memory_is_bounded() -> None:
    b = TokenBuckets(per_minute=60, burst=2, max_keys=100)
    for i in range(1000):
        b.take(f"10.0.{i // 256}.{i % 256}", float(i) / 1000)
    assert len(b) <= 100


@pytest.mark.parametrize(
    ("header", "lang"),
    [("", "vi"), ("en", "en"), ("en-US,en;q=0.9", "en"), ("vi-VN,vi;q=0.9,en;q=0.8", "vi"),
     ("fr, en;q=0.5", "en"), ("en;q=0.2, vi;q=0.9", "vi"), ("de", "vi"), ("en;q=x", "vi")],
)
def test_language_follows_accept_language(header: str, lang: str) -> None:
    assert errors.language({"accept-language": header}) == lang


def test_a_business_of_a_former_province_picking_the_merged_city_reaches_its_task_force(
) -> None:
    from services.intake.usecases import received_event

    configs = ConfigHolder().current
    now = datetime(2026, 11, 30, 10, 0, tzinfo=TZ)
    raw = submission(province="Thành phố Hồ Chí Minh", zone_type="KCN", zone_name="VSIP II")
    event = received_event(DifficultyIn.model_validate(raw), configs, now, "TG-AAAA-BBBB")
    assert event.data.province_code == "79" and event.data.task_force == "binh-duong"
    elsewhere = received_event(DifficultyIn.model_validate(submission(
        province="Thành phố Hồ Chí Minh", zone_type="NONE", zone_name=None,
        ward="Phường Sài Gòn")), configs, now, "TG-AAAA-CCCC")
    assert elsewhere.data.task_force == "ho-chi-minh"


# --- who may post what on one difficulty --------------------------------------------------

LEAD_A = logic.Held(uuid.uuid4(), AssignmentRole.LEAD, "binh-duong.bql-kcn", None)
CO_A = logic.Held(uuid.uuid4(), AssignmentRole.CO_HANDLER, "binh-duong.so-cong-thuong", None)
MEMBER_A = logic.Held(uuid.uuid4(), AssignmentRole.MEMBER, "binh-duong.so-cong-thuong",
                      "binh-duong.m05")
HELD = [LEAD_A, CO_A, MEMBER_A]
TRIAGE = "binh-duong.to-cong-tac"
EVERY = set(logic.POSTABLE)
CLOSING = {Status.RESOLVED, Status.REJECTED, Status.ESCALATED}


@pytest.mark.parametrize(("kind", "actor", "standing", "assignment", "allowed"), [
    (ActorKind.AGENCY, LEAD_A.agency_id, logic.Standing.LEAD, LEAD_A.assignment_id, EVERY),
    # The permanent deputy acts on the holder's assignment.
    (ActorKind.AGENCY, TRIAGE, logic.Standing.PERMANENT_DEPUTY, LEAD_A.assignment_id, EVERY),
    (ActorKind.AGENCY, CO_A.agency_id, logic.Standing.CO_HANDLER, CO_A.assignment_id,
     {Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.REASSIGN_REQUESTED}),
    (ActorKind.MEMBER, "binh-duong.m05", logic.Standing.MEMBER, MEMBER_A.assignment_id,
     {Status.ACKNOWLEDGED, Status.IN_PROGRESS}),
    (ActorKind.MEMBER, "binh-duong.m01", logic.Standing.OUTSIDER, None, set()),
    (ActorKind.AGENCY, "binh-duong.cuc-thue", logic.Standing.OUTSIDER, None, set()),
    (ActorKind.AGENCY, "thanh-hoa.to-cong-tac", logic.Standing.OUTSIDER, None, set()),
    (ActorKind.OPERATOR, "ops-desk", logic.Standing.OPERATOR, None, set()),
])
def test_each_standing_posts_only_its_statuses(
    kind: ActorKind, actor: str, standing: logic.Standing, assignment: uuid.UUID | None,
    allowed: set[Status],
) -> None:
    acting = logic.standing_of(kind, actor, HELD, triage_agency=TRIAGE)
    assert (acting.standing, acting.assignment_id) == (standing, assignment)
    for wanted in logic.POSTABLE:
        if wanted in allowed:
            logic.check_may_post(acting, wanted)
            continue
        with pytest.raises(logic.StatusForbidden) as e:
            logic.check_may_post(acting, wanted)
        assert e.value.en and e.value.vi
        if standing in (logic.Standing.CO_HANDLER, logic.Standing.MEMBER):
            assert e.value.field == "status" and wanted.value in e.value.en
            assert "Tổ phó Thường trực" in e.value.vi


def test_the_holder_after_a_hand_over_is_the_lead_and_the_deputy_in_triage_too() -> None:
    escalated = logic.Held(uuid.uuid4(), AssignmentRole.ESCALATION, "bo-cong-thuong", None)
    acting = logic.standing_of(ActorKind.AGENCY, "bo-cong-thuong", [escalated, CO_A],
                               triage_agency=TRIAGE)
    assert acting == logic.Acting(logic.Standing.LEAD, escalated.assignment_id)
    deputy = logic.standing_of(ActorKind.AGENCY, TRIAGE, [escalated, CO_A],
                               triage_agency=TRIAGE)
    assert deputy == logic.Acting(logic.Standing.PERMANENT_DEPUTY, escalated.assignment_id)
    triage = logic.Held(uuid.uuid4(), AssignmentRole.TRIAGE, TRIAGE, None)
    assert logic.standing_of(ActorKind.AGENCY, TRIAGE, [triage],
                             triage_agency=TRIAGE).standing is logic.Standing.LEAD
    # A province without configuration has no permanent deputy to stand in.
    assert logic.standing_of(ActorKind.AGENCY, TRIAGE, HELD,
                             triage_agency=None).standing is logic.Standing.OUTSIDER
    # No one but the lead and the deputy may close: the rule itself, not a list.
    for s, may in logic.MAY_POST.items():
        if s not in (logic.Standing.LEAD, logic.Standing.PERMANENT_DEPUTY):
            assert not may & CLOSING, s


@pytest.mark.parametrize("standing", list(logic.Standing))
def test_who_reads_a_difficulty_and_who_with_the_contact(standing: logic.Standing) -> None:
    d = received(submission())
    acting = logic.Acting(standing, None)
    if standing is logic.Standing.OUTSIDER:
        with pytest.raises(logic.StatusForbidden) as e:
            logic.check_may_read(acting, operator_in_scope=True)
        assert e.value.field == "difficulty_id"
        return
    logic.check_may_read(acting, operator_in_scope=True)
    if standing is logic.Standing.OPERATOR:
        with pytest.raises(logic.StatusForbidden) as e:
            logic.check_may_read(acting, operator_in_scope=False)
        assert e.value.field == "province"
    seen = logic.as_read_by(d, standing)
    sees = standing in (logic.Standing.LEAD, logic.Standing.PERMANENT_DEPUTY)
    assert seen.contact == (d.contact if sees else None)
    assert seen.model_dump(exclude={"contact"}) == d.model_dump(exclude={"contact"})


def test_only_the_permanent_deputy_dispatches_to_an_agency_of_its_task_force() -> None:
    cfg = ConfigHolder().current["binh-duong"]
    deputy = cfg.rules.triage
    triage = logic.Held(uuid.uuid4(), AssignmentRole.TRIAGE, deputy, None)
    lead = logic.Held(uuid.uuid4(), AssignmentRole.LEAD, "binh-duong.bql-kcn", None)
    target = "binh-duong.so-ke-hoach-dau-tu"
    logic.check_dispatch(target, wanted=Status.REASSIGN_REQUESTED, actor_id=deputy, cfg=cfg,
                         held=[triage])
    with pytest.raises(logic.StatusForbidden) as forbidden:
        logic.check_dispatch(target, wanted=Status.REASSIGN_REQUESTED,
                             actor_id="binh-duong.bql-kcn", cfg=cfg, held=[lead])
    assert forbidden.value.field == "target_agency_id"
    for wanted, chosen, held in ((Status.IN_PROGRESS, target, [triage]),
                                 (Status.REASSIGN_REQUESTED, "thanh-hoa.so-cong-thuong", [triage]),
                                 (Status.REASSIGN_REQUESTED, "binh-duong.bql-kcn", [lead])):
        with pytest.raises(vn.InvalidField) as invalid:
            logic.check_dispatch(chosen, wanted=wanted, actor_id=deputy, cfg=cfg, held=held)
        assert invalid.value.field == "target_agency_id"


# --- each assignment's own state and the lead's resolution (#20 items 1 and 2) -------------


def test_a_part_goes_acknowledged_in_progress_then_done_or_declined_and_stops() -> None:
    path = [None, Step.ACKNOWLEDGED, Step.IN_PROGRESS, Step.IN_PROGRESS, Step.DONE]
    for current, wanted in itertools.pairwise(path):
        assert wanted is not None
        logic.check_step(current, wanted)
    logic.check_step(None, Step.DONE)  # a part done at once needs nothing first
    logic.check_step(Step.IN_PROGRESS, Step.DECLINED)
    with pytest.raises(logic.StepRefused):
        logic.check_step(Step.IN_PROGRESS, Step.ACKNOWLEDGED)
    for final in logic.FINISHED:
        for wanted in Step:
            with pytest.raises(logic.StepRefused) as e:
                logic.check_step(final, wanted)
            assert "no further step" in e.value.reasons()[0]


@pytest.mark.parametrize("step", [Step.DONE, Step.DECLINED])
def test_done_says_what_was_done_and_declined_says_why(step: Step) -> None:
    with pytest.raises(vn.InvalidField) as e:
        logic.clean_step_note(step, "  ")
    assert e.value.field == "note"
    assert logic.clean_step_note(Step.IN_PROGRESS, None) is None


def test_each_moves_its_own_part_only() -> None:
    held = [LEAD_A, CO_A, MEMBER_A]
    assert logic.own_part(ActorKind.AGENCY, CO_A.agency_id, held) == CO_A
    assert logic.own_part(ActorKind.MEMBER, "binh-duong.m05", held) == MEMBER_A
    with pytest.raises(logic.StatusForbidden) as e:
        logic.own_part(ActorKind.AGENCY, CO_A.agency_id, held, LEAD_A.assignment_id)
    assert e.value.field == "assignment_id"
    with pytest.raises(logic.StatusForbidden):
        logic.own_part(ActorKind.AGENCY, "binh-duong.so-tai-chinh", held)
    with pytest.raises(logic.StatusForbidden):
        logic.own_part(ActorKind.OPERATOR, "ops", held)


def test_the_leads_steps_move_the_difficulty_a_helpers_do_not() -> None:
    assert logic.step_status(CO_A, Step.DONE, "assigned") is None
    assert logic.step_status(MEMBER_A, Step.DECLINED, "resolved") is None
    assert logic.step_status(LEAD_A, Step.ACKNOWLEDGED, "assigned") is Status.ACKNOWLEDGED
    # The lead's "not ours" goes back to the permanent deputy's triage.
    assert logic.step_status(LEAD_A, Step.DECLINED, "acknowledged") is \
        Status.REASSIGN_REQUESTED
    with pytest.raises(vn.InvalidField) as e:
        logic.step_status(LEAD_A, Step.DONE, "in_progress")
    assert e.value.field == "step" and "resolution" in e.value.reason_en
    with pytest.raises(logic.TransitionRefused):
        logic.step_status(LEAD_A, Step.IN_PROGRESS, "resolved")


def test_a_suggested_agency_goes_with_declined_and_must_be_another_of_the_task_force() -> None:
    cfg = ConfigHolder().current["binh-duong"]
    labour, me = "binh-duong.so-lao-dong", "binh-duong.so-cong-thuong"
    logic.check_suggestion(labour, step=Step.DECLINED, actor_id=me, cfg=cfg)
    logic.check_suggestion(None, step=Step.DONE, actor_id=me, cfg=cfg)
    for suggested, step, actor in ((labour, Step.DONE, me), ("binh-duong.nope", Step.DECLINED, me),
                                   (me, Step.DECLINED, me)):
        with pytest.raises(vn.InvalidField) as e:
            logic.check_suggestion(suggested, step=step, actor_id=actor, cfg=cfg)
        assert e.value.field == "suggested_agency_id"


@pytest.mark.parametrize("standing", list(logic.Standing))
def test_only_the_lead_and_the_permanent_deputy_close(standing: logic.Standing) -> None:
    acting = logic.Acting(standing, None)
    if standing in (logic.Standing.LEAD, logic.Standing.PERMANENT_DEPUTY):
        logic.check_may_resolve(acting)
        return
    with pytest.raises(logic.StatusForbidden) as e:
        logic.check_may_resolve(acting)
    if standing is logic.Standing.CO_HANDLER:
        assert "co-handling agency finishes its own part" in e.value.en
        assert "only the lead agency or the permanent deputy closes" in e.value.en


def _resolve(outcome: Outcome, held: list[logic.Held], waiver: str | None = None,
             reason: str | None = None) -> Resolution:
    return logic.build_resolution(
        outcome=outcome, done="Đã làm việc với doanh nghiệp", legal_basis=" Công văn "
        "123/UBND-KT ", public_answer="Đã cấp phép vận chuyển.", reason=reason, held=held,
        waiver_reason=waiver)


def test_the_lead_cannot_close_over_open_parts_unless_it_waives_them_with_a_reason() -> None:
    done_co = dataclasses.replace(CO_A, step=Step.DONE)
    open_co = dataclasses.replace(CO_A, assignment_id=uuid.uuid4(),
                                  agency_id="binh-duong.so-tai-chinh", step=Step.IN_PROGRESS)
    declined = dataclasses.replace(CO_A, assignment_id=uuid.uuid4(), step=Step.DECLINED)
    r = _resolve(Outcome.RESOLVED, [LEAD_A, done_co, declined, MEMBER_A])
    assert r.waived == [] and r.waiver_reason is None
    assert r.legal_basis == "Công văn 123/UBND-KT"
    with pytest.raises(logic.PartsOpen) as e:
        _resolve(Outcome.PARTLY_RESOLVED, [LEAD_A, done_co, open_co])
    assert e.value.agencies == ["binh-duong.so-tai-chinh"]
    assert "waive_open_parts_reason" in e.value.reasons()[0]
    r = _resolve(Outcome.RESOLVED, [LEAD_A, done_co, open_co], waiver="Sở Tài chính đã "
                 "trả lời bằng văn bản riêng")
    assert r.waived == [open_co.assignment_id] and r.waiver_reason is not None
    # Passing it up closes nothing: the co-handlers go on.
    r = _resolve(Outcome.ESCALATED, [LEAD_A, open_co], reason="Thuộc thẩm quyền Bộ")
    assert r.waived == []


@pytest.mark.parametrize("outcome", [Outcome.REJECTED, Outcome.ESCALATED])
def test_rejected_and_escalated_say_why(outcome: Outcome) -> None:
    with pytest.raises(vn.InvalidField) as e:
        _resolve(outcome, [LEAD_A])
    assert e.value.field == "reason"


def test_a_resolution_needs_what_was_done_and_the_answer_for_the_business() -> None:
    for f in ("done", "public_answer"):
        kwargs: dict[str, Any] = {"outcome": Outcome.RESOLVED, "done": "x",
                                  "legal_basis": None, "public_answer": "y", "reason": None,
                                  "held": [LEAD_A], "waiver_reason": None, f: " "}
        with pytest.raises(vn.InvalidField) as e:
            logic.build_resolution(**kwargs)
        assert e.value.field == f
