"""Vietnamese legal documents cited in free text, each normalised to one key (#25 item 1).

Businesses cite the same decree many ways: "Nghị định 30/2020/NĐ-CP", "nghi dinh so
30/2020/ND-CP", "NĐ 30/2020", "Thông tư số 02/2017/TT-VPCP", "QĐ 574/QĐ-TTg", "Công văn
123/UBND-KT", "Luật Đầu tư 2020", "Luật Đầu tư số 61/2020/QH14". Recognition runs on the
text folded (no diacritics, lowercase) so that all of these meet; the key is ASCII and
upper case ("30/2020/ND-CP", "2/2017/TT-VPCP", "574/QD-TTG", "LUAT DAU TU 2020"), the
label what the first writer wrote, for people to read. Pure functions, no I/O.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from shared import vn

# A document's type as written before its number (folded), and the code its symbol
# starts with when the writer left the symbol out ("Nghị định 30/2020").
_TYPES: dict[str, str] = {
    "nghi dinh": "ND", "nd": "ND",
    "thong tu lien tich": "TTLT", "ttlt": "TTLT",
    "thong tu": "TT", "tt": "TT",
    "quyet dinh": "QD", "qd": "QD",
    "nghi quyet": "NQ", "nq": "NQ",
    "chi thi": "CT", "ct": "CT",
    "cong van": "CV", "cv": "CV", "van ban": "CV",
}
# Longest first, so "thong tu lien tich" is not read as "thong tu".
_TYPE_RE = "|".join(sorted((re.escape(t) for t in _TYPES), key=len, reverse=True))
# Decrees are issued by the Government: its symbol is always NĐ-CP.
_DEFAULT_SYMBOL = {"ND": "ND-CP"}

# "30/2020/nd-cp", "02/2017/tt-vpcp", "574/qd-ttg", "123/ubnd-kt", "61/2020/qh14": a
# number, a year (not on every letter), and a symbol that has a dash or is the
# National Assembly's (QH + legislature), so that "1/2" or "24/7" is not a document.
_NUMBERED = re.compile(
    rf"(?:\b(?P<type>{_TYPE_RE})\s*(?:so\s*)?)?"
    r"\b(?P<num>\d{1,5})\s*/\s*(?:(?P<year>(?:19|20)\d\d)\s*/\s*)?"
    r"(?P<symbol>[a-z]{1,8}(?:\s*-\s*[a-z0-9]{1,12}){1,3}|qh\s*\d{1,2})(?![a-z0-9])")
# "Nghị định 30/2020", "TT số 15/2022": type, number and year, no symbol.
_TYPED = re.compile(
    rf"\b(?P<type>{_TYPE_RE})\s*(?:so\s*)?(?P<num>\d{{1,5}})\s*/\s*"
    r"(?P<year>(?:19|20)\d\d)(?![\d/])")
# "Luật Đầu tư 2020", "Luật Đất đai năm 2024", "Luật Đầu tư số 61/2020/QH14": a law is
# known by its name and year; without a year "luật" is too often the common noun.
_LAW = re.compile(
    r"\bluat\s+(?P<name>[a-z]+(?:\s+[a-z]+){0,7}?)\s*"
    r"(?:so\s*\d{1,3}\s*/\s*(?P<numyear>(?:19|20)\d\d)\s*/\s*qh\s*\d{1,2}"
    r"|(?:nam\s+)?(?P<year>(?:19|20)\d\d))(?!\d)")
_LAW_NAME_STOP = frozenset({"so", "nam"})


@dataclass(frozen=True, slots=True)
class Citation:
    """A document cited: its key (for grouping) and the words the writer used."""

    key: str
    label: str


@functools.cache
def _fold_char(c: str) -> str:
    f = vn.fold(c)
    return f if len(f) == 1 else " "


def _fold_in_place(text: str) -> str:
    """`text` folded character by character, so that a match's offsets are the
    original's: each character becomes one (a letter without its marks, lower case;
    anything that folds to more or to nothing becomes a space). Characters are few
    (a text's alphabet), so each is folded once per process."""
    return "".join(map(_fold_char, text))


def _label(original: str, start: int, end: int) -> str:
    return " ".join(original[start:end].split())


def _numbered_key(num: str, year: str | None, symbol: str) -> str:
    sym = re.sub(r"\s+", "", symbol).upper()
    return f"{int(num)}/{year}/{sym}" if year else f"{int(num)}/{sym}"


def _cited(text: str) -> tuple[str, list[tuple[int, int, str]]]:
    """`text` in NFC and the spans of it that cite a document, with their keys, in order."""
    original = unicodedata.normalize("NFC", text)
    folded = _fold_in_place(original)
    hits: list[tuple[int, int, str]] = []
    for m in _LAW.finditer(folded):
        words = [w for w in m["name"].split() if w not in _LAW_NAME_STOP]
        year = m["numyear"] or m["year"]
        if words:
            hits.append((m.start(), m.end(), f"LUAT {' '.join(words).upper()} {year}"))
    for m in _NUMBERED.finditer(folded):
        hits.append((m.start(), m.end(), _numbered_key(m["num"], m["year"], m["symbol"])))
    for m in _TYPED.finditer(folded):
        code = _TYPES[m["type"]]
        symbol = _DEFAULT_SYMBOL.get(code, code)
        hits.append((m.start(), m.end(), _numbered_key(m["num"], m["year"], symbol)))
    # First cited first; a law's number ("61/2020/QH14") belongs to the law already read.
    taken: list[tuple[int, int, str]] = []
    for start, end, key in sorted(hits, key=lambda h: (h[0], -h[1])):
        if all(end <= s or start >= e for s, e, _ in taken):
            taken.append((start, end, key))
    return original, taken


def citations(text: str) -> list[Citation]:
    """The documents `text` cites, each once, in the order first cited."""
    original, spans = _cited(text)
    found: dict[str, Citation] = {}
    for start, end, key in spans:
        found.setdefault(key, Citation(key, _label(original, start, end)))
    return list(found.values())


def keys(text: str) -> tuple[str, ...]:
    """The keys of the documents `text` cites, sorted."""
    return tuple(sorted(c.key for c in citations(text)))


def without_citations(text: str) -> str:
    """`text` (NFC) with each citation replaced by a space: what is left says what the
    matter is, the citation saying only which document."""
    return read(text)[1]


def read(text: str) -> tuple[list[Citation], str]:
    """`citations(text)` and `without_citations(text)`, reading the text once."""
    original, spans = _cited(text)
    found: dict[str, Citation] = {}
    for start, end, key in spans:
        found.setdefault(key, Citation(key, _label(original, start, end)))
    out, at = [], 0
    for start, end, _ in spans:
        out.append(original[at:start])
        out.append(" ")
        at = end
    out.append(original[at:])
    return list(found.values()), "".join(out)
