"""The weekly report as an official document, in the form of Decree 30/2020/NĐ-CP.

`official_report` turns a report (the event's data) and its task force's configuration
into the document model (`model`): the header (issuing body, number and symbol, place
and date), the title, numbered sections of paragraphs, tables and lists, the recipients
and the signature. The renderers only lay that model out, so a new part of the report
(members' own texts, the head's directions, an agency league table) is one more
`Section` here and appears in every format.

Pure: no I/O, no clock; dates come from the report.
"""

from __future__ import annotations

from datetime import datetime

from services.reporting import logic
from services.reporting.document.model import (
    Block,
    Bullets,
    Cell,
    OfficialReport,
    Paragraph,
    Section,
    Table,
)
from services.reporting.document.words import (
    UNKNOWN_VI,
    acting_of,
    decimal_vi,
    decree_date,
    local_date,
    name_of,
    nfc,
    person_of,
    share_vi,
    week_days,
    week_number,
)
from shared.calendar import TZ
from shared.events import (
    DIRECTION_STATE_LABELS,
    STATUS_LABELS,
    WAITING_REASON_LABELS,
    BreakdownRow,
    League,
    ReportItem,
    WaitingItem,
    WaitingReason,
    WeeklyReport,
)
from shared.provinces import ProvinceConfig

BREAKDOWN_COLUMNS_VI = ("Tồn đầu kỳ", "Tiếp nhận", "Đã giải quyết", "Từ chối", "Đang xử lý",
                        "Quá hạn", "Chuyển Trung ương")
ITEM_COLUMNS_VI = ("Mã hồ sơ", "Nội dung", "Cơ quan chủ trì", "Trạng thái", "Ngày tiếp nhận")
DIMENSIONS_VI = (("zone_type", "Theo loại khu vực", "Loại khu vực"),
                 ("category", "Theo lĩnh vực", "Lĩnh vực"),
                 ("agency", "Theo cơ quan chủ trì xử lý", "Cơ quan chủ trì"))
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


def breakdown_values(r: BreakdownRow) -> tuple[int, ...]:
    return (r.carried_over, r.received, r.resolved, r.rejected, r.open, r.overdue,
            r.escalated_central)


def _hours(x: float | None) -> str:
    return "–" if x is None else decimal_vi(x)


LEAGUE_COLUMNS_VI = ("Cơ quan", "Xác nhận đúng hạn", "Giải quyết đúng hạn",
                     "Trung vị thời gian giải quyết (ngày làm việc)", "Đánh giá bình quân",
                     "Số lượt đánh giá")
Trend = tuple[list[str], list[tuple[str, list[float | None]]]]  # (week labels, per agency)
TREND_WEEKS_IN_DOCUMENT = 4  # what fits across A4 portrait beside the agency's name


def league_blocks(cfg: ProvinceConfig, league: League, *, frozen_at: datetime | None,
                  trend: Trend | None) -> list[Section]:
    """The league table, who is below the target, and the trend, as sections of level 2."""
    target = decimal_vi(league.target_pct, 0 if league.target_pct.is_integer() else 1)
    when = (f"chốt lúc {frozen_at.astimezone(TZ):%H} giờ {frozen_at.astimezone(TZ):%M} ngày "
            f"{frozen_at.astimezone(TZ):%d/%m/%Y}" if frozen_at else "tạm tính đến thời điểm xem")
    intro = Paragraph(
        f"Mục tiêu: {target}% hồ sơ được cơ quan xác nhận tiếp nhận và giải quyết đúng hạn. "
        f"Số liệu {when}. Một thời hạn được tính vào tuần có kết quả: tuần hồ sơ được xác "
        "nhận hoặc giải quyết đúng hạn, hoặc tuần thời hạn đã qua mà chưa xong; thời gian "
        "giải quyết tính theo ngày làm việc (không kể ngày nghỉ, ngày lễ).")
    if not league.rows:
        return [Section("Kết quả xử lý đúng hạn theo cơ quan",
                        (intro, Paragraph("Trong tuần không có cơ quan nào xử lý hồ sơ.")), 2)]
    rows = tuple(
        (nfc(name_of(cfg, "agency", r.agency_id)),
         share_vi(r.ack_on_time, r.ack_measured, r.ack_on_time_pct),
         share_vi(r.resolved_on_time, r.resolve_measured, r.resolved_on_time_pct),
         "–" if r.median_working_days is None else decimal_vi(r.median_working_days),
         "–" if r.rating_average is None else decimal_vi(r.rating_average), r.rated)
        for r in league.rows)
    blocks: list[Block] = [intro, Table(columns=LEAGUE_COLUMNS_VI, rows=rows,
                                        widths=(3.0, 1.5, 1.5, 1.4, 1.1, 1.0))]
    below = [f"{nfc(name_of(cfg, 'agency', r.agency_id))}: {what} "
             f"{decimal_vi(pct)}%"
             for r in league.rows
             for what, pct in (("xác nhận đúng hạn", r.ack_on_time_pct),
                               ("giải quyết đúng hạn", r.resolved_on_time_pct))
             if pct is not None and pct < league.target_pct]
    blocks += ([Paragraph(f"Cơ quan chưa đạt mục tiêu {target}%:"), Bullets(tuple(below))]
               if below else [Paragraph(f"Các cơ quan có hồ sơ đến hạn đều đạt mục tiêu "
                                        f"{target}%.")])
    out = [Section("Kết quả xử lý đúng hạn theo cơ quan", tuple(blocks), 2)]
    if trend is not None and trend[1]:
        labels, series = trend
        recent = slice(-TREND_WEEKS_IN_DOCUMENT, None)
        out.append(Section(
            "Tỷ lệ giải quyết đúng hạn các tuần gần đây",
            (Table(columns=("Cơ quan", *(f"Tuần {week_number(w)}" for w in labels[recent])),
                   rows=tuple((nfc(name_of(cfg, "agency", a)),
                               *("–" if v is None else f"{decimal_vi(v)}%"
                                 for v in values[recent]))
                              for a, values in series),
                   widths=(3.0, *(1.0,) * len(labels[recent]))),), 2))
    return out


