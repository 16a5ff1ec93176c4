"""CSV exports: text a spreadsheet would run as a formula is written as text."""

from __future__ import annotations

import csv
import io

import pytest

from shared.exports import csv_text, spreadsheet_safe


@pytest.mark.parametrize("text", ["=1+1", "+33 1", "-2+3", "@SUM(A1)", "\t=1", "\r=1",
                                  '=HYPERLINK("http://x","y")'])
def test_formula_like_text_is_quoted(text: str) -> None:
    assert spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize("value", ["Thiếu nguyên liệu", "a=b", " =1", "TG-7K3M", 3, -4, 1.5])
def test_other_cells_are_written_as_they_are(value: object) -> None:
    assert spreadsheet_safe(value) == value


def test_csv_text_round_trips_through_a_reader() -> None:
    text = csv_text(("title", "n", "due"), [("=cmd|' /C calc'!A0", -1, None), ("ok, fine", 2, "x")])
    assert text.endswith("\r\n")
    assert list(csv.reader(io.StringIO(text))) == [
        ["title", "n", "due"], ["'=cmd|' /C calc'!A0", "-1", ""], ["ok, fine", "2", "x"]]
