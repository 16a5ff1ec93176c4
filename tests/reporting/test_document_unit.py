"""The official document's model and its DOCX and PDF, without a database: dates as the
decree writes them, weeks as people say them, and the final report of a dissolved task
force in the same form as a week's."""

from __future__ import annotations

import io
import shutil
import subprocess
import unicodedata
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from docx import Document

from services.reporting import document, render, usecases
from shared.calendar import TZ, week_window_by_label
from shared.events import BreakdownRow, ReportItem, Status, WeeklyReport
from shared.provinces import ConfigHolder

CFG = ConfigHolder().current["binh-duong"]


def test_dates_as_decree_30_writes_them() -> None:
    assert document.decree_date(date(2026, 12, 4)) == "ngày 04 tháng 12 năm 2026"
    assert document.decree_date(date(2027, 1, 15)) == "ngày 15 tháng 01 năm 2027"
    assert document.decree_date(date(2026, 3, 9)) == "ngày 09 tháng 3 năm 2026"


@pytest.mark.parametrize(("label", "vi", "en"), [
    ("2026-W49", "Tuần 49 · 28/11–04/12/2026", "Week 49 · 28 Nov–4 Dec 2026"),
    # Across the new year.
    ("2026-W01", "Tuần 1 · 27/12/2025–02/01/2026", "Week 1 · 27 Dec 2025–2 Jan 2026"),
    # 1/1/2027 is a holiday Friday: week 53 ends on Thursday 31/12, week 1 starts then.
    ("2026-W53", "Tuần 53 · 26/12–31/12/2026", "Week 53 · 26 Dec–31 Dec 2026"),
    ("2027-W01", "Tuần 1 · 01/01–08/01/2027", "Week 1 · 1 Jan–8 Jan 2027"),
])
def test_weeks_as_people_say_them(label: str, vi: str, en: str) -> None:
    assert document.week_phrase(label, "vi") == vi
    assert document.week_phrase(label, "en") == en


def test_names_never_slugs() -> None:
    assert document.name_of(CFG, "agency", "binh-duong.bql-kcn") == (
        "Ban Quản lý các khu công nghiệp tỉnh Bình Dương")
    assert document.name_of(CFG, "agency", "unknown") == "Chưa xác định"
    assert document.name_of(CFG, "zone_type", "CCN", "en") == "Industrial cluster"
    assert document.name_of(CFG, "category", "labour") == "Lao động"


def _final() -> WeeklyReport:
    w = week_window_by_label("2026-W49")
    total = BreakdownRow(dimension="total", value="all", received=40, resolved=30, open=6,
                         overdue=2, escalated_central=3, rejected=4, carried_over=0,
                         median_resolution_hours=30.5, p90_resolution_hours=90.0)
    agency = total.model_copy(update={"dimension": "agency", "value": "binh-duong.bql-kcn"})
    # Typed decomposed (NFD), as some keyboards send it.
    handed = ReportItem(difficulty_id=uuid.uuid4(), tracking_code="TG-AB12-0001",
                        title=unicodedata.normalize("NFD", "Chậm hoàn thuế giá trị gia tăng"),
                        agency_id="binh-duong.cuc-thue", status=Status.IN_PROGRESS,
                        received_at=w.start + timedelta(days=1))
    return WeeklyReport(
        report_id=uuid.uuid4(), province_code="79", week_label="final",
        window_start=usecases.mandate_start(CFG), window_end=w.end,
        generated_at=w.end + timedelta(hours=1), final=True,
        rows=[total, agency], urgent_items=[], recommendations=[], members_reported=[],
        members_missing=[], handed_over=[handed], central_items=[])


def test_the_final_report_takes_the_same_form(tmp_path: Path) -> None:
    report = _final()
    doc = document.official_report(CFG, report, published=True)
    assert doc.number == "Số:       /BC-TCT"  # numbered by the clerk who registers it
    assert doc.place_date == "Thủ Dầu Một, ngày 04 tháng 12 năm 2026"
    assert doc.title == ("Tổng kết hoạt động của Tổ công tác (từ ngày 16/07/2021 đến ngày "
                         "04/12/2026)")
    assert [s.heading for s in doc.sections if s.level == 1] == [
        "I. KẾT QUẢ TIẾP NHẬN, XỬ LÝ", "II. HỒ SƠ CÒN MỞ BÀN GIAO (1)",
        "III. HỒ SƠ CHUYỂN CƠ QUAN TRUNG ƯƠNG (0)"]
    assert doc.draft is None
    assert document.official_report(CFG, report, published=False).draft is not None
    d = Document(io.BytesIO(render.to_docx(doc)))
    text = " ".join([p.text for p in d.paragraphs] + [
        c.text for t in d.tables for row in t.rows for c in row.cells])
    for phrase in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "BÁO CÁO", "Tổng kết hoạt động",
                   "TG-AB12-0001", "Chậm hoàn thuế giá trị gia tăng", "TỔ TRƯỞNG",
                   "Mai Hùng Dũng", "Trên đây là báo cáo tổng kết hoạt động của Tổ công tác./."):
        assert phrase in text, phrase
    try:
        pdf = render.to_pdf(doc)
    except render.FontsMissing as e:
        pytest.skip(f"{e}: the PDF was not made")
    assert pdf.startswith(b"%PDF-")
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils is not installed (apt-get install poppler-utils): the PDF "
                    "was made but not read back")
    path = tmp_path / "final.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                         text=True).stdout
    flat = " ".join(out.split())
    for phrase in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                   "Số:", "/BC-TCT", "II. HỒ SƠ CÒN MỞ BÀN GIAO (1)", "Chậm hoàn thuế giá trị",
                   "Cục Thuế tỉnh Bình", "TỔ TRƯỞNG", "Mai Hùng Dũng"):
        assert phrase in flat, phrase


