"""The pure rules of the compiled week (#22 item 1): the permanent deputy's text pre-filled
from the members' reports, a direction's forward-only progress, who may be named to act
and by when, a direction past due, its reminders (when, to whom, under which keys), and
the document's sections for the members' own words and the head's directions (DOCX read
back; the PDF through pdftotext)."""

from __future__ import annotations

import io
import shutil
import subprocess
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from docx import Document

from services.intake import logic as intake_logic
from services.notify import logic as notify_logic
from services.reporting import document, logic, render, spreadsheets
from shared import vn
from shared.calendar import TZ, week_window_by_label
from shared.events import (
    BreakdownRow,
    DirectionGiven,
    DirectionState,
    DirectionStatus,
    MemberReportSummary,
    Status,
    WaitingItem,
    WaitingReason,
    WeeklyReport,
)
from shared.provinces import ConfigHolder

CONFIGS = ConfigHolder().current
CFG = CONFIGS["binh-duong"]
W = week_window_by_label("2026-W49")


def _row(late: bool, received: str, solutions: str = "", recs: str = "") -> dict[str, Any]:
    return {"late": late, "submitted_at": W.start + timedelta(days=1),
            "payload": {"received_summary": received, "solutions": solutions,
                        "recommendations": recs}}


def test_the_draft_puts_each_members_words_under_the_three_headings() -> None:
    text = logic.draft_compilation([
        ("Nguyễn Văn An", _row(False, "Tiếp nhận 3 phản ánh", "Làm việc với Sở Công Thương")),
        ("Trần Thị Bình", _row(True, "Tiếp nhận 1 kiến nghị", "", "Đề nghị Bộ Tài chính")),
        ("Lê Văn Cường", None),
    ], "vi")
    received, solutions, recs, missing = text.split("\n\n")
    assert received.splitlines() == ["I. Tình hình tiếp nhận",
                                     "- Nguyễn Văn An: Tiếp nhận 3 phản ánh",
                                     "- Trần Thị Bình (trễ hạn): Tiếp nhận 1 kiến nghị"]
    assert solutions.splitlines() == ["II. Giải pháp đang triển khai",
                                      "- Nguyễn Văn An: Làm việc với Sở Công Thương"]
    assert recs.splitlines() == ["III. Kiến nghị, đề xuất",
                                 "- Trần Thị Bình (trễ hạn): Đề nghị Bộ Tài chính"]
    assert missing == "Chưa báo cáo: Lê Văn Cường"


def test_the_draft_of_a_week_nobody_reported_says_so() -> None:
    text = logic.draft_compilation([("A", None)], "en")
    assert text.count("- (none)") == 3 and text.endswith("Not reported: A")


@pytest.mark.parametrize(("current", "wanted", "ok"), [
    ("open", "in_progress", True), ("open", "done", True),
    ("in_progress", "in_progress", True), ("in_progress", "done", True),
    ("in_progress", "open", False), ("done", "in_progress", False), ("done", "done", False),
    ("open", "open", False), ("open", "finished", False),
])
def test_a_directions_progress_only_moves_forward(current: str, wanted: str, ok: bool) -> None:
    if ok:
        intake_logic.check_direction_progress(current, wanted)
    else:
        with pytest.raises(vn.InvalidField) as e:
            intake_logic.check_direction_progress(current, wanted)
        assert e.value.field == "state"


def test_a_direction_names_an_agency_or_an_active_member_and_a_date_not_past() -> None:
    assert intake_logic.direction_assignee(CFG, " binh-duong.so-cong-thuong ") == (
        "binh-duong.so-cong-thuong")
    assert intake_logic.direction_assignee(CFG, "binh-duong.m01") == "binh-duong.m01"
    for stranger in ("", "ha-noi.so-cong-thuong", "binh-duong.nobody"):
        with pytest.raises(vn.InvalidField) as e:
            intake_logic.direction_assignee(CFG, stranger)
        assert e.value.field == "assignee_id"
    today = date(2026, 12, 7)
    assert intake_logic.direction_due("2026-12-07", today) == today
    for bad in ("2026-12-06", "07/12/2026", ""):
        with pytest.raises(vn.InvalidField) as e:
            intake_logic.direction_due(bad, today)
        assert e.value.field == "due_on"


