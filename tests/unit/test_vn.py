from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.vn import mst

from shared.vn import (
    FORMER_PROVINCES,
    InvalidField,
    area_key,
    current_provinces,
    fold,
    nfc_clean,
    normalize_tax_code,
    resolve_province,
    slugify,
    zone_key,
)

# --- fold ---------------------------------------------------------------------------


def test_fold_nfc_and_nfd_agree() -> None:
    nfc = unicodedata.normalize("NFC", "Tháo gỡ")
    nfd = unicodedata.normalize("NFD", "Tháo gỡ")
    assert nfc != nfd
    assert fold(nfc) == fold(nfd) == "thao go"


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("ĐỒNG THÁP", "dong thap"),
        ("Đắk Lắk", "dak lak"),
        ("  Khó   khăn,\tvướng\nmắc ", "kho khan, vuong mac"),
        ("Bà Rịa - Vũng Tàu", "ba ria - vung tau"),
        ("Ðà Nẵng", "da nang"),  # Icelandic eth from legacy encodings
        ("ＫＣＮ", "kcn"),  # full-width
        ("Thanh Hoá", "thanh hoa"),
        ("", ""),
    ],
)
def test_fold_examples(text: str, folded: str) -> None:
    assert fold(text) == folded


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(st.text())
def test_fold_ignores_normal_form(text: str) -> None:
    forms = {fold(unicodedata.normalize(f, text)) for f in ("NFC", "NFD", "NFKC", "NFKD")}
    assert len(forms) == 1


_VIETNAMESE = st.text(
    alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxy "
    "áàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ",
    max_size=40,
)


@given(_VIETNAMESE)
def test_fold_of_vietnamese_is_plain_ascii(text: str) -> None:
    folded = fold(text.upper())
    assert folded.isascii()
    assert folded == fold(text)


# --- nfc_clean -------------------------------------------------------------------------


def test_nfc_clean_normalises_and_collapses() -> None:
    nfd = unicodedata.normalize("NFD", "  Công ty   TNHH\u00a0Tháo gỡ \n ")
    assert nfc_clean(nfd, 100) == "Công ty TNHH Tháo gỡ"
    assert unicodedata.is_normalized("NFC", nfc_clean(nfd, 100))


def test_nfc_clean_multiline_keeps_paragraphs() -> None:
    text = "Dòng 1  \r\n\tDòng   2\r\n\r\n\r\n\r\nĐoạn 2\n"
    assert nfc_clean(text, 100, multiline=True) == "Dòng 1\nDòng 2\n\nĐoạn 2"
    assert nfc_clean(text, 100) == "Dòng 1 Dòng 2 Đoạn 2"


def test_nfc_clean_length_counts_characters_after_cleaning() -> None:
    assert nfc_clean(unicodedata.normalize("NFD", "gỡ") + "   ", 2) == "gỡ"
    with pytest.raises(InvalidField) as err:
        nfc_clean("abc", 2, field="company_name")
    assert err.value.field == "company_name"
    assert "at most 2" in err.value.reason_en
    assert "tối đa 2" in err.value.reason("vi-VN")


@pytest.mark.parametrize("text", ["", "   ", "\n\t\n"])
def test_nfc_clean_refuses_empty(text: str) -> None:
    with pytest.raises(InvalidField, match="empty"):
        nfc_clean(text, 10, multiline=True)


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85"])
def test_nfc_clean_refuses_control_characters(char: str) -> None:
    with pytest.raises(ValueError, match="control character"):
        nfc_clean(f"a{char}b", 10)


@pytest.mark.parametrize("char", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
                                  "\u2066", "\u2067", "\u2068", "\u2069", "\u200e",
                                  "\u200f", "\u061c", "\u200b", "\u200c", "\u200d",
                                  "\u2060", "\ufeff", "\u00ad", "\U000e0041"])
def test_nfc_clean_removes_invisible_format_characters(char: str) -> None:
    assert nfc_clean(f"{char}Tháo{char} gỡ{char}", 20) == "Tháo gỡ"
    assert nfc_clean(f"a{char}\nb", 20, multiline=True) == "a\nb"


def test_nfc_clean_keeps_vietnamese_marks_split_by_an_invisible_character() -> None:
    nfd = unicodedata.normalize("NFD", "Việt")
    split = nfd[:2] + "\u200b" + nfd[2:]  # between the letter and one of its marks
    assert nfc_clean(split, 10) == "Việt"
    assert nfc_clean(nfd, 10) == "Việt"


# --- tax codes ---------------------------------------------------------------------------


def _valid_mst(prefix9: str) -> str:
    check = mst.calc_check_digit(prefix9)
    # stdnum's check digit can be "10", which no 10-digit code can carry.
    assert len(check) == 1, f"{prefix9} has no valid check digit"
    return prefix9 + check


