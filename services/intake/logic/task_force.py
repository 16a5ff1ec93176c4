"""The task force's work: members' weekly reports, a member's week, and the head's
directions as tracked work."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from shared import vn
from shared.calendar import WeekWindow, parse_week_label, week_window
from shared.deadlines import CLOSED, deadlines_for, is_overdue
from shared.events import (
    MemberReport,
    Status,
    Urgency,
    deterministic_id,
)
from shared.provinces import Deadlines, ProvinceConfig

# --- member weekly reports ------------------------------------------------------------------

REPORT_TEXT_MAX = 10_000


def report_week(requested: str | None, now: datetime) -> tuple[str, bool]:
    """(week label, late) of a report submitted at `now` for `requested` (None = the current
    week). A past week is accepted and marked late; a future week is refused."""
    current = week_window(now)
    if requested is None:
        return current.label, False
    wanted = parse_week_label(requested, "week_label")
    if wanted.end > current.end:
        raise vn.InvalidField(
            "week_label", f"is a future week; the current week is {current.label}",
            f"là tuần chưa tới; tuần hiện tại là {current.label}",
        )
    return wanted.label, wanted.end < current.end


def report_id(member_id: str, week_label: str) -> uuid.UUID:
    """Stable per member and week, so a replacement carries the id of what it replaces."""
    return uuid.UUID(deterministic_id("member-report", member_id, week_label))


def build_member_report(
    *, member_id: str, province_code: str, week_label: str, late: bool,
    received_summary: str, solutions: str, recommendations: str, figures: dict[str, int],
    urgent: bool, now: datetime,
) -> MemberReport:
    def clean(v: str, f: str) -> str:
        return vn.nfc_clean(v, REPORT_TEXT_MAX, field=f, multiline=True)

    return MemberReport(
        report_id=report_id(member_id, week_label), member_id=member_id,
        province_code=province_code, week_label=week_label,
        received_summary=clean(received_summary, "received_summary"),
        solutions=clean(solutions, "solutions"),
        recommendations=clean(recommendations, "recommendations"),
        figures=figures, late=late, urgent=urgent, submitted_at=now,
    )


# --- a member's week --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AssignedItem:
    """A difficulty assigned to a member, as intake knows it."""

    difficulty_id: uuid.UUID
    tracking_code: str
    title: str
    category: str
    status: Status
    urgency: Urgency
    received_at: datetime
    assigned_at: datetime  # the member's assignment
    status_changed_at: datetime | None
    # The latest active handling assignment (lead, escalation, triage): deadlines run from
    # it, as in reporting, so a member sees the same overdue items as the weekly report.
    handling_assigned_at: datetime | None
    acknowledged_at: datetime | None


@dataclass(frozen=True, slots=True)
class ItemView:
    item: AssignedItem
    ack_due_at: datetime | None
    resolve_due_at: datetime | None
    overdue: bool


@dataclass(frozen=True, slots=True)
class MemberWeek:
    window: WeekWindow
    open: list[ItemView]
    overdue: list[ItemView]
    resolved: list[ItemView]  # resolved in this report week
    figures: dict[str, int]  # received, resolved, open, overdue


def member_week(
    items: Sequence[AssignedItem], *, now: datetime, deadlines: Deadlines
) -> MemberWeek:
    """What a member holds this report week, and the figures their report starts from."""
    window = week_window(now)
    views = []
    for it in items:
        due = (deadlines_for(it.handling_assigned_at, it.urgency, deadlines)
               if it.handling_assigned_at is not None else None)
        late = is_overdue(
            now=now, status=it.status, ack_due_at=due.ack if due else None,
            resolve_due_at=due.resolve if due else None, acknowledged_at=it.acknowledged_at,
        )
        views.append(ItemView(it, due.ack if due else None, due.resolve if due else None,
                              late))
    open_ = [v for v in views if v.item.status not in CLOSED]
    resolved = [v for v in views if v.item.status is Status.RESOLVED
                and v.item.status_changed_at is not None
                and window.contains(v.item.status_changed_at)]
    overdue = [v for v in open_ if v.overdue]
    received = sum(1 for v in views if window.contains(v.item.received_at))
    return MemberWeek(window=window, open=open_, overdue=overdue, resolved=resolved,
                      figures={"received": received, "resolved": len(resolved),
                               "open": len(open_), "overdue": len(overdue)})


def draft_summary(figures: dict[str, int], week_label: str) -> tuple[str, str]:
    """The "received" paragraph of a member's report, pre-filled (en, vi)."""
    f = figures
    return (
        f"Week {week_label}: received {f['received']}, resolved {f['resolved']}, "
        f"open {f['open']} of which {f['overdue']} overdue.",
        f"Tuần {week_label}: tiếp nhận {f['received']}, đã giải quyết {f['resolved']}, "
        f"đang xử lý {f['open']}, trong đó quá hạn {f['overdue']}.",
    )


# --- the head's directions as tracked work (#22 item 1) -------------------------------------

# Forward only: open → in progress → done (straight to done allowed); a second "in
# progress" only adds a note; done is the end.
DIRECTION_NEXT: dict[str, frozenset[str]] = {
    "open": frozenset({"in_progress", "done"}),
    "in_progress": frozenset({"in_progress", "done"}),
    "done": frozenset(),
}


def check_direction_progress(current: str, wanted: str) -> None:
    """Refuse a step back, a step from done, or a state that is not a step."""
    if wanted not in DIRECTION_NEXT.get(current, frozenset()):
        raise vn.InvalidField("state", f"a direction {current} cannot become {wanted}",
                              f"chỉ đạo đang ở trạng thái {current}, không thể chuyển"
                              f" sang {wanted}")


def direction_assignee(cfg: ProvinceConfig, assignee_id: str) -> str:
    """The agency or active member of the task force who must act, by id; else a 422."""
    wanted = assignee_id.strip()
    if wanted and (any(a.id == wanted for a in cfg.agencies)
                   or any(m.id == wanted for m in cfg.task_force.active_members())):
        return wanted
    raise vn.InvalidField("assignee_id", "choose an agency or a member of the task force",
                          "chọn cơ quan hoặc thành viên Tổ công tác thực hiện")


def direction_due(due_on: str, today: date) -> date:
    """The due date of a direction: a date, not before today."""
    try:
        due = date.fromisoformat(due_on.strip())
    except ValueError:
        raise vn.InvalidField("due_on", "a date (YYYY-MM-DD)", "ngày (năm-tháng-ngày)") from None
    if due < today:
        raise vn.InvalidField("due_on", "the due date is in the past",
                              "thời hạn đã qua")
    return due
