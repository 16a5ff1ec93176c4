"""The weekly report as an official document, in the form of Decree 30/2020/NĐ-CP.

`official_report` turns a report (the event's data) and its task force's configuration
into a plain model: the header (issuing body, number and symbol, place and date), the
title, numbered sections of paragraphs, tables and lists, the recipients and the
signature. The renderers (`render`: DOCX and PDF; `spreadsheets`: XLSX) only lay that
model out, so a new part of the report (members' own texts, the head's directions, an
agency league table) is one more `Section` here and appears in every format.

Pure: no I/O, no clock; dates come from the report.

Longer than 500 lines on purpose: it is one concern, the document model with the dates,
names and sections written into it; split, a new Section would span files.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from services.reporting import logic
from shared.calendar import TZ, week_window_by_label
from shared.events import (
    CATEGORY_LABELS,
    DIRECTION_STATE_LABELS,
    STATUS_LABELS,
    ZONE_TYPE_LABELS,
    BreakdownRow,
    Category,
    League,
    ReportItem,
    WeeklyReport,
    ZoneType,
)
from shared.provinces import ProvinceConfig

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
UNKNOWN_VI = "Chưa xác định"
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
             "Dec")

Cell = str | int | float | None


@dataclass(frozen=True)
class Paragraph:
    text: str
    italic: bool = False


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    widths: tuple[float, ...]  # relative column widths
    numeric_from: int = 1  # columns from this index on are numbers (right-aligned)
    total_last: bool = False  # the last row is a total (bold)


Block = Paragraph | Bullets | Table


@dataclass(frozen=True)
class Section:
    heading: str
    blocks: tuple[Block, ...]
    level: int = 1  # 1: "I. ..."; 2: "1. ..."


@dataclass(frozen=True)
class OfficialReport:
    parent_body: str | None
    issuing_body: str
    number: str  # "Số: 49/BC-TCT"
    place_date: str  # "Thủ Dầu Một, ngày 04 tháng 12 năm 2026"
    kind: str  # "BÁO CÁO"
    title: str
    sections: tuple[Section, ...]
    closing: str
    recipients: tuple[str, ...]
    signer_title: str
    signer_name: str
    draft: str | None = None  # a preview's warning, printed above the title
    file_stem: str = "bao-cao"
    keywords: tuple[str, ...] = field(default_factory=tuple)
    # A letter (công văn) has no kind nor title line: its subject ("V/v ...") stands under
    # its number and its addressee ("Kính gửi: ...") above the text.
    subject: str | None = None
    addressee: str | None = None


# --- dates as people write them --------------------------------------------------------


def _local_date(t: datetime) -> date:
    return t.astimezone(TZ).date()


def decree_date(d: date) -> str:
    """"ngày 04 tháng 12 năm 2026": days below 10 and months 1 and 2 take a leading zero
    (Decree 30/2020/NĐ-CP, Appendix I)."""
    month = f"{d.month:02d}" if d.month <= 2 else str(d.month)
    return f"ngày {d.day:02d} tháng {month} năm {d.year}"


def week_days(report_or_label: WeeklyReport | str) -> tuple[date, date]:
    """The first and last day of a report week as people count it: the day after the
    previous cutoff to the day of this one (28/11–04/12 for the week closing on 4/12)."""
    if isinstance(report_or_label, str):
        w = week_window_by_label(report_or_label)
        start, end = w.start, w.end
    else:
        start, end = report_or_label.window_start, report_or_label.window_end
    return _local_date(start) + timedelta(days=1), _local_date(end)


def week_number(label: str) -> int:
    return int(label.rsplit("W", 1)[1])


def period_vi(first: date, last: date) -> str:
    if first.year == last.year:
        return f"{first:%d/%m}–{last:%d/%m/%Y}"
    return f"{first:%d/%m/%Y}–{last:%d/%m/%Y}"


def period_en(first: date, last: date) -> str:
    def dm(d: date) -> str:
        return f"{d.day} {MONTHS_EN[d.month - 1]}"

    if first.year == last.year:
        return f"{dm(first)}–{dm(last)} {last.year}"
    return f"{dm(first)} {first.year}–{dm(last)} {last.year}"


def week_phrase(label: str, lang: str) -> str:
    """"Tuần 49 · 28/11–04/12/2026" / "Week 49 · 28 Nov–4 Dec 2026"."""
    first, last = week_days(label)
    if lang == "en":
        return f"Week {week_number(label)} · {period_en(first, last)}"
    return f"Tuần {week_number(label)} · {period_vi(first, last)}"


# --- names ----------------------------------------------------------------------------------


def name_of(cfg: ProvinceConfig, dimension: str, value: str, lang: str = "vi") -> str:
    """A breakdown value as a reader knows it: the agency's name from the directory, the
    zone type's or category's label; never a slug."""
    i = 0 if lang == "vi" else 1
    if value == logic.UNKNOWN:
        return (UNKNOWN_VI, "Unknown")[i]
    if dimension == "agency":
        a = cfg.agency(value)
        return (a.name_vi, a.name_en)[i] if a else value
    if dimension == "zone_type" and value in ZoneType.__members__.values():
        return ZONE_TYPE_LABELS[ZoneType(value)][i]
    if dimension == "category" and value in Category.__members__.values():
        return CATEGORY_LABELS[Category(value)][i]
    return value


def person_of(cfg: ProvinceConfig, pid: str) -> str:
    p = cfg.person(pid)
    return f"{p.name} — {p.title}" if p else pid


def nfc(text: str) -> str:
    # Typed text may come decomposed (NFD); fonts and searches want one code point per
    # letter with its marks.
    return unicodedata.normalize("NFC", text)


# --- the document ---------------------------------------------------------------------------

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
    return "–" if x is None else f"{x:.1f}".replace(".", ",")


def decimal_vi(x: float, digits: int = 1) -> str:
    """A number as Vietnamese writes it: a decimal comma ("66,7")."""
    return f"{x:.{digits}f}".replace(".", ",")


def share_vi(n: int, of: int, pct: float | None) -> str:
    """"66,7% (2/3)"; "–" when nothing was measured."""
    return "–" if pct is None else f"{decimal_vi(pct)}% ({n}/{of})"


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


def acting_of(cfg: ProvinceConfig, assignee_id: str | None) -> str:
    """Who must act on a direction by name: a member of the task force or an agency."""
    if assignee_id is None:
        return UNKNOWN_VI
    return person_of(cfg, assignee_id) if cfg.person(assignee_id) else name_of(
        cfg, "agency", assignee_id)


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
        signed_on = _local_date(report.generated_at)
        number = f"Số:       /{doc.symbol}"  # filled in by the clerk who registers it
        title = (f"Tổng kết hoạt động của Tổ công tác (từ ngày {start:%d/%m/%Y} đến ngày "
                 f"{_local_date(report.window_end):%d/%m/%Y})")
        period = "Trong toàn bộ thời gian hoạt động của Tổ công tác"
    else:
        signed_on = _local_date(report.window_end)
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
            ("Tình hình báo cáo của thành viên Tổ công tác", tuple(reporting),
             member_sections(cfg, report)),
            (f"Ý kiến chỉ đạo của Tổ trưởng và tiến độ thực hiện ({len(report.directions)})",
             directions_blocks(cfg, report), []),
        ]
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


# --- the letter to a central ministry (#22 item 6) ----------------------------------------


def letter_symbol(doc_symbol: str) -> str:
    """A letter's symbol is the issuing body's abbreviation alone (Decree 30/2020, Appendix
    III): the report's "BC-TCT" without its kind, "TCT"."""
    return doc_symbol.split("-", 1)[1] if "-" in doc_symbol else doc_symbol


