"""Vietnamese text and identifiers: folding, cleaning, tax codes, provinces, zone and
place names.

Pure functions. Invalid input raises `InvalidField`, a `ValueError` that carries
the field name and the reason in English and Vietnamese, so the HTTP layer can
answer a 4xx in the language of the request.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from stdnum import exceptions as stdnum_exc
from stdnum.vn import mst
from vietnam_provinces import Province as _PkgProvince


class InvalidField(ValueError):
    """A field's value was refused; `reason_en` / `reason_vi` say why."""

    def __init__(self, field: str, reason_en: str, reason_vi: str) -> None:
        super().__init__(f"{field}: {reason_en}")
        self.field = field
        self.reason_en = reason_en
        self.reason_vi = reason_vi

    def reason(self, lang: str = "vi") -> str:
        return self.reason_vi if lang.lower().startswith("vi") else self.reason_en


# --- folding and cleaning --------------------------------------------------------

# đ/Đ do not decompose under NFD. Ð/ð (Icelandic eth) look identical to Đ and
# show up in text converted from legacy Vietnamese encodings.
_NON_DECOMPOSING = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "Ð": "d"})


def fold(text: str) -> str:
    """A search key: no diacritics, lowercase, single spaces ("Tháo  gỡ" -> "thao go").

    Insensitive to NFC/NFD and to compatibility forms (full-width letters, ligatures).
    """
    s = unicodedata.normalize("NFKD", text.translate(_NON_DECOMPOSING).casefold())
    s = "".join(c for c in s if not unicodedata.combining(c))
    # casefold and NFKD can each produce what the other would change again.
    s = unicodedata.normalize("NFKD", s.casefold().translate(_NON_DECOMPOSING))
    s = "".join(c for c in s if not unicodedata.combining(c))
    return " ".join(s.split())


_HSPACE_RE = re.compile(r"[^\S\n]+")  # whitespace other than newline
_BLANK_LINES_RE = re.compile(r"\n{3,}")


