"""The official report (document.OfficialReport) laid out as DOCX and PDF.

Layout after Decree 30/2020/NĐ-CP, Appendix I: A4; margins top and bottom 20 mm, left
30 mm, right 15 mm; Times New Roman 13 pt for the text; the issuing body at the top left
(its parent body above it, its own name in bold capitals, a short rule, the number and
symbol), the national title and motto at the top right (the motto in bold and ruled,
the place and date in italics below), the kind and title of the document centred in
bold, then the body, the recipients (Nơi nhận) at the bottom left and the signature at
the bottom right; page numbers at the top centre from the second page.

DOCX names Times New Roman, as the decree does: Word has it, and LibreOffice uses the
metric-compatible Liberation Serif in its place. The PDF embeds Liberation Serif (SIL
Open Font License 1.1; Debian `fonts-liberation2`, installed by scripts/setup and the
Dockerfile), subset to the glyphs used, so it prints the same on every machine.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from docx import Document as new_docx
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm, Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph as DocxParagraph
from fpdf import FPDF, FontFace
from fpdf.enums import Align, XPos, YPos

from services.reporting.document import (
    MOTTO,
    NATION,
    Bullets,
    OfficialReport,
    Paragraph,
    Section,
    Table,
)

BODY_PT = 13
TABLE_PT = 11
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT = 20, 20, 30, 15  # mm
DOCX_FONT = "Times New Roman"
PDF_FONT = "LiberationSerif"
FONT_FILES = {"": "LiberationSerif-Regular.ttf", "B": "LiberationSerif-Bold.ttf",
              "I": "LiberationSerif-Italic.ttf", "BI": "LiberationSerif-BoldItalic.ttf"}
# Liberation 2 first: its 1.x releases lack some Vietnamese letters.
FONT_DIRS = ("/usr/share/fonts/truetype/liberation2", "/usr/share/fonts/truetype/liberation",
             "/usr/share/fonts/liberation-serif", "/usr/share/fonts/liberation")
# Letters a Vietnamese report cannot do without (each with its marks, precomposed).
VIETNAMESE_PROBE = ("ĂÂĐÊÔƠƯăâđêôơưẠẢẤẦẨẪẬẮẰẲẴẶẸẺẼẾỀỂỄỆỈỊỌỎỐỒỔỖỘỚỜỞỠỢỤỦỨỪỬỮỰỲỴỶỸ"
                    "ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")


class FontsMissing(RuntimeError):
    """No serif font with Vietnamese letters was found: the PDF cannot be made."""


def _covers_vietnamese(path: Path) -> bool:
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True) as font:
        cmap = font.getBestCmap()
    return all(ord(c) in cmap for c in VIETNAMESE_PROBE)


@cache
def pdf_fonts() -> dict[str, Path]:
    """The four Liberation Serif faces, from THAOGO_REPORT_FONT_DIR or the system's font
    folders; the first folder with all four and every Vietnamese letter wins."""
    extra = os.environ.get("THAOGO_REPORT_FONT_DIR")
    for d in ((extra,) if extra else ()) + FONT_DIRS:
        files = {style: Path(d) / name for style, name in FONT_FILES.items()}
        if all(f.is_file() for f in files.values()) and _covers_vietnamese(files[""]):
            return files
    raise FontsMissing("Liberation Serif 2 with Vietnamese letters was not found (Debian: "
                       "apt-get install fonts-liberation2, or set THAOGO_REPORT_FONT_DIR)")


# --- PDF ------------------------------------------------------------------------------------


class _Pdf(FPDF):
    def header(self) -> None:
        if self.page_no() > 1:  # the first page carries the document's own header
            self.set_font(PDF_FONT, "", BODY_PT)
            self.set_y(8)
            self.cell(0, 6, str(self.page_no()), align=Align.C)
            self.set_y(MARGIN_TOP)


@dataclass
class _Column:
    x: float
    w: float


def _centred(pdf: FPDF, col: _Column, text: str, style: str, size: float,
             line_h: float = 6.0) -> float:
    """Centred lines in a column; returns the width of the longest line (for the rule)."""
    pdf.set_font(PDF_FONT, style, size)
    pdf.set_x(col.x)
    pdf.multi_cell(col.w, line_h, text, align=Align.C, new_x=XPos.LEFT, new_y=YPos.NEXT)
    return min(col.w, max(pdf.get_string_width(line) for line in text.splitlines() or [""]))


def _balanced(pdf: FPDF, text: str, width: float) -> str:
    """Two lines of about equal length when one does not fit ("ỦY BAN NHÂN DÂN / TỈNH BÌNH
    DƯƠNG"), rather than one word left alone on the second."""
    if pdf.get_string_width(text) <= width or " " not in text:
        return text
    spaces = [i for i, c in enumerate(text) if c == " "]
    cut = min(spaces, key=lambda i: abs(i - len(text) / 2))
    return text[:cut] + "\n" + text[cut + 1:]


def _rule(pdf: FPDF, col: _Column, width: float) -> None:
    y = pdf.get_y() + 0.5
    mid = col.x + col.w / 2
    pdf.set_line_width(0.3)
    pdf.line(mid - width / 2, y, mid + width / 2, y)
    pdf.set_y(y + 1.5)


def to_pdf(doc: OfficialReport) -> bytes:
    fonts = pdf_fonts()
    pdf = _Pdf(format="A4", unit="mm")
    pdf.set_margins(MARGIN_LEFT, MARGIN_TOP, MARGIN_RIGHT)
    pdf.set_auto_page_break(True, margin=MARGIN_BOTTOM)
    for style, path in fonts.items():
        pdf.add_font(PDF_FONT, style, str(path))
    pdf.set_title(f"{doc.kind} {doc.title}")
    pdf.set_author(doc.issuing_body)
    pdf.set_subject(doc.number)
    pdf.set_keywords(" ".join(doc.keywords))
    pdf.set_lang("vi")
    pdf.set_creator("thaogo")
    pdf.add_page()
    full = pdf.epw
    # The header spreads a little into the left margin, as the decree's sample does.
    left = _Column(MARGIN_LEFT - 10, 80)
    right = _Column(MARGIN_LEFT + 74, full - 74 + 3)
    top = pdf.get_y()
    # Top left: the issuing body.
    pdf.set_y(top)
    if doc.parent_body:
        pdf.set_font(PDF_FONT, "", 12)
        _centred(pdf, left, _balanced(pdf, doc.parent_body, left.w - 2), "", 12, 5.5)
    w = _centred(pdf, left, doc.issuing_body, "B", 12, 5.5)
    _rule(pdf, left, min(w, 30))
    _centred(pdf, left, doc.number, "", BODY_PT, 6.5)
    if doc.subject:
        _centred(pdf, left, doc.subject, "", 12, 5.5)
    left_end = pdf.get_y()
    # Top right: the national title, the motto (ruled), the place and date.
    pdf.set_y(top)
    _centred(pdf, right, NATION, "B", 12, 5.5)
    w = _centred(pdf, right, MOTTO, "B", BODY_PT, 6)
    _rule(pdf, right, w)
    pdf.set_y(pdf.get_y() + 1.5)
    _centred(pdf, right, doc.place_date, "I", BODY_PT, 6.5)
    pdf.set_y(max(left_end, pdf.get_y()) + 6)
    page = _Column(MARGIN_LEFT, full)
    if doc.draft:
        pdf.set_text_color(160, 0, 0)
        _centred(pdf, page, doc.draft, "BI", 12)
        pdf.set_text_color(0, 0, 0)
    if doc.kind:
        _centred(pdf, page, doc.kind, "B", 14, 7)
        w = _centred(pdf, page, doc.title, "B", 14, 7)
        _rule(pdf, page, min(w, 50))
    if doc.addressee:
        _centred(pdf, page, f"Kính gửi: {doc.addressee}", "", BODY_PT, 7)
    pdf.ln(4)
    for section in doc.sections:
        _pdf_section(pdf, section)
    pdf.ln(2)
    if pdf.will_page_break(20 + max(len(doc.recipients) * 5 + 12, 45)):
        pdf.add_page()  # the closing sentence stays with the signature
    _pdf_paragraph(pdf, Paragraph(doc.closing))
    _pdf_signature(pdf, doc)
    return bytes(pdf.output())


def _pdf_paragraph(pdf: FPDF, p: Paragraph) -> None:
    pdf.set_font(PDF_FONT, "I" if p.italic else "", BODY_PT)
    pdf.set_x(MARGIN_LEFT)
    # First-line indent of about 1 cm, as the decree's examples have it.
    pdf.multi_cell(0, 6.5, "\u00a0" * 6 + p.text, align=Align.J, new_x=XPos.LMARGIN,
                   new_y=YPos.NEXT)
    pdf.ln(1.5)


def _pdf_section(pdf: FPDF, s: Section) -> None:
    # A heading never ends a page: keep room for it and a table's heading row or a few lines.
    if pdf.will_page_break(45):
        pdf.add_page()
    if s.heading:  # a letter's opening paragraph comes under no heading
        pdf.set_font(PDF_FONT, "B" if s.level == 1 else "BI", BODY_PT)
        pdf.set_x(MARGIN_LEFT)
        pdf.multi_cell(0, 7, s.heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)
    for block in s.blocks:
        if isinstance(block, Paragraph):
            _pdf_paragraph(pdf, block)
        elif isinstance(block, Bullets):
            pdf.set_font(PDF_FONT, "", BODY_PT)
            for i, item in enumerate(block.items):
                end = "." if i == len(block.items) - 1 else ";"
                pdf.set_x(MARGIN_LEFT + 6)
                pdf.multi_cell(0, 6.5, f"- {item}{end}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(1.5)
        else:
            _pdf_table(pdf, block)


def _pdf_table(pdf: FPDF, t: Table) -> None:
    pdf.set_font(PDF_FONT, "", TABLE_PT)
    align = tuple(Align.R if i >= t.numeric_from else Align.L for i in range(len(t.columns)))
    head_align = tuple(Align.C for _ in t.columns)
    bold = FontFace(emphasis="BOLD")
    with pdf.table(col_widths=t.widths, width=pdf.epw, align=Align.L, text_align=align,
                   line_height=5.2,
                   padding=(0.8, 1.2), headings_style=FontFace(emphasis="BOLD",
                                                               fill_color=(235, 235, 235)),
                   repeat_headings=1) as table:
        head = table.row()
        for c, a in zip(t.columns, head_align, strict=True):
            head.cell(c, align=a)
        for n, row in enumerate(t.rows):
            r = table.row()
            last = t.total_last and n == len(t.rows) - 1
            for value in row:
                r.cell("" if value is None else str(value), style=bold if last else None)
    pdf.ln(3)


def _pdf_signature(pdf: FPDF, doc: OfficialReport) -> None:
    lines = len(doc.recipients) * 5 + 12
    if pdf.will_page_break(max(lines, 45)):
        pdf.add_page()
    pdf.ln(4)
    top = pdf.get_y()
    left = _Column(MARGIN_LEFT, 80)
    right = _Column(MARGIN_LEFT + 80, pdf.epw - 80)
    pdf.set_font(PDF_FONT, "BI", 12)
    pdf.set_xy(left.x, top)
    pdf.cell(left.w, 6, "Nơi nhận:", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(PDF_FONT, "", 11)
    for i, r in enumerate(doc.recipients):
        end = "." if i == len(doc.recipients) - 1 else ";"
        pdf.set_x(left.x)
        pdf.multi_cell(left.w, 5, f"- {r}{end}", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_y(top)
    _centred(pdf, right, doc.signer_title, "B", BODY_PT, 6.5)
    pdf.set_y(pdf.get_y() + 24)  # room for the signature and the seal
    _centred(pdf, right, doc.signer_name, "B", BODY_PT, 6.5)


# --- DOCX -----------------------------------------------------------------------------------


def _run(p: DocxParagraph, text: str, *, bold: bool = False, italic: bool = False,
         size: float = BODY_PT, underline: bool = False) -> None:
    r = p.add_run(text)
    r.bold, r.italic, r.underline = bold, italic, underline
    r.font.size = Pt(size)
    r.font.name = DOCX_FONT


def _para(container: object, text: str = "", *, align: WD_ALIGN_PARAGRAPH | None = None,
          bold: bool = False, italic: bool = False, size: float = BODY_PT,
          underline: bool = False, indent: bool = False, after: float = 0) -> DocxParagraph:
    p: DocxParagraph = container.add_paragraph()  # type: ignore[attr-defined]
    if align is not None:
        p.alignment = align
    fmt = p.paragraph_format
    fmt.space_after = Pt(after)
    fmt.space_before = Pt(0)
    if indent:
        fmt.first_line_indent = Mm(10)
    if text:
        _run(p, text, bold=bold, italic=italic, size=size, underline=underline)
    return p


class _CellLines:
    """Adds paragraphs to a table cell, the first into the empty paragraph a new cell
    already holds (so no blank line opens the cell)."""

    def __init__(self, cell: _Cell) -> None:
        self.cell, self.used = cell, False

    def add_paragraph(self) -> DocxParagraph:
        if not self.used:
            self.used = True
            first: DocxParagraph = self.cell.paragraphs[0]
            return first
        added: DocxParagraph = self.cell.add_paragraph()
        return added


def _cell_lines(cell: _Cell) -> Iterator[_CellLines]:
    yield _CellLines(cell)


def to_docx(doc: OfficialReport) -> bytes:
    d = new_docx()
    normal = d.styles["Normal"]
    normal.font.name = DOCX_FONT
    normal.font.size = Pt(BODY_PT)
    sec = d.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.top_margin, sec.bottom_margin = Mm(MARGIN_TOP), Mm(MARGIN_BOTTOM)
    sec.left_margin, sec.right_margin = Mm(MARGIN_LEFT), Mm(MARGIN_RIGHT)
    d.core_properties.title = f"{doc.kind} {doc.title}"
    d.core_properties.author = doc.issuing_body
    d.core_properties.subject = doc.number
    d.core_properties.keywords = " ".join(doc.keywords)
    d.core_properties.language = "vi-VN"
    center = WD_ALIGN_PARAGRAPH.CENTER
    head = d.add_table(rows=1, cols=2)
    head.alignment = WD_TABLE_ALIGNMENT.CENTER
    left, right = head.rows[0].cells
    left.width, right.width = Mm(75), Mm(95)
    for cell in _cell_lines(left):
        if doc.parent_body:
            _para(cell, doc.parent_body, align=center, size=12)
        _para(cell, doc.issuing_body, align=center, bold=True, size=12)
        _para(cell, "―――――", align=center, size=8)
        _para(cell, doc.number, align=center, after=0 if doc.subject else 6)
        if doc.subject:
            _para(cell, doc.subject, align=center, size=12, after=6)
    for cell in _cell_lines(right):
        _para(cell, NATION, align=center, bold=True, size=12)
        _para(cell, MOTTO, align=center, bold=True, underline=True, after=6)
        _para(cell, doc.place_date, align=center, italic=True)
    _para(d, after=6)
    if doc.draft:
        _para(d, doc.draft, align=center, bold=True, italic=True, size=12, after=6)
    if doc.kind:
        _para(d, doc.kind, align=center, bold=True, size=14)
        _para(d, doc.title, align=center, bold=True, size=14)
        _para(d, "―――――", align=center, size=8, after=12)
    if doc.addressee:
        _para(d, f"Kính gửi: {doc.addressee}", align=center, after=12)
    for s in doc.sections:
        if s.heading:
            _para(d, s.heading, bold=True, italic=s.level > 1, after=3).paragraph_format \
                .keep_with_next = True
        for block in s.blocks:
            if isinstance(block, Paragraph):
                _para(d, block.text, italic=block.italic, indent=True,
                      align=WD_ALIGN_PARAGRAPH.JUSTIFY, after=6)
            elif isinstance(block, Bullets):
                for i, item in enumerate(block.items):
                    end = "." if i == len(block.items) - 1 else ";"
                    p = _para(d, f"- {item}{end}")
                    p.paragraph_format.left_indent = Mm(6)
                _para(d, after=3)
            else:
                _docx_table(d, block)
    _para(d, doc.closing, indent=True, align=WD_ALIGN_PARAGRAPH.JUSTIFY, after=12)
    sign = d.add_table(rows=1, cols=2)
    left, right = sign.rows[0].cells
    left.width, right.width = Mm(85), Mm(80)
    for cell in _cell_lines(left):
        _para(cell, "Nơi nhận:", bold=True, italic=True, size=12)
        for i, r in enumerate(doc.recipients):
            _para(cell, f"- {r}{'.' if i == len(doc.recipients) - 1 else ';'}", size=11)
    for cell in _cell_lines(right):
        _para(cell, doc.signer_title, align=center, bold=True, after=72)
        _para(cell, doc.signer_name, align=center, bold=True)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def _docx_table(d: object, t: Table) -> None:
    table = d.add_table(rows=1, cols=len(t.columns))  # type: ignore[attr-defined]
    table.style = "Table Grid"
    total = sum(t.widths)
    usable = 210 - MARGIN_LEFT - MARGIN_RIGHT
    widths = [Mm(usable * w / total) for w in t.widths]
    for cell, name, width in zip(table.rows[0].cells, t.columns, widths, strict=True):
        cell.width = width
        for c in _cell_lines(cell):
            _para(c, name, align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=TABLE_PT)
    for n, row in enumerate(t.rows):
        last = t.total_last and n == len(t.rows) - 1
        cells = table.add_row().cells
        for i, (cell, value, width) in enumerate(zip(cells, row, widths, strict=True)):
            cell.width = width
            align = WD_ALIGN_PARAGRAPH.RIGHT if i >= t.numeric_from else WD_ALIGN_PARAGRAPH.LEFT
            for c in _cell_lines(cell):
                _para(c, "" if value is None else str(value), align=align, bold=last,
                      size=TABLE_PT)
    _para(d, after=6)
