"""Reporting's rules, pure: deadlines, current status, overdue, percentiles, the rollup.

The SQL in `store` computes the weekly rollup over the database; the functions
here state the same rules over plain values. Tests hold the two to each other.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from shared.calendar import (
    TZ,
    WeekWindow,
    is_working_day,
    previous_window,
    week_window,
    working_days_between,
)
from shared.events import BreakdownRow, League, LeagueRow, MemberReportSummary
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


# --- the people's workspaces -------------------------------------------------------------

def working_days_before(t: datetime, days: int) -> datetime:
    """The instant `days` working days of clock (24 hours each, weekends and holidays
    standing still: `shared.calendar.add_working_days` backwards) before `t`: a deadline
    before it is overdue by more than `days` working days at `t`."""
    if days < 0:
        raise ValueError(f"days must be >= 0, got {days}")
    remaining = timedelta(days=days)
    end = t.astimezone(TZ)
    day = end.date()
    while True:
        start = datetime.combine(day, time(), TZ)
        if is_working_day(day):
            if remaining <= end - start:
                return end - remaining
            remaining -= end - start
        end, day = start, day - timedelta(days=1)


def member_figures(items: Iterable[dict[str, object]], since: datetime) -> dict[str, int]:
    """A member's figures of the week from their items (open, or closed since `since`):
    assigned in the week, resolved in it, still open, of which overdue."""
    f = {"received": 0, "resolved": 0, "open": 0, "overdue": 0}
    for it in items:
        assigned = it.get("assigned_at")
        if isinstance(assigned, datetime) and assigned > since:
            f["received"] += 1
        closed = it.get("closed_at")
        if closed is None:
            f["open"] += 1
            f["overdue"] += bool(it.get("overdue"))
        elif it.get("status") == "resolved":
            f["resolved"] += 1
    return f


def draft_received(figures: dict[str, int], week_label: str, lang: str) -> str:
    """The "received" paragraph of a member's report, pre-filled from their figures."""
    f = figures
    if lang == "en":
        return (f"Week {week_label}: received {f['received']}, resolved {f['resolved']}, "
                f"open {f['open']} of which {f['overdue']} overdue.")
    return (f"Tuần {week_label}: tiếp nhận {f['received']}, đã giải quyết {f['resolved']}, "
            f"đang xử lý {f['open']}, trong đó quá hạn {f['overdue']}.")
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


# What each part may do from a difficulty's page, in the order the page offers it; intake
# decides (this only spares a person buttons intake would refuse). ("status", s) moves
# the difficulty (the lead and the permanent deputy), ("step", s) the caller's own part
# (a co-handler, a member), ("resolution", "") is the lead's closing form: resolved,
# partly resolved, escalated or rejected, with the public answer.
Action = tuple[str, str]
LEAD_ACTIONS: tuple[Action, ...] = (
    ("status", "acknowledged"), ("status", "in_progress"), ("step", "need_info"),
    ("resolution", ""), ("status", "reassign_requested"))
PART_ACTIONS: tuple[Action, ...] = (
    ("step", "acknowledged"), ("step", "in_progress"), ("step", "need_info"), ("step", "done"),
    ("step", "declined"))
# A note is asked for where intake refuses the action without one (what was done, why
# it is not ours); a progress note is optional.
NOTE_NEEDED = frozenset({("step", "done"), ("step", "declined"),
                         ("status", "reassign_requested")})
ACKNOWLEDGEABLE = frozenset({"received", "assigned", "escalated", "reassign_requested"})
# Statuses after which nothing more is posted.
FINAL_STATUSES = frozenset({"resolved", "rejected"})
# A part's steps after which it has nothing more to do.
FINAL_STEPS = frozenset({"done", "declined"})


def own_step(who_kind: str, subject_id: str, assignments: Iterable[Mapping[str, Any]]
             ) -> str | None:
    """The step of the caller's own active part (a co-handler's or a member's)."""
    for a in assignments:
        if a["active"] and (a["member_id"] == subject_id if who_kind == "member"
                            else a["agency_id"] == subject_id and a["member_id"] is None):
            step: str | None = a.get("step")
            return step
    return None


