"""Recommendations many businesses share (#25 item 1): pure rules, no I/O.

Two items are linked when their texts are alike (TF-IDF cosine over the folded words
and word pairs, so diacritics or their absence do not matter), or when they cite the
same legal document and are at least somewhat alike (a decree such as 123/2020/NĐ-CP
covers many obstacles: the document alone does not make two items one). Groups are
the connected items; deterministic: the same items in the same order give the same
groups, the same order and the same representative.

The TF-IDF is written out here (about forty lines) rather than taken from
scikit-learn or datasketch: both pull in numpy and scipy (tens of megabytes in every
image) for what is, at a province's scale (hundreds, at most a few thousand open
items), a sparse dot product over an inverted index, fast in plain Python; and plain
floats summed in a fixed order give the same answer on every machine.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared import legal, vn

# Words that say nothing of the obstacle (folded): function words and the formulas
# every recommendation uses ("đề nghị", "kiến nghị", "doanh nghiệp").
STOPWORDS = frozenset(" ".join((
    "va cua cac cho de la co duoc trong voi khi nhung theo tai den tu da dang se nay do vi",
    "thi ma con nen neu nhu mot hai ba nhieu rat qua cung van chua khong phai bi lai ra",
    "vao len tren duoi sau truoc hon moi nam thang ngay gio lan viec ve nhat nguoi",
    "de nghi kien nghi doanh nghiep cong ty xem xet giai quyet tinh so dn ho tro",
)).split())
_WORD = re.compile(r"[a-z0-9]+")
# Abbreviations businesses write for what others spell out (folded).
ABBREVIATIONS = {
    "gtgt": "gia tri gia tang", "tndn": "thu nhap doanh nghiep",
    "tncn": "thu nhap ca nhan", "pccc": "phong chay chua chay",
    "kcn": "khu cong nghiep", "ccn": "cum cong nghiep", "kkt": "khu kinh te",
    "bhxh": "bao hiem xa hoi", "bhyt": "bao hiem y te", "gpmb": "giai phong mat bang",
    "ubnd": "uy ban nhan dan", "xnk": "xuat nhap khau", "fdi": "von dau tu nuoc ngoai",
}


@dataclass(frozen=True, slots=True)
class Item:
    """One recommendation or difficulty: an id of the caller's and its text."""

    id: str
    text: str


@dataclass(frozen=True, slots=True)
class Group:
    """Items raising the same obstacle: their ids in input order, the documents they
    cite (key, label, how many items cite it) most cited first."""

    ids: tuple[str, ...]
    documents: tuple[tuple[str, str, int], ...]

    @property
    def size(self) -> int:
        return len(self.ids)


def terms(text: str) -> list[str]:
    """The words and adjacent word pairs of `text` folded, without stopwords and with
    abbreviations spelled out; each document it cites is one term (its key), not the
    words of its citation, which every citation of a decree shares."""
    return _terms(*legal.read(text))


def _terms(cited: Sequence[legal.Citation], rest: str) -> list[str]:
    words = [w for a in _WORD.findall(vn.fold(rest))
             for w in ABBREVIATIONS.get(a, a).split() if w not in STOPWORDS]
    pairs = [f"{a} {b}" for a, b in itertools.pairwise(words)]
    return words + pairs + [f"doc:{c.key}" for c in cited]


def _vectors(docs: Sequence[list[str]]) -> list[dict[str, float]]:
    """TF-IDF, sublinear term frequency and smoothed idf, each vector of length 1."""
    n = len(docs)
    df: Counter[str] = Counter()
    for d in docs:
        df.update(set(d))
    out = []
    for d in docs:
        v = {t: (1 + math.log(c)) * (math.log((1 + n) / (1 + df[t])) + 1)
             for t, c in sorted(Counter(d).items())}
        norm = math.sqrt(sum(w * w for w in v.values())) or 1.0
        out.append({t: w / norm for t, w in v.items()})
    return out


def similarities(vectors: Sequence[dict[str, float]], floor: float = 0.0
                 ) -> dict[tuple[int, int], float]:
    """Cosine of every pair (i < j) that shares a term, through an inverted index; pairs
    under `floor` left out."""
    index: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for i, v in enumerate(vectors):
        for t, w in v.items():
            index[t].append((i, w))
    n = len(vectors)
    sums: dict[int, float] = defaultdict(float)  # i * n + j: cheaper to hash than a pair
    for postings in index.values():
        for a, (i, wi) in enumerate(postings):
            base = i * n
            for j, wj in postings[a + 1:]:
                sums[base + j] += wi * wj
    return {divmod(k, n): s for k, s in sums.items() if s >= floor}


