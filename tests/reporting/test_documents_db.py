"""The week's report as the documents people use, over HTTP on the real database: the
signed report as PDF (turned into text and images with poppler) and DOCX, the workbook
(XLSX) and the CSV with Vietnamese headers, each opened with its own library; and the
report page in headless Chromium at desktop width and at 390 px, with axe-core.

Artefacts (PDF pages, screenshots) go to THAOGO_TEST_ARTEFACTS, else a pytest temporary
folder; the path is printed (pytest -s shows it)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import openpyxl
import pytest
from docx import Document

from shared.calendar import TZ
from shared.events import (
    AgencyLevel,
    AssignmentRole,
    Category,
    Kind,
    LetterRef,
    Status,
    Urgency,
    ZoneType,
)
from tests.reporting.conftest import assigned, env, received, status
from tests.reporting.test_api_db import Served, W, _seed

# The served read side of test_api_db and the settings it is served with, reused as
# fixtures (the explicit re-export form).
from tests.reporting.test_api_db import served as served
from tests.reporting.test_api_db import settings as settings

pytestmark = [pytest.mark.db]

FORMULA = '=HYPERLINK("https://evil.example/x","Xem chi tiết")'
AXE = Path(__file__).resolve().parents[2] / ".test-tools/node_modules/axe-core/axe.min.js"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    where = os.environ.get("THAOGO_TEST_ARTEFACTS")
    path = Path(where) if where else tmp_path_factory.mktemp("report-artefacts")
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nreport artefacts (PDF pages, screenshots): {path}")
    yield path


async def _seed_all(s: Served) -> None:
    """_seed's week, plus an urgent item rejected in it whose title looks like a formula,
    and a recommendation passed to a central ministry (its letter registered) whose
    answer has not come: it needs central action."""
    h = s.handlers
    t0 = W.start + timedelta(days=2)
    r = received(t0, n=7, zone=ZoneType.KKT, title=FORMULA, urgency=Urgency.URGENT)
    await h.on_received([env(r)], None)  # type: ignore[arg-type]
    await h.on_assigned([env(assigned(r, t0, agency="binh-duong.so-cong-thuong"))],
                        None)  # type: ignore[arg-type]
    await h.on_status([env(status(r, Status.REJECTED, t0 + timedelta(hours=2)))],
                      None)  # type: ignore[arg-type]
    c = received(W.start - timedelta(days=4), n=8, kind=Kind.RECOMMENDATION,
                 category=Category.TAX, title=CENTRAL_TITLE)
    lead = assigned(c, c.received_at)
    ministry = assigned(c, t0, agency="central.bo-tai-chinh", level=AgencyLevel.CENTRAL,
                        role=AssignmentRole.ESCALATION, replaces=lead.assignment_id)
    await h.on_received([env(c)], None)  # type: ignore[arg-type]
    await h.on_assigned([env(lead), env(ministry)], None)  # type: ignore[arg-type]
    letter = status(c, Status.ESCALATED, t0 + timedelta(hours=3)).model_copy(update={
        "status": None, "actor_id": "binh-duong.to-cong-tac",
        "letter": LetterRef(number="125/TCT-KT", dated=t0.astimezone(TZ).date())})
    await h.on_status([env(status(c, Status.ESCALATED, t0 - timedelta(minutes=5))),
                       env(letter)], None)  # type: ignore[arg-type]
    await _seed(s)


CENTRAL_TITLE = "Kiến nghị gia hạn nộp thuế theo Nghị định 52"
# Why each item waits for the head in week 48, as the documents say it.
WAITING_SAID = {
    "central": "Kiến nghị cần Bộ, ngành Trung ương giải quyết, chờ trả lời",
    # In the same cell; the PDF's reading order may put the due date between them.
    "letter": "(công văn số 125/TCT-KT ngày {date})",
    "rejected": "Từ chối vì không thuộc phạm vi",
    "long_overdue": "Quá hạn trên 5 ngày làm việc",
}


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _expected_text(total: dict[str, int]) -> list[str]:
    """What the document must say for week 48 of 2026 (21/11–27/11) in Bình Dương."""
    return [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
        "ỦY BAN NHÂN DÂN", "TỈNH BÌNH DƯƠNG", "TỔ CÔNG TÁC HỖ TRỢ, THÁO GỠ",
        "Số: 48/BC-TCT", "Thủ Dầu Một, ngày 27 tháng 11 năm 2026", "BÁO CÁO",
        "Tình hình tiếp nhận, xử lý khó khăn, vướng mắc của doanh nghiệp tuần 48",
        "(từ ngày 21/11/2026 đến ngày 27/11/2026)",
        "I. KẾT QUẢ TIẾP NHẬN, XỬ LÝ", "1. Theo loại khu vực", "2. Theo lĩnh vực",
        "3. Theo cơ quan chủ trì xử lý", "II. VIỆC ĐỘT XUẤT (2)",
        "III. KIẾN NGHỊ, ĐỀ XUẤT CỦA DOANH NGHIỆP", "IV. HỒ SƠ CHỜ TỔ TRƯỞNG QUYẾT ĐỊNH (3)",
        "V. TÌNH HÌNH BÁO CÁO CỦA THÀNH VIÊN", CENTRAL_TITLE, "Bộ Tài chính",
        *(w.format(date=f"{(W.start + timedelta(days=2)).astimezone(TZ):%d/%m/%Y}")
          for w in WAITING_SAID.values()),
        f"tiếp nhận mới {total['received']} khó khăn, vướng mắc",
        f"đã giải quyết xong {total['resolved']}, từ chối {total['rejected']}, đang xử lý "
        f"{total['open']} (trong đó quá hạn {total['overdue']})",
        "Ban Quản lý các khu công nghiệp tỉnh Bình Dương", "Khu kinh tế", "Sở Công Thương",
        "Nơi nhận:", "Lưu: VT, TCT.", "TỔ TRƯỞNG", "Mai Hùng Dũng",
        # The league table, frozen at the cutoff, and its trend.
        "4. Kết quả xử lý đúng hạn theo cơ quan", "Mục tiêu: 95% hồ sơ được cơ quan xác nhận",
        "Số liệu chốt lúc 12 giờ 00 ngày 27/11/2026", "Xác nhận đúng hạn",
        "Giải quyết đúng hạn", "100,0% (1/1)",
        "Các cơ quan có hồ sơ đến hạn đều đạt mục tiêu 95%.",
        "5. Tỷ lệ giải quyết đúng hạn các tuần gần đây", "Tuần 48",
    ]


def _flat(text: str) -> str:
    return " ".join(nfc(text).split())


async def test_the_week_as_pdf_docx_xlsx_and_csv(served: Served, artefacts: Path) -> None:
    await _seed_all(served)
    base = "/v1/reports/binh-duong/2026-W48"
    async with httpx.AsyncClient(base_url=served.url, headers=served.auth, timeout=60) as c:
        report = (await c.get(base + ".json")).json()
        answers = {fmt: await c.get(f"{base}.{fmt}") for fmt in ("pdf", "docx", "xlsx")}
        csv_vi = await c.get(base + ".csv", params={"headers": "vi"})
        csv_en = await c.get(base + ".csv")
        bad = await c.get(base + ".csv", params={"headers": "fr"})
        unknown = await c.get("/v1/reports/binh-duong/2031-W10.pdf")
    async with httpx.AsyncClient(base_url=served.url) as anonymous:
        for fmt in ("pdf", "docx", "xlsx"):
            assert (await anonymous.get(f"{base}.{fmt}")).status_code == 401
    assert unknown.status_code == 404
    assert bad.status_code == 422 and "headers" in bad.text
    total = next(r for r in report["rows"] if r["dimension"] == "total")
    # Waiting for the head, oldest first: _seed's item never acknowledged, the
    # recommendation at the ministry (with its letter), the item rejected in the week.
    assert [(w["why"], w["letter_number"]) for w in report["waiting"]] == [
        ("long_overdue", None), ("central", "125/TCT-KT"), ("rejected", None)]
    assert report["decision_overdue_days"] == 5
    assert report["waiting"][1]["title"] == CENTRAL_TITLE
    assert report["waiting"][1]["agency_id"] == "central.bo-tai-chinh"
    # The report page lists them with why, in the reader's language.
    async with httpx.AsyncClient(timeout=60) as c:
        page = (await c.get(report["page_url"])).text
        page_en = (await c.get(report["page_url"] + "&lang=en")).text
    listed = page[page.index('<table id="waiting"'):]
    listed = listed[:listed.index("</table>")]
    assert listed.count("<tr data-why=") == 3
    assert WAITING_SAID["central"] + " — Công văn số 125/TCT-KT" in listed
    assert CENTRAL_TITLE in listed and "Bộ Tài chính" in listed
    assert "Quá hạn trên 5 ngày làm việc" in listed
    assert "Needs central action, the ministry&#39;s answer awaited — Letter no." in page_en
    # The figures add up.
    assert total["rejected"] == 1
    assert total["carried_over"] + total["received"] == (
        total["resolved"] + total["rejected"] + total["open"])
    for fmt, r in answers.items():
        assert r.status_code == 200, (fmt, r.text[:300])
        assert r.headers["x-thaogo-report-state"] == "published"
        assert f'filename="binh-duong-2026-W48.{fmt}"' in r.headers["content-disposition"]
    assert answers["pdf"].headers["content-type"] == "application/pdf"
    expected = _expected_text(total)

    # DOCX: every paragraph, in the body and in the tables.
    d = Document(io.BytesIO(answers["docx"].content))
    parts = [p.text for p in d.paragraphs]
    parts += [p.text for t in d.tables for row in t.rows for cell in row.cells
              for p in cell.paragraphs]
    docx_text = _flat("\n".join(parts))
    for phrase in expected:
        assert _flat(phrase) in docx_text, phrase
    assert d.sections[0].page_width is not None and round(d.sections[0].page_width.mm) == 210
    assert d.styles["Normal"].font.name == "Times New Roman"

    # XLSX: Vietnamese headers and names, never slugs; formula-like text stays text.
    wb = openpyxl.load_workbook(io.BytesIO(answers["xlsx"].content))
    assert wb.sheetnames[:4] == ["Tổng hợp", "Loại khu vực", "Lĩnh vực", "Cơ quan chủ trì xử lý"]
    values = [c.value for ws in wb for row in ws.iter_rows() for c in row if c.value is not None]
    texts = [v for v in values if isinstance(v, str)]
    assert not [v for v in texts if "binh-duong." in v], "an agency slug in the workbook"
    assert "Ban Quản lý các khu công nghiệp tỉnh Bình Dương" in texts
    assert {"Tiếp nhận", "Đã giải quyết", "Từ chối", "Tồn đầu kỳ"} <= set(texts)
    assert not [v for v in texts if v.startswith(("=", "+", "-", "@"))]
    agencies = wb["Cơ quan chủ trì xử lý"]
    header = next(r for r in agencies.iter_rows(values_only=True) if r[0] == "Cơ quan chủ trì")
    assert header[1:4] == ("Tồn đầu kỳ", "Tiếp nhận", "Đã giải quyết")
    summary = {r[0]: r[1] for r in wb["Tổng hợp"].iter_rows(values_only=True) if r[0]}
    assert summary["Tiếp nhận mới trong kỳ"] == total["received"]
    assert summary["Từ chối (không thuộc phạm vi, không đủ điều kiện)"] == total["rejected"]
    # The league table: Vietnamese headers and names, shares as numbers, none faked.
    league = {r["agency_id"]: r for r in report["league"]["rows"]}
    sheet = list(wb["Kết quả theo cơ quan"].iter_rows(values_only=True))
    head = next(i for i, r in enumerate(sheet) if r[0] == "Cơ quan")
    assert sheet[head][1:4] == ("Số hồ sơ đến hạn xác nhận", "Xác nhận đúng hạn",
                                "Tỷ lệ xác nhận đúng hạn (%)")
    by_name = {r[0]: r for r in sheet[head + 1:] if r[0]}
    kcn = by_name["Ban Quản lý các khu công nghiệp tỉnh Bình Dương"]
    mine = league["binh-duong.bql-kcn"]
    assert kcn[1:8] == (mine["ack_measured"], mine["ack_on_time"], mine["ack_on_time_pct"],
                        mine["resolve_measured"], mine["resolved_on_time"],
                        mine["resolved_on_time_pct"], 95)
    assert kcn[10] == mine["median_working_days"] and kcn[11:] == (0, None)  # none rated
    trade = by_name["Sở Công Thương"]  # its only item was rejected in time: nothing due
    assert trade[4:9] == (0, 0, None, 95, "Đạt") and trade[3] == 100
    assert list(wb["Xu hướng theo cơ quan"].iter_rows(values_only=True))[3][0] == "Cơ quan"
    waiting = [r for r in wb["Chờ quyết định"].iter_rows(values_only=True) if r[0]]
    assert waiting[2][:4] == ("Mã hồ sơ", "Nội dung", "Cơ quan đang giữ",
                              "Lý do chờ quyết định")
    assert [r[0] for r in waiting[3:]] == [w["tracking_code"] for w in report["waiting"]]
    assert waiting[4][1:3] == (CENTRAL_TITLE, "Bộ Tài chính")
    assert waiting[4][3] == WAITING_SAID["central"] + " " + WAITING_SAID["letter"].format(
        date=f"{(W.start + timedelta(days=2)).astimezone(TZ):%d/%m/%Y}")
    urgent = {r[0]: r for r in wb["Việc đột xuất"].iter_rows(values_only=True)}
    assert {i["tracking_code"] for i in report["urgent_items"]} <= set(urgent)
    # The business's formula-like title is text, quoted as in the CSV files.
    (typed,) = [r for r in urgent.values() if r[1] and "HYPERLINK" in str(r[1])]
    assert typed[1] == "'" + FORMULA and typed[2] == "Sở Công Thương"
    assert typed[3] == "Từ chối"
    cell = next(c for row in wb["Việc đột xuất"].iter_rows() for c in row
                if c.value == "'" + FORMULA)
    assert cell.data_type == "s"

    # CSV: the machine file as before (new columns at the end); the people's file.
    assert csv_en.text.splitlines()[0] == ("dimension,value,received,resolved,open,overdue,"
                                           "escalated_central,median_resolution_hours,"
                                           "p90_resolution_hours,rejected,carried_over")
    assert csv_vi.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(csv_vi.text.lstrip("\ufeff"))))
    assert rows[0][:4] == ["Nhóm", "Tên", "Tiếp nhận", "Đã giải quyết"]
    assert ["Cơ quan chủ trì", "Sở Công Thương"] in [r[:2] for r in rows]
    assert not [r for r in rows if any("binh-duong." in cell for cell in r)]

    # PDF: text and pages through poppler, as a reader's machine would show them.
    pdf = artefacts / "binh-duong-2026-W48.pdf"
    if not (shutil.which("pdftotext") and shutil.which("pdftoppm") and shutil.which("pdffonts")):
        pytest.skip("poppler-utils is not installed (Debian: apt-get install poppler-utils; "
                    "scripts/test installs it): the PDF was not read back")
    read, laid, fonts, pages = await asyncio.to_thread(_read_pdf, answers["pdf"].content, pdf)
    # In reading order (a name wrapped in a table cell comes out whole), or as laid out
    # (the two header columns side by side).
    for phrase in expected:
        assert _flat(phrase) in read or _flat(phrase) in laid, phrase
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in laid.split("Độc lập")[0]
    # Every font embedded (subset): it prints the same on a machine without them.
    assert fonts and all("LiberationSerif" in f and " yes " in f for f in fonts), fonts
    assert pages and all(p.stat().st_size > 5000 for p in pages)
    print(f"PDF pages: {[str(p) for p in pages]}")


def _read_pdf(content: bytes, pdf: Path) -> tuple[str, str, list[str], list[Path]]:
    """(text in reading order, text as laid out, pdffonts' rows, page images)."""
    pdf.write_bytes(content)

    def run(*args: str) -> str:
        return subprocess.run(args, check=True, capture_output=True, text=True).stdout

    read, laid = _flat(run("pdftotext", str(pdf), "-")), _flat(
        run("pdftotext", "-layout", str(pdf), "-"))
    fonts = run("pdffonts", str(pdf)).splitlines()[2:]
    run("pdftoppm", "-r", "70", "-png", str(pdf), str(pdf.with_name("pdf-page")))
    return read, laid, fonts, sorted(pdf.parent.glob("pdf-page-*.png"))


@pytest.mark.browser
async def test_report_page_at_desktop_and_phone_width(served: Served, artefacts: Path) -> None:
    from playwright.async_api import async_playwright

    await _seed_all(served)
    async with httpx.AsyncClient(base_url=served.url, headers=served.auth) as c:
        report = (await c.get("/v1/reports/binh-duong/2026-W48.json")).json()
    total = next(r for r in report["rows"] if r["dimension"] == "total")
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"])
        try:
            for name, width in (("desktop", 1280), ("phone", 390)):
                page = await browser.new_page(viewport={"width": width, "height": 844})
                errors: list[str] = []
                page.on("console", lambda m, errors=errors: errors.append(m.text)
                        if "Content Security Policy" in m.text else None)
                await page.goto(report["page_url"])
                h1 = await page.locator("h1").inner_text()
                assert h1 == "Báo cáo tuần 48 · 21/11–27/11/2026 — Bình Dương"
                # The headline adds up, and says so.
                metric = {m: int(await page.locator(f'[data-metric="{m}"]').inner_text())
                          for m in ("carried_over", "received", "resolved", "rejected", "open")}
                assert metric == {m: total[m] for m in metric}
                assert metric["carried_over"] + metric["received"] == (
                    metric["resolved"] + metric["rejected"] + metric["open"])
                balance = await page.locator("#balance").inner_text()
                assert balance.endswith(f"{metric['carried_over']} + {metric['received']} = "
                                        f"{metric['resolved']} + {metric['rejected']} + "
                                        f"{metric['open']}")
                # Agency names in full, inside the chart; each chart within the page.
                agency_chart = page.locator("svg.chart").nth(2)
                labels = " ".join(await agency_chart.locator('text[font-size="15"]')
                                  .all_text_contents())
                assert "Ban Quản lý các khu công nghiệp tỉnh Bình Dương" in labels
                for box in [await s.bounding_box() for s in await page.locator(
                        "svg.chart").all()]:
                    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
                scroll = await page.evaluate("document.documentElement.scrollWidth")
                assert scroll <= width, f"{name}: the page scrolls sideways ({scroll} px)"
                assert not errors, errors
                # The league table: each agency as the JSON has it, named, beside the target.
                for a in report["league"]["rows"]:
                    row = page.locator(f'#league tr[data-agency="{a["agency_id"]}"]')
                    assert await row.count() == 1
                    ack = await row.locator('[data-share="ack"]').inner_text()
                    if a["ack_on_time_pct"] is None:
                        # Nothing of its was due in the week (the ministry holding the
                        # recommendation that waits for central action): said, not 0%.
                        assert "không có hồ sơ đến hạn" in ack, ack
                    else:
                        assert ack.startswith(f'{a["ack_on_time_pct"]:.1f}%'.replace(".", ","))
                        assert "Đạt" in ack
                    assert await row.locator("svg.spark").count() == 1
                    box = await row.bounding_box()
                    assert box is not None and box["x"] + box["width"] <= width
                assert "Ban Quản lý các khu công nghiệp tỉnh Bình Dương" in (
                    await page.locator("#league").inner_text())
                assert "không có hồ sơ đến hạn" in await page.locator(
                    '#league tr[data-agency="binh-duong.so-cong-thuong"]').inner_text()
                # The item tables (waiting for a decision among them) are read whole: on
                # a phone each row is a card whose cells name their column, never a table
                # clipped inside a sideways-scrolling region.
                assert await page.locator("#waiting tbody tr").count() == len(
                    report["waiting"]) > 0
                for table in await page.locator("table.cards").all():
                    box = await table.bounding_box()
                    assert box is not None and box["x"] + box["width"] <= width, (
                        name, await table.get_attribute("id"), box)
                if width == 390:
                    first = page.locator("#waiting tbody tr").first
                    assert await first.locator('td[data-label="Lý do"]').count() == 1
                    why = await first.locator('td[data-label="Lý do"]').evaluate(
                        "e => getComputedStyle(e, '::before').content")
                    assert "Lý do" in why, why
                links = {await a.inner_text(): await a.get_attribute("href")
                         for a in await page.locator("#downloads a").all()}
                assert links["PDF"] == "/v1/reports/binh-duong/2026-W48.pdf"
                assert links["XLSX"] == "/v1/reports/binh-duong/2026-W48.xlsx"
                shot = artefacts / f"report-{name}.png"
                await page.screenshot(path=str(shot), full_page=True)
                print(f"screenshot: {shot}")
                await page.close()
            # Printed: no navigation, the charts and tables kept.
            page = await browser.new_page(viewport={"width": 800, "height": 1100})
            await page.emulate_media(media="print")
            await page.goto(report["page_url"])
            assert not await page.locator("nav").is_visible()
            assert not await page.locator("#downloads").is_visible()
            assert await page.locator("svg.chart").first.is_visible()
            await page.screenshot(path=str(artefacts / "report-print.png"), full_page=True)
            await page.pdf(path=str(artefacts / "report-print.pdf"), format="A4")
            await page.close()
            # axe-core, injected past the policy (the page itself runs no script).
            if not AXE.is_file():
                pytest.skip(f"axe-core is not installed at {AXE} (scripts/test installs it "
                            "with npm): the layout was checked, accessibility was not")
            for width in (1280, 390):
                ctx = await browser.new_context(bypass_csp=True,
                                                viewport={"width": width, "height": 844})
                page = await ctx.new_page()
                await page.goto(report["page_url"])
                await page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
                result = await page.evaluate(
                    "axe.run(document, {runOnly: {type: 'tag', values: "
                    "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})")
                serious = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
                           for v in result["violations"]
                           if v["impact"] in ("serious", "critical")]
                assert not serious, json.dumps(serious, ensure_ascii=False, indent=1)
                await ctx.close()
        finally:
            await browser.close()