def figures_table(total: BreakdownRow) -> Table:
    rows: tuple[tuple[Cell, ...], ...] = (
        ("Tồn từ kỳ trước chuyển sang", total.carried_over),
        ("Tiếp nhận mới trong kỳ", total.received),
        ("Tổng số phải xử lý", total.carried_over + total.received),
        ("Đã giải quyết xong", total.resolved),
        ("  Trong đó: giải quyết một phần", total.partly_resolved),
        ("Từ chối (không thuộc phạm vi, không đủ điều kiện)", total.rejected),
        ("Đang xử lý cuối kỳ", total.open),
        ("  Trong đó: quá hạn", total.overdue),
        ("Vượt thẩm quyền tỉnh, đã kiến nghị cấp trên", total.escalated),
        ("Chuyển cơ quan Trung ương trong kỳ", total.escalated_central),
        ("Thời gian giải quyết, trung vị (giờ)", _hours(total.median_resolution_hours)),
        ("Thời gian giải quyết, 90% hồ sơ trong (giờ)", _hours(total.p90_resolution_hours)),
    )
    return Table(columns=("Chỉ tiêu", "Số lượng"), rows=rows, widths=(4.0, 1.2))


def breakdown_table(cfg: ProvinceConfig, rows: list[BreakdownRow], dimension: str,
                    first_column: str, total: BreakdownRow) -> Table:
    picked = sorted((r for r in rows if r.dimension == dimension),  # most received first
                    key=lambda r: (-r.received, name_of(cfg, dimension, r.value)))
    body: list[tuple[Cell, ...]] = [(nfc(name_of(cfg, dimension, r.value)),
                                     *breakdown_values(r)) for r in picked]
    return Table(columns=(first_column, *BREAKDOWN_COLUMNS_VI),
                 rows=(*body, ("Tổng cộng", *breakdown_values(total))),
                 widths=(3.2, *(1.0,) * len(BREAKDOWN_COLUMNS_VI)), total_last=True)


def items_blocks(cfg: ProvinceConfig, items: list[ReportItem]) -> tuple[Block, ...]:
    if not items:
        return (Paragraph("Không có."),)
    rows = tuple(
        (i.tracking_code, nfc(i.title),
         nfc(name_of(cfg, "agency", i.agency_id)) if i.agency_id else UNKNOWN_VI,
         STATUS_LABELS[i.status][0], f"{i.received_at.astimezone(TZ):%d/%m/%Y}")
        for i in items)
    return (Table(columns=ITEM_COLUMNS_VI, rows=rows, widths=(2.2, 3.4, 2.2, 1.4, 1.3),
                  numeric_from=len(ITEM_COLUMNS_VI)),)


WAITING_COLUMNS_VI = ("Mã hồ sơ", "Nội dung", "Cơ quan đang giữ", "Lý do chờ quyết định",
                      "Hạn giải quyết")


def waiting_reason_vi(item: WaitingItem, days: int | None) -> str:
    """Why an item waits for the head, in the report's words; an item at a central
    ministry names the province's letter to it once registered."""
    said = WAITING_REASON_LABELS[item.why][0].replace("{n}", str(days) if days else "nhiều")
    if item.why is WaitingReason.CENTRAL:
        said += (f" (công văn số {nfc(item.letter_number)}"
                 + (f" ngày {item.letter_date:%d/%m/%Y})" if item.letter_date else ")")
                 if item.letter_number else " (chưa ghi số công văn)")
    return said


