"""The weekly figures: the rollup of a task force's week, the published reports (claimed
once, listed, read back by week) and the final (mandate) report's items."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

# --- the weekly rollup ----------------------------------------------------------------------

# The rows a week of one task force can concern: received in the window, closed after
# its start (resolved in it, or open at its end), still open. Never the whole history.
# Three disjoint parts: still open and closed after the start are two ranges of
# (task force, closing time), whose index holds every column read here (migration 019),
# so no table row is read (with 1,000,000 difficulties the week's 17,700 rows lay on
# 16,800 table pages: 0.28 s a statement, four statements a report; 0.02 s from the
# index); the third is an item received in the window yet closed before its start,
# which only a closing time earlier than the receipt gives, looked up by receipt.
_POP_COLUMNS = """
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
    FROM difficulties"""
_POPULATION = f"""{_POP_COLUMNS}
    WHERE task_force = $1 AND received_at <= $3 AND closed_at IS NULL
    UNION ALL{_POP_COLUMNS}
    WHERE task_force = $1 AND received_at <= $3 AND closed_at > $2
    UNION ALL{_POP_COLUMNS}
    WHERE difficulty_id IN (SELECT difficulty_id FROM difficulties WHERE task_force = $1
                            AND received_at > $2 AND received_at <= $3 AND closed_at <= $2
                            OFFSET 0)  -- looked up by receipt, not merged into the outer scan
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


async def chain_heads(
    conn: asyncpg.Connection, *, task_force: str, start: datetime, end: datetime
) -> list[tuple[uuid.UUID, int, str]]:
    """(difficulty id, position, hash) of the chain head as of `end` of each difficulty of
    the task force whose history moved in (start, end], in difficulty id order; those
    whose rows all predate the chain are left out (no head is known)."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (h.difficulty_id) h.difficulty_id, h.chain_position, h.chain_hash"
        " FROM status_history h JOIN difficulties d USING (difficulty_id)"
        " WHERE d.task_force = $1 AND h.chain_position IS NOT NULL AND h.changed_at <= $3"
        "   AND EXISTS (SELECT 1 FROM status_history m WHERE m.difficulty_id = h.difficulty_id"
        "               AND m.changed_at > $2 AND m.changed_at <= $3)"
        " ORDER BY h.difficulty_id, h.chain_position DESC",
        task_force, start, end,
    )
    return [(r["difficulty_id"], r["chain_position"], r["chain_hash"]) for r in rows]


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