def test_a_direction_is_past_due_only_when_not_done_after_its_date() -> None:
    due, today = date(2026, 12, 4), date(2026, 12, 7)
    assert logic.direction_overdue(due, "open", today)
    assert logic.direction_overdue(due, "in_progress", today)
    assert not logic.direction_overdue(due, "done", today)
    assert not logic.direction_overdue(today, "open", today)
    assert not logic.direction_overdue(None, "open", today)


def _week() -> WeeklyReport:
    total = BreakdownRow(dimension="total", value="all", received=5, resolved=2, open=3,
                         overdue=1, escalated_central=0, median_resolution_hours=None,
                         p90_resolution_hours=None)
    return WeeklyReport(
        report_id=uuid.uuid4(), province_code="74", week_label=W.label,
        window_start=W.start, window_end=W.end, generated_at=W.end, rows=[total],
        urgent_items=[], recommendations=[], members_reported=["binh-duong.m01",
                                                               "binh-duong.m02"],
        members_missing=[],
        compiled_text="I. Tình hình tiếp nhận\n- Tổ tiếp nhận 5 phản ánh trong tuần.",
        member_reports=[
            MemberReportSummary(member_id="binh-duong.m01", late=False,
                                submitted_at=W.start, received_summary="Nhận 3 phản ánh",
                                solutions="Đối thoại với doanh nghiệp"),
            MemberReportSummary(member_id="binh-duong.m02", late=True, submitted_at=W.end,
                                received_summary="Nhận 2 kiến nghị",
                                recommendations="Đề nghị Bộ Công Thương hướng dẫn")],
        directions=[DirectionStatus(
            direction_id=uuid.uuid4(), body="Sở Công Thương rà soát nguồn nguyên liệu",
            given_at=W.start, assignee_id="binh-duong.so-cong-thuong",
            due_on=date(2026, 12, 10), state=DirectionState.IN_PROGRESS, state_at=W.end,
            note="Đã làm việc với 3 doanh nghiệp")],
        waiting=[_waiting(WaitingReason.CENTRAL, "TG-7Q2K9", "Kiến nghị giãn nợ theo Thông tư 14",
                          "central.bo-tai-chinh", letter=("15/TCT", date(2026, 12, 3))),
                 _waiting(WaitingReason.CENTRAL, "TG-8R3M4", "Kiến nghị hoàn thuế GTGT",
                          "central.bo-tai-chinh"),
                 _waiting(WaitingReason.LONG_OVERDUE, "TG-2B5C7", "Thiếu nguyên liệu vải",
                          "binh-duong.bql-kcn"),
                 _waiting(WaitingReason.REJECTED, "TG-3D6F8", "Xin cấp phép karaoke",
                          "binh-duong.so-cong-thuong")],
        decision_overdue_days=5)


def _waiting(why: WaitingReason, code: str, title: str, agency: str,
             letter: tuple[str, date] | None = None) -> WaitingItem:
    return WaitingItem(
        difficulty_id=uuid.uuid4(), tracking_code=code, title=title, agency_id=agency,
        status=Status.REJECTED if why is WaitingReason.REJECTED else Status.ESCALATED,
        received_at=W.start - timedelta(days=20), why=why,
        resolve_due_at=W.start - timedelta(days=8),
        letter_number=letter[0] if letter else None, letter_date=letter[1] if letter else None)


WAITING_SAID = ("Kiến nghị cần Bộ, ngành Trung ương giải quyết, chờ trả lời (công văn số "
                "15/TCT ngày 03/12/2026)",
                "Kiến nghị cần Bộ, ngành Trung ương giải quyết, chờ trả lời (chưa ghi số "
                "công văn)", "Quá hạn trên 5 ngày làm việc", "Từ chối vì không thuộc phạm vi")


