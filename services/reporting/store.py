"""Reporting's SQL. Keyword-only functions over an asyncpg connection."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from shared.events import (
    CompilationSaved,
    DifficultyAssigned,
    DifficultyReceived,
    DifficultyStatusChanged,
    DirectionGiven,
    DirectionProgress,
    Envelope,
    EventData,
    MemberReport,
    NotificationSent,
    PolicyBottleneck,
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
        " assignment_id, changed_at, step) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (status_id) DO NOTHING",
        [
            (c.status_id, c.difficulty_id, c.status.value if c.status else None,
             c.actor_kind.value, c.actor_id, c.assignment_id, c.changed_at,
             step.value if (step := c.step_taken()) else None)
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
        "INSERT INTO central_letters (status_id, difficulty_id, number, dated, registered_by,"
        " registered_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (status_id) DO NOTHING",
        [(c.status_id, c.difficulty_id, c.letter.number, c.letter.dated, c.actor_id,
          c.changed_at) for c in changes if c.letter is not None],
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
            closed_at = CASE WHEN s.status IN ('resolved', 'rejected') THEN s.changed_at END,
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


# --- the weekly rollup ----------------------------------------------------------------------

# The rows a week of one task force can concern, each set from its own index: received
# in the window, closed after its start (resolved in it, or open at its end), still open.
# Never the whole history.
_POPULATION = """
    SELECT difficulty_id, tracking_code, title, status, urgency, kind, received_at,
           COALESCE(lead_agency_id, 'unknown') AS agency, COALESCE(zone_type, 'unknown') AS zone,
           category, closed_at, status = 'resolved' AS resolved, ack_due_at, resolve_due_at,
           acknowledged_at, escalated_central_at, lead_agency_id,
           received_at > $2 AS is_received,
           status = 'resolved' AND closed_at > $2 AND closed_at <= $3 AS is_resolved,
           status <> 'resolved' AND closed_at > $2 AND closed_at <= $3 AS is_rejected,
           received_at <= $2 AND (closed_at IS NULL OR closed_at > $2) AS is_carried,
           closed_at IS NULL OR closed_at > $3 AS is_open,
           (closed_at IS NULL OR closed_at > $3) AND (resolve_due_at < $3 OR (ack_due_at < $3
               AND (acknowledged_at IS NULL OR acknowledged_at > $3))) AS is_overdue,
           escalated_central_at > $2 AND escalated_central_at <= $3 AS is_escalated,
           status = 'resolved' AND outcome = 'partly_resolved' AND closed_at > $2
               AND closed_at <= $3 AS is_partly,
           escalated_at > $2 AND escalated_at <= $3 AS is_passed_up
    FROM difficulties
    WHERE task_force = $1 AND received_at <= $3
      AND ((received_at > $2 AND received_at <= $3) OR closed_at > $2 OR closed_at IS NULL)
"""

_ROLLUP = f"""
    WITH pop AS ({_POPULATION})
    SELECT CASE WHEN GROUPING(agency) = 0 THEN 'agency'
                WHEN GROUPING(zone) = 0 THEN 'zone_type'
                WHEN GROUPING(category) = 0 THEN 'category'
                ELSE 'total' END AS dimension,
           COALESCE(agency, zone, category, 'all') AS value,
           count(*) FILTER (WHERE is_received) AS received,
           count(*) FILTER (WHERE is_resolved) AS resolved,
           count(*) FILTER (WHERE is_rejected) AS rejected,
           count(*) FILTER (WHERE is_carried) AS carried_over,
           count(*) FILTER (WHERE is_open) AS open,
           count(*) FILTER (WHERE is_overdue) AS overdue,
           count(*) FILTER (WHERE is_escalated) AS escalated_central,
           count(*) FILTER (WHERE is_partly) AS partly_resolved,
           count(*) FILTER (WHERE is_passed_up) AS escalated,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - received_at)
               / 3600) FILTER (WHERE is_resolved) AS median_hours,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - received_at)
               / 3600) FILTER (WHERE is_resolved) AS p90_hours
    FROM pop
    GROUP BY GROUPING SETS ((agency), (zone), (category), ())
    HAVING GROUPING(agency, zone, category) = 7
        OR count(*) FILTER (WHERE is_received OR is_resolved OR is_rejected OR is_open
                                   OR is_escalated OR is_passed_up) > 0
"""


async def rollup_rows(
    conn: asyncpg.Connection, *, task_force: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Breakdown rows of the interval (start, end] as of `end`; see logic.rollup."""
    return [dict(r) for r in await conn.fetch(_ROLLUP, task_force, start, end)]


