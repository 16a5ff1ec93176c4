"""Notify's SQL. Keyword-only functions over an asyncpg connection.

The invariants live here:
- owed messages are only ever INSERTed under their deterministic key with
  ON CONFLICT DO NOTHING, so computing them twice (replays, replicas, sweeps
  after a restart) is harmless; the one exception, `hasten_owed`, only ever moves
  a pending message earlier (an urgent item vouched for), which is as harmless;
- a dispatcher owns a row only through a lease taken with FOR UPDATE SKIP
  LOCKED, and changes it afterwards only if it still holds that lease.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.notify.logic import Followed, Owed, Quiet, resume

# A row is free to claim when pending, or when its sender's lease ran out (crash).
_CLAIMABLE = "(state = 'pending' OR (state = 'sending' AND claimed_until < now()))"

SCHEMA = "notify"  # its tables, the inbox and the outbox among them


async def insert_owed(conn: asyncpg.Connection, *, owed: Sequence[Owed]) -> list[Owed]:
    """Insert owed messages; an existing key is left alone. Returns those that were new."""
    if not owed:
        return []
    inserted = await conn.fetch(
        "INSERT INTO messages (message_key, kind, recipient_id, channel, address, secret_env,"
        " province_code, difficulty_id, week_label, urgent, due_at, payload)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
        " $6::text[], $7::text[], $8::uuid[], $9::text[], $10::bool[], $11::timestamptz[],"
        " $12::jsonb[]) ON CONFLICT (message_key) DO NOTHING RETURNING message_key",
        [o.key for o in owed], [o.kind for o in owed], [o.recipient_id for o in owed],
        [o.channel for o in owed], [o.address for o in owed], [o.secret_env for o in owed],
        [o.province_code for o in owed], [o.difficulty_id for o in owed],
        [o.week_label for o in owed], [o.urgent for o in owed], [o.due_at for o in owed],
        [dict(o.payload) for o in owed],
    )
    new = {r["message_key"] for r in inserted}
    return [o for o in owed if o.key in new]


async def hasten_owed(conn: asyncpg.Connection, *, owed: Sequence[Owed]) -> list[Owed]:
    """Insert owed messages, or make a pending one under the same key go no later than
    these (and at night): an alarm held for office hours goes at once when an officer or
    a member vouches for its item. Never a second message; one already sent stays as it
    was. Returns those inserted or hastened."""
    unique = list({o.key: o for o in owed}.values())  # one row may be changed once only
    if not unique:
        return []
    changed = await conn.fetch(
        "INSERT INTO messages AS m (message_key, kind, recipient_id, channel, address,"
        " secret_env, province_code, difficulty_id, week_label, urgent, due_at, payload)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
        " $6::text[], $7::text[], $8::uuid[], $9::text[], $10::bool[], $11::timestamptz[],"
        " $12::jsonb[]) ON CONFLICT (message_key) DO UPDATE SET"
        " due_at = LEAST(m.due_at, EXCLUDED.due_at), urgent = m.urgent OR EXCLUDED.urgent,"
        " payload = m.payload || EXCLUDED.payload"
        " WHERE m.state = 'pending' RETURNING message_key",
        [o.key for o in unique], [o.kind for o in unique], [o.recipient_id for o in unique],
        [o.channel for o in unique], [o.address for o in unique],
        [o.secret_env for o in unique], [o.province_code for o in unique],
        [o.difficulty_id for o in unique], [o.week_label for o in unique],
        [o.urgent for o in unique], [o.due_at for o in unique],
        [dict(o.payload) for o in unique],
    )
    keys = {r["message_key"] for r in changed}
    return [o for o in unique if o.key in keys]


# --- assignments and their reminders ---------------------------------------------------------


async def follow_assignments(conn: asyncpg.Connection, *, rows: Sequence[Followed]) -> int:
    """Start following assignments (idempotent); a re-assignment stops the one it replaces."""
    if not rows:
        return 0
    inserted = await conn.fetch(
        "INSERT INTO assignments (assignment_id, difficulty_id, tracking_code, province_code,"
        " agency_id, urgent, assigned_at, ack_deadline, resolve_deadline, ack_due, resolve_due,"
        " agency_contacts, deputy_id, deputy_contacts, next_check_at, central, zone_deputies)"
        " SELECT a.id, a.did, a.tc, a.pc, a.ag, a.urg, a.at, a.ackd, a.resd,"
        "   coalesce((SELECT array_agg(x::timestamptz ORDER BY n)"
        "    FROM jsonb_array_elements_text(a.ackdue::jsonb) WITH ORDINALITY u(x, n)), '{}'),"
        "   (SELECT array_agg(x::timestamptz ORDER BY n)"
        "    FROM jsonb_array_elements_text(a.resdue::jsonb) WITH ORDINALITY u(x, n)),"
        "   a.agc::jsonb, a.dep, a.depc::jsonb, a.nxt, a.central, a.zd::jsonb"
        # JSON arrays travel as text: asyncpg would read a list of lists as a 2-D array.
        " FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::bool[],"
        "   $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::text[], $11::text[],"
        "   $12::text[], $13::text[], $14::text[], $15::timestamptz[], $16::bool[],"
        "   $17::text[])"
        "   AS a(id, did, tc, pc, ag, urg, at, ackd, resd, ackdue, resdue, agc, dep, depc, nxt,"
        "        central, zd)"
        " ON CONFLICT (assignment_id) DO NOTHING RETURNING assignment_id",
        [r.assignment_id for r in rows], [r.difficulty_id for r in rows],
        [r.tracking_code for r in rows], [r.province_code for r in rows],
        [r.agency_id for r in rows], [r.urgent for r in rows], [r.assigned_at for r in rows],
        [r.ack_deadline for r in rows], [r.resolve_deadline for r in rows],
        [json.dumps([t.isoformat() for t in r.ack_due]) for r in rows],
        [json.dumps([t.isoformat() for t in r.resolve_due]) for r in rows],
        [json.dumps(r.agency_contacts) for r in rows], [r.deputy_id for r in rows],
        [json.dumps(r.deputy_contacts) for r in rows], [r.next_check_at for r in rows],
        [r.central for r in rows], [json.dumps(r.zone_deputies) for r in rows],
    )
    replaced = [r.replaces for r in rows if r.replaces]
    if replaced:
        await close_assignments(conn, assignment_ids=replaced, at=max(r.assigned_at for r in rows))
    return len(inserted)


async def close_assignments(
    conn: asyncpg.Connection, *, assignment_ids: Sequence[str], at: datetime
) -> None:
    await conn.execute(
        "UPDATE assignments SET closed_at = $2, next_check_at = NULL"
        " WHERE assignment_id = ANY($1::uuid[]) AND closed_at IS NULL", list(assignment_ids), at,
    )


@dataclass(frozen=True, slots=True)
class StatusRow:
    difficulty_id: str
    assignment_id: str | None
    actor_id: str
    acknowledged: bool
    closes: bool
    resolves_difficulty: bool
    at: datetime
    pauses: bool = False  # the assignment now waits for the business
    resumes: bool = False  # a step that restarts its clock if it was waiting


async def apply_statuses(conn: asyncpg.Connection, *, rows: Sequence[StatusRow],
                         quiet: Quiet) -> None:
    """Acknowledgements and closures, matched by assignment id when the event names one,
    else by (difficulty, acting agency). A resolution closes every assignment of the
    difficulty: nobody is to be reminded of a solved problem."""
    for r in rows:
        if r.assignment_id:
            match, args = "assignment_id = $1::uuid", [r.assignment_id]
        else:
            match, args = "difficulty_id = $1::uuid AND agency_id = $2", [r.difficulty_id,
                                                                          r.actor_id]
        at = f"${len(args) + 1}::timestamptz"
        if r.acknowledged or r.closes:
            await conn.execute(
                f"UPDATE assignments SET acknowledged_at = coalesce(acknowledged_at, {at})"
                f" WHERE {match}", *args, r.at,
            )
        if r.resolves_difficulty:
            await conn.execute(
                "UPDATE assignments SET closed_at = $2, next_check_at = NULL"
                " WHERE difficulty_id = $1::uuid AND closed_at IS NULL", r.difficulty_id, r.at,
            )
        elif r.closes:
            await conn.execute(
                f"UPDATE assignments SET closed_at = {at}, next_check_at = NULL"
                f" WHERE {match} AND closed_at IS NULL", *args, r.at,
            )
        elif r.pauses and r.assignment_id:
            await conn.execute(
                "UPDATE assignments SET paused_at = coalesce(paused_at, $2),"
                " next_check_at = NULL WHERE assignment_id = $1::uuid AND closed_at IS NULL",
                r.assignment_id, r.at)
        elif r.resumes and r.assignment_id:
            await _resume(conn, assignment_id=r.assignment_id, at=r.at, quiet=quiet)


async def _resume(conn: asyncpg.Connection, *, assignment_id: str, at: datetime,
                  quiet: Quiet) -> None:
    row = await conn.fetchrow(
        "SELECT paused_at, ack_deadline, resolve_deadline, ack_due, resolve_due,"
        " acknowledged_at, urgent FROM assignments WHERE assignment_id = $1::uuid"
        " AND paused_at IS NOT NULL AND closed_at IS NULL FOR UPDATE", assignment_id)
    if row is None:
        return
    r = resume(paused_at=row["paused_at"], resumed_at=at, ack_deadline=row["ack_deadline"],
               resolve_deadline=row["resolve_deadline"], ack_due=row["ack_due"],
               resolve_due=row["resolve_due"], acknowledged=row["acknowledged_at"] is not None,
               urgent=row["urgent"], quiet=quiet)
    await conn.execute(
        "UPDATE assignments SET paused_at = NULL, ack_deadline = $2, resolve_deadline = $3,"
        " ack_due = $4, resolve_due = $5, next_check_at = $6 WHERE assignment_id = $1::uuid",
        assignment_id, r.ack_deadline, r.resolve_deadline, r.ack_due, r.resolve_due,
        r.next_check_at)


_SWEEP_INSERT = """
WITH steps AS (
    SELECT a.*, p.phase, p.n, p.due, p.len
    FROM assignments a
    CROSS JOIN LATERAL (
        SELECT 'ack' AS phase, u.n, u.due, cardinality(a.ack_due) AS len
        FROM unnest(a.ack_due) WITH ORDINALITY AS u(due, n)
        WHERE a.acknowledged_at IS NULL
        UNION ALL
        SELECT 'resolve', u.n, u.due, cardinality(a.resolve_due)
        FROM unnest(a.resolve_due) WITH ORDINALITY AS u(due, n)
    ) p
    WHERE a.next_check_at <= $1 AND a.closed_at IS NULL AND p.due <= $1
),
-- Only the latest step that has come, per phase: a notify that was down for days
-- sends the reminder (or escalation) owed now, not every stale one in a burst.
latest AS (
    SELECT DISTINCT ON (assignment_id, phase) * FROM steps
    ORDER BY assignment_id, phase, n DESC
),
owed AS (
    -- At central level every step is the permanent deputy's, to chase the ministry: the
    -- answer's deadline (n = 1), then each progress point (logic.CENTRAL_*).
    SELECT l.*, l.n::text AS step,
           CASE WHEN l.central THEN CASE WHEN l.n = 1 THEN 'central_answer'
                                         ELSE 'central_progress' END
                WHEN l.n < l.len THEN 'reminder_' || l.phase
                ELSE 'escalation_' || l.phase END AS kind,
           CASE WHEN l.n < l.len AND NOT l.central THEN l.agency_id
                ELSE coalesce(l.deputy_id, l.agency_id) END AS recipient,
           CASE WHEN l.n < l.len AND NOT l.central THEN l.agency_contacts
                ELSE l.deputy_contacts END AS contacts
    FROM latest l
    UNION ALL
    -- The deputies of the item's zone, once per deadline passed (logic.ZONE_OVERDUE):
    -- keyed by the deadline itself, so a deadline moved (a wait for the business) and
    -- passed again is told again, and every later step of the same one is not.
    SELECT l.*, l.phase || '@' || extract(epoch FROM CASE WHEN l.phase = 'ack'
               THEN l.ack_deadline ELSE l.resolve_deadline END)::bigint,
           'zone_overdue', z->>'id', z->'contacts'
    FROM latest l CROSS JOIN LATERAL jsonb_array_elements(l.zone_deputies) z
    WHERE NOT l.central
),
targets AS (
    SELECT o.*, c.channel, c.address, c.secret_env
    FROM owed o
    CROSS JOIN LATERAL (
        SELECT x->>'channel' AS channel, x->>'address' AS address, x->>'secret_env' AS secret_env
        FROM jsonb_array_elements(o.contacts) x
        UNION ALL
        -- nobody to reach: the log channel, so it is visible rather than dropped
        SELECT 'log', o.recipient, NULL WHERE jsonb_array_length(o.contacts) = 0
    ) c
)
INSERT INTO messages (message_key, kind, recipient_id, channel, address, secret_env,
                      province_code, difficulty_id, urgent, due_at, payload)