def test_tax_code_examples_are_really_valid() -> None:
    # Sanity: our helper agrees with stdnum's own documented example.
    assert _valid_mst("010023348") == "0100233488"


@pytest.mark.parametrize("prefix", ["010023348", "031440905", "370000001", "280123456"])
def test_valid_tax_codes(prefix: str) -> None:
    code = _valid_mst(prefix)
    assert normalize_tax_code(code) == code
    assert normalize_tax_code(f" {code[:2]}.{code[2:5]}.{code[5:]} ") == code
    assert normalize_tax_code(f"{code}-001") == f"{code}-001"
    assert normalize_tax_code(f"{code}001") == f"{code}-001"
    assert normalize_tax_code(f"{code} - 015") == f"{code}-015"


def test_full_width_digits_are_accepted() -> None:
    code = _valid_mst("010023348")
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in code)
    assert normalize_tax_code(full_width) == code


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("12345", "10 digits"),
        ("01002334881", "10 digits"),
        ("010023348A", "only digits"),
        ("0100233480", "check digit"),
        ("0100233488-000", "branch 000"),
        ("0100000000", "zero sequence"),
    ],
)
def test_invalid_tax_codes(raw: str, reason: str) -> None:
    with pytest.raises(InvalidField) as err:
        normalize_tax_code(raw)
    assert err.value.field == "tax_code"
    assert reason in err.value.reason_en
    assert err.value.reason_vi.startswith("Mã số thuế")
    assert isinstance(err.value, ValueError)


# --- provinces ---------------------------------------------------------------------------


def test_package_has_34_current_provinces() -> None:
    provinces = current_provinces()
    assert len(provinces) == 34
    assert len({p.slug for p in provinces}) == 34
    assert all(p.former_name is None for p in provinces)


def test_former_table_covers_63_provinces_into_34() -> None:
    assert len(FORMER_PROVINCES) == 63
    assert len({code for code, _, _ in FORMER_PROVINCES}) == 63
    current = {p.code for p in current_provinces()}
    assert {new for _, _, new in FORMER_PROVINCES} == current


@pytest.mark.parametrize(
    ("raw", "code", "slug", "task_force"),
    [
        ("79", "79", "ho-chi-minh", "ho-chi-minh"),
        ("1", "01", "ha-noi", "ha-noi"),
        ("Thành phố Hà Nội", "01", "ha-noi", "ha-noi"),
        ("ha noi", "01", "ha-noi", "ha-noi"),
        ("TP. Hồ Chí Minh", "79", "ho-chi-minh", "ho-chi-minh"),
        ("TP.HCM", "79", "ho-chi-minh", "ho-chi-minh"),
        ("Ho Chi Minh City", "79", "ho-chi-minh", "ho-chi-minh"),
        ("tỉnh thanh hoá", "38", "thanh-hoa", "thanh-hoa"),
        ("THANH HOA", "38", "thanh-hoa", "thanh-hoa"),
        ("Ninh Bình", "37", "ninh-binh", "ninh-binh"),
        ("Đồng Tháp", "82", "dong-thap", "dong-thap"),
        ("82", "82", "dong-thap", "dong-thap"),  # a reused code means today's province
        ("Daklak", "66", "dak-lak", "dak-lak"),
        ("Thành phố Huế", "46", "hue", "thua-thien-hue"),
    ],
)
def test_current_names_and_codes(raw: str, code: str, slug: str, task_force: str) -> None:
    p = resolve_province(raw)
    assert (p.code, p.slug, p.task_force_slug, p.former_name) == (code, slug, task_force, None)


