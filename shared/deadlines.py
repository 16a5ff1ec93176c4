"""When an assignment is due and when it is late, the same rule for every service.

Reporting shows overdue work, notify chases it and intake shows a member their week;
all three must agree on the deadline, so the rule lives here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.calendar import add_working_days, working_days_between
from shared.events import AssignmentRole, Status, Urgency
from shared.provinces import Deadlines

# Statuses after which nothing is expected of the agency any more.
CLOSED = frozenset({Status.RESOLVED, Status.REJECTED})
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


def deadlines_for(assigned_at: datetime, urgency: Urgency, deadlines: Deadlines) -> Due:
    """Acknowledge and resolve deadlines, in working days (Vietnamese holidays off)."""
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
