"""The document's model: what a report or a letter is made of, as the renderers (`render`:
DOCX and PDF; `spreadsheets`: XLSX) lay it out. Headers, numbered sections of paragraphs,
tables and lists, recipients, signature; nothing here knows a report's content."""

from __future__ import annotations

from dataclasses import dataclass, field

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"

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
