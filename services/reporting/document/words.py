"""Dates, names and numbers as people write them in a document: dates in the decree's
form, report weeks as people count them, agencies, zone types, fields and people by
their names (never a slug), decimal commas. Shared by the documents and the pages."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta

from services.reporting import logic
from shared.calendar import TZ, week_window_by_label
from shared.events import CATEGORY_LABELS, ZONE_TYPE_LABELS, Category, WeeklyReport, ZoneType
from shared.provinces import ProvinceConfig

UNKNOWN_VI = "Chưa xác định"
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
             "Dec")


# --- dates as people write them --------------------------------------------------------


def local_date(t: datetime) -> date:
    """The day an instant falls on in the province's time."""
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
    return local_date(start) + timedelta(days=1), local_date(end)


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


# --- names and numbers ----------------------------------------------------------------------


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


def acting_of(cfg: ProvinceConfig, assignee_id: str | None) -> str:
    """Who must act on a direction by name: a member of the task force or an agency."""
    if assignee_id is None:
        return UNKNOWN_VI
    return person_of(cfg, assignee_id) if cfg.person(assignee_id) else name_of(
        cfg, "agency", assignee_id)


def decimal_vi(x: float, digits: int = 1) -> str:
    """A number as Vietnamese writes it: a decimal comma ("66,7")."""
    return f"{x:.{digits}f}".replace(".", ",")


def share_vi(n: int, of: int, pct: float | None) -> str:
    """"66,7% (2/3)"; "–" when nothing was measured."""
    return "–" if pct is None else f"{decimal_vi(pct)}% ({n}/{of})"