def strip_invisible(text: str) -> str:
    """`text` without format characters (Unicode category Cf): bidirectional controls
    (U+202A-202E, U+2066-2069, U+200E/F, U+061C), zero-width spaces and joiners, the
    byte-order mark, soft hyphens, tag characters. They are invisible, so a title could
    show one thing and say another ("Trojan Source"); Vietnamese needs none of them, and
    its combining marks are category Mn, kept."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def nfc_clean(text: str, max_len: int, *, field: str = "text", multiline: bool = False) -> str:
    """Text as stored: NFC, trimmed, runs of spaces collapsed, no control characters and
    no invisible format characters (removed first, so that a mark split from its letter
    by one still composes).

    With `multiline`, line breaks are kept (CRLF/CR become LF, trailing spaces go,
    at most one blank line in a row); otherwise every line break becomes a space.
    Tabs count as spaces. Raises InvalidField if the result is empty or longer than
    `max_len` characters (code points, as pydantic counts).
    """
    s = unicodedata.normalize("NFC", strip_invisible(text))
    s = s.replace("\r\n", "\n").replace("\r", "\n")
    for c in s:
        if c not in "\n\t" and unicodedata.category(c) == "Cc":
            raise InvalidField(
                field,
                f"contains a control character (U+{ord(c):04X})",
                f"chứa ký tự điều khiển không hợp lệ (U+{ord(c):04X})",
            )
    if multiline:
        lines = (_HSPACE_RE.sub(" ", line).strip() for line in s.split("\n"))
        s = _BLANK_LINES_RE.sub("\n\n", "\n".join(lines)).strip()
    else:
        s = " ".join(s.split())
    if not s:
        raise InvalidField(field, "must not be empty", "không được để trống")
    if len(s) > max_len:
        raise InvalidField(
            field,
            f"is too long: {len(s)} characters, at most {max_len} allowed",
            f"quá dài: {len(s)} ký tự, tối đa {max_len} ký tự",
        )
    return s


# --- tax codes (mã số thuế) -----------------------------------------------------


def normalize_tax_code(raw: str) -> str:
    """A valid MST in standard form: "0100233488", or "0314409058-002" for a branch.

    Spaces, dots and dashes are tolerated on input; the check digit is verified.
    """
    field = "tax_code"
    # NFKC turns full-width digits (from some IMEs) into ASCII ones.
    s = unicodedata.normalize("NFKC", raw).strip()
    if not s:
        raise InvalidField(field, "must not be empty", "Mã số thuế không được để trống")
    # InvalidLength subclasses InvalidFormat in stdnum, so it is caught first.
    try:
        number = mst.validate(s)
    except stdnum_exc.InvalidLength:
        raise InvalidField(
            field,
            "must have 10 digits, or 13 for a branch (e.g. 0123456789-001)",
            "Mã số thuế phải có 10 chữ số, hoặc 13 chữ số đối với chi nhánh (ví dụ 0123456789-001)",
        ) from None
    except stdnum_exc.InvalidFormat:
        raise InvalidField(
            field,
            "may contain only digits (and a dash before the branch number)",
            "Mã số thuế chỉ gồm chữ số (và dấu gạch ngang trước số chi nhánh)",
        ) from None
    except stdnum_exc.InvalidChecksum:
        raise InvalidField(
            field,
            "check digit does not match: the number is probably mistyped",
            "Mã số thuế có chữ số kiểm tra không khớp: có thể đã bị nhập sai",
        ) from None
    except stdnum_exc.ValidationError:
        # InvalidComponent: sequence 0000000 or branch 000 cannot be issued.
        raise InvalidField(
            field,
            "is not a number that can be issued (zero sequence or branch 000)",
            "Mã số thuế không tồn tại (số thứ tự hoặc số chi nhánh bằng 0)",
        ) from None
    return str(mst.format(number))


# --- provinces ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Province:
    """A province as of today, and the 2021 province the input named if different.

    `task_force_slug` names the task force: task forces were set up by the 63
    provinces of 2021, so it is the slug of the former province when one was
    named, else of the 2021 province whose name the current one kept.
    """

    code: str  # official code of the current province, two digits: "79"
    name: str  # current official name: "Thành phố Hồ Chí Minh"
    slug: str  # ascii slug of the current province: "ho-chi-minh"
    task_force_slug: str  # "binh-duong"
    former_name: str | None = None  # "Bình Dương", when the input named it
    former_code: str | None = None  # its pre-2025 code: "74"


# The 63 provinces before 1 July 2025: (old code, name, code of the province it
# is part of since Resolution 202/2025/QH15). Codes are the official ones.
FORMER_PROVINCES: tuple[tuple[str, str, str], ...] = (
    ("01", "Hà Nội", "01"),
    ("02", "Hà Giang", "08"),
    ("04", "Cao Bằng", "04"),
    ("06", "Bắc Kạn", "19"),
    ("08", "Tuyên Quang", "08"),
    ("10", "Lào Cai", "15"),
    ("11", "Điện Biên", "11"),
    ("12", "Lai Châu", "12"),
    ("14", "Sơn La", "14"),
    ("15", "Yên Bái", "15"),
    ("17", "Hòa Bình", "25"),
    ("19", "Thái Nguyên", "19"),
    ("20", "Lạng Sơn", "20"),
    ("22", "Quảng Ninh", "22"),
    ("24", "Bắc Giang", "24"),
    ("25", "Phú Thọ", "25"),
    ("26", "Vĩnh Phúc", "25"),
    ("27", "Bắc Ninh", "24"),
    ("30", "Hải Dương", "31"),
    ("31", "Hải Phòng", "31"),
    ("33", "Hưng Yên", "33"),
    ("34", "Thái Bình", "33"),
    ("35", "Hà Nam", "37"),
    ("36", "Nam Định", "37"),
    ("37", "Ninh Bình", "37"),
    ("38", "Thanh Hóa", "38"),
    ("40", "Nghệ An", "40"),
    ("42", "Hà Tĩnh", "42"),
    ("44", "Quảng Bình", "44"),
    ("45", "Quảng Trị", "44"),
    ("46", "Thừa Thiên Huế", "46"),
    ("48", "Đà Nẵng", "48"),
    ("49", "Quảng Nam", "48"),
    ("51", "Quảng Ngãi", "51"),
    ("52", "Bình Định", "52"),
    ("54", "Phú Yên", "66"),
    ("56", "Khánh Hòa", "56"),
    ("58", "Ninh Thuận", "56"),
    ("60", "Bình Thuận", "68"),
    ("62", "Kon Tum", "51"),
    ("64", "Gia Lai", "52"),
    ("66", "Đắk Lắk", "66"),
    ("67", "Đắk Nông", "68"),
    ("68", "Lâm Đồng", "68"),
    ("70", "Bình Phước", "75"),
    ("72", "Tây Ninh", "80"),
    ("74", "Bình Dương", "79"),
    ("75", "Đồng Nai", "75"),
    ("77", "Bà Rịa - Vũng Tàu", "79"),
    ("79", "Hồ Chí Minh", "79"),
    ("80", "Long An", "80"),
    ("82", "Tiền Giang", "82"),
    ("83", "Bến Tre", "86"),
    ("84", "Trà Vinh", "86"),
    ("86", "Vĩnh Long", "86"),
    ("87", "Đồng Tháp", "82"),
    ("89", "An Giang", "91"),
    ("91", "Kiên Giang", "91"),
    ("92", "Cần Thơ", "92"),
    ("93", "Hậu Giang", "92"),
    ("94", "Sóc Trăng", "92"),
    ("95", "Bạc Liêu", "96"),
    ("96", "Cà Mau", "96"),
)

# Every merged province kept one constituent's name; Huế is the one whose name
# changed (Thừa Thiên Huế became Thành phố Huế in January 2025).
_RENAMED_CORE = {"46": "Thừa Thiên Huế"}

# Common ways of writing a name that folding alone does not reach (compact keys).
_ALIASES: dict[str, str] = {
    "hcm": "Hồ Chí Minh",
    "hcmc": "Hồ Chí Minh",
    "tphcm": "Hồ Chí Minh",
    "saigon": "Hồ Chí Minh",
    "brvt": "Bà Rịa - Vũng Tàu",
    "daclac": "Đắk Lắk",
    "baccan": "Bắc Kạn",
    "thuathienhue": "Thừa Thiên Huế",
}

_PREFIXES: tuple[tuple[str, ...], ...] = (
    ("thanh", "pho"),
    ("thu", "do"),
    ("tinh",),
    ("tp",),
    ("t", "p"),
    ("province",),
    ("city",),
)
_SUFFIXES: tuple[tuple[str, ...], ...] = (("province",), ("city",))
_CITY_PREFIX = "Thành phố "


def _tokens(text: str) -> list[str]:
    return re.sub(r"[^0-9a-z]+", " ", fold(text)).split()


def slugify(text: str) -> str:
    """ASCII slug: "Bà Rịa - Vũng Tàu" -> "ba-ria-vung-tau"."""
    return "-".join(_tokens(text))


def _strip_affixes(
    tokens: list[str],
    prefixes: tuple[tuple[str, ...], ...],
    suffixes: tuple[tuple[str, ...], ...] = (),
) -> list[str]:
    """Drop leading prefixes / trailing suffixes, but never down to nothing."""
    changed = True
    while changed:
        changed = False
        for p in prefixes:
            if len(tokens) > len(p) and tuple(tokens[: len(p)]) == p:
                tokens, changed = tokens[len(p) :], True
        for sfx in suffixes:
            if len(tokens) > len(sfx) and tuple(tokens[-len(sfx) :]) == sfx:
                tokens, changed = tokens[: -len(sfx)], True
    return tokens


def _province_key(text: str) -> str:
    # Compact (no spaces) so "Daklak", "Dak Lak" and "Đắk Lắk" meet.
    return "".join(_strip_affixes(_tokens(text), _PREFIXES, _SUFFIXES))


@dataclass(frozen=True, slots=True)
class _Index:
    by_key: dict[str, Province]
    current: tuple[Province, ...]


def _short_name(name: str) -> str:
    return name.removeprefix(_CITY_PREFIX)


@functools.cache
def _index() -> _Index:
    current: dict[str, Province] = {}
    for p in _PkgProvince.iter_all():
        code = f"{int(p.code):02d}"
        short = _short_name(p.name)
        core = _RENAMED_CORE.get(code, short)
        current[code] = Province(
            code=code, name=p.name, slug=slugify(short), task_force_slug=slugify(core)
        )
    by_key: dict[str, Province] = {}
    by_former_name: dict[str, Province] = {}
    for old_code, old_name, new_code in FORMER_PROVINCES:
        now = current[new_code]
        if slugify(old_name) == now.task_force_slug:
            # Same province under the same name: nothing former about it.
            entry = now
        else:
            entry = Province(
                code=now.code,
                name=now.name,
                slug=now.slug,
                task_force_slug=slugify(old_name),
                former_name=old_name,
                former_code=old_code,
            )
        by_former_name[old_name] = entry
        by_key[_province_key(old_name)] = entry
        # An old code reused by the new list means the new province (see resolve_province).
        if old_code not in current:
            by_key[old_code] = entry
    for code, prov in current.items():
        by_key[_province_key(prov.name)] = prov
        by_key[code] = prov
    for alias, target in _ALIASES.items():
        by_key[alias] = by_former_name[target]
    return _Index(by_key=by_key, current=tuple(current.values()))


def current_provinces() -> tuple[Province, ...]:
    """The 34 provinces and centrally-run cities since 1 July 2025."""
    return _index().current


def resolve_province(raw: str) -> Province:
    """The province `raw` names: a code, a current or pre-2025 name, any spelling.

    Accepted: the official code ("79", "01" or "1"); the name with or without diacritics,
    in any case, with or without "Tỉnh" / "Thành phố" / "TP."; the 63 names of
    before the July 2025 merger ("Bình Dương" -> Thành phố Hồ Chí Minh, keeping
    former_name="Bình Dương", task_force_slug="binh-duong"). A code that is a
    current code means the current province (82 is Đồng Tháp now, not Tiền Giang);
    a pre-2025 code that is no longer used means the former province (74 -> Bình
    Dương).
    """
    s = raw.strip() if isinstance(raw, str) else ""
    if s.isdigit() and len(s) <= 2:
        s = f"{int(s):02d}"
        key = s
    else:
        key = _province_key(s)
    found = _index().by_key.get(key) if key else None
    if found is None:
        shown = s[:60]
        raise InvalidField(
            "province",
            f"unknown province or city: {shown!r}",
            f"không nhận ra tỉnh, thành phố: {shown!r}",
        )
    return found


# --- zone names ------------------------------------------------------------------------

_ZONE_PREFIXES: tuple[tuple[str, ...], ...] = tuple(
    sorted(
        (
            tuple(p.split())
            for p in (
                "khu cong nghiep",
                "khu cn",
                "kcn",
                "k c n",
                "cum cong nghiep",
                "cum cn",
                "ccn",
                "khu kinh te",
                "kkt",
                "khu che xuat",
                "kcx",
                "khu cong nghe cao",
                "kcnc",
                "cua khau",  # "KKT cửa khẩu Lao Bảo" is also "KKT Lao Bảo"
                "ven bien",  # "KKT ven biển ..."
                "industrial park",
                "industrial zone",
                "industrial cluster",
                "economic zone",
            )
        ),
        key=len,
        reverse=True,  # longest first, so "khu cong nghe cao" beats nothing shorter
    )
)

_ROMAN_NUMERALS = (
    "i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x",
    "xi", "xii", "xiii", "xiv", "xv", "xvi", "xvii", "xviii", "xix", "xx",
)  # fmt: skip
_ROMAN = {r: str(i) for i, r in enumerate(_ROMAN_NUMERALS, 1)}


def zone_key(name: str) -> str:
    """Matching key for a park, zone or cluster name.

    Ignores diacritics, case, spacing and punctuation, drops the kind prefix
    ("KCN", "khu công nghiệp", "CCN", "KKT", ...), writes whole-word Roman
    numerals I..XX as Arabic and drops leading zeros:
    "KCN VSIP II" == "khu công nghiệp vsip 2" == "VSIP  2" -> "vsip 2".
    The key is for equality only: "Vị Thanh" also becomes "6 thanh", the same
    on both sides of a comparison.
    """
    # Split "vsip2" into "vsip 2" so glued and spaced numbers meet.
    spaced = re.sub(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])", " ", " ".join(_tokens(name)))
    tokens = _strip_affixes(spaced.split(), _ZONE_PREFIXES)
    out = [_ROMAN.get(t) or (str(int(t)) if t.isdigit() else t) for t in tokens]
    return " ".join(out)


_AREA_PREFIXES: tuple[tuple[str, ...], ...] = tuple(
    tuple(p.split())
    for p in (
        "thanh pho",
        "thi xa",
        "thi tran",
        "huyen",
        "quan",
        "phuong",
        "xa",
        "tp",
        "tx",
        "tt",
        "p",
        "q",
        "h",
        "district",
        "ward",
        "commune",
        "town",
        "city",
    )
)


def area_key(text: str) -> str:
    """Matching key for a place name: "TP. Thủ Dầu Một" == "thu dau mot" == "Thủ Dầu Một".

    Folded (`fold`), punctuation dropped, and the administrative prefix (thành phố,
    thị xã, huyện, quận, phường, xã, thị trấn, TP., TX., ...) removed.
    """
    return " ".join(_strip_affixes(_tokens(text), _AREA_PREFIXES))