async def league_items(
    conn: asyncpg.Connection, *, task_force: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The items agencies held during (start, end], for the league table (logic.league),
    each with the business's latest rating given by `end` (a later one is next week's
    news, so a report regenerated later says what it said at its cutoff)."""
    rows = await conn.fetch(
        f"WITH pop AS ({_POPULATION}) SELECT difficulty_id, received_at, lead_agency_id,"
        " closed_at, resolved, ack_due_at, resolve_due_at, acknowledged_at,"
        " escalated_central_at, (SELECT f.rating FROM feedback f"
        "   WHERE f.difficulty_id = pop.difficulty_id AND f.rating IS NOT NULL"
        "     AND f.given_at <= $3 ORDER BY f.given_at DESC, f.status_id DESC LIMIT 1)"
        "   AS rating"
        " FROM pop WHERE lead_agency_id IS NOT NULL",
        task_force, start, end,
    )
    return [dict(r) for r in rows]


async def report_items(
    conn: asyncpg.Connection, *, task_force: str, start: datetime, end: datetime,
    which: str, limit: int,
) -> list[dict[str, Any]]:
    """Urgent items (received in the week or still open at its end) or recommendations
    (received in the week), oldest first, at most `limit`."""
    cond = {"urgent": "urgency = 'urgent' AND (is_received OR is_open)",
            "recommendation": "kind = 'recommendation' AND is_received",
            "overdue": "is_overdue"}[which]
    rows = await conn.fetch(
        f"WITH pop AS ({_POPULATION}) SELECT difficulty_id, tracking_code, title, lead_agency_id,"
        f" status, received_at, resolve_due_at FROM pop WHERE {cond}"
        " ORDER BY received_at, difficulty_id LIMIT $4",
        task_force, start, end, limit,
    )
    return [dict(r) for r in rows]


async def members_reported(
    conn: asyncpg.Connection, *, week_label: str, member_ids: Sequence[str]
) -> set[str]:
    rows = await conn.fetch(
        "SELECT DISTINCT member_id FROM member_reports"
        " WHERE week_label = $1 AND member_id = ANY($2::text[])",
        week_label, list(member_ids),
    )
    return {r["member_id"] for r in rows}


# --- published reports ------------------------------------------------------------------------


async def stored_report(
    conn: asyncpg.Connection, *, task_force: str, week_label: str
) -> dict[str, Any] | None:
    report: dict[str, Any] | None = await conn.fetchval(
        "SELECT report FROM weekly_reports WHERE task_force = $1 AND week_label = $2",
        task_force, week_label,
    )
    return report


async def claim_report(
    conn: asyncpg.Connection, *, task_force: str, week_label: str, report_id: uuid.UUID,
    event_id: str, province_code: str, generated_at: datetime, report: dict[str, Any],
) -> bool:
    """Take the (task force, week) row; False if another replica (or run) already has.
    Called in the transaction that also writes the outbox row, so exactly one of
    concurrent publishers wins and publishes."""
    got = await conn.fetchval(
        "INSERT INTO weekly_reports (task_force, week_label, report_id, event_id, province_code,"
        " generated_at, report) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)"
        " ON CONFLICT DO NOTHING RETURNING true",
        task_force, week_label, report_id, event_id, province_code, generated_at, report,
    )
    return bool(got)


async def claim_urgent(
    conn: asyncpg.Connection, *, difficulty_id: uuid.UUID, event_id: str
) -> bool:
    got = await conn.fetchval(
        "INSERT INTO urgent_alerts (difficulty_id, event_id) VALUES ($1, $2)"
        " ON CONFLICT DO NOTHING RETURNING true",
        difficulty_id, event_id,
    )
    return bool(got)


async def report_index(conn: asyncpg.Connection, *, per_task_force: int) -> list[dict[str, Any]]:
    """The latest published weeks of each task force, newest first."""
    rows = await conn.fetch(
        "SELECT task_force, week_label, generated_at, report->'rows' AS rows FROM ("
        " SELECT *, row_number() OVER (PARTITION BY task_force ORDER BY week_label DESC) AS n"
        " FROM weekly_reports) r WHERE n <= $1 ORDER BY task_force, week_label DESC",
        per_task_force,
    )
    return [dict(r) for r in rows]


async def last_report_times(conn: asyncpg.Connection) -> dict[str, datetime]:
    rows = await conn.fetch(
        "SELECT task_force, max(generated_at) AS at FROM weekly_reports GROUP BY task_force"
    )
    return {r["task_force"]: r["at"] for r in rows}


# --- read side --------------------------------------------------------------------------------


async def track(
    conn: asyncpg.Connection, *, tracking_code: str, tax_code: str
) -> dict[str, Any] | None:
    """A business's own difficulty, by its tracking code and tax code (its credentials):
    what `/v1/track` and the tracking page say of it."""
    row = await conn.fetchrow(
        "SELECT difficulty_id, tracking_code, title, status, received_at, status_at,"
        " resolved_at, lead_agency_id, resolve_due_at, outcome, outcome_at, public_answer"
        " FROM difficulties WHERE tracking_code = $1 AND tax_code = $2",
        tracking_code, tax_code,
    )
    return dict(row) if row is not None else None


async def track_case(
    conn: asyncpg.Connection, *, tracking_code: str, tax_code: str
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """`track`, with the difficulty's public steps in order (its statuses and when; never
    an agency's own part, who wrote what, or the notes)."""
    row = await track(conn, tracking_code=tracking_code, tax_code=tax_code)
    if row is None:
        return None
    steps = await conn.fetch(
        "SELECT status, changed_at FROM status_history WHERE difficulty_id = $1"
        " AND status IS NOT NULL ORDER BY changed_at, status_id", row["difficulty_id"])
    return row, [dict(r) for r in steps]


