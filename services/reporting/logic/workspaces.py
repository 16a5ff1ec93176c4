"""Who sees and does what: a member's figures and draft, an agency's queue, and a
caller's part in one difficulty with the actions its page offers. Intake decides each
action; these rules only spare a person what intake would refuse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, time, timedelta
from typing import Any

from shared.calendar import TZ, is_working_day
from shared.deadlines import CLOSED

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
# Statuses after which nothing more is posted: the difficulty is closed (a merged
# duplicate too), the same set the deadlines and every other service count as closed.
FINAL_STATUSES = frozenset(s.value for s in CLOSED)
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


# --- a difficulty at a central ministry ---------------------------------------------------


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
