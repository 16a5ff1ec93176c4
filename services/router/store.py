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
    await conn.execute(
        "INSERT INTO processed_events (event_id, topic) SELECT unnest($1::text[]), $2"
        " ON CONFLICT DO NOTHING",
        list(event_ids), topic,
    )


async def save_difficulties(
    conn: asyncpg.Connection, *, difficulties: Sequence[DifficultyReceived]
) -> None:
    # One statement per batch (unnest), not one round trip per row.
    await conn.execute(
        "INSERT INTO difficulties (difficulty_id, province_code, task_force, payload, received_at)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[],"
        " $5::timestamptz[]) ON CONFLICT (difficulty_id) DO NOTHING",
        [d.difficulty_id for d in difficulties], [d.province_code for d in difficulties],
        [d.task_force for d in difficulties],
        [d.model_dump(mode="json") for d in difficulties],
        [d.received_at for d in difficulties],
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
    a = assignments
    await conn.execute(
        "INSERT INTO assignments (assignment_id, difficulty_id, agency_id, member_id, role, level,"
        " rule, replaces, payload, assigned_at)"
        " SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[],"
        " $6::text[], $7::text[], $8::uuid[], $9::jsonb[], $10::timestamptz[])"
        " ON CONFLICT (assignment_id) DO NOTHING",
        [x.assignment_id for x in a], [x.difficulty_id for x in a], [x.agency_id for x in a],
        [x.member_id for x in a], [x.role.value for x in a], [x.agency_level.value for x in a],
        [x.rule for x in a], [x.replaces for x in a], [x.model_dump(mode="json") for x in a],
        [x.assigned_at for x in a],
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