async def waiting_questions(conn: asyncpg.Connection, *, difficulty_id: uuid.UUID
                            ) -> list[dict[str, Any]]:
    """The questions waiting for the business's answer (#20 item 4): each active part in
    need_info, with the question its latest need_info step put (kept in the event) and
    the agency asking."""
    rows = await conn.fetch(
        "SELECT a.assignment_id, a.agency_id, q.changed_at AS asked_at, q.question"
        " FROM assignments a CROSS JOIN LATERAL ("
        "  SELECT h.changed_at, e.payload->>'question' AS question FROM status_history h"
        "  JOIN events e ON e.event_type = $2 AND e.difficulty_id = h.difficulty_id"
        "   AND e.payload->>'status_id' = h.status_id::text"
        "  WHERE h.assignment_id = a.assignment_id AND h.step = 'need_info'"
        "  ORDER BY h.changed_at DESC, h.status_id DESC LIMIT 1) q"
        " WHERE a.difficulty_id = $1 AND a.active AND a.step = 'need_info'"
        " ORDER BY q.changed_at, a.assignment_id", difficulty_id, STATUS_EVENT_TYPE)
    return [dict(r) for r in rows]


@dataclass(frozen=True, slots=True)
class ListFilter:
    task_forces: Sequence[str] | None = None
    agency_id: str | None = None
    status: str | None = None
    zone_type: str | None = None
    category: str | None = None
    received_after: datetime | None = None
    received_until: datetime | None = None
    words: Sequence[str] = ()  # folded; every one must appear
    after: tuple[datetime, uuid.UUID] | None = None  # keyset cursor
    held_by: str | None = None  # an agency: only what it holds an active assignment on
    open_only: bool = False  # only what is not closed (resolved or rejected)


# The deadline an item runs to next: acknowledging it while nobody has, then resolving it;
# none once closed. The queue is ordered by it, so overdue items come first, then what is
# due soon; new items (not acknowledged) run to the nearest deadline of all.
NEXT_DUE = ("CASE WHEN closed_at IS NOT NULL THEN NULL WHEN acknowledged_at IS NULL"
            " THEN COALESCE(ack_due_at, resolve_due_at) ELSE resolve_due_at END")
_NEXT_DUE_KEY = f"COALESCE({NEXT_DUE}, 'infinity'::timestamptz)"