# With a central ministry holding the case, the permanent deputy registers the letter
# passing it up and records the ministry's answer when it comes by letter.
CENTRAL_ACTIONS: tuple[Action, ...] = (("central", "letter"), ("central", "ministry_answer"))


def actions_for(part: str | None, status: str, step: str | None = None, *,
                at_central: bool = False) -> tuple[Action, ...]:
    if part is None or status in FINAL_STATUSES:
        return ()
    if part == "permanent_deputy" and at_central and status == "escalated":
        return CENTRAL_ACTIONS
    # One question to the business at a time (intake refuses a second while one waits).
    waiting = step == "need_info"
    if part in ("lead", "permanent_deputy"):
        # Acknowledging twice is refused; once in progress, acknowledging goes backwards.
        moved = status in ("acknowledged", "in_progress")
        return tuple(a for a in LEAD_ACTIONS if not (moved and a[1] == "acknowledged")
                     and not (waiting and a[1] == "need_info"))
    if step in FINAL_STEPS:
        return ()
    moved = step in ("acknowledged", "in_progress", "need_info")
    # Members do not question the business (intake refuses them): agencies do.
    asks = not waiting and part != "member"
    return tuple(a for a in PART_ACTIONS if not (moved and a[1] == "acknowledged")
                 and (asks or a[1] != "need_info"))


def sees_contact(part: str | None) -> bool:
    """Who reads the business's contact person: the lead and the permanent deputy only
    (as intake's `as_read_by`)."""
    return part in ("lead", "permanent_deputy")


# --- the league table ----------------------------------------------------------------------


def _measured(met: datetime | None, due: datetime, start: datetime, end: datetime
              ) -> bool | None:
    """Whether a deadline measured in (start, end] was met (True) or missed (False); None
    if it is measured in another week. `met` is when it was met, if by `end`. It is
    measured when its outcome became known: when met, if met by the deadline; else when
    the deadline passed."""
    on_time = met is not None and met <= due
    decided = met if on_time and met is not None else due
    return on_time if start < decided <= end else None


def _pct(n: int, of: int) -> float | None:
    return None if of == 0 else round(100 * n / of, 1)


def league(items: Iterable[Item], w: WeekWindow, *, as_of: datetime, target_pct: float
           ) -> League:
    """Each agency's week, as of `as_of` (the cutoff, or now for a week in progress): see
    `shared.events.LeagueRow`. An agency is listed if it held an item at some moment of
    the week (received by then, not closed before the week began), even with nothing
    measured; items that no agency holds are not ranked."""
    end = min(as_of, w.end)
    by_agency: dict[str, list[Item]] = {}
    for i in items:
        if i.agency_id is not None and i.received_at <= end and (
                i.closed_at is None or i.closed_at > w.start):
            by_agency.setdefault(i.agency_id, []).append(i)
    rows = []
    for agency, held in by_agency.items():
        ack: list[bool] = []
        res: list[bool] = []
        days: list[float] = []
        ratings: list[int] = []
        for i in held:
            closed = i.closed_at if i.closed_at is not None and i.closed_at <= end else None
            if i.ack_due_at is not None:
                acked = (i.acknowledged_at if i.acknowledged_at is not None
                         and i.acknowledged_at <= end else None)
                if (m := _measured(acked, i.ack_due_at, w.start, end)) is not None:
                    ack.append(m)
            rejected_in_time = (closed is not None and not i.resolved
                                and (i.resolve_due_at is None or closed <= i.resolve_due_at))
            if i.resolve_due_at is not None and not rejected_in_time:
                met = closed if i.resolved else None
                if (m := _measured(met, i.resolve_due_at, w.start, end)) is not None:
                    res.append(m)
            if i.resolved and closed is not None and closed > w.start:
                days.append(working_days_between(i.received_at, closed))
                if i.rating is not None:
                    ratings.append(i.rating)
        rows.append(LeagueRow(
            agency_id=agency, ack_measured=len(ack), ack_on_time=sum(ack),
            ack_on_time_pct=_pct(sum(ack), len(ack)), resolve_measured=len(res),
            resolved_on_time=sum(res), resolved_on_time_pct=_pct(sum(res), len(res)),
            resolved=len(days), median_working_days=_round(percentile(days, 0.5)),
            rated=len(ratings),
            rating_average=round(sum(ratings) / len(ratings), 2) if ratings else None,
        ))
    return League(target_pct=target_pct, rows=sort_league(rows))