def central_letter(cfg: ProvinceConfig, case: dict[str, Any], *, ministry_name: str,
                   lead_names: list[str], today: date) -> OfficialReport:
    """The letter (công văn) passing an escalated difficulty to its ministry, for the
    permanent deputy to sign on behalf of the head: the submission (its title and what
    the business wrote), what the province did and why it is beyond its authority, and
    the answer asked for by the deadline. The number and date are the registered ones;
    before registration they are left blank for the clerk, as on an unsigned draft."""
    tf, doc = cfg.task_force, cfg.task_force.document
    payload = case["payload"]
    escalation = case["escalation"] or {}
    ministry = case["ministry"] or {}
    code = case["tracking_code"]
    if case["letter_number"]:
        number = f"Số: {case['letter_number']}"
        dated: date | None = case["letter_date"]
    else:
        number = f"Số:       /{letter_symbol(doc.symbol)}"
        dated = None
    place = nfc(doc.place or cfg.province.name_vi)
    place_date = (f"{place}, {decree_date(dated)}" if dated
                  else f"{place}, ngày      tháng      năm {today.year}")
    received = _local_date(case["received_at"])
    business = (f"{nfc(payload.get('enterprise_name', ''))} (mã số thuế "
                f"{payload.get('tax_code', '')})")
    intro = (f"Ngày {received:%d/%m/%Y}, {nfc(tf.name_vi)} tiếp nhận phản ánh, kiến nghị của "
             f"{business}, mã hồ sơ {code}, về việc: {nfc(case['title'])}. Qua xem xét, nội "
             f"dung kiến nghị vượt thẩm quyền giải quyết của địa phương; {nfc(tf.name_vi)} "
             f"kính chuyển {ministry_name} xem xét, giải quyết theo thẩm quyền.")
    content: list[Block] = [Paragraph(nfc(str(payload.get("description", ""))))]
    handled: list[Block] = []
    if lead_names:
        handled.append(Paragraph(f"Cơ quan chủ trì xử lý tại địa phương: "
                                 f"{', '.join(lead_names)}."))
    if escalation.get("done"):
        handled.append(Paragraph(f"Kết quả xử lý: {nfc(escalation['done'])}"))
    if escalation.get("legal_basis"):
        handled.append(Paragraph(f"Căn cứ: {nfc(escalation['legal_basis'])}."))
    if escalation.get("reason"):
        handled.append(Paragraph(f"Lý do vượt thẩm quyền: {nfc(escalation['reason'])}"))
    if escalation.get("public_answer"):
        handled.append(Paragraph("Nội dung đã thông tin cho doanh nghiệp: "
                                 f"{nfc(escalation['public_answer'])}"))
    due = ministry.get("resolve_due_at")
    rule = cfg.deadlines.central
    days = "ngày làm việc" if rule.days.value == "working" else "ngày"
    ask = (f"Đề nghị {ministry_name} xem xét, trả lời doanh nghiệp và {nfc(tf.name_vi)} trong "
           f"thời hạn {rule.answer} {days}"
           + (f" (trước ngày {_local_date(due):%d/%m/%Y})" if due else "")
           + f"; trường hợp chưa thể trả lời, đề nghị thông tin tiến độ xử lý định kỳ "
             f"{rule.progress_every} {days} một lần.")
    sections = (
        Section("1. Nội dung kiến nghị của doanh nghiệp", tuple(content), level=2),
        Section("2. Kết quả xử lý tại địa phương", tuple(handled) or (
            Paragraph("Không có."),), level=2),
        Section("3. Đề nghị", (Paragraph(ask),), level=2),
    )
    deputy = tf.permanent_deputy
    return OfficialReport(
        parent_body=nfc(doc.parent_body.upper()) if doc.parent_body else None,
        issuing_body=nfc(tf.name_vi.upper()),
        number=number,
        place_date=place_date,
        kind="",
        title=f"V/v kiến nghị của doanh nghiệp, hồ sơ {code}",
        sections=(Section("", (Paragraph(intro),), level=2), *sections),
        closing=f"{nfc(tf.name_vi)} trân trọng đề nghị {ministry_name} quan tâm, giải quyết./.",
        recipients=("Như trên", f"{nfc(tf.head.name)}, Tổ trưởng (để b/c)",
                    *(f"{n} (để biết)" for n in lead_names), "Lưu: VT"),
        signer_title=f"KT. {nfc(doc.signer_title.upper())}\nTỔ PHÓ THƯỜNG TRỰC",
        signer_name=nfc(deputy.name),
        file_stem=f"cong-van-{code}",
        keywords=(cfg.province.name_vi, code, ministry_name),
        subject=f"V/v kiến nghị của doanh nghiệp\n(hồ sơ {code})",
        addressee=ministry_name,
    )
