"""Reporting's projections of the events it reads: the event history, the difficulties'
rows and their derived columns, members' reports and notifications."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from shared.events import (
    AttachmentRef,
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyStatusChanged,
    Envelope,
    EventData,
    MemberReport,
    NotificationSent,
)


async def lock_difficulties(
    conn: asyncpg.Connection, *, difficulty_ids: Sequence[uuid.UUID]
) -> None:
    """Serialise the work on each difficulty, until the caller's transaction ends.

    Its received, assigned and status events are projected by separate consumers at once
    (and by several replicas); in READ COMMITTED each `refresh` would miss the others'
    uncommitted rows and derive a stale state (a lead assignment recorded, the lead
    agency not). Taken first in the transaction, in one sorted order, so transactions
    wait for each other and never deadlock."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT"
        " hashtextextended(d::text, 7411) AS k FROM unnest($1::uuid[]) AS d ORDER BY 1) s",
        list(difficulty_ids),
    )


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
        [e.data.model_dump(mode="json", exclude=_PERSONAL.get(type(e.data))) for e in events],
    )
    return {r["event_id"] for r in rows}


STATUS_EVENT_TYPE = DifficultyStatusChanged.ce_type

# Personal data is not kept by reporting, not even in its event history.
_PERSONAL: dict[type[EventData], set[str]] = {DifficultyReceived: {"contact"}}


# --- projections ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReceivedRow:
    data: DifficultyReceived
    task_force: str | None  # the config slug it is reported under
    search: str  # shared.vn.fold of its searchable text


async def project_received(conn: asyncpg.Connection, *, rows: Sequence[ReceivedRow]) -> None:
    await conn.executemany(
        "INSERT INTO difficulties (difficulty_id, tracking_code, tax_code, province_code,"
        " task_force, zone_type, category, kind, urgency, title, received_at, status_at, payload,"
        " enterprise_name, search)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12::jsonb, $13, $14)"
        " ON CONFLICT (difficulty_id) DO NOTHING",
        [
            (d.difficulty_id, d.tracking_code, d.tax_code, d.province_code, r.task_force,
             d.zone_type.value if d.zone_type else None, d.category.value, d.kind.value,
             d.urgency.value, d.title, d.received_at,
             d.model_dump(mode="json", exclude={"contact"}), d.enterprise_name, r.search)
            for r in rows
            for d in (r.data,)
        ],
    )
    await project_attachments(conn, rows=[
        (a, r.data.difficulty_id, None, "business", r.data.received_at)
        for r in rows for a in r.data.attachments])


async def project_attachments(
    conn: asyncpg.Connection, *,
    rows: Sequence[tuple[AttachmentRef, uuid.UUID, uuid.UUID | None, str, datetime]],
) -> None:
    """Each attached file as the event describes it: (file, difficulty, the update it came
    with, who attached it, when)."""
    await conn.executemany(
        "INSERT INTO attachments (attachment_id, difficulty_id, status_id, content_type, size,"
        " sha256, public, actor_kind, attached_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (attachment_id) DO NOTHING",
        [(a.attachment_id, difficulty_id, status_id, a.content_type, a.size, a.sha256,
          a.public, actor_kind, at) for a, difficulty_id, status_id, actor_kind, at in rows])


@dataclass(frozen=True, slots=True)
class AssignedRow:
    data: DifficultyAssigned
    ack_due_at: datetime | None
    resolve_due_at: datetime | None


async def project_assigned(conn: asyncpg.Connection, *, rows: Sequence[AssignedRow]) -> None:
    # `active` is false at once if the assignment that replaces it was seen first (in an
    # earlier transaction; the caller serialises those per difficulty).
    await conn.executemany(
        "INSERT INTO assignments (assignment_id, difficulty_id, agency_id, agency_level,"
        " member_id, role, rule, replaces, active, assigned_at, ack_due_at, resolve_due_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
        " NOT EXISTS (SELECT 1 FROM assignments s WHERE s.replaces = $1), $9, $10, $11)"
        " ON CONFLICT (assignment_id) DO NOTHING",
        [
            (a.assignment_id, a.difficulty_id, a.agency_id, a.agency_level.value, a.member_id,
             a.role.value, a.rule, a.replaces, a.assigned_at, r.ack_due_at, r.resolve_due_at)
            for r in rows
            for a in (r.data,)
        ],
    )
    # After the inserts: one batch may hold both an assignment and the one replacing it.
    superseded = [r.data.replaces for r in rows if r.data.replaces is not None]
    if superseded:
        await conn.execute(
            "UPDATE assignments SET active = false WHERE assignment_id = ANY($1::uuid[])",
            superseded,
        )