def sort_league(rows: Iterable[LeagueRow]) -> list[LeagueRow]:
    """Best resolved-on-time share first, then best acknowledged-on-time share; nothing
    measured last."""
    def key(r: LeagueRow) -> tuple[bool, float, bool, float, str]:
        return (r.resolved_on_time_pct is None, -(r.resolved_on_time_pct or 0),
                r.ack_on_time_pct is None, -(r.ack_on_time_pct or 0), r.agency_id)

    return sorted(rows, key=key)


def meets(pct: float | None, target: float) -> bool | None:
    """Whether a share reaches the target; None when nothing was measured."""
    return None if pct is None else pct >= target


def league_trend(league_now: League, past: Sequence[League | None]
                 ) -> list[tuple[str, list[float | None]]]:
    """Each agency of this week's table with its resolved-on-time share in the weeks of
    `past` (oldest first, this week last; None for a week without a table or without
    anything measured for the agency)."""
    weeks = [{r.agency_id: r.resolved_on_time_pct for r in lg.rows} if lg else {}
             for lg in past]
    return [(r.agency_id, [w.get(r.agency_id) for w in weeks]) for r in league_now.rows]


def ministry_of(assignments: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The central ministry's active assignment of a difficulty escalated to it, if any."""
    return next((a for a in assignments if a["active"] and a["role"] == "escalation"
                 and a["agency_level"] == "central"), None)


def may_read_letter(who_kind: str, subject_id: str, *, triage_agency: str | None,
                    head_agency: str | None, leads: Iterable[str]) -> bool:
    """Who reads the letter passing a difficulty to a ministry: the permanent deputy who
    signs it, the head, and the agency that led the case (#22 item 6)."""
    return who_kind == "agency" and (
        subject_id in (triage_agency, head_agency) or subject_id in set(leads))


# --- the compiled week (#22 item 1) --------------------------------------------------------

HEADINGS = (("received_summary", "I. Tình hình tiếp nhận", "I. What was received"),
            ("solutions", "II. Giải pháp đang triển khai", "II. Solutions being carried out"),
            ("recommendations", "III. Kiến nghị, đề xuất", "III. Recommendations"))


def draft_compilation(reports: Sequence[tuple[str, Mapping[str, Any] | None]], lang: str
                      ) -> str:
    """The permanent deputy's text pre-filled from the members' reports: under each of the
    three headings, each member's own words (their name first, late ones marked), then
    who did not report."""
    vi = lang == "vi"
    parts: list[str] = []
    for key, head_vi, head_en in HEADINGS:
        lines = [head_vi if vi else head_en]
        for name, report in reports:
            said = str((report or {}).get("payload", {}).get(key) or "").strip()
            if report is None or not said:
                continue
            late = (" (trễ hạn)" if vi else " (late)") if report.get("late") else ""
            lines.append(f"- {name}{late}: {said}")
        if len(lines) == 1:
            lines.append("- (không có)" if vi else "- (none)")
        parts.append("\n".join(lines))
    missing = [name for name, report in reports if report is None]
    if missing:
        parts.append(("Chưa báo cáo: " if vi else "Not reported: ") + ", ".join(missing))
    return "\n\n".join(parts)


def member_report_summary(member_id: str, row: Mapping[str, Any]) -> MemberReportSummary:
    """A member's stored report as the weekly report carries it."""
    payload = row.get("payload") or {}
    return MemberReportSummary(
        member_id=member_id, late=bool(row["late"]), urgent=bool(row.get("urgent")),
        submitted_at=row["submitted_at"],
        received_summary=str(payload.get("received_summary") or ""),
        solutions=str(payload.get("solutions") or ""),
        recommendations=str(payload.get("recommendations") or ""))


def direction_overdue(due_on: date | None, state: str, today: date) -> bool:
    """A tracked direction not done whose due date has passed."""
    return due_on is not None and state != "done" and due_on < today


# --- the public view (#25 item 2) ----------------------------------------------------------

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