def waiting_blocks(cfg: ProvinceConfig, report: WeeklyReport) -> tuple[Block, ...]:
    """The items waiting for the head's decision, with why each waits."""
    if not report.waiting:
        return (Paragraph("Không có."),)
    rows = tuple(
        (i.tracking_code, nfc(i.title),
         nfc(name_of(cfg, "agency", i.agency_id)) if i.agency_id else UNKNOWN_VI,
         waiting_reason_vi(i, report.decision_overdue_days),
         f"{i.resolve_due_at.astimezone(TZ):%d/%m/%Y}" if i.resolve_due_at else "")
        for i in report.waiting)
    return (Table(columns=WAITING_COLUMNS_VI, rows=rows, widths=(2.1, 3.0, 2.1, 2.6, 1.4),
                  numeric_from=len(WAITING_COLUMNS_VI)),)


DIRECTION_COLUMNS_VI = ("Nội dung chỉ đạo", "Đơn vị, người thực hiện", "Thời hạn",
                        "Tiến độ")


def member_sections(cfg: ProvinceConfig, report: WeeklyReport) -> list[Section]:
    """The members' own words under the three headings, late ones marked."""
    if not report.member_reports:
        return []
    out = []
    for key, heading, _ in logic.HEADINGS:
        said = tuple(
            f"{nfc(person_of(cfg, r.member_id))}{' (trễ hạn)' if r.late else ''}: "
            # The list puts its own punctuation after each item.
            f"{nfc(' '.join(getattr(r, key).split())).rstrip(' .;')}"
            for r in report.member_reports if getattr(r, key).strip())
        out.append(Section(heading.split(". ", 1)[1],
                           (Bullets(said),) if said else (Paragraph("Không có."),), 2))
    return out


def directions_blocks(cfg: ProvinceConfig, report: WeeklyReport) -> tuple[Block, ...]:
    """The head's tracked directions with where each stood at the cutoff."""
    if not report.directions:
        return (Paragraph("Không có."),)
    rows = tuple(
        (nfc(d.body), nfc(acting_of(cfg, d.assignee_id)),
         f"{d.due_on:%d/%m/%Y}" if d.due_on else "",
         DIRECTION_STATE_LABELS[d.state][0] + (f" — {nfc(d.note)}" if d.note else ""))
        for d in report.directions)
    return (Table(columns=DIRECTION_COLUMNS_VI, rows=rows, widths=(3.6, 2.4, 1.3, 2.6),
                  numeric_from=len(DIRECTION_COLUMNS_VI)),)


def _numbered(sections: list[tuple[str, tuple[Block, ...], list[Section]]]) -> tuple[Section, ...]:
    out: list[Section] = []
    for i, (heading, blocks, subs) in enumerate(sections):
        out.append(Section(f"{ROMAN[i]}. {heading.upper()}", blocks))
        out += [Section(f"{j}. {s.heading}", s.blocks, level=2) for j, s in enumerate(subs, 1)]
    return tuple(out)