async def holding_assignments(
    conn: asyncpg.Connection, *, difficulty_ids: Sequence[uuid.UUID]
) -> list[asyncpg.Record]:
    """The assignments that hold these difficulties (lead, escalation, triage): the ones
    with deadlines."""
    return list(await conn.fetch(
        "SELECT assignment_id, difficulty_id, assigned_at, urgency, role, agency_level"
        " FROM assignments a"
        " JOIN difficulties d USING (difficulty_id)"
        " WHERE a.difficulty_id = ANY($1::uuid[]) AND a.role IN ('lead', 'escalation', 'triage')",
        list(difficulty_ids),
    ))


async def set_deadlines(
    conn: asyncpg.Connection, *, due: Sequence[tuple[uuid.UUID, datetime, datetime]]
) -> None:
    """(assignment id, acknowledge by, resolve by) of assignments seen before their
    difficulty, whose deadlines needed its task force."""
    await conn.executemany(
        "UPDATE assignments SET ack_due_at = $2, resolve_due_at = $3 WHERE assignment_id = $1",
        due,
    )


async def task_forces_of(
    conn: asyncpg.Connection, *, difficulty_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str | None]:
    rows = await conn.fetch(
        "SELECT difficulty_id, task_force FROM difficulties WHERE difficulty_id = ANY($1::uuid[])",
        list(difficulty_ids),
    )
    return {r["difficulty_id"]: r["task_force"] for r in rows}


async def project_status(
    conn: asyncpg.Connection, *, changes: Sequence[DifficultyStatusChanged]
) -> None:
    """Each change in the history (the step it took on the assignment it names, if any)
    and each resolution in its own table; never the internal note."""
    await conn.executemany(
        "INSERT INTO status_history (status_id, difficulty_id, status, actor_kind, actor_id,"
        " assignment_id, changed_at, step, chain_position, chain_hash, correction)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " ON CONFLICT (status_id) DO NOTHING",
        [
            (c.status_id, c.difficulty_id, c.status.value if c.status else None,
             c.actor_kind.value, c.actor_id, c.assignment_id, c.changed_at,
             step.value if (step := c.step_taken()) else None, c.chain_position,
             c.chain_hash, c.correction is not None)
            for c in changes
        ],
    )
    await conn.executemany(
        "INSERT INTO resolutions (status_id, difficulty_id, assignment_id, actor_id, outcome,"
        " done, legal_basis, public_answer, reason, waived, waiver_reason, resolved_at,"
        " ministry_letter_number, ministry_letter_date)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        " ON CONFLICT (status_id) DO NOTHING",
        [
            (c.status_id, c.difficulty_id, c.assignment_id, c.actor_id, r.outcome.value,
             r.done, r.legal_basis, r.public_answer, r.reason, list(r.waived),
             r.waiver_reason, c.changed_at,
             r.ministry_letter.number if r.ministry_letter else None,
             r.ministry_letter.dated if r.ministry_letter else None)
            for c in changes
            if (r := c.resolution) is not None
        ],
    )
    await conn.executemany(
        "INSERT INTO feedback (status_id, difficulty_id, resolved, rating, comment, given_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (status_id) DO NOTHING",
        [(c.status_id, c.difficulty_id, f.resolved, f.rating, f.comment, c.changed_at)
         for c in changes if (f := c.feedback) is not None],
    )
    await conn.executemany(
        "UPDATE difficulties SET merged_into = $2 WHERE difficulty_id = $1",
        [(c.difficulty_id, c.merged_into.difficulty_id) for c in changes
         if c.merged_into is not None],
    )
    await conn.executemany(
        "INSERT INTO central_letters (status_id, difficulty_id, number, dated, registered_by,"
        " registered_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (status_id) DO NOTHING",
        [(c.status_id, c.difficulty_id, c.letter.number, c.letter.dated, c.actor_id,
          c.changed_at) for c in changes if c.letter is not None],
    )
    await project_attachments(conn, rows=[
        (a, c.difficulty_id, c.status_id, c.actor_kind.value, c.changed_at)
        for c in changes for a in c.attachments])


