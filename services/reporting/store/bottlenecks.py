"""Recommendations many businesses share and policy bottlenecks (#25 item 1): the
bottlenecks projected from their events, the open items the deputy's page groups, and
the bottleneck an item is in (its tracking page)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from shared.events import PolicyBottleneck


async def project_bottlenecks(
    conn: asyncpg.Connection, *, bottlenecks: Sequence[PolicyBottleneck]
) -> None:
    """Each bottleneck as its latest event says, whichever order the events arrive in."""
    await conn.executemany(
        "INSERT INTO bottlenecks (bottleneck_id, task_force, ministry_id, title,"
        " business_count, merged_at, changed_at, answered_at, payload)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (bottleneck_id) DO UPDATE SET ministry_id = EXCLUDED.ministry_id,"
        " title = EXCLUDED.title, business_count = EXCLUDED.business_count,"
        " changed_at = EXCLUDED.changed_at, answered_at = EXCLUDED.answered_at,"
        " payload = EXCLUDED.payload WHERE bottlenecks.changed_at < EXCLUDED.changed_at",
        [(x.bottleneck_id, x.task_force, x.ministry_id, x.title, x.business_count,
          x.merged_at, x.changed_at, x.answer.answered_at if x.answer else None,
          x.model_dump(mode="json")) for x in bottlenecks])
    await conn.executemany(
        "INSERT INTO bottleneck_items (difficulty_id, bottleneck_id) VALUES ($1, $2)"
        " ON CONFLICT (difficulty_id) DO NOTHING",
        [(it.difficulty_id, x.bottleneck_id) for x in bottlenecks for it in x.items])


async def open_to_group(
    conn: asyncpg.Connection, *, task_force: str, limit: int
) -> list[dict[str, Any]]:
    """A task force's open items in no bottleneck yet, with their text, the most recent
    `limit` (in a stable order: received, then id)."""
    rows = await conn.fetch(
        "SELECT * FROM (SELECT d.difficulty_id, d.tracking_code, d.title, d.category,"
        " d.tax_code, d.received_at, d.payload->>'description' AS description"
        " FROM difficulties d WHERE d.task_force = $1 AND d.closed_at IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM bottleneck_items b"
        "                 WHERE b.difficulty_id = d.difficulty_id)"
        " ORDER BY d.received_at DESC, d.difficulty_id DESC LIMIT $2) x"
        " ORDER BY received_at, difficulty_id", task_force, limit)
    return [dict(r) for r in rows]


async def bottlenecks_of(conn: asyncpg.Connection, *, task_force: str
                         ) -> list[PolicyBottleneck]:
    """A task force's bottlenecks as last sent: waiting for the ministry first, then the
    most recently merged."""
    rows = await conn.fetch(
        "SELECT payload FROM bottlenecks WHERE task_force = $1"
        " ORDER BY answered_at IS NOT NULL, merged_at DESC, bottleneck_id", task_force)
    return [PolicyBottleneck.model_validate(r["payload"]) for r in rows]


async def bottleneck_of(conn: asyncpg.Connection, *, difficulty_id: uuid.UUID
                        ) -> PolicyBottleneck | None:
    """The bottleneck a difficulty was merged into, as last sent (its tracking page)."""
    row = await conn.fetchrow(
        "SELECT b.payload FROM bottleneck_items i JOIN bottlenecks b USING (bottleneck_id)"
        " WHERE i.difficulty_id = $1", difficulty_id)
    return None if row is None else PolicyBottleneck.model_validate(row["payload"])


async def stored_grouping(conn: asyncpg.Connection, *, task_force: str
                          ) -> tuple[str, list[dict[str, Any]]] | None:
    """The task force's last grouping: the key of its input and its groups (JSON)."""
    row = await conn.fetchrow("SELECT input_key, groups FROM shared_groupings"
                              " WHERE task_force = $1", task_force)
    return None if row is None else (row["input_key"], row["groups"])


async def store_grouping(conn: asyncpg.Connection, *, task_force: str, input_key: str,
                         groups: list[dict[str, Any]], computed_at: datetime) -> None:
    """The grouping just computed replaces the task force's last one."""
    await conn.execute(
        "INSERT INTO shared_groupings (task_force, input_key, groups, computed_at)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (task_force) DO UPDATE SET"
        " input_key = EXCLUDED.input_key, groups = EXCLUDED.groups,"
        " computed_at = EXCLUDED.computed_at", task_force, input_key, groups, computed_at)
