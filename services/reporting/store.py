"""Reporting's SQL. Keyword-only functions over an asyncpg connection."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from shared.events import DifficultyAssigned, DifficultyReceived, EventData, Envelope


async def record_events(
    conn: asyncpg.Connection, *, topic: str, events: Sequence[Envelope[EventData]]
) -> set[str]:
    """Keep every event once; returns the ids that were new (the ones to project)."""
    rows = await conn.fetch(
        "INSERT INTO events (event_id, topic, difficulty_id, event_type, occurred_at, payload)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[],"
        " $5::timestamptz[], $6::jsonb[]) ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
        [e.id for e in events],
        [topic] * len(events),
        [getattr(e.data, "difficulty_id", None) for e in events],
        [e.type for e in events],
        [e.time for e in events],
        [e.data.model_dump(mode="json") for e in events],
    )
    return {r["event_id"] for r in rows}


async def project_received(
    conn: asyncpg.Connection, *, difficulties: Sequence[DifficultyReceived]
) -> None:
    await conn.executemany(
        "INSERT INTO difficulties (difficulty_id, tracking_code, tax_code, province_code,"
        " task_force, zone_type, category, kind, urgency, title, received_at, status_at, payload)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12::jsonb)"
        " ON CONFLICT (difficulty_id) DO NOTHING",
        [
            (d.difficulty_id, d.tracking_code, d.tax_code, d.province_code, d.task_force,
             d.zone_type, d.category.value, d.kind.value, d.urgency.value, d.title,
             d.received_at, d.model_dump(mode="json", exclude={"contact"}))
            for d in difficulties
        ],
    )


async def project_assigned(
    conn: asyncpg.Connection, *, assignments: Sequence[DifficultyAssigned]
) -> None:
    superseded = [a.replaces for a in assignments if a.replaces is not None]
    if superseded:
        await conn.execute(
            "UPDATE assignments SET active = false WHERE assignment_id = ANY($1::uuid[])",
            superseded,
        )
    await conn.executemany(
        "INSERT INTO assignments (assignment_id, difficulty_id, agency_id, agency_level,"
        " member_id, role, rule, replaces, active, assigned_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
        " NOT EXISTS (SELECT 1 FROM assignments s WHERE s.replaces = $1), $9)"
        " ON CONFLICT (assignment_id) DO NOTHING",
        [
            (a.assignment_id, a.difficulty_id, a.agency_id, a.agency_level.value, a.member_id,
             a.role.value, a.rule, a.replaces, a.assigned_at)
            for a in assignments
        ],
    )
