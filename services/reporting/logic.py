"""Reporting's rules, pure: deadlines, current status, overdue, percentiles, the rollup.

The SQL in `store` computes the weekly rollup over the database; the functions
here state the same rules over plain values. Tests hold the two to each other.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

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
            median_resolution_hours=_round(percentile(hours, 0.5)),
            p90_resolution_hours=_round(percentile(hours, 0.9)),
        )
        if dim == "total" or row.received or row.resolved or row.rejected or row.open \
                or row.escalated_central:
            rows.append(row)
    return sort_rows(rows)


def _round(x: float | None) -> float | None:
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


# --- an agency's workspace --------------------------------------------------------------

DUE_SOON = timedelta(days=2)
HOLDING_ROLES = frozenset({"lead", "escalation", "triage"})


def queue_mark(*, status: str, next_due_at: datetime | None, now: datetime) -> str:
    """What the queue says of an item first: "overdue" (its next deadline has passed),
    "due_soon" (within DUE_SOON), "new" (nobody has acknowledged it yet), or ""."""
    if next_due_at is not None and next_due_at < now:
        return "overdue"
    if next_due_at is not None and next_due_at - now <= DUE_SOON:
        return "due_soon"
    return "new" if status in ("received", "assigned") else ""


def part_of(who_kind: str, subject_id: str, *, triage_agency: str | None,
            assignments: Iterable[Mapping[str, Any]]) -> str | None:
    """The caller's part in one difficulty, as its page offers actions: for an agency
    "lead" (it holds the difficulty: lead, escalation or triage), "permanent_deputy" (the
    task force's triage agency, which may act on any of its province's difficulties) or
    "co_handler"; for a member "member" (responsible by field and area); else None."""
    active = [a for a in assignments if a["active"]]
    if who_kind == "member":
        return "member" if any(a["role"] == "member" and a["member_id"] == subject_id
                               for a in active) else None
    if who_kind != "agency":
        return None
    roles = {a["role"] for a in active if a["agency_id"] == subject_id}
    if roles & HOLDING_ROLES:
        return "lead"
    if subject_id == triage_agency:
        return "permanent_deputy"
    return "co_handler" if "co_handler" in roles else None


# The steps each part may post, in the order the page offers them; intake decides (this
# only spares a person buttons intake would refuse). Per-assignment steps (#20) add theirs.
ACTIONS: dict[str, tuple[str, ...]] = {
    "lead": ("acknowledged", "in_progress", "resolved", "rejected", "escalated",
             "reassign_requested"),
    "permanent_deputy": ("acknowledged", "in_progress", "resolved", "rejected", "escalated",
                         "reassign_requested"),
    "co_handler": ("acknowledged", "in_progress", "reassign_requested"),
    "member": ("acknowledged", "in_progress"),
}
# Steps that need a note (intake refuses them without one, or, for "not ours", the reason
# is the point).
NOTE_NEEDED = frozenset({"resolved", "rejected", "escalated", "reassign_requested"})
ACKNOWLEDGEABLE = frozenset({"received", "assigned", "escalated", "reassign_requested"})
# Steps after which nothing more is posted.
FINAL_STATUSES = frozenset({"resolved", "rejected"})


def actions_for(part: str | None, status: str) -> tuple[str, ...]:
    if part is None or status in FINAL_STATUSES:
        return ()
    wanted = ACTIONS[part]
    # Acknowledging twice is refused; once in progress, acknowledging goes backwards.
    if status in ("acknowledged", "in_progress"):
        return tuple(a for a in wanted if a != "acknowledged")
    return wanted


def sees_contact(part: str | None) -> bool:
    """Who reads the business's contact person: the lead and the permanent deputy only
    (as intake's `as_read_by`)."""
    return part in ("lead", "permanent_deputy")
