"""Intake's SQL. Keyword-only functions over an asyncpg connection.

Table names are schema-qualified so that the queries do not depend on the
connection's search_path.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import asyncpg

from services.intake import logic
from shared import audit, inbox, outbox
from shared.deadlines import ACKNOWLEDGING, CLOSED, HANDLING_ROLES
from shared.events import (
    AssignmentRole,
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyStatusChanged,
    DifficultyUrgencyConfirmed,
    Envelope,
    PolicyBottleneck,
    Status,
    Step,
    Urgency,
)

SCHEMA = "intake"


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


# --- status updates -------------------------------------------------------------------------


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


async def enqueue_to(conn: asyncpg.Connection, *, event: Envelope[Any], topic: str) -> None:
    """An event for a topic of its own (an agency's), in the caller's transaction."""
    await outbox.enqueue(conn, schema=SCHEMA, events=[event], topic=topic)


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


# --- member reports ---------------------------------------------------------------------------


async def upsert_member_report(
    conn: asyncpg.Connection, *, member_id: str, week_label: str, report_id: uuid.UUID,
    late: bool, payload: dict[str, Any], submitted_at: datetime,
) -> int:
    """Insert or replace the member's report of that week; returns its revision (1 = first)."""
    revision: int = await conn.fetchval(
        "INSERT INTO intake.member_reports (member_id, week_label, report_id, late, payload,"
        " submitted_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6)"
        " ON CONFLICT (member_id, week_label) DO UPDATE SET revision ="
        " intake.member_reports.revision + 1, late = EXCLUDED.late,"
        " payload = EXCLUDED.payload, submitted_at = EXCLUDED.submitted_at"
        " RETURNING revision",
        member_id, week_label, report_id, late, payload, submitted_at,
    )
    return revision


async def enqueue(conn: asyncpg.Connection, *, events: Sequence[Envelope[Any]]) -> int:
    return await outbox.enqueue(conn, schema=SCHEMA, events=events)



# --- a member's week --------------------------------------------------------------------------


async def member_items(
    conn: asyncpg.Connection, *, member_id: str, since: datetime
) -> list[logic.AssignedItem]:
    """The difficulties actively assigned to a member: all open ones, and those closed
    after `since` (the start of the report week)."""
    rows = await conn.fetch(
        "SELECT d.difficulty_id, d.tracking_code, d.payload->>'title' AS title,"
        " d.payload->>'category' AS category, d.payload->>'urgency' AS urgency,"
        " d.status, d.received_at, d.status_changed_at, m.assigned_at, h.handling_assigned_at,"
        " (SELECT min(s.changed_at) FROM intake.status_updates s"
        "   WHERE s.difficulty_id = d.difficulty_id AND s.status = ANY($3::text[])"
        "   AND s.changed_at >= coalesce(h.handling_assigned_at, m.assigned_at))"
        "   AS acknowledged_at"
        " FROM (SELECT difficulty_id, max(assigned_at) AS assigned_at FROM intake.assignments"
        "       WHERE member_id = $1 AND active GROUP BY difficulty_id) m"
        " JOIN intake.difficulties d USING (difficulty_id)"
        " LEFT JOIN LATERAL (SELECT max(a.assigned_at) AS handling_assigned_at"
        "   FROM intake.assignments a WHERE a.difficulty_id = d.difficulty_id AND a.active"
        "   AND a.role = ANY($4::text[])) h ON true"
        " WHERE d.status <> ALL($5::text[]) OR d.status_changed_at > $2"
        " ORDER BY d.received_at, d.difficulty_id",
        member_id, since, [s.value for s in ACKNOWLEDGING], [r.value for r in HANDLING_ROLES],
        [s.value for s in CLOSED],
    )
    return [
        logic.AssignedItem(
            difficulty_id=r["difficulty_id"], tracking_code=r["tracking_code"],
            title=r["title"] or "", category=r["category"] or "", status=Status(r["status"]),
            urgency=Urgency(r["urgency"] or Urgency.NORMAL), received_at=r["received_at"],
            assigned_at=r["assigned_at"], status_changed_at=r["status_changed_at"],
            handling_assigned_at=r["handling_assigned_at"],
            acknowledged_at=r["acknowledged_at"],
        )
        for r in rows
    ]


async def member_report_revisions(
    conn: asyncpg.Connection, *, member_id: str, week_labels: Sequence[str]
) -> dict[str, int]:
    """week label -> revision of the member's report for the weeks they have reported."""
    rows = await conn.fetch(
        "SELECT week_label, revision FROM intake.member_reports"
        " WHERE member_id = $1 AND week_label = ANY($2::text[])",
        member_id, list(week_labels),
    )
    return {r["week_label"]: r["revision"] for r in rows}


# --- the head's directions as tracked work (#22 item 1) -------------------------------------


async def insert_direction(conn: asyncpg.Connection, *, direction_id: uuid.UUID,
                           task_force: str, assignee_id: str, due_on: date) -> bool:
    """False if the direction was given already (the same form sent twice)."""
    tag = await conn.execute(
        "INSERT INTO directions (direction_id, task_force, assignee_id, due_on)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (direction_id) DO NOTHING",
        direction_id, task_force, assignee_id, due_on)
    return bool(tag.endswith(" 1"))


async def direction_for_update(conn: asyncpg.Connection, *, direction_id: uuid.UUID
                               ) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT task_force, assignee_id, state FROM directions WHERE direction_id = $1"
        " FOR UPDATE", direction_id)


async def set_direction_state(conn: asyncpg.Connection, *, direction_id: uuid.UUID,
                              state: str, at: datetime) -> None:
    await conn.execute("UPDATE directions SET state = $2, state_at = $3"
                       " WHERE direction_id = $1", direction_id, state, at)


# --- policy bottlenecks (#25 item 1) -----------------------------------------------------------


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



# --- attachments (#20 item 10) ----------------------------------------------------------------


async def insert_attachments(
    conn: asyncpg.Connection, *, difficulty_id: uuid.UUID, status_id: uuid.UUID | None,
    files: Sequence[logic.CheckedFile], by_kind: str, by_id: str, public: bool, at: datetime,
) -> None:
    """The files of one request, in the caller's transaction (with the update they came
    with, so a refused update keeps none of them)."""
    await conn.executemany(
        "INSERT INTO intake.attachments (attachment_id, difficulty_id, status_id, file_name,"
        " content_type, size, sha256, content, attached_by_kind, attached_by, public,"
        " attached_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        [(f.attachment_id, difficulty_id, status_id, f.file_name, f.content_type, f.size,
          f.sha256, f.content, by_kind, by_id, public, at) for f in files])


async def attachment(conn: asyncpg.Connection, *, attachment_id: uuid.UUID
                     ) -> asyncpg.Record | None:
    """One file with what decides who reads it (its difficulty, who attached it, public)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT a.attachment_id, a.difficulty_id, a.file_name, a.content_type, a.size,"
        " a.sha256, a.content, a.attached_by_kind, a.public, d.tracking_code, d.tax_code"
        " FROM intake.attachments a JOIN intake.difficulties d USING (difficulty_id)"
        " WHERE a.attachment_id = $1", attachment_id)
    return row


async def has_public_answer(conn: asyncpg.Connection, *, difficulty_id: uuid.UUID) -> bool:
    """Whether a resolution (with its public answer) was ever given on the difficulty."""
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM intake.status_updates WHERE difficulty_id = $1"
        " AND resolution IS NOT NULL)", difficulty_id)
    return found