def group(items: Sequence[Item], *, alike: float, citing_bonus: float, floor: float = 0.0,
          min_size: int = 2) -> list[Group]:
    """The groups of at least `min_size` items, by average linkage: the two groups whose
    items are most alike on average are joined, as long as that average is at least
    `alike` (single linkage would chain: A like B like C, A unlike C). Two items citing
    a document in common count `citing_bonus` more alike. Largest group first, then by
    the first item's place in `items`. Pairs less alike than `floor` count as not alike
    at all: most pairs share a common word or two and nothing else, and leaving them out
    keeps the work near linear in the items (the averages can only come out lower, so
    no group is joined that would not have been)."""
    read = [legal.read(it.text) for it in items]
    cited = [cs for cs, _ in read]
    keys = [{c.key for c in cs} for cs in cited]
    vectors = _vectors([_terms(*r) for r in read])
    # links[a][b]: the sum of the pairs' similarities between groups a and b (sparse).
    links: dict[int, dict[int, float]] = defaultdict(dict)
    for (i, j), s in sorted(similarities(vectors, floor).items()):
        s += citing_bonus if keys[i] & keys[j] else 0.0
        links[i][j] = links[j][i] = s
    members: dict[int, list[int]] = {i: [i] for i in range(len(items))}
    heap = [(-s, i, j) for i, nb in links.items() for j, s in nb.items() if i < j]
    heapq.heapify(heap)
    while heap:
        neg, a, b = heapq.heappop(heap)
        if a not in members or b not in members:
            continue  # one of them was joined to another since
        average = links[a][b] / (len(members[a]) * len(members[b]))
        if abs(-neg - average) > 1e-12:
            continue  # a stale entry: the pair's average changed when a group grew
        if average < alike:
            break
        # b joins a (a < b: the earlier item's group keeps its number).
        members[a] = sorted(members[a] + members.pop(b))
        for c, s in links.pop(b).items():
            del links[c][b]
            if c == a:
                continue
            links[a][c] = links[c][a] = links[a].get(c, 0.0) + s
        for c, s in links[a].items():
            x, y = min(a, c), max(a, c)
            heapq.heappush(heap, (-s / (len(members[a]) * len(members[c])), x, y))
    groups = []
    for idx in members.values():
        if len(idx) < min_size:
            continue
        count: Counter[str] = Counter()
        label: dict[str, str] = {}
        for i in idx:
            for cit in cited[i]:
                count[cit.key] += 1
                # The way a writer with diacritics put it reads best on the page.
                if cit.key not in label or (label[cit.key].isascii()
                                            and not cit.label.isascii()):
                    label[cit.key] = cit.label
        documents = tuple((k, label[k], n) for k, n in sorted(
            count.items(), key=lambda kv: (-kv[1], kv[0])))
        groups.append((idx[0], Group(tuple(items[i].id for i in idx), documents)))
    groups.sort(key=lambda g: (-g[1].size, g[0]))
    return [g for _, g in groups]


def pair_scores(predicted: Sequence[Sequence[str]], truth: dict[str, str]
                ) -> tuple[float, float]:
    """Pairwise precision and recall of a grouping against true labels: of the pairs put
    together, how many belong together; of the pairs that belong together, how many
    were put together. Items in no predicted group stand alone."""
    together = {frozenset((a, b)) for g in predicted for i, a in enumerate(g)
                for b in g[i + 1:]}
    by_label: dict[str, list[str]] = defaultdict(list)
    for item, lab in sorted(truth.items()):
        by_label[lab].append(item)
    belong = {frozenset((a, b)) for g in by_label.values() for i, a in enumerate(g)
              for b in g[i + 1:]}
    hit = len(together & belong)
    precision = hit / len(together) if together else 1.0
    recall = hit / len(belong) if belong else 1.0
    return precision, recall


@dataclass(frozen=True, slots=True)
class Shared:
    """A group as the permanent deputy's page shows it: its items (the caller's rows),
    how many businesses raised them (distinct tax codes), the documents cited, and the
    central ministry the province's rules escalate its most frequent field to."""

    items: tuple[Mapping[str, Any], ...]
    businesses: int
    documents: tuple[tuple[str, str, int], ...]
    ministry_id: str | None


def input_key(rows: Sequence[Mapping[str, Any]]) -> str:
    """What a grouping was computed from: the items' ids and texts in order (a stored
    grouping stands for this input only)."""
    h = hashlib.sha256()
    for r in rows:
        h.update(f"{r['difficulty_id']}\x1f{r['title']}\x1f{r['description'] or ''}\x1e"
                 .encode())
    return h.hexdigest()


def group_rows(rows: Sequence[Mapping[str, Any]], *, alike: float, citing_bonus: float,
               floor: float) -> list[Group]:
    """The groups among a task force's open items (rows with difficulty_id, title and
    description)."""
    return group([Item(str(r["difficulty_id"]), f"{r['title']}\n{r['description'] or ''}")
                  for r in rows], alike=alike, citing_bonus=citing_bonus, floor=floor)


def to_json(groups: Sequence[Group]) -> list[dict[str, Any]]:
    return [{"ids": list(g.ids), "documents": [list(d) for d in g.documents]} for g in groups]


def from_json(data: Sequence[Mapping[str, Any]]) -> list[Group]:
    return [Group(tuple(str(i) for i in g["ids"]),
                  tuple((str(k), str(label), int(n)) for k, label, n in g["documents"]))
            for g in data]


def shared_recommendations(rows: Sequence[Mapping[str, Any]], *, alike: float,
                           citing_bonus: float, floor: float, escalation: Mapping[str, str]
                           ) -> list[Shared]:
    """The groups among a task force's open items. Each row has difficulty_id, title,
    description, category and tax_code; `escalation` maps a category (or "default") to
    the central ministry the province's rules name for it."""
    found = group_rows(rows, alike=alike, citing_bonus=citing_bonus, floor=floor)
    return shared_from(rows, found, escalation=escalation)


def shared_from(rows: Sequence[Mapping[str, Any]], found: Sequence[Group], *,
                escalation: Mapping[str, str]) -> list[Shared]:
    """The groups `found` among these rows (`group_rows` of them, perhaps stored), as
    the page shows them."""
    by_id = {str(r["difficulty_id"]): r for r in rows}
    out = []
    for g in found:
        items = tuple(by_id[i] for i in g.ids)
        fields = Counter(str(r["category"]) for r in items)
        top = min(fields, key=lambda c: (-fields[c], c))
        out.append(Shared(items=items, businesses=len({r["tax_code"] for r in items}),
                          documents=g.documents,
                          ministry_id=escalation.get(top) or escalation.get("default")))
    return out