def test_the_document_has_the_compiled_text_the_members_words_and_the_directions(
        tmp_path: Path) -> None:
    doc = document.official_report(CFG, _week(), published=True)
    headings = [s.heading for s in doc.sections]
    assert "I. TỔNG HỢP CỦA TỔ PHÓ THƯỜNG TRỰC" not in headings  # the figures come first
    assert "II. TỔNG HỢP CỦA TỔ PHÓ THƯỜNG TRỰC" in headings
    assert "V. HỒ SƠ CHỜ TỔ TRƯỞNG QUYẾT ĐỊNH (4)" in headings
    assert "VII. Ý KIẾN CHỈ ĐẠO CỦA TỔ TRƯỞNG VÀ TIẾN ĐỘ THỰC HIỆN (1)" in headings
    assert {"1. Tình hình tiếp nhận", "2. Giải pháp đang triển khai",
            "3. Kiến nghị, đề xuất"} <= set(headings)
    d = Document(io.BytesIO(render.to_docx(doc)))
    text = " ".join([p.text for p in d.paragraphs] + [
        c.text for t in d.tables for row in t.rows for c in row.cells])
    m2 = document.person_of(CFG, "binh-duong.m02")
    for phrase in ("Tổ tiếp nhận 5 phản ánh trong tuần.", "Nhận 3 phản ánh",
                   f"{m2} (trễ hạn): Nhận 2 kiến nghị", "Sở Công Thương rà soát nguồn nguyên liệu",
                   "Sở Công Thương", "10/12/2026",
                   "Đang thực hiện — Đã làm việc với 3 doanh nghiệp", *WAITING_SAID,
                   "TG-7Q2K9", "Bộ Tài chính"):
        assert phrase in text, phrase
    try:
        pdf = render.to_pdf(doc)
    except render.FontsMissing as e:
        pytest.skip(f"{e}: the PDF was not made")
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils is not installed: the PDF was made but not read back")
    path = tmp_path / "week.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                         text=True, check=True).stdout
    flat = " ".join(out.split())
    for phrase in ("TỔNG HỢP CỦA TỔ PHÓ THƯỜNG TRỰC", "Tổ tiếp nhận 5 phản ánh trong tuần.",
                   "Ý KIẾN CHỈ ĐẠO CỦA TỔ TRƯỞNG", "Đang thực hiện", "(trễ hạn)",
                   "HỒ SƠ CHỜ TỔ TRƯỞNG QUYẾT ĐỊNH (4)", "TG-8R3M4"):
        assert phrase in flat, phrase


def test_the_workbook_has_the_compiled_weeks_sections_with_vietnamese_headers() -> None:
    """The XLSX has what the page and the document have of the compiled week: each
    member's words under the three headings (late marked, who did not report), the items
    waiting for a decision and why, the deputy's text, the directions and their progress."""
    week = _week().model_copy(update={"members_missing": ["binh-duong.m03"]})
    wb = openpyxl.load_workbook(io.BytesIO(spreadsheets.workbook(CFG, week)))
    assert {"Thành viên", "Chờ quyết định", "Tổng hợp của Tổ phó", "Chỉ đạo"} <= set(
        wb.sheetnames)

    def table(name: str, first: str) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
        rows = list(wb[name].iter_rows(values_only=True))
        top = next(i for i, r in enumerate(rows) if r[0] == first)
        return rows[top], [r for r in rows[top + 1:] if r[0] is not None]

    head, members = table("Thành viên", "Thành viên")
    assert head == ("Thành viên", "Chức vụ", "Tình hình", "Gửi lúc", "Đột xuất",
                    "Tình hình tiếp nhận", "Giải pháp đang triển khai", "Kiến nghị, đề xuất")
    by_name = {r[0]: r for r in members}
    m1, m2, m3 = (CFG.person(f"binh-duong.m0{i}") for i in (1, 2, 3))
    assert m1 and m2 and m3
    assert by_name[m1.name][2:3] == ("Đúng hạn",) and by_name[m1.name][5:7] == (
        "Nhận 3 phản ánh", "Đối thoại với doanh nghiệp")
    assert by_name[m2.name][2] == "Trễ hạn"
    assert by_name[m2.name][7] == "Đề nghị Bộ Công Thương hướng dẫn"
    assert isinstance(by_name[m2.name][3], datetime)  # a date cell, sortable
    assert by_name[m3.name][2] == "Chưa báo cáo" and by_name[m3.name][5] is None

    head, waiting = table("Chờ quyết định", "Mã hồ sơ")
    assert head[:5] == ("Mã hồ sơ", "Nội dung", "Cơ quan đang giữ", "Lý do chờ quyết định",
                        "Hạn giải quyết")
    assert [r[3] for r in waiting] == list(WAITING_SAID)
    assert waiting[0][:3] == ("TG-7Q2K9", "Kiến nghị giãn nợ theo Thông tư 14", "Bộ Tài chính")
    assert isinstance(waiting[0][4], datetime)

    _, compiled = table("Tổng hợp của Tổ phó", "Nội dung")
    assert compiled == [(week.compiled_text,)]

    head, directions = table("Chỉ đạo", "Nội dung chỉ đạo")
    assert head[:4] == ("Nội dung chỉ đạo", "Đơn vị, người thực hiện", "Thời hạn", "Tiến độ")
    assert directions[0][:5] == ("Sở Công Thương rà soát nguồn nguyên liệu", "Sở Công Thương",
                                 datetime(2026, 12, 10), "Đang thực hiện",
                                 "Đã làm việc với 3 doanh nghiệp")
    # Never a slug where a name is known.
    texts = [c for ws in wb for r in ws.iter_rows(values_only=True) for c in r
             if isinstance(c, str)]
    assert not [t for t in texts if t.startswith("binh-duong.")]