@pytest.mark.parametrize(
    ("raw", "code", "former", "task_force"),
    [
        ("Bình Dương", "79", "Bình Dương", "binh-duong"),
        ("binh duong", "79", "Bình Dương", "binh-duong"),
        ("Tỉnh Bình Dương", "79", "Bình Dương", "binh-duong"),
        ("74", "79", "Bình Dương", "binh-duong"),  # old code no longer in use
        ("Bà Rịa - Vũng Tàu", "79", "Bà Rịa - Vũng Tàu", "ba-ria-vung-tau"),
        ("Ba Ria Vung Tau", "79", "Bà Rịa - Vũng Tàu", "ba-ria-vung-tau"),
        ("BRVT", "79", "Bà Rịa - Vũng Tàu", "ba-ria-vung-tau"),
        ("Tiền Giang", "82", "Tiền Giang", "tien-giang"),
        ("Hà Nam", "37", "Hà Nam", "ha-nam"),
        ("NAM ĐỊNH", "37", "Nam Định", "nam-dinh"),
        ("Yên Bái", "15", "Yên Bái", "yen-bai"),
        ("Hòa Bình", "25", "Hòa Bình", "hoa-binh"),
        ("Hoà Bình", "25", "Hòa Bình", "hoa-binh"),
        ("Quảng Bình", "44", "Quảng Bình", "quang-binh"),
        ("Kon Tum", "51", "Kon Tum", "kon-tum"),
        ("Bình Định", "52", "Bình Định", "binh-dinh"),
        ("Phú Yên", "66", "Phú Yên", "phu-yen"),
        ("Bình Thuận", "68", "Bình Thuận", "binh-thuan"),
        ("Long An", "80", "Long An", "long-an"),
        ("Kiên Giang", "91", "Kiên Giang", "kien-giang"),
        ("Sóc Trăng", "92", "Sóc Trăng", "soc-trang"),
        ("Bạc Liêu", "96", "Bạc Liêu", "bac-lieu"),
        ("Hải Dương", "31", "Hải Dương", "hai-duong"),
        ("Bắc Giang", "24", "Bắc Giang", "bac-giang"),
        ("Vĩnh Phúc", "25", "Vĩnh Phúc", "vinh-phuc"),
    ],
)
def test_former_provinces(raw: str, code: str, former: str, task_force: str) -> None:
    p = resolve_province(raw)
    assert (p.code, p.former_name, p.task_force_slug) == (code, former, task_force)
    assert p.slug == resolve_province(code).slug


def test_every_former_province_resolves_by_name() -> None:
    for old_code, name, new_code in FORMER_PROVINCES:
        p = resolve_province(name)
        assert p.code == new_code
        assert p.task_force_slug == (slugify(name) if old_code != "46" else "thua-thien-hue")
        assert resolve_province(fold(name).upper()) == p


def test_every_current_province_resolves_by_its_names() -> None:
    for p in current_provinces():
        assert resolve_province(p.name) == p
        assert resolve_province(p.code) == p
        assert resolve_province(p.slug.replace("-", " ")) == p


def test_thua_thien_hue_is_the_same_task_force_as_hue() -> None:
    assert resolve_province("Thừa Thiên - Huế").task_force_slug == "thua-thien-hue"
    assert resolve_province("Thừa Thiên - Huế").code == "46"


@pytest.mark.parametrize("raw", ["", "  ", "Hà Tây", "Atlantis", "00", "99", "Thành phố", "tinh"])
def test_unknown_provinces(raw: str) -> None:
    with pytest.raises(InvalidField) as err:
        resolve_province(raw)
    assert err.value.field == "province"
    assert "tỉnh" in err.value.reason_vi


# --- zone keys ------------------------------------------------------------------------------


def test_vsip_spellings_meet() -> None:
    variants = [
        "KCN VSIP II",
        "khu công nghiệp vsip 2",
        "VSIP  2",
        "Khu Cong Nghiep VSIP-II",
        "VSIP2",
    ]
    assert {zone_key(v) for v in variants} == {"vsip 2"}


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Việt Nam - Singapore II", "viet nam singapore 2"),
        ("KCN Nhơn Trạch III", "nhon trach 3"),
        ("Cụm công nghiệp Phú Mỹ XX", "phu my 20"),
        ("CCN Tân Bình", "tan binh"),
        ("Khu kinh tế Nghi Sơn", "nghi son"),
        ("KKT Nghi Sơn", "nghi son"),
        ("KKT cửa khẩu Lao Bảo", "lao bao"),
        ("KCN Gián Khẩu", "gian khau"),
        ("KCN Vinh Tân", "vinh tan"),  # "vi" inside a word is left alone
        ("KCN Đình Vũ", "dinh vu"),
        ("Khu công nghệ cao Hòa Lạc", "hoa lac"),
        ("KCN Phố Nối A", "pho noi a"),
        ("KCN Quế Võ XXI", "que vo xxi"),  # beyond XX: not a numeral we map
        ("KCN", "kcn"),  # nothing left to strip to
        ("KCN Sóng Thần 01", "song than 1"),
    ],
)
def test_zone_keys(name: str, key: str) -> None:
    assert zone_key(name) == key


def test_zone_key_is_diacritic_and_form_insensitive() -> None:
    name = "Khu công nghiệp Việt Nam – Singapore II"
    assert zone_key(unicodedata.normalize("NFD", name)) == zone_key(fold(name)) == zone_key(name)


def test_area_key() -> None:
    assert area_key("TP. Thủ Dầu Một") == "thu dau mot"
    assert area_key("thành phố Thủ Dầu Một") == "thu dau mot"
    assert area_key("Phường Dĩ An") == area_key("di an") == "di an"
    assert area_key("Huyện Bàu Bàng") == "bau bang"
    assert area_key("Xã") == "xa"  # never stripped down to nothing
