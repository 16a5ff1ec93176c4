"""Status updates: each one's row in the difficulty's hash-chained history (shared/audit.py)
with its event, and what the rules read back from that history (reopenings, the pending
question); the business's (tracking code, tax code) pair to its difficulty."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import asyncpg

from services.intake.store.common import SCHEMA
from services.intake.store.difficulties import DifficultyState, lock_difficulty
from shared import audit, outbox
from shared.events import DifficultyStatusChanged, Envelope


async def record_status(
    conn: asyncpg.Connection, *, event: Envelope[DifficultyStatusChanged]
) -> Envelope[DifficultyStatusChanged]:
    """The new status (if the update moves the difficulty), the step of the assignment it
    names, its history row chained to the one before (shared/audit.py) and its outgoing
    event carrying the row's place in the chain, in the caller's transaction; returns
    that event."""
    s = event.data
    resolution = s.resolution.model_dump(mode="json") if s.resolution else None
    feedback = s.feedback.model_dump(mode="json") if s.feedback else None
    letter = s.letter.model_dump(mode="json") if s.letter else None
    # The chain's head, locked to the end of the transaction (callers hold the row
    # already; locking here keeps two writers from taking the same position whoever
    # calls), and PostgreSQL's text of each jsonb value, which the hash covers.
    later = {
        "co_agency_ids": list(s.co_agency_ids) or None,
        "correction": s.correction.model_dump(mode="json") if s.correction else None,
        "merged_into": s.merged_into.model_dump(mode="json") if s.merged_into else None,
        "duplicate": s.duplicate.model_dump(mode="json") if s.duplicate else None,
    }
    head = await conn.fetchrow(
        "SELECT chain_length, chain_head, $2::jsonb::text AS resolution,"
        " $3::jsonb::text AS feedback, $4::jsonb::text AS letter,"
        " $5::jsonb::text AS co_agency_ids, $6::jsonb::text AS correction,"
        " $7::jsonb::text AS merged_into, $8::jsonb::text AS duplicate"
        " FROM intake.difficulties WHERE difficulty_id = $1 FOR UPDATE",
        s.difficulty_id, resolution, feedback, letter, *later.values(),
    )
    if head is None:
        raise LookupError(f"difficulty {s.difficulty_id} is not stored")
    step = s.step_taken()
    record: dict[str, Any] = {
        "status_id": s.status_id, "difficulty_id": s.difficulty_id,
        "position": head["chain_length"] + 1, "status": s.status.value if s.status else None,
        "actor_kind": s.actor_kind.value, "actor_id": s.actor_id,
        "assignment_id": s.assignment_id, "note": s.note, "changed_at": s.changed_at,
        "step": step.value if step else None, "suggested_agency_id": s.suggested_agency_id,
        "target_agency_id": s.target_agency_id, "resolution": head["resolution"],
        "question": s.question, "answer": s.answer, "feedback": head["feedback"],
        "letter": head["letter"], **{name: head[name] for name in later},
    }
    prev = head["chain_head"] or audit.GENESIS
    chain_hash = audit.link_hash(record, prev)
    if s.status is not None:
        await conn.execute(
            "UPDATE intake.difficulties SET status = $2, status_changed_at = $3,"
            " merged_into = $4 WHERE difficulty_id = $1",
            s.difficulty_id, s.status.value, s.changed_at,
            s.merged_into.difficulty_id if s.merged_into else None,
        )
    if (c := s.correction) is not None:
        # The difficulty as corrected is what intake answers for from now on (its task
        # force decides who may act on it); the event history keeps what it was.
        await conn.execute(
            "UPDATE intake.difficulties SET province_code = $2, task_force = $3,"
            " payload = payload || $4::jsonb WHERE difficulty_id = $1",
            s.difficulty_id, c.province_code, c.task_force, c.model_dump(mode="json"))
    if step is not None:
        await conn.execute(
            "UPDATE intake.assignments SET step = $2, step_at = $3 WHERE assignment_id = $1",
            s.assignment_id, step.value, s.changed_at,
        )
    await conn.execute(
        "INSERT INTO intake.status_updates (status_id, difficulty_id, status, actor_kind,"
        " actor_id, assignment_id, note, changed_at, step, suggested_agency_id, resolution,"
        " question, answer, feedback, target_agency_id, letter, position, prev_hash,"
        " chain_hash, co_agency_ids, correction, merged_into, duplicate) VALUES ($1, $2, $3,"
        " $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14::jsonb, $15, $16::jsonb, $17,"
        " $18, $19, $20::jsonb, $21::jsonb, $22::jsonb, $23::jsonb)",
        s.status_id, s.difficulty_id, record["status"], s.actor_kind.value, s.actor_id,
        s.assignment_id, s.note, s.changed_at, record["step"], s.suggested_agency_id,
        resolution, s.question, s.answer, feedback, s.target_agency_id, letter,
        record["position"], prev, chain_hash, *later.values(),
    )
    await conn.execute(
        "UPDATE intake.difficulties SET chain_length = $2, chain_head = $3"
        " WHERE difficulty_id = $1", s.difficulty_id, record["position"], chain_hash)
    chained = replace(event, data=s.model_copy(
        update={"chain_position": record["position"], "chain_hash": chain_hash}))
    await outbox.enqueue(conn, schema=SCHEMA, events=[chained])
    return chained


async def reopened(conn: asyncpg.Connection, *, difficulty_id: uuid.UUID) -> int:
    """How often the business has sent its difficulty back ("not resolved" that moved it)."""
    n: int = await conn.fetchval(
        "SELECT count(*) FROM intake.status_updates WHERE difficulty_id = $1"
        " AND actor_kind = 'business' AND feedback IS NOT NULL AND status IS NOT NULL",
        difficulty_id)
    return n


async def question_of(conn: asyncpg.Connection, *, assignment_id: uuid.UUID) -> str | None:
    """The question pending on an assignment: the one its latest need_info step put."""
    found: str | None = await conn.fetchval(
        "SELECT question FROM intake.status_updates WHERE assignment_id = $1"
        " AND step = 'need_info' ORDER BY changed_at DESC, status_id DESC LIMIT 1",
        assignment_id)
    return found


async def lock_tracked(conn: asyncpg.Connection, *, tracking_code: str, tax_code: str
                       ) -> DifficultyState | None:
    """The difficulty of a (tracking code, tax code) pair, locked; None for a wrong pair."""
    difficulty_id = await conn.fetchval(
        "SELECT difficulty_id FROM intake.difficulties WHERE tracking_code = $1"
        " AND tax_code = $2", tracking_code, tax_code)
    if difficulty_id is None:
        return None
    return await lock_difficulty(conn, difficulty_id=difficulty_id)