def _like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_difficulties(
    conn: asyncpg.Connection, *, f: ListFilter, now: datetime, limit: int,
    by_deadline: bool = False,
) -> list[dict[str, Any]]:
    """Newest first, keyset-paged on (received_at, difficulty_id); or, `by_deadline`
    (an agency's queue), the nearest next deadline first, keyset-paged on (next_due_at or
    infinity, received_at, difficulty_id) as `after` (a 3-tuple then) gives it."""
    where: list[str] = []
    args: list[Any] = [now]

    def arg(v: Any) -> str:
        args.append(v)
        return f"${len(args)}"

    if f.held_by is not None:
        where.append("EXISTS (SELECT 1 FROM assignments a WHERE a.agency_id ="
                     f" {arg(f.held_by)} AND a.active AND a.difficulty_id = d.difficulty_id)")
    if f.open_only:
        where.append("closed_at IS NULL")

    if f.task_forces is not None:
        where.append(f"task_force = ANY({arg(list(f.task_forces))}::text[])")
    if f.agency_id:
        where.append(f"lead_agency_id = {arg(f.agency_id)}")
    if f.status:
        where.append(f"status = {arg(f.status)}")
    if f.zone_type:
        where.append(f"zone_type = {arg(f.zone_type)}")
    if f.category:
        where.append(f"category = {arg(f.category)}")
    if f.received_after is not None:
        where.append(f"received_at > {arg(f.received_after)}")
    if f.received_until is not None:
        where.append(f"received_at <= {arg(f.received_until)}")
    for word in f.words:
        where.append(f"search LIKE {arg('%' + _like_escape(word) + '%')}")
    if by_deadline:
        if f.after is not None:
            due, at, did = f.after  # type: ignore[misc]
            where.append(f"({_NEXT_DUE_KEY}, received_at, difficulty_id) >"
                         f" ({arg(due)}, {arg(at)}, {arg(did)})")
        order = f"{_NEXT_DUE_KEY}, received_at, difficulty_id"
    else:
        if f.after is not None:
            where.append(f"(received_at, difficulty_id) < ({arg(f.after[0])},"
                         f" {arg(f.after[1])})")
        order = "received_at DESC, difficulty_id DESC"
    sql = (
        "SELECT difficulty_id, tracking_code, title, enterprise_name, task_force, province_code,"
        " zone_type, category, kind, urgency, status, received_at, status_at, resolved_at,"
        f" lead_agency_id, ack_due_at, resolve_due_at, acknowledged_at, {NEXT_DUE} AS next_due_at,"
        " COALESCE(closed_at IS NULL AND (resolve_due_at < $1 OR (ack_due_at < $1"
        "   AND (acknowledged_at IS NULL OR acknowledged_at > $1))), false) AS overdue"
        " FROM difficulties d"
        + (" WHERE " + " AND ".join(where) if where else "")
        + f" ORDER BY {order} LIMIT {arg(limit)}"
    )
    return [dict(r) for r in await conn.fetch(sql, *args)]


async def difficulty_detail(
    conn: asyncpg.Connection, *, difficulty_id: uuid.UUID
) -> dict[str, Any] | None:
    """One difficulty for its page: the row (the submission without the contact, which
    reporting never keeps), its active and past assignments and its status history."""
    row = await conn.fetchrow(
        "SELECT difficulty_id, tracking_code, title, enterprise_name, task_force, province_code,"
        " zone_type, category, kind, urgency, status, received_at, status_at, resolved_at,"
        f" lead_agency_id, ack_due_at, resolve_due_at, acknowledged_at, {NEXT_DUE} AS next_due_at,"
        " closed_at, outcome, public_answer, letter_number, letter_date, payload"
        " FROM difficulties WHERE difficulty_id = $1", difficulty_id)
    if row is None:
        return None
    assignments = await conn.fetch(
        "SELECT assignment_id, agency_id, agency_level, member_id, role, rule, active,"
        " assigned_at, ack_due_at, resolve_due_at, step FROM assignments"
        " WHERE difficulty_id = $1"
        " ORDER BY assigned_at, assignment_id", difficulty_id)
    # The notes travel in the events only (status_history keeps the steps).
    history = await conn.fetch(
        "SELECT h.status, h.step, h.actor_kind, h.actor_id, h.changed_at,"
        " e.payload->>'note' AS note, e.payload->>'question' AS question,"
        " e.payload->>'answer' AS answer, e.payload->'feedback' AS feedback,"
        " e.payload->'feedback'->>'comment' AS comment,"
        " e.payload->'letter'->>'number' AS letter_number"
        " FROM status_history h LEFT JOIN events e ON e.event_type = $2"
        "  AND e.difficulty_id = h.difficulty_id AND e.payload->>'status_id' = h.status_id::text"
        " WHERE h.difficulty_id = $1 ORDER BY h.changed_at, h.status_id",
        difficulty_id, STATUS_EVENT_TYPE)
    return {**dict(row), "assignments": [dict(a) for a in assignments],
            "history": [dict(h) for h in history]}


