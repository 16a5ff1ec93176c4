"""Intake's SQL. Keyword-only functions over an asyncpg connection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from shared import outbox
from shared.events import DifficultyAssigned, DifficultyReceived, Envelope

SCHEMA = "intake"


async def find_idempotent(conn: asyncpg.Connection, *, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT request_hash, status_code, response FROM idempotency_keys WHERE key = $1", key
    )


async def accept_difficulty(
    conn: asyncpg.Connection,
    *,
    event: Envelope[DifficultyReceived],
    idempotency_key: str | None,
    request_hash: str,
    response: dict[str, Any],
) -> bool:
    """Store the difficulty and its outgoing event in one transaction (the caller's).
    Returns False when the idempotency key was taken concurrently by the same request."""
    d = event.data
    if idempotency_key is not None:
        taken = await conn.fetchval(
            "INSERT INTO idempotency_keys (key, request_hash, status_code, response)"
            " VALUES ($1, $2, 202, $3::jsonb) ON CONFLICT (key) DO NOTHING RETURNING key",
            idempotency_key, request_hash, response,
        )
        if taken is None:
            return False
    await conn.execute(
        "INSERT INTO difficulties (difficulty_id, tracking_code, tax_code, province_code,"
        " task_force, payload, received_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)",
        d.difficulty_id, d.tracking_code, d.tax_code, d.province_code, d.task_force,
        d.model_dump(mode="json"), d.received_at,
    )
    await outbox.enqueue(conn, schema=SCHEMA, events=[event])
    return True


async def record_assignments(
    conn: asyncpg.Connection, *, events: Sequence[Envelope[DifficultyAssigned]]
) -> int:
    """Learn assignments (idempotent on event id); returns how many were already known."""
    ids = [e.id for e in events]
    new_ids = {
        r["event_id"]
        for r in await conn.fetch(
            "INSERT INTO processed_events (event_id) SELECT unnest($1::text[])"
            " ON CONFLICT DO NOTHING RETURNING event_id",
            ids,
        )
    }
    fresh = [e.data for e in events if e.id in new_ids]
    superseded = [a.replaces for a in fresh if a.replaces is not None]
    if superseded:
        await conn.execute(
            "UPDATE assignments SET active = false WHERE assignment_id = ANY($1::uuid[])",
            superseded,
        )
    await conn.executemany(
        "INSERT INTO assignments (assignment_id, difficulty_id, agency_id, member_id, role,"
        " replaces, assigned_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (assignment_id) DO NOTHING",
        [(a.assignment_id, a.difficulty_id, a.agency_id, a.member_id, a.role.value, a.replaces,
          a.assigned_at) for a in fresh],
    )
    return len(events) - len(fresh)
