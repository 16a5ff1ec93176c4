"""Bulk import: a CSV file of submissions, read into the same dicts a JSON request carries.

Pure. The rows are then validated one by one exactly like a single submission (same
request model, same cleaning); nothing here decides whether a row is acceptable beyond
reading it. The header row names the columns either by the API's field names
("tax_code", "contact.name" or "contact_name") or by their Vietnamese names as a
task force's spreadsheet would ("Mã số thuế", "Tên doanh nghiệp", "Tỉnh/Thành phố"...),
matched without diacritics, case or punctuation. Closed-list cells (zone type, category,
kind, urgency) take the code or either label ("Khu công nghiệp", "KCN").
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shared.errors import Problem
from shared.events import CATEGORY_LABELS, ZONE_TYPE_LABELS
from shared.vn import fold

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=4096)  # a file repeats the same few labels thousands of times
def header_key(text: str) -> str:
    """"Tỉnh/Thành phố" -> "tinhthanhpho"; "contact.name" and "Contact Name" -> "contactname"."""
    return _NON_ALNUM.sub("", fold(text))


# API field -> the Vietnamese headers it is known by (its own name always works too).
FIELD_HEADERS: dict[str, tuple[str, ...]] = {
    "tax_code": ("Mã số thuế", "MST", "Mã số doanh nghiệp"),
    "enterprise_name": ("Tên doanh nghiệp", "Doanh nghiệp", "Tên công ty"),
    "province": ("Tỉnh/Thành phố", "Tỉnh", "Tỉnh, thành phố"),
    "zone_type": ("Loại khu",),
    "zone_name": ("Tên khu", "Khu, cụm công nghiệp", "Tên khu, cụm công nghiệp"),
    "category": ("Lĩnh vực",),
    "kind": ("Loại phản ánh", "Loại"),
    "title": ("Tiêu đề", "Tóm tắt"),
    "description": ("Nội dung", "Nội dung phản ánh", "Nội dung khó khăn, vướng mắc"),
    "urgency": ("Mức độ", "Mức độ khẩn"),
    "contact.name": ("Người liên hệ", "Họ tên người liên hệ", "contact_name"),
    "contact.phone": ("Điện thoại", "Số điện thoại", "contact_phone"),
    "contact.email": ("Thư điện tử", "Email liên hệ", "contact_email"),
    "employees": ("Số lao động",),
    "sector": ("Ngành nghề", "Ngành"),
    "ward": ("Phường/Xã", "Xã/Phường", "Phường, xã"),
    "district": ("Quận/Huyện", "Huyện", "Quận, huyện"),
    "channel": ("Kênh tiếp nhận", "Kênh"),
    # Import only: the day a difficulty was taken in before it was imported (the task
    # force's register kept before thaogo); see usecases.prepare_import.
    "received_on": ("Ngày tiếp nhận",),
}
HEADERS: dict[str, str] = {
    header_key(alias): f
    for f, aliases in FIELD_HEADERS.items()
    for alias in (f, *aliases)
}
HEADERS["email"] = "contact.email"
# Without these a row cannot be a submission: the file is refused before any row is read.
REQUIRED = ("tax_code", "enterprise_name", "province", "category", "title", "description",
            "contact.name")

KIND_LABELS: dict[str, tuple[str, str]] = {
    "difficulty": ("Khó khăn, vướng mắc", "Difficulty"),
    "recommendation": ("Kiến nghị", "Recommendation"),
}
URGENCY_LABELS: dict[str, tuple[str, str]] = {
    "normal": ("Thông thường", "Normal"),
    "urgent": ("Khẩn, đột xuất", "Urgent"),
}


def _lookup(labels: Iterable[tuple[str, tuple[str, str]]],
            extra: dict[str, str] | None = None) -> dict[str, str]:
    out = {header_key(code): code for code, _ in labels}
    for code, (vi, en) in labels:
        for label in (vi, en):
            out.setdefault(header_key(label), code)
            # A spreadsheet often carries only the head of a long label:
            # "Nguyên liệu sản xuất" for "Nguyên liệu sản xuất, chuỗi cung ứng".
            out.setdefault(header_key(re.split(r"[,(]", label)[0]), code)
    for alias, code in (extra or {}).items():
        out.setdefault(header_key(alias), code)
    return out


CLOSED_LISTS: dict[str, dict[str, str]] = {
    "zone_type": _lookup([(str(k), v) for k, v in ZONE_TYPE_LABELS.items()],
                         {"Ngoài khu": "NONE", "Không": "NONE"}),
    "category": _lookup([(str(k), v) for k, v in CATEGORY_LABELS.items()]),
    "kind": _lookup(list(KIND_LABELS.items()), {"Khó khăn": "difficulty",
                                                "Vướng mắc": "difficulty"}),
    "urgency": _lookup(list(URGENCY_LABELS.items()), {"Khẩn": "urgent", "Đột xuất": "urgent",
                                                      "Bình thường": "normal"}),
}


class FileRefused(Exception):
    """The file as a whole cannot be read (encoding, header, size): no row is imported."""

    def __init__(self, problem: Problem, status: int = 422) -> None:
        super().__init__(problem.reason_en)
        self.problem = problem
        self.status = status


@dataclass(frozen=True, slots=True)
class Row:
    number: int  # as a spreadsheet numbers it: the header is row 1
    submission: dict[str, Any]
    problems: tuple[Problem, ...] = ()  # found while reading (cells beyond the header)


def _file_problem(en: str, vi: str) -> Problem:
    return Problem("file", "file", en, vi)


def read(data: bytes, *, max_rows: int) -> list[Row]:
    """The data rows of a UTF-8 CSV file (a BOM is dropped), blank rows skipped.

    FileRefused for a file that is not UTF-8, has no usable header, or more than
    `max_rows` rows (status 413)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FileRefused(_file_problem(
            f"the file is not UTF-8 text (byte {e.start}); save it as CSV UTF-8",
            f"tệp không phải văn bản UTF-8 (byte {e.start}); hãy lưu dưới dạng CSV UTF-8",
        )) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise FileRefused(_file_problem(
                "the file is empty: a header row naming the columns is expected",
                "tệp trống: dòng đầu phải là tên các cột",
            ))
        columns = _columns(header)
        rows: list[Row] = []
        for number, record in enumerate(reader, start=2):
            if not any(c.strip() for c in record):
                continue
            if len(rows) >= max_rows:
                raise FileRefused(_file_problem(
                    f"too many rows: at most {max_rows} per file; split the file",
                    f"quá nhiều dòng: tối đa {max_rows} dòng mỗi tệp; hãy chia nhỏ tệp",
                ), status=413)
            rows.append(_row(number, record, columns))
    except csv.Error as e:
        raise FileRefused(_file_problem(
            f"the file is not valid CSV (line {reader.line_num}: {e})",
            f"tệp không đúng định dạng CSV (dòng {reader.line_num}: {e})",
        )) from None
    return rows