async def letter_case(conn: asyncpg.Connection, *, difficulty_id: uuid.UUID
                      ) -> dict[str, Any] | None:
    """What the letter to the ministry says of one difficulty: the submission (without the
    contact), the lead's latest resolution passing it up, the ministry's active assignment
    and the agencies that led it; None without a difficulty."""
    row = await conn.fetchrow(
        "SELECT difficulty_id, tracking_code, title, province_code, task_force, status,"
        " received_at, letter_number, letter_date, payload FROM difficulties"
        " WHERE difficulty_id = $1", difficulty_id)
    if row is None:
        return None
    escalation = await conn.fetchrow(
        "SELECT done, reason, public_answer, legal_basis, resolved_at FROM resolutions"
        " WHERE difficulty_id = $1 AND outcome = 'escalated'"
        " ORDER BY resolved_at DESC, status_id DESC LIMIT 1", difficulty_id)
    ministry = await conn.fetchrow(
        "SELECT agency_id, assigned_at, resolve_due_at FROM assignments"
        " WHERE difficulty_id = $1 AND active AND role = 'escalation'"
        "   AND agency_level = 'central'"
        " ORDER BY assigned_at DESC, assignment_id DESC LIMIT 1", difficulty_id)
    leads = await conn.fetch(
        "SELECT DISTINCT agency_id FROM assignments WHERE difficulty_id = $1 AND role = 'lead'",
        difficulty_id)
    return {**dict(row), "escalation": dict(escalation) if escalation else None,
            "ministry": dict(ministry) if ministry else None,
            "leads": sorted(r["agency_id"] for r in leads)}


async def open_and_overdue_by_agency(
    conn: asyncpg.Connection, *, now: datetime
) -> list[tuple[str, int, int]]:
    """(agency, open, overdue) over every open difficulty: the partial index bounds it."""
    rows = await conn.fetch(
        "SELECT COALESCE(lead_agency_id, 'unknown') AS agency, count(*) AS open,"
        " count(*) FILTER (WHERE resolve_due_at < $1 OR (ack_due_at < $1"
        "   AND (acknowledged_at IS NULL OR acknowledged_at > $1))) AS overdue"
        " FROM difficulties WHERE closed_at IS NULL GROUP BY 1",
        now,
    )
    return [(r["agency"], r["open"], r["overdue"]) for r in rows]


async def reports_for_weeks(
    conn: asyncpg.Connection, *, task_force: str, week_labels: Sequence[str]
) -> dict[str, dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT week_label, report FROM weekly_reports"
        " WHERE task_force = $1 AND week_label = ANY($2::text[])",
        task_force, list(week_labels),
    )
    return {r["week_label"]: r["report"] for r in rows}


# --- the final (mandate) report -------------------------------------------------------------


async def mandate_items(
    conn: asyncpg.Connection, *, task_force: str, which: str, limit: int
) -> list[dict[str, Any]]:
    """For a task force's final report: the items still open (handed over, with the
    agency holding each; the partial index of open items bounds it), or every item
    that went to central level; oldest first, at most `limit`."""
    cond, order = {
        "open": ("closed_at IS NULL", "received_at, difficulty_id"),
        "central": ("escalated_central_at IS NOT NULL", "escalated_central_at, difficulty_id"),
    }[which]
    rows = await conn.fetch(
        "SELECT difficulty_id, tracking_code, title, lead_agency_id, status, received_at"
        f" FROM difficulties WHERE task_force = $1 AND {cond} ORDER BY {order} LIMIT $2",
        task_force, limit,
    )
    return [dict(r) for r in rows]


# --- one-time sign-in links ----------------------------------------------------------------


async def open_sign_in_link(
    conn: asyncpg.Connection, *, link_hash: bytes, request_id: uuid.UUID, kind: str,
    subject_id: str, recipient_id: str, role: str, province: str, now: datetime,
    expires_at: datetime,
) -> None:
    """Record a mailed link (and drop those dead for a day: kept that long, a link opened
    late is told it expired rather than that it is unknown)."""
    await conn.execute("DELETE FROM sign_in_links WHERE expires_at <= $1",
                       now - timedelta(days=1))
    await conn.execute(
        "INSERT INTO sign_in_links (link_hash, request_id, kind, subject_id, recipient_id,"
        " role, province, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        link_hash, request_id, kind, subject_id, recipient_id, role, province, now, expires_at)


async def sign_in_link(conn: asyncpg.Connection, *, link_hash: bytes) -> asyncpg.Record | None:
    """A link as recorded (used or not, live or not), to tell its opener which."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM sign_in_links WHERE link_hash = $1", link_hash)
    return row


async def use_sign_in_link(
    conn: asyncpg.Connection, *, link_hash: bytes, now: datetime
) -> asyncpg.Record | None:
    """Spend a live, unused link (once: two openers racing, one wins); None otherwise."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "UPDATE sign_in_links SET used_at = $2 WHERE link_hash = $1 AND used_at IS NULL"
        " AND expires_at > $2 RETURNING *", link_hash, now)
    return row


