"""Reporting's rules, pure: deadlines, current status, overdue, percentiles, the rollup.

No I/O and no clock: the caller passes `now` or `as_of`. By concern: `rollup` (a
difficulty's task force and report week, percentiles, the breakdown rows), `league` (the
agencies' deadlines met, ranking and trend), `workspaces` (a member's figures, an
agency's queue, a caller's part and actions on a difficulty), `compiled` (the compiled
week, #22 item 1), `public` (what the public view may show, #25 item 2). Every public
name is re-exported here: callers write `logic.X` as before.
"""

from __future__ import annotations

from services.reporting.logic.compiled import (
    HEADINGS,
    direction_overdue,
    draft_compilation,
    member_report_summary,
)
from services.reporting.logic.league import league, league_trend, meets, sort_league
from services.reporting.logic.public import (
    PUBLIC_COLUMNS,
    SMALLEST_GROUP,
    SUPPRESSED,
    CentralAnswer,
    CentralLine,
    Shown,
    public_central,
    public_measured,
    public_share,
    small,
    suppress_column,
    suppress_tables,
)
from services.reporting.logic.rollup import (
    UNKNOWN,
    Item,
    last_closed_window,
    members_split,
    percentile,
    resolve_province,
    rollup,
    rounded,
    sort_rows,
    task_force_of,
    total_row,
)
from services.reporting.logic.workspaces import (
    ACKNOWLEDGEABLE,
    CENTRAL_ACTIONS,
    DUE_SOON,
    FINAL_STATUSES,
    FINAL_STEPS,
    HOLDING_ROLES,
    LEAD_ACTIONS,
    NOTE_NEEDED,
    PART_ACTIONS,
    Action,
    actions_for,
    draft_received,
    may_read_letter,
    member_figures,
    ministry_of,
    own_step,
    part_of,
    queue_mark,
    sees_contact,
    working_days_before,
)

__all__ = [
    "ACKNOWLEDGEABLE", "CENTRAL_ACTIONS", "DUE_SOON", "FINAL_STATUSES", "FINAL_STEPS",
    "HEADINGS", "HOLDING_ROLES", "LEAD_ACTIONS", "NOTE_NEEDED", "PART_ACTIONS",
    "PUBLIC_COLUMNS", "SMALLEST_GROUP", "SUPPRESSED", "UNKNOWN", "Action", "CentralAnswer",
    "CentralLine", "Item", "Shown", "actions_for", "direction_overdue", "draft_compilation",
    "draft_received", "last_closed_window", "league", "league_trend", "may_read_letter",
    "meets", "member_figures", "member_report_summary", "members_split", "ministry_of",
    "own_step", "part_of", "percentile", "public_central", "public_measured",
    "public_share", "queue_mark", "resolve_province", "rollup", "rounded", "sees_contact",
    "small", "sort_league", "sort_rows", "suppress_column", "suppress_tables",
    "task_force_of", "total_row", "working_days_before",
]
