"""Policy bottlenecks (#25 item 1): the difficulties the permanent deputy merges, locked
together, and the bottleneck kept with its items and its ministry's answer."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.intake.store.difficulties import DifficultyState
from shared.events import DifficultyReceived, PolicyBottleneck


@dataclass(frozen=True, slots=True)
class Candidate:
    """A difficulty the deputy would merge, locked: where it stands and what it is."""

    state: DifficultyState
    tax_code: str
    received: DifficultyReceived
    bottleneck_id: uuid.UUID | None  # the bottleneck it is in already


async def lock_candidates(conn: asyncpg.Connection, *, difficulty_ids: Sequence[uuid.UUID]
                          ) -> list[Candidate]:
    """The difficulties of `difficulty_ids` that exist, locked in id order (two merges
    of overlapping items wait for each other instead of deadlocking)."""
    rows = await conn.fetch(
        "SELECT d.difficulty_id, d.province_code, d.task_force, d.status, d.tax_code,"
        " d.payload, b.bottleneck_id FROM intake.difficulties d"
        " LEFT JOIN intake.bottleneck_items b USING (difficulty_id)"
        " WHERE d.difficulty_id = ANY($1::uuid[]) ORDER BY d.difficulty_id FOR UPDATE OF d",
        list(difficulty_ids))
    return [Candidate(DifficultyState(r["difficulty_id"], r["province_code"], r["task_force"],
                                      r["status"]), r["tax_code"],
                      DifficultyReceived.model_validate(r["payload"]), r["bottleneck_id"])
            for r in rows]


async def insert_bottleneck(conn: asyncpg.Connection, *, event: PolicyBottleneck) -> bool:
    """The bottleneck and its members; False if it was merged already (the same form
    sent twice)."""
    done = await conn.execute(
        "INSERT INTO intake.bottlenecks (bottleneck_id, task_force, ministry_id, merged_at,"
        " event) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (bottleneck_id) DO NOTHING",
        event.bottleneck_id, event.task_force, event.ministry_id, event.merged_at,
        event.model_dump(mode="json"))
    if done == "INSERT 0 0":
        return False
    await conn.executemany(
        "INSERT INTO intake.bottleneck_items (difficulty_id, bottleneck_id) VALUES ($1, $2)",
        [(it.difficulty_id, event.bottleneck_id) for it in event.items])
    return True


async def lock_bottleneck(conn: asyncpg.Connection, *, bottleneck_id: uuid.UUID
                          ) -> PolicyBottleneck | None:
    """The bottleneck as last sent, locked until the caller's transaction ends."""
    row = await conn.fetchrow("SELECT event FROM intake.bottlenecks WHERE bottleneck_id = $1"
                              " FOR UPDATE", bottleneck_id)
    return None if row is None else PolicyBottleneck.model_validate(row["event"])


async def bottleneck_answered(conn: asyncpg.Connection, *, event: PolicyBottleneck,
                              answered_at: datetime) -> None:
    await conn.execute(
        "UPDATE intake.bottlenecks SET answered_at = $2, event = $3 WHERE bottleneck_id = $1",
        event.bottleneck_id, answered_at, event.model_dump(mode="json"))