# --- the people's workspaces (member, deputies, head) --------------------------------------

# Overdue as the rollup says it, as of $1.
_OVERDUE_NOW = ("COALESCE(d.closed_at IS NULL AND (d.resolve_due_at < $1 OR (d.ack_due_at < $1"
                " AND (d.acknowledged_at IS NULL OR d.acknowledged_at > $1))), false)")
_ITEM = ("d.difficulty_id, d.tracking_code, d.title, d.enterprise_name, d.zone_type,"
         " d.category, d.kind, d.urgency, d.status, d.received_at, d.status_at,"
         " d.lead_agency_id, d.ack_due_at, d.resolve_due_at, d.closed_at,"
         " d.payload->>'zone_name' AS zone_name, d.payload->>'ward' AS ward,"
         f" {_OVERDUE_NOW} AS overdue")


async def member_items(
    conn: asyncpg.Connection, *, member_id: str, since: datetime, now: datetime, limit: int
) -> list[dict[str, Any]]:
    """What is assigned to a member (their active member assignments): open, or closed
    since `since`; overdue first, then the soonest due."""
    rows = await conn.fetch(
        f"SELECT {_ITEM}, a.assigned_at FROM assignments a"
        " JOIN difficulties d USING (difficulty_id)"
        " WHERE a.member_id = $2 AND a.active AND a.role = 'member'"
        "   AND (d.closed_at IS NULL OR d.closed_at > $3)"
        f" ORDER BY {_OVERDUE_NOW} DESC, d.closed_at IS NOT NULL,"
        "   COALESCE(d.resolve_due_at, d.ack_due_at) NULLS LAST, d.received_at LIMIT $4",
        now, member_id, since, limit)
    return [dict(r) for r in rows]


async def open_items(
    conn: asyncpg.Connection, *, task_force: str, now: datetime, limit: int,
    agency_id: str | None = None, zone_types: Sequence[str] | None = None,
    overdue_only: bool = False,
) -> list[dict[str, Any]]:
    """A task force's open items (from the partial index of open items): those its
    `agency_id` holds, or of `zone_types`, or only the overdue; overdue first, then the
    oldest."""
    where = ["task_force = $2", "closed_at IS NULL"]
    args: list[Any] = [now, task_force]
    if agency_id is not None:
        args.append(agency_id)
        where.append(f"lead_agency_id = ${len(args)}")
    if zone_types is not None:
        args.append(list(zone_types))
        where.append(f"zone_type = ANY(${len(args)}::text[])")
    if overdue_only:
        where.append(_OVERDUE_NOW)
    args.append(limit)
    rows = await conn.fetch(
        f"SELECT {_ITEM} FROM difficulties d WHERE {' AND '.join(where)}"
        f" ORDER BY {_OVERDUE_NOW} DESC, d.received_at, d.difficulty_id LIMIT ${len(args)}",
        *args)
    return [dict(r) for r in rows]


async def waiting_for_decision(
    conn: asyncpg.Connection, *, task_force: str, head_agency: str, now: datetime,
    since: datetime, overdue_before: datetime, limit: int,
) -> list[dict[str, Any]]:
    """What the head decides on: escalated items and those the head's agency holds,
    items rejected as out of scope since `since`, and items overdue since before
    `overdue_before`; the oldest first."""
    rows = await conn.fetch(
        f"SELECT {_ITEM}, CASE WHEN status = 'rejected' THEN 'rejected'"
        "   WHEN status = 'escalated' OR lead_agency_id = $3 THEN 'escalated'"
        "   ELSE 'long_overdue' END AS why"
        " FROM difficulties d WHERE task_force = $2 AND ("
        "   (closed_at IS NULL AND (status = 'escalated' OR lead_agency_id = $3"
        "     OR resolve_due_at < $5 OR (ack_due_at < $5 AND acknowledged_at IS NULL)))"
        "   OR (status = 'rejected' AND closed_at > $4))"
        " ORDER BY received_at, difficulty_id LIMIT $6",
        now, task_force, head_agency, since, overdue_before, limit)
    return [dict(r) for r in rows]


async def overdue_by_agency(
    conn: asyncpg.Connection, *, task_force: str, now: datetime
) -> list[tuple[str, int, int]]:
    """(agency, open, overdue) of one task force's open items, most overdue first."""
    rows = await conn.fetch(
        "SELECT COALESCE(lead_agency_id, 'unknown') AS agency, count(*) AS open,"
        f" count(*) FILTER (WHERE {_OVERDUE_NOW}) AS overdue"
        " FROM difficulties d WHERE task_force = $2 AND closed_at IS NULL GROUP BY 1"
        " ORDER BY 3 DESC, 2 DESC, 1", now, task_force)
    return [(r["agency"], r["open"], r["overdue"]) for r in rows]


