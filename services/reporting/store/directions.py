"""The head's directions with their progress, and the saved weekly compilations:
projected from their events and read back by the workspaces and the report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from shared.events import (
    CompilationSaved,
    DirectionGiven,
    DirectionProgress,
)


async def project_directions(
    conn: asyncpg.Connection, *, directions: Sequence[DirectionGiven]
) -> None:
    await conn.executemany(
        "INSERT INTO directions (direction_id, task_force, given_by, week_label, body, given_at,"
        " assignee_id, due_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (direction_id) DO NOTHING",
        [(x.direction_id, x.task_force, x.given_by, x.week_label, x.body, x.given_at,
          x.assignee_id, x.due_on) for x in directions])


async def project_direction_progress(
    conn: asyncpg.Connection, *, progress: Sequence[DirectionProgress]
) -> None:
    await conn.executemany(
        "INSERT INTO direction_progress (progress_id, direction_id, state, note, posted_by,"
        " posted_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (progress_id) DO NOTHING",
        [(x.progress_id, x.direction_id, str(x.state), x.note, x.posted_by, x.posted_at)
         for x in progress])


async def project_compilations(
    conn: asyncpg.Connection, *, saved: Sequence[CompilationSaved]
) -> None:
    await conn.executemany(
        "INSERT INTO compilations (task_force, week_label, compilation_id, body, submitted,"
        " saved_by, saved_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        # The latest save stands, whichever order the saves arrive in.
        " ON CONFLICT (task_force, week_label) DO UPDATE SET"
        " compilation_id = EXCLUDED.compilation_id, body = EXCLUDED.body,"
        " submitted = EXCLUDED.submitted, saved_by = EXCLUDED.saved_by,"
        " saved_at = EXCLUDED.saved_at WHERE compilations.saved_at < EXCLUDED.saved_at",
        [(x.task_force, x.week_label, x.compilation_id, x.body, x.submitted, x.saved_by,
          x.saved_at) for x in saved])


async def compilation_of(
    conn: asyncpg.Connection, *, task_force: str, week_label: str
) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        "SELECT body, submitted, saved_by, saved_at FROM compilations"
        " WHERE task_force = $1 AND week_label = $2", task_force, week_label)
    return dict(row) if row else None


# A direction with its state as of $2: the latest progress posted by then, else open.
_DIRECTION_AS_OF = """
    SELECT d.direction_id, d.given_by, d.week_label, d.body, d.given_at, d.assignee_id,
           d.due_on, coalesce(p.state, 'open') AS state, p.posted_at AS state_at,
           coalesce(p.note, '') AS note
    FROM directions d
    LEFT JOIN LATERAL (
        SELECT state, note, posted_at FROM direction_progress x
        WHERE x.direction_id = d.direction_id AND x.posted_at <= $2
        ORDER BY x.posted_at DESC, x.progress_id DESC LIMIT 1) p ON true
"""


async def directions_of(
    conn: asyncpg.Connection, *, task_force: str, limit: int, as_of: datetime
) -> list[dict[str, Any]]:
    """The head's directions to a task force with their state, newest first."""
    rows = await conn.fetch(
        _DIRECTION_AS_OF + " WHERE d.task_force = $1 ORDER BY d.given_at DESC LIMIT $3",
        task_force, as_of, limit)
    return [dict(r) for r in rows]


async def directions_assigned(
    conn: asyncpg.Connection, *, assignee_id: str, as_of: datetime, limit: int
) -> list[dict[str, Any]]:
    """The directions someone must act on: not done first, soonest due first."""
    rows = await conn.fetch(
        _DIRECTION_AS_OF + " WHERE d.assignee_id = $1"
        " ORDER BY (coalesce(p.state, 'open') = 'done'), d.due_on, d.given_at LIMIT $3",
        assignee_id, as_of, limit)
    return [dict(r) for r in rows]


async def directions_for_week(
    conn: asyncpg.Connection, *, task_force: str, start: datetime, end: datetime, limit: int
) -> list[dict[str, Any]]:
    """The tracked directions a week's report shows, as of `end`: given before it and not
    done before the week began (done during it is shown once, as done)."""
    rows = await conn.fetch(
        "SELECT * FROM (" + _DIRECTION_AS_OF + " WHERE d.task_force = $1"
        " AND d.assignee_id IS NOT NULL AND d.given_at <= $2) w"
        " WHERE w.state <> 'done' OR w.state_at >= $3"
        " ORDER BY w.due_on, w.given_at, w.direction_id LIMIT $4",
        task_force, end, start, limit)
    return [dict(r) for r in rows]
