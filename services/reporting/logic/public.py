"""The public view (#25 item 2): which counts the public may see, so that no group of
fewer than SMALLEST_GROUP businesses is shown nor can be worked out from the totals."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

SMALLEST_GROUP = 3  # no count of fewer businesses than this is shown to the public
# What stands in a suppressed cell. One mark for every reason (a small group, or a cell
# hidden beside one): were the second kind marked apart, a reader would know it is at
# least 3 and could pin the small one down. The page's legend says what it means
# ("fewer than 3 businesses, or hidden so that such a group cannot be worked out").
SUPPRESSED = "suppressed"
PUBLIC_COLUMNS = ("received", "resolved", "rejected", "open")
Shown = int | str  # a count, or SUPPRESSED


def small(n: int) -> bool:
    """A group of one or two businesses; none (0) says nothing about anybody."""
    return 0 < n < SMALLEST_GROUP


def _pinned(small_ones: Sequence[int]) -> bool:
    """Whether a reader who knows the column's total (so the hidden cells' sum) could
    tell the value of one of these small cells, were they the only ones hidden: each is
    1 or 2, so one alone is its sum, and several are all ones or all twos when their sum
    is their count or twice it."""
    k, total = len(small_ones), sum(small_ones)
    return k == 1 or (k > 1 and total in (k, 2 * k))


def suppress_column(cells: Mapping[str, int]) -> set[str] | None:
    """Which cells of one column of a breakdown (whose total is shown) to suppress:
    every small one (primary); if a reader could then still tell one of them from the
    total (see _pinned), the smallest other non-zero cells too (secondary, at least
    SMALLEST_GROUP: a reader then cannot tell which hidden cell is which kind); with no
    such cell, the zeros of the column as well. None when nothing hides them (every
    cell is small and not one is zero): the column must then be hidden with its total
    everywhere."""
    hidden = {v for v, n in cells.items() if small(n)}
    if not _pinned([cells[v] for v in hidden]):
        return hidden
    others = [n for v, n in cells.items() if v not in hidden and n > 0]
    if others:
        # Every cell of the smallest value: choosing one of equals by its name would let a
        # reader who knows the rule tell which hidden cell was the second.
        return hidden | {v for v, n in cells.items() if v not in hidden and n == min(others)}
    zeros = {v for v, n in cells.items() if n == 0}
    if zeros:
        return hidden | zeros
    return None


def suppress_tables(tables: Mapping[str, Mapping[str, Mapping[str, int]]],
                    total: Mapping[str, int], columns: Sequence[str] = PUBLIC_COLUMNS
                    ) -> tuple[dict[str, dict[str, dict[str, Shown]]], dict[str, Shown]]:
    """Breakdowns of the same items (by category, zone type, agency: each adds up to
    `total`) as the public may see them: suppress_column per table and column; a column
    whose total is small, or that some table cannot hide (suppress_column None), has its
    total and every cell in every table suppressed, as each table's cells add up to the
    same total. The columns are not tied to each other (the view shows no
    carried-over figure, which is what would tie a row's outcomes to its received), so
    each column is judged alone."""
    out: dict[str, dict[str, dict[str, Shown]]] = {
        t: {v: {c: row[c] for c in columns} for v, row in rows.items()}
        for t, rows in tables.items()}
    shown_total: dict[str, Shown] = {c: total[c] for c in columns}
    for c in columns:
        hide = {t: suppress_column({v: row[c] for v, row in rows.items()})
                for t, rows in tables.items()}
        if small(total[c]) or any(h is None for h in hide.values()):
            # Zeros too: were they shown, the count of hidden cells beside a total known
            # to be small would tell (two hidden under a total of 1 or 2: one each).
            shown_total[c] = SUPPRESSED
            hide = {t: set(rows) for t, rows in tables.items()}
        for t, cells in hide.items():
            for v in cells or ():
                out[t][v][c] = SUPPRESSED
    return out, shown_total


def public_share(measured: int, pct: float | None) -> float | str | None:
    """An agency's on-time share as the public sees it: over fewer than SMALLEST_GROUP
    measured items the share would tell how one or two businesses' cases went."""
    if small(measured):
        return SUPPRESSED
    return pct


def public_measured(measured: int) -> Shown:
    return SUPPRESSED if small(measured) else measured


@dataclass(frozen=True, slots=True)
class CentralAnswer:
    """One answer a ministry gave by letter to a difficulty escalated to it."""

    ministry_id: str
    difficulty_id: uuid.UUID
    letter_number: str
    letter_date: date


@dataclass(frozen=True, slots=True)
class CentralLine:
    ministry_id: str
    sent: Shown
    answered: Shown
    letters: tuple[tuple[str, date], ...]  # (number, date), only beside a shown `answered`


def public_central(sent: Mapping[str, int], answers: Iterable[CentralAnswer]
                   ) -> list[CentralLine]:
    """Escalations to central ministries and the letters that answered them, per ministry,
    suppressed like the breakdowns: a small count is not shown, and neither are the
    letters beside it (their number would show how many were answered). No total is
    shown, so no suppressed count is recovered by subtraction."""
    answered: dict[str, set[uuid.UUID]] = {}
    letters: dict[str, set[tuple[str, date]]] = {}
    for a in answers:
        answered.setdefault(a.ministry_id, set()).add(a.difficulty_id)
        letters.setdefault(a.ministry_id, set()).add((a.letter_number, a.letter_date))
    out = []
    for m in sorted(sent.keys() | answered.keys()):
        n = len(answered.get(m, ()))
        out.append(CentralLine(
            ministry_id=m,
            sent=SUPPRESSED if small(sent.get(m, 0)) else sent.get(m, 0),
            answered=SUPPRESSED if small(n) else n,
            letters=() if small(n) else tuple(sorted(letters.get(m, ()),
                                                     key=lambda x: (x[1], x[0])))))
    return out