def official_report(cfg: ProvinceConfig, report: WeeklyReport, *,
                    published: bool, trend: Trend | None = None) -> OfficialReport:
    """The document of a weekly report, or of the final report of a dissolved task force;
    `trend`: the agencies' resolved-on-time shares in the weeks before (usecases)."""
    tf, doc = cfg.task_force, cfg.task_force.document
    total = logic.total_row(report.rows) or BreakdownRow(
        dimension="total", value="all", received=0, resolved=0, open=0, overdue=0,
        escalated_central=0, median_resolution_hours=None, p90_resolution_hours=None)
    start, end = report.window_start.astimezone(TZ), report.window_end.astimezone(TZ)
    if report.final:
        signed_on = local_date(report.generated_at)
        number = f"Số:       /{doc.symbol}"  # filled in by the clerk who registers it
        title = (f"Tổng kết hoạt động của Tổ công tác (từ ngày {start:%d/%m/%Y} đến ngày "
                 f"{local_date(report.window_end):%d/%m/%Y})")
        period = "Trong toàn bộ thời gian hoạt động của Tổ công tác"
    else:
        signed_on = local_date(report.window_end)
        first, last = week_days(report)
        n = week_number(report.week_label)
        number = f"Số: {n}/{doc.symbol}"
        title = (f"Tình hình tiếp nhận, xử lý khó khăn, vướng mắc của doanh nghiệp tuần {n} "
                 f"(từ ngày {first:%d/%m/%Y} đến ngày {last:%d/%m/%Y})")
        period = (f"Trong tuần (từ {start:%H} giờ {start:%M} ngày {start:%d/%m/%Y} đến "
                  f"{end:%H} giờ {end:%M} ngày {end:%d/%m/%Y})")
    summary = (
        f"{period}, Tổ công tác tiếp nhận mới {total.received} khó khăn, vướng mắc của doanh "
        f"nghiệp; cùng {total.carried_over} hồ sơ chưa xử lý xong từ kỳ trước, tổng số phải xử "
        f"lý là {total.carried_over + total.received}. Kết quả: đã giải quyết xong "
        f"{total.resolved}, từ chối {total.rejected}, đang xử lý {total.open} (trong đó quá hạn "
        f"{total.overdue}); chuyển cơ quan Trung ương {total.escalated_central}.")
    subs = [Section(sub, (breakdown_table(cfg, report.rows, dim, col, total),), level=2)
            for dim, sub, col in DIMENSIONS_VI]
    if report.league is not None:
        subs += league_blocks(cfg, report.league, trend=trend,
                              frozen_at=report.window_end if published else None)
    parts: list[tuple[str, tuple[Block, ...], list[Section]]] = [
        ("Kết quả tiếp nhận, xử lý", (Paragraph(summary), figures_table(total)), subs)]
    if report.final:
        parts += [
            (f"Hồ sơ còn mở bàn giao ({len(report.handed_over)})",
             (Paragraph("Các hồ sơ chưa xử lý xong được bàn giao cho cơ quan đang chủ trì xử "
                        "lý để tiếp tục giải quyết theo thẩm quyền."),
              *items_blocks(cfg, report.handed_over)), []),
            (f"Hồ sơ chuyển cơ quan Trung ương ({len(report.central_items)})",
             items_blocks(cfg, report.central_items), []),
        ]
        closing = "Trên đây là báo cáo tổng kết hoạt động của Tổ công tác./."
    else:
        members = len(report.members_reported) + len(report.members_missing)
        reporting: list[Block] = [Paragraph(
            f"Số thành viên đã gửi báo cáo tuần: {len(report.members_reported)}/{members}.")]
        if report.members_reported:
            reporting += [Paragraph("Đã báo cáo:"), Bullets(tuple(
                nfc(person_of(cfg, m)) for m in report.members_reported))]
        reporting += [Paragraph("Chưa báo cáo:" if report.members_missing
                                else "Chưa báo cáo: không có.")]
        if report.members_missing:
            reporting += [Bullets(tuple(nfc(person_of(cfg, m)) for m in report.members_missing))]
        compiled = tuple(Paragraph(nfc(line)) for line in
                         (report.compiled_text or "").splitlines() if line.strip())
        parts += [
            *([("Tổng hợp của Tổ phó Thường trực", compiled, [])] if compiled else []),
            (f"Việc đột xuất ({len(report.urgent_items)})", items_blocks(cfg, report.urgent_items),
             []),
            (f"Kiến nghị, đề xuất của doanh nghiệp ({len(report.recommendations)})",
             items_blocks(cfg, report.recommendations), []),
            (f"Hồ sơ chờ Tổ trưởng quyết định ({len(report.waiting)})",
             waiting_blocks(cfg, report), []),
            ("Tình hình báo cáo của thành viên Tổ công tác", tuple(reporting),
             member_sections(cfg, report)),
            (f"Ý kiến chỉ đạo của Tổ trưởng và tiến độ thực hiện ({len(report.directions)})",
             directions_blocks(cfg, report), []),
        ]
        if report.audit is not None:
            # The heads themselves are in the published event and the JSON; the paper
            # quotes their root, enough to hold a later copy of the history against.
            parts += [("Kiểm toán lịch sử hồ sơ", (Paragraph(
                f"Chuỗi lịch sử của {len(report.audit.heads)} hồ sơ thay đổi trong tuần;"
                f" gốc Merkle của các đầu chuỗi: {report.audit.merkle_root}."),), [])]
        closing = (f"Trên đây là báo cáo tình hình tiếp nhận, xử lý khó khăn, vướng mắc của "
                   f"doanh nghiệp tuần {week_number(report.week_label)} của Tổ công tác./.")
    draft = None if published else (
        "BẢN XEM TRƯỚC — số liệu tạm tính, chưa chốt" if not report.final
        else "BẢN XEM TRƯỚC — báo cáo tổng kết chưa chốt")
    stem = f"{cfg.slug}-{report.week_label}"
    return OfficialReport(
        parent_body=nfc(doc.parent_body.upper()) if doc.parent_body else None,
        issuing_body=nfc(tf.name_vi.upper()),
        number=number,
        place_date=f"{nfc(doc.place or cfg.province.name_vi)}, {decree_date(signed_on)}",
        kind="BÁO CÁO",
        title=title,
        sections=_numbered(parts),
        closing=closing,
        recipients=tuple(nfc(r) for r in doc.recipients),
        signer_title=nfc(doc.signer_title.upper()),
        signer_name=nfc(tf.head.name),
        draft=draft,
        file_stem=stem,
        keywords=(cfg.province.name_vi, report.week_label),
    )
