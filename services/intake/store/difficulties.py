"""A difficulty as intake holds it: accepted once per idempotency key (with its event in
the outbox), its urgency confirmed, the assignments learnt from the router, and its state
read or locked for the rules that judge an update."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.intake import logic
from services.intake.store.common import SCHEMA
from shared import inbox, outbox
from shared.events import (
    AssignmentRole,
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyUrgencyConfirmed,
    Envelope,
    Step,
)


async def find_idempotent(conn: asyncpg.Connection, *, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT request_hash, status_code, response FROM intake.idempotency_keys WHERE key = $1",
        key,
    )


async def claim_idempotency_key(
    conn: asyncpg.Connection, *, key: str, request_hash: str, status_code: int,
    response: dict[str, Any],
) -> bool:
    """Record the answer given for `key` (inside the caller's transaction); False when the
    key was taken concurrently, in which case the caller rolls back and replays."""
    taken = await conn.fetchval(
        "INSERT INTO intake.idempotency_keys (key, request_hash, status_code, response)"
        " VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (key) DO NOTHING RETURNING key",
        key, request_hash, status_code, response,
    )
    return taken is not None


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
    if idempotency_key is not None and not await claim_idempotency_key(
        conn, key=idempotency_key, request_hash=request_hash, status_code=202, response=response
    ):
        return False
    await insert_difficulties(conn, events=[event])
    return True


async def insert_difficulties(
    conn: asyncpg.Connection, *, events: Sequence[Envelope[DifficultyReceived]]
) -> None:
    """Many difficulties and their outbox rows in one round-trip each (bulk import)."""
    ds = [e.data for e in events]
    await conn.execute(
        "INSERT INTO intake.difficulties (difficulty_id, tracking_code, tax_code, province_code,"
        " task_force, payload, received_at)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],"
        " $6::jsonb[], $7::timestamptz[])",
        [d.difficulty_id for d in ds], [d.tracking_code for d in ds], [d.tax_code for d in ds],
        [d.province_code for d in ds], [d.task_force for d in ds],
        [d.model_dump(mode="json") for d in ds], [d.received_at for d in ds],
    )
    await outbox.enqueue(conn, schema=SCHEMA, events=list(events))


async def record_confirmations(
    conn: asyncpg.Connection, *, events: Sequence[Envelope[DifficultyUrgencyConfirmed]]
) -> set[uuid.UUID]:
    """Record urgency confirmations and enqueue their events (inside the caller's
    transaction); a difficulty already confirmed keeps its first. Returns the difficulty
    ids newly confirmed."""
    if not events:
        return set()
    cs = [e.data for e in events]
    rows = await conn.fetch(
        "INSERT INTO intake.urgency_confirmations (difficulty_id, confirmation_id, actor_kind,"
        " actor_id, reported, confirmed_at)"
        " SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::bool[],"
        " $6::timestamptz[]) ON CONFLICT (difficulty_id) DO NOTHING RETURNING difficulty_id",
        [c.difficulty_id for c in cs], [c.confirmation_id for c in cs],
        [c.actor_kind.value for c in cs], [c.actor_id for c in cs], [c.reported for c in cs],
        [c.confirmed_at for c in cs],
    )
    new = {r["difficulty_id"] for r in rows}
    await outbox.enqueue(conn, schema=SCHEMA,
                         events=[e for e in events if e.data.difficulty_id in new])
    return new


async def confirmation_of(
    conn: asyncpg.Connection, *, difficulty_id: uuid.UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT confirmation_id, actor_kind, actor_id, reported, confirmed_at"
        " FROM intake.urgency_confirmations WHERE difficulty_id = $1", difficulty_id)


async def record_assignments(
    conn: asyncpg.Connection, *, events: Sequence[Envelope[DifficultyAssigned]]
) -> int:
    """Learn assignments (idempotent on event id); returns how many were already known."""
    ids = [e.id for e in events]
    new_ids = await inbox.record(conn, schema=SCHEMA, event_ids=ids)
    fresh = [e.data for e in events if e.id in new_ids]
    superseded = [a.replaces for a in fresh if a.replaces is not None]
    # Inactive at once if what replaces it was seen first (a replay can bring it later).
    await conn.executemany(
        "INSERT INTO intake.assignments (assignment_id, difficulty_id, agency_id, member_id,"
        " role, replaces, assigned_at, active) VALUES ($1, $2, $3, $4, $5, $6, $7,"
        " NOT EXISTS (SELECT 1 FROM intake.assignments s WHERE s.replaces = $1))"
        " ON CONFLICT (assignment_id) DO NOTHING",
        [(a.assignment_id, a.difficulty_id, a.agency_id, a.member_id, a.role.value, a.replaces,
          a.assigned_at) for a in fresh],
    )
    if superseded:
        # After the inserts: one batch may hold an assignment and the one replacing it.
        await conn.execute(
            "UPDATE intake.assignments SET active = false WHERE assignment_id = ANY($1::uuid[])",
            superseded,
        )
    return len(events) - len(fresh)


# --- the difficulty's state -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DifficultyState:
    difficulty_id: uuid.UUID
    province_code: str
    task_force: str | None
    status: str


async def lock_difficulty(
    conn: asyncpg.Connection, *, difficulty_id: uuid.UUID
) -> DifficultyState | None:
    """The difficulty's state, row-locked until the caller's transaction ends, so that two
    concurrent updates are judged one after the other by the state machine."""
    row = await conn.fetchrow(
        "SELECT difficulty_id, province_code, task_force, status FROM intake.difficulties"
        " WHERE difficulty_id = $1 FOR UPDATE",
        difficulty_id,
    )
    if row is None:
        return None
    return DifficultyState(row["difficulty_id"], row["province_code"], row["task_force"],
                           row["status"])


async def difficulty(conn: asyncpg.Connection, *, difficulty_id: uuid.UUID
                     ) -> tuple[DifficultyState, DifficultyReceived] | None:
    """A difficulty's state and the difficulty as accepted (no lock: for reading)."""
    row = await conn.fetchrow(
        "SELECT difficulty_id, province_code, task_force, status, payload"
        " FROM intake.difficulties WHERE difficulty_id = $1", difficulty_id)
    if row is None:
        return None
    return (DifficultyState(row["difficulty_id"], row["province_code"], row["task_force"],
                            row["status"]),
            DifficultyReceived.model_validate(row["payload"]))


async def difficulty_by_code(conn: asyncpg.Connection, *, tracking_code: str
                             ) -> uuid.UUID | None:
    """The id of the difficulty with this tracking code (a merge names the kept one so)."""
    found: uuid.UUID | None = await conn.fetchval(
        "SELECT difficulty_id FROM intake.difficulties WHERE tracking_code = $1",
        tracking_code)
    return found


async def active_assignments(
    conn: asyncpg.Connection, *, difficulty_id: uuid.UUID
) -> list[logic.Held]:
    """The active assignments of a difficulty, newest first."""
    rows = await conn.fetch(
        "SELECT assignment_id, role, agency_id, member_id, step FROM intake.assignments"
        " WHERE difficulty_id = $1 AND active ORDER BY assigned_at DESC, assignment_id",
        difficulty_id,
    )
    return [logic.Held(r["assignment_id"], AssignmentRole(r["role"]), r["agency_id"],
                       r["member_id"], Step(r["step"]) if r["step"] else None) for r in rows]
