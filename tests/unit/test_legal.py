"""Legal documents cited in businesses' text, one key each (#25 item 1)."""

from __future__ import annotations

import pytest

from shared import legal


@pytest.mark.parametrize(("text", "key"), [
    ("Theo Nghị định 30/2020/NĐ-CP về công tác văn thư", "30/2020/ND-CP"),
    ("theo nghi dinh so 30/2020/ND-CP", "30/2020/ND-CP"),
    ("NĐ 30/2020 quy định thể thức", "30/2020/ND-CP"),  # a decree's symbol is NĐ-CP
    ("Nghị định số 30 / 2020 / NĐ - CP", "30/2020/ND-CP"),
    ("Thông tư số 02/2017/TT-VPCP", "2/2017/TT-VPCP"),
    ("thong tu 2/2017/tt-vpcp", "2/2017/TT-VPCP"),
    ("Quyết định 574/QĐ-TTg", "574/QD-TTG"),
    ("QD so 574/QD-TTG", "574/QD-TTG"),
    ("Công văn 123/UBND-KT ngày 5/3", "123/UBND-KT"),
    ("cong van so 123/ubnd-kt", "123/UBND-KT"),
    ("văn bản 123/UBND-KT", "123/UBND-KT"),
    ("Luật Đầu tư 2020", "LUAT DAU TU 2020"),
    ("luat dau tu nam 2020", "LUAT DAU TU 2020"),
    ("Luật Đầu tư số 61/2020/QH14", "LUAT DAU TU 2020"),
    ("Luật Phòng cháy và chữa cháy năm 2001", "LUAT PHONG CHAY VA CHUA CHAY 2001"),
    ("Nghị quyết 15/2023/NQ-HĐND", "15/2023/NQ-HDND"),
    ("TTLT 01/2016/TTLT-BTC-BLĐTBXH", "1/2016/TTLT-BTC-BLDTBXH"),
    ("Ｎghị định 30/2020/NĐ-CP", "30/2020/ND-CP"),  # a full-width letter from an IME
])
def test_each_way_of_citing_a_document_gives_its_one_key(text: str, key: str) -> None:
    assert legal.keys(text) == (key,)


@pytest.mark.parametrize("text", [
    "làm việc 24/7, giảm 1/2 thời gian",
    "theo luật thì phải nộp",  # "luật" as a common noun, no year
    "ngày 05/03/2025",
    "C/O mẫu D",
    "",
])
def test_what_is_not_a_document(text: str) -> None:
    assert legal.keys(text) == ()


def test_several_documents_each_once_first_cited_first_with_the_writers_words() -> None:
    text = ("Điều 5 Nghị định số 123/2020/NĐ-CP và Thông tư 78/2021/TT-BTC; nhắc lại "
            "nghi dinh 123/2020/nd-cp, và Luật Đầu tư số 61/2020/QH14")
    assert legal.citations(text) == [
        legal.Citation("123/2020/ND-CP", "Nghị định số 123/2020/NĐ-CP"),
        legal.Citation("78/2021/TT-BTC", "Thông tư 78/2021/TT-BTC"),
        # The law's number is the law, not a second document.
        legal.Citation("LUAT DAU TU 2020", "Luật Đầu tư số 61/2020/QH14"),
    ]
