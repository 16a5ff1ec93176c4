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
    conn: asyncpg.Connection,
    *,
    difficulties: Sequence[DifficultyReceived],
    payloads: Sequence[str] | None = None,
) -> None:
    """`payloads`: the difficulties' JSON when the caller has it already (the router encodes
    each once for its topics), stored as sent rather than re-encoded here."""
    d = difficulties
    # One statement per batch (unnest), not one round trip per row.
    await conn.execute(
        "INSERT INTO difficulties (difficulty_id, province_code, task_force, payload, received_at)"
        " SELECT i, p, t, j::json, r FROM unnest($1::uuid[], $2::text[], $3::text[],"
        " $4::text[], $5::timestamptz[]) AS u(i, p, t, j, r)"
        " ON CONFLICT (difficulty_id) DO NOTHING",
        [x.difficulty_id for x in d], [x.province_code for x in d], [x.task_force for x in d],
        list(payloads) if payloads is not None else [x.model_dump_json() for x in d],
        [x.received_at for x in d],
    )


async def save_assignments(
    conn: asyncpg.Connection,
    *,
    assignments: Sequence[DifficultyAssigned],
    payloads: Sequence[str] | None = None,
) -> None:
    """`payloads`: the assignments' JSON if already encoded (see `save_difficulties`)."""
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
        " SELECT i, d, ag, m, ro, l, ru, rp, j::json, t FROM unnest($1::uuid[], $2::uuid[],"
        " $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::uuid[], $9::text[],"
        " $10::timestamptz[]) AS u(i, d, ag, m, ro, l, ru, rp, j, t)"
        " ON CONFLICT (assignment_id) DO NOTHING",
        [x.assignment_id for x in a], [x.difficulty_id for x in a], [x.agency_id for x in a],
        [x.member_id for x in a], [x.role.value for x in a], [x.agency_level.value for x in a],
        [x.rule for x in a], [x.replaces for x in a],
        list(payloads) if payloads is not None else [x.model_dump_json() for x in a],
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
