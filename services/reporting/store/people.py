"""The people's side: one-time sign-in links and the workspaces of members, deputies and
the head (their items, the decisions waiting, members' reports)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

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
    """What the head decides on, as the items stand at `now`: escalated items and those
    the head's agency holds, items a central ministry holds (its answer awaited: a
    ministry's answer closes the item), items rejected as out of scope since `since`, and
    items overdue since before `overdue_before`; the oldest first. `why` says which, the
    first that applies in that order (rejected first: a closed item is nothing else)."""
    # Two disjoint parts, each a range of (task force, closing time), whose index holds
    # every column they test (migration 019: no table row read): the open items and those
    # closed as rejected in the window. The first `limit` are chosen there, and only
    # their rows read. As one OR over the task force, PostgreSQL walked all its history
    # (0.36 s of 1,000,000 difficulties, `python -m bench.pages`); reading every match's
    # row before keeping `limit` of them took 0.25 s.
    rows = await conn.fetch(
        f"SELECT {_ITEM}, d.letter_number, d.letter_date,"
        "   CASE WHEN status = 'rejected' THEN 'rejected'"
        "   WHEN escalated_central_at IS NOT NULL THEN 'central'"
        "   WHEN status = 'escalated' OR lead_agency_id = $3 THEN 'escalated'"
        "   ELSE 'long_overdue' END AS why"
        " FROM difficulties d WHERE difficulty_id IN (SELECT difficulty_id FROM ("
        "   SELECT difficulty_id, received_at FROM difficulties"
        "   WHERE task_force = $2 AND closed_at IS NULL"
        "   AND (status = 'escalated' OR lead_agency_id = $3 OR escalated_central_at IS NOT NULL"
        "     OR resolve_due_at < $5 OR (ack_due_at < $5 AND acknowledged_at IS NULL))"
        "   UNION ALL"
        "   SELECT difficulty_id, received_at FROM difficulties"
        "   WHERE task_force = $2 AND status = 'rejected' AND closed_at > $4 AND closed_at <= $1"
        "   ) w ORDER BY received_at, difficulty_id LIMIT $6)"
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
