"""The weekly report as a workbook people open in Excel or LibreOffice: the figures, each
breakdown and each list of items on its own sheet, with Vietnamese headers and the names
(of agencies, zone types, categories, members) from the configuration, never slugs.

Every text cell goes through `shared.exports.spreadsheet_safe`, the rule the CSV files
follow: text a business typed that looks like a formula is stored with a leading quote,
never as a formula.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from services.reporting import document, logic
from services.reporting.document import BREAKDOWN_COLUMNS_VI, DIMENSIONS_VI
from shared.calendar import TZ
from shared.events import (
    DIRECTION_STATE_LABELS,
    STATUS_LABELS,
    BreakdownRow,
    ReportItem,
    WeeklyReport,
)
from shared.exports import spreadsheet_safe
from shared.provinces import ProvinceConfig

HEAD_FONT = Font(bold=True)
HEAD_FILL = PatternFill("solid", fgColor="E8EEF4")
ITEM_HEADERS = ("Mã hồ sơ", "Nội dung", "Cơ quan chủ trì", "Trạng thái", "Ngày tiếp nhận",
                "Mã định danh")


def _put(ws: Worksheet, row: int, col: int, value: object, *, bold: bool = False) -> None:
    cell = ws.cell(row=row, column=col, value=spreadsheet_safe(value))
    if bold:
        cell.font = HEAD_FONT


def _table(ws: Worksheet, top: int, headers: Sequence[str], rows: Sequence[Sequence[object]],
           widths: Sequence[int], *, total_last: bool = False) -> None:
    for c, h in enumerate(headers, 1):
        _put(ws, top, c, h, bold=True)
        cell = ws.cell(row=top, column=c)
        cell.fill = HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for r, values in enumerate(rows, top + 1):
        last = total_last and r == top + len(rows)
        for c, v in enumerate(values, 1):
            _put(ws, r, c, v, bold=last)
    for c, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(c)].width = w
    ws.freeze_panes = ws.cell(row=top + 1, column=1)
    if rows:
        ws.auto_filter.ref = f"A{top}:{get_column_letter(len(headers))}{top + len(rows)}"


def _title(ws: Worksheet, lines: Sequence[str]) -> int:
    for i, line in enumerate(lines, 1):
        _put(ws, i, 1, line, bold=i == 1)
    return len(lines) + 2


def _hours(x: float | None) -> float | str:
    return "" if x is None else x


def _breakdown(cfg: ProvinceConfig, rows: list[BreakdownRow], dim: str) -> list[list[object]]:
    out: list[list[object]] = [
        [document.name_of(cfg, dim, r.value), *document.breakdown_values(r),
         _hours(r.median_resolution_hours), _hours(r.p90_resolution_hours)]
        for r in rows if r.dimension == dim]
    out.sort(key=lambda row: (-int(str(row[2])), str(row[0])))
    return out


def _items(cfg: ProvinceConfig, items: list[ReportItem]) -> list[list[object]]:
    return [[i.tracking_code, i.title,
             document.name_of(cfg, "agency", i.agency_id) if i.agency_id
             else document.UNKNOWN_VI,
             STATUS_LABELS[i.status][0],
             _local(i.received_at), str(i.difficulty_id)]
            for i in items]


LEAGUE_HEADERS = ("Cơ quan", "Số hồ sơ đến hạn xác nhận", "Xác nhận đúng hạn",
                  "Tỷ lệ xác nhận đúng hạn (%)", "Số hồ sơ đến hạn giải quyết",
                  "Giải quyết đúng hạn", "Tỷ lệ giải quyết đúng hạn (%)", "Mục tiêu (%)",
                  "Đạt mục tiêu", "Đã giải quyết trong tuần",
                  "Trung vị thời gian giải quyết (ngày làm việc)", "Số lượt đánh giá",
                  "Đánh giá bình quân (1-5)")


def _meets(pcts: Sequence[float | None], target: float) -> str:
    measured = [p for p in pcts if p is not None]
    if not measured:
        return "Không có hồ sơ đến hạn"
    return "Đạt" if all(p >= target for p in measured) else "Chưa đạt"


def _league_sheet(wb: Workbook, cfg: ProvinceConfig, report: WeeklyReport,
                  trend: document.Trend | None, title: str) -> None:
    league = report.league
    assert league is not None
    ws = wb.create_sheet("Kết quả theo cơ quan")
    top = _title(ws, ["Kết quả xử lý đúng hạn theo cơ quan (chốt tại thời điểm khóa sổ tuần)",
                      title])
    # Numbers stay numbers (sortable); nothing measured stays an empty cell, never 0.
    rows = [[document.name_of(cfg, "agency", r.agency_id), r.ack_measured, r.ack_on_time,
             _hours(r.ack_on_time_pct), r.resolve_measured, r.resolved_on_time,
             _hours(r.resolved_on_time_pct), league.target_pct,
             _meets((r.ack_on_time_pct, r.resolved_on_time_pct), league.target_pct),
             r.resolved, _hours(r.median_working_days), r.rated, _hours(r.rating_average)]
            for r in league.rows]
    _table(ws, top, LEAGUE_HEADERS, rows, (46, *(14,) * (len(LEAGUE_HEADERS) - 1)))
    if trend is None or not trend[1]:
        return
    labels, series = trend
    ws = wb.create_sheet("Xu hướng theo cơ quan")
    top = _title(ws, ["Tỷ lệ giải quyết đúng hạn (%) các tuần gần đây", title])
    _table(ws, top, ("Cơ quan", *(document.week_phrase(w, "vi") for w in labels)),
           [[document.name_of(cfg, "agency", a), *(_hours(v) for v in values)]
            for a, values in series], (46, *(16,) * len(labels)))


MEMBER_HEADERS = ("Thành viên", "Chức vụ", "Tình hình", "Gửi lúc", "Đột xuất",
                  *(h.split(". ", 1)[1] for _, h, _ in logic.HEADINGS))
WAITING_HEADERS = ("Mã hồ sơ", "Nội dung", "Cơ quan đang giữ", "Lý do chờ quyết định",
                   "Hạn giải quyết", "Ngày tiếp nhận", "Mã định danh")
DIRECTION_HEADERS = ("Nội dung chỉ đạo", "Đơn vị, người thực hiện", "Thời hạn", "Tiến độ",
                     "Ghi chú", "Cập nhật lúc", "Ngày chỉ đạo")


def _local(t: datetime | None) -> datetime | None:
    """A date cell (sortable), in local time: spreadsheets hold no time zones."""
    return None if t is None else t.astimezone(TZ).replace(tzinfo=None)


def _dated(ws: Worksheet, top: int, n: int, columns: Sequence[int], fmt: str) -> None:
    for r in range(top + 1, top + 1 + n):
        for c in columns:
            ws.cell(row=r, column=c).number_format = fmt


def _compiled_week_sheets(wb: Workbook, cfg: ProvinceConfig, report: WeeklyReport,
                          title: str) -> None:
    """What the page and the document have of the compiled week beyond the figures: the
    members' own words under the three headings (late ones marked, who did not report),
    the items waiting for the head's decision, the permanent deputy's text and the head's
    directions with their progress."""
    ws = wb.create_sheet("Thành viên")
    top = _title(ws, ["Báo cáo của thành viên Tổ công tác", title])
    said = {r.member_id: r for r in report.member_reports}
    rows: list[list[object]] = []
    for pid in [*report.members_reported, *report.members_missing]:
        p, r = cfg.person(pid), said.get(pid)
        state = ("Chưa báo cáo" if pid in report.members_missing
                 else "Trễ hạn" if r is not None and r.late else "Đúng hạn")
        rows.append([p.name if p else pid, p.title if p else "", state,
                     _local(r.submitted_at) if r else None,
                     "Có" if r is not None and r.urgent else "",
                     *((getattr(r, key) if r else "") for key, _, _ in logic.HEADINGS)])
    _table(ws, top, MEMBER_HEADERS, rows, (28, 40, 14, 18, 10, 50, 50, 50))
    _dated(ws, top, len(rows), (4,), "dd/mm/yyyy hh:mm")

    ws = wb.create_sheet("Chờ quyết định")
    top = _title(ws, ["Hồ sơ chờ Tổ trưởng quyết định", title])
    _table(ws, top, WAITING_HEADERS, [
        [i.tracking_code, i.title,
         document.name_of(cfg, "agency", i.agency_id) if i.agency_id else document.UNKNOWN_VI,
         document.waiting_reason_vi(i, report.decision_overdue_days),
         _local(i.resolve_due_at), _local(i.received_at), str(i.difficulty_id)]
        for i in report.waiting], (16, 56, 36, 44, 18, 18, 38))
    _dated(ws, top, len(report.waiting), (5, 6), "dd/mm/yyyy hh:mm")

    ws = wb.create_sheet("Tổng hợp của Tổ phó")
    top = _title(ws, ["Tổng hợp của Tổ phó Thường trực trình Tổ trưởng", title])
    # One wrapped cell, as written: its "- " lines split into cells would each be quoted
    # as formula-like text.
    _table(ws, top, ("Nội dung",), [[report.compiled_text or
                                     "Chưa trình Tổ trưởng trước thời điểm khóa sổ"]], (120,))
    ws.cell(row=top + 1, column=1).alignment = Alignment(wrap_text=True, vertical="top")

    ws = wb.create_sheet("Chỉ đạo")
    top = _title(ws, ["Ý kiến chỉ đạo của Tổ trưởng và tiến độ thực hiện", title])
    _table(ws, top, DIRECTION_HEADERS, [
        [d.body, document.acting_of(cfg, d.assignee_id), d.due_on,
         DIRECTION_STATE_LABELS[d.state][0], d.note, _local(d.state_at), _local(d.given_at)]
        for d in report.directions], (56, 36, 14, 18, 40, 18, 18))
    _dated(ws, top, len(report.directions), (3,), "dd/mm/yyyy")
    _dated(ws, top, len(report.directions), (6, 7), "dd/mm/yyyy hh:mm")


def workbook(cfg: ProvinceConfig, report: WeeklyReport,
             trend: document.Trend | None = None) -> bytes:
    wb = Workbook()
    heading = ("Báo cáo tổng kết nhiệm vụ" if report.final
               else f"Báo cáo {document.week_phrase(report.week_label, 'vi')}")
    lines = [heading, cfg.task_force.name_vi, cfg.province.name_vi]
    total = logic.total_row(report.rows)
    ws = wb.active
    assert ws is not None  # a new workbook has its first sheet
    ws.title = "Tổng hợp"
    top = _title(ws, lines)
    if total is not None:
        t = document.figures_table(total)
        _table(ws, top, t.columns, [list(r) for r in t.rows], (52, 14))
    extra = ("Trung vị (giờ)", "P90 (giờ)")
    for dim, sheet, col in DIMENSIONS_VI:
        ws = wb.create_sheet(sheet.removeprefix("Theo ").capitalize()[:31])
        top = _title(ws, [sheet, *lines[:1]])
        rows = _breakdown(cfg, report.rows, dim)
        if total is not None:
            rows.append(["Tổng cộng", *document.breakdown_values(total),
                         _hours(total.median_resolution_hours),
                         _hours(total.p90_resolution_hours)])
        _table(ws, top, (col, *BREAKDOWN_COLUMNS_VI, *extra), rows,
               (48, *(12,) * (len(BREAKDOWN_COLUMNS_VI) + len(extra))), total_last=True)
    if report.league is not None:
        _league_sheet(wb, cfg, report, trend, lines[0])
    lists = ((("Hồ sơ bàn giao", report.handed_over), ("Chuyển Trung ương", report.central_items))
             if report.final else
             (("Việc đột xuất", report.urgent_items), ("Kiến nghị", report.recommendations)))
    for name, items in lists:
        ws = wb.create_sheet(name)
        top = _title(ws, [name, *lines[:1]])
        _table(ws, top, ITEM_HEADERS, _items(cfg, items), (16, 60, 40, 18, 18, 38))
        for r in range(top + 1, top + 1 + len(items)):
            ws.cell(row=r, column=5).number_format = "dd/mm/yyyy hh:mm"
    if not report.final:
        _compiled_week_sheets(wb, cfg, report, lines[0])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def queue_workbook(title: Sequence[str], headers: Sequence[str],
                   rows: Sequence[Sequence[object]]) -> bytes:
    """An agency's queue as a workbook: its title (who, which filters), then the rows.

    Written in openpyxl's write-only mode, row by row, since it holds up to EXPORT_MAX
    (10,000) rows: the same cells, fonts, fills, widths, frozen header and filter as
    `_table` makes, in about a third of the time (README, #21 item 7)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Hồ sơ")
    widths = (16, 48, 30, 28, 18, 22, 18, 18, 10, 36)
    for c, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(c)].width = w
    top = len(title) + 2
    ws.freeze_panes = f"A{top + 1}"
    if rows:
        ws.auto_filter.ref = f"A{top}:{get_column_letter(len(headers))}{top + len(rows)}"

    def cell(value: object, *, bold: bool = False) -> WriteOnlyCell:
        c = WriteOnlyCell(ws, value=spreadsheet_safe(value))
        if bold:
            c.font = HEAD_FONT
        return c

    for i, line in enumerate(title, 1):
        ws.append([cell(line, bold=i == 1)])
    ws.append([])
    head = []
    for h in headers:
        c = cell(h, bold=True)
        c.fill = HEAD_FILL
        c.alignment = Alignment(wrap_text=True, vertical="center")
        head.append(c)
    ws.append(head)
    for values in rows:
        ws.append([spreadsheet_safe(v) for v in values])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
