"""The task force's own work: members' weekly reports (one per member and week, revised
in place), the difficulties of a member's week, and the head's directions as tracked
work (#22 item 1)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import asyncpg

from services.intake import logic
from shared.deadlines import ACKNOWLEDGING, CLOSED, HANDLING_ROLES
from shared.events import Status, Urgency

# --- member reports ---------------------------------------------------------------------------


async def upsert_member_report(
    conn: asyncpg.Connection, *, member_id: str, week_label: str, report_id: uuid.UUID,
    late: bool, payload: dict[str, Any], submitted_at: datetime,
) -> int:
    """Insert or replace the member's report of that week; returns its revision (1 = first)."""
    revision: int = await conn.fetchval(
        "INSERT INTO intake.member_reports (member_id, week_label, report_id, late, payload,"
        " submitted_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6)"
        " ON CONFLICT (member_id, week_label) DO UPDATE SET revision ="
        " intake.member_reports.revision + 1, late = EXCLUDED.late,"
        " payload = EXCLUDED.payload, submitted_at = EXCLUDED.submitted_at"
        " RETURNING revision",
        member_id, week_label, report_id, late, payload, submitted_at,
    )
    return revision


# --- a member's week --------------------------------------------------------------------------


async def member_items(
    conn: asyncpg.Connection, *, member_id: str, since: datetime
) -> list[logic.AssignedItem]:
    """The difficulties actively assigned to a member: all open ones, and those closed
    after `since` (the start of the report week)."""
    rows = await conn.fetch(
        "SELECT d.difficulty_id, d.tracking_code, d.payload->>'title' AS title,"
        " d.payload->>'category' AS category, d.payload->>'urgency' AS urgency,"
        " d.status, d.received_at, d.status_changed_at, m.assigned_at, h.handling_assigned_at,"
        " (SELECT min(s.changed_at) FROM intake.status_updates s"
        "   WHERE s.difficulty_id = d.difficulty_id AND s.status = ANY($3::text[])"
        "   AND s.changed_at >= coalesce(h.handling_assigned_at, m.assigned_at))"
        "   AS acknowledged_at"
        " FROM (SELECT difficulty_id, max(assigned_at) AS assigned_at FROM intake.assignments"
        "       WHERE member_id = $1 AND active GROUP BY difficulty_id) m"
        " JOIN intake.difficulties d USING (difficulty_id)"
        " LEFT JOIN LATERAL (SELECT max(a.assigned_at) AS handling_assigned_at"
        "   FROM intake.assignments a WHERE a.difficulty_id = d.difficulty_id AND a.active"
        "   AND a.role = ANY($4::text[])) h ON true"
        " WHERE d.status <> ALL($5::text[]) OR d.status_changed_at > $2"
        " ORDER BY d.received_at, d.difficulty_id",
        member_id, since, [s.value for s in ACKNOWLEDGING], [r.value for r in HANDLING_ROLES],
        [s.value for s in CLOSED],
    )
    return [
        logic.AssignedItem(
            difficulty_id=r["difficulty_id"], tracking_code=r["tracking_code"],
            title=r["title"] or "", category=r["category"] or "", status=Status(r["status"]),
            urgency=Urgency(r["urgency"] or Urgency.NORMAL), received_at=r["received_at"],
            assigned_at=r["assigned_at"], status_changed_at=r["status_changed_at"],
            handling_assigned_at=r["handling_assigned_at"],
            acknowledged_at=r["acknowledged_at"],
        )
        for r in rows
    ]


async def member_report_revisions(
    conn: asyncpg.Connection, *, member_id: str, week_labels: Sequence[str]
) -> dict[str, int]:
    """week label -> revision of the member's report for the weeks they have reported."""
    rows = await conn.fetch(
        "SELECT week_label, revision FROM intake.member_reports"
        " WHERE member_id = $1 AND week_label = ANY($2::text[])",
        member_id, list(week_labels),
    )
    return {r["week_label"]: r["revision"] for r in rows}


# --- the head's directions as tracked work (#22 item 1) -------------------------------------


async def insert_direction(conn: asyncpg.Connection, *, direction_id: uuid.UUID,
                           task_force: str, assignee_id: str, due_on: date) -> bool:
    """False if the direction was given already (the same form sent twice)."""
    tag = await conn.execute(
        "INSERT INTO directions (direction_id, task_force, assignee_id, due_on)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (direction_id) DO NOTHING",
        direction_id, task_force, assignee_id, due_on)
    return bool(tag.endswith(" 1"))


async def direction_for_update(conn: asyncpg.Connection, *, direction_id: uuid.UUID
                               ) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT task_force, assignee_id, state FROM directions WHERE direction_id = $1"
        " FOR UPDATE", direction_id)


async def set_direction_state(conn: asyncpg.Connection, *, direction_id: uuid.UUID,
                              state: str, at: datetime) -> None:
    await conn.execute("UPDATE directions SET state = $2, state_at = $3"
                       " WHERE direction_id = $1", direction_id, state, at)