async def week_member_reports(
    conn: asyncpg.Connection, *, week_label: str, member_ids: Sequence[str]
) -> list[dict[str, Any]]:
    """The members' reports of a week (the latest revision of each)."""
    rows = await conn.fetch(
        "SELECT member_id, late, urgent, submitted_at, payload FROM member_reports"
        " WHERE week_label = $1 AND member_id = ANY($2::text[]) ORDER BY member_id",
        week_label, list(member_ids))
    return [dict(r) for r in rows]


async def member_reports_of(
    conn: asyncpg.Connection, *, member_id: str, limit: int
) -> list[dict[str, Any]]:
    """A member's own reports, newest week first."""
    rows = await conn.fetch(
        "SELECT week_label, late, urgent, submitted_at, payload FROM member_reports"
        " WHERE member_id = $1 ORDER BY week_label DESC LIMIT $2", member_id, limit)
    return [dict(r) for r in rows]


async def project_directions(
    conn: asyncpg.Connection, *, directions: Sequence[DirectionGiven]
) -> None:
    await conn.executemany(
        "INSERT INTO directions (direction_id, task_force, given_by, week_label, body, given_at,"
        " assignee_id, due_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (direction_id) DO NOTHING",
        [(x.direction_id, x.task_force, x.given_by, x.week_label, x.body, x.given_at,
          x.assignee_id, x.due_on) for x in directions])


async def project_direction_progress(
    conn: asyncpg.Connection, *, progress: Sequence[DirectionProgress]
) -> None:
    await conn.executemany(
        "INSERT INTO direction_progress (progress_id, direction_id, state, note, posted_by,"
        " posted_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (progress_id) DO NOTHING",
        [(x.progress_id, x.direction_id, str(x.state), x.note, x.posted_by, x.posted_at)
         for x in progress])


async def project_compilations(
    conn: asyncpg.Connection, *, saved: Sequence[CompilationSaved]
) -> None:
    await conn.executemany(
        "INSERT INTO compilations (task_force, week_label, compilation_id, body, submitted,"
        " saved_by, saved_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        # The latest save stands, whichever order the saves arrive in.
        " ON CONFLICT (task_force, week_label) DO UPDATE SET"
        " compilation_id = EXCLUDED.compilation_id, body = EXCLUDED.body,"
        " submitted = EXCLUDED.submitted, saved_by = EXCLUDED.saved_by,"
        " saved_at = EXCLUDED.saved_at WHERE compilations.saved_at < EXCLUDED.saved_at",
        [(x.task_force, x.week_label, x.compilation_id, x.body, x.submitted, x.saved_by,
          x.saved_at) for x in saved])


async def compilation_of(
    conn: asyncpg.Connection, *, task_force: str, week_label: str
) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        "SELECT body, submitted, saved_by, saved_at FROM compilations"
        " WHERE task_force = $1 AND week_label = $2", task_force, week_label)
    return dict(row) if row else None


# A direction with its state as of $2: the latest progress posted by then, else open.
_DIRECTION_AS_OF = """
    SELECT d.direction_id, d.given_by, d.week_label, d.body, d.given_at, d.assignee_id,
           d.due_on, coalesce(p.state, 'open') AS state, p.posted_at AS state_at,
           coalesce(p.note, '') AS note
    FROM directions d
    LEFT JOIN LATERAL (
        SELECT state, note, posted_at FROM direction_progress x
        WHERE x.direction_id = d.direction_id AND x.posted_at <= $2
        ORDER BY x.posted_at DESC, x.progress_id DESC LIMIT 1) p ON true
"""


async def directions_of(
    conn: asyncpg.Connection, *, task_force: str, limit: int, as_of: datetime
) -> list[dict[str, Any]]:
    """The head's directions to a task force with their state, newest first."""
    rows = await conn.fetch(
        _DIRECTION_AS_OF + " WHERE d.task_force = $1 ORDER BY d.given_at DESC LIMIT $3",
        task_force, as_of, limit)
    return [dict(r) for r in rows]


async def directions_assigned(
    conn: asyncpg.Connection, *, assignee_id: str, as_of: datetime, limit: int
) -> list[dict[str, Any]]:
    """The directions someone must act on: not done first, soonest due first."""
    rows = await conn.fetch(
        _DIRECTION_AS_OF + " WHERE d.assignee_id = $1"
        " ORDER BY (coalesce(p.state, 'open') = 'done'), d.due_on, d.given_at LIMIT $3",
        assignee_id, as_of, limit)
    return [dict(r) for r in rows]


