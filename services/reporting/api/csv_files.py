"""The reports' CSV files: the breakdown rows (English and Vietnamese headers) and the items."""

from __future__ import annotations

from services.reporting import document
from shared.events import (
    ReportItem,
    WeeklyReport,
)
from shared.exports import csv_text
from shared.provinces import ProvinceConfig

# New columns go at the end, so that readers of the older file keep working.
CSV_COLUMNS = ("dimension", "value", "received", "resolved", "open", "overdue",
               "escalated_central", "median_resolution_hours", "p90_resolution_hours",
               "rejected", "carried_over")
CSV_COLUMNS_VI = ("Nhóm", "Tên", "Tiếp nhận", "Đã giải quyết", "Đang xử lý", "Quá hạn",
                  "Chuyển Trung ương", "Thời gian giải quyết trung vị (giờ)",
                  "Thời gian giải quyết P90 (giờ)", "Từ chối", "Tồn đầu kỳ")
DIMENSION_VI = {"total": "Tổng cộng", "agency": "Cơ quan chủ trì", "zone_type": "Loại khu vực",
                "category": "Lĩnh vực"}


def rows_csv(report: WeeklyReport) -> str:
    dumped = (r.model_dump() for r in report.rows)
    return csv_text(CSV_COLUMNS, ([d[c] for c in CSV_COLUMNS] for d in dumped))


def rows_csv_vi(cfg: ProvinceConfig, report: WeeklyReport) -> str:
    """The same rows for people: Vietnamese headers, names for ids; a byte-order mark,
    without which Excel reads UTF-8 as a legacy code page and garbles the diacritics."""
    rows = ([DIMENSION_VI[r.dimension],
             "" if r.dimension == "total" else document.name_of(cfg, r.dimension, r.value),
             *(r.model_dump()[c] for c in CSV_COLUMNS[2:])] for r in report.rows)
    return "\ufeff" + csv_text(CSV_COLUMNS_VI, rows)


ITEM_COLUMNS = ("tracking_code", "title", "agency_id", "status", "received_at", "difficulty_id")


def items_csv(items: list[ReportItem]) -> str:
    dumped = (i.model_dump(mode="json") for i in items)
    return csv_text(ITEM_COLUMNS, ([d[c] for c in ITEM_COLUMNS] for d in dumped))