async def places_of(
    conn: asyncpg.Connection, *, difficulty_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str | None]]:
    """(province code, task force) of each difficulty, as corrected if it was."""
    rows = await conn.fetch(
        "SELECT difficulty_id, province_code, task_force FROM difficulties"
        " WHERE difficulty_id = ANY($1::uuid[])", list(difficulty_ids))
    return {r["difficulty_id"]: (r["province_code"], r["task_force"]) for r in rows}


async def corrections_of(
    conn: asyncpg.Connection, *, difficulty_ids: Sequence[uuid.UUID]
) -> list[DifficultyStatusChanged]:
    """The latest correction of each difficulty among its events already kept: a status
    event may be projected before its difficulty arrives (separate consumers), and the
    difficulty's row is then written as received, to be corrected again."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (difficulty_id) payload FROM events"
        " WHERE event_type = $2 AND difficulty_id = ANY($1::uuid[])"
        "   AND jsonb_typeof(payload->'correction') = 'object'"
        " ORDER BY difficulty_id, (payload->>'changed_at')::timestamptz DESC,"
        "   payload->>'status_id' DESC",
        list(difficulty_ids), STATUS_EVENT_TYPE)
    return [DifficultyStatusChanged.model_validate(r["payload"]) for r in rows]


@dataclass(frozen=True, slots=True)
class CorrectedRow:
    data: DifficultyStatusChanged  # with its correction
    task_force: str | None  # the config slug it is reported under from now on


async def project_corrections(conn: asyncpg.Connection, *, rows: Sequence[CorrectedRow]
                              ) -> None:
    """The permanent deputy's corrections, latest last: the difficulty's own columns (and
    its document) as corrected. A correction older than the one applied already is not
    applied again over it (events of two corrections may arrive in any order)."""
    await conn.executemany(
        "UPDATE difficulties d SET zone_type = $2, category = $3, province_code = $4,"
        " task_force = $5, payload = d.payload || $6::jsonb"
        " WHERE d.difficulty_id = $1 AND NOT EXISTS (SELECT 1 FROM status_history x"
        "   WHERE x.difficulty_id = $1 AND x.correction AND (x.changed_at, x.status_id)"
        "   > ($7, $8))",
        [(c.difficulty_id, f.zone_type.value if f.zone_type else None, f.category.value,
          f.province_code, r.task_force, f.model_dump(mode="json"), c.changed_at,
          c.status_id)
         for r in sorted(rows, key=lambda r: (r.data.changed_at, r.data.status_id.bytes))
         for c in (r.data,) for f in (c.correction,) if f is not None],
    )


async def refresh(conn: asyncpg.Connection, *, difficulty_ids: Sequence[uuid.UUID]) -> None:
    """Derive the current state of difficulties from their assignments and status history.

    Run after anything about them arrives, in any order: a difficulty not yet seen is
    simply not updated, and is derived in full when it arrives."""
    await conn.execute(
        """
        UPDATE difficulties d SET
            lead_assignment_id = h.assignment_id,
            lead_agency_id = h.agency_id,
            ack_due_at = h.ack_due_at,
            resolve_due_at = h.resolve_due_at,
            status = COALESCE(s.status, CASE WHEN h.assignment_id IS NULL
                                             THEN 'received' ELSE 'assigned' END),
            status_at = GREATEST(d.received_at, COALESCE(s.changed_at, h.assigned_at,
                                                         d.received_at)),
            acknowledged_at = ack.at,
            closed_at = CASE WHEN s.status IN ('resolved', 'rejected', 'merged')
                             THEN s.changed_at END,
            resolved_at = CASE WHEN s.status = 'resolved' THEN s.changed_at END,
            escalated_central_at = c.at,
            outcome = r.outcome,
            outcome_at = r.resolved_at,
            public_answer = r.public_answer,
            escalated_at = e.at,
            letter_number = l.number,
            letter_date = l.dated
        FROM unnest($1::uuid[]) AS ids(id)
        LEFT JOIN LATERAL (
            SELECT assignment_id, agency_id, ack_due_at, resolve_due_at, assigned_at
            FROM assignments a
            WHERE a.difficulty_id = ids.id AND a.active
              AND a.role IN ('lead', 'escalation', 'triage')
            ORDER BY a.assigned_at DESC, a.assignment_id DESC LIMIT 1
        ) h ON true
        LEFT JOIN LATERAL (
            SELECT status, changed_at FROM status_history x
            WHERE x.difficulty_id = ids.id AND x.status IS NOT NULL
            ORDER BY x.changed_at DESC, x.status_id DESC LIMIT 1
        ) s ON true
        LEFT JOIN LATERAL (
            SELECT outcome, public_answer, resolved_at FROM resolutions x
            WHERE x.difficulty_id = ids.id
            ORDER BY x.resolved_at DESC, x.status_id DESC LIMIT 1
        ) r ON true
        LEFT JOIN LATERAL (
            SELECT min(resolved_at) AS at FROM resolutions x
            WHERE x.difficulty_id = ids.id AND x.outcome = 'escalated'
        ) e ON true
        LEFT JOIN LATERAL (
            SELECT min(changed_at) AS at FROM status_history x
            WHERE x.difficulty_id = ids.id
              AND x.status IN ('acknowledged', 'in_progress', 'resolved', 'rejected', 'escalated')
              AND (h.assigned_at IS NULL OR x.changed_at >= h.assigned_at)
        ) ack ON true
        LEFT JOIN LATERAL (
            SELECT min(assigned_at) AS at FROM assignments a
            WHERE a.difficulty_id = ids.id AND a.agency_level = 'central'
        ) c ON true
        LEFT JOIN LATERAL (
            SELECT number, dated FROM central_letters x
            WHERE x.difficulty_id = ids.id
            ORDER BY x.registered_at DESC, x.status_id DESC LIMIT 1
        ) l ON true
        WHERE d.difficulty_id = ids.id
        """,
        sorted(set(difficulty_ids)),
    )
    # Each assignment's own state: the latest step taken on it.
    await conn.execute(
        """
        UPDATE assignments a SET step = x.step, step_at = x.changed_at
        FROM (SELECT DISTINCT ON (assignment_id) assignment_id, step, changed_at
              FROM status_history
              WHERE difficulty_id = ANY($1::uuid[]) AND assignment_id IS NOT NULL
                AND step IS NOT NULL
              ORDER BY assignment_id, changed_at DESC, status_id DESC) x
        WHERE a.assignment_id = x.assignment_id
          AND (a.step IS DISTINCT FROM x.step OR a.step_at IS DISTINCT FROM x.changed_at)
        """,
        sorted(set(difficulty_ids)),
    )


async def project_member_reports(
    conn: asyncpg.Connection, *, reports: Sequence[MemberReport]
) -> None:
    await conn.executemany(
        "INSERT INTO member_reports (report_id, member_id, province_code, week_label, late,"
        " urgent, submitted_at, payload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)"
        # A member's report of a week keeps its id across revisions: the newest wins,
        # whichever order the revisions arrive in.
        " ON CONFLICT (report_id) DO UPDATE SET late = EXCLUDED.late, urgent = EXCLUDED.urgent,"
        " submitted_at = EXCLUDED.submitted_at, payload = EXCLUDED.payload"
        " WHERE member_reports.submitted_at < EXCLUDED.submitted_at",
        [
            (r.report_id, r.member_id, r.province_code, r.week_label, r.late, r.urgent,
             r.submitted_at, r.model_dump(mode="json"))
            for r in reports
        ],
    )


async def project_notifications(
    conn: asyncpg.Connection, *, events: Sequence[Envelope[NotificationSent]]
) -> None:
    await conn.executemany(
        "INSERT INTO notifications (event_id, notification_key, kind, channel, recipient_id,"
        " province_code, difficulty_id, week_label, attempts, sent_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (event_id) DO NOTHING",
        [
            (e.id, n.notification_key, n.kind, n.channel, n.recipient_id, n.province_code,
             n.difficulty_id, n.week_label, n.attempts, n.sent_at)
            for e in events
            for n in (e.data,)
        ],
    )