SELECT t.kind || ':' || t.assignment_id || ':' || t.step || ':' || t.recipient || ':' || t.channel,
       t.kind, t.recipient, t.channel, t.address, t.secret_env, t.province_code,
       t.difficulty_id, t.urgent, t.due,
       jsonb_build_object(
           'assignment_id', t.assignment_id, 'difficulty_id', t.difficulty_id,
           'tracking_code', t.tracking_code, 'agency_id', t.agency_id, 'n', t.n,
           'phase', t.phase,
           'reminders', t.len - 1,
           'deadline', CASE WHEN t.phase = 'ack' THEN t.ack_deadline ELSE t.resolve_deadline END)
FROM targets t
ON CONFLICT (message_key) DO NOTHING
RETURNING kind, channel
"""

_SWEEP_ADVANCE = """
UPDATE assignments a SET next_check_at = (
    SELECT min(s.due) FROM (
        SELECT unnest(a.ack_due) AS due WHERE a.acknowledged_at IS NULL
        UNION ALL SELECT unnest(a.resolve_due)
    ) s WHERE s.due > $1)
WHERE a.next_check_at <= $1 AND a.closed_at IS NULL
"""


async def sweep_reminders(conn: asyncpg.Connection, *, now: datetime) -> list[tuple[str, str]]:
    """Insert every reminder and escalation owed at `now`, set-based, and move each swept
    assignment's next check to its next step. Returns (kind, channel) of the new rows.
    Call inside a transaction; running it twice, or on two replicas, inserts nothing new."""
    rows = await conn.fetch(_SWEEP_INSERT, now)
    await conn.execute(_SWEEP_ADVANCE, now)
    return [(r["kind"], r["channel"]) for r in rows]


# --- weekly reports ----------------------------------------------------------------------------


async def record_reports(
    conn: asyncpg.Connection, *, rows: Sequence[tuple[str, str, datetime]]
) -> None:
    """(member_id, week_label, submitted_at); pending reminders of that week are
    cancelled, since a reminder to someone who reported is noise."""
    if not rows:
        return
    await conn.execute(
        "INSERT INTO member_reports (member_id, week_label, reported_at)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])"
        " ON CONFLICT DO NOTHING",
        [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
    )
    await conn.execute(
        "UPDATE messages m SET state = 'cancelled', claimed_until = NULL"
        " FROM unnest($1::text[], $2::text[]) AS r(member_id, week_label)"
        " WHERE m.recipient_id = r.member_id AND m.week_label = r.week_label"
        " AND m.kind = 'weekly_reminder' AND m.state = 'pending'",
        [r[0] for r in rows], [r[1] for r in rows],
    )


async def reported_members(
    conn: asyncpg.Connection, *, week_label: str, member_ids: Sequence[str]
) -> set[str]:
    rows = await conn.fetch(
        "SELECT member_id FROM member_reports WHERE week_label = $1"
        " AND member_id = ANY($2::text[])", week_label, list(member_ids),
    )
    return {r["member_id"] for r in rows}


# --- dispatch ------------------------------------------------------------------------------------


async def claim_due(
    conn: asyncpg.Connection, *, now: datetime, worker: str, limit: int, lease_s: float
) -> list[asyncpg.Record]:
    """Take up to `limit` due messages under a lease. SKIP LOCKED: two dispatchers
    never wait for, nor take, the same row; the lease is on the database's clock,
    because it guards against dead processes, not against the business calendar."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""
        WITH c AS (
            SELECT message_key FROM messages
            WHERE {_CLAIMABLE} AND due_at <= $1
            ORDER BY due_at LIMIT $3
            FOR UPDATE SKIP LOCKED
        )
        UPDATE messages m SET state = 'sending', claimed_by = $2,
            claimed_until = now() + make_interval(secs => $4), attempts = m.attempts + 1
        FROM c WHERE m.message_key = c.message_key
        RETURNING m.message_key, m.kind, m.recipient_id, m.channel, m.address, m.secret_env,
                  m.province_code, m.difficulty_id, m.week_label, m.urgent, m.payload,
                  m.attempts, m.due_at
        """,
        now, worker, limit, lease_s,
    )
    return rows


async def record_attempt(
    conn: asyncpg.Connection, *, key: str, attempt: int, channel: str, worker: str,
    outcome: str, error: str | None, started_at: datetime, duration_s: float,
) -> bool:
    """False if this attempt is recorded already: an earlier try of the same settle
    transaction committed, and only its answer was lost."""
    inserted = await conn.fetchval(
        "INSERT INTO delivery_attempts (message_key, attempt, channel, worker, outcome, error,"
        " started_at, duration_s) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (message_key, attempt) DO NOTHING RETURNING 1",
        key, attempt, channel, worker, outcome, error, started_at, duration_s,
    )
    return inserted is not None


async def mark_sent(
    conn: asyncpg.Connection, *, key: str, worker: str, sent_at: datetime
) -> bool:
    """True if this worker still held the lease (else someone else took the row over)."""
    done = await conn.fetchval(
        "UPDATE messages SET state = 'sent', sent_at = $3, claimed_until = NULL,"
        " last_error = NULL WHERE message_key = $1 AND claimed_by = $2 AND state = 'sending'"
        " RETURNING 1", key, worker, sent_at,
    )
    return done is not None


async def release(
    conn: asyncpg.Connection, *, key: str, worker: str, state: str, due_at: datetime | None,
    error: str | None, undo_attempt: bool = False,
) -> bool:
    """Give a claimed row back: 'pending' to try again at `due_at`, or 'failed'.
    `undo_attempt` is for a row put back without trying (quiet hours)."""
    done = await conn.fetchval(
        "UPDATE messages SET state = $3, due_at = coalesce($4, due_at), claimed_until = NULL,"
        " last_error = coalesce($5, last_error),"
        " attempts = attempts - CASE WHEN $6 THEN 1 ELSE 0 END,"
        " failed_at = CASE WHEN $3 = 'failed' THEN now() END"
        " WHERE message_key = $1 AND claimed_by = $2 AND state = 'sending' RETURNING 1",
        key, worker, state, due_at, error, undo_attempt,
    )
    return done is not None


async def queue_stats(conn: asyncpg.Connection, *, now: datetime) -> tuple[int, float]:
    """(messages waiting for a retry, age in seconds of the oldest due undelivered one)."""
    row = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE attempts > 0 AND state = 'pending') AS retry,"
        " extract(epoch FROM $1 - min(due_at) FILTER (WHERE due_at <= $1)) AS age"
        " FROM messages WHERE state IN ('pending', 'sending')", now,
    )
    if row is None:
        return 0, 0.0
    return int(row["retry"]), max(0.0, float(row["age"] or 0.0))


def as_dict(payload: Any) -> dict[str, Any]:
    if isinstance(payload, str):  # a connection without the json codec
        loaded: dict[str, Any] = json.loads(payload)
        return loaded
    return dict(payload)


# --- the head's directions (#22 item 1) ------------------------------------------------------


async def directions_done(conn: asyncpg.Connection, *, direction_ids: Sequence[uuid.UUID]
                          ) -> set[uuid.UUID]:
    rows = await conn.fetch("SELECT direction_id FROM directions_done"
                            " WHERE direction_id = ANY($1::uuid[])", list(direction_ids))
    return {r["direction_id"] for r in rows}


async def finish_directions(conn: asyncpg.Connection, *, direction_ids: Sequence[uuid.UUID]
                            ) -> int:
    """A direction done: its reminders still pending are cancelled (kept, not sent), and
    it is remembered so that reminders of it arriving later are not owed."""
    await conn.executemany(
        "INSERT INTO directions_done (direction_id) VALUES ($1) ON CONFLICT DO NOTHING",
        [(d,) for d in direction_ids])
    tag = await conn.execute(
        "UPDATE messages SET state = 'cancelled' WHERE kind = 'direction_due'"
        " AND state = 'pending' AND split_part(message_key, ':', 2) = ANY($1::text[])",
        [str(d) for d in direction_ids])
    return int(tag.split()[-1])



# The business's notices and the Zalo OA's tokens (#20 item 6), in their own module.
from services.notify.store.business import (  # noqa: E402
    ZaloTokens,
    contacts_of,
    forget_steps,
    lock_difficulties,
    record_contacts,
    record_steps,
    steps_of,
    store_zalo_tokens,
    zalo_tokens,
)

__all__ = [
    "SCHEMA",
    "StatusRow",
    "ZaloTokens",
    "apply_statuses",
    "as_dict",
    "claim_due",
    "close_assignments",
    "contacts_of",
    "directions_done",
    "finish_directions",
    "follow_assignments",
    "forget_steps",
    "hasten_owed",
    "insert_owed",
    "lock_difficulties",
    "mark_sent",
    "queue_stats",
    "record_attempt",
    "record_contacts",
    "record_reports",
    "record_steps",
    "release",
    "reported_members",
    "steps_of",
    "store_zalo_tokens",
    "sweep_reminders",
    "zalo_tokens",
]
