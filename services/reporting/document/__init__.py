"""The weekly report and the letter to a central ministry as official documents, in the
form of Decree 30/2020/NĐ-CP: a plain model the renderers (`render`: DOCX and PDF;
`spreadsheets`: XLSX) only lay out, so a new part of a report is one more `Section` and
appears in every format. Pure: no I/O, no clock; dates come from the report.

By concern: `model` (what a document is made of), `words` (dates, names and numbers as
people write them), `weekly` (the weekly or final report: a new section goes there),
`letter` (the letter passing a difficulty to its ministry, #22 item 6). Every public
name is re-exported here: callers write `document.X` as before.
"""

from __future__ import annotations

from services.reporting.document.letter import central_letter, letter_symbol
from services.reporting.document.model import (
    MOTTO,
    NATION,
    Block,
    Bullets,
    Cell,
    OfficialReport,
    Paragraph,
    Section,
    Table,
)
from services.reporting.document.weekly import (
    BREAKDOWN_COLUMNS_VI,
    DIMENSIONS_VI,
    DIRECTION_COLUMNS_VI,
    ITEM_COLUMNS_VI,
    LEAGUE_COLUMNS_VI,
    ROMAN,
    TREND_WEEKS_IN_DOCUMENT,
    WAITING_COLUMNS_VI,
    Trend,
    breakdown_table,
    breakdown_values,
    directions_blocks,
    figures_table,
    items_blocks,
    league_blocks,
    member_sections,
    official_report,
    waiting_blocks,
    waiting_reason_vi,
)
from services.reporting.document.words import (
    MONTHS_EN,
    UNKNOWN_VI,
    acting_of,
    decimal_vi,
    decree_date,
    local_date,
    name_of,
    nfc,
    period_en,
    period_vi,
    person_of,
    share_vi,
    week_days,
    week_number,
    week_phrase,
)

__all__ = [
    "BREAKDOWN_COLUMNS_VI", "DIMENSIONS_VI", "DIRECTION_COLUMNS_VI", "ITEM_COLUMNS_VI",
    "LEAGUE_COLUMNS_VI", "MONTHS_EN", "MOTTO", "NATION", "ROMAN", "TREND_WEEKS_IN_DOCUMENT",
    "UNKNOWN_VI", "WAITING_COLUMNS_VI", "Block", "Bullets", "Cell", "OfficialReport",
    "Paragraph", "Section", "Table", "Trend", "acting_of", "breakdown_table",
    "breakdown_values", "central_letter", "decimal_vi", "decree_date", "directions_blocks",
    "figures_table", "items_blocks", "league_blocks", "letter_symbol", "local_date",
    "member_sections", "name_of", "nfc", "official_report", "period_en", "period_vi",
    "person_of", "share_vi", "waiting_blocks", "waiting_reason_vi", "week_days",
    "week_number", "week_phrase",
]
