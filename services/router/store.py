"""The router's SQL. Keyword-only functions over an asyncpg connection."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

import asyncpg

from shared.events import DifficultyAssigned, DifficultyReceived


async def already_processed(conn: asyncpg.Connection, *, event_ids: Sequence[str]) -> set[str]:
    rows = await conn.fetch(
        "SELECT event_id FROM processed_events WHERE event_id = ANY($1::text[])", list(event_ids)
    )
    return {r["event_id"] for r in rows}


async def mark_processed(conn: asyncpg.Connection, *, event_ids: Iterable[str], topic: str) -> None:
    await conn.executemany(
        "INSERT INTO processed_events (event_id, topic) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        [(e, topic) for e in event_ids],
    )


async def save_difficulties(
    conn: asyncpg.Connection, *, difficulties: Sequence[DifficultyReceived]
) -> None:
    await conn.executemany(
        "INSERT INTO difficulties (difficulty_id, province_code, task_force, payload, received_at)"
        " VALUES ($1, $2, $3, $4::jsonb, $5) ON CONFLICT (difficulty_id) DO NOTHING",
        [
            (d.difficulty_id, d.province_code, d.task_force, d.model_dump(mode="json"),
             d.received_at)
            for d in difficulties
        ],
    )


async def save_assignments(
    conn: asyncpg.Connection, *, assignments: Sequence[DifficultyAssigned]
) -> None:
    superseded = [a.replaces for a in assignments if a.replaces is not None]
    if superseded:
        await conn.execute(
            "UPDATE assignments SET active = false WHERE assignment_id = ANY($1::uuid[])",
            superseded,
        )
    await conn.executemany(
        "INSERT INTO assignments (assignment_id, difficulty_id, agency_id, member_id, role, level,"
        " rule, replaces, payload, assigned_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10)"
        " ON CONFLICT (assignment_id) DO NOTHING",
        [
            (a.assignment_id, a.difficulty_id, a.agency_id, a.member_id, a.role.value,
             a.agency_level.value, a.rule, a.replaces, a.model_dump(mode="json"), a.assigned_at)
            for a in assignments
        ],
    )


async def load_difficulty(
    conn: asyncpg.Connection, *, difficulty_id: uuid.UUID
) -> DifficultyReceived | None:
    payload = await conn.fetchval(
        "SELECT payload FROM difficulties WHERE difficulty_id = $1", difficulty_id
    )
    return DifficultyReceived.model_validate(payload) if payload is not None else None


async def active_assignments(
    conn: asyncpg.Connection, *, difficulty_id: uuid.UUID
) -> list[DifficultyAssigned]:
    rows = await conn.fetch(
        "SELECT payload FROM assignments WHERE difficulty_id = $1 AND active"
        " ORDER BY assigned_at",
        difficulty_id,
    )
    return [DifficultyAssigned.model_validate(r["payload"]) for r in rows]