def _escalated_case(letter: tuple[str, date] | None) -> dict[str, object]:
    received = datetime(2026, 11, 2, 9, tzinfo=TZ)
    return {
        "difficulty_id": uuid.uuid4(), "tracking_code": "TG-CV12-0007",
        "title": "Vướng mắc hoàn thuế giá trị gia tăng hàng xuất khẩu",
        "province_code": "74", "task_force": "binh-duong", "status": "escalated",
        "received_at": received,
        "letter_number": letter[0] if letter else None,
        "letter_date": letter[1] if letter else None,
        "payload": {"enterprise_name": "Công ty TNHH Điện tử Sóng Thần",
                    "tax_code": "3701234567",
                    "description": "Hồ sơ hoàn thuế tháng 9 đã nộp quá 40 ngày chưa được giải "
                                   "quyết vì vướng hướng dẫn về hóa đơn điện tử."},
        "escalation": {"done": "Cục Thuế đã làm việc với doanh nghiệp ngày 10/11/2026.",
                       "reason": "Hướng dẫn về hóa đơn điện tử thuộc thẩm quyền Bộ Tài chính.",
                       "public_answer": "Tổ công tác đã kiến nghị Bộ Tài chính hướng dẫn; "
                                        "doanh nghiệp sẽ được thông báo kết quả.",
                       "legal_basis": "Nghị định 123/2020/NĐ-CP",
                       "resolved_at": received + timedelta(days=9)},
        "ministry": {"agency_id": "central.bo-tai-chinh",
                     "assigned_at": received + timedelta(days=9),
                     "resolve_due_at": datetime(2026, 12, 9, 9, tzinfo=TZ)},
        "leads": ["binh-duong.cuc-thue"],
    }


def _letter_text_docx(doc: document.OfficialReport) -> str:
    d = Document(io.BytesIO(render.to_docx(doc)))
    return " ".join([p.text for p in d.paragraphs] + [
        c.text for t in d.tables for row in t.rows for c in row.cells])


def test_the_letter_to_the_ministry_in_the_official_form(tmp_path: Path) -> None:
    """#22 item 6: the công văn passing an escalated case to its ministry, for the permanent
    deputy to sign; the number and date as registered, blank for the clerk before."""
    draft = document.central_letter(CFG, _escalated_case(None), ministry_name="Bộ Tài chính",
                                    lead_names=["Cục Thuế tỉnh Bình Dương"],
                                    today=date(2026, 11, 12))
    assert draft.number == "Số:       /TCT"
    assert draft.place_date == "Thủ Dầu Một, ngày      tháng      năm 2026"
    doc = document.central_letter(CFG, _escalated_case(("125/TCT-KT", date(2026, 11, 12))),
                                  ministry_name="Bộ Tài chính",
                                  lead_names=["Cục Thuế tỉnh Bình Dương"],
                                  today=date(2026, 11, 13))
    assert doc.number == "Số: 125/TCT-KT"
    assert doc.place_date == "Thủ Dầu Một, ngày 12 tháng 11 năm 2026"
    assert doc.addressee == "Bộ Tài chính" and doc.kind == ""
    text = _letter_text_docx(doc)
    for phrase in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Số: 125/TCT-KT",
                   "V/v kiến nghị của doanh nghiệp", "Kính gửi: Bộ Tài chính",
                   "Vướng mắc hoàn thuế giá trị gia tăng hàng xuất khẩu",
                   "Tổ công tác đã kiến nghị Bộ Tài chính hướng dẫn",
                   "trước ngày 09/12/2026", "Nơi nhận:", "Như trên", "KT. TỔ TRƯỞNG"):
        assert phrase in text, phrase
    assert "BÁO CÁO" not in text  # a letter names no kind
    try:
        pdf = render.to_pdf(doc)
    except render.FontsMissing as e:
        pytest.skip(f"{e}: the PDF was not made")
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils is not installed (apt-get install poppler-utils): the PDF "
                    "was made but not read back")
    path = tmp_path / "cong-van.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                         text=True).stdout
    flat = unicodedata.normalize("NFC", " ".join(out.split()))
    for phrase in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                   "Số: 125/TCT-KT", "Kính gửi: Bộ Tài chính", "Vướng mắc hoàn thuế giá trị",
                   "Tổ công tác đã kiến nghị Bộ Tài chính", "Hướng dẫn về hóa đơn điện tử",
                   "Công ty TNHH Điện tử Sóng Thần", "Nơi nhận:", "KT. TỔ TRƯỞNG",
                   "TỔ PHÓ THƯỜNG TRỰC"):
        assert phrase in flat, phrase
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(path), str(tmp_path / "page")],
                       check=True)
        assert sorted(tmp_path.glob("page*.png"))
