"""The weekly rollup over plain values: a difficulty's task force and report week,
percentiles, the breakdown rows and the members who reported.

The SQL in `store` computes the weekly rollup over the database; the functions here
state the same rules over plain values. Tests hold the two to each other.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.calendar import WeekWindow, previous_window, week_window
from shared.events import BreakdownRow
from shared.provinces import ConfigSet, ProvinceConfig

UNKNOWN = "unknown"  # the breakdown value of a missing agency or zone type


# --- task forces and deadlines -------------------------------------------------------


def task_force_of(
    configs: ConfigSet, province_code: str, task_force: str | None
) -> ProvinceConfig | None:
    """The configuration a difficulty is reported under (its task force)."""
    return configs.for_difficulty(province_code, task_force)


def resolve_province(configs: ConfigSet, province: str) -> ProvinceConfig | None:
    """A province as the API names it: the config slug ("binh-duong") or a province code
    (today's or a former one's), which must then designate one task force."""
    if province in configs:
        return configs[province]
    return configs.for_difficulty(province) if province.isdigit() else None


# --- report weeks ------------------------------------------------------------------------


def last_closed_window(now: datetime) -> WeekWindow:
    """The most recent week whose cutoff has passed (or is exactly now)."""
    w = week_window(now)
    return w if w.end <= now else previous_window(w)


# --- percentiles and the rollup ------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks, as PostgreSQL's percentile_cont."""
    if not 0 <= q <= 1:
        raise ValueError(f"q must be in [0, 1], got {q}")
    if not values:
        return None
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@dataclass(frozen=True, slots=True)
class Item:
    """What the rollup needs to know of one difficulty, as it stands now."""

    difficulty_id: uuid.UUID
    received_at: datetime
    agency_id: str | None
    zone_type: str | None
    category: str
    closed_at: datetime | None
    resolved: bool  # closed as resolved (not rejected)
    ack_due_at: datetime | None
    resolve_due_at: datetime | None
    acknowledged_at: datetime | None
    escalated_central_at: datetime | None
    rating: int | None = None  # the business's rating (1-5) of the handling, if it gave one
    partly: bool = False  # resolved, the lead's outcome partly_resolved
    escalated_at: datetime | None = None  # first passed up by the lead (outcome escalated)


def _open_at(i: Item, t: datetime) -> bool:
    return i.received_at <= t and (i.closed_at is None or i.closed_at > t)


def _overdue_at(i: Item, t: datetime) -> bool:
    if not _open_at(i, t):
        return False
    if i.resolve_due_at is not None and t > i.resolve_due_at:
        return True
    acked = i.acknowledged_at is not None and i.acknowledged_at <= t
    return i.ack_due_at is not None and not acked and t > i.ack_due_at


def rollup(items: Iterable[Item], w: WeekWindow, *, as_of: datetime) -> list[BreakdownRow]:
    """The breakdown rows of week `w` at `as_of` (the cutoff, or now for a week in progress).

    - received: received in the window; resolved: resolved in the window; rejected:
      closed in the window without being resolved; carried_over: open at the start;
    - open / overdue: as of `as_of` (received by then, not closed by then);
    - escalated_central: first put in the hands of a central ministry in the window;
    - partly_resolved: of resolved, those the lead closed as partly resolved; escalated:
      first passed up by the lead as beyond provincial authority in the window;
    - median / p90 hours from receipt to resolution, over those resolved in the window.
    Rows come per agency (the current handling agency), zone type, category, and total.
    """
    end = min(as_of, w.end)
    groups: dict[tuple[str, str], list[Item]] = {("total", "all"): []}
    for i in items:
        keys = (("agency", i.agency_id or UNKNOWN), ("zone_type", i.zone_type or UNKNOWN),
                ("category", i.category), ("total", "all"))
        for dim, value in keys:
            groups.setdefault((dim, value), []).append(i)
    rows = []
    for (dim, value), members in groups.items():
        received = [i for i in members if w.start < i.received_at <= end]
        resolved = [i for i in members if i.resolved and i.closed_at is not None
                    and w.start < i.closed_at <= end]
        rejected = sum(1 for i in members if not i.resolved and i.closed_at is not None
                       and w.start < i.closed_at <= end)
        hours = [(i.closed_at - i.received_at).total_seconds() / 3600 for i in resolved
                 if i.closed_at is not None]
        row = BreakdownRow(
            dimension=dim,
            value=value,
            received=len(received),
            resolved=len(resolved),
            rejected=rejected,
            carried_over=sum(_open_at(i, w.start) for i in members),
            open=sum(_open_at(i, end) for i in members),
            overdue=sum(_overdue_at(i, end) for i in members),
            escalated_central=sum(1 for i in members if i.escalated_central_at is not None
                                  and w.start < i.escalated_central_at <= end),
            partly_resolved=sum(1 for i in resolved if i.partly),
            escalated=sum(1 for i in members if i.escalated_at is not None
                          and w.start < i.escalated_at <= end),
            median_resolution_hours=rounded(percentile(hours, 0.5)),
            p90_resolution_hours=rounded(percentile(hours, 0.9)),
        )
        if dim == "total" or row.received or row.resolved or row.rejected or row.open \
                or row.escalated_central:
            rows.append(row)
    return sort_rows(rows)


def rounded(x: float | None) -> float | None:
    """A figure as the report carries it: two decimals."""
    return None if x is None else round(x, 2)


_DIM_ORDER = {"total": 0, "agency": 1, "zone_type": 2, "category": 3}


def sort_rows(rows: Iterable[BreakdownRow]) -> list[BreakdownRow]:
    return sorted(rows, key=lambda r: (_DIM_ORDER[r.dimension], r.value))


def total_row(rows: Sequence[BreakdownRow]) -> BreakdownRow | None:
    return next((r for r in rows if r.dimension == "total"), None)


def members_split(
    member_ids: Sequence[str], reported: Iterable[str]
) -> tuple[list[str], list[str]]:
    """(reported, missing) among the task force's members, in config order."""
    done = set(reported)
    return [m for m in member_ids if m in done], [m for m in member_ids if m not in done]