def test_an_old_weekly_report_without_waiting_items_still_reads() -> None:
    old = _week().model_dump(mode="json")
    del old["waiting"], old["decision_overdue_days"]
    again = WeeklyReport.model_validate(old)
    assert again.waiting == [] and again.decision_overdue_days is None


def test_a_direction_is_reminded_the_working_day_before_and_on_its_due_date() -> None:
    given = datetime(2026, 12, 7, 10, tzinfo=TZ)  # a Monday
    # Due on Tuesday: reminded Monday at 08:00? It was given after that; only on the day.
    assert notify_logic.direction_reminder_times(given, date(2026, 12, 8)) == [
        ("due", datetime(2026, 12, 8, 8, tzinfo=TZ))]
    # Due on a Monday: the working day before is the Friday, over the weekend.
    assert notify_logic.direction_reminder_times(given, date(2026, 12, 14)) == [
        ("before", datetime(2026, 12, 11, 8, tzinfo=TZ)),
        ("due", datetime(2026, 12, 14, 8, tzinfo=TZ))]


def test_direction_reminders_go_to_whoever_must_act_keyed_by_direction() -> None:
    did = uuid.uuid4()
    e = DirectionGiven(direction_id=did, task_force="binh-duong",
                       given_by="binh-duong.to-truong", week_label="2026-W50",
                       body="Rà soát nguồn nguyên liệu", given_at=datetime(2026, 12, 7, 10,
                                                                        tzinfo=TZ),
                       assignee_id="binh-duong.so-cong-thuong", due_on=date(2026, 12, 14))
    owed = notify_logic.direction_reminders(e, CONFIGS, quiet=notify_logic.Quiet())
    agency = CFG.agency("binh-duong.so-cong-thuong")
    assert agency is not None
    channels = {str(c.channel) for c in agency.contacts}
    assert {o.key for o in owed} == {f"direction_due:{did}:{w}:{c}"
                                    for w in ("before", "due") for c in channels}
    assert {o.recipient_id for o in owed} == {"binh-duong.so-cong-thuong"}
    due = next(o for o in owed if ":due:" in o.key)
    said = notify_logic.render(due.kind, due.payload)
    assert "14/12/2026" in said.subject and "Rà soát nguồn nguyên liệu" in said.text
    # Untracked (given before directions named anyone), or naming nobody known: none.
    assert notify_logic.direction_reminders(e.model_copy(update={"assignee_id": None}),
                                            CONFIGS, quiet=notify_logic.Quiet()) == []
    assert notify_logic.direction_reminders(
        e.model_copy(update={"assignee_id": "binh-duong.gone"}), CONFIGS,
        quiet=notify_logic.Quiet()) == []