async def directions_for_week(
    conn: asyncpg.Connection, *, task_force: str, start: datetime, end: datetime, limit: int
) -> list[dict[str, Any]]:
    """The tracked directions a week's report shows, as of `end`: given before it and not
    done before the week began (done during it is shown once, as done)."""
    rows = await conn.fetch(
        "SELECT * FROM (" + _DIRECTION_AS_OF + " WHERE d.task_force = $1"
        " AND d.assignee_id IS NOT NULL AND d.given_at <= $2) w"
        " WHERE w.state <> 'done' OR w.state_at >= $3"
        " ORDER BY w.due_on, w.given_at, w.direction_id LIMIT $4",
        task_force, end, start, limit)
    return [dict(r) for r in rows]


async def tracking_codes(
    conn: asyncpg.Connection, *, difficulty_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    rows = await conn.fetch(
        "SELECT difficulty_id, tracking_code FROM difficulties"
        " WHERE difficulty_id = ANY($1::uuid[])", list(difficulty_ids))
    return {r["difficulty_id"]: r["tracking_code"] for r in rows}


# --- recommendations many businesses share, policy bottlenecks (#25 item 1) -----------------


async def project_bottlenecks(
    conn: asyncpg.Connection, *, bottlenecks: Sequence[PolicyBottleneck]
) -> None:
    """Each bottleneck as its latest event says, whichever order the events arrive in."""
    await conn.executemany(
        "INSERT INTO bottlenecks (bottleneck_id, task_force, ministry_id, title,"
        " business_count, merged_at, changed_at, answered_at, payload)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (bottleneck_id) DO UPDATE SET ministry_id = EXCLUDED.ministry_id,"
        " title = EXCLUDED.title, business_count = EXCLUDED.business_count,"
        " changed_at = EXCLUDED.changed_at, answered_at = EXCLUDED.answered_at,"
        " payload = EXCLUDED.payload WHERE bottlenecks.changed_at < EXCLUDED.changed_at",
        [(x.bottleneck_id, x.task_force, x.ministry_id, x.title, x.business_count,
          x.merged_at, x.changed_at, x.answer.answered_at if x.answer else None,
          x.model_dump(mode="json")) for x in bottlenecks])
    await conn.executemany(
        "INSERT INTO bottleneck_items (difficulty_id, bottleneck_id) VALUES ($1, $2)"
        " ON CONFLICT (difficulty_id) DO NOTHING",
        [(it.difficulty_id, x.bottleneck_id) for x in bottlenecks for it in x.items])


async def open_to_group(
    conn: asyncpg.Connection, *, task_force: str, limit: int
) -> list[dict[str, Any]]:
    """A task force's open items in no bottleneck yet, with their text, the most recent
    `limit` (in a stable order: received, then id)."""
    rows = await conn.fetch(
        "SELECT * FROM (SELECT d.difficulty_id, d.tracking_code, d.title, d.category,"
        " d.tax_code, d.received_at, d.payload->>'description' AS description"
        " FROM difficulties d WHERE d.task_force = $1 AND d.closed_at IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM bottleneck_items b"
        "                 WHERE b.difficulty_id = d.difficulty_id)"
        " ORDER BY d.received_at DESC, d.difficulty_id DESC LIMIT $2) x"
        " ORDER BY received_at, difficulty_id", task_force, limit)
    return [dict(r) for r in rows]


async def bottlenecks_of(conn: asyncpg.Connection, *, task_force: str
                         ) -> list[PolicyBottleneck]:
    """A task force's bottlenecks as last sent: waiting for the ministry first, then the
    most recently merged."""
    rows = await conn.fetch(
        "SELECT payload FROM bottlenecks WHERE task_force = $1"
        " ORDER BY answered_at IS NOT NULL, merged_at DESC, bottleneck_id", task_force)
    return [PolicyBottleneck.model_validate(r["payload"]) for r in rows]


async def bottleneck_of(conn: asyncpg.Connection, *, difficulty_id: uuid.UUID
                        ) -> PolicyBottleneck | None:
    """The bottleneck a difficulty was merged into, as last sent (its tracking page)."""
    row = await conn.fetchrow(
        "SELECT b.payload FROM bottleneck_items i JOIN bottlenecks b USING (bottleneck_id)"
        " WHERE i.difficulty_id = $1", difficulty_id)
    return None if row is None else PolicyBottleneck.model_validate(row["payload"])
