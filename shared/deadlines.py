"""When an assignment is due and when it is late, the same rule for every service.

Reporting shows overdue work, notify chases it and intake shows a member their week;
all three must agree on the deadline, so the rule lives here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.calendar import add_working_days, is_working_day, to_local, working_days_between
from shared.events import AgencyLevel, AssignmentRole, Status, Urgency
from shared.provinces import CentralDeadline, DayCount, Deadlines

# Statuses after which nothing is expected of the agency any more.
CLOSED = frozenset({Status.RESOLVED, Status.REJECTED, Status.MERGED})
# What the agency did that counts as having taken the case in hand.
ACKNOWLEDGING = frozenset({Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.RESOLVED,
                           Status.REJECTED, Status.ESCALATED})
# Assignments that carry a deadline: whoever must handle the case, not those helping.
HANDLING_ROLES = frozenset({AssignmentRole.LEAD, AssignmentRole.ESCALATION,
                            AssignmentRole.TRIAGE})


@dataclass(frozen=True, slots=True)
class Due:
    ack: datetime
    resolve: datetime


def at_central_level(role: AssignmentRole | str, level: AgencyLevel | str) -> bool:
    """An assignment escalating a difficulty to a central ministry: it waits for the
    ministry's answer, on a deadline of its own (`central_schedule`)."""
    return role == AssignmentRole.ESCALATION and level == AgencyLevel.CENTRAL


def deadlines_for(assigned_at: datetime, urgency: Urgency, deadlines: Deadlines, *,
                  central: bool = False) -> Due:
    """Acknowledge and resolve deadlines, in working days (Vietnamese holidays off). A
    ministry acknowledges nothing in thaogo: at central level both are the answer's
    deadline, in the days the province configures."""
    if central:
        rule = deadlines.central
        answer = add_days(assigned_at, rule.answer, rule.days)
        return Due(ack=answer, resolve=answer)
    d = deadlines.for_urgency(urgency)
    return Due(ack=add_working_days(assigned_at, d.ack),
               resolve=add_working_days(assigned_at, d.resolve))


def is_overdue(
    *, now: datetime, status: Status, ack_due_at: datetime | None,
    resolve_due_at: datetime | None, acknowledged_at: datetime | None,
) -> bool:
    """Late: not closed and past the resolve deadline, or not yet taken in hand and past
    the acknowledge deadline. Without a handling assignment there is no deadline yet."""
    if status in CLOSED:
        return False
    if resolve_due_at is not None and now > resolve_due_at:
        return True
    acked = acknowledged_at is not None and acknowledged_at <= now
    return ack_due_at is not None and not acked and now > ack_due_at


def resumed(due: datetime, *, paused_at: datetime, resumed_at: datetime) -> datetime:
    """Where a deadline (or a reminder's time) moves when the clock stood still from
    `paused_at` to `resumed_at` while the business was asked a question (#20 item 4).

    Rule: the working time that was left until `due` when the clock stopped is left
    again when it restarts: resumed(d) = add_working_days(resumed_at,
    working_days_between(paused_at, d)). A time already past when the clock stopped
    (a reminder sent, a deadline missed) stays where it was: waiting does not undo
    lateness. Weekends and holidays during the wait cost nothing, as they never do."""
    if due <= paused_at or resumed_at <= paused_at:
        return due
    return add_working_days(resumed_at, working_days_between(paused_at, due))
def add_days(start: datetime, days: int, count: DayCount) -> datetime:
    """`days` after `start`, in working days or in calendar days. A calendar period that
    ends on a weekend or public holiday ends on the next working day instead, at the same
    local time (the rule of the Civil Code, art. 148, for periods ending on a day off)."""
    if count is DayCount.WORKING:
        return add_working_days(start, days)
    end = to_local(start) + timedelta(days=days)
    while not is_working_day(end.date()):
        end += timedelta(days=1)
    return end


def central_schedule(escalated_at: datetime, rule: CentralDeadline) -> list[datetime]:
    """When the ministry's answer is due, then each progress point after it (every
    `progress_every` days, `progress_reminders` of them): what the focal agency is
    reminded to chase, in order. Each point is counted from the previous one."""
    points = [add_days(escalated_at, rule.answer, rule.days)]
    for _ in range(rule.progress_reminders):
        points.append(add_days(points[-1], rule.progress_every, rule.days))
    return points