def _columns(header: list[str]) -> list[str | None]:
    """The API field of each column (None for an unnamed, ignored column)."""
    out: list[str | None] = []
    for i, name in enumerate(header, start=1):
        k = header_key(name)
        if not k:
            out.append(None)
            continue
        f = HEADERS.get(k)
        if f is None:
            raise FileRefused(_file_problem(
                f"unknown column {name.strip()[:60]!r} (column {i}); expected the API field "
                "names or their Vietnamese headers",
                f"cột {name.strip()[:60]!r} (cột {i}) không được hỗ trợ; dùng tên trường của "
                "API hoặc tên cột tiếng Việt",
            ))
        if f in out:
            raise FileRefused(_file_problem(
                f"column {name.strip()[:60]!r} (column {i}) repeats the field {f}",
                f"cột {name.strip()[:60]!r} (cột {i}) trùng trường {f}",
            ))
        out.append(f)
    missing = [f for f in REQUIRED if f not in out]
    if missing:
        raise FileRefused(_file_problem(
            f"missing column(s): {', '.join(missing)}",
            f"thiếu cột: {', '.join(missing)}",
        ))
    return out


def _row(number: int, record: list[str], columns: list[str | None]) -> Row:
    sub: dict[str, Any] = {}
    contact: dict[str, Any] = {}
    for f, cell in zip(columns, record, strict=False):
        value = cell.strip()
        if f is None or not value:
            continue  # absent: the model's default, or its "missing" refusal
        if f in CLOSED_LISTS:
            value = CLOSED_LISTS[f].get(header_key(value), value)
        if f.startswith("contact."):
            contact[f.removeprefix("contact.")] = value
        else:
            sub[f] = value
    if contact:
        sub["contact"] = contact
    problems: tuple[Problem, ...] = ()
    if any(c.strip() for c in record[len(columns):]):
        problems = (Problem(
            "row", "extra_cells",
            f"the row has {len(record)} cells but the header only {len(columns)}",
            f"dòng có {len(record)} ô nhưng dòng tiêu đề chỉ có {len(columns)} cột",
        ),)
    return Row(number, sub, problems)
